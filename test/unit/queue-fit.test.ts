// The ClusterQueue fit rule and ledger arithmetic (shared/queue-fit.ts), without a cluster.
import { expect } from 'chai';
import { ClusterQueueSchema, WorkloadSchema, type ClusterQueue, type Workload } from '../../shared/api/kueue.js';
import {
  cohortPool,
  fits,
  flavorAmounts,
  flavorUsageList,
  queueInactiveReason,
  queueState,
  recordedUsage,
  workloadCharge,
  type FlavorAmounts,
  type QueueState,
} from '../../shared/queue-fit.js';
import { parseResourceList } from '../../shared/resources.js';

interface Quota {
  nominal: string;
  borrowingLimit?: string;
  lendingLimit?: string;
}

function cq(name: string, quotas: Record<string, Record<string, Quota>>, opts: { cohort?: string; reserved?: Record<string, Record<string, string>> } = {}): ClusterQueue {
  const groups = Object.entries(quotas).map(([flavor, resources]) => ({
    coveredResources: Object.keys(resources),
    flavors: [
      {
        name: flavor,
        resources: Object.entries(resources).map(([r, q]) => ({
          name: r,
          nominalQuota: q.nominal,
          ...(q.borrowingLimit !== undefined ? { borrowingLimit: q.borrowingLimit } : {}),
          ...(q.lendingLimit !== undefined ? { lendingLimit: q.lendingLimit } : {}),
        })),
      },
    ],
  }));
  return ClusterQueueSchema.parse({
    metadata: { name },
    spec: { resourceGroups: groups, ...(opts.cohort ? { cohort: opts.cohort } : {}) },
    status: {
      flavorsReservation: Object.entries(opts.reserved ?? {}).map(([flavor, rs]) => ({
        name: flavor,
        resources: Object.entries(rs).map(([r, total]) => ({ name: r, total })),
      })),
    },
  });
}

const req = (flavor: string, list: Record<string, string>): FlavorAmounts => flavorAmounts([[flavor, parseResourceList(list)]]);
const states = (...queues: ClusterQueue[]): QueueState[] => queues.map(queueState);

describe('queue fit rule', () => {
  it('a lone queue holds up to its nominal quota, and says by how much a request misses', () => {
    const q = cq('a', { default: { cpu: { nominal: '5' } } }, { reserved: { default: { cpu: '4' } } });
    expect(fits(states(q), 'a', req('default', { cpu: '1' }))).to.deep.equal({ fits: true, borrowing: false });
    const r = fits(states(q), 'a', req('default', { cpu: '2' }));
    expect(r.fits).to.equal(false);
    if (r.fits) return;
    expect(r.failures).to.have.length(1);
    const f = r.failures[0]!;
    expect(f.reason).to.equal('ExceedsQueueLimit');
    expect([f.flavor, f.resource, f.requested.toString(), f.available.toString(), f.borrowing]).to.deep.equal(['default', 'cpu', '2', '1', true]);
    expect(f.message).to.equal('ClusterQueue a has insufficient quota for cpu in flavor default: requested 2, available 1');
  });

  it('a resource or flavor the queue does not cover never fits; an unknown queue neither', () => {
    const q = cq('a', { default: { cpu: { nominal: '5' } } });
    const r = fits(states(q), 'a', req('default', { memory: '1Gi' }));
    expect(r.fits).to.equal(false);
    if (!r.fits) expect(r.failures.map((f) => f.reason)).to.deep.equal(['NotCovered']);
    const other = fits(states(q), 'a', req('spot', { cpu: '1' }));
    expect(other.fits).to.equal(false);
    const missing = fits(states(q), 'b', req('default', { cpu: '1' }));
    expect(missing.fits).to.equal(false);
    if (!missing.fits) expect(missing.failures[0]!.reason).to.equal('QueueNotFound');
  });

  it('a cohort member borrows the unused quota of the others, bounded by its borrowingLimit', () => {
    const a = cq('a', { default: { cpu: { nominal: '4', borrowingLimit: '2' } } }, { cohort: 'c', reserved: { default: { cpu: '4' } } });
    const b = cq('b', { default: { cpu: { nominal: '4' } } }, { cohort: 'c' });
    expect(fits(states(a, b), 'a', req('default', { cpu: '2' }))).to.deep.equal({ fits: true, borrowing: true });
    const r = fits(states(a, b), 'a', req('default', { cpu: '3' }));
    expect(r.fits).to.equal(false);
    if (!r.fits) {
      expect(r.failures[0]!.reason).to.equal('ExceedsQueueLimit');
      expect(r.failures[0]!.available.toString()).to.equal('2');
    }
  });

  it('without a borrowingLimit a member may take all the cohort lends, no more', () => {
    const a = cq('a', { default: { cpu: { nominal: '4' } } }, { cohort: 'c', reserved: { default: { cpu: '4' } } });
    const b = cq('b', { default: { cpu: { nominal: '4' } } }, { cohort: 'c', reserved: { default: { cpu: '1' } } });
    // b uses 1 of its own 4: 3 are free in the pool.
    expect(fits(states(a, b), 'a', req('default', { cpu: '3' })).fits).to.equal(true);
    const r = fits(states(a, b), 'a', req('default', { cpu: '4' }));
    expect(r.fits).to.equal(false);
    if (!r.fits) {
      expect(r.failures[0]!.reason).to.equal('CohortExhausted');
      expect(r.failures[0]!.available.toString()).to.equal('3');
    }
    // A queue outside the cohort lends nothing.
    const d = cq('d', { default: { cpu: { nominal: '100' } } }, { cohort: 'other' });
    expect(fits(states(a, b, d), 'a', req('default', { cpu: '4' })).fits).to.equal(false);
  });

  it('lendingLimit keeps nominal − lendingLimit for the lender alone', () => {
    const a = cq('a', { default: { cpu: { nominal: '4' } } }, { cohort: 'c', reserved: { default: { cpu: '4' } } });
    const b = cq('b', { default: { cpu: { nominal: '4', lendingLimit: '1' } } }, { cohort: 'c' });
    expect(fits(states(a, b), 'a', req('default', { cpu: '1' })).fits).to.equal(true);
    expect(fits(states(a, b), 'a', req('default', { cpu: '2' })).fits).to.equal(false);
    // b's guaranteed 3 is its own even while a borrows b's lendable 1.
    const aBorrowing = cq('a', { default: { cpu: { nominal: '4' } } }, { cohort: 'c', reserved: { default: { cpu: '5' } } });
    expect(fits(states(aBorrowing, b), 'b', req('default', { cpu: '3' })).fits).to.equal(true);
    expect(fits(states(aBorrowing, b), 'b', req('default', { cpu: '4' })).fits).to.equal(false);
    expect(cohortPool(states(aBorrowing, b), 'default', 'cpu')).to.deep.equal({ lendable: 5000n, drawn: 5000n });
  });

  it('a request within the guaranteed part fits even when the cohort is already over (a quota lowered)', () => {
    const a = cq('a', { default: { cpu: { nominal: '4', lendingLimit: '0' } } }, { cohort: 'c', reserved: { default: { cpu: '1' } } });
    // b holds 6 of a nominal 2: the pool (2 lendable) is overdrawn.
    const b = cq('b', { default: { cpu: { nominal: '2' } } }, { cohort: 'c', reserved: { default: { cpu: '6' } } });
    expect(fits(states(a, b), 'a', req('default', { cpu: '3' })).fits).to.equal(true);
    expect(fits(states(a, b), 'b', req('default', { cpu: '1' })).fits).to.equal(false);
  });

  it('every short resource is reported', () => {
    const q = cq('a', { default: { cpu: { nominal: '1' }, memory: { nominal: '1Gi' } } });
    const r = fits(states(q), 'a', req('default', { cpu: '2', memory: '2Gi' }));
    expect(r.fits).to.equal(false);
    if (!r.fits) expect(r.failures.map((f) => `${f.resource}:${f.requested.toString()}>${f.available.toString()}`)).to.deep.equal(['cpu:2>1', 'memory:2Gi>1Gi']);
  });
});

describe('queue ledger arithmetic', () => {
  const admitted = (conditions: { type: string; status: 'True' | 'False' }[]): Workload =>
    WorkloadSchema.parse({
      metadata: { name: 'w', namespace: 'ns' },
      spec: { queueName: 'lq', podSets: [{ name: 'main', count: 2, template: { spec: { containers: [{ name: 'c', image: 'x' }], restartPolicy: 'Never' } } }, { name: 'aux', count: 1, template: { spec: { containers: [{ name: 'c', image: 'x' }], restartPolicy: 'Never' } } }] },
      status: {
        admission: {
          clusterQueue: 'a',
          podSetAssignments: [
            { name: 'main', flavors: { cpu: 'default', 'nvidia.com/gpu': 'a100' }, resourceUsage: { cpu: '2', memory: '1Gi', 'nvidia.com/gpu': '2' }, count: 2 },
            { name: 'aux', flavors: { cpu: 'default' }, resourceUsage: { cpu: '500m' }, count: 1 },
          ],
        },
        conditions,
      },
    });

  it("a workload's charge sums its pod sets per assigned flavor; only assigned resources count", () => {
    const charge = workloadCharge(admitted([{ type: 'QuotaReserved', status: 'True' }]))!;
    expect(charge.clusterQueue).to.equal('a');
    expect([...charge.amounts.keys()].sort()).to.deep.equal(['a100', 'default']);
    expect(charge.amounts.get('default')!.get('cpu')).to.equal(2500n);
    expect(charge.amounts.get('default')!.has('memory')).to.equal(false);
    expect(charge.amounts.get('a100')!.get('nvidia.com/gpu')).to.equal(2000n);
  });

  it('charges nothing when finished or not admitted; usage only once Admitted', () => {
    expect(workloadCharge(admitted([{ type: 'Finished', status: 'True' }]))).to.equal(undefined);
    expect(workloadCharge(admitted([{ type: 'QuotaReserved', status: 'True' }]), 'usage')).to.equal(undefined);
    expect(workloadCharge(admitted([{ type: 'Admitted', status: 'True' }]), 'usage')).to.not.equal(undefined);
    const pending = WorkloadSchema.parse({ metadata: { name: 'p' }, spec: { podSets: [{ template: { spec: { containers: [{ name: 'c', image: 'x' }] } } }] } });
    expect(workloadCharge(pending)).to.equal(undefined);
  });

  it('status lists every flavor and resource of the spec, borrowed beyond nominal, and keeps what the spec dropped', () => {
    const q = cq('a', { default: { cpu: { nominal: '4' }, memory: { nominal: '1Gi' } } }, { cohort: 'c' });
    const usage = flavorAmounts([
      ['default', parseResourceList({ cpu: '5' })],
      ['old', parseResourceList({ cpu: '1' })],
    ]);
    const list = flavorUsageList(q, usage);
    expect(list).to.deep.equal([
      { name: 'default', resources: [{ name: 'cpu', total: '5', borrowed: '1' }, { name: 'memory', total: '0', borrowed: '0' }] },
      { name: 'old', resources: [{ name: 'cpu', total: '1', borrowed: '1' }] },
    ]);
    const back = recordedUsage({ status: { flavorsReservation: list } });
    expect(back.get('default')!.get('cpu')).to.equal(5000n);
    expect(back.get('old')!.get('cpu')).to.equal(1000n);
  });

  it('a queue is inactive while terminating, stopped, or naming a flavor that does not exist', () => {
    const q = cq('a', { default: { cpu: { nominal: '4' } }, spot: { cpu: { nominal: '1' } } });
    expect(queueInactiveReason(q, ['default', 'spot'])).to.equal(undefined);
    expect(queueInactiveReason(q, ['default'])).to.deep.equal({ reason: 'FlavorNotFound', message: "Can't admit new workloads: references missing ResourceFlavor(s): spot" });
    expect(queueInactiveReason({ ...q, spec: { ...q.spec, stopPolicy: 'Hold' } }, ['default', 'spot'])?.reason).to.equal('Stopped');
    expect(queueInactiveReason({ ...q, metadata: { ...q.metadata, deletionTimestamp: '2024-01-01T00:00:00Z' } }, [])?.reason).to.equal('Terminating');
  });
});
