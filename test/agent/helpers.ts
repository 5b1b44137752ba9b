// Shared by the agent tests: real `cell-agent` processes (started with tsx, as a user would run
// them), pods bound to a node, waiting on pod state with deadlines, and the process table.
import { expect } from 'chai';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Node, Pod, PodInput } from '../../shared/api/core.js';
import type { ApiClient } from '../../shared/client/http-client.js';
import { NotFoundError } from '../../shared/errors.js';
import { findPython, run, waitFor, writeKubeconfig, type RunResult } from '../clients/helpers.js';
import { startTestApiServer, TEST_TOKENS, type TestApiServer } from '../harness/apiserver.js';
import { TEST_TLS_CERT, TEST_TLS_KEY } from '../harness/tls.js';
import type { ApiServerOptions } from '../../apiserver/server.js';

export { sleep, waitFor } from '../clients/helpers.js';

const REPO = process.cwd();

export interface AgentProcess {
  child: ChildProcess;
  pid: number;
  /** What the agent logged (stderr), for failure messages. */
  output(): string;
  exited: Promise<void>;
  /** SIGTERM (the pods keep running), waiting for the exit. */
  stop(): Promise<void>;
  /** SIGKILL, waiting for the exit. */
  kill(): Promise<void>;
}

export function startAgent(args: string[], env: NodeJS.ProcessEnv = {}): AgentProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'agent/main.ts'), '--log-level=warn', ...args], {
    cwd: REPO,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    // Keep the tail only: a long test must not grow this without bound.
    err = (err + d).slice(-200_000);
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  const signal = async (sig: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    await exited;
  };
  return {
    child,
    pid: child.pid ?? -1,
    output: () => err,
    exited,
    stop: () => signal('SIGTERM'),
    kill: () => signal('SIGKILL'),
  };
}

/**
 * The flags of a test's real agent for node-1 on this host: loopback, a 4-cpu 4Gi node, 1 s
 * heartbeats, its files under `root`; `extra` adds or overrides (connection flags among them).
 */
export function nodeOneAgentArgs(root: string, extra: string[]): string[] {
  return [
    '--node-name=node-1',
    '--node-ip=127.0.0.1',
    '--address=127.0.0.1',
    `--root-dir=${path.join(root, 'agent')}`,
    '--cpu=4',
    '--memory=4Gi',
    '--heartbeat-interval=1s',
    ...extra,
  ];
}

/** What the suites that stream to pods through the agent (exec, attach, port-forward) run against. */
export interface StreamingCluster {
  api: TestApiServer;
  agent: AgentProcess;
  root: string;
  /** node-1's kubeconfig, to start its agent again. */
  nodeConfig: string;
  /** The agent's own endpoint (status.daemonEndpoints). */
  agentPort: number;
  /** A kubeconfig per user asked for. */
  kubeconfigs: Record<string, string>;
}

/**
 * An API server over TLS with RBAC on real etcd, a real agent for node-1 that pings its streaming
 * clients every second (so every client in these suites must answer, as kubectl, Python and
 * JavaScript do), and a kubeconfig for each of `users`.
 */
export async function startStreamingCluster(
  prefix: string,
  users: readonly (keyof typeof TEST_TOKENS)[],
  extraAgentArgs: readonly string[] = [],
  apiOptions: Partial<Omit<ApiServerOptions, 'store'>> = {},
): Promise<StreamingCluster> {
  const api = await startTestApiServer({ ...apiOptions, backend: 'etcd', auth: true, tls: { cert: TEST_TLS_CERT, key: TEST_TLS_KEY } });
  const root = tempRoot(prefix);
  const nodeConfig = writeKubeconfig(path.join(root, 'node-1.kubeconfig'), api.url, { token: TEST_TOKENS.node1, caCertPem: TEST_TLS_CERT });
  const agent = startAgent(nodeOneAgentArgs(root, [`--kubeconfig=${nodeConfig}`, '--exec-keepalive=1s', ...extraAgentArgs]));
  const admin = api.client(TEST_TOKENS.admin);
  await waitNodeReady(admin, agent);
  const node = await admin.get<Node>({ resource: 'nodes', name: 'node-1' });
  const kubeconfigs: Record<string, string> = {};
  for (const user of users) kubeconfigs[user] = writeKubeconfig(path.join(root, `${user}.kubeconfig`), api.url, { token: TEST_TOKENS[user], caCertPem: TEST_TLS_CERT });
  return { api, agent, root, nodeConfig, agentPort: node.status.daemonEndpoints?.kubeletEndpoint?.Port ?? 0, kubeconfigs };
}

/**
 * Runs one of test/clients/python's pod scripts (the official Python client, unchanged) as admin
 * against a streaming cluster's API server, for `pod` in the default namespace, with `args` after
 * the connection flags. Fails the test where no python3 has the client (.ci/run installs it).
 */
export async function runPythonPodScript(c: Pick<StreamingCluster, 'api' | 'root'>, script: string, pod: string, args: string[]): Promise<RunResult> {
  const python = findPython();
  if (!python) throw new Error('no python3 with the kubernetes package: .ci/run installs it (python3-kubernetes)');
  const caFile = path.join(c.root, 'ca.pem');
  writeFileSync(caFile, TEST_TLS_CERT);
  return run(python, [
    path.join(REPO, 'test/clients/python', script),
    ...['--server', c.api.url, '--token', TEST_TOKENS.admin, '--ca', caFile, '--namespace', 'default', '--pod', pod],
    ...args,
  ], { timeoutMs: 60_000 });
}

/** Waits until `node`'s Ready condition is True, naming the agent's output if it never is. */
export async function waitNodeReady(client: ApiClient, agent: AgentProcess, node = 'node-1'): Promise<void> {
  await waitFor(async () => {
    const n = await client.get<Node>({ resource: 'nodes', name: node });
    return n.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
  }, `${node} Ready (agent output: ${agent.output()})`, 30_000, 100);
}

export function tempRoot(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export interface ProcRow {
  pid: number;
  pgid: number;
  args: string;
}

/** Processes whose command line mentions `marker` (e.g. a test's root dir), from `ps`. */
export function processesWith(marker: string): ProcRow[] {
  const out = execFileSync('ps', ['-eo', 'pid=,pgid=,args='], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  return out
    .split('\n')
    .map((l) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ pid: Number(m[1]), pgid: Number(m[2]), args: m[3]! }))
    .filter((r) => r.args.includes(marker) && r.pid !== process.pid);
}

/**
 * Kill what mentions `marker` (test cleanup after a failure): whole groups for container shims
 * (each leads its own group), the process alone otherwise — an agent shares the test's group.
 */
export function killAllWith(marker: string): void {
  for (const p of processesWith(marker)) {
    try {
      process.kill(p.pgid === p.pid ? -p.pgid : p.pid, 'SIGKILL');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }
}

export function pod(name: string, opts: {
  node?: string;
  command: string[];
  args?: string[];
  env?: Record<string, string>;
  restartPolicy?: 'Always' | 'OnFailure' | 'Never';
  grace?: number;
  cpu?: string;
  memory?: string;
  annotations?: Record<string, string>;
  containers?: { name: string; command: string[] }[];
}): PodInput {
  const main = {
    name: 'main',
    image: 'busybox',
    command: opts.command,
    ...(opts.args ? { args: opts.args } : {}),
    ...(opts.env ? { env: Object.entries(opts.env).map(([k, v]) => ({ name: k, value: v })) } : {}),
    resources: { requests: { cpu: opts.cpu ?? '100m', memory: opts.memory ?? '32Mi' } },
  };
  const extra = (opts.containers ?? []).map((c) => ({ name: c.name, image: 'busybox', command: c.command, resources: { requests: { cpu: '10m' } } }));
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', ...(opts.annotations ? { annotations: opts.annotations } : {}) },
    spec: {
      ...(opts.node ? { nodeName: opts.node } : {}),
      restartPolicy: opts.restartPolicy ?? 'Always',
      terminationGracePeriodSeconds: opts.grace ?? 30,
      containers: [main, ...extra],
    },
  };
}

export async function createPod(client: ApiClient, p: PodInput): Promise<Pod> {
  return client.create<Pod>({ namespace: 'default', resource: 'pods' }, p);
}

/** Bind through the binding subresource, as a scheduler does. */
export async function bind(client: ApiClient, name: string, node: string): Promise<void> {
  await client.create({ namespace: 'default', resource: 'pods', name, subresource: 'binding' }, {
    apiVersion: 'v1',
    kind: 'Binding',
    metadata: { name },
    target: { kind: 'Node', name: node },
  });
}

export async function getPod(client: ApiClient, name: string): Promise<Pod | undefined> {
  try {
    return await client.get<Pod>({ namespace: 'default', resource: 'pods', name });
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}

/** Wait until the pod satisfies `cond`; the error shows the pod's last status. */
export async function waitPod(client: ApiClient, name: string, cond: (p: Pod) => boolean, what: string, timeoutMs = 20_000): Promise<Pod> {
  let last: Pod | undefined;
  try {
    return await waitFor(async () => {
      last = await getPod(client, name);
      return last && cond(last) ? last : undefined;
    }, `pod ${name} ${what}`, timeoutMs, 100);
  } catch (err) {
    throw new Error(`${(err as Error).message}\nlast status: ${JSON.stringify(last?.status)}`);
  }
}

/** Delete a pod with a short grace period; one that is gone already is fine. */
export async function deleteIfPresent(client: ApiClient, name: string, gracePeriodSeconds = 1): Promise<void> {
  try {
    await client.delete({ namespace: 'default', resource: 'pods', name }, { gracePeriodSeconds });
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
  }
}

export async function waitGone(client: ApiClient, name: string, timeoutMs = 20_000): Promise<void> {
  await waitFor(async () => (await getPod(client, name)) === undefined, `pod ${name} to be deleted`, timeoutMs, 100);
}

/** Raw GET of a pod's log through the API server (text, or the error Status's message). */
export async function podLog(url: string, token: string, name: string, query = ''): Promise<{ status: number; text: string }> {
  const res = await fetch(`${url}/api/v1/namespaces/default/pods/${name}/log${query ? `?${query}` : ''}`, { headers: { Authorization: `Bearer ${token}` } });
  return { status: res.status, text: await res.text() };
}

export function terminated(p: Pod, container = 'main') {
  return p.status.containerStatuses?.find((c) => c.name === container)?.state?.terminated;
}

export function containerStatus(p: Pod, container = 'main') {
  return p.status.containerStatuses?.find((c) => c.name === container);
}

/**
 * Teardown shared by the real-agent suites: delete every pod (the agent confirms each), wait until
 * no container process is left, stop the agent and the API server, and fail if anything the test
 * started is still running.
 */
export async function tearDownAgentTest(env: { admin: ApiClient; agent: AgentProcess | undefined; root: string; close(): Promise<void> }): Promise<void> {
  try {
    const pods = await env.admin.list<{ items: Pod[] }>({ namespace: 'default', resource: 'pods' });
    await Promise.all(pods.items.map((p) => deleteIfPresent(env.admin, p.metadata.name ?? '')));
    await waitFor(async () => (await env.admin.list<{ items: Pod[] }>({ namespace: 'default', resource: 'pods' })).items.length === 0, 'every pod deleted', 20_000, 100);
    await waitFor(() => processesWith(env.root).filter((p) => p.args.includes('cell-container')).length === 0, 'no container process left', 10_000, 100);
  } finally {
    await env.agent?.stop();
    const left = processesWith(env.root);
    killAllWith(env.root);
    await env.close();
    removeDir(env.root);
    expect(left, `processes left behind: ${JSON.stringify(left)}`).to.deep.equal([]);
  }
}
