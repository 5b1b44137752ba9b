// Service traffic, as kube-proxy serves it in its userspace mode: for each TCP and UDP port of
// every NodePort and LoadBalancer Service, the agent listens on the node port, and for each port
// of a Service whose cluster IP is an address of this host (any of 127.0.0.0/8, which a local
// cluster's --service-cluster-ip-range can be, or an interface's), on that IP and port. Each TCP
// connection, and each UDP flow (udp-relay.ts), is relayed to one of the Service's ready endpoints
// (its Endpoints, kept by the endpoints controller), in turn — or to the same one for a client
// while `sessionAffinity: ClientIP` holds, and only to endpoints on this node with
// `externalTrafficPolicy: Local` (node ports) or `internalTrafficPolicy: Local` (cluster IPs). An
// endpoint that refuses is skipped for the next; with none left the connection is closed. Other
// cluster IPs are not served (no packet rewriting without root), nor SCTP.
//
// Several agents on one host (a local cluster) want the same ports: one holds each, the others
// try again every `retryMs`, so a port outlives the agent that held it.
import net from 'node:net';
import type { Endpoints, Service } from '../shared/api/service.js';
import { hasNodePorts, needsClusterIP, serviceType } from '../shared/api/service.js';
import type { Informer } from '../shared/client/informer.js';
import { errorMessage } from '../shared/errors.js';
import { connectFirst, readyBackends, Turns, type Backend } from './service-backends.js';
import { isLocalAddress } from '../shared/host-address.js';
import { UdpRelay } from './udp-relay.js';
import type { AgentMetrics } from './metrics.js';
import type { Logger } from '../shared/logging.js';

/** Kubernetes' default ClientIP affinity timeout. */
const DEFAULT_AFFINITY_SECONDS = 10_800;

/** What a listening address leads to. */
interface Target {
  namespace: string;
  name: string;
  /** The Service port's name ('' when unnamed): the Endpoints port of the same name. */
  portName: string;
  onlyLocal: boolean;
  affinitySeconds: number;
}

type Via = 'node_port' | 'cluster_ip';

interface Listener {
  via: Via;
  protocol: 'TCP' | 'UDP';
  host: string;
  port: number;
  target: Target;
  /** The TCP listener, or the UDP relay. */
  server: net.Server | UdpRelay;
  listening: boolean;
}

/** An address to listen on and what it leads to. */
type Wanted = Pick<Listener, 'via' | 'protocol' | 'host' | 'port' | 'target'>;


export interface ServiceProxyOptions {
  /** Every Service and every Endpoints (the agent's informers, started by the caller). */
  services: Informer<Service>;
  endpoints: Informer<Endpoints>;
  metrics?: Pick<AgentMetrics, 'nodePortsOpen' | 'clusterIPPortsOpen' | 'serviceConnections'>;
  nodeName: string;
  /** The address node ports are opened on. */
  address: string;
  log: Logger;
  retryMs?: number;
}

function sameTarget(a: Target, b: Target): boolean {
  return a.namespace === b.namespace && a.name === b.name && a.portName === b.portName;
}

function affinitySecondsOf(svc: Service): number {
  return svc.spec.sessionAffinity === 'ClientIP' ? (svc.spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_SECONDS) : 0;
}

export class ServiceProxy {
  private readonly services: Informer<Service>;
  /** By `host:port`. */
  private readonly listeners = new Map<string, Listener>();
  /** Whose turn it is, per Service port. */
  private readonly turns = new Turns();
  /** `service port key|client IP` → the endpoint it sticks to, and until when. */
  private readonly affinity = new Map<string, { backend: Backend; until: number }>();
  private readonly sockets = new Set<net.Socket>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly o: ServiceProxyOptions) {
    this.services = o.services;
  }

  async start(): Promise<void> {
    const changed = () => this.reconcile();
    this.services.addHandlers({ add: changed, update: changed, delete: changed });
    // Ports another process holds are tried again; lapsed affinities are forgotten.
    this.timer = setInterval(() => {
      this.reconcile();
      const now = Date.now();
      for (const [k, a] of this.affinity) if (a.until <= now) this.affinity.delete(k);
    }, this.o.retryMs ?? 10_000);
    this.timer.unref();
    void this.services.hasSynced().then(() => this.reconcile());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    for (const key of [...this.listeners.keys()]) this.close(key);
    for (const s of this.sockets) s.destroy();
  }

  /** The node ports currently open, for tests and logs. */
  openPorts(): number[] {
    return this.openListeners().filter((l) => l.via === 'node_port').map((l) => l.port).sort((a, b) => a - b);
  }

  /** The cluster IP ports currently open (`ip:port`), for tests and logs. */
  openClusterIPs(): string[] {
    return this.openListeners().filter((l) => l.via === 'cluster_ip').map((l) => `${l.host}:${l.port}`).sort();
  }

  private openListeners(): Listener[] {
    return [...this.listeners.values()].filter((l) => l.listening);
  }

  /** Every address to listen on, by `host:port` (TCP) or `udp/host:port`. */
  private desired(): Map<string, Wanted> {
    const out = new Map<string, Wanted>();
    const add = (via: Via, protocol: Wanted['protocol'], host: string, port: number, target: Target) =>
      out.set(`${protocol === 'UDP' ? 'udp/' : ''}${host}:${port}`, { via, protocol, host, port, target });
    for (const svc of this.services.list()) {
      const type = serviceType(svc);
      const base = { namespace: svc.metadata.namespace ?? '', name: svc.metadata.name ?? '', affinitySeconds: affinitySecondsOf(svc) };
      const clusterIP = needsClusterIP(svc) && svc.spec.clusterIP && isLocalAddress(svc.spec.clusterIP) ? svc.spec.clusterIP : undefined;
      for (const p of svc.spec.ports ?? []) {
        const protocol = p.protocol ?? 'TCP';
        if (protocol !== 'TCP' && protocol !== 'UDP') continue;
        const portName = p.name ?? '';
        if (clusterIP) add('cluster_ip', protocol, clusterIP, p.port, { ...base, portName, onlyLocal: svc.spec.internalTrafficPolicy === 'Local' });
        if (hasNodePorts(type) && p.nodePort) add('node_port', protocol, this.o.address, p.nodePort, { ...base, portName, onlyLocal: svc.spec.externalTrafficPolicy === 'Local' });
      }
    }
    return out;
  }

  private reconcile(): void {
    if (this.stopped) return;
    const want = this.desired();
    for (const [key, l] of this.listeners) {
      const w = want.get(key);
      // One that failed to open is gone from the map already (and is tried again below).
      if (!w || !sameTarget(w.target, l.target)) this.close(key);
      else l.target = w.target;
    }
    for (const [key, w] of want) if (!this.listeners.has(key)) this.open(key, w);
  }

  private open(key: string, w: Wanted): void {
    const { host, port, target } = w;
    const what = w.via === 'node_port' ? 'node port' : 'cluster IP';
    const failed = (err: NodeJS.ErrnoException) => {
      // Held by another process (another agent on this host): closed here, tried again later.
      // Below 1024 without the privilege (EACCES) is worth a warning: the port will not open.
      const level = err.code === 'EADDRINUSE' ? 'debug' : 'warn';
      this.o.log[level](`${what} not opened`, { address: key, service: `${target.namespace}/${target.name}`, error: errorMessage(err) });
      if (this.listeners.get(key) === listener) this.listeners.delete(key);
      listener.server.close();
    };
    const opened = () => {
      listener.listening = true;
      this.countOpen();
      this.o.log.info(`${what} open`, { address: key, protocol: w.protocol, service: `${target.namespace}/${target.name}` });
    };
    const server =
      w.protocol === 'UDP'
        ? new UdpRelay({ host, port, choose: (clientIP) => this.udpBackends(key, clientIP), flowStarted: (clientIP, backend) => this.udpFlowStarted(key, clientIP, backend), log: this.o.log })
        : net.createServer((client) => this.relay(key, client));
    const listener: Listener = { ...w, server, listening: false };
    this.listeners.set(key, listener);
    if (server instanceof UdpRelay) server.open(opened, failed);
    else {
      server.on('error', failed);
      server.listen({ host, port }, opened);
    }
  }

  /** The endpoints a new UDP flow from `clientIP` may go to, the one to use first. */
  private udpBackends(key: string, clientIP: string): Backend[] {
    const t = this.listeners.get(key)?.target;
    if (!t) return [];
    return this.order(t, clientIP, readyBackends(this.o.endpoints.get(t.namespace, t.name), t.portName, t.onlyLocal ? this.o.nodeName : undefined));
  }

  private udpFlowStarted(key: string, clientIP: string, backend: Backend | undefined): void {
    const l = this.listeners.get(key);
    if (!l) return;
    this.o.metrics?.serviceConnections.inc({ result: backend ? 'relayed' : 'no_endpoint', via: l.via });
    const t = l.target;
    if (backend && t.affinitySeconds > 0) this.affinity.set(`${t.namespace}/${t.name}:${t.portName}|${clientIP}`, { backend, until: Date.now() + t.affinitySeconds * 1000 });
  }

  private close(key: string): void {
    const l = this.listeners.get(key);
    if (!l) return;
    this.listeners.delete(key);
    // TCP connections already relayed go on; only new ones stop. UDP flows end with their relay.
    l.server.close();
    this.countOpen();
  }

  private countOpen(): void {
    this.o.metrics?.nodePortsOpen.set(this.openPorts().length);
    this.o.metrics?.clusterIPPortsOpen.set(this.openClusterIPs().length);
  }

  /** The endpoints to try, in order: a client's sticky one first, else from the next in turn. */
  private order(t: Target, clientIP: string, backends: Backend[]): Backend[] {
    const key = `${t.namespace}/${t.name}:${t.portName}`;
    if (t.affinitySeconds > 0) {
      const held = this.affinity.get(`${key}|${clientIP}`);
      if (held && held.until > Date.now()) {
        const i = backends.findIndex((b) => b.ip === held.backend.ip && b.port === held.backend.port);
        if (i >= 0) return [backends[i]!, ...backends.filter((_, j) => j !== i)];
      }
    }
    return this.turns.order(key, backends);
  }

  private relay(key: string, client: net.Socket): void {
    const l = this.listeners.get(key);
    this.track(client);
    client.on('error', () => client.destroy());
    if (!l) return void client.destroy();
    const t = l.target;
    const via = l.via;
    const backends = readyBackends(this.o.endpoints.get(t.namespace, t.name), t.portName, t.onlyLocal ? this.o.nodeName : undefined);
    if (backends.length === 0) {
      this.o.metrics?.serviceConnections.inc({ result: 'no_endpoint', via });
      return void client.destroy();
    }
    client.pause();
    const clientIP = client.remoteAddress ?? '';
    void connectFirst(this.order(t, clientIP, backends), (s) => this.track(s)).then((got) => {
      if (!got) {
        this.o.metrics?.serviceConnections.inc({ result: 'failed', via });
        return void client.destroy();
      }
      const { socket: upstream, backend } = got;
      // A relayed connection's end, or error, ends the other side's too.
      upstream.on('error', () => client.destroy());
      if (client.destroyed) return void upstream.destroy();
      this.o.metrics?.serviceConnections.inc({ result: 'relayed', via });
      if (t.affinitySeconds > 0) this.affinity.set(`${t.namespace}/${t.name}:${t.portName}|${clientIP}`, { backend, until: Date.now() + t.affinitySeconds * 1000 });
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
    }).catch((err: unknown) => {
      // Never the agent: the one connection is dropped.
      this.o.log.warn('service connection failed', { error: errorMessage(err) });
      client.destroy();
    });
  }

  private track(s: net.Socket): void {
    this.sockets.add(s);
    s.once('close', () => this.sockets.delete(s));
  }
}
