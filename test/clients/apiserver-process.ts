// cell-apiserver as a real child process (`node --import tsx apiserver/main.ts …`, see entrypoint.ts), for tests that
// must stop and restart it (SIGTERM, then again on the same port and etcd prefix) and for
// benchmarks whose client load must not share the server's event loop.
import type { ChildProcess } from 'node:child_process';
import { spawnCellProcess, waitUntilAnswers } from '../harness/child-process.js';
import { programArgs } from '../harness/entrypoint.js';

export interface ApiServerProcessOptions {
  etcdEndpoints: string[];
  /** etcd key prefix (a fresh one per test). */
  prefix: string;
  /** A fixed port, so a restarted server is found where clients left it. */
  port: number;
  /** Extra flags, e.g. `--token-auth-file=…`. */
  args?: string[];
  /** Flags for node itself, e.g. `--cpu-prof` (not all are allowed in NODE_OPTIONS). */
  nodeArgs?: string[];
  env?: NodeJS.ProcessEnv;
  /** How long to wait for /readyz. */
  readyTimeoutMs?: number;
}

export interface ApiServerProcess {
  url: string;
  port: number;
  child: ChildProcess;
  /** The process's recent output (stdout + stderr), for failure messages. */
  output(): string;
  /** Send `signal` (default SIGTERM) and wait for exit; SIGKILL after `killAfterMs`. Resolves to the exit code (null when killed by a signal). */
  stop(signal?: NodeJS.Signals, killAfterMs?: number): Promise<number | null>;
}

export async function startApiServerProcess(opts: ApiServerProcessOptions): Promise<ApiServerProcess> {
  const args = [
    ...programArgs('apiserver', opts.nodeArgs),
    `--etcd-servers=${opts.etcdEndpoints.join(',')}`,
    `--etcd-prefix=${opts.prefix}`,
    '--bind-address=127.0.0.1',
    `--port=${opts.port}`,
    ...(opts.args ?? []),
  ];
  const proc = spawnCellProcess(args, opts.env);
  const url = `http://127.0.0.1:${opts.port}`;
  await waitUntilAnswers(proc, `${url}/readyz`, `cell-apiserver on port ${opts.port}`, opts.readyTimeoutMs ?? 30_000, 50);
  return { url, port: opts.port, child: proc.child, output: proc.output, stop: proc.stop };
}
