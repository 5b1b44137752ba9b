// Shared by the real-client tests: finding kubectl, writing kubeconfig files, running a client
// process, and waiting on conditions with deadlines.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';

/** A fresh temp dir for one test file. */
export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** The kubectl to test: `$KUBECTL` when set, else the first `kubectl` on PATH; undefined when none. */
export function findKubectl(): string | undefined {
  const explicit = process.env.KUBECTL;
  if (explicit) return explicit;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, 'kubectl');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** A kubeconfig (YAML is a superset of JSON, so JSON is a valid kubeconfig file) for one server. */
export function writeKubeconfig(
  file: string,
  server: string,
  opts: { token?: string; namespace?: string; caCertPem?: string; insecureSkipTlsVerify?: boolean } = {},
): string {
  const cluster: Record<string, string | boolean> = { server };
  if (opts.caCertPem) cluster['certificate-authority-data'] = Buffer.from(opts.caCertPem).toString('base64');
  // @kubernetes/client-node 1.x refuses an http:// server unless this is set ("HTTP protocol is not
  // allowed when skipTLSVerify is not set or false"); kubectl accepts it either way.
  if (opts.insecureSkipTlsVerify) cluster['insecure-skip-tls-verify'] = true;
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'cell', cluster }],
    users: [{ name: 'cell-user', user: opts.token ? { token: opts.token } : {} }],
    contexts: [{ name: 'cell', context: { cluster: 'cell', user: 'cell-user', namespace: opts.namespace ?? 'default' } }],
    'current-context': 'cell',
    preferences: {},
  };
  writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  return file;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; a non-zero exit is a result, not an exception. */
export function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      { env: opts.env ?? process.env, cwd: opts.cwd, timeout: opts.timeoutMs ?? 30_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') {
          // Could not start it, or it was killed by the timeout.
          reject(new Error(`${cmd} ${args.join(' ')}: ${err.message}\nstdout: ${stdout}\nstderr: ${stderr}`));
          return;
        }
        resolve({ code: err ? Number(err.code) : 0, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `cond` until it returns truthy or the deadline passes; the error names what was awaited. */
export async function waitFor<T>(cond: () => T | Promise<T>, what: string, timeoutMs = 10_000, everyMs = 25): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v as NonNullable<T>;
      last = undefined;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    }
    await sleep(everyMs);
  }
}

/** A long-running child process whose output is collected as it arrives. */
export interface Streaming {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** SIGTERM (then SIGKILL after 5 s) and wait for exit. */
  stop(): Promise<void>;
}

export function spawnStreaming(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Streaming {
  const child = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

/** Asserts a command exited 0, showing its output when it did not. */
export function expectOk(r: RunResult, what: string): RunResult {
  expect(r.code, `${what} failed (exit ${r.code})\nstdout: ${r.stdout}\nstderr: ${r.stderr}`).to.equal(0);
  return r;
}

/** Rows of a kubectl/cellctl table (header excluded), split on runs of two or more spaces. */
export function rows(stdout: string): string[][] {
  return stdout
    .trim()
    .split('\n')
    .slice(1)
    .filter((l) => l.trim() !== '')
    .map((l) => l.trim().split(/\s{2,}/));
}

/** A Python 3 that has the official client (Debian's python3-kubernetes), or undefined. */
export function findPython(): string | undefined {
  for (const py of [process.env.CELL_PYTHON, '/usr/bin/python3', 'python3']) {
    if (!py) continue;
    try {
      execFileSync(py, ['-c', 'import kubernetes'], { stdio: 'ignore' });
      return py;
    } catch {
      // not this one: try the next
    }
  }
  return undefined;
}
