// Queueing strategies, as Kueue's: with 1 of 2 cpu taken by a running filler, a big head (2 cpu)
// does not fit and a small Job queued after it (1 cpu) would. StrictFIFO holds the small one
// behind the head — admissions in queue order: filler, big, small. BestEffortFIFO sets the head
// aside and admits the small one at once — filler, small, big. The order is read from a watch
// of every Workload write, in revision order.
import { expect } from 'chai';
import {
  CQ,
  JOBS,
  LQ,
  ReservationWatch,
  clusterQueueManifest,
  cond,
  createNamespace,
  flavorManifest,
  isAdmittedWl,
  localQueueManifest,
  queueSuite,
  queuedJobManifest,
  RF,
  waitJobCondition,
  waitWorkload,
  workloadOfJob,
} from './helpers.js';

describe('queue controller: StrictFIFO and BestEffortFIFO', function () {
  this.timeout(180_000);
  const cluster = queueSuite('kueue-order');

  before(async () => {
    await cluster.client.create(RF, flavorManifest('default'));
  });

  async function run(strategy: 'StrictFIFO' | 'BestEffortFIFO'): Promise<string[]> {
    const client = cluster.client;
    const name = strategy.toLowerCase();
    const ns = `order-${name}`;
    await createNamespace(client, ns);
    await client.create(CQ, clusterQueueManifest(name, { cpu: '2', strategy }));
    await client.create({ ...LQ, namespace: ns }, localQueueManifest('lq', name));
    const watch = new ReservationWatch(client, { [name]: 2000n });
    await watch.start();
    try {
      await client.create({ ...JOBS, namespace: ns }, queuedJobManifest('filler', { queue: 'lq', cpu: '1', runSeconds: 4 }));
      await waitWorkload(client, ns, 'filler', isAdmittedWl, 'admitted');
      // Names break a tie of creation times the same way as the creation order.
      await client.create({ ...JOBS, namespace: ns }, queuedJobManifest('a-big', { queue: 'lq', parallelism: 2, cpu: '1', runSeconds: 1 }));
      await workloadOfJob(client, ns, 'a-big');
      await client.create({ ...JOBS, namespace: ns }, queuedJobManifest('b-small', { queue: 'lq', cpu: '1', runSeconds: 1 }));
      const big = await waitWorkload(client, ns, 'a-big', (wl) => cond(wl, 'QuotaReserved')?.reason === 'Pending' || isAdmittedWl(wl), 'tried');
      if (!isAdmittedWl(big)) expect(cond(big, 'QuotaReserved')?.message).to.equal("couldn't assign flavors to pod set main: insufficient unused quota for cpu in flavor default, 1 more needed");
      for (const job of ['filler', 'a-big', 'b-small']) await waitJobCondition(client, ns, job, 'Complete', 90_000);
      watch.expectWithinLimits();
      const names = new Map<string, string>();
      for (const job of ['filler', 'a-big', 'b-small']) names.set(`${ns}/${(await workloadOfJob(client, ns, job)).metadata.name ?? ''}`, job);
      return watch.admissions.filter((k) => names.has(k)).map((k) => names.get(k)!);
    } finally {
      await watch.stop();
    }
  }

  it('StrictFIFO: the head that does not fit blocks the Jobs queued after it', async () => {
    expect(await run('StrictFIFO')).to.deep.equal(['filler', 'a-big', 'b-small']);
  });

  it('BestEffortFIFO: the head that does not fit is skipped, and admitted once quota frees', async () => {
    expect(await run('BestEffortFIFO')).to.deep.equal(['filler', 'b-small', 'a-big']);
  });
});
