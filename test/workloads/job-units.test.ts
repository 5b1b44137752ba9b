// The Job's pure rules, without a cluster: index intervals as Kubernetes checks them, success
// policy rules as it matches them, and the failure counts a replacement pod of an index carries.
import { expect } from 'chai';
import { checkIndexIntervals, JobSchema, type Job } from '../../shared/api/batch.js';
import { PodSchema, type Pod } from '../../shared/api/core.js';
import { failsIndex, indexBackoffRemainingMs, lastFailedPerIndex, nextFailureCounts } from '../../controllers/job/per-index.js';
import { matchPodFailurePolicy } from '../../controllers/job/pod-failure-policy.js';
import { matchSuccessPolicy } from '../../controllers/job/success-policy.js';

function job(spec: Record<string, unknown>): Job {
  return JobSchema.parse({
    metadata: { name: 'j', namespace: 'ns' },
    spec: { completionMode: 'Indexed', template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'x' }] } }, ...spec },
  });
}

function failedPod(index: number, counts: [number, number], exitCode: number, finishedAt: string): Pod {
  return PodSchema.parse({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `p-${index}-${counts.join('-')}`,
      namespace: 'ns',
      annotations: {
        'batch.kubernetes.io/job-completion-index': String(index),
        'batch.kubernetes.io/job-index-failure-count': String(counts[0]),
        'batch.kubernetes.io/job-index-ignored-failure-count': String(counts[1]),
      },
    },
    spec: { containers: [{ name: 'main', image: 'x' }] },
    status: { phase: 'Failed', containerStatuses: [{ name: 'main', ready: false, restartCount: 0, image: 'x', imageID: '', state: { terminated: { exitCode, finishedAt } } }] },
  });
}

describe('Job rules: index intervals, success policy, per-index failure counts', () => {
  it('checks index intervals as Kubernetes does', () => {
    expect(checkIndexIntervals('', 3)).to.deep.equal({ total: 0 });
    expect(checkIndexIntervals('0,2-4,7', 8)).to.deep.equal({ total: 5 });
    expect(checkIndexIntervals('1-3-5', 8)).to.deep.equal({ error: `the fragment "1-3-5" violates the requirement that an index interval can have at most two parts separated by '-'` });
    expect(checkIndexIntervals('a', 8)).to.deep.equal({ error: 'cannot convert string to integer for index: "a"' });
    expect(checkIndexIntervals('2,8', 8)).to.deep.equal({ error: 'too large index: "8"' });
    expect(checkIndexIntervals('2,2', 8)).to.deep.equal({ error: 'non-increasing order, previous: 2, current: 2' });
  });

  it('matches success policy rules in order: indexes alone, count alone, count among indexes', () => {
    const j = job({ completions: 6, successPolicy: { rules: [{ succeededIndexes: '0-2' }, { succeededIndexes: '3-5', succeededCount: 2 }, { succeededCount: 4 }] } });
    expect(matchSuccessPolicy(j, new Set([0, 1]))).to.equal(undefined);
    expect(matchSuccessPolicy(j, new Set([0, 1, 2]))).to.equal('Matched rules at index 0');
    expect(matchSuccessPolicy(j, new Set([0, 3, 5]))).to.equal('Matched rules at index 1');
    expect(matchSuccessPolicy(j, new Set([0, 1, 3, 4]))).to.equal('Matched rules at index 1');
    expect(matchSuccessPolicy(j, new Set([0, 1, 3]))).to.equal(undefined);
    expect(matchSuccessPolicy(job({ completions: 6, successPolicy: { rules: [{ succeededCount: 4 }] } }), new Set([0, 1, 4, 5]))).to.equal('Matched rules at index 0');
  });

  it('a replacement continues its index count; FailIndex and the per-index limit fail an index; Ignore counts apart', () => {
    const policy = { rules: [{ action: 'FailIndex', onExitCodes: { operator: 'In', values: [42] } }, { action: 'Ignore', onExitCodes: { operator: 'In', values: [7] } }] };
    const j = job({ completions: 3, backoffLimitPerIndex: 2, podFailurePolicy: policy });
    const first = failedPod(0, [0, 0], 1, '2026-01-01T00:00:00Z');
    const second = failedPod(0, [1, 0], 7, '2026-01-01T00:00:30Z');
    const last = lastFailedPerIndex([first, second, failedPod(1, [0, 0], 42, '2026-01-01T00:00:10Z')], 3, Date.parse('2026-01-01T00:01:00Z'));
    expect(last.get(0)).to.equal(second);
    // second matched Ignore: its replacement keeps the count and adds an ignored failure.
    expect(nextFailureCounts(j, second)).to.deep.equal({ counted: 1, ignored: 1 });
    expect(nextFailureCounts(j, first)).to.deep.equal({ counted: 1, ignored: 0 });
    expect(nextFailureCounts(j, undefined)).to.deep.equal({ counted: 0, ignored: 0 });
    expect(failsIndex(j, first, matchPodFailurePolicy(j, first))).to.equal(false);
    expect(failsIndex(j, failedPod(0, [2, 0], 1, '2026-01-01T00:00:00Z'), undefined)).to.equal(true);
    const fortyTwo = last.get(1)!;
    expect(failsIndex(j, fortyTwo, matchPodFailurePolicy(j, fortyTwo))).to.equal(true);
    // The back-off counts every failure of the index, ignored ones too: 10 s × 2^(2-1) after the last.
    expect(indexBackoffRemainingMs(second, Date.parse('2026-01-01T00:00:35Z'))).to.equal(15_000);
  });
});
