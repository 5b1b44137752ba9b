// The Workloads view's words for a Deployment, a Job and a ResourceQuota, on objects shaped the way
// the API server serves them (parsed through the real schemas, so defaults are filled in).
import { expect } from 'chai';
import { DaemonSetSchema, DeploymentSchema, ReplicaSetSchema, StatefulSetSchema, type DaemonSet, type Deployment, type ReplicaSet, type StatefulSet } from '../../shared/api/apps.js';
import { JobSchema, type Job, type JobCondition } from '../../shared/api/batch.js';
import { ResourceQuotaSchema } from '../../shared/api/quota.js';
import { daemonSetSummary, deploymentSummary, formatDuration, jobSummary, jobTone, podSelector, quotaLines, replicaSetsOf, replicaSetSummary, statefulSetSummary } from '../../dashboard/src/workloads.js';

const template = { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'main', image: 'busybox' }] } };

function deployment(status: Deployment['status'], o: { replicas?: number; generation?: number; paused?: boolean } = {}): Deployment {
  return DeploymentSchema.parse({
    metadata: { name: 'web', namespace: 'default', generation: o.generation ?? 1 },
    spec: { replicas: o.replicas ?? 3, selector: { matchLabels: { app: 'web' } }, template, ...(o.paused ? { paused: true } : {}) },
    status,
  });
}

function job(spec: Record<string, unknown>, status: Job['status']): Job {
  return JobSchema.parse({
    metadata: { name: 'crunch', namespace: 'default' },
    spec: { ...spec, template: { ...template, spec: { ...template.spec, restartPolicy: 'Never' } } },
    status,
  });
}

function daemonSet(status: Partial<DaemonSet['status']>, o: { generation?: number; onDelete?: boolean } = {}): DaemonSet {
  return DaemonSetSchema.parse({
    metadata: { name: 'logs', namespace: 'default', generation: o.generation ?? 1 },
    spec: { selector: { matchLabels: { app: 'web' } }, template, ...(o.onDelete ? { updateStrategy: { type: 'OnDelete' } } : {}) },
    status,
  });
}

function statefulSet(status: Partial<StatefulSet['status']>, o: { partition?: number } = {}): StatefulSet {
  return StatefulSetSchema.parse({
    metadata: { name: 'db', namespace: 'default', generation: 1 },
    spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template, ...(o.partition !== undefined ? { updateStrategy: { rollingUpdate: { partition: o.partition } } } : {}) },
    status,
  });
}

function replicaSet(name: string, status: Partial<ReplicaSet['status']>, o: { replicas?: number; owner?: string; created?: string; namespace?: string } = {}): ReplicaSet {
  return ReplicaSetSchema.parse({
    metadata: {
      name,
      namespace: o.namespace ?? 'default',
      generation: 1,
      creationTimestamp: o.created ?? '2026-01-01T00:00:00Z',
      ...(o.owner ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: o.owner, controller: true }] } : {}),
    },
    spec: { replicas: o.replicas ?? 3, selector: { matchLabels: { app: 'web' } }, template },
    status: { observedGeneration: 1, ...status },
  });
}

describe('dashboard: workload summaries', () => {
  it('words a DaemonSet and a StatefulSet the way kubectl rollout status does', () => {
    const counts = { desiredNumberScheduled: 4, currentNumberScheduled: 4, numberMisscheduled: 0, numberReady: 4, observedGeneration: 1 };
    expect(daemonSetSummary(daemonSet({ ...counts, updatedNumberScheduled: 4, numberAvailable: 4 }))).to.include({ desired: 4, ready: 4, status: 'available', tone: 'ok' });
    expect(daemonSetSummary(daemonSet({ ...counts, updatedNumberScheduled: 1, numberAvailable: 4 })).status).to.equal('rolling out: 1 of 4 updated');
    expect(daemonSetSummary(daemonSet({ ...counts, updatedNumberScheduled: 1, numberAvailable: 4 }, { onDelete: true })).status).to.equal('on delete: 1 of 4 updated');
    expect(daemonSetSummary(daemonSet({ ...counts, updatedNumberScheduled: 4, numberAvailable: 3 })).status).to.equal('rolling out: 3 of 4 available');
    expect(daemonSetSummary(daemonSet({ ...counts, updatedNumberScheduled: 4, numberAvailable: 4 }, { generation: 2 })).status).to.equal('rolling out (not yet observed)');
    expect(daemonSetSummary(daemonSet({ observedGeneration: 1 })).status).to.equal('no node fits');

    const rev = { observedGeneration: 1, replicas: 3, readyReplicas: 3, updatedReplicas: 3, availableReplicas: 3 };
    expect(statefulSetSummary(statefulSet({ ...rev, currentRevision: 'db-1', updateRevision: 'db-1' }))).to.include({ desired: 3, ready: 3, status: 'available', tone: 'ok' });
    expect(statefulSetSummary(statefulSet({ ...rev, readyReplicas: 1, currentRevision: 'db-1', updateRevision: 'db-1' })).status).to.equal('rolling out: 1 of 3 ready');
    expect(statefulSetSummary(statefulSet({ ...rev, updatedReplicas: 1, currentRevision: 'db-1', updateRevision: 'db-2' })).status).to.equal('rolling out: 1 of 3 updated');
    expect(statefulSetSummary(statefulSet({ ...rev, updatedReplicas: 1, currentRevision: 'db-1', updateRevision: 'db-2' }, { partition: 2 })).status).to.equal('partitioned at 2: 1 updated');
  });


  it('words a Deployment the way kubectl rollout status does, conditions first', () => {
    const done = deployment({ observedGeneration: 1, replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3, conditions: [{ type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable' }] });
    expect(deploymentSummary(done)).to.include({ desired: 3, ready: 3, upToDate: 3, available: 3, status: 'available', tone: 'ok' });
    expect(deploymentSummary(deployment({ observedGeneration: 1 }, { generation: 2 })).status).to.equal('rolling out (not yet observed)');
    expect(deploymentSummary(deployment({ observedGeneration: 1, replicas: 1, updatedReplicas: 1 })).status).to.equal('rolling out: 1 of 3 updated');
    expect(deploymentSummary(deployment({ observedGeneration: 1, replicas: 5, updatedReplicas: 3 })).status).to.equal('rolling out: 2 old pending termination');
    expect(deploymentSummary(deployment({ observedGeneration: 1, replicas: 3, updatedReplicas: 3, availableReplicas: 1 })).status).to.equal('rolling out: 1 of 3 available');
    const stuck = deploymentSummary(deployment({ observedGeneration: 1, conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'took too long' }] }));
    expect(stuck).to.include({ status: 'ProgressDeadlineExceeded', tone: 'bad' });
    expect(stuck.detail).to.equal('Progressing=False (ProgressDeadlineExceeded): took too long');
    const refused = deployment({ observedGeneration: 1, conditions: [{ type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate' }] });
    expect(deploymentSummary(refused)).to.include({ status: 'ReplicaFailure: FailedCreate', tone: 'bad' });
    expect(deploymentSummary(deployment({ observedGeneration: 1 }, { paused: true })).status).to.equal('paused');
  });

  it("counts a ReplicaSet the way kubectl get rs does, and finds a Deployment's own, newest first", () => {
    expect(replicaSetSummary(replicaSet('web-1', { replicas: 3, readyReplicas: 3, availableReplicas: 3 }))).to.deep.equal({ desired: 3, current: 3, ready: 3, available: 3, status: 'available', tone: 'ok' });
    expect(replicaSetSummary(replicaSet('web-1', { replicas: 1 })).status).to.equal('scaling: 1 of 3');
    expect(replicaSetSummary(replicaSet('web-1', { replicas: 3, readyReplicas: 3, availableReplicas: 2 })).status).to.equal('2 of 3 available');
    expect(replicaSetSummary(replicaSet('web-1', { replicas: 2 }, { replicas: 0 }))).to.include({ status: 'scaling down: 2 left', tone: 'progress' });
    expect(replicaSetSummary(replicaSet('web-1', {}, { replicas: 0 }))).to.include({ status: 'scaled down', tone: 'ok' });
    expect(replicaSetSummary(replicaSet('web-1', { conditions: [{ type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate' }] }))).to.include({ status: 'ReplicaFailure: FailedCreate', tone: 'bad' });

    const d = DeploymentSchema.parse({ metadata: { name: 'web', namespace: 'default', uid: 'd-1' }, spec: { selector: { matchLabels: { app: 'web' } }, template } });
    const sets = [
      replicaSet('web-old', {}, { owner: 'd-1', created: '2026-01-01T00:00:00Z' }),
      replicaSet('web-new', {}, { owner: 'd-1', created: '2026-01-02T00:00:00Z' }),
      replicaSet('web-other', {}, { owner: 'd-2' }),
      replicaSet('web-loose', {}),
      replicaSet('web-elsewhere', {}, { owner: 'd-1', namespace: 'shop' }),
    ];
    expect(replicaSetsOf(d, sets).map((rs) => rs.metadata.name)).to.deep.equal(['web-new', 'web-old']);
  });

  it('gives a Job its phase with the reason, kubectl\'s completions and its duration', () => {
    const running = jobSummary(job({ completions: 3, parallelism: 2 }, { startTime: '2026-01-01T00:00:00Z', active: 2, succeeded: 1 }), Date.parse('2026-01-01T00:01:05Z'));
    expect(running).to.include({ phase: 'Running', reason: '', completions: '1/3', active: 2, failed: 0, durationMs: 65_000 });
    const complete = jobSummary(
      job({ completions: 2 }, { startTime: '2026-01-01T00:00:00Z', completionTime: '2026-01-01T00:00:04Z', succeeded: 2, conditions: [{ type: 'Complete', status: 'True', reason: 'CompletionsReached' }] }),
      Date.parse('2026-01-02T00:00:00Z'),
    );
    expect(complete).to.include({ phase: 'Complete', reason: 'CompletionsReached', completions: '2/2', durationMs: 4000 });
    const failed = jobSummary(job({}, { startTime: '2026-01-01T00:00:00Z', failed: 7, conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', lastTransitionTime: '2026-01-01T00:02:00Z' }] }));
    expect(failed).to.include({ phase: 'Failed', reason: 'BackoffLimitExceeded', completions: '0/1', failed: 7, durationMs: 120_000 });
    expect(jobSummary(job({ suspend: true }, {})).phase).to.equal('Suspended');
    expect(jobSummary(job({ parallelism: 4 }, {})).completions).to.equal('0/1 of 4');
    expect(jobSummary(job({}, {})).durationMs).to.equal(undefined);
  });

  it('says a decided Job is Completing or Failing while its last pods stop, even if suspended meanwhile', () => {
    const start = { startTime: '2026-01-01T00:00:00Z', active: 1 };
    const met: JobCondition = { type: 'SuccessCriteriaMet', status: 'True', reason: 'SuccessPolicy', lastTransitionTime: '2026-01-01T00:00:30Z' };
    const target: JobCondition = { type: 'FailureTarget', status: 'True', reason: 'BackoffLimitExceeded', lastTransitionTime: '2026-01-01T00:00:30Z' };
    const indexed = { completionMode: 'Indexed', completions: 2, parallelism: 2, successPolicy: { rules: [{ succeededCount: 1 }] } };
    const now = Date.parse('2026-01-01T00:01:00Z');
    const completing = jobSummary(job(indexed, { ...start, succeeded: 1, conditions: [met] }), now);
    expect(completing).to.include({ phase: 'Completing', reason: 'SuccessPolicy', completions: '1/2', durationMs: 60_000 });
    expect(jobTone(completing.phase)).to.equal('ok');
    const failing = jobSummary(job({ completions: 2, parallelism: 2, backoffLimit: 0 }, { ...start, failed: 1, conditions: [target] }), now);
    expect(failing).to.include({ phase: 'Failing', reason: 'BackoffLimitExceeded', failed: 1 });
    expect(jobTone(failing.phase)).to.equal('bad');
    const suspended: JobCondition = { type: 'Suspended', status: 'True', reason: 'JobSuspended' };
    expect(jobSummary(job({ suspend: true }, { ...start, conditions: [suspended, target] })).phase).to.equal('Failing');
    expect(jobSummary(job({ ...indexed, suspend: true }, { ...start, conditions: [suspended, met] })).phase).to.equal('Completing');
    // The terminal condition wins over the interim one it follows.
    expect(jobSummary(job(indexed, { ...start, conditions: [met, { type: 'Complete', status: 'True', reason: 'SuccessPolicy', lastTransitionTime: '2026-01-01T00:00:40Z' }] })).phase).to.equal('Complete');
    expect(jobSummary(job({}, { ...start, conditions: [target, { type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }] })).phase).to.equal('Failed');
    // A condition that is not True says nothing.
    expect(jobSummary(job({}, { ...start, conditions: [{ ...target, status: 'False' as const }] })).phase).to.equal('Running');
    expect(jobTone('Running')).to.equal('progress');
    expect(jobTone('Suspended')).to.equal('progress');
  });

  it('formats durations like kubectl', () => {
    expect([4000, 65_000, 3_600_000, 7_500_000, 90_000_000].map(formatDuration)).to.deep.equal(['4s', '1m5s', '1h', '2h5m', '1d1h']);
    expect(formatDuration(undefined)).to.equal('');
  });

  it('lists a quota\'s resources with used/hard fractions, enforced limits first', () => {
    const q = ResourceQuotaSchema.parse({
      metadata: { name: 'q', namespace: 'shop' },
      spec: { hard: { pods: '10', 'requests.cpu': '4' } },
      status: { hard: { pods: '10', 'requests.cpu': '2' }, used: { pods: '3', 'requests.cpu': '500m' } },
    });
    expect(quotaLines(q)).to.deep.equal([
      { resource: 'pods', used: '3', hard: '10', fraction: 0.3 },
      { resource: 'requests.cpu', used: '500m', hard: '2', fraction: 0.25 },
    ]);
    const fresh = ResourceQuotaSchema.parse({ metadata: { name: 'q' }, spec: { hard: { pods: '0' } } });
    expect(quotaLines(fresh)).to.deep.equal([{ resource: 'pods', used: '0', hard: '0', fraction: 0 }]);
  });

  it('reads a workload\'s pod selector in the query-string form, else the fallback', () => {
    const d = DeploymentSchema.parse({
      metadata: { name: 'web' },
      spec: { selector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['b', 'a'] }] }, template },
    });
    expect(podSelector(d)).to.equal('app=web,tier in (a,b)');
    expect(podSelector(job({}, {}), 'job-name=crunch')).to.equal('job-name=crunch');
  });
});
