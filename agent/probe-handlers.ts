// One attempt of a probe, per handler, as the kubelet's probers judge it: exec succeeds on exit
// status 0, httpGet on a status from 200 to 399, tcpSocket when the connection opens, grpc when the
// health service answers SERVING. Each attempt ends within the probe's timeoutSeconds (what it
// started is killed or closed then) and as soon as `signal` aborts (the container went away).
// Attempts never throw: what went wrong is the attempt's message, as the Unhealthy event says it.
import { spawn } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { ContainerPort, PortNumberOrName, Probe } from '../shared/api/core.js';
import type { ProbeOutcome } from './probe-result.js';

export interface ProbeAttempt {
  outcome: ProbeOutcome;
  /** The output or the reason, for the event (empty when the probe passed and said nothing). */
  message: string;
}

/** What a probe needs of its container. */
export interface ProbeTarget {
  /** The pod's IP, where a probe without a host connects (cell pods share their node's address). */
  podIP: string;
  ports: readonly ContainerPort[];
  /** The running container's environment and working directory (exec probes); undefined once it is gone. */
  execContext(): { env: Record<string, string>; cwd: string } | undefined;
  /** Records a probe command while it runs (so an agent killed meanwhile stops it on restart); returns its removal. */
  recordCommand?(pid: number): () => void;
}

/** The kubelet keeps this much of a probe's output. */
const MAX_OUTPUT_BYTES = 10 * 1024;
/** Kubernetes' probes name themselves `kube-probe/<version>`; some servers answer them specially. */
const USER_AGENT = 'kube-probe/cell';

export function runProbe(probe: Probe, target: ProbeTarget, signal: AbortSignal): Promise<ProbeAttempt> {
  const timeoutMs = probe.timeoutSeconds * 1000;
  if (probe.grpc) return grpcProbe(probe.grpc, target, timeoutMs, signal);
  return runAction(probe, target, timeoutMs, signal) ?? Promise.resolve({ outcome: 'error', message: 'the probe has no handler' });
}

/**
 * One exec, httpGet or tcpSocket action (probes' and lifecycle hooks' alike), bounded by `timeoutMs`
 * and `signal`; undefined when `action` has none of them.
 */
export function runAction(action: Pick<Probe, 'exec' | 'httpGet' | 'tcpSocket'>, target: ProbeTarget, timeoutMs: number, signal: AbortSignal): Promise<ProbeAttempt> | undefined {
  if (action.exec) return execProbe(action.exec.command ?? [], target, timeoutMs, signal);
  if (action.httpGet) return httpProbe(action.httpGet, target, timeoutMs, signal);
  if (action.tcpSocket) return tcpProbe(action.tcpSocket, target, timeoutMs, signal);
  return undefined;
}

/** A port by number, or the containerPort of the container's port of that name. */
function resolvePort(port: PortNumberOrName, ports: readonly ContainerPort[]): number | undefined {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  return ports.find((p) => p.name === port)?.containerPort;
}

/** `host:port`, IPv6 addresses bracketed. */
function hostPort(host: string, port: number): string {
  return `${net.isIPv6(host) ? `[${host}]` : host}:${port}`;
}

/**
 * Runs `work` until it settles, the timeout passes or `signal` aborts; `work` gets `finish`, which
 * settles the attempt once, and returns its clean-up (kill, close), run whichever way it ends.
 */
function bounded(
  timeoutMs: number,
  signal: AbortSignal,
  onTimeout: ProbeAttempt,
  work: (finish: (a: ProbeAttempt) => void) => () => void,
): Promise<ProbeAttempt> {
  return new Promise((resolve) => {
    let settled = false;
    let cleanUp: () => void = () => undefined;
    const finish = (a: ProbeAttempt) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      cleanUp();
      resolve(a);
    };
    const onAbort = () => finish({ outcome: 'error', message: 'probe cancelled: the container is gone' });
    const timer = setTimeout(() => finish(onTimeout), timeoutMs);
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort);
    cleanUp = work(finish);
    // `work` may have finished synchronously, before its clean-up was known.
    if (settled) cleanUp();
  });
}

/** SIGKILL to a probe command's process group (it leads one); a group already gone is fine. */
function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

function execProbe(command: string[], target: ProbeTarget, timeoutMs: number, signal: AbortSignal): Promise<ProbeAttempt> {
  const shown = command.join(' ');
  return bounded(timeoutMs, signal, { outcome: 'failure', message: `command "${shown}" timed out` }, (finish) => {
    const context = target.execContext();
    if (!context || command.length === 0) {
      finish({ outcome: 'error', message: context ? 'no command' : 'the container is not running' });
      return () => undefined;
    }
    // Its own process group, so a timeout (or the container going) kills whatever it started.
    const child = spawn(command[0]!, command.slice(1), { env: context.env, cwd: context.cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const forget = child.pid !== undefined ? target.recordCommand?.(child.pid) : undefined;
    const chunks: Buffer[] = [];
    let kept = 0;
    const keep = (chunk: Buffer) => {
      if (kept >= MAX_OUTPUT_BYTES) return;
      chunks.push(chunk.subarray(0, MAX_OUTPUT_BYTES - kept));
      kept += Math.min(chunk.length, MAX_OUTPUT_BYTES - kept);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('error', (err: NodeJS.ErrnoException) => {
      const why = err.code === 'ENOENT' ? `exec: "${command[0]}": executable file not found in $PATH` : err.message;
      finish({ outcome: 'failure', message: why });
    });
    // 'close': exited and its output drained.
    child.once('close', (code, sig) => {
      const output = Buffer.concat(chunks).toString('utf8');
      if (code === 0) finish({ outcome: 'success', message: output });
      else finish({ outcome: 'failure', message: output !== '' ? output : `command "${shown}" exited with ${code ?? sig}` });
    });
    return () => {
      // Whatever the command left behind in its group ends with the attempt.
      if (child.pid !== undefined) killGroup(child.pid);
      forget?.();
    };
  });
}

function httpProbe(action: NonNullable<Probe['httpGet']>, target: ProbeTarget, timeoutMs: number, signal: AbortSignal): Promise<ProbeAttempt> {
  const port = resolvePort(action.port, target.ports);
  if (port === undefined) return Promise.resolve({ outcome: 'error', message: `couldn't find port: ${String(action.port)}` });
  const host = action.host !== undefined && action.host !== '' ? action.host : target.podIP;
  const requestPath = action.path.startsWith('/') ? action.path : `/${action.path}`;
  const url = `${action.scheme.toLowerCase()}://${hostPort(host, port)}${requestPath}`;
  const headers: Record<string, string> = { 'User-Agent': USER_AGENT, Accept: '*/*' };
  for (const h of action.httpHeaders ?? []) headers[h.name] = h.value;
  return bounded(
    timeoutMs,
    signal,
    { outcome: 'failure', message: `Get "${url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)` },
    (finish) => {
      const options = { host, port, path: requestPath, method: 'GET', headers, agent: false as const };
      // The kubelet does not verify a probed server's certificate.
      const req = action.scheme === 'HTTPS' ? https.request({ ...options, rejectUnauthorized: false }) : http.request(options);
      req.once('response', (res) => {
        const code = res.statusCode ?? 0;
        // The status decides; the body is not needed.
        res.resume();
        if (code >= 200 && code < 400) finish({ outcome: 'success', message: '' });
        else finish({ outcome: 'failure', message: `HTTP probe failed with statuscode: ${code}` });
      });
      req.once('error', (err) => finish({ outcome: 'failure', message: `Get "${url}": ${err.message}` }));
      req.end();
      return () => req.destroy();
    },
  );
}

function tcpProbe(action: NonNullable<Probe['tcpSocket']>, target: ProbeTarget, timeoutMs: number, signal: AbortSignal): Promise<ProbeAttempt> {
  const port = resolvePort(action.port, target.ports);
  if (port === undefined) return Promise.resolve({ outcome: 'error', message: `couldn't find port: ${String(action.port)}` });
  const host = action.host !== undefined && action.host !== '' ? action.host : target.podIP;
  const address = hostPort(host, port);
  return bounded(timeoutMs, signal, { outcome: 'failure', message: `dial tcp ${address}: i/o timeout` }, (finish) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => finish({ outcome: 'success', message: '' }));
    socket.once('error', (err) => finish({ outcome: 'failure', message: `dial tcp ${address}: ${err.message}` }));
    return () => socket.destroy();
  });
}

// grpc.health.v1 messages, encoded by hand (two fields): HealthCheckRequest { string service = 1 },
// HealthCheckResponse { ServingStatus status = 1 } with SERVING = 1.
const HEALTH_CHECK_METHOD = '/grpc.health.v1.Health/Check';
const SERVING_STATUS = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'] as const;

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return out;
}

export function encodeHealthCheckRequest(service: string): Buffer {
  if (service === '') return Buffer.alloc(0);
  const bytes = Buffer.from(service, 'utf8');
  return Buffer.concat([Buffer.from([0x0a, ...varint(bytes.length)]), bytes]);
}

/** The status field of a HealthCheckResponse (0, UNKNOWN, when absent); other fields are skipped. */
export function decodeHealthCheckResponse(buf: Buffer): number {
  let i = 0;
  let status = 0;
  const readVarint = (): number => {
    let value = 0;
    let shift = 0;
    while (i < buf.length) {
      const b = buf[i++]!;
      value += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) break;
      shift += 7;
    }
    return value;
  };
  while (i < buf.length) {
    const tag = readVarint();
    const wire = tag & 7;
    if (wire === 0) {
      const v = readVarint();
      if (tag >>> 3 === 1) status = v;
    } else if (wire === 2) {
      const length = readVarint();
      i += length;
    }
    else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    // Groups (wire types 3, 4) are not in these messages: stop reading.
    else break;
  }
  return status;
}

async function grpcProbe(action: NonNullable<Probe['grpc']>, target: ProbeTarget, timeoutMs: number, signal: AbortSignal): Promise<ProbeAttempt> {
  // Loaded only by agents that run a gRPC probe.
  const grpc = await import('@grpc/grpc-js');
  const address = hostPort(target.podIP, action.port);
  return bounded(timeoutMs, signal, { outcome: 'failure', message: `timeout: health rpc did not complete within ${timeoutMs / 1000}s` }, (finish) => {
    const client = new grpc.Client(address, grpc.credentials.createInsecure());
    client.makeUnaryRequest(
      HEALTH_CHECK_METHOD,
      (service: string) => encodeHealthCheckRequest(service),
      (buf: Buffer) => decodeHealthCheckResponse(buf),
      action.service ?? '',
      new grpc.Metadata(),
      { deadline: Date.now() + timeoutMs },
      (err, status) => {
        if (err) {
          const message = err.code === grpc.status.UNIMPLEMENTED
            ? `error: this server does not implement the grpc health protocol (grpc.health.v1.Health): ${err.details}`
            : `error: health rpc probe failed: ${err.details}`;
          finish({ outcome: 'failure', message });
          return;
        }
        if (status === 1) finish({ outcome: 'success', message: '' });
        else finish({ outcome: 'failure', message: `service unhealthy (responded with "${SERVING_STATUS[status ?? 0] ?? String(status)}")` });
      },
    );
    return () => client.close();
  });
}
