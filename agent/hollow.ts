// Hollow mode (kubemark's hollow nodes): one process plays N nodes for scale tests. Each node is
// registered, heartbeats through its own Lease, and "runs" the pods bound to it: they go Running at
// once, finish after `cell.dev/run-seconds` when annotated (with the exit code `cell.dev/exit-code`
// names, restarted in place as restartPolicy says), and a graceful delete is confirmed at once.
// Nothing is executed and no logs are kept (the nodes report no log endpoint).
//
// To stay cheap at thousands of nodes: one pod watch and one node watch for all of them (node
// restriction would demand one per node, so this mode needs a token that may watch every pod,
// e.g. system:masters), lease renewals spread evenly over the heartbeat interval, and every API
// write through one bounded, per-key coalescing queue.
import type { ContainerState, ContainerStatus, Node, Pod, PodCondition } from '../shared/api/core.js';
import { formatTime } from '../shared/api/meta.js';
import { backoffMs } from '../shared/backoff.js';
import type { ApiClient } from '../shared/client/http-client.js';
import { Informer, objectKey } from '../shared/client/informer.js';
import { ConflictError, ForbiddenError, InvalidError, NotFoundError, UnavailableError, errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logging.js';
import type { AgentConfig } from './flags.js';
import { NodeLease } from './heartbeat.js';
import { serveMetrics } from '../shared/metrics-server.js';
import { AgentMetrics } from './metrics.js';
import { isReady, postReady } from './node-status.js';
import { registerNode, type NodeDescription } from './registration.js';
import { nextBackOff, RESET_AFTER_MS, shouldRestart, type BackOffConfig } from './restart-policy.js';
import { containerID } from './status.js';
import { WriteQueue } from './write-queue.js';

/** Annotation: a hollow pod Succeeds this many seconds after it started. */
export const RUN_SECONDS_ANNOTATION = 'cell.dev/run-seconds';
/**
 * Annotation: the exit code a hollow pod's containers end with after run-seconds (0 when absent).
 * With it the pod follows its restartPolicy as the real agent does: Never ends Failed (N≠0) or
 * Succeeded, OnFailure restarts a failed container in place after the crash-loop back-off.
 */
export const EXIT_CODE_ANNOTATION = 'cell.dev/exit-code';
/** Label on hollow nodes naming their agent's prefix (lets the agent watch only its nodes). */
export const HOLLOW_LABEL = 'cell.dev/hollow-agent';

const TICK_MS = 100;
/** Write-queue key prefix of a pod's writes (its status, its deletion's confirmation). */
const POD_WRITE = 'pod';
/** A failed pod write is tried again after this, doubling up to POD_RETRY_MAX_MS. */
const POD_RETRY_MS = 500;
const POD_RETRY_MAX_MS = 30_000;

/** A label value from a node prefix ("hollow-node-" → "hollow-node"). */
export function prefixLabelValue(prefix: string): string {
  return prefix.replace(/[^A-Za-z0-9]+$/, '').replace(/^[^A-Za-z0-9]+/, '').slice(0, 63) || 'hollow';
}

/** What the hollow agent decides about each container of a pod; the rest of its status is fixed. */
interface ContainerView {
  state: ContainerState;
  lastState?: ContainerState;
  ready: boolean;
  restartCount: number;
  containerID: string;
}

/** Swallow only "the pod is gone or changed identity" outcomes, which need no retry. */
function isGone(err: unknown): boolean {
  return err instanceof NotFoundError || err instanceof ConflictError || err instanceof InvalidError;
}

export class HollowAgent {
  private readonly metrics = new AgentMetrics();
  private readonly names: string[];
  private readonly nodeSet: Set<string>;
  private readonly leases: NodeLease[];
  private readonly due: number[];
  private readonly queue: WriteQueue;
  /** The next thing due for a pod: its containers exiting, or restarting after a back-off. */
  private readonly completions = new Map<string, NodeJS.Timeout>();
  /** Restarts so far of pods restarted in place, and their current back-off. */
  private readonly restarts = new Map<string, { count: number; backoffMs: number }>();
  /** Per pod key: failed writes in a row, and the timer that tries again. */
  private readonly podRetries = new Map<string, { failures: number; timer: NodeJS.Timeout }>();
  private readonly backoff: BackOffConfig;
  private podInformer: Informer<Pod> | undefined;
  private nodeInformer: Informer<Node> | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private metricsServer: { close(): Promise<void> } | undefined;
  private stopped = false;
  private registered = 0;

  constructor(
    private readonly cfg: AgentConfig,
    private readonly client: ApiClient,
    private readonly log: Logger,
    /** For lease renewals (short request timeout); default `client`. */
    heartbeatClient: ApiClient = client,
  ) {
    this.names = Array.from({ length: cfg.hollowNodes }, (_, i) => `${cfg.nodePrefix}${i}`);
    this.nodeSet = new Set(this.names);
    this.leases = this.names.map((n) => new NodeLease(heartbeatClient, n, cfg.leaseDurationSeconds));
    this.due = this.names.map(() => Number.POSITIVE_INFINITY);
    this.backoff = { baseMs: cfg.backoffBaseMs, maxMs: cfg.backoffMaxMs, resetAfterMs: RESET_AFTER_MS };
    this.queue = new WriteQueue(cfg.hollowWriteConcurrency, log, (key, ok) => {
      const kind = key.slice(0, key.indexOf(':'));
      this.metrics.apiWrites.inc({ kind, result: ok ? 'ok' : 'error' });
      if (kind === POD_WRITE) this.podWriteDone(key.slice(kind.length + 1), ok);
    });
  }

  private describe(name: string): NodeDescription {
    return {
      name,
      ip: this.cfg.nodeIP,
      port: 0,
      cpu: this.cfg.cpu,
      memory: this.cfg.memory,
      pods: this.cfg.pods,
      reserved: this.cfg.reserved,
      labels: { ...this.cfg.labels, [HOLLOW_LABEL]: prefixLabelValue(this.cfg.nodePrefix) },
      taints: this.cfg.taints,
      hollow: true,
    };
  }

  async start(): Promise<void> {
    const cfg = this.cfg;
    if (cfg.metricsPort !== undefined) this.metricsServer = await serveMetrics({ registry: this.metrics.registry, address: cfg.address, port: cfg.metricsPort });
    await this.checkAccess();
    const began = Date.now();
    for (const [i, name] of this.names.entries()) this.register(i, name);
    await this.queue.idle();
    this.log.info('hollow nodes registered', { nodes: this.registered, ms: Date.now() - began });

    // Renewals spread evenly over one interval, so the API server sees a steady rate.
    const now = Date.now();
    this.names.forEach((_, i) => (this.due[i] = now + (i / this.names.length) * cfg.heartbeatIntervalMs));
    this.ticker = setInterval(() => this.tick(), TICK_MS);

    this.nodeInformer = new Informer<Node>({ client: this.client, ref: { resource: 'nodes' }, labelSelector: `${HOLLOW_LABEL}=${prefixLabelValue(cfg.nodePrefix)}`, log: this.log });
    this.nodeInformer.addHandlers({ add: (n) => this.onNode(n), update: (_o, n) => this.onNode(n) });
    await this.nodeInformer.start();

    // Bound, unfinished pods only: finished ones leave the watch (and the cache) by themselves.
    this.podInformer = new Informer<Pod>({
      client: this.client,
      ref: { resource: 'pods' },
      fieldSelector: 'spec.nodeName!=,status.phase!=Succeeded,status.phase!=Failed',
      log: this.log,
    });
    this.podInformer.addHandlers({
      add: (p) => this.onPod(p),
      update: (_o, p) => this.onPod(p),
      delete: (p) => {
        const key = objectKey(p);
        this.cancelCompletion(key);
        this.restarts.delete(key);
        clearTimeout(this.podRetries.get(key)?.timer);
        this.podRetries.delete(key);
      },
    });
    await this.podInformer.start();
    this.metrics.pods.set(this.podInformer.size);
    this.log.info('hollow agent running', { nodes: this.names.length, prefix: cfg.nodePrefix });
  }

  /**
   * Fail fast with a clear message when the token cannot watch every pod; wait (with back-off)
   * while the API server is not reachable yet.
   */
  private async checkAccess(): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        await this.client.list({ resource: 'pods' }, { limit: 1 });
        return;
      } catch (err) {
        if (err instanceof ForbiddenError) {
          throw new ForbiddenError(`hollow mode watches the pods of all its nodes at once, which needs a token allowed to list all pods (e.g. group system:masters): ${err.message}`);
        }
        if (!(err instanceof UnavailableError)) throw err;
        const delay = backoffMs(attempt, { initialMs: 500, maxMs: 10_000 });
        this.log.warn('API server not reachable yet; retrying', { error: err.message, retryInMs: delay });
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  private register(i: number, name: string): void {
    this.queue.push(`register:${name}`, async () => {
      try {
        const node = await registerNode(this.client, this.describe(name), this.log);
        this.leases[i]!.setNodeUid(node.metadata.uid);
        await this.leases[i]!.renew();
        this.registered++;
      } catch (err) {
        if (this.stopped) return;
        this.log.warn('hollow node registration failed; retrying', { node: name, error: errorMessage(err) });
        setTimeout(() => this.register(i, name), 1000).unref();
      }
    });
  }

  private tick(): void {
    const now = Date.now();
    const interval = this.cfg.heartbeatIntervalMs;
    for (let i = 0; i < this.due.length; i++) {
      if (this.due[i]! > now) continue;
      this.due[i] = now + interval;
      const lease = this.leases[i]!;
      this.queue.push(`lease:${lease.nodeName}`, async () => {
        const end = this.metrics.leaseRenewDuration.startTimer();
        try {
          await lease.renew();
          this.metrics.leaseRenewals.inc({ result: 'ok' });
        } catch (err) {
          this.metrics.leaseRenewals.inc({ result: 'error' });
          // Try again soon rather than a whole interval later.
          this.due[i] = Math.min(this.due[i]!, Date.now() + Math.min(interval, 1000));
          throw err;
        } finally {
          end();
        }
      });
    }
  }

  /**
   * A pod write failed (not because the pod is gone: that is not an error here): nothing else
   * would try again — a pod bound while its API server was going away would stay Pending, as no
   * new event comes for it — so the pod is looked at again after a back-off, as it is then.
   */
  private podWriteDone(key: string, ok: boolean): void {
    const prev = this.podRetries.get(key);
    if (prev) clearTimeout(prev.timer);
    if (ok || this.stopped) {
      this.podRetries.delete(key);
      return;
    }
    const failures = (prev?.failures ?? 0) + 1;
    const delay = backoffMs(failures - 1, { initialMs: POD_RETRY_MS, maxMs: POD_RETRY_MAX_MS });
    const timer = setTimeout(() => {
      const [namespace, name] = key.split('/') as [string, string];
      const current = this.podInformer?.get(namespace, name);
      if (current) this.onPod(current);
      else this.podRetries.delete(key);
    }, delay);
    timer.unref();
    this.podRetries.set(key, { failures, timer });
  }

  private onNode(node: Node): void {
    const name = node.metadata.name ?? '';
    if (!this.nodeSet.has(name) || isReady(node)) return;
    this.queue.push(`node:${name}`, () => postReady(this.client, name, node.status.conditions));
  }

  private onPod(pod: Pod): void {
    const node = pod.spec.nodeName;
    if (node === undefined || !this.nodeSet.has(node)) return;
    const key = objectKey(pod);
    const uid = pod.metadata.uid ?? '';
    if (pod.metadata.deletionTimestamp !== undefined) {
      this.cancelCompletion(key);
      this.queue.push(`${POD_WRITE}:${key}`, () => this.confirmDelete(pod, uid));
      return;
    }
    const phase = pod.status.phase;
    if (phase !== 'Running') {
      const now = Date.now();
      this.queue.push(`${POD_WRITE}:${key}`, () => this.writePhase(pod, uid, 'Running', now));
      this.scheduleCompletion(pod, now);
    } else if (!this.completions.has(key)) {
      // After an agent restart: the running instance started when its container status says.
      const running = pod.status.containerStatuses?.[0]?.state?.running?.startedAt;
      this.scheduleCompletion(pod, Date.parse(running ?? pod.status.startTime ?? '') || Date.now());
    }
    this.metrics.pods.set(this.podInformer?.size ?? 0);
  }

  private scheduleCompletion(pod: Pod, startedAt: number): void {
    const raw = pod.metadata.annotations?.[RUN_SECONDS_ANNOTATION];
    const rawExit = pod.metadata.annotations?.[EXIT_CODE_ANNOTATION];
    if (raw === undefined && rawExit === undefined) return;
    const seconds = Number(raw ?? '0');
    if (!Number.isFinite(seconds) || seconds < 0) {
      this.log.warn('ignoring a bad run-seconds annotation', { pod: objectKey(pod), value: raw });
      return;
    }
    const exitCode = rawExit === undefined ? undefined : Number(rawExit);
    if (exitCode !== undefined && (!Number.isInteger(exitCode) || exitCode < 0 || exitCode > 255)) {
      this.log.warn('ignoring a bad exit-code annotation', { pod: objectKey(pod), value: rawExit });
      return;
    }
    const key = objectKey(pod);
    this.cancelCompletion(key);
    const uid = pod.metadata.uid ?? '';
    const instance = this.restartsOf(pod);
    const timer = setTimeout(() => {
      this.completions.delete(key);
      const current = this.podInformer?.get(pod.metadata.namespace, pod.metadata.name ?? '') ?? pod;
      if (current.metadata.uid !== uid || current.metadata.deletionTimestamp !== undefined) return;
      this.queue.push(`${POD_WRITE}:${key}`, () => this.containersExited(current, uid, startedAt, exitCode, instance));
    }, Math.max(0, startedAt + seconds * 1000 - Date.now()));
    this.completions.set(key, timer);
  }

  /**
   * The pod's containers ended with `exitCode` (undefined: plain run-seconds, the pod Succeeds).
   * restartPolicy decides, as the kubelet does: end the pod, or restart them in place — at once the
   * first time, then after the crash-loop back-off, restartCount counting each restart.
   */
  private async containersExited(pod: Pod, uid: string, startedAtMs: number, exitCode: number | undefined, instance: number): Promise<void> {
    const key = objectKey(pod);
    // A watch event older than this agent's own last write can schedule a second timer for the
    // same run: only the first exit of each instance counts.
    if (this.restartsOf(pod) !== instance) return;
    const now = Date.now();
    const ended = (code: number, cid?: string): ContainerState => ({
      terminated: {
        exitCode: code,
        reason: code === 0 ? 'Completed' : 'Error',
        startedAt: formatTime(new Date(startedAtMs)),
        finishedAt: formatTime(new Date(now)),
        ...(cid !== undefined ? { containerID: cid } : {}),
      },
    });
    if (exitCode === undefined || !shouldRestart(pod.spec.restartPolicy, exitCode)) {
      const code = exitCode ?? 0;
      const restartCount = instance;
      this.restarts.delete(key);
      await this.writeStatus(pod, uid, code === 0 ? 'Succeeded' : 'Failed', startedAtMs, (c) => ({
        state: ended(code, containerID(uid, c, restartCount)),
        ready: false,
        restartCount,
        containerID: containerID(uid, c, restartCount),
      }));
      return;
    }
    const prev = this.restarts.get(key) ?? { count: instance, backoffMs: 0 };
    const { delayMs, nextMs } = nextBackOff(this.backoff, prev.backoffMs, now - startedAtMs);
    const count = prev.count + 1;
    this.restarts.set(key, { count, backoffMs: nextMs });
    const lastState = ended(exitCode);
    const restart = (at: number) =>
      this.writeStatus(pod, uid, 'Running', Date.parse(pod.status.startTime ?? '') || startedAtMs, (c) => ({
        state: { running: { startedAt: formatTime(new Date(at)) } },
        lastState,
        ready: true,
        restartCount: count,
        containerID: containerID(uid, c, count),
      }));
    if (delayMs === 0) {
      await restart(now);
      this.scheduleCompletion(pod, now);
      return;
    }
    const message = `back-off ${Math.round(delayMs / 1000)}s restarting failed container`;
    await this.writeStatus(pod, uid, 'Running', Date.parse(pod.status.startTime ?? '') || startedAtMs, (c) => ({
      state: { waiting: { reason: 'CrashLoopBackOff', message: `${message}=${c} pod=${pod.metadata.name ?? ''}_${pod.metadata.namespace ?? ''}(${uid})` } },
      lastState,
      ready: false,
      restartCount: prev.count,
      containerID: containerID(uid, c, prev.count),
    }));
    const timer = setTimeout(() => {
      this.completions.delete(key);
      const current = this.podInformer?.get(pod.metadata.namespace, pod.metadata.name ?? '') ?? pod;
      if (current.metadata.uid !== uid || current.metadata.deletionTimestamp !== undefined) return;
      const at = Date.now();
      this.queue.push(`${POD_WRITE}:${key}`, () => restart(at));
      this.scheduleCompletion(current, at);
    }, delayMs);
    this.completions.set(key, timer);
  }

  /** Restarts of the pod's containers so far: this agent's count, else what its status says. */
  private restartsOf(pod: Pod): number {
    return this.restarts.get(objectKey(pod))?.count ?? pod.status.containerStatuses?.[0]?.restartCount ?? 0;
  }

  private cancelCompletion(key: string): void {
    const t = this.completions.get(key);
    if (t) clearTimeout(t);
    this.completions.delete(key);
  }

  /** Set a pod Running (first start) or Succeeded (plain run-seconds): every container alike. */
  private writePhase(pod: Pod, uid: string, phase: 'Running' | 'Succeeded', startedAtMs: number): Promise<void> {
    const startedAt = formatTime(new Date(startedAtMs));
    const now = formatTime(new Date());
    const running = phase === 'Running';
    return this.writeStatus(pod, uid, phase, startedAtMs, (c) => ({
      state: running ? { running: { startedAt } } : { terminated: { exitCode: 0, reason: 'Completed', startedAt, finishedAt: now, containerID: containerID(uid, c, 0) } },
      ready: running,
      restartCount: 0,
      containerID: containerID(uid, c, 0),
    }));
  }

  /**
   * Write a pod's phase and container statuses: a JSON patch whose first operation tests the uid,
   * so a pod re-created under the same name is never touched, and which adds only the agent's fields.
   */
  private async writeStatus(pod: Pod, uid: string, phase: 'Running' | 'Succeeded' | 'Failed', startedAtMs: number, container: (name: string) => ContainerView): Promise<void> {
    const now = formatTime(new Date());
    const startedAt = formatTime(new Date(startedAtMs));
    const containerStatuses: ContainerStatus[] = pod.spec.containers.map((c) => {
      const v = container(c.name);
      return { name: c.name, ...v, image: c.image, imageID: '', started: v.state.running !== undefined };
    });
    const ready = phase === 'Running' && containerStatuses.every((c) => c.ready);
    const terminal = phase !== 'Running';
    const ours = new Set(['Initialized', 'Ready', 'ContainersReady']);
    const conditions: PodCondition[] = [
      ...(pod.status.conditions ?? []).filter((c) => !ours.has(c.type)),
      { type: 'Initialized', status: 'True', lastTransitionTime: startedAt },
      ...['Ready', 'ContainersReady'].map((type) =>
        ready
          ? { type, status: 'True' as const, lastTransitionTime: now }
          : { type, status: 'False' as const, reason: terminal ? 'PodCompleted' : 'ContainersNotReady', lastTransitionTime: now },
      ),
    ];
    const ip = this.cfg.nodeIP;
    const ops = [
      { op: 'test', path: '/metadata/uid', value: uid },
      { op: 'add', path: '/status/phase', value: phase },
      { op: 'add', path: '/status/conditions', value: conditions },
      { op: 'add', path: '/status/containerStatuses', value: containerStatuses },
      { op: 'add', path: '/status/startTime', value: pod.status.startTime ?? startedAt },
      { op: 'add', path: '/status/hostIP', value: ip },
      { op: 'add', path: '/status/podIP', value: ip },
      { op: 'add', path: '/status/podIPs', value: [{ ip }] },
    ];
    try {
      await this.client.patch({ namespace: pod.metadata.namespace, resource: 'pods', name: pod.metadata.name, subresource: 'status' }, ops, 'json');
    } catch (err) {
      if (!isGone(err)) throw err;
      this.log.debug('pod gone before its status was written', { pod: objectKey(pod), error: errorMessage(err) });
    }
  }

  private async confirmDelete(pod: Pod, uid: string): Promise<void> {
    try {
      await this.client.delete({ namespace: pod.metadata.namespace, resource: 'pods', name: pod.metadata.name }, { gracePeriodSeconds: 0, preconditions: { uid } });
    } catch (err) {
      if (!isGone(err)) throw err;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.ticker) clearInterval(this.ticker);
    for (const t of this.completions.values()) clearTimeout(t);
    for (const r of this.podRetries.values()) clearTimeout(r.timer);
    this.queue.stop();
    await Promise.all([this.podInformer?.stop(), this.nodeInformer?.stop()]);
    await this.metricsServer?.close();
  }
}
