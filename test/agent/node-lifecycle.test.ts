// The node lifecycle controller and pod GC, run by an in-process cell-controller-manager against a
// real API server on etcd (short timeouts), with a real agent killed by SIGKILL: its node goes Unknown and is tainted within the grace period, its pods are
// failed (NodeLost) and their allocation freed after the eviction timeout, the ledger audit stays
// clean, and a restarted agent makes the node Ready and untainted again (and stops the processes
// of the pods that were failed meanwhile). The same with the agent alive but cut off from the API
// server (a network partition, its requests held, not refused): when the link returns, that same
// agent brings the node back and stops the failed pods — what it had held back must not bring them
// back to life. Also: pods bound to a node that vanished without releasing them are failed by the
// GC. And an agent given two API servers keeps its node Ready when the first goes silent.
// (Leader election of the manager: test/controllers/.)
import { expect } from 'chai';
import path from 'node:path';
import type { Node, Pod } from '../../shared/api/core.js';
import type { NodeAllocation } from '../../shared/api/scheduling.js';
import { CuttableNetwork } from '../harness/cuttable-network.js';
import { startTestApiServer, TEST_TOKENS, type TestApiServer } from '../harness/apiserver.js';
import { startTestControllerManager, type TestControllerManager } from '../controllers/helpers.js';
import {
  createPod,
  deleteIfPresent,
  killAllWith,
  pod,
  processesWith,
  removeDir,
  sleep,
  startAgent,
  tempRoot,
  waitFor,
  waitPod,
  type AgentProcess,
} from './helpers.js';

const GRACE_MS = 4000;
const EVICTION_MS = 3000;
const UNREACHABLE = 'node.kubernetes.io/unreachable';

describe('node lifecycle controller and pod GC', function () {
  this.timeout(60_000);
  let api: TestApiServer;
  let agent: AgentProcess | undefined;
  let controllers: TestControllerManager | undefined;
  let root: string;
  const admin = () => api.client(TEST_TOKENS.admin);
  const agentArgs = (server = api.url) => [
    `--server=${server}`,
    `--token=${TEST_TOKENS.node1}`,
    '--node-name=node-1',
    '--node-ip=127.0.0.1',
    '--address=127.0.0.1',
    `--root-dir=${path.join(root, 'agent')}`,
    '--cpu=2',
    '--memory=2Gi',
    '--heartbeat-interval=500ms',
    '--lease-duration=4s',
  ];
  const getNode = (name: string) => admin().get<Node>({ resource: 'nodes', name });
  const ready = (n: Node) => n.status.conditions?.find((c) => c.type === 'Ready')?.status;
  const taints = (n: Node) => (n.spec.taints ?? []).filter((t) => t.key === UNREACHABLE).map((t) => t.effect).sort();
  const audit = async () => (await (await fetch(`${api.url}/audit`, { headers: { Authorization: `Bearer ${TEST_TOKENS.admin}` } })).json()) as { ok: boolean; violations: unknown[] };

  before(async function () {
    this.timeout(60_000);
    api = await startTestApiServer({ backend: 'etcd', auth: true });
    controllers = startTestControllerManager(api.url, {
      token: TEST_TOKENS.admin,
      enabled: ['nodelifecycle', 'podgc'],
      config: { nodeMonitorGracePeriodMs: GRACE_MS, podEvictionTimeoutMs: EVICTION_MS, nodeMonitorPeriodMs: 250, podGcIntervalMs: 500 },
    });
    root = tempRoot('cell-agent-lifecycle-');
  });

  after(async function () {
    this.timeout(60_000);
    try {
      const pods = await admin().list<{ items: Pod[] }>({ namespace: 'default', resource: 'pods' });
      await Promise.all(pods.items.map((p) => deleteIfPresent(admin(), p.metadata.name ?? '')));
    } finally {
      await agent?.stop();
      try {
        await waitFor(() => processesWith(root).filter((p) => p.args.includes('cell-container')).length === 0, 'no container process left', 10_000, 100);
      } catch {
        // Reported just below, with the processes that are left.
      }
      const left = processesWith(root);
      killAllWith(root);
      await controllers?.stop();
      await api?.close();
      removeDir(root);
      expect(left, `processes left behind: ${JSON.stringify(left)}`).to.deep.equal([]);
    }
  });

  it('marks a silent node Unknown and tainted, fails its pods and frees their allocation; a restarted agent heals it', async function () {
    this.timeout(90_000);
    agent = startAgent(agentArgs());
    await waitFor(async () => ready(await getNode('node-1')) === 'True', `node-1 Ready (${agent!.output()})`, 30_000, 100);
    await createPod(admin(), pod('lost-1', { node: 'node-1', command: ['sleep', '600'], cpu: '500m' }));
    await createPod(admin(), pod('lost-2', { node: 'node-1', command: ['sleep', '600'], cpu: '500m' }));
    const running = await Promise.all(['lost-1', 'lost-2'].map((n) => waitPod(admin(), n, (p) => p.status.phase === 'Running', 'to run')));
    // Healthy for a while: nothing happens to a node that heartbeats.
    await sleep(GRACE_MS + 1000);
    expect(ready(await getNode('node-1'))).to.equal('True');
    expect(taints(await getNode('node-1'))).to.deep.equal([]);

    await agent.kill();
    const killedAt = Date.now();
    const unknown = await waitFor(async () => {
      const n = await getNode('node-1');
      return ready(n) === 'Unknown' && taints(n).length === 2 ? n : undefined;
    }, 'node-1 Unknown and tainted', GRACE_MS + 15_000, 100);
    const unknownAfter = Date.now() - killedAt;
    expect(unknownAfter, 'not before the grace period').to.be.greaterThan(GRACE_MS - 1000);
    expect(taints(unknown)).to.deep.equal(['NoExecute', 'NoSchedule']);
    expect(unknown.status.conditions?.find((c) => c.type === 'Ready')?.reason).to.equal('NodeStatusUnknown');
    // Pods are not failed before the eviction timeout…
    expect((await admin().get<Pod>({ namespace: 'default', resource: 'pods', name: 'lost-1' })).status.phase).to.equal('Running');

    // …but after it.
    for (const name of ['lost-1', 'lost-2']) {
      const p = await waitPod(admin(), name, (x) => x.status.phase === 'Failed', 'to be failed as NodeLost', EVICTION_MS + 15_000);
      expect(p.status.reason).to.equal('NodeLost');
    }
    expect(Date.now() - killedAt).to.be.greaterThan(GRACE_MS + EVICTION_MS - 1500);
    const alloc = await admin().get<NodeAllocation>({ group: 'scheduling.cell.dev', version: 'v1alpha1', resource: 'nodeallocations', name: 'node-1' });
    expect(alloc.spec.pods).to.deep.equal([]);
    expect(alloc.spec.allocated).to.deep.equal({});
    expect(await audit()).to.include({ ok: true });
    // The agent is dead, so its processes still run until an agent comes back.
    const uids = running.map((p) => p.metadata.uid!);
    expect(uids.map((u) => processesWith(u).length)).to.deep.equal([1, 1]);

    agent = startAgent(agentArgs());
    await waitFor(async () => {
      const n = await getNode('node-1');
      return ready(n) === 'True' && taints(n).length === 0;
    }, 'node-1 Ready and untainted again', 30_000, 100);
    // The restarted agent stops what the API server says has failed, and reports it finished.
    await waitFor(() => uids.every((u) => processesWith(u).length === 0), 'the failed pods\' processes to be stopped', 15_000, 100);
    const after = await waitPod(admin(), 'lost-1', (p) => p.status.containerStatuses?.[0]?.state?.terminated !== undefined, 'to show its container terminated');
    expect(after.status).to.include({ phase: 'Failed', reason: 'NodeLost' });
    expect(await audit()).to.include({ ok: true });
  });

  it('a partitioned agent: the node goes Unknown and its pods NodeLost; when the link returns, that agent stops them and the node is Ready', async function () {
    this.timeout(90_000);
    await agent?.stop();
    const net = await CuttableNetwork.start([], [api.server.port]);
    try {
      const [via] = await net.clientUrls('agent');
      agent = startAgent(agentArgs(via));
      await waitFor(async () => {
        const n = await getNode('node-1');
        return ready(n) === 'True' && taints(n).length === 0;
      }, `node-1 Ready and untainted (${agent.output()})`, 30_000, 100);
      await createPod(admin(), pod('cut-1', { node: 'node-1', command: ['sleep', '600'], cpu: '500m' }));
      await createPod(admin(), pod('cut-2', { node: 'node-1', command: ['sleep', '600'], cpu: '500m' }));
      // This one finishes during the cut: the agent's write of Succeeded is held, and arrives after
      // the pod was failed as NodeLost.
      await createPod(admin(), pod('cut-short', { node: 'node-1', command: ['sleep', '2'], cpu: '100m', restartPolicy: 'Never' }));
      const running = await Promise.all(['cut-1', 'cut-2'].map((n) => waitPod(admin(), n, (p) => p.status.phase === 'Running', 'to run')));
      const uids = running.map((p) => p.metadata.uid!);
      await waitPod(admin(), 'cut-short', (p) => p.status.phase === 'Running', 'to run');

      await net.cutClient('agent', true);
      const cutAt = Date.now();
      await waitFor(async () => {
        const n = await getNode('node-1');
        return ready(n) === 'Unknown' && taints(n).length === 2;
      }, 'node-1 Unknown and tainted', GRACE_MS + 15_000, 100);
      expect(Date.now() - cutAt, 'not before the grace period').to.be.greaterThan(GRACE_MS - 1000);
      for (const name of ['cut-1', 'cut-2', 'cut-short']) {
        const p = await waitPod(admin(), name, (x) => x.status.phase === 'Failed', 'to be failed as NodeLost', EVICTION_MS + 15_000);
        expect(p.status.reason).to.equal('NodeLost');
      }
      // Cut off, the agent cannot know: its processes still run.
      expect(uids.map((u) => processesWith(u).length)).to.deep.equal([1, 1]);
      expect(agent.child.exitCode, 'the agent lives through the partition').to.equal(null);

      await net.cutClient('agent', false);
      await waitFor(async () => {
        const n = await getNode('node-1');
        return ready(n) === 'True' && taints(n).length === 0;
      }, `node-1 Ready and untainted after the link returned (${agent.output()})`, 30_000, 100);
      await waitFor(() => uids.every((u) => processesWith(u).length === 0), "the failed pods' processes to be stopped by the same agent", 15_000, 100);
      for (const name of ['cut-1', 'cut-2']) {
        const p = await waitPod(admin(), name, (x) => x.status.containerStatuses?.[0]?.state?.terminated !== undefined, 'to show its container terminated');
        expect(p.status, name).to.include({ phase: 'Failed', reason: 'NodeLost' });
      }
      // What the agent held back for it (its container's end, and Succeeded) lands after the heal —
      // the container's end is reported, but a pod failed is not turned into a success, which a
      // Job would count twice.
      const short = await waitPod(admin(), 'cut-short', (x) => x.status.containerStatuses?.[0]?.state?.terminated !== undefined, 'to show its container terminated');
      expect(short.status.containerStatuses?.[0]?.state?.terminated).to.include({ exitCode: 0, reason: 'Completed' });
      expect(short.status, 'cut-short').to.include({ phase: 'Failed', reason: 'NodeLost' });
      const alloc = await admin().get<NodeAllocation>({ group: 'scheduling.cell.dev', version: 'v1alpha1', resource: 'nodeallocations', name: 'node-1' });
      expect(alloc.spec.pods.filter((p) => uids.includes(p.uid))).to.deep.equal([]);
      expect(await audit()).to.include({ ok: true });
      await Promise.all(['cut-1', 'cut-2', 'cut-short'].map((n) => deleteIfPresent(admin(), n)));
    } finally {
      await agent?.stop();
      agent = undefined;
      await net.stop();
    }
  });

  it('an agent whose first API server goes silent renews its lease through the second: the node never goes Unknown', async function () {
    this.timeout(90_000);
    await agent?.stop();
    const second = await startTestApiServer({ backend: 'etcd', auth: true, prefix: api.prefix });
    const net = await CuttableNetwork.start([], [api.server.port, second.server.port]);
    try {
      const [viaFirst, viaSecond] = await net.clientUrls('agent-two-servers');
      const lease = () => admin().get<{ spec: { renewTime?: string } }>({ group: 'coordination.k8s.io', version: 'v1', namespace: 'kube-node-lease', resource: 'leases', name: 'node-1' });
      const startedAt = Date.now();
      agent = startAgent(agentArgs(`${viaFirst},${viaSecond}`));
      // Ready, and the lease renewed by this process (the node may still be Ready from the last one).
      await waitFor(async () => {
        const n = await getNode('node-1');
        const renewed = Date.parse((await lease()).spec.renewTime ?? '');
        return ready(n) === 'True' && taints(n).length === 0 && renewed > startedAt;
      }, `node-1 Ready with a lease renewed by the new agent (${agent.output()})`, 30_000, 100);

      // The first server's link is held: renewals sent there get no answer. Twice the grace period
      // with the node watched: a renewal stuck for the general client's 30 s would let it lapse.
      await net.cutClient('agent-two-servers', true, 0);
      const renewedAtCut = Date.parse((await lease()).spec.renewTime ?? '');
      const until = Date.now() + 2 * GRACE_MS;
      const seen = new Set<string>();
      while (Date.now() < until) {
        seen.add(ready(await getNode('node-1')) ?? 'none');
        await sleep(100);
      }
      expect([...seen], `node-1's Ready condition during the cut (${agent.output().slice(-2000)})`).to.deep.equal(['True']);
      expect(Date.parse((await lease()).spec.renewTime ?? ''), 'renewed through the second server').to.be.greaterThan(renewedAtCut);
    } finally {
      await net.cutClient('agent-two-servers', false, 0);
      await agent?.stop();
      agent = undefined;
      await net.stop();
      await second.close();
    }
  });

  it('pod GC fails pods bound to a node that vanished without releasing them', async () => {
    await admin().create({ resource: 'nodes' }, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'ghost' }, status: { capacity: { cpu: '2', memory: '2Gi', pods: '10' } } });
    await createPod(admin(), pod('orphan', { node: 'ghost', command: ['sleep', '600'] }));
    // A crash half-way through a node deletion: the node and its ledger are gone, the pod is not.
    const nodes = api.server.served('nodes').rest.objects;
    const allocations = api.server.served('nodeallocations').rest.objects;
    const res = await api.store.txn({ compares: [], success: [{ type: 'delete', key: nodes.key(undefined, 'ghost') }, { type: 'delete', key: allocations.key(undefined, 'ghost') }] });
    expect(res.succeeded).to.equal(true);
    expect((await audit()).ok, 'the orphan is a violation until collected').to.equal(false);
    const p = await waitPod(admin(), 'orphan', (x) => x.status.phase === 'Failed', 'to be failed by the GC', 15_000);
    expect(p.status.reason).to.equal('NodeLost');
    expect(await audit()).to.include({ ok: true });
  });
});
