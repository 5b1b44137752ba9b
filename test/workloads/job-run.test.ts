// Jobs that run to completion on hollow nodes placed by a real scheduler, with the job controller
// in-process: parallelism is never exceeded, completions are counted exactly once, Indexed Jobs
// run each index once with its index in an annotation, a label and $JOB_COMPLETION_INDEX, a gang
// Job gets its PodGroup before its pods, and a controller replaced mid-Job creates no extra pod.
import { expect } from 'chai';
import type { PodGroup } from '../../shared/api/scheduling.js';
import { ActiveWatch, createJob, createNamespace, jobManifest, jobPods, jobSuite, waitCondition } from './job-helpers.js';

describe('job controller: running Jobs to completion', function () {
  this.timeout(120_000);
  const cluster = jobSuite({ hollowNodes: 4 });

  it('completions 5, parallelism 2: never more than 2 active, 5 successes counted once, then Complete', async () => {
    const ns = 'job-par';
    await createNamespace(cluster.client, ns);
    const watch = new ActiveWatch(cluster.client, ns);
    await watch.start();
    try {
      const created = await createJob(cluster.client, ns, jobManifest('par', { completions: 5, parallelism: 2, runSeconds: 1 }));
      expect(created.spec.selector?.matchLabels).to.deep.equal({ 'batch.kubernetes.io/controller-uid': created.metadata.uid });
      expect(created.spec.template.metadata.labels).to.include({ 'batch.kubernetes.io/job-name': 'par', 'job-name': 'par', 'controller-uid': created.metadata.uid });
      const job = await waitCondition(cluster.client, ns, 'par', 'Complete');
      expect(job.status.succeeded).to.equal(5);
      expect(job.status.failed ?? 0).to.equal(0);
      expect(job.status.active ?? 0).to.equal(0);
      expect(job.status.completionTime).to.be.a('string');
      expect(job.status.startTime).to.be.a('string');
      expect(job.status.uncountedTerminatedPods ?? {}).to.deep.equal({});
      const pods = await jobPods(cluster.client, ns, 'par');
      expect(pods.filter((p) => p.status.phase === 'Succeeded')).to.have.length(5);
      for (const p of pods) {
        expect(p.metadata.finalizers ?? [], 'tracking finalizer removed once counted').to.not.include('batch.kubernetes.io/job-tracking');
        expect(p.metadata.ownerReferences).to.deep.equal([{ apiVersion: 'batch/v1', kind: 'Job', name: 'par', uid: created.metadata.uid, controller: true, blockOwnerDeletion: true }]);
      }
      expect(watch.maxActive, 'most pods active at once').to.equal(2);
    } finally {
      await watch.stop();
    }
  });

  it('Indexed, completions 4: each index 0..3 succeeds once, carrying its index', async () => {
    const ns = 'job-idx';
    await createNamespace(cluster.client, ns);
    await createJob(cluster.client, ns, jobManifest('idx', { completions: 4, parallelism: 2, indexed: true, runSeconds: 1 }));
    const job = await waitCondition(cluster.client, ns, 'idx', 'Complete');
    expect(job.status.succeeded).to.equal(4);
    expect(job.status.completedIndexes).to.equal('0-3');
    const pods = await jobPods(cluster.client, ns, 'idx');
    const indexes = pods.map((p) => Number(p.metadata.annotations?.['batch.kubernetes.io/job-completion-index'])).sort();
    expect(indexes).to.deep.equal([0, 1, 2, 3]);
    for (const p of pods) {
      const ix = p.metadata.annotations?.['batch.kubernetes.io/job-completion-index'] ?? '';
      expect(p.metadata.name).to.match(new RegExp(`^idx-${ix}-[a-z0-9]{5}$`));
      expect(p.metadata.labels?.['batch.kubernetes.io/job-completion-index']).to.equal(ix);
      expect(p.spec.containers[0]?.env).to.deep.include({ name: 'JOB_COMPLETION_INDEX', value: ix });
      expect(p.status.phase).to.equal('Succeeded');
    }
  });

  it('a gang Job gets its PodGroup (minMember = parallelism, owned by the Job) and its pods run all together', async () => {
    const ns = 'job-gang';
    await createNamespace(cluster.client, ns);
    const created = await createJob(cluster.client, ns, jobManifest('gang', { completions: 3, parallelism: 3, runSeconds: 1, labels: { 'scheduling.x-k8s.io/pod-group': 'gang-pg' } }));
    const job = await waitCondition(cluster.client, ns, 'gang', 'Complete');
    expect(job.status.succeeded).to.equal(3);
    const pg = await cluster.client.get<PodGroup>({ group: 'scheduling.x-k8s.io', version: 'v1alpha1', resource: 'podgroups', namespace: ns, name: 'gang-pg' });
    expect(pg.spec.minMember).to.equal(3);
    expect(pg.metadata.ownerReferences).to.deep.equal([{ apiVersion: 'batch/v1', kind: 'Job', name: 'gang', uid: created.metadata.uid, controller: true, blockOwnerDeletion: true }]);
    const pods = await jobPods(cluster.client, ns, 'gang');
    expect(pods).to.have.length(3);
    // Bound together: the scheduler's gang plugin commits a group's pods in one AllOrNothing Placement.
    const events = (await cluster.client.list<{ items: { reason?: string; involvedObject: { kind?: string; name?: string } }[] }>({ resource: 'events', namespace: ns })).items;
    expect(events.some((e) => e.involvedObject.kind === 'Job' && e.reason === 'PodGroupCreated')).to.equal(true);
  });

  it('a fresh controller taking over mid-Job creates no extra pod and counts exactly `completions` successes', async () => {
    const ns = 'job-restart';
    await createNamespace(cluster.client, ns);
    const watch = new ActiveWatch(cluster.client, ns);
    await watch.start();
    try {
      await createJob(cluster.client, ns, jobManifest('rs', { completions: 12, parallelism: 3, runSeconds: 1 }));
      // Stop it in the middle, let pods finish while no controller runs, then start a new one.
      for (let round = 0; round < 3; round++) {
        await new Promise((r) => setTimeout(r, 1200 + round * 300));
        await cluster.restartController(() => new Promise((r) => setTimeout(r, 1500)));
      }
      const job = await waitCondition(cluster.client, ns, 'rs', 'Complete', 90_000);
      expect(job.status.succeeded).to.equal(12);
      expect(job.status.failed ?? 0).to.equal(0);
      const pods = await jobPods(cluster.client, ns, 'rs');
      expect(pods, 'pods created').to.have.length(12);
      expect(pods.every((p) => p.status.phase === 'Succeeded')).to.equal(true);
      expect(watch.maxActive).to.be.at.most(3);
    } finally {
      await watch.stop();
    }
  });
});
