// kubectl port-forward on the node: the agent end of `pods/{name}/portforward`. The API server
// forwards the client's upgrade here (apiserver/controllers/pod-port-forward-proxy.ts) as
// GET /portForward/{namespace}/{pod}?podUID=…, signed with the cluster's key.
//
// The client speaks Kubernetes' port-forward protocol over SPDY/3.1 (spdy/session.ts), carried
// either by the connection itself (`Upgrade: SPDY/3.1`) or, as kubectl 1.31 and later do first,
// inside the binary messages of a WebSocket (subprotocol `SPDY/3.1+portforward.k8s.io`). For each
// connection made to its local port, the client opens two streams sharing a `requestID` header: an
// error stream and a data stream, both naming the pod's `port`. The agent connects to that port
// and joins the connection to the data stream; a failure is written as text on the error stream.
//
// The official Python client speaks the older WebSocket channel protocol instead
// (port-forward-channels.ts), which this endpoint serves too.
//
// A pod's containers are host processes here, sharing the node's network, so the pod's port is the
// node's: the agent connects to it on localhost, as a kubelet does inside the pod's network.
import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../shared/logging.js';
import type { ApiServerSignatures } from './api-server-auth.js';
import { EndpointRequestError, keepAlive, refuseFailedUpgrade } from './endpoint-request.js';
import type { AgentMetrics } from './metrics.js';
import { CHANNEL_PROTOCOL, channelPorts, serveChannels } from './port-forward-channels.js';
import { SpdySession, type SpdyStream, type SpdyTransport } from './spdy/session.js';

/** The port-forward protocol, as the SPDY upgrade names it. */
export const PORT_FORWARD_PROTOCOL = 'portforward.k8s.io';
/** The WebSocket subprotocol of SPDY tunnelled in WebSocket messages. */
export const PORT_FORWARD_WEBSOCKET_PROTOCOL = `SPDY/3.1+${PORT_FORWARD_PROTOCOL}`;

/** Output queued to a slow client before the pod's connections are paused. */
const HIGH_WATER_BYTES = 1024 * 1024;
/** Streams open on one connection at most: two per forwarded connection. */
const MAX_STREAMS = 2 * 1024;
/** How long the second stream of a pair may take to follow the first. */
const PAIR_TIMEOUT_MS = 30_000;

/** WebSocket upgrades that asked for SPDY tunnelling (see the constructor). */
const tunnelling = new WeakSet<http.IncomingMessage>();

/** Where a port-forward to this pod goes: only a pod this agent runs has one. */
export type PortForwardLookup = { ok: true; uid: string } | { ok: false; notFound: boolean; message: string };

export interface PortForwardTargets {
  portForwardTarget(namespace: string, pod: string, podUID: string | undefined): PortForwardLookup;
}

interface PortForwardRequest {
  namespace: string;
  pod: string;
  uid: string;
  user: string;
  /** How the client speaks: SPDY (on the connection or in a WebSocket), or WebSocket channels for these ports. */
  mode: { kind: 'spdy' } | { kind: 'channels'; ports: number[] };
}

export class PortForwardEndpoint {
  private readonly wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: 16 * 1024 * 1024 + 8,
    handleProtocols: (offered) => (offered.has(CHANNEL_PROTOCOL) ? CHANNEL_PROTOCOL : false),
  });
  private readonly sessions = new Set<SpdySession>();
  /** Channel-protocol clients, which have no SPDY session to close; the server does not end them. */
  private readonly channelSockets = new Set<WebSocket>();

  constructor(
    private readonly d: {
      targets: PortForwardTargets;
      signatures: ApiServerSignatures;
      /** How often each client is pinged; one unanswered ping drops it (--exec-keepalive). */
      keepaliveMs: number;
      metrics: AgentMetrics;
      log: Logger;
    },
  ) {
    // The subprotocol's name holds a '/', which RFC 6455 does not allow in one and the WebSocket
    // library therefore refuses to parse: admit() has checked the client offers it, and it is
    // taken off the request and put back on the answer here.
    this.wss.on('headers', (headers: string[], req: http.IncomingMessage) => {
      if (tunnelling.has(req)) headers.push(`Sec-WebSocket-Protocol: ${PORT_FORWARD_WEBSOCKET_PROTOCOL}`);
    });
  }

  /** Serves one upgrade request for /portForward/…; answers a Status for anything it refuses. */
  async handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    if (socket instanceof net.Socket) socket.setNoDelay(true);
    let request: PortForwardRequest;
    try {
      request = await this.admit(req);
    } catch (err) {
      refuseFailedUpgrade(socket, err, 'port-forward', this.d.log, req.url);
      return;
    }
    const mode = request.mode;
    if (mode.kind === 'channels') {
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        this.d.metrics.portForwardSessions.inc();
        this.d.log.info('port-forward to a pod', { user: request.user, pod: `${request.namespace}/${request.pod}`, ports: mode.ports });
        keepAlive(ws, this.d.keepaliveMs);
        this.channelSockets.add(ws);
        ws.once('close', () => this.channelSockets.delete(ws));
        serveChannels(ws, mode.ports, { describe: `${request.namespace}/${request.pod}, uid ${request.uid}`, log: this.d.log, onGone: () => this.d.metrics.portForwardSessions.dec() });
      });
      return;
    }
    if ((req.headers.upgrade ?? '').toLowerCase() === 'websocket') {
      tunnelling.add(req);
      delete req.headers['sec-websocket-protocol'];
      this.wss.handleUpgrade(req, socket, head, (ws) => this.serve(request, webSocketTransport(ws, this.d.keepaliveMs)));
      return;
    }
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${PORT_FORWARD_PROTOCOL}\r\n\r\n`);
    const transport = socketTransport(socket, this.d.keepaliveMs);
    const session = this.serve(request, transport);
    if (head.length > 0) session.receive(head);
  }

  /** Drops every connection (the agent is stopping). */
  stop(): void {
    for (const s of this.sessions) s.close();
    for (const ws of this.channelSockets) ws.terminate();
    this.wss.close();
  }

  private serve(r: PortForwardRequest, t: SessionTransport): SpdySession {
    const log = this.d.log;
    const pairs = new Map<string, StreamPair>();
    const session: SpdySession = new SpdySession(t, {
      maxStreams: MAX_STREAMS,
      log,
      onStream: (stream) => {
        const request = pairOf(stream);
        if ('invalid' in request) {
          log.debug('port-forward stream refused', { pod: `${r.namespace}/${r.pod}`, reason: request.invalid });
          stream.destroy();
          return;
        }
        stream.reply();
        // The client sends nothing on an error stream but its FIN, read so the stream can finish.
        if (request.type === 'error') stream.resume();
        let pair = pairs.get(request.id);
        if (!pair) {
          pair = new StreamPair(request.port, () => pairs.delete(request.id));
          pairs.set(request.id, pair);
        }
        if (!pair.add(request.type, stream)) return;
        this.forward(r, pair);
      },
    });
    this.sessions.add(session);
    this.d.metrics.portForwardSessions.inc();
    log.info('port-forward to a pod', { user: r.user, pod: `${r.namespace}/${r.pod}` });
    t.start(session, () => {
      this.sessions.delete(session);
      this.d.metrics.portForwardSessions.dec();
      for (const p of pairs.values()) p.close();
      session.close();
    });
    return session;
  }

  /**
   * Joins a connection to the pod's port with the pair's data stream. As a kubelet's, the forwarded
   * connection ends when either side ends: the pod's EOF finishes both streams, which is how the
   * client learns it is over; the client's FIN is passed on and the connection closed.
   */
  private forward(r: PortForwardRequest, pair: StreamPair): void {
    const { data, error } = pair.streams();
    // No Nagle delay: an interactive protocol's small writes go at once, as the client's do.
    const conn = net.connect({ host: 'localhost', port: pair.port, allowHalfOpen: true, autoSelectFamily: true, noDelay: true });
    pair.conn = conn;
    conn.once('connect', () => {
      conn.pipe(data, { end: false });
      data.pipe(conn, { end: false });
      conn.once('end', () => pair.close());
      data.once('end', () => pair.close());
    });
    conn.once('error', (err) => {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'ECONNREFUSED' ? `failed to connect to localhost:${pair.port}: connection refused` : err.message;
      // kubectl prints this, then stops forwarding (its connection to the pod is reported lost).
      if (!pair.isClosed) error.write(`error forwarding port ${pair.port} to pod ${r.namespace}/${r.pod}, uid ${r.uid}: ${why}`);
      pair.close();
    });
  }

  private async admit(req: http.IncomingMessage): Promise<PortForwardRequest> {
    const raw = req.url ?? '/';
    const url = new URL(raw, 'http://agent');
    const { namespace, pod } = podPath(url.pathname);
    // The signature first: nothing about the pods here is told to an unsigned caller.
    const { user } = await this.d.signatures.verify(req, raw);
    const upgrade = (req.headers.upgrade ?? '').toLowerCase();
    let mode: PortForwardRequest['mode'] = { kind: 'spdy' };
    if (upgrade === 'websocket') {
      const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
      if (!offered.includes(PORT_FORWARD_WEBSOCKET_PROTOCOL)) {
        if (!offered.includes(CHANNEL_PROTOCOL)) throw new EndpointRequestError(400, `port-forward over a WebSocket needs the subprotocol ${PORT_FORWARD_WEBSOCKET_PROTOCOL} or ${CHANNEL_PROTOCOL}`);
        mode = { kind: 'channels', ports: channelPorts(url.searchParams) };
      }
    } else if (upgrade === 'spdy/3.1') {
      const versions = headerValues(req.headers['x-stream-protocol-version']);
      if (versions.length > 0 && !versions.includes(PORT_FORWARD_PROTOCOL)) throw new EndpointRequestError(400, `the client offers none of the stream protocols this node speaks (${PORT_FORWARD_PROTOCOL})`);
    } else {
      throw new EndpointRequestError(400, 'port-forward needs an upgrade to SPDY/3.1 or a WebSocket');
    }
    const found = this.d.targets.portForwardTarget(namespace, pod, url.searchParams.get('podUID') ?? undefined);
    if (!found.ok) throw new EndpointRequestError(found.notFound ? 404 : 400, found.message);
    return { namespace, pod, uid: found.uid, user, mode };
  }
}

/** The two streams of one forwarded connection, matched by their request id. */
class StreamPair {
  private error: SpdyStream | undefined;
  private data: SpdyStream | undefined;
  conn: net.Socket | undefined;
  private readonly timer: NodeJS.Timeout;
  private closed = false;

  constructor(
    readonly port: number,
    private readonly onClose: () => void,
  ) {
    // A client that opens one stream of a pair and never the other holds nothing for long.
    this.timer = setTimeout(() => this.close(), PAIR_TIMEOUT_MS);
    this.timer.unref();
  }

  /** Adds a stream; true when that completed the pair. */
  add(type: 'error' | 'data', stream: SpdyStream): boolean {
    if (this.closed || (type === 'error' ? this.error : this.data)) {
      stream.destroy();
      return false;
    }
    if (type === 'error') this.error = stream;
    else this.data = stream;
    // The client closing either stream before the end (a reset) ends the forwarded connection.
    stream.once('close', () => {
      if (!stream.remoteEnded || stream.errored) this.close();
    });
    if (!this.error || !this.data) return false;
    clearTimeout(this.timer);
    return true;
  }

  streams(): { error: SpdyStream; data: SpdyStream } {
    return { error: this.error!, data: this.data! };
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * The forwarded connection is over: both streams finish (FIN) after what is queued on them, and
   * the pod's connection is ended after what is queued on it.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    this.onClose();
    const conn = this.conn;
    if (conn && !conn.destroyed) {
      conn.end();
      conn.once('finish', () => conn.destroy());
    }
    for (const s of [this.error, this.data]) {
      if (!s || s.destroyed) continue;
      s.end();
      // Whatever the client still sends is not read; the stream goes once the client finishes too.
      s.unpipe();
      s.resume();
    }
  }
}

/** A stream's request: which pair it belongs to, which half it is, which port. */
function pairOf(stream: SpdyStream): { id: string; type: 'error' | 'data'; port: number } | { invalid: string } {
  const type = stream.headers.get('streamtype');
  if (type !== 'error' && type !== 'data') return { invalid: `stream type ${String(type).slice(0, 20)}` };
  const portText = stream.headers.get('port') ?? '';
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText) || port < 1 || port > 65535) return { invalid: `port ${portText.slice(0, 20)}` };
  // Clients before the requestID header sent the error stream, then the data stream, in turn.
  const id = stream.headers.get('requestid') ?? String(type === 'error' ? stream.id : stream.id - 2);
  return { id, type, port };
}

/** `/portForward/{namespace}/{pod}` → its names; 400 for a bad escape, 404 for another shape. */
function podPath(pathname: string): { namespace: string; pod: string } {
  let segs: string[];
  try {
    segs = pathname.split('/').slice(1).map((s) => decodeURIComponent(s));
  } catch {
    throw new EndpointRequestError(400, `malformed path ${pathname.slice(0, 200)}`);
  }
  if (segs.length !== 3 || segs[0] !== 'portForward' || segs.some((s) => s === '')) throw new EndpointRequestError(404, `no such path ${pathname.slice(0, 200)}`);
  return { namespace: segs[1]!, pod: segs[2]! };
}

function headerValues(h: string | string[] | undefined): string[] {
  return (Array.isArray(h) ? h : h === undefined ? [] : [h]).flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
}

/** A SpdyTransport that also starts feeding its session and says when the connection is gone. */
interface SessionTransport extends SpdyTransport {
  start(session: SpdySession, onGone: () => void): void;
}

/** SPDY in the binary messages of a WebSocket; pinged so a vanished client is noticed. */
function webSocketTransport(ws: WebSocket, keepaliveMs: number): SessionTransport {
  let queued = 0;
  const waiting: ((err?: Error | null) => void)[] = [];
  const release = () => waiting.splice(0).forEach((w) => w());
  return {
    send(bytes, done) {
      if (ws.readyState !== ws.OPEN) return done(new Error('the WebSocket is closed'));
      queued += bytes.length;
      ws.send(bytes, { binary: true }, (err) => {
        queued -= bytes.length;
        if (err) return done(err);
        // A writer waits while more than HIGH_WATER_BYTES are queued to the client, until a
        // quarter of that is left.
        if (queued > HIGH_WATER_BYTES) waiting.push(done);
        else done();
        if (queued <= HIGH_WATER_BYTES / 4) release();
      });
    },
    pause: () => ws.pause(),
    resume: () => ws.resume(),
    close: () => ws.close(1000),
    start(session, onGone) {
      keepAlive(ws, keepaliveMs);
      ws.on('message', (data: Buffer) => session.receive(data));
      ws.on('error', () => ws.terminate());
      ws.once('close', () => {
        release();
        onGone();
      });
    },
  };
}

/** SPDY on the upgraded connection itself; SPDY pings keep it checked. */
function socketTransport(socket: Duplex, keepaliveMs: number): SessionTransport {
  return {
    send(bytes, done) {
      if (socket.destroyed) return done(new Error('the connection is closed'));
      if (socket.write(bytes)) done();
      else socket.once('drain', () => done());
    },
    pause: () => socket.pause(),
    resume: () => socket.resume(),
    close: () => socket.end(),
    start(session, onGone) {
      const keepalive = setInterval(() => {
        if (!session.ping()) socket.destroy();
      }, keepaliveMs);
      socket.on('data', (chunk: Buffer) => session.receive(chunk));
      socket.once('close', () => {
        clearInterval(keepalive);
        onGone();
      });
      socket.once('end', () => socket.end());
    },
  };
}
