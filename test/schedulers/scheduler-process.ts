// cell-scheduler as a real child process (`node --import tsx schedulers/main.ts …`, see entrypoint.ts), for the
// scheduler tests and bench/e2e.ts: start it, wait until its informers have listed (/readyz),
// read its /metrics, stop it with a signal.
import type { ChildProcess } from 'node:child_process';
import { spawnCellProcess, waitUntilAnswers } from '../harness/child-process.js';
import { programArgs } from '../harness/entrypoint.js';
import { freePort } from '../harness/ports.js';

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
  const handle = spawnCellProcess(args, opts.env);
  const metricsUrl = `http://127.0.0.1:${port}`;
  const proc: SchedulerProcess = {
    name,
    child: handle.child,
    metricsUrl,
    output: handle.output,
    async metrics() {
      const res = await fetch(`${metricsUrl}/metrics`, { signal: AbortSignal.timeout(10_000) });
      return res.text();
    },
    stop: handle.stop,
    get exited() {
      return handle.gone;
    },
  };
  await waitUntilAnswers(handle, `${metricsUrl}/readyz`, `cell-scheduler ${name}`, opts.readyTimeoutMs ?? 60_000);
  return proc;
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
