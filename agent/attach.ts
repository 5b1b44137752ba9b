// kubectl attach (and kubectl run -i) on the node: the agent end of `pods/{name}/attach`. The API
// server forwards the client's WebSocket upgrade here as
// GET /attach/{namespace}/{pod}/{container}?stdin=…&stdout=…&stderr=…&tty=…&podUID=…, signed with
// the cluster's key, and the client speaks the channel protocol exec does (exec.ts).
//
// What the container writes from now on goes to the client as it reaches the container's log (its
// stdout and stderr share that file, so both come on stdout); what the client sends on stdin goes
// to the container's stdin FIFO (runtime.ts), for a container with `stdin: true`. With
// `stdinOnce`, the container reads EOF once this client is done with stdin (a v5 close, or the
// connection gone). A container with `tty: true` takes the client's terminal size, as exec does. The session ends when the container does, with a Success status, as kubectl
// expects before it reads the pod's exit code.
import { statSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { Writable } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logging.js';
import type { ApiServerSignatures } from './api-server-auth.js';
import { boolQuery, EndpointRequestError, keepAlive, refuseFailedUpgrade } from './endpoint-request.js';
import { admitChannelUpgrade, EXEC_PROTOCOLS, STREAM } from './exec.js';
import type { LogFiles } from './logs.js';
import type { AttachLookup } from './pod-worker.js';
import { applyTerminalSize, parseTerminalSize } from './terminal-size.js';

export interface AttachTargets {
  attachTarget(namespace: string, pod: string, container: string, podUID: string | undefined): AttachLookup;
}

/** Output queued to a slow client before following the log pauses. */
const HIGH_WATER_BYTES = 1024 * 1024;

interface AttachRequest {
  namespace: string;
  pod: string;
  container: string;
  stdin: boolean;
  output: boolean;
  user: string;
}

function logSize(file: string): number {
  try {
    return statSync(file).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
}

export class AttachEndpoint {
  private readonly wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: 4 * 1024 * 1024,
    handleProtocols: (offered) => EXEC_PROTOCOLS.find((p) => offered.has(p)) ?? false,
  });
  private readonly sessions = new Set<WebSocket>();

  constructor(
    private readonly d: {
      targets: AttachTargets;
      signatures: ApiServerSignatures;
      logs: LogFiles;
      /** How often each client is pinged (--exec-keepalive). */
      keepaliveMs: number;
      log: Logger;
    },
  ) {}

  /** Serves one upgrade request for /attach/…; answers a Status for anything it refuses. */
  async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    let request: AttachRequest;
    let target: Extract<AttachLookup, { ok: true }>;
    try {
      ({ request, target } = await this.admit(req));
    } catch (err) {
      refuseFailedUpgrade(socket, err, 'attach', this.d.log, req.url);
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.d.log.info('attached to a container', { user: request.user, pod: `${request.namespace}/${request.pod}`, container: request.container, stdin: request.stdin });
      this.sessions.add(ws);
      ws.once('close', () => this.sessions.delete(ws));
      this.serve(ws, request, target);
    });
  }

  /** Drops every attached client (the agent is stopping); the containers run on. */
  stop(): void {
    for (const ws of this.sessions) ws.terminate();
    this.wss.close();
  }

  private serve(ws: WebSocket, r: AttachRequest, t: Extract<AttachLookup, { ok: true }>): void {
    // Where the log ends now, taken before any of the client's input is passed on: what that input
    // makes the command write is the client's to see.
    const fromByte = logSize(t.logPath);
    const abort = new AbortController();
    keepAlive(ws, this.d.keepaliveMs);
    const proc = t.process;
    const usesStdin = r.stdin && proc.hasStdin;
    const doneWithStdin = () => {
      if (usesStdin && t.stdinOnce) proc.closeStdin();
    };
    ws.on('error', () => ws.terminate());
    ws.once('close', () => {
      abort.abort();
      doneWithStdin();
    });

    // Client → stdin, one write at a time (a full pipe holds the next until the command reads).
    let writing = Promise.resolve();
    let resizing = Promise.resolve();
    ws.on('message', (data: Buffer) => {
      const stream = data[0];
      if (stream === STREAM.resize) {
        // The client's terminal changed size (or says its size on attaching): so does the container's.
        const size = t.tty ? parseTerminalSize(data.subarray(1).toString('utf8')) : undefined;
        if (size) resizing = resizing.then(() => applyTerminalSize(proc.pid, size));
        return;
      }
      if (!usesStdin) return;
      if (stream === STREAM.stdin) {
        ws.pause();
        writing = writing.then(() => proc.writeStdin(data.subarray(1))).then(() => ws.resume());
      } else if (stream === STREAM.close && data[1] === STREAM.stdin) {
        writing = writing.then(doneWithStdin);
      }
    });

    // The container's output → the client, from what it writes next until it ends.
    const toClient = new Writable({
      write: (chunk: Buffer, _enc, done) => {
        if (ws.readyState !== ws.OPEN) return done();
        ws.send(Buffer.concat([Buffer.from([STREAM.stdout]), chunk]), () => undefined);
        if (ws.bufferedAmount <= HIGH_WATER_BYTES) return done();
        // The client is slow: the log is read on once most of what is queued has gone.
        const wait = setInterval(() => {
          if (ws.readyState !== ws.OPEN || ws.bufferedAmount <= HIGH_WATER_BYTES / 4) {
            clearInterval(wait);
            done();
          }
        }, 20);
      },
    });
    const output = r.output ? this.d.logs.follow(t.logPath, { fromByte }, toClient, t.isRunning, abort.signal) : proc.exited.then(() => undefined);
    output.then(
      () => {
        if (ws.readyState !== ws.OPEN) return;
        ws.send(Buffer.concat([Buffer.from([STREAM.error]), Buffer.from(JSON.stringify({ metadata: {}, status: 'Success' }))]));
        ws.close(1000);
      },
      (err: unknown) => {
        this.d.log.warn('attach output failed', { pod: `${r.namespace}/${r.pod}`, error: errorMessage(err) });
        ws.terminate();
      },
    );
  }

  private async admit(req: IncomingMessage): Promise<{ request: AttachRequest; target: Extract<AttachLookup, { ok: true }> }> {
    const { namespace, pod, container, user, query: q } = await admitChannelUpgrade(req, 'attach', this.d.signatures);
    const stdin = boolQuery(q, 'stdin');
    const output = boolQuery(q, 'stdout') || boolQuery(q, 'stderr');
    if (!stdin && !output) throw new EndpointRequestError(400, 'you must specify at least 1 of stdin, stdout, stderr');
    const found = this.d.targets.attachTarget(namespace, pod, container, q.get('podUID') ?? undefined);
    if (!found.ok) throw new EndpointRequestError(found.notFound ? 404 : 400, found.message);
    return { request: { namespace, pod, container, stdin, output, user }, target: found };
  }
}
