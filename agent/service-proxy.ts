// Node ports, as kube-proxy serves them in its userspace mode: for each TCP port of every NodePort
// and LoadBalancer Service, the agent listens on the node port and relays each connection to one
// of the Service's ready endpoints (its Endpoints, kept by the endpoints controller), in turn —
// or to the same one for a client while `sessionAffinity: ClientIP` holds, and only to endpoints
// on this node with `externalTrafficPolicy: Local`. An endpoint that refuses is skipped for the
// next; with none left the connection is closed. Cluster IPs are not served (no packet
// rewriting without root), nor UDP node ports.
//
// Several agents on one host (a local cluster) want the same ports: one holds each, the others
// try again every `retryMs`, so a port outlives the agent that held it.
import net from 'node:net';
import type { Endpoints, Service } from '../shared/api/service.js';
import { hasNodePorts, serviceType } from '../shared/api/service.js';
import type { ApiClient } from '../shared/client/http-client.js';
import { Informer } from '../shared/client/informer.js';
import { errorMessage } from '../shared/errors.js';
import type { AgentMetrics } from './metrics.js';
import type { Logger } from '../shared/logging.js';

/** Kubernetes' default ClientIP affinity timeout. */
const DEFAULT_AFFINITY_SECONDS = 10_800;
const CONNECT_TIMEOUT_MS = 5_000;

/** What a node port leads to. */
interface Target {
  namespace: string;
  name: string;
  /** The Service port's name ('' when unnamed): the Endpoints port of the same name. */
  portName: string;
  onlyLocal: boolean;
  affinitySeconds: number;
}

interface Listener {
  target: Target;
  server: net.Server;
  listening: boolean;
}

interface Backend {
  ip: string;
  port: number;
}

export interface ServiceProxyOptions {
  client: ApiClient;
  metrics?: Pick<AgentMetrics, 'nodePortsOpen' | 'nodePortConnections'>;
  nodeName: string;
  /** The address node ports are opened on. */
  address: string;
  log: Logger;
  retryMs?: number;
}

function sameTarget(a: Target, b: Target): boolean {
  return a.namespace === b.namespace && a.name === b.name && a.portName === b.portName;
}

export class ServiceProxy {
  private readonly services: Informer<Service>;
  private readonly endpoints: Informer<Endpoints>;
  private readonly listeners = new Map<number, Listener>();
  /** Next endpoint index per Service port, for turns. */
  private readonly turns = new Map<string, number>();
  /** `service port key|client IP` → the endpoint it sticks to, and until when. */
  private readonly affinity = new Map<string, { backend: Backend; until: number }>();
  private readonly sockets = new Set<net.Socket>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly o: ServiceProxyOptions) {
    this.services = new Informer<Service>({ client: o.client, ref: { version: 'v1', resource: 'services' }, log: o.log });
    this.endpoints = new Informer<Endpoints>({ client: o.client, ref: { version: 'v1', resource: 'endpoints' }, log: o.log });
  }

  async start(): Promise<void> {
    const changed = () => this.reconcile();
    this.services.addHandlers({ add: changed, update: changed, delete: changed });
    await Promise.all([this.services.start(), this.endpoints.start()]);
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
    for (const port of [...this.listeners.keys()]) this.close(port);
    for (const s of this.sockets) s.destroy();
    await Promise.all([this.services.stop(), this.endpoints.stop()]);
  }

  /** The node ports currently open, for tests and logs. */
  openPorts(): number[] {
    return [...this.listeners].filter(([, l]) => l.listening).map(([p]) => p).sort((a, b) => a - b);
  }

  private desired(): Map<number, Target> {
    const out = new Map<number, Target>();
    for (const svc of this.services.list()) {
      if (!hasNodePorts(serviceType(svc))) continue;
      for (const p of svc.spec.ports ?? []) {
        if (!p.nodePort || p.protocol !== 'TCP') continue;
        out.set(p.nodePort, {
          namespace: svc.metadata.namespace ?? '',
          name: svc.metadata.name ?? '',
          portName: p.name ?? '',
          onlyLocal: svc.spec.externalTrafficPolicy === 'Local',
          affinitySeconds: svc.spec.sessionAffinity === 'ClientIP' ? (svc.spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_SECONDS) : 0,
        });
      }
    }
    return out;
  }

  private reconcile(): void {
    if (this.stopped) return;
    const want = this.desired();
    for (const [port, l] of this.listeners) {
      const target = want.get(port);
      // One that failed to open is gone from the map already (and is tried again below).
      if (!target || !sameTarget(target, l.target)) this.close(port);
      else l.target = target;
    }
    for (const [port, target] of want) if (!this.listeners.has(port)) this.open(port, target);
  }

  private open(port: number, target: Target): void {
    const server = net.createServer((client) => this.relay(port, client));
    const listener: Listener = { target, server, listening: false };
    this.listeners.set(port, listener);
    server.on('error', (err: NodeJS.ErrnoException) => {
      // Held by another process (another agent on this host): closed here, tried again later.
      const level = err.code === 'EADDRINUSE' ? 'debug' : 'warn';
      this.o.log[level]('node port not opened', { port, service: `${target.namespace}/${target.name}`, error: errorMessage(err) });
      if (this.listeners.get(port) === listener) this.listeners.delete(port);
      server.close();
    });
    server.listen({ host: this.o.address, port }, () => {
      listener.listening = true;
      this.countOpen();
      this.o.log.info('node port open', { port, service: `${target.namespace}/${target.name}`, address: this.o.address });
    });
  }

  private close(port: number): void {
    const l = this.listeners.get(port);
    if (!l) return;
    this.listeners.delete(port);
    // Connections already relayed go on; only new ones stop.
    l.server.close();
    this.countOpen();
  }

  private countOpen(): void {
    this.o.metrics?.nodePortsOpen.set(this.openPorts().length);
  }

  /** The ready endpoints of a Service port. */
  private backends(t: Target): Backend[] {
    const ep = this.endpoints.get(t.namespace, t.name);
    const out: Backend[] = [];
    for (const s of ep?.subsets ?? []) {
      const port = (s.ports ?? []).find((p) => (p.name ?? '') === t.portName);
      if (!port) continue;
      for (const a of s.addresses ?? []) if (!t.onlyLocal || a.nodeName === this.o.nodeName) out.push({ ip: a.ip, port: port.port });
    }
    return out;
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
    const start = (this.turns.get(key) ?? 0) % backends.length;
    this.turns.set(key, start + 1);
    return [...backends.slice(start), ...backends.slice(0, start)];
  }

  private relay(port: number, client: net.Socket): void {
    const l = this.listeners.get(port);
    this.track(client);
    client.on('error', () => client.destroy());
    if (!l) return void client.destroy();
    const t = l.target;
    const backends = this.backends(t);
    if (backends.length === 0) {
      this.o.metrics?.nodePortConnections.inc({ result: 'no_endpoint' });
      return void client.destroy();
    }
    client.pause();
    const clientIP = client.remoteAddress ?? '';
    const candidates = this.order(t, clientIP, backends);
    const attempt = (i: number): void => {
      const b = candidates[i];
      if (!b || client.destroyed) {
        if (!b) this.o.metrics?.nodePortConnections.inc({ result: 'failed' });
        return void client.destroy();
      }
      const upstream = net.connect({ host: b.ip, port: b.port });
      this.track(upstream);
      const timer = setTimeout(() => upstream.destroy(new Error('connect timeout')), CONNECT_TIMEOUT_MS);
      let connected = false;
      upstream.on('error', () => {
        clearTimeout(timer);
        // Refused or unreachable before connecting: the next endpoint; a relayed one ends the client's too.
        if (!connected) attempt(i + 1);
        else client.destroy();
      });
      upstream.once('connect', () => {
        connected = true;
        clearTimeout(timer);
        this.o.metrics?.nodePortConnections.inc({ result: 'relayed' });
        if (t.affinitySeconds > 0) this.affinity.set(`${t.namespace}/${t.name}:${t.portName}|${clientIP}`, { backend: b, until: Date.now() + t.affinitySeconds * 1000 });
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
      });
    };
    attempt(0);
  }

  private track(s: net.Socket): void {
    this.sockets.add(s);
    s.once('close', () => this.sockets.delete(s));
  }
}
