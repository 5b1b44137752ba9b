// A cell process as a child of the test (API server, scheduler, controller manager): started
// with its output kept for failure messages, ready once an HTTP probe answers 200, stopped with a
// signal (SIGKILL after a grace period). The process-specific helpers build on this one.
import { spawn, type ChildProcess } from 'node:child_process';
import { REPO_ROOT } from './entrypoint.js';

const MAX_OUTPUT = 64 * 1024;

export interface ChildProcessHandle {
  child: ChildProcess;
  /** Recent stdout + stderr. */
  output(): string;
  /** Resolves to the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  readonly gone: boolean;
  /** Send `signal` (default SIGTERM) and wait for the exit; SIGKILL after `killAfterMs`. */
  stop(signal?: NodeJS.Signals, killAfterMs?: number): Promise<number | null>;
}

export function spawnCellProcess(args: readonly string[], env: NodeJS.ProcessEnv = process.env): ChildProcessHandle {
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: string) => {
    out += d;
    if (out.length > MAX_OUTPUT) out = out.slice(out.length - MAX_OUTPUT);
  };
  child.stdout?.setEncoding('utf8').on('data', keep);
  child.stderr?.setEncoding('utf8').on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const isGone = () => child.exitCode !== null || child.signalCode !== null;
  return {
    child,
    output: () => out,
    exited,
    get gone() {
      return isGone();
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM', killAfterMs = 15_000) {
      if (isGone()) return child.exitCode;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Waits until GET `url` answers 200; throws (after SIGKILLing the process) if it exits first or the time runs out. */
export async function waitUntilAnswers(proc: ChildProcessHandle, url: string, what: string, timeoutMs: number, pollMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.gone) throw new Error(`${what} exited (code ${proc.child.exitCode}, signal ${proc.child.signalCode}) before ${url} answered:\n${proc.output()}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await proc.stop('SIGKILL');
      throw new Error(`${what}: ${url} did not answer within ${timeoutMs} ms:\n${proc.output()}`);
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
