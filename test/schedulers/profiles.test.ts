// Several schedulers side by side, each with its own profile and its own pods (spec.schedulerName):
// `binpack` concentrates pods on few nodes, `default` spreads them; and a scheduler written as a
// plugin file plus a profile (schedulers/examples) runs as its own daemon.
import { expect } from 'chai';
import path from 'node:path';
import type { ApiClient } from '../../shared/client/http-client.js';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { createNamespace, createNodes, createPods, getPod, holds, nodeObject, podObject, waitForBound } from './helpers.js';
import { metricValue, startSchedulerProcess, type SchedulerProcess } from './scheduler-process.js';

describe('scheduler profiles: several schedulers side by side', function () {
  this.timeout(90_000);
  let api: TestApiServer;
  let client: ApiClient;
  const procs: SchedulerProcess[] = [];
  const ns = 'profiles';

  before(async () => {
    api = await startTestApiServer({ backend: 'etcd' });
    client = api.client();
    await createNamespace(client, ns);
    const started = await Promise.all([
      startSchedulerProcess({ server: api.url, name: 'spreader', profile: 'default' }),
      startSchedulerProcess({ server: api.url, name: 'packer', profile: 'binpack' }),
      startSchedulerProcess({ server: api.url, name: 'cheapest', profile: path.resolve('schedulers/examples/cheapest.yaml') }),
    ]);
    procs.push(...started);
  });
  after(async () => {
    for (const p of procs) await p.stop();
    await api?.close();
  });

  it('each daemon takes only its own pods; binpack concentrates them, default spreads them', async () => {
    // Two pools of 8 nodes (4 cpu each), one per policy, so each one's choices show clearly.
    await createNodes(client, [
      ...Array.from({ length: 8 }, (_, i) => nodeObject(`spread-${i}`, { labels: { pool: 'spread' } })),
      ...Array.from({ length: 8 }, (_, i) => nodeObject(`pack-${i}`, { labels: { pool: 'pack' } })),
    ]);
    const pods = (prefix: string, scheduler: string, pool: string) =>
      Array.from({ length: 12 }, (_, i) => podObject(`${prefix}-${i}`, { scheduler, cpu: '500m', memory: '256Mi', spec: { nodeSelector: { pool } } }));
    await createPods(client, ns, [...pods('s', 'spreader', 'spread'), ...pods('p', 'packer', 'pack'), podObject('orphan', { scheduler: 'nobody' })]);
    const names = [...Array.from({ length: 12 }, (_, i) => `s-${i}`), ...Array.from({ length: 12 }, (_, i) => `p-${i}`)];
    const bound = await waitForBound(client, ns, names);

    const nodesOf = (prefix: string) => new Set(names.filter((n) => n.startsWith(`${prefix}-`)).map((n) => bound.get(n)));
    // 12 × 500m on 4-cpu nodes: binpack fills a node (8 pods) before using another.
    expect(nodesOf('p').size).to.equal(2);
    expect(nodesOf('s').size).to.equal(8);

    const [spreader, packer] = procs;
    expect(metricValue(await spreader!.metrics(), 'cell_scheduler_bound_pods_total')).to.equal(12);
    expect(metricValue(await packer!.metrics(), 'cell_scheduler_bound_pods_total')).to.equal(12);
    expect(metricValue(await packer!.metrics(), 'scheduler_schedule_attempts_total', { result: 'scheduled', profile: 'binpack' })).to.equal(12);
    // Nobody schedules a pod whose scheduler is not running.
    expect(await holds(500, async () => (await getPod(client, ns, 'orphan'))?.spec.nodeName === undefined)).to.equal(true);
  });

  it('a scheduler written as a plugin file and a profile runs as its own daemon', async () => {
    const cost = (c: number) => ({ 'example.cell.dev/cost-per-hour': String(c), pool: 'priced' });
    await createNodes(client, [
      nodeObject('priced-cheap', { labels: { ...cost(1), 'example.cell.dev/maintenance': 'true' } }),
      nodeObject('priced-mid', { labels: cost(5) }),
      nodeObject('priced-dear', { labels: cost(20) }),
    ]);
    await createPods(client, ns, [0, 1, 2].map((i) => podObject(`c-${i}`, { scheduler: 'cheapest', spec: { nodeSelector: { pool: 'priced' } } })));
    const bound = await waitForBound(client, ns, ['c-0', 'c-1', 'c-2']);
    // The cheapest node is in maintenance: every pod goes to the next cheapest.
    expect(['c-0', 'c-1', 'c-2'].map((n) => bound.get(n))).to.deep.equal(['priced-mid', 'priced-mid', 'priced-mid']);
    expect(metricValue(await procs[2]!.metrics(), 'cell_scheduler_bound_pods_total', { profile: 'cheapest' })).to.equal(3);
  });
});
