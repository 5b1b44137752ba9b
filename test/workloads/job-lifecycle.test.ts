// A Job's life beyond running: created suspended, resumed, suspended mid-run (its pods stopped and
// not counted as failures), resumed again with a fresh startTime; deleted after
// ttlSecondsAfterFinished; and the API server's rules for Jobs (generated selector, a template that
// must match it, restartPolicy Never/OnFailure, immutable template, status only through /status).
import { expect } from 'chai';
import type { Job } from '../../shared/api/batch.js';
import { ConflictError, InvalidError } from '../../shared/errors.js';
import { createJob, createNamespace, getJob, JOBS_REF, jobManifest, jobPods, jobSuite, waitCondition, waitFor } from './job-helpers.js';

describe('job controller: suspend, resume, TTL and the API rules', function () {
  this.timeout(120_000);
  const cluster = jobSuite({ hollowNodes: 2 });
  const ref = (ns: string, name: string) => ({ ...JOBS_REF, namespace: ns, name });
  const setSuspend = (ns: string, name: string, suspend: boolean) => cluster.client.patch<Job>(ref(ns, name), { spec: { suspend } }, 'merge');

  it('suspend and resume: no pods while suspended, active pods deleted uncounted, startTime reset on resume', async () => {
    const ns = 'job-suspend';
    await createNamespace(cluster.client, ns);
    await createJob(cluster.client, ns, jobManifest('sus', { completions: 4, parallelism: 2, runSeconds: 3, suspend: true }));
    const suspended = await waitCondition(cluster.client, ns, 'sus', 'Suspended');
    expect(suspended.status.conditions?.find((c) => c.type === 'Suspended')).to.include({ reason: 'JobSuspended', message: 'Job suspended' });
    expect(suspended.status.startTime).to.equal(undefined);
    expect(await jobPods(cluster.client, ns, 'sus')).to.have.length(0);

    await setSuspend(ns, 'sus', false);
    const running = await waitFor(async () => {
      const j = await getJob(cluster.client, ns, 'sus');
      return j?.status.startTime && (j.status.active ?? 0) === 2 ? j : undefined;
    }, 'two active pods after resume', 20_000, 100);
    expect(running.status.conditions?.find((c) => c.type === 'Suspended')).to.include({ status: 'False', reason: 'JobResumed' });
    await waitFor(async () => (await jobPods(cluster.client, ns, 'sus')).filter((p) => p.status.phase === 'Running').length === 2, 'two running pods', 20_000, 100);

    // Suspended mid-run: the running pods go, and are neither failures nor successes.
    await setSuspend(ns, 'sus', true);
    await waitFor(async () => (await jobPods(cluster.client, ns, 'sus')).length === 0, 'pods deleted on suspend', 20_000, 100);
    const again = await waitCondition(cluster.client, ns, 'sus', 'Suspended');
    expect(again.status.failed ?? 0).to.equal(0);
    expect(again.status.succeeded ?? 0).to.equal(0);
    expect(again.status.active ?? 0).to.equal(0);

    await new Promise((r) => setTimeout(r, 1100));
    await setSuspend(ns, 'sus', false);
    const done = await waitCondition(cluster.client, ns, 'sus', 'Complete', 60_000);
    expect(done.status.succeeded).to.equal(4);
    expect(done.status.failed ?? 0).to.equal(0);
    expect(Date.parse(done.status.startTime ?? '')).to.be.greaterThan(Date.parse(running.status.startTime ?? ''));
  });

  it('ttlSecondsAfterFinished: the finished Job is deleted', async () => {
    const ns = 'job-ttl';
    await createNamespace(cluster.client, ns);
    await createJob(cluster.client, ns, jobManifest('ttl', { runSeconds: 0, ttlSecondsAfterFinished: 2 }));
    const done = await waitCondition(cluster.client, ns, 'ttl', 'Complete');
    const finishedAt = Date.parse(done.status.conditions?.find((c) => c.type === 'Complete')?.lastTransitionTime ?? '');
    await waitFor(async () => (await getJob(cluster.client, ns, 'ttl')) === undefined, 'the Job deleted after its TTL', 20_000, 100);
    expect(Date.now() - finishedAt, 'not before the TTL').to.be.at.least(1000);
  });

  it('the server generates the selector, checks the template and keeps it immutable', async () => {
    const ns = 'job-api';
    await createNamespace(cluster.client, ns);
    // restartPolicy Always is not for Jobs.
    const always = jobManifest('always', {});
    (always['spec'] as { template: { spec: Record<string, unknown> } }).template.spec['restartPolicy'] = 'Always';
    const bad = await createJob(cluster.client, ns, always).then(() => undefined, (err: unknown) => err);
    expect(bad).to.be.instanceOf(InvalidError);
    expect((bad as InvalidError).causes.map((c) => c.field)).to.include('spec.template.spec.restartPolicy');

    // A selector without manualSelector is refused; with manualSelector it must match the template.
    const sel = { ...jobManifest('sel', {}), spec: { ...(jobManifest('sel', {})['spec'] as object), selector: { matchLabels: { app: 'x' } } } };
    expect(await createJob(cluster.client, ns, sel).then(() => undefined, (err: unknown) => err)).to.be.instanceOf(InvalidError);
    const manual = { ...sel, spec: { ...(sel.spec as object), manualSelector: true } };
    const mismatch = await createJob(cluster.client, ns, manual).then(() => undefined, (err: unknown) => err);
    expect((mismatch as InvalidError).causes.map((c) => c.field)).to.include('spec.template.metadata.labels');

    // Indexed needs completions.
    const indexed = jobManifest('ix', { indexed: true, parallelism: 2 });
    expect(await createJob(cluster.client, ns, indexed).then(() => undefined, (err: unknown) => err)).to.be.instanceOf(InvalidError);

    // The template of a started Job cannot change; its parallelism can.
    await createJob(cluster.client, ns, jobManifest('imm', { parallelism: 1, completions: 1 }));
    const changed = await cluster.client
      .patch(ref(ns, 'imm'), { spec: { template: { spec: { containers: [{ name: 'main', image: 'other', command: ['x'] }] } } } }, 'strategic')
      .then(() => undefined, (err: unknown) => err);
    expect(changed).to.be.instanceOf(InvalidError);
    expect((changed as InvalidError).message).to.contain('spec.template: Invalid value');
    const scaled = await cluster.client.patch<Job>(ref(ns, 'imm'), { spec: { parallelism: 0 } }, 'merge');
    expect(scaled.spec.parallelism).to.equal(0);

    // Status is the controller's: a main-resource write ignores it, a stale /status write conflicts.
    const before = await cluster.client.get<Job>(ref(ns, 'imm'));
    const ignored = await cluster.client.patch<Job>(ref(ns, 'imm'), { status: { succeeded: 99 } }, 'merge');
    expect(ignored.status.succeeded ?? 0).to.not.equal(99);
    const stale = await cluster.client
      .update({ ...ref(ns, 'imm'), subresource: 'status' }, { ...before, status: { ...before.status, succeeded: 99 }, metadata: { ...before.metadata, resourceVersion: '1' } })
      .then(() => undefined, (err: unknown) => err);
    expect(stale).to.be.instanceOf(ConflictError);
  });
});
