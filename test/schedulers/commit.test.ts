// The Bind step against a real API server: one pod as a Binding, several as one Incremental
// Placement, a gang as one AllOrNothing Placement; coarse mode sends the ledger version decided
// on and loses to any change; every loss comes back as a Conflict with its reason.
import { expect } from 'chai';
import type { Pod } from '../../shared/api/core.js';
import type { NodeAllocation } from '../../shared/api/scheduling.js';
import type { ApiClient } from '../../shared/client/http-client.js';
import { createLogger } from '../../shared/logging.js';
import { podInfoOf } from '../../schedulers/cache/pod-info.js';
import { ApiPlanner } from '../../schedulers/commit/api-planner.js';
import { Committer, type CommitOutcome, type Decision } from '../../schedulers/commit/committer.js';
import { CycleContext } from '../../schedulers/framework/cycle.js';
import { SchedulerMetrics } from '../../schedulers/metrics.js';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { createNamespace, createNodes, listPods, nodeObject, podObject } from './helpers.js';
import { queued } from './unit/fake-cluster.js';
import { revisionOf } from '../../apiserver/storage/resource-version.js';

describe('scheduler commit (Binding, Placement, AllOrNothing)', function () {
  this.timeout(30_000);
  let api: TestApiServer;
  let client: ApiClient;
  const ns = 'commit';

  before(async () => {
    api = await startTestApiServer({ backend: 'etcd' });
    client = api.client();
    await createNamespace(client, ns);
    await createNodes(client, [nodeObject('c-1', { cpu: '2' }), nodeObject('c-2', { cpu: '2' })]);
  });
  after(async () => {
    await api?.close();
  });

  async function decision(name: string, node: string, cpu = '500m', rv?: string): Promise<Decision> {
    const pod = await client.create<Pod>({ namespace: ns, resource: 'pods' }, podObject(name, { cpu }));
    const info = podInfoOf(pod);
    return { ctx: new CycleContext(info, queued(info), 1), nodeName: node, allocationResourceVersion: rv, startedAt: 0 };
  }

  async function commit(mode: 'fine' | 'coarse', send: (c: Committer) => void, count: number): Promise<{ outcomes: Map<string, CommitOutcome>; metrics: SchedulerMetrics }> {
    const metrics = new SchedulerMetrics('test');
    const outcomes = new Map<string, CommitOutcome>();
    const committer = new Committer({
      planner: new ApiPlanner(client, mode),
      batchSize: 50,
      maxInFlight: 4,
      metrics,
      log: createLogger('test', 'silent'),
      onSent: () => undefined,
      onResult: (d, r) => outcomes.set(d.ctx.pod.name, r),
    });
    send(committer);
    committer.flush();
    await committer.drain();
    expect(outcomes.size).to.equal(count);
    return { outcomes, metrics };
  }

  const allocationVersion = async (node: string) =>
    (await client.get<NodeAllocation>({ group: 'scheduling.cell.dev', version: 'v1alpha1', resource: 'nodeallocations', name: node })).metadata.resourceVersion!;

  it('one pod goes as a Binding, several as one Placement; a pod that no longer fits is a Conflict', async () => {
    const single = await decision('single', 'c-1');
    const { outcomes: one, metrics: m1 } = await commit('fine', (c) => c.add(single), 1);
    expect(one.get('single')).to.deep.equal({ outcome: 'Bound' });
    expect((await m1.registry.getSingleMetricAsString('cell_scheduler_commits_total'))).to.contain('kind="binding",outcome="bound"');

    // c-1 has 1.5 cpu left: three of these fit, the fourth does not.
    const batch = await Promise.all(['b-0', 'b-1', 'b-2', 'b-3'].map((n) => decision(n, 'c-1')));
    const { outcomes, metrics } = await commit('fine', (c) => batch.forEach((d) => c.add(d)), 4);
    const results = ['b-0', 'b-1', 'b-2', 'b-3'].map((n) => outcomes.get(n)!.outcome);
    expect(results.filter((o) => o === 'Bound')).to.have.length(3);
    const lost = [...outcomes.values()].find((o) => o.outcome === 'Conflict');
    expect(lost).to.deep.include({ outcome: 'Conflict', reason: 'Insufficient' });
    expect(await metrics.registry.getSingleMetricAsString('cell_scheduler_commits_total')).to.contain('kind="placement",outcome="partial"');
  });

  it('coarse mode: a decision on an old ledger version loses, a fresh one wins', async () => {
    const before = await allocationVersion('c-2');
    const mover = await decision('mover', 'c-2', '100m');
    await commit('fine', (c) => c.add(mover), 1);
    const stale = await decision('stale', 'c-2', '100m', before);
    const { outcomes } = await commit('coarse', (c) => c.add(stale), 1);
    expect(outcomes.get('stale')).to.deep.include({ outcome: 'Conflict', reason: 'LedgerMoved' });
    const fresh = await decision('fresh', 'c-2', '100m', await allocationVersion('c-2'));
    expect((await commit('coarse', (c) => c.add(fresh), 1)).outcomes.get('fresh')).to.deep.equal({ outcome: 'Bound' });
  });

  it('a gang commits all or nothing, in one transaction', async () => {
    // c-2 has 1.8 cpu left: three of 500m fit there; c-1 is full, so the fourth cannot be placed.
    const fits = await Promise.all(['g-0', 'g-1', 'g-2'].map((n) => decision(n, 'c-2')));
    const misfit = await decision('g-3', 'c-1');
    const { outcomes } = await commit('fine', (c) => c.commitGroup([...fits, misfit]), 4);
    expect(outcomes.get('g-3')).to.deep.include({ outcome: 'Conflict' });
    for (const n of ['g-0', 'g-1', 'g-2']) expect(outcomes.get(n)?.outcome).to.equal('Skipped');
    expect((await listPods(client, ns)).filter((p) => p.metadata.name?.startsWith('g-') && p.spec.nodeName)).to.have.length(0);

    const again = await commit('fine', (c) => c.commitGroup(fits), 3);
    expect([...again.outcomes.values()].every((o) => o.outcome === 'Bound')).to.equal(true);
    const bound = (await listPods(client, ns)).filter((p) => p.metadata.name?.startsWith('g-') && p.spec.nodeName);
    // One etcd transaction: one revision, a resourceVersion per pod.
    expect(new Set(bound.map((p) => revisionOf(Number(p.metadata.resourceVersion)))).size).to.equal(1);
    expect(new Set(bound.map((p) => p.metadata.resourceVersion)).size).to.equal(bound.length);
  });
});
