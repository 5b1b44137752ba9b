// cell-apiserver as a real child process (`node --import tsx apiserver/main.ts …`, see entrypoint.ts), for tests that
// must stop and restart it (SIGTERM, then again on the same port and etcd prefix) and for
// benchmarks whose client load must not share the server's event loop.
import { spawn, type ChildProcess } from 'node:child_process';
import { programArgs, REPO_ROOT } from '../harness/entrypoint.js';

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

const MAX_OUTPUT = 64 * 1024;

export async function startApiServerProcess(opts: ApiServerProcessOptions): Promise<ApiServerProcess> {
  const args = [
    ...programArgs('apiserver', opts.nodeArgs),
    `--etcd-servers=${opts.etcdEndpoints.join(',')}`,
    `--etcd-prefix=${opts.prefix}`,
    '--bind-address=127.0.0.1',
    `--port=${opts.port}`,
    ...(opts.args ?? []),
  ];
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: opts.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (d: string) => {
    out += d;
    if (out.length > MAX_OUTPUT) out = out.slice(out.length - MAX_OUTPUT);
  };
  child.stdout?.setEncoding('utf8').on('data', keep);
  child.stderr?.setEncoding('utf8').on('data', keep);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
  });
  const url = `http://127.0.0.1:${opts.port}`;
  const proc: ApiServerProcess = {
    url,
    port: opts.port,
    child,
    output: () => out,
    async stop(signal: NodeJS.Signals = 'SIGTERM', killAfterMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };

  const deadline = Date.now() + (opts.readyTimeoutMs ?? 30_000);
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`cell-apiserver exited (code ${child.exitCode}, signal ${child.signalCode}) before it was ready:\n${out}`);
    }
    try {
      const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return proc;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await proc.stop('SIGKILL');
      throw new Error(`cell-apiserver on port ${opts.port} not ready after ${opts.readyTimeoutMs ?? 30_000} ms:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
