// The rules Kubernetes enforces when a Job is written after its create, over real HTTP and real
// etcd, with no job controller running (so every status is the one the test wrote): which spec
// fields are immutable (and the two that may move: a never-started suspended Job's scheduling
// directives, an Indexed Job's completions with its parallelism), that a create drops the status,
// and the status subresource's checks against the stored Job — terminal conditions stay, counters
// do not go back, FailureTarget and SuccessCriteriaMet come before Failed and Complete,
// completionTime only with Complete and only once, index lists well formed. Real kubectl reads the
// Jobs table's STATUS column at each stage and shows a refused update's message.
import { expect } from 'chai';
import path from 'node:path';
import type { Job, JobStatus } from '../../shared/api/batch.js';
import type { ApiClient } from '../../shared/client/http-client.js';
import { InvalidError } from '../../shared/errors.js';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { expectOk, findKubectl, run, tempDir, writeKubeconfig } from '../clients/helpers.js';
import { createNamespace } from './cluster.js';
import { JOBS_REF, jobManifest } from './job-helpers.js';

const NS = 'job-rules';
/** A start an hour ago, in whole seconds as metav1.Time has it. */
const T0 = new Date(Math.floor(Date.now() / 1000) * 1000 - 3_600_000).toISOString().replace(/\.\d+Z$/, 'Z');
const at = (seconds: number) => new Date(Date.parse(T0) + seconds * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
const cond = (type: string, status = 'True') => ({ type, status, reason: 'Test', lastTransitionTime: T0 });

/** `field: message` of each cause of the 422 the write was refused with; fails when it was not refused. */
async function refused(write: Promise<unknown>): Promise<string[]> {
  const err = await write.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'the write was refused').to.be.instanceOf(InvalidError);
  const invalid = err as InvalidError;
  expect(invalid.code).to.equal(422);
  return invalid.causes.map((c) => `${c.field}: ${c.message}`);
}

describe('Job API: update rules, status subresource rules, the STATUS column', function () {
  this.timeout(60_000);
  let api: TestApiServer;
  let client: ApiClient;
  let kubeconfig = '';
  const kubectlBin = findKubectl();

  const ref = (name: string) => ({ ...JOBS_REF, namespace: NS, name });
  const create = (name: string, o: Parameters<typeof jobManifest>[1], extra: Record<string, unknown> = {}) =>
    client.create<Job>({ ...JOBS_REF, namespace: NS }, { ...jobManifest(name, o), ...extra });
  const patchSpec = (name: string, spec: Record<string, unknown>) => client.patch<Job>(ref(name), { spec }, 'merge');
  const patchStatus = (name: string, status: Record<string, unknown>) => client.patch<Job>({ ...ref(name), subresource: 'status' }, { status }, 'merge');
  const kubectl = async (args: string[]) => {
    if (!kubectlBin) throw new Error('kubectl is not on PATH (set $KUBECTL)');
    return run(kubectlBin, ['--kubeconfig', kubeconfig, '-n', NS, ...args]);
  };
  /** NAME → [STATUS, COMPLETIONS, DURATION] of `kubectl get jobs`, as kubectl prints them. */
  const table = async (): Promise<Record<string, string[]>> => {
    const out = expectOk(await kubectl(['get', 'jobs']), 'kubectl get jobs').stdout;
    expect(out.split('\n')[0]?.trim().split(/\s{2,}/)).to.deep.equal(['NAME', 'STATUS', 'COMPLETIONS', 'DURATION', 'AGE']);
    // DURATION is empty before a Job starts; AGE always has a value: cut the row at fixed columns.
    const header = out.split('\n')[0] ?? '';
    const cols = ['STATUS', 'COMPLETIONS', 'DURATION', 'AGE'].map((h) => header.indexOf(h));
    return Object.fromEntries(
      out
        .trim()
        .split('\n')
        .slice(1)
        .map((line) => [line.slice(0, cols[0]).trim(), [0, 1, 2].map((i) => line.slice(cols[i], cols[i + 1]).trim())]),
    );
  };

  before(async function () {
    this.timeout(60_000);
    api = await startTestApiServer({ backend: 'etcd' });
    client = api.client();
    kubeconfig = writeKubeconfig(path.join(tempDir('cell-job-rules-'), 'kubeconfig'), api.url);
    await createNamespace(client, NS);
  });

  after(async () => {
    await api?.close();
  });

  it('spec: the immutable fields are refused by name; maxFailedIndexes, parallelism and an Indexed Job\'s completions (with its parallelism) may change', async () => {
    const failIndex = { rules: [{ action: 'FailIndex', onExitCodes: { operator: 'In', values: [42] } }] };
    await create('ix', { indexed: true, completions: 4, parallelism: 2, backoffLimitPerIndex: 1, maxFailedIndexes: 1, podFailurePolicy: failIndex, successPolicy: { rules: [{ succeededCount: 2 }] } });
    expect(
      await refused(
        patchSpec('ix', {
          backoffLimitPerIndex: 2,
          successPolicy: { rules: [{ succeededCount: 3 }] },
          podFailurePolicy: { rules: [{ action: 'Ignore', onExitCodes: { operator: 'In', values: [1] } }] },
        }),
      ),
    ).to.deep.equal([
      'spec.podFailurePolicy: Invalid value: {"rules":[{"action":"Ignore","onExitCodes":{"operator":"In","values":[1]}}]}: field is immutable',
      'spec.backoffLimitPerIndex: Invalid value: 2: field is immutable',
      'spec.successPolicy: Invalid value: {"rules":[{"succeededCount":3}]}: field is immutable',
    ]);
    // Taking a policy away is a change too.
    expect(await refused(patchSpec('ix', { successPolicy: null }))).to.deep.equal(['spec.successPolicy: Invalid value: null: field is immutable']);

    // Elastic Indexed Job: completions move only together with parallelism.
    expect(await refused(patchSpec('ix', { completions: 3 }))).to.deep.equal(['spec.completions: Invalid value: 3: can only be modified in tandem with spec.parallelism']);
    const scaled = await patchSpec('ix', { completions: 3, parallelism: 3, maxFailedIndexes: 2 });
    expect(scaled.spec).to.include({ completions: 3, parallelism: 3, maxFailedIndexes: 2, backoffLimitPerIndex: 1 });
    expect(scaled.metadata.generation).to.equal(2);

    const plain = await create('plain', { completions: 2, parallelism: 2 });
    expect(await refused(patchSpec('plain', { completions: 3, parallelism: 3 }))).to.deep.equal(['spec.completions: Invalid value: 3: field is immutable']);
    expect(await refused(patchSpec('plain', { completionMode: 'Indexed' }))).to.deep.equal(['spec.completionMode: Invalid value: "Indexed": field is immutable']);
    // Still matching the template, but another selector.
    expect((await refused(patchSpec('plain', { selector: { matchExpressions: [{ key: 'job-name', operator: 'Exists' }] } }))).map((c) => c.split(':')[0])).to.deep.equal(['spec.selector']);
    expect((await patchSpec('plain', { parallelism: 5 })).spec.parallelism).to.equal(5);
    expect((await client.get<Job>(ref('plain'))).spec.selector).to.deep.equal(plain.spec.selector);

    // Real kubectl shows the refusal with the field's name.
    const r = await kubectl(['patch', 'job', 'ix', '--type=merge', '-p', '{"spec":{"backoffLimitPerIndex":3}}']);
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.contain('The Job "ix" is invalid: spec.backoffLimitPerIndex: Invalid value: 3: field is immutable');
  });

  it('template: a suspended Job that never started may move its pods (node selector, node affinity, tolerations, labels, annotations), a started one may not', async () => {
    await create('moving', { completions: 1, suspend: true });
    const nodeAffinity = { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['b'] }] }] } };
    const moved = await patchSpec('moving', {
      template: {
        metadata: { labels: { team: 'a' }, annotations: { note: 'moved' } },
        spec: { nodeSelector: { disk: 'ssd' }, tolerations: [{ key: 'spot', operator: 'Exists' }], affinity: { nodeAffinity } },
      },
    });
    expect(moved.spec.template.spec.nodeSelector).to.deep.equal({ disk: 'ssd' });
    expect(moved.spec.template.metadata.labels).to.include({ team: 'a' });
    // What the pods run stays.
    const image = { template: { spec: { containers: [{ name: 'main', image: 'other', command: ['work'] }] } } };
    expect((await refused(patchSpec('moving', image))).map((c) => c.split(':')[0])).to.deep.equal(['spec.template']);
    // Pod (anti-)affinity is not a node scheduling directive.
    const podAffinity = { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { app: 'x' } } }] };
    expect((await refused(patchSpec('moving', { template: { spec: { affinity: { nodeAffinity, podAntiAffinity: podAffinity } } } }))).map((c) => c.split(':')[0])).to.deep.equal(['spec.template']);

    // Once started (a startTime recorded), even a suspended Job keeps its template.
    await patchStatus('moving', { startTime: T0 });
    expect((await refused(patchSpec('moving', { template: { spec: { nodeSelector: { disk: 'hdd' } } } }))).map((c) => c.split(':')[0])).to.deep.equal(['spec.template']);
  });

  it('a status sent with a create or with an update of the Job is ignored, not validated', async () => {
    const bogus: Record<string, unknown> = {
      startTime: T0,
      completionTime: at(-5),
      succeeded: 9,
      completedIndexes: '7-1',
      failedIndexes: 'x',
      conditions: [cond('Complete'), cond('Failed')],
    };
    const withStatus = await client.create<Job>({ ...JOBS_REF, namespace: NS }, { ...jobManifest('bogus2', { completions: 1, suspend: true }), status: bogus });
    expect(withStatus.status).to.deep.equal({});
    expect((await client.get<Job>(ref('bogus2'))).status).to.deep.equal({});
    // An update of the Job keeps the stored status whatever it carries.
    const current = await client.get<Job>(ref('bogus2'));
    const updated = await client.update<Job>(ref('bogus2'), { ...current, spec: { ...current.spec, parallelism: 0 }, status: bogus });
    expect(updated.spec.parallelism).to.equal(0);
    expect(updated.status).to.deep.equal({});
  });

  it('status: a run that succeeds — SuccessCriteriaMet, then Complete with completionTime — and each step Kubernetes refuses', async () => {
    await create('life', { completions: 2, parallelism: 2 });
    expect((await table())['life']).to.deep.equal(['Running', '0/2', '']);
    await patchStatus('life', { startTime: T0, active: 2, ready: 1 });
    expect(await refused(patchStatus('life', { ready: 3 }))).to.deep.equal(['status.ready: Invalid value: 3: cannot set more ready pods than active']);
    expect(await refused(patchStatus('life', { active: -1, ready: -1 }))).to.deep.equal([
      'status.active: Invalid value: -1: must be greater than or equal to 0',
      'status.ready: Invalid value: -1: must be greater than or equal to 0',
    ]);
    await patchStatus('life', { succeeded: 1, failed: 1, active: 1, ready: 1 });
    expect(await refused(patchStatus('life', { succeeded: 0, failed: 0 }))).to.deep.equal([
      'status.failed: Invalid value: 0: cannot decrease the failed counter',
      'status.succeeded: Invalid value: 0: cannot decrease the succeeded counter',
    ]);
    expect(await refused(patchStatus('life', { uncountedTerminatedPods: { succeeded: ['a'], failed: ['a', ''] } }))).to.deep.equal([
      'status.uncountedTerminatedPods.failed[0]: Duplicate value: "a"',
      'status.uncountedTerminatedPods.failed[1]: Invalid value: "": must not be empty',
    ]);
    expect(await refused(patchStatus('life', { completedIndexes: '0' }))).to.deep.equal([
      'status.completedIndexes: Invalid value: "0": cannot set non-empty completedIndexes when non-indexed completion mode',
    ]);
    expect(await refused(patchStatus('life', { failedIndexes: '' }))).to.deep.equal([
      'status.failedIndexes: Invalid value: "": cannot set non-null failedIndexes when backoffLimitPerIndex is null',
    ]);
    // startTime is where activeDeadlineSeconds counts from: a running Job's does not move.
    expect(await refused(patchStatus('life', { startTime: at(30) }))).to.deep.equal(['status.startTime: Required value: startTime cannot be removed for unsuspended job']);
    expect(await refused(patchStatus('life', { startTime: null }))).to.deep.equal(['status.startTime: Required value: startTime cannot be removed for unsuspended job']);
    expect(await refused(patchStatus('life', { completionTime: at(65) }))).to.deep.equal([
      `status.completionTime: Invalid value: "${at(65)}": cannot set completionTime when there is no Complete=True condition`,
    ]);
    // Complete only after SuccessCriteriaMet, with no pod active, with its completionTime.
    expect(await refused(patchStatus('life', { conditions: [cond('Complete')], completionTime: at(65), active: 0, ready: 0 }))).to.deep.equal([
      'status.conditions: Invalid value: cannot set Complete=True condition without the SuccessCriteriaMet=true condition',
    ]);
    await patchStatus('life', { conditions: [cond('SuccessCriteriaMet')], succeeded: 2, active: 1, ready: 0 });
    // kubectl (1.30–1.33) has no word for SuccessCriteriaMet: the Job still reads Running while its last pod stops.
    expect((await table())['life']?.slice(0, 2)).to.deep.equal(['Running', '2/2']);
    expect(await refused(patchStatus('life', { conditions: [] }))).to.deep.equal(['status.conditions: Invalid value: cannot disable the SuccessCriteriaMet=True condition']);
    expect(await refused(patchStatus('life', { conditions: [cond('SuccessCriteriaMet'), cond('FailureTarget')] }))).to.deep.equal([
      'status.conditions: Invalid value: cannot set SuccessCriteriaMet=True and FailureTarget=true conditions',
    ]);
    const complete = [cond('SuccessCriteriaMet'), cond('Complete')];
    expect(await refused(patchStatus('life', { conditions: complete, active: 0 }))).to.deep.equal(['status.completionTime: Required value: completionTime is required for Complete jobs']);
    expect(await refused(patchStatus('life', { conditions: complete, completionTime: at(65) }))).to.deep.equal(['status.active: Invalid value: 1: active>0 is invalid for finished job']);
    expect(await refused(patchStatus('life', { conditions: complete, completionTime: at(-1), active: 0 }))).to.deep.equal([
      `status.completionTime: Invalid value: "${at(-1)}": completionTime cannot be set before startTime`,
    ]);
    const done = await patchStatus('life', { conditions: complete, completionTime: at(65), active: 0 });
    expect(done.status).to.include({ completionTime: at(65), succeeded: 2, failed: 1, active: 0 });
    expect((await table())['life']).to.deep.equal(['Complete', '2/2', '65s']);

    // Finished is final.
    expect(await refused(patchStatus('life', { conditions: [cond('SuccessCriteriaMet')], completionTime: null }))).to.deep.equal([
      'status.conditions: Invalid value: cannot disable the terminal Complete=True condition',
    ]);
    expect(await refused(patchStatus('life', { completionTime: at(70) }))).to.deep.equal([`status.completionTime: Invalid value: "${at(70)}": completionTime cannot be mutated`]);
    expect(await refused(patchStatus('life', { conditions: [...complete, cond('Failed')] }))).to.deep.equal([
      'status.conditions: Invalid value: cannot set Complete=True and Failed=true conditions',
      'status.conditions: Invalid value: cannot set Failed=True condition without the FailureTarget=true condition',
      'status.conditions: Invalid value: cannot set SuccessCriteriaMet=True and Failed=true conditions',
    ]);
    expect(await refused(patchStatus('life', { active: 1 }))).to.deep.equal(['status.active: Invalid value: 1: active>0 is invalid for finished job']);
    // What is unrelated to finishing may still be written.
    expect((await patchStatus('life', { terminating: 0 })).status.terminating).to.equal(0);
  });

  it('status: a run that fails — FailureTarget, then Failed — and a Job that is suspended, resumed and deleted, as kubectl shows them', async () => {
    await create('doomed', { completions: 1 });
    await patchStatus('doomed', { startTime: T0, active: 1 });
    expect(await refused(patchStatus('doomed', { conditions: [cond('Failed')], active: 0 }))).to.deep.equal([
      'status.conditions: Invalid value: cannot set Failed=True condition without the FailureTarget=true condition',
    ]);
    await patchStatus('doomed', { conditions: [cond('FailureTarget')] });
    expect(await refused(patchStatus('doomed', { conditions: [cond('FailureTarget', 'False')] }))).to.deep.equal([
      'status.conditions: Invalid value: cannot disable the terminal FailureTarget=True condition',
    ]);
    expect(await refused(patchStatus('doomed', { conditions: [cond('FailureTarget'), cond('SuccessCriteriaMet')] }))).to.deep.equal([
      'status.conditions: Invalid value: cannot set SuccessCriteriaMet=True and FailureTarget=true conditions',
    ]);

    // Suspended, then resumed: the resume may restart startTime (the deadline counts from it).
    await create('paused', { completions: 1, suspend: true });
    await patchStatus('paused', { conditions: [cond('Suspended')] });
    // Deleted, kept by a finalizer.
    await create('held', { completions: 1 }, { metadata: { name: 'held', finalizers: ['example.com/hold'] } });
    await client.delete(ref('held'));
    const shown = await table();
    expect(shown['doomed']?.slice(0, 2)).to.deep.equal(['FailureTarget', '0/1']);
    expect(shown['paused']).to.deep.equal(['Suspended', '0/1', '']);
    expect(shown['held']).to.deep.equal(['Terminating', '0/1', '']);

    await patchStatus('doomed', { conditions: [cond('FailureTarget'), cond('Failed')], active: 0, failed: 1 });
    expect(await refused(patchStatus('doomed', { conditions: [cond('FailureTarget')] }))).to.deep.equal(['status.conditions: Invalid value: cannot disable the terminal Failed=True condition']);
    expect((await table())['doomed']?.slice(0, 2)).to.deep.equal(['Failed', '0/1']);

    await patchStatus('paused', { startTime: T0 });
    await patchSpec('paused', { suspend: false });
    const resumed = await patchStatus('paused', { conditions: [cond('Suspended', 'False')], startTime: at(120) });
    expect(resumed.status.startTime).to.equal(at(120));
    expect(await refused(patchStatus('paused', { startTime: at(180) }))).to.deep.equal(['status.startTime: Required value: startTime cannot be removed for unsuspended job']);
    expect((await table())['paused']?.slice(0, 2)).to.deep.equal(['Running', '0/1']);

    await client.patch(ref('held'), { metadata: { finalizers: null } }, 'merge');
    expect((await table())['held']).to.equal(undefined);
  });

  it('status: index lists must parse and not overlap; an Indexed Job scaled down may lose successes', async () => {
    await create('shards', { indexed: true, completions: 4, parallelism: 2, backoffLimitPerIndex: 1 });
    await patchStatus('shards', { startTime: T0, completedIndexes: '0,1', succeeded: 2 });
    expect(await refused(patchStatus('shards', { completedIndexes: '1,0' }))).to.deep.equal([
      'status.completedIndexes: Invalid value: "1,0": error parsing completedIndexes: non-increasing order, previous: 1, current: 0',
    ]);
    expect(await refused(patchStatus('shards', { failedIndexes: '1-3' }))).to.deep.equal(['status.failedIndexes: Invalid value: "1-3": failedIndexes and completedIndexes overlap at index: 1']);
    expect(await refused(patchStatus('shards', { failedIndexes: '2,4' }))).to.deep.equal(['status.failedIndexes: Invalid value: "2,4": error parsing failedIndexes: too large index: "4"']);
    expect((await patchStatus('shards', { failedIndexes: '2' })).status.failedIndexes).to.equal('2');

    await create('elastic', { indexed: true, completions: 3, parallelism: 3 });
    await patchStatus('elastic', { startTime: T0, completedIndexes: '0-2', succeeded: 3 });
    await patchSpec('elastic', { completions: 1, parallelism: 1 });
    const shrunk: JobStatus = (await patchStatus('elastic', { completedIndexes: '0', succeeded: 1 })).status;
    expect(shrunk).to.include({ completedIndexes: '0', succeeded: 1 });
    // Not scaled with its parallelism: successes stay counted.
    await patchSpec('elastic', { parallelism: 2 });
    expect(await refused(patchStatus('elastic', { succeeded: 0 }))).to.deep.equal(['status.succeeded: Invalid value: 0: cannot decrease the succeeded counter']);
  });
});
