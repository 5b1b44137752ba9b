// Jobs that fail, on hollow nodes whose pods exit with the code their `cell.dev/exit-code`
// annotation names: backoffLimit with Kubernetes' growing back-off between retries, the pod
// failure policy (FailJob at once, Ignore not counted), restartPolicy OnFailure restarts counted
// toward backoffLimit, and activeDeadlineSeconds; each failure decided first as FailureTarget.
import { expect } from 'chai';
import { createJob, createNamespace, getJob, jobManifest, jobPods, jobSuite, waitCondition, waitFor } from './job-helpers.js';

const seconds = (t: string | undefined) => Date.parse(t ?? '') / 1000;

describe('job controller: failing Jobs', function () {
  this.timeout(150_000);
  const cluster = jobSuite({ hollowNodes: 2 });

  it('retries a failing pod after 10 s, then 20 s, and fails with BackoffLimitExceeded after backoffLimit+1 failures', async () => {
    const ns = 'job-backoff';
    await createNamespace(cluster.client, ns);
    await createJob(cluster.client, ns, jobManifest('fails', { backoffLimit: 2, runSeconds: 0, exitCode: 1 }));
    const job = await waitCondition(cluster.client, ns, 'fails', 'Failed', 90_000);
    const failed = job.status.conditions?.find((c) => c.type === 'Failed');
    expect(failed?.reason).to.equal('BackoffLimitExceeded');
    expect(failed?.message).to.equal('Job has reached the specified backoff limit');
    // Decided first (FailureTarget), terminal once nothing runs: the same reason and message.
    expect(job.status.conditions?.find((c) => c.type === 'FailureTarget')).to.include({ status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' });
    expect(job.status.failed).to.equal(3);
    expect(job.status.succeeded ?? 0).to.equal(0);
    const pods = (await jobPods(cluster.client, ns, 'fails')).sort((a, b) => seconds(a.metadata.creationTimestamp) - seconds(b.metadata.creationTimestamp));
    expect(pods).to.have.length(3);
    for (const p of pods) {
      expect(p.status.phase).to.equal('Failed');
      expect(p.status.containerStatuses?.[0]?.state?.terminated).to.include({ exitCode: 1, reason: 'Error' });
    }
    const gap1 = seconds(pods[1]!.metadata.creationTimestamp) - seconds(pods[0]!.metadata.creationTimestamp);
    const gap2 = seconds(pods[2]!.metadata.creationTimestamp) - seconds(pods[1]!.metadata.creationTimestamp);
    // Timestamps have second precision: 10 s and 20 s within a second.
    expect(gap1, 'first back-off').to.be.within(9, 13);
    expect(gap2, 'second back-off').to.be.within(19, 23);
  });

  it('podFailurePolicy FailJob on exit code 42 fails the Job at the first such failure', async () => {
    const ns = 'job-failjob';
    await createNamespace(cluster.client, ns);
    const policy = { rules: [{ action: 'FailJob', onExitCodes: { containerName: 'main', operator: 'In', values: [42] } }] };
    await createJob(cluster.client, ns, jobManifest('fj', { backoffLimit: 6, runSeconds: 0, exitCode: 42, podFailurePolicy: policy }));
    const job = await waitCondition(cluster.client, ns, 'fj', 'Failed');
    const failed = job.status.conditions?.find((c) => c.type === 'Failed');
    expect(failed?.reason).to.equal('PodFailurePolicy');
    expect(failed?.message).to.match(/^Container main for pod job-failjob\/fj-[a-z0-9]{5} failed with exit code 42 matching FailJob rule at index 0$/);
    expect(job.status.failed).to.equal(1);
    expect(await jobPods(cluster.client, ns, 'fj')).to.have.length(1);
  });

  it('podFailurePolicy Ignore: matching failures are replaced at once and never counted', async () => {
    const ns = 'job-ignore';
    await createNamespace(cluster.client, ns);
    const policy = { rules: [{ action: 'Ignore', onExitCodes: { operator: 'In', values: [43] } }] };
    await createJob(cluster.client, ns, jobManifest('ig', { backoffLimit: 0, runSeconds: 0, exitCode: 43, podFailurePolicy: policy }));
    // With backoffLimit 0 a single counted failure would fail the Job; these are ignored, and
    // replaced without the failure back-off.
    await waitFor(async () => (await jobPods(cluster.client, ns, 'ig')).filter((p) => p.status.phase === 'Failed').length >= 3, 'three ignored failures', 30_000, 200);
    const job = await getJob(cluster.client, ns, 'ig');
    expect(job?.status.failed ?? 0).to.equal(0);
    expect(job?.status.conditions?.some((c) => c.type === 'Failed')).to.not.equal(true);
    await cluster.client.patch({ group: 'batch', version: 'v1', resource: 'jobs', namespace: ns, name: 'ig' }, { spec: { suspend: true } }, 'merge');
  });

  it('restartPolicy OnFailure: containers restart in place, and restarts reaching backoffLimit fail the Job', async () => {
    const ns = 'job-onfailure';
    await createNamespace(cluster.client, ns);
    await createJob(cluster.client, ns, jobManifest('of', { backoffLimit: 2, runSeconds: 0, exitCode: 1, restartPolicy: 'OnFailure' }));
    // The failed Job stops its pod: look at it while it restarts.
    const restarted = await waitFor(async () => {
      const pods = await jobPods(cluster.client, ns, 'of');
      const cs = pods[0]?.status.containerStatuses?.[0];
      return pods.length === 1 && (cs?.restartCount ?? 0) >= 1 && pods[0]!.status.phase === 'Running' ? cs : undefined;
    }, 'the pod restarted in place', 30_000, 50);
    expect(restarted.lastState?.terminated).to.include({ exitCode: 1, reason: 'Error' });
    const job = await waitCondition(cluster.client, ns, 'of', 'Failed', 60_000);
    expect(job.status.conditions?.find((c) => c.type === 'Failed')?.reason).to.equal('BackoffLimitExceeded');
    // One pod all along, failed once the Job stopped it; never replaced.
    await waitFor(async () => (await getJob(cluster.client, ns, 'of'))?.status.failed === 1, 'the stopped pod counted', 20_000, 100);
    expect((await getJob(cluster.client, ns, 'of'))?.status.succeeded ?? 0).to.equal(0);
  });

  it('activeDeadlineSeconds: a Job running too long fails with DeadlineExceeded and its pods are stopped', async () => {
    const ns = 'job-deadline';
    await createNamespace(cluster.client, ns);
    // No run-seconds: hollow pods run until deleted.
    await createJob(cluster.client, ns, jobManifest('dl', { parallelism: 2, completions: 4, activeDeadlineSeconds: 2 }));
    const job = await waitCondition(cluster.client, ns, 'dl', 'Failed', 30_000);
    const failed = job.status.conditions?.find((c) => c.type === 'Failed');
    const target = job.status.conditions?.find((c) => c.type === 'FailureTarget');
    expect(failed?.reason).to.equal('DeadlineExceeded');
    expect(failed?.message).to.equal('Job was active longer than specified deadline');
    expect(target).to.include({ status: 'True', reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' });
    // Decided at the deadline; Failed once the running pods were stopped.
    expect(seconds(target?.lastTransitionTime) - seconds(job.status.startTime)).to.be.within(2, 4);
    expect(seconds(failed?.lastTransitionTime)).to.be.at.least(seconds(target?.lastTransitionTime));
    // Stopped pods count as failures (as in Kubernetes), before the Job is Failed.
    expect(job.status.failed).to.equal(2);
    expect(job.status.active ?? 0).to.equal(0);
    expect(job.status.terminating ?? 0).to.equal(0);
    expect(await jobPods(cluster.client, ns, 'dl')).to.have.length(0);
  });
});
