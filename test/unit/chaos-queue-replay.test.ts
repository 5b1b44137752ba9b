// The chaos run's queue invariant can fail: hand-made etcd histories, decoded as the run decodes
// etcd's (test/chaos/history.ts), replayed revision by revision (test/chaos/invariants.ts), with a
// queue over its quota, a cohort drawing more than its members lend, a ledger that drifts from its
// workloads, an admission changed while set, and one Job holding quota through two Workloads.
import { expect } from 'chai';
import { ClusterQueueSchema, WorkloadSchema, type ClusterQueue, type Workload } from '../../shared/api/kueue.js';
import { decode, type KvChange } from '../chaos/history.js';
import { replay, type Violation } from '../chaos/invariants.js';

const FLAVOR = 'default';
const START = 9;

interface QueueOpts {
  cpu: string;
  cohort?: string;
  borrowingLimit?: string;
  lendingLimit?: string;
  /** Recorded reservation (and usage: every workload here is admitted), in cpu. */
  reserved?: string;
}

function clusterQueue(name: string, o: QueueOpts): ClusterQueue {
  const total = o.reserved ?? '0';
  const list = [{ name: FLAVOR, resources: [{ name: 'cpu', total, borrowed: '0' }] }];
  return ClusterQueueSchema.parse({
    metadata: { name, uid: `uid-${name}` },
    spec: {
      namespaceSelector: {},
      ...(o.cohort ? { cohort: o.cohort } : {}),
      resourceGroups: [
        {
          coveredResources: ['cpu'],
          flavors: [
            {
              name: FLAVOR,
              resources: [{ name: 'cpu', nominalQuota: o.cpu, ...(o.borrowingLimit ? { borrowingLimit: o.borrowingLimit } : {}), ...(o.lendingLimit ? { lendingLimit: o.lendingLimit } : {}) }],
            },
          ],
        },
      ],
    },
    status: { flavorsReservation: list, flavorsUsage: list },
  });
}

/** A Workload of one pod; admitted to `queue` with `cpu` when given, else pending. */
function workload(name: string, o: { queue?: string; cpu?: string; job?: string } = {}): Workload {
  const admitted = o.queue !== undefined;
  const t = '2025-01-01T00:00:00Z';
  return WorkloadSchema.parse({
    metadata: { name, namespace: 'tenant', uid: `uid-${name}`, labels: { 'kueue.x-k8s.io/job-uid': o.job ?? `job-of-${name}` } },
    spec: { podSets: [{ name: 'main', count: 1, template: { spec: { containers: [{ name: 'c', image: 'busybox', resources: { requests: { cpu: o.cpu ?? '1' } } }] } } }] },
    status: admitted
      ? {
          admission: { clusterQueue: o.queue, podSetAssignments: [{ name: 'main', flavors: { cpu: FLAVOR }, resourceUsage: { cpu: o.cpu ?? '1' }, count: 1 }] },
          conditions: [
            { type: 'QuotaReserved', status: 'True', reason: 'QuotaReserved', message: `Quota reserved in ClusterQueue ${o.queue}`, lastTransitionTime: t },
            { type: 'Admitted', status: 'True', reason: 'Admitted', message: 'The workload is admitted', lastTransitionTime: t },
          ],
        }
      : { conditions: [{ type: 'QuotaReserved', status: 'False', reason: 'Pending', message: 'waiting', lastTransitionTime: t }] },
  });
}

type Put = ClusterQueue | Workload;

/** A history: each entry one etcd revision (from START + 1) writing its objects, as one txn would. */
function history(revisions: Put[][]): KvChange[] {
  const changes: KvChange[] = [];
  revisions.forEach((puts, i) => {
    const revision = START + 1 + i;
    for (const obj of puts) {
      const key = obj.kind === 'ClusterQueue' ? `/clusterqueues/${obj.metadata.name ?? ''}` : `/workloads/${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}`;
      changes.push({ type: 'put', key, revision, version: revision * 1024, createRevision: revision, value: decode(key, Buffer.from(JSON.stringify(obj))) });
    }
  });
  return changes;
}

/** Nothing in etcd at the start revision. */
const emptyStart = { rangeAt: () => Promise.resolve([]) };

async function queueViolations(revisions: Put[][]): Promise<Violation[]> {
  const r = await replay(emptyStart, START, history(revisions), 'chaos');
  return r.violations.filter((v) => v.invariant === 'queue');
}

describe('chaos replay: the queue invariant', () => {
  it('passes a history whose queue stays within its quota, and counts what it checked', async () => {
    const r = await replay(emptyStart, START, history([
      [clusterQueue('q', { cpu: '2' })],
      [workload('w1'), workload('w2')],
      [workload('w1', { queue: 'q' }), clusterQueue('q', { cpu: '2', reserved: '1' })],
      [workload('w2', { queue: 'q' }), clusterQueue('q', { cpu: '2', reserved: '2' })],
    ]), 'chaos');
    expect(r.violations).to.deep.equal([]);
    expect(r.queues.revisionsChecked).to.equal(4);
    expect(r.queues.admissions).to.equal(2);
    expect(r.queues.violations).to.equal(0);
  });

  it('reports a queue whose reservation exceeds its quota at the revision it does, and only there', async () => {
    const violations = await queueViolations([
      [clusterQueue('q', { cpu: '1' })],
      [workload('w1', { queue: 'q' }), clusterQueue('q', { cpu: '1', reserved: '1' })],
      // Revision 12: a second admission the ledger should have refused.
      [workload('w2', { queue: 'q' }), clusterQueue('q', { cpu: '1', reserved: '2' })],
      // Revision 13: released again.
      [workload('w2'), clusterQueue('q', { cpu: '1', reserved: '1' })],
    ]);
    expect(violations).to.have.length(1);
    expect(violations[0]!.message).to.match(/^OverQueueQuota: ClusterQueue q is over on default\/cpu: holds 2, limit 1 \(at revision 12\)$/);
  });

  it('reports a cohort drawing more than its members lend, each member within its own limits', async () => {
    const a = (reserved: string) => clusterQueue('a', { cpu: '2', cohort: 'co', lendingLimit: '1', reserved });
    const b = (reserved: string) => clusterQueue('b', { cpu: '2', cohort: 'co', borrowingLimit: '2', lendingLimit: '1', reserved });
    const violations = await queueViolations([
      [a('0'), b('0')],
      // b borrows a's 1 lendable cpu: 3 of its own limit of 4; the cohort lends 2 (1 each), b draws 2.
      [workload('w1', { queue: 'b', cpu: '3' }), b('3')],
      // a uses its guaranteed 1 and then what it lends: the cohort now draws 3 of the 2 lent.
      [workload('w2', { queue: 'a', cpu: '2' }), a('2')],
    ]);
    expect(violations.map((v) => v.message)).to.deep.equal([
      'OverCohortQuota: cohort co is over on default/cpu: its queues use 3 beyond their guaranteed quota, and lend 2 (at revision 12)',
    ]);
  });

  it('reports a ledger that does not equal the charges of its workloads', async () => {
    const violations = await queueViolations([
      [clusterQueue('q', { cpu: '4' })],
      // The workload is admitted, but the queue's ledger did not move with it.
      [workload('w1', { queue: 'q' })],
    ]);
    expect(violations.map((v) => v.message)).to.include.members([
      'QueueUsageMismatch: ClusterQueue q records {default/cpu: 0} but its holders use {default/cpu: 1} (at revision 11)',
    ]);
  });

  it('reports an admission changed while set, and one Job holding quota through two Workloads', async () => {
    const violations = await queueViolations([
      [clusterQueue('p', { cpu: '4' }), clusterQueue('q', { cpu: '4' })],
      [workload('w1', { queue: 'p', job: 'j' }), clusterQueue('p', { cpu: '4', reserved: '1' })],
      [workload('w1', { queue: 'q', job: 'j' }), clusterQueue('p', { cpu: '4', reserved: '0' }), clusterQueue('q', { cpu: '4', reserved: '1' })],
      [workload('w2', { queue: 'p', job: 'j' }), clusterQueue('p', { cpu: '4', reserved: '1' })],
    ]);
    expect(violations.map((v) => v.message)).to.have.length(2);
    expect(violations[0]!.message).to.match(/^workload tenant\/w1: its admission changed while set, .* at revision 12$/);
    expect(violations[1]!.message).to.equal('job uid j has 2 Workloads holding quota at once (tenant/w1, tenant/w2) at revision 13');
  });
});
