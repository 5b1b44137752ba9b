// The real node agent: registers its Node, heartbeats, watches the pods bound to it and runs each
// through a PodWorker; serves their logs and usage, and runs commands in their containers (exec),
// for the API servers only. On start it first reloads what it knew before a restart
// (per-pod state files), so running processes are re-adopted, vanished ones reported, and pods that
// were deleted meanwhile cleaned up — nothing bound to the node is forgotten, nothing runs twice.
import { ServiceProxy } from './service-proxy.js';
import { IngressCertificates } from './ingress-certificates.js';
import { IngressProxy } from './ingress-proxy.js';
import { NETWORKING_GROUP, servedByCell, type Ingress, type IngressClass } from '../shared/api/networking.js';
import type { Endpoints, Service } from '../shared/api/service.js';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Node, Pod } from '../shared/api/core.js';
import { EventRecorder } from '../shared/client/events.js';
import type { ApiClient, ResourceRef } from '../shared/client/http-client.js';
import { Informer, objectKey, type ObjectLike } from '../shared/client/informer.js';
import { errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logging.js';
import { firstShortfall } from '../shared/node-fit.js';
import { podRequests } from '../shared/pod-resources.js';
import { add, parseResourceList, ResourceAmounts } from '../shared/resources.js';
import type { AgentConfig } from './flags.js';
import { ApiServerSignatures } from './api-server-auth.js';
import { AttachEndpoint } from './attach.js';
import { ExecEndpoint } from './exec.js';
import { PortForwardEndpoint, type PortForwardLookup } from './port-forward.js';
import { Heartbeat, NodeLease } from './heartbeat.js';
import { startLogServer, type LogServer } from './log-server.js';
import { ResourceUsageSampler } from './resource-usage.js';
import { LogFiles } from './logs.js';
import { serveMetrics } from '../shared/metrics-server.js';
import { AgentMetrics } from './metrics.js';
import { NodeStatusKeeper } from './node-status.js';
import { PodStateStore, type PodRecord } from './pod-state.js';
import { PodWorker, type AttachLookup, type ExecLookup, type LogLookup, type WorkerContext } from './pod-worker.js';
import { allocatableOf, registerWithRetry } from './registration.js';
import { RESET_AFTER_MS } from './restart-policy.js';
import { ContainerProcess } from './runtime.js';
import { rejectedStatus, StatusWriter } from './status.js';

const LOG_LIMIT_CHECK_MS = 2000;

/** Why a pod does not fit what is left of the node, Kubernetes-style (OutOfcpu, …), or undefined. */
export function admissionFailure(capacity: ResourceAmounts, used: ResourceAmounts, pod: Pick<Pod, 'spec'>): { reason: string; message: string } | undefined {
  const short = firstShortfall(podRequests(pod), used, capacity);
  if (!short) return undefined;
  return {
    reason: `OutOf${short.resource}`,
    message: `Pod was rejected: Node didn't have enough resource: ${short.resource}, requested: ${short.requested.toString()}, used: ${short.used.toString()}, capacity: ${short.capacity.toString()}`,
  };
}

function isUnspecified(ip: string): boolean {
  return ip === '0.0.0.0' || ip === '::';
}

export class Agent {
  private readonly metrics = new AgentMetrics();
  private readonly logs: LogFiles;
  private readonly state: PodStateStore;
  private readonly status: StatusWriter;
  private readonly events: EventRecorder;
  private readonly workers = new Map<string, PodWorker>();
  private readonly byKey = new Map<string, string>();
  private readonly pods = new Map<string, Pod>();
  private readonly rejected = new Set<string>();
  private recovered = new Map<string, PodRecord>();
  private readonly capacity: ResourceAmounts;
  private podInformer: Informer<Pod> | undefined;
  private nodeInformer: Informer<Node> | undefined;
  private heartbeat: Heartbeat | undefined;
  private nodeStatus: NodeStatusKeeper | undefined;
  private logServer: LogServer | undefined;
  private usage: ResourceUsageSampler | undefined;
  private metricsServer: { close(): Promise<void> } | undefined;
  private serviceProxy: ServiceProxy | undefined;
  /** Every Service: containers' environment (service-env.ts) and the proxy's ports. */
  private serviceInformer: Informer<Service> | undefined;
  /** Every Endpoints, for the proxies. */
  private endpointsInformer: Informer<Endpoints> | undefined;
  private ingressProxy: IngressProxy | undefined;
  /** Informers this agent started for its proxies, stopped with it. */
  private readonly proxyInformers: Informer<ObjectLike>[] = [];
  private timers: NodeJS.Timeout[] = [];
  private ready = false;
  private readonly abort = new AbortController();
  private ctx!: WorkerContext;

  constructor(
    private readonly cfg: AgentConfig,
    private readonly client: ApiClient,
    private readonly log: Logger,
    /** For lease renewals (short request timeout); default `client`. */
    private readonly heartbeatClient: ApiClient = client,
  ) {
    this.logs = new LogFiles(cfg.rootDir, cfg.containerLogMaxBytes, log);
    this.state = new PodStateStore(path.join(cfg.rootDir, 'pods'), log);
    this.status = new StatusWriter(client, (uid) => this.pods.get(uid), log);
    this.events = new EventRecorder(client, { component: 'cell-agent', host: cfg.nodeName }, log);
    // Pods are admitted against allocatable, as the kubelet does: what is reserved stays free.
    this.capacity = parseResourceList(allocatableOf(cfg));
  }

  /** An informer over every object of a resource, for the proxies; stopped with the agent. */
  private informer<T extends ObjectLike>(ref: ResourceRef): Informer<T> {
    const informer = new Informer<T>({ client: this.client, ref, log: this.log });
    this.proxyInformers.push(informer as unknown as Informer<ObjectLike>);
    return informer;
  }

  get port(): number {
    return this.logServer?.port ?? 0;
  }

  async start(): Promise<void> {
    const cfg = this.cfg;
    mkdirSync(path.join(cfg.rootDir, 'pods'), { recursive: true });
    this.ctx = {
      logs: this.logs,
      state: this.state,
      status: this.status,
      events: this.events,
      client: this.client,
      log: this.log,
      metrics: this.metrics,
      hostIP: cfg.nodeIP,
      allocatable: allocatableOf(cfg),
      services: () => this.serviceInformer?.list() ?? [],
      backoff: { baseMs: cfg.backoffBaseMs, maxMs: cfg.backoffMaxMs, resetAfterMs: RESET_AFTER_MS },
      commandsDir: path.join(cfg.rootDir, 'exec'),
    };
    this.usage = new ResourceUsageSampler(cfg.nodeName, () => [...this.workers.values()].flatMap((w) => w.runningContainers()), cfg.statsIntervalMs, this.log);
    this.usage.start();
    const usage = this.usage;
    const signatures = new ApiServerSignatures(this.client, cfg.nodeName, this.metrics, this.log);
    const exec = new ExecEndpoint({ targets: this, signatures, keepaliveMs: cfg.execKeepaliveMs, metrics: this.metrics, stateDir: this.ctx.commandsDir, log: this.log });
    const portForward = new PortForwardEndpoint({ targets: this, signatures, keepaliveMs: cfg.execKeepaliveMs, metrics: this.metrics, log: this.log });
    const attach = new AttachEndpoint({ targets: this, signatures, logs: this.logs, keepaliveMs: cfg.execKeepaliveMs, log: this.log });
    this.logServer = await startLogServer({ address: cfg.address, port: cfg.port, source: this, logs: this.logs, metrics: this.metrics, usage: () => usage.latest, exec, attach, portForward, signatures, log: this.log });
    if (cfg.metricsPort !== undefined) this.metricsServer = await serveMetrics({ registry: this.metrics.registry, address: cfg.address, port: cfg.metricsPort });
    this.log.info('log server listening', { address: cfg.address, port: this.logServer.port });

    // What this node was running before a restart, before anything new is admitted.
    this.recovered = new Map(this.state.loadAll().map((r) => [r.uid, r]));
    if (this.recovered.size > 0) this.log.info('recovered pod state', { pods: this.recovered.size });

    const node = await registerWithRetry(
      this.client,
      {
        name: cfg.nodeName,
        ip: cfg.nodeIP,
        port: this.logServer.port,
        cpu: cfg.cpu,
        memory: cfg.memory,
        pods: cfg.pods,
        reserved: cfg.reserved,
        labels: cfg.labels,
        taints: cfg.taints,
        // Every interface: clients reach it at the node's IP.
        ...(cfg.ingressAddress ? { ingressAddress: `${isUnspecified(cfg.ingressAddress.host) ? cfg.nodeIP : cfg.ingressAddress.host}:${cfg.ingressAddress.port}` } : {}),
      },
      this.log,
      this.abort.signal,
    );
    if (!node) return;
    void this.events.record({ kind: 'Node', apiVersion: 'v1', name: cfg.nodeName, uid: node.metadata.uid ?? cfg.nodeName }, 'Normal', 'Starting', 'Starting cell-agent.');

    this.heartbeat = new Heartbeat(new NodeLease(this.heartbeatClient, cfg.nodeName, cfg.leaseDurationSeconds, node.metadata.uid), cfg.heartbeatIntervalMs, this.log, this.metrics);
    this.heartbeat.start();

    // Services are read before any container starts, as the kubelet waits for them: a container
    // started without them would miss its environment's Service variables for good.
    this.serviceInformer = new Informer<Service>({ client: this.client, ref: { version: 'v1', resource: 'services' }, log: this.log });
    await this.serviceInformer.start();
    // Node ports and local cluster IPs: this node's share of Services (service-proxy.ts).
    const servesIngresses = cfg.ingressAddress !== undefined || cfg.ingressTlsAddress !== undefined;
    if (cfg.serviceProxyAddress !== undefined || servesIngresses) {
      this.endpointsInformer = this.informer<Endpoints>({ version: 'v1', resource: 'endpoints' });
      await this.endpointsInformer.start();
    }
    if (cfg.serviceProxyAddress !== undefined) {
      this.serviceProxy = new ServiceProxy({ services: this.serviceInformer, endpoints: this.endpointsInformer!, metrics: this.metrics, nodeName: cfg.nodeName, address: cfg.serviceProxyAddress, log: this.log });
      await this.serviceProxy.start();
    }
    // Ingresses of cell's IngressClasses: this node's share of HTTP routing (ingress-proxy.ts),
    // and of TLS termination with the Secrets they name (ingress-certificates.ts).
    if (servesIngresses) {
      const ingresses = this.informer<Ingress>({ group: NETWORKING_GROUP, version: 'v1', resource: 'ingresses' });
      const classes = this.informer<IngressClass>({ group: NETWORKING_GROUP, version: 'v1', resource: 'ingressclasses' });
      const served = () => servedByCell(ingresses.list(), classes.list());
      let https: { host: string; port: number; certificates: IngressCertificates } | undefined;
      if (cfg.ingressTlsAddress !== undefined) {
        const certificates = new IngressCertificates({ client: this.client, served, log: this.log });
        for (const informer of [ingresses, classes]) informer.addHandlers({ add: () => certificates.changed(), update: () => certificates.changed(), delete: () => certificates.changed() });
        https = { ...cfg.ingressTlsAddress, certificates };
      }
      await Promise.all([ingresses.start(), classes.start()]);
      this.ingressProxy = new IngressProxy({ ingresses, classes, services: this.serviceInformer, endpoints: this.endpointsInformer!, ...(cfg.ingressAddress ? { http: cfg.ingressAddress } : {}), ...(https ? { https } : {}), metrics: this.metrics, log: this.log });
      this.ingressProxy.start();
    }

    this.nodeStatus = new NodeStatusKeeper(this.client, cfg.nodeName, cfg.nodeStatusReportIntervalMs, this.log);
    this.nodeStatus.start();
    this.nodeInformer = new Informer<Node>({ client: this.client, ref: { resource: 'nodes' }, fieldSelector: `metadata.name=${cfg.nodeName}`, log: this.log });
    this.nodeInformer.addHandlers({
      add: (n) => this.nodeStatus?.observe(n),
      update: (_o, n) => this.nodeStatus?.observe(n),
    });
    void this.nodeInformer.start();

    this.podInformer = new Informer<Pod>({ client: this.client, ref: { resource: 'pods' }, fieldSelector: `spec.nodeName=${cfg.nodeName}`, log: this.log });
    this.podInformer.addHandlers({
      add: (p) => this.ready && this.onPod(p),
      update: (_o, p) => this.ready && this.onPod(p),
      delete: (p) => this.ready && this.onPodDeleted(p),
    });
    await this.podInformer.start();
    this.reconcile(this.podInformer.list());
    this.ready = true;

    this.timers.push(
      setInterval(() => {
        for (const w of this.workers.values()) for (const f of w.runningLogs()) this.logs.enforceLimit(f);
        this.metrics.pods.set(this.workers.size);
      }, LOG_LIMIT_CHECK_MS),
    );
    this.log.info('agent running', { node: cfg.nodeName, pods: this.workers.size });
  }

  /**
   * The first full view of this node's pods: pods the agent already knew (re-adopted) go first, then
   * new ones oldest first (admission order, as the kubelet sorts them); then whatever the old state
   * knew that the API server no longer has is stopped and removed.
   */
  private reconcile(pods: Pod[]): void {
    const known = pods.filter((p) => this.recovered.has(p.metadata.uid ?? ''));
    const fresh = pods
      .filter((p) => !this.recovered.has(p.metadata.uid ?? ''))
      .sort((a, b) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? ''));
    for (const p of [...known, ...fresh]) this.onPod(p);
    for (const rec of this.recovered.values()) this.removeOrphan(rec);
    this.recovered.clear();
  }

  /** A pod from the old state that no longer exists: stop what still runs of it and delete its files. */
  private removeOrphan(rec: PodRecord): void {
    this.log.info('cleaning up a pod that is gone', { pod: `${rec.namespace}/${rec.name}`, uid: rec.uid });
    const stops: Promise<unknown>[] = [];
    for (const c of rec.containers) {
      if (!c.running) continue;
      const proc = ContainerProcess.adopt(c.running, this.log);
      if (proc) stops.push(proc.stop(2000));
    }
    void Promise.all(stops).then(() => {
      try {
        this.logs.removePod(rec.uid);
      } catch (err) {
        this.log.warn('could not remove the files of a pod that is gone', { uid: rec.uid, error: errorMessage(err) });
      }
    });
  }

  private used(): ResourceAmounts {
    let sum = new ResourceAmounts();
    for (const w of this.workers.values()) if (w.holdsResources) sum = add(sum, podRequests(w.current));
    return sum;
  }

  private onPod(pod: Pod): void {
    const uid = pod.metadata.uid ?? '';
    const key = objectKey(pod);
    this.pods.set(uid, pod);
    const previous = this.byKey.get(key);
    if (previous !== undefined && previous !== uid) this.forget(previous);
    this.byKey.set(key, uid);
    const existing = this.workers.get(uid);
    if (existing) {
      existing.update(pod);
      return;
    }
    if (this.rejected.has(uid)) return;
    const phase = pod.status.phase;
    const terminal = phase === 'Succeeded' || phase === 'Failed';
    const record = this.recovered.get(uid);
    this.recovered.delete(uid);
    // A finished pod this agent never ran has nothing to stop and no logs here.
    if (terminal && !record) return;
    if (!record && !terminal && pod.metadata.deletionTimestamp === undefined) {
      const failure = admissionFailure(this.capacity, this.used(), pod);
      if (failure) {
        this.rejected.add(uid);
        this.metrics.admissionRejections.inc({ reason: failure.reason });
        this.log.warn('pod rejected: it does not fit the node', { pod: key, reason: failure.reason, message: failure.message });
        void this.events.record({ kind: 'Pod', apiVersion: 'v1', name: pod.metadata.name ?? '', namespace: pod.metadata.namespace, uid }, 'Warning', failure.reason, failure.message);
        void this.status.set(uid, pod.metadata.namespace ?? '', pod.metadata.name ?? '', rejectedStatus(failure.reason, failure.message, this.cfg.nodeIP));
        return;
      }
    }
    const worker = new PodWorker(this.ctx, pod, record);
    this.workers.set(uid, worker);
    worker.kick();
  }

  private onPodDeleted(pod: Pod): void {
    this.forget(pod.metadata.uid ?? '');
    const key = objectKey(pod);
    if (this.byKey.get(key) === pod.metadata.uid) this.byKey.delete(key);
  }

  private forget(uid: string): void {
    this.pods.delete(uid);
    this.rejected.delete(uid);
    this.status.forget(uid);
    const w = this.workers.get(uid);
    if (!w) return;
    void w.remove().then(() => {
      if (this.workers.get(uid) === w) this.workers.delete(uid);
    });
  }

  private workerFor(namespace: string, pod: string, podUID: string | undefined): PodWorker | undefined {
    const uid = this.byKey.get(`${namespace}/${pod}`);
    const w = uid !== undefined ? this.workers.get(uid) : undefined;
    return w && (podUID === undefined || podUID === w.uid) ? w : undefined;
  }

  private notHere(namespace: string, pod: string): { ok: false; notFound: true; message: string } {
    return { ok: false, notFound: true, message: `pod ${namespace}/${pod} is not running on node ${this.cfg.nodeName}` };
  }

  /** LogSource for the log server. */
  lookup(namespace: string, pod: string, container: string, previous: boolean, podUID: string | undefined): LogLookup {
    return this.workerFor(namespace, pod, podUID)?.logFor(container, previous) ?? this.notHere(namespace, pod);
  }

  /** ExecTargets for the exec endpoint. */
  execContext(namespace: string, pod: string, container: string, podUID: string | undefined): ExecLookup {
    return this.workerFor(namespace, pod, podUID)?.execContext(container) ?? this.notHere(namespace, pod);
  }

  /** AttachTargets for the attach endpoint. */
  attachTarget(namespace: string, pod: string, container: string, podUID: string | undefined): AttachLookup {
    return this.workerFor(namespace, pod, podUID)?.attachTarget(container) ?? this.notHere(namespace, pod);
  }

  /** PortForwardTargets for the port-forward endpoint: a pod this agent runs. */
  portForwardTarget(namespace: string, pod: string, podUID: string | undefined): PortForwardLookup {
    const worker = this.workerFor(namespace, pod, podUID);
    return worker ? { ok: true, uid: worker.uid } : this.notHere(namespace, pod);
  }

  /** Stop the agent (the pods keep running; a restarted agent re-adopts them). */
  async stop(): Promise<void> {
    if (this.cfg.stopPodsOnExit) {
      // A throwaway cluster (npm start): nothing it ran may outlive it.
      this.log.info('stopping the pods before exiting', { pods: this.workers.size });
      await Promise.all([...this.workers.values()].map((w) => w.stopProcesses()));
    }
    this.abort.abort();
    this.ready = false;
    this.timers.forEach((t) => clearInterval(t));
    this.heartbeat?.stop();
    this.nodeStatus?.stop();
    this.status.stop();
    // No probe may kill a container or write an event while the agent goes; after the status
    // writer stopped, so that probes no longer running do not report the containers unready.
    for (const w of this.workers.values()) w.stopProbes();
    await Promise.all([this.podInformer?.stop(), this.nodeInformer?.stop(), this.serviceProxy?.stop(), this.ingressProxy?.stop(), this.serviceInformer?.stop(), ...this.proxyInformers.map((i) => i.stop())]);
    this.usage?.stop();
    await this.logServer?.close();
    await this.metricsServer?.close();
  }
}
