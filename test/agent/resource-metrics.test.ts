// The metrics API end to end: a real cell-agent process samples its containers from /proc, the
// API server (real etcd, RBAC) builds metrics.k8s.io NodeMetrics and PodMetrics from the samples,
// and real `kubectl top` reads them. A pod spinning on the CPU must show it; one that sleeps must
// not; a node whose agent cannot be reached, or answers for another node, is left out.
import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { PodInput } from '../../shared/api/core.js';
import type { NodeMetrics, PodMetrics } from '../../shared/api/metrics.js';
import { NotFoundError } from '../../shared/errors.js';
import { Quantity } from '../../shared/quantity.js';
import { startTestApiServer, TEST_TOKENS, type TestApiServer } from '../harness/apiserver.js';
import { findKubectl, run, writeKubeconfig } from '../clients/helpers.js';
import { cellctl, isolatedEnv, tempDir } from '../cli/helpers.js';
import { startTlsProxy, TEST_TLS_CERT } from '../clients/tls-proxy.js';
import { containerStatus, createPod, pod, startAgent, tempRoot, waitFor, waitPod, type AgentProcess, tearDownAgentTest, nodeOneAgentArgs, waitNodeReady } from './helpers.js';

const METRICS = { group: 'metrics.k8s.io', version: 'v1beta1' } as const;

function milliCores(q: string): number {
  return Number(Quantity.parse(q).milliValue());
}

function bytes(q: string): number {
  return Number(Quantity.parse(q).value());
}

function labelled(p: PodInput, labels: Record<string, string>): PodInput {
  return { ...p, metadata: { ...p.metadata, labels } };
}

describe('metrics API (kubectl top) from the agents’ usage samples', function () {
  this.timeout(90_000);
  let api: TestApiServer;
  let agent: AgentProcess;
  let root: string;
  const admin = () => api.client(TEST_TOKENS.admin);

  async function get(token: string, p: string, method = 'GET'): Promise<{ status: number; body: { kind?: string; reason?: string; message?: string } & Record<string, unknown> }> {
    const res = await fetch(`${api.url}${p}`, { method, headers: { Authorization: `Bearer ${token}` } });
    return { status: res.status, body: (await res.json()) as { kind?: string } & Record<string, unknown> };
  }

  before(async function () {
    this.timeout(60_000);
    api = await startTestApiServer({ backend: 'etcd', auth: true });
    root = tempRoot('cell-agent-metrics-');
    const kubeconfig = writeKubeconfig(path.join(root, 'node-1.kubeconfig'), api.url, { token: TEST_TOKENS.node1 });
    agent = startAgent(nodeOneAgentArgs(root, [`--kubeconfig=${kubeconfig}`, '--stats-interval=1s']));
    await waitNodeReady(admin(), agent);
  });

  after(async function () {
    this.timeout(60_000);
    await tearDownAgentTest({ admin: admin(), agent, root, close: async () => api?.close() });
  });

  it('reports a busy container’s CPU, an idle one’s memory, and the node as their sum and more', async () => {
    await createPod(admin(), labelled(pod('spinner', { node: 'node-1', command: ['sh', '-c', 'while :; do :; done'], grace: 1 }), { app: 'spin' }));
    await createPod(
      admin(),
      labelled(pod('sleeper', { node: 'node-1', command: ['sleep', '600'], containers: [{ name: 'sidecar', command: ['sleep', '600'] }], grace: 1 }), { app: 'sleep' }),
    );
    for (const name of ['spinner', 'sleeper']) await waitPod(admin(), name, (p) => p.status.phase === 'Running' && containerStatus(p)?.ready === true, 'to run');

    // Listed once their containers ran through a whole sampling window.
    const list = await waitFor(async () => {
      const l = await admin().list<{ kind: string; items: PodMetrics[] }>({ ...METRICS, namespace: 'default', resource: 'pods' });
      return l.items.length === 2 ? l : undefined;
    }, 'both pods in the metrics API', 20_000, 200);
    expect(list.kind).to.equal('PodMetricsList');
    const spinner = list.items.find((m) => m.metadata.name === 'spinner')!;
    const sleeper = list.items.find((m) => m.metadata.name === 'sleeper')!;
    expect(spinner.metadata).to.include({ namespace: 'default' });
    expect(spinner.metadata.labels).to.deep.equal({ app: 'spin' });
    expect(sleeper.containers.map((c) => c.name).sort()).to.deep.equal(['main', 'sidecar']);
    // A shell spinning for a whole window uses a good part of a core even on a busy machine;
    // sleep uses next to nothing. Both are resident.
    const spinnerCpu = milliCores(spinner.containers[0]!.usage.cpu);
    expect(spinnerCpu, spinner.containers[0]!.usage.cpu).to.be.greaterThan(100);
    for (const c of sleeper.containers) {
      expect(milliCores(c.usage.cpu), c.usage.cpu).to.be.lessThan(spinnerCpu / 4);
      expect(bytes(c.usage.memory), c.usage.memory).to.be.greaterThan(64 * 1024);
    }
    expect(spinner.window).to.match(/^\d+(\.\d+)?s$|^\d+ms$/);

    // The node: its containers plus the agent itself, over its latest window.
    const node = await admin().get<NodeMetrics>({ ...METRICS, resource: 'nodes', name: 'node-1' });
    expect(node).to.include({ kind: 'NodeMetrics', apiVersion: 'metrics.k8s.io/v1beta1' });
    expect(milliCores(node.usage.cpu)).to.be.greaterThan(100);
    expect(bytes(node.usage.memory)).to.be.greaterThan(20 * 1024 * 1024);

    // Selectors and single gets.
    const spinning = await admin().list<{ items: PodMetrics[] }>({ ...METRICS, namespace: 'default', resource: 'pods' }, { labelSelector: 'app=spin' });
    expect(spinning.items.map((m) => m.metadata.name)).to.deep.equal(['spinner']);
    const one = await admin().get<PodMetrics>({ ...METRICS, namespace: 'default', resource: 'pods', name: 'sleeper' });
    expect(one.kind).to.equal('PodMetrics');
    const everywhere = await admin().list<{ items: PodMetrics[] }>({ ...METRICS, resource: 'pods' });
    expect(everywhere.items.map((m) => m.metadata.name).sort()).to.deep.equal(['sleeper', 'spinner']);
    const elsewhere = await admin().list<{ items: PodMetrics[] }>({ ...METRICS, namespace: 'kube-system', resource: 'pods' });
    expect(elsewhere.items).to.deep.equal([]);
  });

  it('answers 404 for a pod that is not running, 405 for a watch or a write, and follows RBAC', async () => {
    await createPod(admin(), pod('unbound', { command: ['true'] }));
    let missing: unknown;
    try {
      await admin().get({ ...METRICS, namespace: 'default', resource: 'pods', name: 'unbound' });
    } catch (err) {
      missing = err;
    }
    expect(missing).to.be.instanceOf(NotFoundError);
    expect((missing as Error).message).to.match(/podmetrics\.metrics\.k8s\.io "default\/unbound" not found/);

    const watch = await get(TEST_TOKENS.admin, '/apis/metrics.k8s.io/v1beta1/nodes?watch=true');
    expect(watch.status).to.equal(405);
    expect(watch.body).to.include({ kind: 'Status', reason: 'MethodNotAllowed' });
    expect((await get(TEST_TOKENS.admin, '/apis/metrics.k8s.io/v1beta1/nodes', 'DELETE')).status).to.equal(405);
    expect((await get(TEST_TOKENS.admin, '/apis/metrics.k8s.io/v1beta1/services')).status).to.equal(404);
    expect((await get(TEST_TOKENS.admin, '/apis/metrics.k8s.io/v1beta1/namespaces/default/nodes')).status).to.equal(404);
    expect((await get(TEST_TOKENS.admin, '/apis/metrics.k8s.io/v1beta1/nodes?labelSelector=a%3D%3D%3Db')).status).to.equal(400);

    // Viewers read metrics (the view role has them, as Kubernetes' aggregated-metrics-reader);
    // a user with no grant, or a node, does not.
    expect((await get(TEST_TOKENS.viewer, '/apis/metrics.k8s.io/v1beta1/nodes')).status).to.equal(200);
    expect((await get(TEST_TOKENS.viewer, '/apis/metrics.k8s.io/v1beta1/namespaces/default/pods')).status).to.equal(200);
    const nobody = await get(TEST_TOKENS.nobody, '/apis/metrics.k8s.io/v1beta1/namespaces/default/pods');
    expect(nobody.status).to.equal(403);
    expect(nobody.body.message).to.match(/pods\.metrics\.k8s\.io/);
    expect((await get(TEST_TOKENS.node1, '/apis/metrics.k8s.io/v1beta1/nodes')).status).to.equal(403);
    expect((await get('wrong-token', '/apis/metrics.k8s.io/v1beta1/nodes')).status).to.equal(401);

    // Discovery names the group, so kubectl finds it.
    const groups = await get(TEST_TOKENS.viewer, '/apis');
    const names = (groups.body.groups as { name: string; preferredVersion: { groupVersion: string } }[]).map((g) => g.name);
    expect(names).to.include('metrics.k8s.io');
    const resources = await get(TEST_TOKENS.viewer, '/apis/metrics.k8s.io/v1beta1');
    expect((resources.body.resources as { name: string; kind: string }[]).map((r) => `${r.name}:${r.kind}`).sort()).to.deep.equal(['nodes:NodeMetrics', 'pods:PodMetrics']);
    // And OpenAPI describes the kinds, so `kubectl explain nodemetrics` works.
    const index = await get(TEST_TOKENS.viewer, '/openapi/v3');
    const gv = (index.body.paths as Record<string, { serverRelativeURL: string }>)['apis/metrics.k8s.io/v1beta1'];
    expect(gv).not.to.equal(undefined);
    const doc = await get(TEST_TOKENS.viewer, gv!.serverRelativeURL);
    const schemas = Object.keys((doc.body.components as { schemas: Record<string, unknown> }).schemas);
    expect(schemas.some((n) => n.endsWith('.NodeMetrics'))).to.equal(true);
    expect(schemas.some((n) => n.endsWith('.PodMetricsList'))).to.equal(true);
  });

  it('leaves out nodes whose agent is unreachable, silent or answers for another node; asks each agent once per window', async () => {
    const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const sampleOf = (nodeName: string, windowSeconds: number) => ({ nodeName, timestamp: now(), windowSeconds, node: { cpuNanoCores: 5_000_000, memoryBytes: 1 << 20 }, pods: [] });
    const listen = async (server: http.Server) => {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return (server.address() as AddressInfo).port;
    };
    // node-2's agent answers for node-1; node-3's port is closed; node-4's agent answers for itself
    // with a 30 s window, counting the requests; node-5 is not Ready (its agent is never asked);
    // node-6's agent accepts the connection and never answers.
    const liar = http.createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(sampleOf('node-1', 1))));
    let asked = 0;
    const counting = http.createServer((_req, res) => {
      asked++;
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(sampleOf('node-4', 30)));
    });
    const held: http.ServerResponse[] = [];
    const silent = http.createServer((_req, res) => void held.push(res));
    const closed = http.createServer();
    const closedPort = await listen(closed);
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const ports = { 'node-2': await listen(liar), 'node-3': closedPort, 'node-4': await listen(counting), 'node-5': counting.address() as AddressInfo, 'node-6': await listen(silent) };
    const fakes = Object.keys(ports);
    try {
      for (const [name, p] of Object.entries(ports)) {
        const port = typeof p === 'number' ? p : p.port;
        const status = {
          addresses: [{ type: 'InternalIP', address: '127.0.0.1' }],
          daemonEndpoints: { kubeletEndpoint: { Port: port } },
          conditions: [{ type: 'Ready', status: name === 'node-5' ? 'False' : 'True', reason: 'Test' }],
        };
        await admin().create({ resource: 'nodes' }, { apiVersion: 'v1', kind: 'Node', metadata: { name }, status });
        await admin().patch({ resource: 'nodes', name, subresource: 'status' }, { status });
      }
      const started = Date.now();
      const list = await admin().list<{ items: NodeMetrics[] }>({ ...METRICS, resource: 'nodes' });
      // The silent agent costs the request its 5 s timeout, no more.
      expect(Date.now() - started).to.be.lessThan(9_000);
      expect(list.items.map((m) => m.metadata.name).sort()).to.deep.equal(['node-1', 'node-4']);
      const four = list.items.find((m) => m.metadata.name === 'node-4')!;
      expect(four.usage).to.deep.equal({ cpu: '5000000n', memory: '1024Ki' });
      expect(four.window).to.equal('30s');
      expect(asked).to.equal(1);
      // Within node-4's window its sample is not asked for again.
      await admin().get({ ...METRICS, resource: 'nodes', name: 'node-4' });
      expect(asked).to.equal(1);

      const quick = Date.now();
      let missing: unknown;
      try {
        await admin().get({ ...METRICS, resource: 'nodes', name: 'node-3' });
      } catch (err) {
        missing = err;
      }
      expect(missing).to.be.instanceOf(NotFoundError);
      expect(Date.now() - quick).to.be.lessThan(5_000);
    } finally {
      for (const res of held) res.destroy();
      for (const server of [liar, counting, silent]) await new Promise<void>((resolve) => server.close(() => resolve()));
      for (const name of fakes) await admin().delete({ resource: 'nodes', name }).catch((err: unknown) => console.log(`      cleanup: ${String(err)}`));
    }
  });

  it('cellctl top shows usage beside requests', async () => {
    const env = isolatedEnv(tempDir());
    const ctl = (...args: string[]) => cellctl([`--server=${api.url}`, `--token=${TEST_TOKENS.admin}`, ...args], { env });
    const [nodes, pods] = await Promise.all([ctl('top', 'nodes', 'node-1'), ctl('top', 'pods')]);
    expect(nodes.code, nodes.stderr).to.equal(0);
    expect(nodes.stdout).to.match(/^NAME +CPU\(requests\) +CPU% +CPU\(used\) +MEMORY\(requests\) +MEMORY% +MEMORY\(used\) +PODS +PODS%\n/);
    const nodeRow = /\nnode-1 +\S+ +\d+% +(\d+)m +\S+ +\d+% +(\d+)Mi +/.exec(nodes.stdout);
    expect(nodeRow, nodes.stdout).not.to.equal(null);
    expect(Number(nodeRow![1])).to.be.greaterThan(100);
    expect(pods.code, pods.stderr).to.equal(0);
    expect(pods.stdout).to.match(/^NAME +NODE +CPU\(requests\) +CPU\(used\) +MEMORY\(requests\) +MEMORY\(used\)\n/);
    // The spinner requested 100m and uses far more; the sleeper's two containers are summed.
    const spinner = /\nspinner +node-1 +100m +(\d+)m +32Mi +\d+Mi\n/.exec(pods.stdout);
    expect(spinner, pods.stdout).not.to.equal(null);
    expect(Number(spinner![1])).to.be.greaterThan(100);
    expect(pods.stdout).to.match(/\nsleeper +node-1 +110m +\d+m +32Mi +\d+Mi\n/);
  });

  it('is what real kubectl top prints', async function () {
    const kubectl = findKubectl();
    if (!kubectl) this.skip(); // no kubectl on this machine: .ci/run installs it, so CI runs this
    await waitPod(admin(), 'spinner', (p) => p.status.phase === 'Running', 'to run');
    const proxy = await startTlsProxy(api.url);
    const kubeconfig = writeKubeconfig(path.join(root, 'admin.kubeconfig'), proxy.url, { token: TEST_TOKENS.admin, caCertPem: TEST_TLS_CERT });
    try {
      const nodes = await run(kubectl!, ['--kubeconfig', kubeconfig, 'top', 'nodes']);
      expect(nodes.code, nodes.stderr).to.equal(0);
      expect(nodes.stdout).to.match(/^NAME\s+CPU\(cores\)\s+CPU%\s+MEMORY\(bytes\)\s+MEMORY%/);
      // node-1's row: its CPU in millicores, and a percentage of its 4 allocatable cores.
      expect(nodes.stdout).to.match(/\nnode-1\s+\d+m\s+\d+%\s+\d+Mi\s+\d+%/);
      // kubectl get asks for the Table form: the columns metrics-server prints.
      const got = await run(kubectl!, ['--kubeconfig', kubeconfig, 'get', 'podmetrics', '-l', 'app=sleep']);
      expect(got.code, got.stderr).to.equal(0);
      expect(got.stdout).to.match(/^NAME\s+CPU\s+MEMORY\s+WINDOW\nsleeper\s+\d+m\s+\d+Ki\s+[\d.]+m?s\n$/);
      const pods = await run(kubectl!, ['--kubeconfig', kubeconfig, 'top', 'pods', '--containers', '-l', 'app=sleep']);
      expect(pods.code, pods.stderr).to.equal(0);
      expect(pods.stdout).to.match(/\nsleeper\s+main\s+\d+m\s+\d+Mi/);
      expect(pods.stdout).to.match(/\nsleeper\s+sidecar\s+\d+m\s+\d+Mi/);
      expect(pods.stdout).not.to.match(/spinner/);
    } finally {
      await proxy.close();
    }
  });
});
