// ResourceQuota admission on a real API server over real etcd, with the quota controller running
// in-process: refusal before the first count, Kubernetes' messages, the ledger moved in the very
// write that creates, finishes or deletes an object, dryRun, scopes, count/… of another kind (a
// custom one too), a node's delete releasing its pods, a quota created while creates race, and the
// audit.
import { expect } from 'chai';
import type { Pod } from '../../shared/api/core.js';
import type { ResourceQuota } from '../../shared/api/quota.js';
import type { ApiClient } from '../../shared/client/http-client.js';
import { ForbiddenError, NotFoundError } from '../../shared/errors.js';
import { Quantity } from '../../shared/quantity.js';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { CRDS, definitionBody } from '../harness/custom-resources.js';
import {
  audit,
  counted,
  createNamespace,
  createQuota,
  expectAuditOk,
  InProcessQuotaController,
  podManifest,
  podRef,
  quotaRef,
  refusal,
  sleep,
  usedOf,
  waitFor,
} from './helpers.js';

describe('ResourceQuota admission (API server on etcd + resource quota controller)', function () {
  this.timeout(60_000);
  let srv: TestApiServer;
  let api: ApiClient;
  let controller: InProcessQuotaController;

  before(async () => {
    srv = await startTestApiServer({ backend: 'etcd' });
    api = srv.client();
    controller = new InProcessQuotaController(api);
  });

  after(async () => {
    await controller?.stop();
    await srv?.close();
  });

  const createPod = (ns: string, name: string, ...rest: Parameters<typeof podManifest> extends [unknown, ...infer R] ? R : never) =>
    api.create<Pod>(podRef(ns), podManifest(name, ...rest));

  const setPhase = async (ns: string, name: string, phase: 'Succeeded' | 'Failed') => {
    const pod = await api.get<Pod>(podRef(ns, name));
    return api.update<Pod>({ ...podRef(ns, name), subresource: 'status' }, { ...pod, status: { ...pod.status, phase } });
  };

  it('a new quota refuses what it governs ("status unknown") until the controller has counted it', async () => {
    await controller.stop();
    const ns = await createNamespace(api, 'unknown');
    await createPod(ns, 'before');
    const q = await createQuota(api, ns, 'q', { hard: { pods: '5', 'requests.cpu': '1' } });
    // Whatever a client sends as status on create is dropped.
    expect(q.status).to.deep.equal({});
    const err = await refusal(createPod(ns, 'refused'));
    expect(err).to.be.instanceOf(ForbiddenError);
    expect(err.message).to.equal('pods "refused" is forbidden: status unknown for quota: q, resources: pods,requests.cpu');
    await controller.start();
    const done = await counted(api, ns, 'q');
    expect(done.status).to.deep.equal({ hard: { pods: '5', 'requests.cpu': '1' }, used: { pods: '1', 'requests.cpu': '100m' } });
    await createPod(ns, 'after');
    expect(await usedOf(api, ns, 'q')).to.deep.equal({ pods: '2', 'requests.cpu': '200m' });
    await expectAuditOk(api);
  });

  it('admits up to the limits, then refuses with Kubernetes\' exact message; status.used moves with each create', async () => {
    await controller.start();
    const ns = await createNamespace(api, 'limits');
    await createQuota(api, ns, 'compute', { hard: { pods: '3', 'requests.cpu': '1', 'requests.memory': '1Gi' } });
    await counted(api, ns, 'compute');
    for (let i = 0; i < 3; i++) await createPod(ns, `p${i}`, { requests: { cpu: '300m', memory: '100Mi' } });
    expect(await usedOf(api, ns, 'compute')).to.deep.equal({ pods: '3', 'requests.cpu': '900m', 'requests.memory': '300Mi' });
    const both = await refusal(createPod(ns, 'p3', { requests: { cpu: '300m', memory: '100Mi' } }));
    expect(both).to.be.instanceOf(ForbiddenError);
    expect(both.message).to.equal(
      'pods "p3" is forbidden: exceeded quota: compute, requested: pods=1,requests.cpu=300m, used: pods=3,requests.cpu=900m, limited: pods=3,requests.cpu=1',
    );
    // A refused create leaves the ledger as it was.
    expect(await usedOf(api, ns, 'compute')).to.deep.equal({ pods: '3', 'requests.cpu': '900m', 'requests.memory': '300Mi' });
    await api.delete(podRef(ns, 'p0'));
    const cpu = await refusal(createPod(ns, 'big', { requests: { cpu: '1500m', memory: '1Mi' } }));
    expect(cpu.message).to.equal('pods "big" is forbidden: exceeded quota: compute, requested: requests.cpu=1500m, used: requests.cpu=600m, limited: requests.cpu=1');
    const status = (cpu as ForbiddenError).code;
    expect(status).to.equal(403);
    await createPod(ns, 'fits', { requests: { cpu: '400m', memory: '1Mi' } });
    expect(await usedOf(api, ns, 'compute')).to.deep.equal({ pods: '3', 'requests.cpu': '1', 'requests.memory': '201Mi' });
    await expectAuditOk(api);
  });

  it('failed quota: a container that does not state what the quota limits of cpu/memory is refused', async () => {
    await controller.start();
    const ns = await createNamespace(api, 'constraints');
    await createQuota(api, ns, 'lim', { hard: { 'limits.cpu': '4', 'limits.memory': '4Gi' } });
    await counted(api, ns, 'lim');
    const err = await refusal(
      api.create(podRef(ns), {
        ...podManifest('two'),
        spec: {
          schedulerName: 'quota-test-nobody',
          containers: [
            { name: 'web', image: 'busybox', resources: { limits: { cpu: '1', memory: '1Gi' } } },
            { name: 'side', image: 'busybox', resources: { requests: { cpu: '100m' } } },
          ],
        },
      }),
    );
    expect(err.message).to.equal('pods "two" is forbidden: failed quota: lim: must specify limits.cpu for: side; limits.memory for: side');
    await createPod(ns, 'ok', { limits: { cpu: '1', memory: '1Gi' } });
    expect(await usedOf(api, ns, 'lim')).to.deep.equal({ 'limits.cpu': '1', 'limits.memory': '1Gi' });
  });

  it('releases in the write that ends a pod: delete, Succeeded, Failed — and a finished pod still counts in count/pods', async () => {
    await controller.start();
    const ns = await createNamespace(api, 'release');
    await createQuota(api, ns, 'q', { hard: { pods: '3', 'requests.cpu': '3', 'count/pods': '10' } });
    await counted(api, ns, 'q');
    for (const name of ['a', 'b', 'c']) await createPod(ns, name, { requests: { cpu: '1' } });
    expect(await usedOf(api, ns, 'q')).to.deep.equal({ 'count/pods': '3', pods: '3', 'requests.cpu': '3' });
    await refusal(createPod(ns, 'd', { requests: { cpu: '1' } }));

    // Read right after each write: the ledger moved in the write's own transaction, not later.
    await api.delete(podRef(ns, 'a'));
    expect(await usedOf(api, ns, 'q')).to.deep.equal({ 'count/pods': '2', pods: '2', 'requests.cpu': '2' });
    await setPhase(ns, 'b', 'Succeeded');
    expect(await usedOf(api, ns, 'q')).to.deep.equal({ 'count/pods': '2', pods: '1', 'requests.cpu': '1' });
    await setPhase(ns, 'c', 'Failed');
    expect(await usedOf(api, ns, 'q')).to.deep.equal({ 'count/pods': '2', pods: '0', 'requests.cpu': '0' });
    // Deleting a finished pod gives back only its object count.
    await api.delete(podRef(ns, 'b'));
    expect(await usedOf(api, ns, 'q')).to.deep.equal({ 'count/pods': '1', pods: '0', 'requests.cpu': '0' });
    for (const name of ['d', 'e', 'f']) await createPod(ns, name, { requests: { cpu: '1' } });
    await refusal(createPod(ns, 'g', { requests: { cpu: '1' } }));
    await expectAuditOk(api);
  });

  it('dryRun creates run the quota check and write nothing', async () => {
    await controller.start();
    const ns = await createNamespace(api, 'dryrun');
    await createQuota(api, ns, 'q', { hard: { pods: '1' } });
    const before = (await counted(api, ns, 'q')).metadata.resourceVersion;
    await api.create(podRef(ns), podManifest('dry'), { dryRun: 'All' });
    const after = await api.get<ResourceQuota>(quotaRef(ns, 'q'));
    expect(after.metadata.resourceVersion).to.equal(before);
    expect(after.status.used).to.deep.equal({ pods: '0' });
    await createPod(ns, 'real');
    const err = await refusal(api.create(podRef(ns), podManifest('dry2'), { dryRun: 'All' }));
    expect(err.message).to.equal('pods "dry2" is forbidden: exceeded quota: q, requested: pods=1, used: pods=1, limited: pods=1');
  });

  it('scopes: BestEffort / NotBestEffort, Terminating / NotTerminating and PriorityClass decide which quota a pod counts against', async () => {
    await controller.start();
    const ns = await createNamespace(api, 'scopes');
    await createQuota(api, ns, 'besteffort', { hard: { pods: '1' }, scopes: ['BestEffort'] });
    await createQuota(api, ns, 'burstable', { hard: { pods: '2', 'requests.cpu': '2' }, scopes: ['NotBestEffort', 'NotTerminating'] });
    await createQuota(api, ns, 'deadline', { hard: { pods: '1' }, scopes: ['Terminating'] });
    await createQuota(api, ns, 'high', { hard: { pods: '1' }, scopeSelector: { matchExpressions: [{ scopeName: 'PriorityClass', operator: 'In', values: ['high'] }] } });
    for (const q of ['besteffort', 'burstable', 'deadline', 'high']) await counted(api, ns, q);
    // A pod may name only a class that exists (priority admission runs before quota admission).
    await api.create({ group: 'scheduling.k8s.io', version: 'v1', resource: 'priorityclasses' }, { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'high' }, value: 1000 });

    await createPod(ns, 'be1', {});
    const be = await refusal(createPod(ns, 'be2', {}));
    expect(be.message).to.equal('pods "be2" is forbidden: exceeded quota: besteffort, requested: pods=1, used: pods=1, limited: pods=1');
    await createPod(ns, 'bu1', { requests: { cpu: '500m' } });
    await createPod(ns, 'bu2', { requests: { cpu: '500m' } });
    const bu = await refusal(createPod(ns, 'bu3', { requests: { cpu: '500m' } }));
    expect(bu.message).to.match(/exceeded quota: burstable, requested: pods=1, used: pods=2, limited: pods=2$/);
    // A deadline makes a pod Terminating: another quota governs it.
    await createPod(ns, 'job1', { requests: { cpu: '500m' } }, { activeDeadlineSeconds: 60 });
    expect((await refusal(createPod(ns, 'job2', { requests: { cpu: '500m' } }, { activeDeadlineSeconds: 60 }))).message).to.match(/exceeded quota: deadline,/);
    // PriorityClass In [high] counts only pods of that class (this one is also best effort: refused there first).
    const hi = await refusal(createPod(ns, 'hi1', {}, { priorityClassName: 'high' }));
    expect(hi.message).to.match(/exceeded quota: besteffort,/);
    await createPod(ns, 'hi2', { requests: { cpu: '100m' } }, { priorityClassName: 'high', activeDeadlineSeconds: 5 }).then(
      () => expect.fail('the Terminating quota is full'),
      (err: Error) => expect(err.message).to.match(/exceeded quota: deadline,/),
    );
    await api.delete(podRef(ns, 'job1'));
    await createPod(ns, 'hi3', { requests: { cpu: '100m' } }, { priorityClassName: 'high', activeDeadlineSeconds: 5 });
    expect(await usedOf(api, ns, 'high')).to.deep.equal({ pods: '1' });
    expect((await refusal(createPod(ns, 'hi4', { requests: { cpu: '100m' } }, { priorityClassName: 'high', activeDeadlineSeconds: 5 }))).message).to.match(/exceeded quota: (deadline|high),/);
    expect(await usedOf(api, ns, 'besteffort')).to.deep.equal({ pods: '1' });
    expect(await usedOf(api, ns, 'burstable')).to.deep.equal({ pods: '2', 'requests.cpu': '1' });
    await expectAuditOk(api);
  });

  it('count/<resource>.<group> limits another kind (PodGroups); a delete gives the count back', async () => {
    await controller.start();
    const ns = await createNamespace(api, 'count');
    await createQuota(api, ns, 'objects', { hard: { 'count/podgroups.scheduling.x-k8s.io': '2' } });
    await counted(api, ns, 'objects');
    const pgRef = { group: 'scheduling.x-k8s.io', version: 'v1alpha1', resource: 'podgroups', namespace: ns };
    const pg = (name: string) => api.create(pgRef, { apiVersion: 'scheduling.x-k8s.io/v1alpha1', kind: 'PodGroup', metadata: { name }, spec: { minMember: 1 } });
    await pg('g1');
    await pg('g2');
    const err = await refusal(pg('g3'));
    expect(err.message).to.equal(
      'podgroups.scheduling.x-k8s.io "g3" is forbidden: exceeded quota: objects, requested: count/podgroups.scheduling.x-k8s.io=1, used: count/podgroups.scheduling.x-k8s.io=2, limited: count/podgroups.scheduling.x-k8s.io=2',
    );
    // Pods are not what it counts.
    await createPod(ns, 'free');
    await api.delete({ ...pgRef, name: 'g1' });
    expect(await usedOf(api, ns, 'objects')).to.deep.equal({ 'count/podgroups.scheduling.x-k8s.io': '1' });
    await pg('g3');
    await expectAuditOk(api);
  });

  it('count/<resource>.<group> limits a custom kind: existing objects counted, creates refused past the limit, deletes give back; also for a kind defined after the quota', async () => {
    await controller.start();
    const ns = await createNamespace(api, 'crcount');
    const widgets = { group: 'quota.example.com', version: 'v1', resource: 'widgets', namespace: ns };
    const widget = (name: string) => api.create(widgets, { apiVersion: 'quota.example.com/v1', kind: 'Widget', metadata: { name }, spec: {} });
    // The quota first, the kind after: the controller counts it once it is served.
    await createQuota(api, ns, 'custom', { hard: { 'count/widgets.quota.example.com': '2' } });
    await counted(api, ns, 'custom');
    await api.create(CRDS, definitionBody({ group: 'quota.example.com', plural: 'widgets', kind: 'Widget' }));
    await waitFor(async () => {
      try {
        await widget('w1');
        return true;
      } catch (err) {
        // Not served yet: the definition is being installed.
        if (err instanceof NotFoundError) return undefined;
        throw err;
      }
    }, 'the Widget kind served', 10_000, 50);
    await widget('w2');
    const err = await refusal(widget('w3'));
    expect(err.message).to.equal(
      'widgets.quota.example.com "w3" is forbidden: exceeded quota: custom, requested: count/widgets.quota.example.com=1, used: count/widgets.quota.example.com=2, limited: count/widgets.quota.example.com=2',
    );
    await api.delete({ ...widgets, name: 'w1' });
    expect(await usedOf(api, ns, 'custom')).to.deep.equal({ 'count/widgets.quota.example.com': '1' });
    // A quota made after the objects: the controller's count includes them.
    await createQuota(api, ns, 'later', { hard: { 'count/widgets.quota.example.com': '5' } });
    await counted(api, ns, 'later');
    expect(await usedOf(api, ns, 'later')).to.deep.equal({ 'count/widgets.quota.example.com': '1' });
    await expectAuditOk(api);
  });

  it('Secrets and ConfigMaps count under their bare legacy names (secrets: 1) as well as count/<resource>', async () => {
    await controller.start();
    const ns = await createNamespace(api, 'config-count');
    await createQuota(api, ns, 'objects', { hard: { secrets: '1', 'count/configmaps': '1' } });
    await counted(api, ns, 'objects');
    const make = (resource: 'secrets' | 'configmaps', name: string) =>
      api.create({ version: 'v1', resource, namespace: ns }, { apiVersion: 'v1', kind: resource === 'secrets' ? 'Secret' : 'ConfigMap', metadata: { name }, data: {} });
    await make('secrets', 's1');
    await make('configmaps', 'c1');
    expect(await usedOf(api, ns, 'objects')).to.deep.equal({ secrets: '1', 'count/configmaps': '1' });
    expect((await refusal(make('secrets', 's2'))).message).to.equal('secrets "s2" is forbidden: exceeded quota: objects, requested: secrets=1, used: secrets=1, limited: secrets=1');
    expect((await refusal(make('configmaps', 'c2'))).message).to.include('exceeded quota: objects, requested: count/configmaps=1');
    await api.delete({ version: 'v1', resource: 'secrets', namespace: ns, name: 's1' });
    await make('secrets', 's2');
    await expectAuditOk(api);
  });

  it("a node's delete fails its pods and releases their quota in the same transaction", async () => {
    await controller.start();
    const ns = await createNamespace(api, 'nodelost');
    const node = `quota-node-${ns}`;
    await api.create({ version: 'v1', resource: 'nodes' }, {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: node },
      status: { capacity: { cpu: '8', memory: '8Gi', pods: '110' }, allocatable: { cpu: '8', memory: '8Gi', pods: '110' } },
    });
    await createQuota(api, ns, 'q', { hard: { pods: '2', 'requests.cpu': '2' } });
    await counted(api, ns, 'q');
    await createPod(ns, 'bound', { requests: { cpu: '1' } }, { nodeName: node });
    await createPod(ns, 'pending', { requests: { cpu: '1' } });
    expect(await usedOf(api, ns, 'q')).to.deep.equal({ pods: '2', 'requests.cpu': '2' });
    await api.delete({ version: 'v1', resource: 'nodes', name: node });
    const pod = await api.get<Pod>(podRef(ns, 'bound'));
    expect(pod.status.phase).to.equal('Failed');
    expect(await usedOf(api, ns, 'q')).to.deep.equal({ pods: '1', 'requests.cpu': '1' });
    await expectAuditOk(api);
  });

  it('raising spec.hard makes the quota count again (refusing meanwhile), then admits up to the new limit', async () => {
    await controller.stop();
    const ns = await createNamespace(api, 'raise');
    await controller.start();
    await createQuota(api, ns, 'q', { hard: { pods: '1' } });
    await counted(api, ns, 'q');
    await createPod(ns, 'one');
    await controller.stop();
    const q = await api.get<ResourceQuota>(quotaRef(ns, 'q'));
    await api.update(quotaRef(ns, 'q'), { ...q, spec: { hard: { pods: '2' } } });
    expect((await refusal(createPod(ns, 'two'))).message).to.equal('pods "two" is forbidden: status unknown for quota: q, resources: pods');
    await controller.start();
    const done = await counted(api, ns, 'q');
    expect(done.status).to.deep.equal({ hard: { pods: '2' }, used: { pods: '1' } });
    await createPod(ns, 'two');
    await refusal(createPod(ns, 'three'));
  });

  it('a quota created while creates race is exact once the controller has counted it', async () => {
    await controller.start();
    const ns = await createNamespace(api, 'racing');
    let stop = false;
    let created = 0;
    let refusedUnknown = 0;
    const writers = Array.from({ length: 4 }, (_, w) =>
      (async () => {
        for (let i = 0; !stop; i++) {
          try {
            await createPod(ns, `w${w}-${i}`, { requests: { cpu: '10m' } });
            created++;
          } catch (err) {
            if (!(err instanceof ForbiddenError)) throw err;
            expect(err.message).to.match(/status unknown for quota: q|exceeded quota: q/);
            refusedUnknown++;
          }
        }
      })(),
    );
    await sleep(300);
    await createQuota(api, ns, 'q', { hard: { pods: '1000', 'requests.cpu': '100' } });
    await counted(api, ns, 'q');
    await sleep(500);
    stop = true;
    await Promise.all(writers);
    const pods = await api.list<{ items: Pod[] }>(podRef(ns));
    expect(pods.items.length).to.equal(created);
    const used = await usedOf(api, ns, 'q');
    expect(used.pods).to.equal(String(created));
    expect(Quantity.parse(used['requests.cpu'] ?? '').milliValue()).to.equal(BigInt(created * 10));
    expect(created).to.be.greaterThan(0);
    await expectAuditOk(api);
  });

  it('the audit catches a ledger that disagrees with the objects it governs', async () => {
    await controller.start();
    const ns = await createNamespace(api, 'audit');
    await createQuota(api, ns, 'q', { hard: { pods: '5' } });
    const q = await counted(api, ns, 'q');
    await createPod(ns, 'x');
    // A status write by hand (what only the controller and admission should do) breaks the ledger.
    await api.update({ ...quotaRef(ns, 'q'), subresource: 'status' }, { ...q, metadata: { ...q.metadata, resourceVersion: undefined }, status: { hard: { pods: '5' }, used: { pods: '3' } } });
    const report = await audit(api);
    expect(report.ok).to.equal(false);
    const mine = report.violations.filter((v) => v.quota === `${ns}/q`);
    expect(mine.map((v) => v.kind)).to.deep.equal(['QuotaMismatch']);
    expect(mine[0]!.message).to.equal(`ResourceQuota ${ns}/q records {pods: 3} but its holders use {pods: 1}`);
    // The periodic recount puts it right (sync period shortened here).
    await controller.controller!.sync(`${ns}/q`);
    expect(await usedOf(api, ns, 'q')).to.deep.equal({ pods: '1' });
    await expectAuditOk(api);
  });
});
