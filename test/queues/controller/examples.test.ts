// examples/kueue/ as the README runs it: `kubectl apply -f examples/kueue/` (a flavor, two
// ClusterQueues in a cohort with fair-sharing weights, LocalQueues, a queued Job), the Job admitted
// and run to completion, and the queues shown by `kubectl get` and `cellctl get` through the
// server's Table columns.
import { expect } from 'chai';
import path from 'node:path';
import type { ClusterQueue } from '../../../shared/api/kueue.js';
import { cellctl, isolatedEnv, tempDir } from '../../cli/helpers.js';
import { CQ, cond, isAdmittedWl, isFinishedWl, queueSuite, waitFor, waitJobCondition, waitWorkload } from './helpers.js';

describe('queue controller: examples/kueue', function () {
  this.timeout(180_000);
  const cluster = queueSuite('kueue-examples');

  it('applies with kubectl, runs the queued Job to completion, and shows the queues in kubectl and cellctl', async () => {
    const applied = await cluster.kubectl(['apply', '-f', path.resolve('examples/kueue/')]);
    expect(applied.code, applied.stderr).to.equal(0);
    expect(applied.stdout).to.contain('clusterqueue.kueue.x-k8s.io/team-a-cq created').and.to.contain('job.batch/sample-job created');

    const admitted = await waitWorkload(cluster.client, 'team-a', 'sample-job', isAdmittedWl, 'admitted');
    expect(admitted.status.admission?.podSetAssignments[0]).to.deep.include({ flavors: { cpu: 'default-flavor', memory: 'default-flavor' }, count: 3 });
    const shown = await cluster.kubectl(['get', 'clusterqueues']);
    expect(shown.code, shown.stderr).to.equal(0);
    expect(shown.stdout).to.match(/NAME\s+COHORT\s+PENDING WORKLOADS\s+ADMITTED WORKLOADS/);
    expect(shown.stdout).to.match(/team-a-cq\s+research\s+/);

    await waitJobCondition(cluster.client, 'team-a', 'sample-job', 'Complete', 90_000);
    const finished = await waitWorkload(cluster.client, 'team-a', 'sample-job', isFinishedWl, 'finished');
    expect(cond(finished, 'Finished')?.reason).to.equal('Succeeded');
    const cq = await waitFor(async () => {
      const q = await cluster.client.get<ClusterQueue>({ ...CQ, name: 'team-a-cq' });
      return q.status.admittedWorkloads === 0 && q.status.conditions?.some((c) => c.type === 'Active' && c.status === 'True') ? q : undefined;
    }, 'team-a-cq active and idle', 30_000, 100);
    expect(cq.spec.fairSharing?.weight).to.equal('2');

    const env = isolatedEnv(tempDir());
    const cqs = await cellctl([`--kubeconfig=${cluster.kubeconfig}`, 'get', 'clusterqueues'], { env });
    expect(cqs.code, cqs.stderr).to.equal(0);
    expect(cqs.stdout).to.match(/team-a-cq\s+research/).and.to.match(/team-b-cq\s+research/);
    const lqs = await cellctl([`--kubeconfig=${cluster.kubeconfig}`, 'get', 'localqueues', '-A'], { env });
    expect(lqs.code, lqs.stderr).to.equal(0);
    expect(lqs.stdout).to.match(/team-a\s+user-queue\s+team-a-cq/);
    const wls = await cellctl([`--kubeconfig=${cluster.kubeconfig}`, 'get', 'workloads', '-n', 'team-a'], { env });
    expect(wls.code, wls.stderr).to.equal(0);
    expect(wls.stdout).to.match(/job-sample-job-\w+\s+user-queue\s+team-a-cq\s+True\s+True/);
    const described = await cellctl([`--kubeconfig=${cluster.kubeconfig}`, 'describe', 'workload', finished.metadata.name ?? '', '-n', 'team-a'], { env });
    expect(described.code, described.stderr).to.equal(0);
    expect(described.stdout).to.match(/Queue Name:\s+user-queue/).and.to.match(/Cluster Queue:\s+team-a-cq/).and.to.match(/Flavors:\s+cpu=default-flavor, memory=default-flavor/);
    expect(described.stdout).to.match(/Finished\s+True\s+Succeeded/).and.to.match(/QuotaReserved\s+.*Quota reserved in ClusterQueue team-a-cq/);
  });
});
