// kubectl exec on the node: the agent end of `pods/{name}/exec`. The API server forwards the
// client's WebSocket upgrade here (apiserver/controllers/pod-exec-proxy.ts) as
// GET /exec/{namespace}/{pod}/{container}?command=…&stdin=…&stdout=…&stderr=…&tty=…, signed with the
// cluster's key; nothing runs for a request without a good signature (api-server-auth.ts).
//
// The command runs as the container's own processes do (runtime.ts): a host process with the
// container's environment and working directory, in a process group of its own that is killed when
// the connection goes. Its streams travel in Kubernetes' channel protocol: every binary message
// starts with a byte naming its stream (0 stdin, 1 stdout, 2 stderr, 3 the final Status, 4 terminal
// size); v5.channel.k8s.io adds 255 <stream> for "this stream is closed" (kubectl's end of stdin).
// With a tty the command runs under `script`, which gives it a terminal (stderr then joins stdout).
// Each running command is recorded under the agent's root (`exec/<pid>.json`): an agent that was
// killed outright kills, when it starts again, what its clients can no longer reach.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { constants as osConstants } from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logging.js';
import type { ApiServerSignatures } from './api-server-auth.js';
import { boolQuery, containerPath, EndpointRequestError, keepAlive, refuseFailedUpgrade } from './endpoint-request.js';
import type { AgentMetrics } from './metrics.js';
import { isSameProcess, readProcStat } from './procfs.js';
import { shellQuote } from './runtime.js';
import { applyTerminalSize, parseTerminalSize, type TerminalSize } from './terminal-size.js';
import type { ExecLookup } from './pod-worker.js';

export interface ExecTargets {
  /** Where a command in this container of this pod would run; `podUID` (when given) must match. */
  execContext(namespace: string, pod: string, container: string, podUID: string | undefined): ExecLookup;
}

/** The subprotocols served, preferred first. */
export const EXEC_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'] as const;

/** The channel protocol's streams: each message starts with one of these bytes. */
export const STREAM = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4, close: 255 } as const;

/** Output queued to a slow client before the command's output is paused. */
const HIGH_WATER_BYTES = 1024 * 1024;
/** One message from the client at most (stdin chunks are far smaller). */
const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

interface ExecRequest {
  namespace: string;
  pod: string;
  container: string;
  command: string[];
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
  user: string;
}


/**
 * What exec and attach (attach.ts) check first of an upgrade for `/{kind}/{namespace}/{pod}/{container}`:
 * the signature (before anything about the pods here is told to an unsigned caller), then a
 * WebSocket offering one of the channel protocols. Throws EndpointRequestError.
 */
export async function admitChannelUpgrade(req: IncomingMessage, kind: 'exec' | 'attach', signatures: ApiServerSignatures): Promise<{ namespace: string; pod: string; container: string; user: string; query: URLSearchParams }> {
  const raw = req.url ?? '/';
  const url = new URL(raw, 'http://agent');
  const { namespace, pod, container } = containerPath(url.pathname, kind);
  const { user } = await signatures.verify(req, raw);
  if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') throw new EndpointRequestError(400, `${kind} is served over a WebSocket only`);
  const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
  if (!EXEC_PROTOCOLS.some((p) => offered.includes(p))) {
    throw new EndpointRequestError(400, `the client offers none of the stream protocols this node speaks (${EXEC_PROTOCOLS.join(', ')})`);
  }
  return { namespace, pod, container, user, query: url.searchParams };
}

export class ExecEndpoint {
  private readonly wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: MAX_MESSAGE_BYTES,
    handleProtocols: (offered) => EXEC_PROTOCOLS.find((p) => offered.has(p)) ?? false,
  });
  private readonly sessions = new Set<ExecSession>();

  constructor(
    private readonly d: {
      targets: ExecTargets;
      signatures: ApiServerSignatures;
      /** How often each client is pinged (--exec-keepalive). */
      keepaliveMs: number;
      metrics: AgentMetrics;
      /** Where running commands are recorded. */
      stateDir: string;
      log: Logger;
    },
  ) {
    mkdirSync(d.stateDir, { recursive: true });
    this.reapLeftovers();
  }

  /** Commands a previous run of the agent left running (it was killed): nobody can reach them now. */
  private reapLeftovers(): void {
    for (const file of readdirSync(this.d.stateDir)) {
      const recordPath = path.join(this.d.stateDir, file);
      let record: { pid?: unknown; startTicks?: unknown };
      try {
        record = JSON.parse(readFileSync(recordPath, 'utf8')) as typeof record;
      } catch (err) {
        // A record cut short by the crash names nothing to stop.
        this.d.log.warn('unreadable exec record', { file: recordPath, error: errorMessage(err) });
        record = {};
      }
      const pid = Number(record.pid);
      if (Number.isInteger(pid) && pid > 1 && isSameProcess(pid, typeof record.startTicks === 'number' ? record.startTicks : undefined)) {
        this.d.log.info('stopping a command exec\u2019d before the agent restarted', { pid });
        killGroup(pid, this.d.log);
      }
      rmSync(recordPath, { force: true });
    }
  }

  /** Serves one upgrade request for /exec/…; answers a Status for anything it refuses. */
  async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    let request: ExecRequest;
    let context: Extract<ExecLookup, { ok: true }>;
    try {
      ({ request, context } = await this.admit(req));
    } catch (err) {
      refuseFailedUpgrade(socket, err, 'exec', this.d.log, req.url);
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.d.log.info('exec in a container', { user: request.user, pod: `${request.namespace}/${request.pod}`, container: request.container, command: request.command, tty: request.tty });
      const session = new ExecSession(ws, request, context, this.d.keepaliveMs, this.d.stateDir, this.d.log);
      this.sessions.add(session);
      this.d.metrics.execSessions.inc();
      void session.run().finally(() => {
        this.sessions.delete(session);
        this.d.metrics.execSessions.dec();
      });
    });
  }

  /** Kills every command still running and drops its connection (the agent is stopping). */
  stop(): void {
    for (const s of this.sessions) s.abort();
    this.wss.close();
  }

  private async admit(req: IncomingMessage): Promise<{ request: ExecRequest; context: Extract<ExecLookup, { ok: true }> }> {
    const { namespace, pod, container, user, query: q } = await admitChannelUpgrade(req, 'exec', this.d.signatures);
    const request: ExecRequest = {
      namespace,
      pod,
      container,
      command: q.getAll('command'),
      stdin: boolQuery(q, 'stdin'),
      stdout: boolQuery(q, 'stdout'),
      stderr: boolQuery(q, 'stderr'),
      tty: boolQuery(q, 'tty'),
      user,
    };
    if (request.command.length === 0 || request.command[0] === '') throw new EndpointRequestError(400, 'you must specify at least 1 command');
    if (!request.stdin && !request.stdout && !request.stderr) throw new EndpointRequestError(400, 'you must specify at least 1 of stdin, stdout, stderr');
    const found = this.d.targets.execContext(namespace, pod, container, q.get('podUID') ?? undefined);
    if (!found.ok) throw new EndpointRequestError(found.notFound ? 404 : 400, found.message);
    return { request, context: found };
  }
}

/** One command and its connection, from spawn to the final Status. */
class ExecSession {
  private child: ChildProcess | undefined;
  private resizes = Promise.resolve();

  constructor(
    private readonly ws: WebSocket,
    private readonly r: ExecRequest,
    private readonly context: { env: Record<string, string>; cwd: string },
    private readonly keepaliveMs: number,
    private readonly stateDir: string,
    private readonly log: Logger,
  ) {}

  async run(): Promise<void> {
    const { r, ws } = this;
    keepAlive(ws, this.keepaliveMs, () => this.log.info('exec client stopped answering: dropping it', { pod: `${r.namespace}/${r.pod}`, user: r.user }));
    ws.on('close', () => {
      this.kill();
    });
    ws.on('error', (err) => this.log.debug('exec connection failed', { pod: `${r.namespace}/${r.pod}`, error: err.message }));
    // A terminal starts at the client's size, which the client sends first thing: waited for
    // briefly, so the command's first look at its terminal (a shell's prompt) sees it.
    const early: RawData[] = [];
    const size = r.tty ? await firstSize(ws, early) : undefined;
    // The client may have gone meanwhile: then nothing is started.
    if (ws.readyState !== ws.OPEN) return;
    const sized = size ? `stty cols ${size.cols} rows ${size.rows} 2>/dev/null; exec ${shellQuote(r.command)}` : shellQuote(r.command);
    const argv = r.tty ? ['script', '-q', '-e', '-f', '-c', sized, '/dev/null'] : r.command;
    let child: ChildProcess;
    try {
      child = spawn(argv[0]!, argv.slice(1), {
        cwd: this.context.cwd,
        env: this.context.env,
        // Its own process group, so the connection ending can stop all it started.
        detached: true,
        stdio: [r.stdin ? 'pipe' : 'ignore', r.stdout || r.tty ? 'pipe' : 'ignore', r.stderr && !r.tty ? 'pipe' : 'ignore'],
      });
    } catch (err) {
      this.finish({ status: 'Failure', message: `error executing command in container: ${errorMessage(err)}`, reason: 'InternalError' });
      return;
    }
    this.child = child;
    const forget = child.pid !== undefined ? recordRunningCommand(this.stateDir, child.pid) : undefined;
    ws.on('message', (data) => this.onMessage(data));
    for (const data of early) this.onMessage(data);
    child.stdin?.on('error', (err) => this.log.debug('exec stdin closed early', { error: err.message }));
    if (child.stdout) this.relay(child.stdout, STREAM.stdout);
    if (child.stderr) this.relay(child.stderr, STREAM.stderr);

    const outcome = await new Promise<{ code: number | null; signal: NodeJS.Signals | null } | { error: Error }>((resolve) => {
      child.once('error', (error) => resolve({ error }));
      // 'close': the command exited and its output streams are drained.
      child.once('close', (code, signal) => resolve({ code, signal }));
    });
    forget?.();
    if ('error' in outcome) {
      const why = (outcome.error as NodeJS.ErrnoException).code === 'ENOENT' ? `exec: "${argv[0]}": executable file not found in $PATH` : outcome.error.message;
      this.finish({ status: 'Failure', message: `error executing command in container: ${why}`, reason: 'InternalError' });
      return;
    }
    const exitCode = outcome.code ?? 128 + signalNumber(outcome.signal);
    if (exitCode === 0) {
      this.finish({ status: 'Success' });
      return;
    }
    this.finish({
      status: 'Failure',
      message: `command terminated with non-zero exit code: error executing command [${r.command.join(' ')}], exit code ${exitCode}`,
      reason: 'NonZeroExitCode',
      details: { causes: [{ reason: 'ExitCode', message: String(exitCode) }] },
    });
  }

  /** Ends the command and everything it started. */
  kill(): void {
    const pid = this.child?.pid;
    if (pid === undefined || this.child?.exitCode !== null || this.child.signalCode !== null) return;
    killGroup(pid, this.log);
  }

  /** Kills the command and drops the connection without a goodbye. */
  abort(): void {
    this.kill();
    this.ws.terminate();
  }

  /** The final Status on the error stream, then a normal close: kubectl exits with the command's code. */
  private finish(status: Record<string, unknown>): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.ws.send(Buffer.concat([Buffer.from([STREAM.error]), Buffer.from(JSON.stringify({ metadata: {}, ...status }))]));
    this.ws.close(1000);
  }

  /** The command's output to the client, paused while the client is slow to take it. */
  private relay(from: NodeJS.ReadableStream, stream: number): void {
    from.on('data', (chunk: Buffer) => {
      if (this.ws.readyState !== this.ws.OPEN) return;
      this.ws.send(Buffer.concat([Buffer.from([stream]), chunk]), () => {
        if (from.isPaused() && this.ws.bufferedAmount < HIGH_WATER_BYTES / 4) from.resume();
      });
      if (this.ws.bufferedAmount > HIGH_WATER_BYTES) from.pause();
    });
  }

  private onMessage(raw: RawData): void {
    const data = bytesOf(raw);
    if (data.length === 0) return;
    const stdin = this.child?.stdin;
    switch (data[0]) {
      case STREAM.stdin:
        if (stdin && !stdin.writableEnded && data.length > 1 && !stdin.write(data.subarray(1))) {
          // Stop reading the client until the command takes what it was given.
          this.ws.pause();
          stdin.once('drain', () => this.ws.resume());
        }
        return;
      case STREAM.close:
        if (data[1] === STREAM.stdin && stdin && !stdin.writableEnded) stdin.end();
        return;
      case STREAM.resize:
        if (this.r.tty) this.resize(data.subarray(1).toString('utf8'));
        return;
      default:
        // Nothing else is the client's to send; ignored as Kubernetes does.
        return;
    }
  }

  /** A terminal size from the client, applied to the command's terminal. */
  private resize(text: string): void {
    const size = parseTerminalSize(text);
    // In order, one at a time; the terminal is there once `script` has started its child.
    if (size) this.resizes = this.resizes.then(() => this.applySize(size));
  }

  private async applySize(size: TerminalSize): Promise<void> {
    const pid = this.child?.pid;
    if (pid !== undefined) await applyTerminalSize(pid, size);
  }
}

function bytesOf(raw: RawData): Buffer {
  return Array.isArray(raw) ? Buffer.concat(raw) : Buffer.isBuffer(raw) ? raw : Buffer.from(raw);
}

/** How long a tty command waits for the client's terminal size before it starts anyway. */
const FIRST_SIZE_WAIT_MS = 500;

/**
 * The client's first terminal size, waited for up to FIRST_SIZE_WAIT_MS; every other message
 * meanwhile (keys typed at once) is kept in `early`, in order, for the command.
 */
function firstSize(ws: WebSocket, early: RawData[]): Promise<TerminalSize | undefined> {
  return new Promise((resolve) => {
    const done = (size: TerminalSize | undefined) => {
      clearTimeout(timer);
      ws.off('message', onMessage);
      ws.off('close', onClose);
      resolve(size);
    };
    const onMessage = (raw: RawData) => {
      const data = bytesOf(raw);
      const size = data[0] === STREAM.resize ? parseTerminalSize(data.subarray(1).toString('utf8')) : undefined;
      if (size) done(size);
      else early.push(raw);
    };
    const onClose = () => done(undefined);
    const timer = setTimeout(() => done(undefined), FIRST_SIZE_WAIT_MS);
    ws.on('message', onMessage);
    ws.on('close', onClose);
  });
}

/**
 * Records a running command (an exec'd one or a probe's) under `stateDir`, so that an agent killed
 * meanwhile stops it when it starts again (ExecEndpoint reaps the records); returns its removal.
 */
export function recordRunningCommand(stateDir: string, pid: number): () => void {
  const record = path.join(stateDir, `${pid}.json`);
  writeFileSync(record, JSON.stringify({ pid, startTicks: readProcStat(pid)?.startTicks }));
  return () => rmSync(record, { force: true });
}

/** SIGKILL to a command's process group (it leads one). */
function killGroup(pid: number, log: Logger): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') log.warn('cannot stop an exec\u2019d command', { pid, error: errorMessage(err) });
  }
}

function signalNumber(signal: NodeJS.Signals | null): number {
  return signal === null ? 0 : (osConstants.signals[signal] ?? 0);
}
