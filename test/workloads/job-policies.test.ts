// Job failure and success semantics of Kubernetes 1.31+, with a real agent running each pod's
// script as a host process (so each index can behave differently through $JOB_COMPLETION_INDEX):
// backoffLimitPerIndex with its per-index back-off and the FailIndex action, maxFailedIndexes,
// successPolicy, and the interim FailureTarget / SuccessCriteriaMet conditions that come before
// Failed / Complete while the remaining pods are stopped. Pods that must be stopped ignore SIGTERM,
// so stopping them takes their whole grace period: the terminal condition must wait for that.
// And the API's 422s for the combinations Kubernetes refuses.
import { expect } from 'chai';
import type { Pod } from '../../shared/api/core.js';
import type { Job, JobCondition } from '../../shared/api/batch.js';
import { InvalidError } from '../../shared/errors.js';
import { createJob, createNamespace, getJob, jobManifest, jobPods, jobSuite, waitCondition } from './job-helpers.js';

const seconds = (t: string | undefined) => Date.parse(t ?? '') / 1000;
const condition = (job: Job, type: string): JobCondition | undefined => job.status.conditions?.find((c) => c.type === type && c.status === 'True');
const indexOf = (p: Pod) => Number(p.metadata.annotations?.['batch.kubernetes.io/job-completion-index']);
/** Runs until killed: SIGTERM is ignored (inherited by the exec'd sleep), so only the grace period's SIGKILL ends it. */
const STUBBORN = "trap '' TERM; exec sleep 600";
/** Per-index back-off of these tests: 3 s, then 6 s. */
const BACKOFF = { baseMs: 3000, maxMs: 12_000 };

/** Every pod left is terminal: none is running, and none is still being stopped. */
function expectAllStopped(pods: Pod[]): void {
  for (const p of pods) {
    expect(p.status.phase, `pod ${p.metadata.name ?? ''}`).to.be.oneOf(['Succeeded', 'Failed']);
  }
}

describe('job controller: per-index back-off, success policy, FailureTarget and SuccessCriteriaMet', function () {
  this.timeout(150_000);
  const cluster = jobSuite({ realAgent: true, controller: { failureBackoff: BACKOFF } });

  it('backoffLimitPerIndex: a failing index is retried after its own back-off while others go ahead; FailIndex fails an index at once; then FailureTarget and Failed (FailedIndexes)', async () => {
    const ns = 'job-per-index';
    await createNamespace(cluster.client, ns);
    const script = 'case "$JOB_COMPLETION_INDEX" in 0) exit 1;; 1) exit 42;; *) exit 0;; esac';
    const policy = { rules: [{ action: 'FailIndex', onExitCodes: { containerName: 'main', operator: 'In', values: [42] } }] };
    const created = await createJob(cluster.client, ns, jobManifest('pi', { indexed: true, completions: 4, parallelism: 2, backoffLimitPerIndex: 1, podFailurePolicy: policy, script }));
    // No global limit when the limit is per index.
    expect(created.spec.backoffLimit).to.equal(2_147_483_647);
    const job = await waitCondition(cluster.client, ns, 'pi', 'Failed', 90_000);
    const target = condition(job, 'FailureTarget');
    const failed = condition(job, 'Failed');
    expect(target).to.include({ reason: 'FailedIndexes', message: 'Job has failed indexes' });
    expect(failed).to.include({ reason: 'FailedIndexes', message: 'Job has failed indexes' });
    expect(seconds(failed?.lastTransitionTime)).to.be.at.least(seconds(target?.lastTransitionTime));
    expect(job.status.failedIndexes).to.equal('0,1');
    expect(job.status.completedIndexes).to.equal('2,3');
    expect(job.status.succeeded).to.equal(2);
    expect(job.status.failed).to.equal(3);
    expect(job.status.completionTime).to.equal(undefined);

    const pods = await jobPods(cluster.client, ns, 'pi');
    const byIndex = (i: number) => pods.filter((p) => indexOf(p) === i).sort((a, b) => (a.metadata.annotations?.['batch.kubernetes.io/job-index-failure-count'] ?? '').localeCompare(b.metadata.annotations?.['batch.kubernetes.io/job-index-failure-count'] ?? ''));
    // Index 0: its first pod failed, its one retry carried the count and failed too; no third.
    const zero = byIndex(0);
    expect(zero.map((p) => p.metadata.annotations?.['batch.kubernetes.io/job-index-failure-count'])).to.deep.equal(['0', '1']);
    expect(zero.map((p) => p.metadata.annotations?.['batch.kubernetes.io/job-index-ignored-failure-count'])).to.deep.equal(['0', '0']);
    // Index 1 matched FailIndex: never retried.
    expect(byIndex(1)).to.have.length(1);
    expect(byIndex(2)).to.have.length(1);
    expect(byIndex(3)).to.have.length(1);
    // The retry waited out index 0's back-off (3 s from its failure)…
    const firstFailedAt = seconds(zero[0]!.status.containerStatuses?.[0]?.state?.terminated?.finishedAt);
    const retryAt = seconds(zero[1]!.metadata.creationTimestamp);
    expect(retryAt - firstFailedAt, 'index 0 back-off').to.be.within(2, 10);
    // …while indexes 2 and 3 took the free slots at once rather than waiting behind it.
    for (const i of [2, 3]) expect(seconds(byIndex(i)[0]!.metadata.creationTimestamp), `index ${i} started`).to.be.below(retryAt);
    expectAllStopped(pods);
  });

  it('maxFailedIndexes exceeded: FailureTarget at once, the running indexes are stopped (and counted failed), Failed only once they are gone', async () => {
    const ns = 'job-max-failed';
    await createNamespace(cluster.client, ns);
    const script = `case "$JOB_COMPLETION_INDEX" in 0|1) exit 1;; *) ${STUBBORN};; esac`;
    await createJob(cluster.client, ns, jobManifest('mf', { indexed: true, completions: 4, parallelism: 4, backoffLimitPerIndex: 0, maxFailedIndexes: 1, script, terminationGracePeriodSeconds: 3 }));
    const job = await waitCondition(cluster.client, ns, 'mf', 'Failed', 60_000);
    const target = condition(job, 'FailureTarget');
    const failed = condition(job, 'Failed');
    expect(target).to.include({ reason: 'MaxFailedIndexesExceeded', message: 'Job has exceeded the specified maximal number of failed indexes' });
    expect(failed).to.include({ reason: 'MaxFailedIndexesExceeded', message: 'Job has exceeded the specified maximal number of failed indexes' });
    // The two running pods ignore SIGTERM: Failed waits for their 3 s grace period.
    expect(seconds(failed?.lastTransitionTime) - seconds(target?.lastTransitionTime), 'Failed after the pods stopped').to.be.at.least(2);
    expect(job.status.failedIndexes).to.equal('0,1');
    expect(job.status.failed).to.equal(4);
    expect(job.status.succeeded ?? 0).to.equal(0);
    expect(job.status.active ?? 0).to.equal(0);
    expect(job.status.terminating ?? 0).to.equal(0);
    expectAllStopped(await jobPods(cluster.client, ns, 'mf'));
  });

  it('successPolicy: SuccessCriteriaMet when the rule is met, the lingering pods are stopped (not failures), then Complete with the same reason', async () => {
    const ns = 'job-success-policy';
    await createNamespace(cluster.client, ns);
    const script = `case "$JOB_COMPLETION_INDEX" in 0|2) exit 0;; *) ${STUBBORN};; esac`;
    const successPolicy = { rules: [{ succeededIndexes: '3-4', succeededCount: 1 }, { succeededIndexes: '0-2', succeededCount: 2 }] };
    await createJob(cluster.client, ns, jobManifest('sp', { indexed: true, completions: 5, parallelism: 5, successPolicy, script, terminationGracePeriodSeconds: 3 }));
    const met = await waitCondition(cluster.client, ns, 'sp', 'SuccessCriteriaMet', 60_000);
    expect(condition(met, 'SuccessCriteriaMet')).to.include({ reason: 'SuccessPolicy', message: 'Matched rules at index 1' });
    const job = await waitCondition(cluster.client, ns, 'sp', 'Complete', 60_000);
    const criteria = condition(job, 'SuccessCriteriaMet');
    const complete = condition(job, 'Complete');
    expect(complete).to.include({ reason: 'SuccessPolicy', message: 'Matched rules at index 1' });
    expect(seconds(complete?.lastTransitionTime) - seconds(criteria?.lastTransitionTime), 'Complete after the pods stopped').to.be.at.least(2);
    expect(job.status.completionTime).to.equal(complete?.lastTransitionTime);
    expect(job.status.completedIndexes).to.equal('0,2');
    expect(job.status.succeeded).to.equal(2);
    expect(job.status.failed ?? 0, 'pods stopped after success are not failures').to.equal(0);
    expect(condition(job, 'Failed')).to.equal(undefined);
    expectAllStopped(await jobPods(cluster.client, ns, 'sp'));
  });

  it('a Job reaching its completions gets SuccessCriteriaMet (CompletionsReached), then Complete with that reason', async () => {
    const ns = 'job-completions-reached';
    await createNamespace(cluster.client, ns);
    await createJob(cluster.client, ns, jobManifest('cr', { completions: 2, parallelism: 2, script: 'exit 0' }));
    const job = await waitCondition(cluster.client, ns, 'cr', 'Complete', 60_000);
    const criteria = condition(job, 'SuccessCriteriaMet');
    const complete = condition(job, 'Complete');
    expect(criteria).to.include({ reason: 'CompletionsReached', message: 'Reached expected number of succeeded pods' });
    expect(complete).to.include({ reason: 'CompletionsReached', message: 'Reached expected number of succeeded pods' });
    expect(seconds(complete?.lastTransitionTime)).to.be.at.least(seconds(criteria?.lastTransitionTime));
    expect(job.status.succeeded).to.equal(2);
    expect((await getJob(cluster.client, ns, 'cr'))?.status.conditions?.map((c) => c.type)).to.deep.equal(['SuccessCriteriaMet', 'Complete']);
  });

  it('refuses, with a 422 naming the field, the combinations Kubernetes refuses', async () => {
    const ns = 'job-policy-api';
    await createNamespace(cluster.client, ns);
    const fields = async (name: string, o: Parameters<typeof jobManifest>[1]): Promise<string[]> => {
      const err = await createJob(cluster.client, ns, jobManifest(name, o)).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, name).to.be.instanceOf(InvalidError);
      const invalid = err as InvalidError;
      expect(invalid.code).to.equal(422);
      return invalid.causes.map((c) => `${c.field}: ${c.message}`);
    };
    expect(await fields('a', { completions: 2, backoffLimitPerIndex: 1 })).to.deep.equal(['spec.backoffLimitPerIndex: Invalid value: 1: requires indexed completion mode']);
    expect(await fields('b', { indexed: true, completions: 2, maxFailedIndexes: 1 })).to.deep.equal(['spec.backoffLimitPerIndex: Required value: when maxFailedIndexes is specified']);
    expect(await fields('c', { indexed: true, completions: 2, backoffLimitPerIndex: 0, maxFailedIndexes: 3 })).to.deep.equal(['spec.maxFailedIndexes: Invalid value: 3: must be less than or equal to completions']);
    expect(await fields('c2', { indexed: true, completions: 2, backoffLimitPerIndex: 1, restartPolicy: 'OnFailure' })).to.deep.equal([
      'spec.template.spec.restartPolicy: Invalid value: "OnFailure": only "Never" is supported when backoffLimitPerIndex is specified',
    ]);
    const failIndex = { rules: [{ action: 'FailIndex', onExitCodes: { operator: 'In', values: [42] } }] };
    expect(await fields('d', { indexed: true, completions: 2, podFailurePolicy: failIndex })).to.deep.equal([
      'spec.podFailurePolicy.rules[0].action: Invalid value: "FailIndex": requires the backoffLimitPerIndex to be set',
    ]);
    expect(await fields('e', { completions: 2, successPolicy: { rules: [{ succeededCount: 1 }] } })).to.deep.equal([
      'spec.successPolicy: Invalid value: {"rules":[{"succeededCount":1}]}: requires indexed completion mode',
    ]);
    expect(await fields('f', { indexed: true, completions: 5, successPolicy: { rules: [{ succeededIndexes: '3-1' }, {}, { succeededIndexes: '0-2', succeededCount: 4 }, { succeededCount: 9 }] } })).to.deep.equal([
      'spec.successPolicy.rules[0].succeededIndexes: Invalid value: "3-1": error parsing succeededIndexes: non-increasing order, previous: 3, current: 1',
      'spec.successPolicy.rules[1]: Required value: at least one of succeededCount or succeededIndexes must be specified',
      'spec.successPolicy.rules[2].succeededCount: Invalid value: 4: must be less than or equal to 3 (the number of indexes in the specified succeededIndexes field)',
      'spec.successPolicy.rules[3].succeededCount: Invalid value: 9: must be less than or equal to 5 (the number of specified completions)',
    ]);
    expect(await fields('g', { indexed: true, completions: 2, successPolicy: { rules: [] } })).to.deep.equal([
      'spec.successPolicy.rules: Required value: at least one rules must be specified when the successPolicy is specified',
    ]);
    // A valid one is accepted, and the status subresource refuses a failedIndexes the spec cannot have.
    const ok = await createJob(cluster.client, ns, jobManifest('ok', { indexed: true, completions: 3, backoffLimitPerIndex: 2, maxFailedIndexes: 1, suspend: true }));
    expect(ok.spec).to.include({ backoffLimitPerIndex: 2, maxFailedIndexes: 1, backoffLimit: 2_147_483_647 });
    const plain = await createJob(cluster.client, ns, jobManifest('plain', { completions: 1, suspend: true }));
    expect(plain.spec.backoffLimit).to.equal(6);
    const err = await cluster.client
      .update({ group: 'batch', version: 'v1', resource: 'jobs', namespace: ns, name: 'plain', subresource: 'status' }, { ...plain, status: { failedIndexes: '0' } })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).to.be.instanceOf(InvalidError);
    expect((err as InvalidError).causes.map((c) => c.field)).to.deep.equal(['status.failedIndexes']);
  });
});
