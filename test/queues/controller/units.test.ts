// The queue controller's pure parts, without a cluster: a Job's Workload and admitted template,
// flavor assignment, dominant-resource shares, and the choice of preemption victims.
import { expect } from 'chai';
import { JobSchema } from '../../../shared/api/batch.js';
import { ClusterQueueSchema, ResourceFlavorSchema, WorkloadSchema, type ClusterQueue } from '../../../shared/api/kueue.js';
import { queueState, type FlavorAmounts, type QueueState } from '../../../shared/queue-fit.js';
import { Quantity } from '../../../shared/quantity.js';
import { ResourceAmounts } from '../../../shared/resources.js';
import { assignFlavors } from '../../../controllers/kueue/flavor-assigner.js';
import { INFINITE_SHARE, weightedShare } from '../../../controllers/kueue/fair-sharing.js';
import { findVictims, type Reservation } from '../../../controllers/kueue/preemption.js';
import { admittedTemplate, podSetCount, workloadForJob, workloadNameForJob } from '../../../controllers/kueue/workload-from-job.js';
import { fits } from '../../../shared/queue-fit.js';

function cpu(flavor: string, amount: string): FlavorAmounts {
  return new Map([[flavor, new ResourceAmounts([['cpu', Quantity.parse(amount)]])]]);
}

function cq(name: string, spec: Record<string, unknown>): ClusterQueue {
  return ClusterQueueSchema.parse({ metadata: { name }, spec });
}

function cpuQueue(name: string, nominal: string, extra: Record<string, unknown> = {}, flavors = ['default']): ClusterQueue {
  return cq(name, { namespaceSelector: {}, resourceGroups: [{ coveredResources: ['cpu'], flavors: flavors.map((f) => ({ name: f, resources: [{ name: 'cpu', nominalQuota: nominal }] })) }], ...extra });
}

function state(q: ClusterQueue, used = '0', flavor = 'default'): QueueState {
  return { ...queueState(q), usage: cpu(flavor, used) };
}

const job = JobSchema.parse({
  metadata: { name: 'train', namespace: 'ml', uid: 'u-1', labels: { 'kueue.x-k8s.io/queue-name': 'lq' } },
  spec: {
    parallelism: 4,
    completions: 3,
    template: { spec: { restartPolicy: 'Never', priority: 7, nodeSelector: { zone: 'a' }, containers: [{ name: 'c', image: 'x', resources: { requests: { cpu: '500m' } } }] } },
  },
});

describe('queue controller units', () => {
  it("a Job's Workload: Kueue's name, parallelism capped by completions, its priority, owned by the Job", () => {
    expect(workloadNameForJob(job)).to.match(/^job-train-[0-9a-f]{5}$/);
    expect(podSetCount(job)).to.equal(3);
    const wl = workloadForJob(job);
    expect(wl.spec).to.deep.include({ queueName: 'lq', priority: 7 });
    expect(wl.spec.podSets.map((p) => [p.name, p.count])).to.deep.equal([['main', 3]]);
    expect(wl.metadata.ownerReferences).to.deep.equal([{ apiVersion: 'batch/v1', kind: 'Job', name: 'train', uid: 'u-1', controller: true, blockOwnerDeletion: true }]);
    expect(() => WorkloadSchema.parse(wl)).to.not.throw();
  });

  it("the admitted template adds the flavor's node labels and tolerations to the submitted ones", () => {
    const flavor = ResourceFlavorSchema.parse({ metadata: { name: 'spot' }, spec: { nodeLabels: { pool: 'spot' }, tolerations: [{ key: 'spot', operator: 'Exists', effect: 'NoSchedule' }] } });
    const t = admittedTemplate(job.spec.template, { clusterQueue: 'q', podSetAssignments: [{ name: 'main', flavors: { cpu: 'spot' } }] }, 'main', new Map([['spot', flavor]]));
    expect(t.spec.nodeSelector).to.deep.equal({ zone: 'a', pool: 'spot' });
    expect(t.spec.tolerations).to.deep.equal([{ key: 'spot', operator: 'Exists', effect: 'NoSchedule' }]);
    expect(job.spec.template.spec.nodeSelector, 'the submitted template is left as it was').to.deep.equal({ zone: 'a' });
  });

  it('assigns the first flavor whose quota takes the request, skipping flavors whose taints the pods do not tolerate', () => {
    const queue = cpuQueue('q', '2', {}, ['tainted', 'small', 'big']);
    const big = cpuQueue('q', '8', {}, ['big']).spec.resourceGroups![0]!.flavors[0]!;
    queue.spec.resourceGroups![0]!.flavors[2] = big;
    const flavors = new Map([
      ['tainted', ResourceFlavorSchema.parse({ metadata: { name: 'tainted' }, spec: { nodeTaints: [{ key: 'gpu', value: 'true', effect: 'NoSchedule' }] } })],
      ['small', ResourceFlavorSchema.parse({ metadata: { name: 'small' } })],
      ['big', ResourceFlavorSchema.parse({ metadata: { name: 'big' } })],
    ]);
    const wl = workloadForJob(job); // 3 pods × 500m = 1500m
    const states = [{ ...queueState(queue), usage: cpu('small', '1') }];
    const r = assignFlavors(wl, queue, flavors, (charge) => (fits(states, 'q', charge).fits ? { ok: true } : { ok: false, failures: [] }));
    expect(r.ok && r.assigned.admission.podSetAssignments).to.deep.equal([{ name: 'main', flavors: { cpu: 'big' }, resourceUsage: { cpu: '1500m' }, count: 3 }]);
    const none = assignFlavors(wl, queue, flavors, (charge) => {
      const f = fits(states, 'q', charge);
      return f.fits ? { ok: false, failures: [] } : { ok: false, failures: f.failures };
    });
    expect(none.ok).to.equal(false);
    if (!none.ok) expect(none.message).to.contain('untolerated taint {gpu=true:NoSchedule} in flavor tainted').and.to.contain('insufficient unused quota for cpu in flavor small, 500m more needed');
    const uncovered = assignFlavors(WorkloadSchema.parse({ metadata: { name: 'g' }, spec: { podSets: [{ count: 1, template: { spec: { containers: [{ name: 'c', image: 'x', resources: { requests: { 'nvidia.com/gpu': '1' } } }] } } }] } }), queue, flavors, () => ({ ok: true }));
    expect(uncovered).to.deep.equal({ ok: false, message: "couldn't assign flavors to pod set main: resource nvidia.com/gpu unavailable in ClusterQueue" });
  });

  it("weighted share: what a queue borrows over what its cohort lends, divided by its weight", () => {
    const a = cpuQueue('a', '2', { cohort: 'c' });
    const b = cpuQueue('b', '2', { cohort: 'c', fairSharing: { weight: '2' } });
    const z = cpuQueue('z', '0', { cohort: 'c', fairSharing: { weight: '0' } });
    const states = [state(a, '0'), state(b, '4'), state(z, '0')];
    expect(weightedShare(states[1]!, states), 'borrowed 2 of 4 lent = 500, weight 2').to.equal(250);
    expect(weightedShare(states[0]!, states)).to.equal(0);
    expect(weightedShare(states[0]!, states, cpu('default', '3')), 'with a candidate admission').to.equal(250);
    expect(weightedShare(states[2]!, states, cpu('default', '1')), 'weight 0 borrowing').to.equal(INFINITE_SHARE);
    expect(weightedShare(state(cpuQueue('lone', '2'), '5'), [state(cpuQueue('lone', '2'), '5')]), 'no cohort').to.equal(0);
  });

  describe('preemption victims', () => {
    const reservation = (key: string, clusterQueue: string, amount: string, priority = 0, reservedAt = 0): Reservation => ({ key, clusterQueue, priority, queuedAt: reservedAt, reservedAt, charge: cpu('default', amount) });

    it('reclaims from the borrowing queue only, newest first, and gives back every victim not needed', () => {
      const a = cpuQueue('a', '4', { cohort: 'c', preemption: { reclaimWithinCohort: 'Any' } });
      const b = cpuQueue('b', '2', { cohort: 'c' });
      const c = cpuQueue('c', '2', { cohort: 'c' });
      // b borrows 2 of a's 4 (3 workloads of 1, 1, 2); c uses its own 2.
      const queues = [state(a, '0'), state(b, '4'), state(c, '2')];
      const reservations = [reservation('b/old', 'b', '1', 0, 1), reservation('b/new', 'b', '1', 0, 3), reservation('b/big', 'b', '2', 0, 2), reservation('c/own', 'c', '2', 0, 4)];
      // c is within its nominal quota: never a candidate for reclaiming.
      const input = { policy: a.spec.preemption, queues, reservations, shareOf: () => 0, disruptable: () => true };
      const victims = findVictims({ ...input, preemptor: { clusterQueue: 'a', priority: 0, queuedAt: 5, charge: cpu('default', '4') } });
      // Taken newest first (b/new, then b/big) until it fits; b/new is then given back: one victim.
      expect(victims?.map((v) => [v.reservation.key, v.reason])).to.deep.equal([['b/big', 'InCohortReclamation']]);
      const protectedBig = findVictims({ ...input, disruptable: (r) => r.key !== 'b/big', preemptor: { clusterQueue: 'a', priority: 0, queuedAt: 5, charge: cpu('default', '4') } });
      expect(protectedBig?.map((v) => v.reservation.key), 'a budget protects b/big').to.have.members(['b/new', 'b/old']);
      expect(findVictims({ ...input, preemptor: { clusterQueue: 'a', priority: 0, queuedAt: 5, charge: cpu('default', '5') } }), 'past its nominal quota: no reclaiming').to.equal(undefined);
    });

    it('LowerPriority within the queue: only lower priorities, lowest first', () => {
      const q = cpuQueue('q', '3', { preemption: { withinClusterQueue: 'LowerPriority' } });
      const queues = [state(q, '3')];
      const reservations = [reservation('q/p5', 'q', '1', 5), reservation('q/p1', 'q', '1', 1), reservation('q/p9', 'q', '1', 9)];
      const input = { policy: q.spec.preemption, queues, reservations, shareOf: () => 0, disruptable: () => true };
      expect(findVictims({ ...input, preemptor: { clusterQueue: 'q', priority: 6, queuedAt: 0, charge: cpu('default', '1') } })?.map((v) => [v.reservation.key, v.reason])).to.deep.equal([['q/p1', 'InClusterQueue']]);
      expect(findVictims({ ...input, preemptor: { clusterQueue: 'q', priority: 6, queuedAt: 0, charge: cpu('default', '3') } }), 'p9 is not lower').to.equal(undefined);
    });
  });
});
