// PriorityClasses (scheduling.k8s.io/v1), real etcd and HTTP: the two system classes always exist
// and stay; a class's value and preemptionPolicy are fixed once made; a pod naming a class is
// given the class's priority and preemptionPolicy when created (and refused when it names a class
// that does not exist or contradicts it); the one default class is taken by pods that name none,
// while a pod that gives its own priority keeps it. Then, with a real scheduler: a pod of a higher
// class preempts pods of a lower one, and a class with preemptionPolicy Never only waits.
import { expect } from 'chai';
import { startTestApiServer, TEST_TOKENS, type TestApiServer } from '../harness/apiserver.js';
import { causeFields, expectStatus, podBody, sendAs, type RawResponse } from './helpers.js';
import { createNamespace, createNodes, createPods, eventMessages, getPod, listPods, nodeObject, podObject, schedulerSuite, waitFor, waitForBound } from '../schedulers/helpers.js';

const PCS = '/apis/scheduling.k8s.io/v1/priorityclasses';
const PODS = '/api/v1/namespaces/default/pods';

interface PodView {
  metadata: { name: string };
  spec: { priority?: number; priorityClassName?: string; preemptionPolicy?: string };
}

function priorityClass(name: string, value: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name }, value, ...extra };
}

function podWith(name: string, spec: Record<string, unknown>): Record<string, unknown> {
  const base = podBody(name);
  return { ...base, spec: { ...(base['spec'] as object), ...spec } };
}

describe('PriorityClasses', function () {
  this.timeout(30_000);
  let api: TestApiServer;
  const admin = (method: string, path: string, body?: unknown): Promise<RawResponse> => sendAs(api.url, TEST_TOKENS.admin, { method, path, ...(body !== undefined ? { body } : {}) });

  before(async () => {
    api = await startTestApiServer({ backend: 'etcd', auth: true });
  });
  after(async () => {
    await api?.close();
  });

  it('has the two system classes, which stay; names and values above the user range are refused', async () => {
    const node = await admin('GET', `${PCS}/system-node-critical`);
    expect(node.status, node.text).to.equal(200);
    expect((node.body as { value: number }).value).to.equal(2_000_001_000);
    expect(((await admin('GET', `${PCS}/system-cluster-critical`)).body as { value: number }).value).to.equal(2_000_000_000);
    expect(expectStatus(await admin('DELETE', `${PCS}/system-node-critical`), 403, 'Forbidden').message).to.match(/system priority class system-node-critical may not be deleted/);
    expect(causeFields(expectStatus(await admin('POST', PCS, priorityClass('system-mine', 5)), 422, 'Invalid'))).to.deep.equal(['metadata.name']);
    expect(causeFields(expectStatus(await admin('POST', PCS, priorityClass('huge', 1_000_000_001)), 422, 'Invalid'))).to.deep.equal(['value']);
    expect((await admin('GET', `${PCS}/huge`)).status).to.equal(404);
    // kubectl's columns.
    const table = await fetch(`${api.url}${PCS}`, { headers: { Authorization: `Bearer ${TEST_TOKENS.admin}`, Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' } }).then(
      (r) => r.json() as Promise<{ columnDefinitions: { name: string }[]; rows: { cells: unknown[] }[] }>,
    );
    expect(table.columnDefinitions.map((c) => c.name)).to.deep.equal(['Name', 'Value', 'Global-Default', 'Age', 'PreemptionPolicy']);
    expect(table.rows.map((r) => [r.cells[0], r.cells[1], r.cells[2], r.cells[4]])).to.deep.include(['system-node-critical', 2_000_001_000, false, 'PreemptLowerPriority']);
  });

  it("gives a pod its class's priority and preemptionPolicy, and refuses a missing class or a contradiction", async () => {
    expect((await admin('POST', PCS, priorityClass('high', 1000, { description: 'for the important' }))).status).to.equal(201);
    expect((await admin('POST', PCS, priorityClass('patient', 500, { preemptionPolicy: 'Never' }))).status).to.equal(201);
    const high = await admin('POST', PODS, podWith('p-high', { priorityClassName: 'high' }));
    expect(high.status, high.text).to.equal(201);
    expect((high.body as PodView).spec).to.include({ priority: 1000, priorityClassName: 'high', preemptionPolicy: 'PreemptLowerPriority' });
    const patient = await admin('POST', PODS, podWith('p-patient', { priorityClassName: 'patient' }));
    expect((patient.body as PodView).spec).to.include({ priority: 500, preemptionPolicy: 'Never' });
    // The same priority given alongside is fine; another is refused, as is another policy.
    expect((await admin('POST', PODS, podWith('p-same', { priorityClassName: 'high', priority: 1000 }))).status).to.equal(201);
    expect(expectStatus(await admin('POST', PODS, podWith('p-other', { priorityClassName: 'high', priority: 5 })), 403, 'Forbidden').message).to.equal(
      'pods "p-other" is forbidden: the integer value of priority (5) must not be provided in pod spec; priority admission controller computed 1000 from the given PriorityClass name',
    );
    expect(expectStatus(await admin('POST', PODS, podWith('p-policy', { priorityClassName: 'high', preemptionPolicy: 'Never' })), 403, 'Forbidden').message).to.match(
      /the string value of PreemptionPolicy \(Never\) must not be provided in pod spec/,
    );
    expect(expectStatus(await admin('POST', PODS, podWith('p-nope', { priorityClassName: 'nope' })), 403, 'Forbidden').message).to.equal('pods "p-nope" is forbidden: no PriorityClass with name nope was found');
    for (const refused of ['p-other', 'p-policy', 'p-nope']) expect((await admin('GET', `${PODS}/${refused}`)).status, refused).to.equal(404);
    // Fixed once made: value and preemptionPolicy; the description may change.
    const pc = (await admin('GET', `${PCS}/high`)).body as Record<string, unknown>;
    expect(causeFields(expectStatus(await admin('PUT', `${PCS}/high`, { ...pc, value: 2000 }), 422, 'Invalid'))).to.deep.equal(['value']);
    expect(causeFields(expectStatus(await admin('PUT', `${PCS}/high`, { ...pc, preemptionPolicy: 'Never' }), 422, 'Invalid'))).to.deep.equal(['preemptionPolicy']);
    expect((await admin('PUT', `${PCS}/high`, { ...pc, description: 'still important' })).status).to.equal(200);
  });

  it('applies the one default class to pods that name none, unless they give their own priority', async () => {
    expect((await admin('POST', PCS, priorityClass('standard', 100, { globalDefault: true }))).status).to.equal(201);
    const plain = await admin('POST', PODS, podBody('d-plain'));
    expect((plain.body as PodView).spec).to.include({ priority: 100, priorityClassName: 'standard' });
    const own = await admin('POST', PODS, podWith('d-own', { priority: 7 }));
    expect((own.body as PodView).spec.priority).to.equal(7);
    expect((own.body as PodView).spec).to.not.have.property('priorityClassName');
    // Only one default: neither a new one nor making another one the default.
    expect(expectStatus(await admin('POST', PCS, priorityClass('other-default', 50, { globalDefault: true })), 403, 'Forbidden').message).to.match(
      /PriorityClass standard is already marked as default\. Only one default can exist/,
    );
    const high = (await admin('GET', `${PCS}/high`)).body as Record<string, unknown>;
    expect((await admin('PUT', `${PCS}/high`, { ...high, globalDefault: true })).status).to.equal(403);
    // Once the default is gone, pods get priority 0 again (no class).
    expect((await admin('DELETE', `${PCS}/standard`)).status).to.equal(200);
    await waitFor('the default class gone from the cache', async () => {
      const r = await admin('POST', PODS, { ...podBody('d-after'), metadata: { generateName: 'd-after-' } });
      return (r.body as PodView).spec.priorityClassName === undefined ? true : undefined;
    });
  });
});

describe('PriorityClasses and preemption (real scheduler)', function () {
  this.timeout(60_000);
  const cluster = schedulerSuite();
  const ns = 'classes';

  it('a pod of a higher class preempts one of a lower class; a class with preemptionPolicy Never only waits', async () => {
    const make = (name: string, value: number, extra: Record<string, unknown> = {}) => cluster.client.create({ group: 'scheduling.k8s.io', version: 'v1', resource: 'priorityclasses' }, priorityClass(name, value, extra));
    await make('batch-low', 10);
    await make('online', 1000);
    await make('online-polite', 1000, { preemptionPolicy: 'Never' });
    await createNamespace(cluster.client, ns);
    await createNodes(cluster.client, [nodeObject('node-a', { cpu: '1' })]);
    const pod = (name: string, cls: string) => podObject(name, { cpu: '1', grace: 0, spec: { priorityClassName: cls } });
    await createPods(cluster.client, ns, [pod('batch', 'batch-low')]);
    await waitForBound(cluster.client, ns, ['batch']);
    // Never: stays pending beside the lower-priority pod.
    await createPods(cluster.client, ns, [pod('polite', 'online-polite')]);
    const failed = await waitFor('polite to be found unschedulable', async () => (await eventMessages(cluster.client, ns, 'polite', 'FailedScheduling'))[0]);
    expect(failed).to.match(/preemptionPolicy=Never/);
    expect((await getPod(cluster.client, ns, 'polite'))?.spec.nodeName).to.equal(undefined);
    expect((await getPod(cluster.client, ns, 'batch'))?.metadata.deletionTimestamp).to.equal(undefined);
    await cluster.client.delete({ resource: 'pods', namespace: ns, name: 'polite' }, { gracePeriodSeconds: 0 });
    // The higher class preempts: the batch pod is evicted and the online one takes the node.
    await createPods(cluster.client, ns, [pod('web', 'online')]);
    const bound = await waitForBound(cluster.client, ns, ['web']);
    expect(bound.get('web')).to.equal('node-a');
    expect((await listPods(cluster.client, ns)).map((p) => p.metadata.name)).to.deep.equal(['web']);
  });
});
