// UDP through one Service port (service-proxy.ts opens one relay per UDP node port or cluster IP
// port), as kube-proxy's userspace mode relays it: each client (address and port) is a flow with
// a socket of its own connected to one endpoint, chosen when the flow's first datagram comes;
// the client's datagrams go to that endpoint, and its replies back to the client from the
// Service's address. A flow ends after `idleMs` without a datagram either way, or when its
// endpoint refuses (ICMP port unreachable): the client's next datagram starts a new flow with the
// next endpoint in turn.
import dgram from 'node:dgram';
import net from 'node:net';
import { errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logging.js';
import type { Backend } from './service-backends.js';

/** How long a quiet flow is kept (conntrack keeps an answered UDP flow 120 s, kube-proxy's userspace mode far less). */
const DEFAULT_IDLE_MS = 30_000;
/** Flows (each a socket) one relay keeps at most: datagrams from further clients are dropped until some end. */
const DEFAULT_MAX_FLOWS = 4_096;

export interface UdpRelayOptions {
  host: string;
  port: number;
  /** The endpoints for a new flow from `clientIP`, the one to use first; empty: none ready. */
  choose(clientIP: string): Backend[];
  /** A flow began with `backend` (for affinity and metrics), or none could (no endpoint). */
  flowStarted(clientIP: string, backend: Backend | undefined): void;
  log: Logger;
  idleMs?: number;
  maxFlows?: number;
}

interface Flow {
  upstream: dgram.Socket;
  backend: Backend;
  /** Datagrams that came before the upstream socket was connected. */
  queued: Buffer[] | undefined;
  idle: NodeJS.Timeout;
}

export class UdpRelay {
  private readonly socket: dgram.Socket;
  private readonly flows = new Map<string, Flow>();
  private closed = false;

  constructor(private readonly o: UdpRelayOptions) {
    this.socket = dgram.createSocket(net.isIPv6(o.host) ? 'udp6' : 'udp4');
    this.socket.on('message', (msg, from) => this.received(msg, from));
  }

  /** Binds the Service's address; `failed` hears why it could not be (another agent holds it). */
  open(listening: () => void, failed: (err: NodeJS.ErrnoException) => void): void {
    this.socket.once('error', failed);
    this.socket.bind({ address: this.o.host, port: this.o.port, exclusive: true }, () => {
      this.socket.off('error', failed);
      // After binding, a socket error is one datagram's (a reply to a client gone), never the agent's.
      this.socket.on('error', (err) => this.o.log.debug('udp relay error', { address: `${this.o.host}:${this.o.port}`, error: errorMessage(err) }));
      listening();
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const key of [...this.flows.keys()]) this.end(key);
    this.socket.close();
  }

  /** Flows open now, for tests. */
  get flowCount(): number {
    return this.flows.size;
  }

  private received(msg: Buffer, from: dgram.RemoteInfo): void {
    if (this.closed) return;
    const key = `${from.address}|${from.port}`;
    let flow = this.flows.get(key);
    if (!flow) {
      flow = this.startFlow(key, from);
      if (!flow) return;
    }
    flow.idle.refresh();
    if (flow.queued) flow.queued.push(msg);
    else flow.upstream.send(msg);
  }

  private startFlow(key: string, from: dgram.RemoteInfo): Flow | undefined {
    // A client sending from ever new ports must not exhaust the agent's file descriptors.
    if (this.flows.size >= (this.o.maxFlows ?? DEFAULT_MAX_FLOWS)) {
      this.o.log.debug('udp datagram dropped: too many flows', { address: `${this.o.host}:${this.o.port}`, flows: this.flows.size });
      return undefined;
    }
    const backend = this.o.choose(from.address)[0];
    this.o.flowStarted(from.address, backend);
    if (!backend) return undefined;
    const upstream = dgram.createSocket(net.isIPv6(backend.ip) ? 'udp6' : 'udp4');
    const idle = setTimeout(() => this.end(key), this.o.idleMs ?? DEFAULT_IDLE_MS);
    idle.unref();
    const flow: Flow = { upstream, backend, queued: [], idle };
    this.flows.set(key, flow);
    upstream.on('message', (reply) => {
      flow.idle.refresh();
      this.socket.send(reply, from.port, from.address);
    });
    // ECONNREFUSED (nothing listens there any more) and the like end the flow; the next datagram picks again.
    upstream.on('error', (err) => {
      this.o.log.debug('udp flow ended by its endpoint', { endpoint: `${backend.ip}:${backend.port}`, error: errorMessage(err) });
      this.end(key);
    });
    upstream.connect(backend.port, backend.ip, () => {
      const queued = flow.queued ?? [];
      flow.queued = undefined;
      for (const m of queued) upstream.send(m);
    });
    return flow;
  }

  private end(key: string): void {
    const flow = this.flows.get(key);
    if (!flow) return;
    this.flows.delete(key);
    clearTimeout(flow.idle);
    flow.upstream.close();
  }
}
