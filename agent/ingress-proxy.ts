// Ingresses, as an ingress controller running on every node serves them: the agent listens on its
// --ingress-address and sends each HTTP request to the Service its Ingresses route it to — by the
// request's Host and path — and on to one of that Service's ready endpoints, in turn (the next one
// when an endpoint refuses). WebSocket and other upgrades are relayed as they are.
//
// Which Ingresses: those whose IngressClass's controller is cell's (CELL_INGRESS_CONTROLLER), and
// those without a class while cell's class is the default. Which rule: the request's host matched
// exactly first, then by a wildcard (`*.example.com`: one label), then rules for any host; within
// the first of those that has a matching path, the longest path wins, Exact before Prefix, then
// the oldest Ingress. Prefix (and ImplementationSpecific) match whole `/`-separated elements. No
// rule: the oldest default backend; none: 404. With an HTTPS address as well, TLS is terminated
// there with the certificate the Ingresses' `spec.tls` names for the host the client asked for
// (ingress-certificates.ts), and requests are routed as on the HTTP address.
//
// Agents sharing a host (a local cluster) share the addresses: one holds each, the others try
// again every `retryMs`, as service-proxy.ts does with node ports.
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import type { HTTPIngressPath, Ingress, IngressBackend, IngressClass } from '../shared/api/networking.js';
import { servedByCell } from '../shared/api/networking.js';
import type { Endpoints, Service } from '../shared/api/service.js';
import type { Informer } from '../shared/client/informer.js';
import { errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logging.js';
import type { IngressCertificates } from './ingress-certificates.js';
import type { AgentMetrics } from './metrics.js';
import { connectFirst, readyBackends, Turns } from './service-backends.js';

/** Headers that describe one hop, not the request: never passed on (RFC 9110 §7.6.1). */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade'];

export interface IngressProxyOptions {
  ingresses: Informer<Ingress>;
  classes: Informer<IngressClass>;
  services: Informer<Service>;
  endpoints: Informer<Endpoints>;
  /** Where to serve HTTP. */
  http?: { host: string; port: number };
  /** Where to serve HTTPS, and the certificates to terminate TLS with. */
  https?: { host: string; port: number; certificates: IngressCertificates };
  metrics?: Pick<AgentMetrics, 'ingressRequests'>;
  log: Logger;
  retryMs?: number;
}

/** Where a request goes: the Service (in the Ingress's namespace) and which of its ports. */
export interface Route {
  namespace: string;
  ingress: string;
  backend: IngressBackend;
}

/** Does a Prefix path match, element by element (`/foo` matches `/foo`, `/foo/` and `/foo/bar`, not `/foobar`)? */
function prefixMatches(prefix: string, path: string): boolean {
  const want = prefix.split('/').filter(Boolean);
  const have = path.split('/').filter(Boolean);
  return want.length <= have.length && want.every((e, i) => e === have[i]);
}

function pathMatches(p: HTTPIngressPath, path: string): boolean {
  const rule = p.path ?? '/';
  return p.pathType === 'Exact' ? rule === path : prefixMatches(rule, path);
}

/** How well a rule's host fits the request's: 2 exactly, 1 by wildcard, 0 any host, -1 not at all. */
function hostFit(ruleHost: string | undefined, host: string): number {
  if (!ruleHost) return 0;
  if (ruleHost === host) return 2;
  if (ruleHost.startsWith('*.')) {
    const dot = host.indexOf('.');
    return dot > 0 && host.slice(dot + 1) === ruleHost.slice(2) ? 1 : -1;
  }
  return -1;
}

function olderFirst(a: Ingress, b: Ingress): number {
  return (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') || `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`);
}

/** The route of a request to `host` (no port) and `path` (no query) through `ingresses`, if any. */
export function routeRequest(ingresses: readonly Ingress[], host: string, path: string): Route | undefined {
  const sorted = [...ingresses].sort(olderFirst);
  let best: { fit: number; length: number; exact: boolean; route: Route } | undefined;
  for (const ing of sorted) {
    for (const rule of ing.spec.rules ?? []) {
      const fit = hostFit(rule.host, host);
      if (fit < 0) continue;
      for (const p of rule.http?.paths ?? []) {
        if (!pathMatches(p, path)) continue;
        const candidate = { fit, length: (p.path ?? '/').length, exact: p.pathType === 'Exact', route: { namespace: ing.metadata.namespace ?? '', ingress: ing.metadata.name ?? '', backend: p.backend } };
        // Strictly better only: among equals, the older Ingress (seen first) keeps it.
        const better = !best || fit > best.fit || (fit === best.fit && (candidate.length > best.length || (candidate.length === best.length && candidate.exact && !best.exact)));
        if (better) best = candidate;
      }
    }
  }
  if (best) return best.route;
  const fallback = sorted.find((ing) => ing.spec.defaultBackend);
  return fallback ? { namespace: fallback.metadata.namespace ?? '', ingress: fallback.metadata.name ?? '', backend: fallback.spec.defaultBackend! } : undefined;
}

/** One address served: HTTP or HTTPS. */
interface Listener {
  proto: 'http' | 'https';
  host: string;
  port: number;
  server: http.Server | undefined;
  listening: boolean;
}

export class IngressProxy {
  private readonly listeners: Listener[] = [];
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly turns = new Turns();
  private readonly sockets = new Set<net.Socket>();

  constructor(private readonly o: IngressProxyOptions) {
    if (o.http) this.listeners.push({ proto: 'http', ...o.http, server: undefined, listening: false });
    if (o.https) this.listeners.push({ proto: 'https', host: o.https.host, port: o.https.port, server: undefined, listening: false });
  }

  start(): void {
    this.o.https?.certificates.start();
    for (const l of this.listeners) this.listen(l);
    // Held by another agent on this host: tried again until this one gets it.
    this.timer = setInterval(() => {
      for (const l of this.listeners) if (!l.server) this.listen(l);
    }, this.o.retryMs ?? 10_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.o.https?.certificates.stop();
    for (const s of this.sockets) s.destroy();
    await Promise.all(
      this.listeners.map((l) => {
        const server = l.server;
        l.server = undefined;
        return server ? new Promise<void>((resolve) => server.close(() => resolve())) : undefined;
      }),
    );
  }

  /** Is this agent the one holding the HTTP address (or, without one, the HTTPS address)? */
  isListening(): boolean {
    return this.listeners[0]?.listening ?? false;
  }

  /** The Ingresses this proxy serves (servedByCell). */
  served(): Ingress[] {
    return servedByCell(this.o.ingresses.list(), this.o.classes.list());
  }

  private listen(l: Listener): void {
    if (this.stopped) return;
    // A request that breaks something here is dropped and logged, never the agent.
    const failed = (err: unknown, end: () => void) => {
      this.o.log.warn('ingress request failed', { error: errorMessage(err) });
      end();
    };
    const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => this.handle(req, res, l.proto).catch((err: unknown) => failed(err, () => res.destroy()));
    const certificates = this.o.https?.certificates;
    const server: http.Server =
      l.proto === 'https' && certificates
        ? https.createServer({ cert: certificates.fallback.certPem, key: certificates.fallback.keyPem, SNICallback: (name, done) => done(null, certificates.contextFor(name)) }, onRequest)
        : http.createServer(onRequest);
    server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => this.upgrade(req, socket, head, l.proto).catch((err: unknown) => failed(err, () => socket.destroy())));
    server.on('connection', (s: net.Socket) => this.track(s));
    // A client that fails its handshake (a wrong certificate, plain HTTP on the HTTPS port) is its own problem.
    server.on('tlsClientError', (err: Error, s: net.Socket) => {
      this.o.log.debug('ingress TLS handshake failed', { error: errorMessage(err) });
      s.destroy();
    });
    const address = `${l.host}:${l.port}`;
    server.on('error', (err: NodeJS.ErrnoException) => {
      const level = err.code === 'EADDRINUSE' ? 'debug' : 'warn';
      this.o.log[level]('ingress address not opened', { address, proto: l.proto, error: errorMessage(err) });
      if (l.server === server) l.server = undefined;
      l.listening = false;
      server.close();
    });
    l.server = server;
    server.listen({ host: l.host, port: l.port }, () => {
      l.listening = true;
      this.o.log.info('ingress address open', { address, proto: l.proto });
    });
  }

  private track(s: net.Socket): void {
    this.sockets.add(s);
    s.once('close', () => this.sockets.delete(s));
  }

  /** The route's Service port, as the name its Endpoints use, or why there is none. */
  private servicePort(route: Route): { service: Service; portName: string } | string {
    const ref = route.backend.service;
    if (!ref) return `the backend of ingress ${route.namespace}/${route.ingress} is not a Service`;
    const service = this.o.services.get(route.namespace, ref.name);
    if (!service) return `service ${route.namespace}/${ref.name} not found`;
    const port = (service.spec.ports ?? []).find((p) => (ref.port.number !== undefined ? p.port === ref.port.number : p.name === ref.port.name));
    if (!port) return `service ${route.namespace}/${ref.name} has no port ${ref.port.number ?? ref.port.name ?? ''}`;
    return { service, portName: port.name ?? '' };
  }

  /** Routes a request to a connected endpoint, or answers it (404, 503, 502) and returns undefined. */
  private async connect(req: http.IncomingMessage, reply: (status: number, text: string) => void): Promise<net.Socket | undefined> {
    const host = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
    const path = (req.url ?? '/').split('?')[0]!;
    const route = routeRequest(this.served(), host, path);
    if (!route) {
      this.o.metrics?.ingressRequests.inc({ result: 'no_route' });
      return void reply(404, 'default backend - 404\n');
    }
    const target = this.servicePort(route);
    const backends = typeof target === 'string' ? [] : readyBackends(this.o.endpoints.get(route.namespace, target.service.metadata.name ?? ''), target.portName);
    if (typeof target === 'string' || backends.length === 0) {
      this.o.metrics?.ingressRequests.inc({ result: 'no_endpoint' });
      return void reply(503, `${typeof target === 'string' ? target : `no ready endpoint for service ${route.namespace}/${target.service.metadata.name ?? ''}`}\n`);
    }
    const key = `${route.namespace}/${target.service.metadata.name ?? ''}:${target.portName}`;
    const got = await connectFirst(this.turns.order(key, backends), (s) => this.track(s));
    if (!got) {
      this.o.metrics?.ingressRequests.inc({ result: 'failed' });
      return void reply(502, `no endpoint of service ${key} accepted a connection\n`);
    }
    this.o.metrics?.ingressRequests.inc({ result: 'proxied' });
    return got.socket;
  }

  /** The request's headers for the endpoint: hop-by-hop ones dropped, X-Forwarded-* added. */
  private forwardedHeaders(req: http.IncomingMessage, proto: Listener['proto']): http.OutgoingHttpHeaders {
    const headers: http.OutgoingHttpHeaders = { ...req.headers };
    const named = String(req.headers.connection ?? '').split(',').map((h) => h.trim().toLowerCase()).filter(Boolean);
    for (const h of [...HOP_BY_HOP, ...named]) delete headers[h];
    const client = req.socket.remoteAddress ?? '';
    const prior = req.headers['x-forwarded-for'];
    headers['x-forwarded-for'] = prior ? `${String(prior)}, ${client}` : client;
    headers['x-forwarded-host'] = req.headers.host ?? '';
    headers['x-forwarded-proto'] = proto;
    return headers;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse, proto: Listener['proto']): Promise<void> {
    const reply = (status: number, text: string) => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(text);
    };
    req.pause();
    const socket = await this.connect(req, reply);
    if (!socket) return;
    if (req.destroyed) return void socket.destroy();
    const upstream = http.request({ method: req.method, path: req.url, headers: this.forwardedHeaders(req, proto), createConnection: () => socket });
    upstream.on('response', (r) => {
      const headers = { ...r.headers };
      for (const h of HOP_BY_HOP) if (h !== 'transfer-encoding') delete headers[h];
      res.writeHead(r.statusCode ?? 502, r.statusMessage, headers);
      r.pipe(res);
    });
    upstream.on('error', (err) => {
      if (!res.headersSent) reply(502, `the endpoint failed: ${errorMessage(err)}\n`);
      else res.destroy();
    });
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
    req.resume();
  }

  private async upgrade(req: http.IncomingMessage, client: net.Socket, head: Buffer, proto: Listener['proto']): Promise<void> {
    client.on('error', () => client.destroy());
    const reply = (status: number, text: string) => {
      client.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`);
    };
    const upstream = await this.connect(req, reply);
    if (!upstream) return;
    if (client.destroyed) return void upstream.destroy();
    // The upgrade request as it came (its Connection and Upgrade headers are the point), with X-Forwarded-*.
    const forwarded = this.forwardedHeaders(req, proto);
    const lines = [`${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/1.1`];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      if (!/^x-forwarded-/i.test(req.rawHeaders[i]!)) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
    }
    for (const h of ['x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto']) lines.push(`${h}: ${String(forwarded[h])}`);
    upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (head.length > 0) upstream.write(head);
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    upstream.pipe(client);
    client.pipe(upstream);
  }
}
