// Running cellctl as a real process (`node --import tsx cli/main.ts …`) against a real API
// server, and the fixtures its tests share: an isolated environment (no $CELLCONFIG, a temp
// HOME), kubeconfig files, nodes with capacity, bound pods.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ApiClient } from '../../shared/client/http-client.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MAIN = path.join(ROOT, 'cli', 'main.ts');

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export function tempDir(prefix = 'cellctl-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** The environment cellctl runs in: nothing of the developer's (kubeconfig, colours) leaks in. */
export function isolatedEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home };
  delete env.CELLCONFIG;
  delete env.KUBECONFIG;
  delete env.NO_COLOR;
  return { ...env, ...extra };
}

/** Run cellctl to completion; a non-zero exit is a result, not an exception. */
export function cellctl(args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): Promise<Result> {
  return runProcess(process.execPath, ['--import', 'tsx', MAIN, ...args], opts);
}

/**
 * Any command, asynchronously: the API server under test runs in this process, so a
 * synchronous spawn would stop it from answering.
 */
export function runProcess(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: ROOT,
      env: opts.env ?? isolatedEnv(tempDir()),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${path.basename(cmd)} ${args.join(' ')} did not finish in ${opts.timeoutMs ?? 30_000} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, opts.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** A cellctl that keeps running (`get -w`, `logs -f`), with its output so far. */
export interface Running {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** SIGINT (Ctrl-C), then the exit code. */
  interrupt(): Promise<number>;
  /** The exit code, once it exits by itself. */
  readonly exit: Promise<number>;
}

export function cellctlRunning(args: string[], env: NodeJS.ProcessEnv): Running {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number>((resolve) => child.once('close', (code, signal) => resolve(code ?? (signal ? 128 : 1))));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exit: exited,
    async interrupt() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function waitFor<T>(cond: () => T | Promise<T>, what: string, timeoutMs = 15_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** A kubeconfig with one context per entry (the first is current), as JSON (valid YAML). */
export function writeKubeconfig(file: string, contexts: { name: string; server: string; token?: string; namespace?: string }[], current = contexts[0]?.name): string {
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: contexts.map((c) => ({ name: `${c.name}-cluster`, cluster: { server: c.server } })),
    users: contexts.map((c) => ({ name: `${c.name}-user`, user: c.token ? { token: c.token } : {} })),
    contexts: contexts.map((c) => ({ name: c.name, context: { cluster: `${c.name}-cluster`, user: `${c.name}-user`, ...(c.namespace ? { namespace: c.namespace } : {}) } })),
    'current-context': current,
  };
  writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  return file;
}

/** A Ready node with this allocatable (status written through the status subresource, as an agent would). */
export async function createNode(client: ApiClient, name: string, allocatable: Record<string, string>, labels: Record<string, string> = {}): Promise<void> {
  await client.create({ resource: 'nodes' }, { apiVersion: 'v1', kind: 'Node', metadata: { name, labels } });
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  await client.patch(
    { resource: 'nodes', name, subresource: 'status' },
    {
      status: {
        capacity: allocatable,
        allocatable,
        conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: now, lastTransitionTime: now, reason: 'AgentReady', message: 'agent is posting ready status' }],
      },
    },
    'merge',
  );
}

export function podManifest(name: string, opts: { namespace?: string; labels?: Record<string, string>; cpu?: string; memory?: string; grace?: number } = {}): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: opts.namespace ?? 'default', labels: opts.labels ?? {} },
    spec: {
      ...(opts.grace !== undefined ? { terminationGracePeriodSeconds: opts.grace } : {}),
      containers: [{ name: 'main', image: 'busybox', command: ['sleep', '3600'], resources: { requests: { cpu: opts.cpu ?? '100m', memory: opts.memory ?? '64Mi' } } }],
    },
  };
}

/** Create a pod and bind it to a node, the way a scheduler does. */
export async function createBoundPod(client: ApiClient, name: string, node: string, opts: Parameters<typeof podManifest>[1] = {}): Promise<void> {
  const ns = opts.namespace ?? 'default';
  await client.create({ resource: 'pods', namespace: ns }, podManifest(name, opts));
  await client.create(
    { resource: 'pods', namespace: ns, name, subresource: 'binding' },
    { apiVersion: 'v1', kind: 'Binding', metadata: { name }, target: { kind: 'Node', name: node } },
  );
}
