// cell-scheduler as a real child process (`node --import tsx schedulers/main.ts …`, see entrypoint.ts), for the
// scheduler tests and bench/e2e.ts: start it, wait until its informers have listed (/readyz),
// read its /metrics, stop it with a signal.
import { spawn, type ChildProcess } from 'node:child_process';
import { programArgs, REPO_ROOT } from '../harness/entrypoint.js';
import { freePort } from '../harness/ports.js';

const MAX_OUTPUT = 64 * 1024;

export interface SchedulerProcessOptions {
  server: string;
  name?: string;
  /** default | binpack | a YAML file. */
  profile?: string;
  /** Extra flags (--leader-elect, --conflict-mode=coarse, …). */
  args?: string[];
  logLevel?: string;
  readyTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Flags for node itself, e.g. `--cpu-prof` (not all are allowed in NODE_OPTIONS). */
  nodeArgs?: string[];
  /** Run the compiled binary (dist/) whatever CELL_RUN_FROM says. */
  fromDist?: boolean;
}

export interface SchedulerProcess {
  name: string;
  child: ChildProcess;
  metricsUrl: string;
  /** Recent stdout + stderr, for failure messages. */
  output(): string;
  /** The /metrics text. */
  metrics(): Promise<string>;
  /** Send `signal` and wait for the exit; SIGKILL after `killAfterMs`. Resolves to the exit code (null when killed by a signal). */
  stop(signal?: NodeJS.Signals, killAfterMs?: number): Promise<number | null>;
  readonly exited: boolean;
}

export async function startSchedulerProcess(opts: SchedulerProcessOptions): Promise<SchedulerProcess> {
  const name = opts.name ?? 'default-scheduler';
  const port = await freePort();
  const args = [
    ...programArgs('schedulers', opts.nodeArgs, opts.fromDist ? 'dist' : undefined),
    `--server=${opts.server}`,
    `--scheduler-name=${name}`,
    `--profile=${opts.profile ?? 'default'}`,
    `--metrics-port=${port}`,
    `--log-level=${opts.logLevel ?? 'warn'}`,
    ...(opts.args ?? []),
  ];
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: string) => {
    out += d;
    if (out.length > MAX_OUTPUT) out = out.slice(out.length - MAX_OUTPUT);
  };
  child.stdout?.setEncoding('utf8').on('data', keep);
  child.stderr?.setEncoding('utf8').on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const metricsUrl = `http://127.0.0.1:${port}`;
  const proc: SchedulerProcess = {
    name,
    child,
    metricsUrl,
    output: () => out,
    async metrics() {
      const res = await fetch(`${metricsUrl}/metrics`, { signal: AbortSignal.timeout(10_000) });
      return res.text();
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM', killAfterMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    get exited() {
      return child.exitCode !== null || child.signalCode !== null;
    },
  };
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
  for (;;) {
    if (proc.exited) throw new Error(`cell-scheduler ${name} exited (code ${child.exitCode}, signal ${child.signalCode}) before it was ready:\n${out}`);
    try {
      const res = await fetch(`${metricsUrl}/readyz`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return proc;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await proc.stop('SIGKILL');
      throw new Error(`cell-scheduler ${name} not ready after ${opts.readyTimeoutMs ?? 60_000} ms:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Sum of the samples of metric `name` whose labels include `labels` (Prometheus text format).
 * Histograms: ask for `name_count` or `name_sum`.
 */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = new Map<string, string>();
    for (const pair of (m[2] ?? '').slice(1, -1).matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) have.set(pair[1]!, pair[2]!);
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) sum += Number(m[3]);
  }
  return sum;
}
