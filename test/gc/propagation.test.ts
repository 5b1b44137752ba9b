// Garbage collection by ownerReferences, end to end: a real API server on real etcd, the
// garbagecollector controller in-process (talking to it over HTTP like any client), a hollow
// cell-agent so pods actually run and their graceful deletion is confirmed, and real kubectl
// `delete --cascade=background|foreground|orphan` (plus cellctl's --cascade).
import { expect } from 'chai';
import { rmSync } from 'node:fs';
import path from 'node:path';
import type { OwnerReference } from '../../shared/api/meta.js';
import type { Pod } from '../../shared/api/core.js';
import { resourceUrlPath, type ApiClient } from '../../shared/client/http-client.js';
import { InvalidError, NotFoundError } from '../../shared/errors.js';
import { createLogger } from '../../shared/logging.js';
import { SharedInformers } from '../../controllers/informers.js';
import type { Controller, ControllerContext } from '../../controllers/controller.js';
import { garbageCollectorDefinition } from '../../controllers/garbage-collector/controller.js';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { findKubectl, run, sleep, tempDir, waitFor, writeKubeconfig, expectOk, type RunResult } from '../clients/helpers.js';
import { startAgent, type AgentProcess } from '../agent/helpers.js';
import { testControllerContext } from '../controllers/helpers.js';
import { cellctl, isolatedEnv } from '../cli/helpers.js';

const NODE = 'gc-node-0';
const HOLD = 'example.com/hold';

interface Meta {
  name?: string;
  uid?: string;
  deletionTimestamp?: string;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
}
interface Obj {
  metadata: Meta;
}

const podGroupRef = (name?: string) => ({ group: 'scheduling.x-k8s.io', version: 'v1alpha1', resource: 'podgroups', namespace: 'default', ...(name ? { name } : {}) });
const podRef = (name?: string) => ({ group: '', version: 'v1', resource: 'pods', namespace: 'default', ...(name ? { name } : {}) });

function ownedBy(kind: 'PodGroup' | 'Pod', owner: Obj, extra: Partial<OwnerReference> = {}): OwnerReference {
  return {
    apiVersion: kind === 'PodGroup' ? 'scheduling.x-k8s.io/v1alpha1' : 'v1',
    kind,
    name: owner.metadata.name ?? '',
    uid: owner.metadata.uid ?? '',
    ...extra,
  };
}

describe('garbage collection by ownerReferences (API server + garbagecollector + kubectl)', function () {
  this.timeout(90_000);
  let srv: TestApiServer;
  let api: ApiClient;
  let informers: SharedInformers;
  let gc: Controller;
  let context: ControllerContext;
  let agent: AgentProcess;
  let dir: string;
  let kubeconfig: string;
  /** Every pod and PodGroup deletion, in the order the watch delivered them. */
  const deletions: string[] = [];
  const kubectlBin = findKubectl();

  const kubectl = (...args: string[]): Promise<RunResult> => {
    if (!kubectlBin) throw new Error('kubectl is not on PATH');
    return run(kubectlBin, [`--kubeconfig=${kubeconfig}`, `--cache-dir=${path.join(dir, 'cache')}`, ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: dir, LANG: 'C' },
      cwd: dir,
      timeoutMs: 45_000,
    });
  };

  const podGroup = (name: string, finalizers?: string[]) =>
    api.create<Obj>(podGroupRef(), {
      apiVersion: 'scheduling.x-k8s.io/v1alpha1',
      kind: 'PodGroup',
      metadata: { name, ...(finalizers ? { finalizers } : {}) },
      spec: { minMember: 1 },
    });

  const pod = (name: string, owners: OwnerReference[], opts: { running?: boolean; finalizers?: string[] } = {}) =>
    api.create<Pod>(podRef(), {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, ownerReferences: owners, ...(opts.finalizers ? { finalizers: opts.finalizers } : {}) },
      spec: {
        ...(opts.running ? { nodeName: NODE } : {}),
        terminationGracePeriodSeconds: 5,
        containers: [{ name: 'main', image: 'busybox', command: ['sleep', '3600'], resources: { requests: { cpu: '10m', memory: '8Mi' } } }],
      },
    });

  const tryGet = async <T = Obj>(ref: Parameters<ApiClient['get']>[0]): Promise<T | undefined> => {
    try {
      return await api.get<T>(ref);
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  };
  const gone = async (ref: Parameters<ApiClient['get']>[0]) => (await tryGet(ref)) === undefined;
  const waitRunning = (name: string) => waitFor(async () => (await tryGet<Pod>(podRef(name)))?.status.phase === 'Running', `pod ${name} Running`, 20_000, 50);
  const release = (ref: Parameters<ApiClient['get']>[0]) => api.patch(ref, { metadata: { finalizers: null } }, 'merge');
  const rawDelete = (ref: Parameters<ApiClient['get']>[0], body: unknown, query?: Record<string, string>) =>
    api.request<Obj>('DELETE', resourceUrlPath(ref), { body, ...(query ? { query } : {}) });

  before(async function () {
    if (!kubectlBin) throw new Error('kubectl is not on PATH: these tests drive real kubectl');
    srv = await startTestApiServer({ backend: 'etcd' });
    api = srv.client();
    const log = createLogger('garbage-collector', 'error');
    informers = new SharedInformers(api, log);
    context = testControllerContext(api, log, informers);
    gc = garbageCollectorDefinition.create(context);
    await gc.start();
    for (const ref of [podRef(), podGroupRef()]) {
      const { namespace: _ns, ...all } = ref;
      informers.get<Obj>(all).addHandlers({ delete: (o) => deletions.push(o.metadata.name ?? '') });
    }
    await informers.start();
    agent = startAgent([`--server=${srv.url}`, '--hollow-nodes=1', '--node-prefix=gc-node-', '--node-ip=127.0.0.1', '--cpu=16', '--memory=32Gi', '--heartbeat-interval=2s']);
    await waitFor(async () => (await tryGet({ resource: 'nodes', name: NODE })) !== undefined, `node ${NODE} registered (agent: ${agent.output().slice(-1000)})`, 30_000, 100);
    dir = tempDir('cell-gc-');
    kubeconfig = writeKubeconfig(path.join(dir, 'kubeconfig'), srv.url);
  });

  after(async () => {
    await gc?.stop();
    await informers?.stop();
    await agent?.stop();
    await srv?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('background (kubectl --cascade=background): the owner is gone at once, its dependents follow', async () => {
    const pg = await podGroup('bg');
    await pod('bg-run-1', [ownedBy('PodGroup', pg, { controller: true })], { running: true });
    await pod('bg-run-2', [ownedBy('PodGroup', pg, { controller: true })], { running: true });
    await pod('bg-pending', [ownedBy('PodGroup', pg)]);
    await waitRunning('bg-run-1');
    await waitRunning('bg-run-2');
    expectOk(await kubectl('delete', 'podgroups.scheduling.x-k8s.io', 'bg', '--cascade=background', '--wait=false'), 'kubectl delete --cascade=background');
    expect(await gone(podGroupRef('bg')), 'the owner is deleted at once').to.equal(true);
    for (const name of ['bg-run-1', 'bg-run-2', 'bg-pending']) await waitFor(() => gone(podRef(name)), `dependent ${name} collected`, 20_000, 50);
    const counted = await context.registry.getSingleMetricAsString('garbagecollector_deletions_total');
    expect(counted).to.match(/garbagecollector_deletions_total\{resource="pods",policy="Background"\} [1-9]/);
  });

  it('foreground (kubectl --cascade=foreground): the owner stays, marked, until its blocking dependents are gone', async () => {
    const pg = await podGroup('fg');
    await pod('fg-run', [ownedBy('PodGroup', pg, { blockOwnerDeletion: true })], { running: true });
    // Held by a finalizer of its own: the owner must wait for it.
    await pod('fg-held', [ownedBy('PodGroup', pg, { blockOwnerDeletion: true })], { finalizers: [HOLD] });
    await pod('fg-free', [ownedBy('PodGroup', pg, { blockOwnerDeletion: false })]);
    await waitRunning('fg-run');
    expectOk(await kubectl('delete', 'podgroup', 'fg', '--cascade=foreground', '--wait=false'), 'kubectl delete --cascade=foreground');

    const marked = await api.get<Obj>(podGroupRef('fg'));
    expect(marked.metadata.deletionTimestamp, 'deletionTimestamp').to.be.a('string');
    expect(marked.metadata.finalizers).to.include('foregroundDeletion');
    const shown = expectOk(await kubectl('get', 'podgroup', 'fg', '-o', 'jsonpath={.metadata.finalizers}'), 'kubectl get the owner');
    expect(shown.stdout).to.contain('foregroundDeletion');

    // Every dependent is deleted: the running one gracefully (its agent confirms), the free one at once.
    await waitFor(() => gone(podRef('fg-run')), 'fg-run gone', 20_000, 50);
    await waitFor(() => gone(podRef('fg-free')), 'fg-free gone', 20_000, 50);
    await waitFor(async () => (await tryGet(podRef('fg-held')))?.metadata.deletionTimestamp !== undefined, 'fg-held marked for deletion', 20_000, 50);
    await sleep(500);
    expect(await gone(podGroupRef('fg')), 'the owner waits for its last blocking dependent').to.equal(false);

    await release(podRef('fg-held'));
    await waitFor(() => gone(podGroupRef('fg')), 'the owner deleted once no blocking dependent is left', 20_000, 50);
    await waitFor(() => deletions.includes('fg'), 'the owner\'s deletion seen by the watch', 10_000, 20);
    expect(deletions.indexOf('fg-held')).to.be.lessThan(deletions.indexOf('fg'));
    expect(deletions.indexOf('fg-run')).to.be.lessThan(deletions.indexOf('fg'));
  });

  it('orphan (kubectl --cascade=orphan): dependents keep running without the ownerReference', async () => {
    const pg = await podGroup('or');
    const other = await podGroup('or-other');
    await pod('or-run-1', [ownedBy('PodGroup', pg, { controller: true, blockOwnerDeletion: true })], { running: true });
    await pod('or-run-2', [ownedBy('PodGroup', pg), ownedBy('PodGroup', other)], { running: true });
    await waitRunning('or-run-1');
    await waitRunning('or-run-2');
    // kubectl waits for the owner to be gone: that needs the collector to drop the orphan finalizer.
    expectOk(await kubectl('delete', 'podgroup', 'or', '--cascade=orphan'), 'kubectl delete --cascade=orphan');
    expect(await gone(podGroupRef('or'))).to.equal(true);
    await sleep(500);
    const p1 = await api.get<Pod>(podRef('or-run-1'));
    const p2 = await api.get<Pod>(podRef('or-run-2'));
    expect(p1.status.phase).to.equal('Running');
    expect(p1.metadata.deletionTimestamp).to.equal(undefined);
    expect(p1.metadata.ownerReferences ?? []).to.deep.equal([]);
    expect(p2.status.phase).to.equal('Running');
    expect((p2.metadata.ownerReferences ?? []).map((o) => o.name)).to.deep.equal(['or-other']);
  });

  it('a running pod deleted with --cascade=orphan still stops gracefully, and its child stays', async () => {
    const parent = await pod('or-parent', [], { running: true });
    await pod('or-child', [ownedBy('Pod', parent)], { running: true });
    await waitRunning('or-parent');
    await waitRunning('or-child');
    expectOk(await kubectl('delete', 'pod', 'or-parent', '--cascade=orphan'), 'kubectl delete pod --cascade=orphan');
    expect(await gone(podRef('or-parent'))).to.equal(true);
    const child = await api.get<Pod>(podRef('or-child'));
    expect(child.metadata.ownerReferences ?? []).to.deep.equal([]);
    expect(child.status.phase).to.equal('Running');
  });

  it('a pod owning pods: the default (background) delete collects the children', async () => {
    const parent = await pod('bg-parent', []);
    await pod('bg-child', [ownedBy('Pod', parent)], { running: true });
    expectOk(await kubectl('delete', 'pod', 'bg-parent'), 'kubectl delete pod');
    await waitFor(() => gone(podRef('bg-child')), 'the child pod collected', 20_000, 50);
  });

  it('collects a dependent whose owner name now holds another object (recreated owner, new uid)', async () => {
    const first = await podGroup('re');
    await api.delete(podGroupRef('re'));
    const second = await podGroup('re');
    expect(second.metadata.uid).to.not.equal(first.metadata.uid);
    // Created after the owner was re-created: only the uid tells the two owners apart.
    await pod('re-stale', [ownedBy('PodGroup', first)]);
    await pod('re-live', [ownedBy('PodGroup', second)]);
    await waitFor(() => gone(podRef('re-stale')), 'the dependent of the old owner collected', 20_000, 50);
    await sleep(500);
    expect(await gone(podRef('re-live')), 'the dependent of the live owner stays').to.equal(false);
    expect(await gone(podGroupRef('re'))).to.equal(false);
  });

  it('a chain A owns B owns C, deleted in the foreground, goes bottom-up', async () => {
    const a = await podGroup('chain-a');
    const b = await pod('chain-b', [ownedBy('PodGroup', a, { blockOwnerDeletion: true })]);
    await pod('chain-c', [ownedBy('Pod', b, { blockOwnerDeletion: true })], { finalizers: [HOLD] });
    expectOk(await kubectl('delete', 'podgroup', 'chain-a', '--cascade=foreground', '--wait=false'), 'kubectl delete chain-a');
    // B is deleted in the foreground too, waiting for C; A waits for B.
    await waitFor(async () => (await tryGet(podRef('chain-b')))?.metadata.finalizers?.includes('foregroundDeletion'), 'B deleting in the foreground', 20_000, 50);
    await waitFor(async () => (await tryGet(podRef('chain-c')))?.metadata.deletionTimestamp !== undefined, 'C marked', 20_000, 50);
    expect((await api.get<Obj>(podGroupRef('chain-a'))).metadata.deletionTimestamp).to.be.a('string');
    await release(podRef('chain-c'));
    await waitFor(() => gone(podGroupRef('chain-a')), 'A deleted last', 20_000, 50);
    await waitFor(() => deletions.includes('chain-a'), 'A\'s deletion seen by the watch', 10_000, 20);
    const order = deletions.filter((n) => n.startsWith('chain-'));
    expect(order).to.deep.equal(['chain-c', 'chain-b', 'chain-a']);
  });

  it('refuses a bad propagationPolicy, or both spellings at once, with a 422 naming propagationPolicy', async () => {
    await podGroup('bad');
    const invalid = async (body: unknown, query?: Record<string, string>) => {
      try {
        await rawDelete(podGroupRef('bad'), body, query);
      } catch (err) {
        expect(err).to.be.instanceOf(InvalidError);
        return (err as InvalidError).causes.map((c) => c.field);
      }
      throw new Error('the delete was accepted');
    };
    expect(await invalid({ kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Sideways' })).to.deep.equal(['propagationPolicy']);
    expect(await invalid(undefined, { propagationPolicy: 'Sideways' })).to.deep.equal(['propagationPolicy']);
    expect(await invalid({ propagationPolicy: 'Orphan', orphanDependents: true })).to.deep.equal(['propagationPolicy']);
    expect(await gone(podGroupRef('bad')), 'nothing was deleted').to.equal(false);
    // kubectl's own check, before the request:
    const r = await kubectl('delete', 'podgroup', 'bad', '--cascade=sideways');
    expect(r.code).to.not.equal(0);
  });

  it('records the policy as a finalizer: orphanDependents=true is Orphan, a later Foreground switches it', async () => {
    // A finalizer of its own keeps the owner while the policies change.
    await podGroup('switch', [HOLD]);
    const orphaned = await rawDelete(podGroupRef('switch'), undefined, { orphanDependents: 'true' });
    expect(orphaned.metadata.finalizers).to.include('orphan');
    expect(orphaned.metadata.deletionTimestamp).to.be.a('string');
    const foreground = await rawDelete(podGroupRef('switch'), { propagationPolicy: 'Foreground' });
    expect(foreground.metadata.finalizers).to.include('foregroundDeletion').and.not.include('orphan');
    // Nothing depends on it: the collector drops foregroundDeletion; only the hold is left.
    await waitFor(async () => (await tryGet(podGroupRef('switch')))?.metadata.finalizers?.join(',') === HOLD, 'only the hold left', 20_000, 50);
    // Finalizers may be removed from an object being deleted, never added.
    try {
      await api.patch(podGroupRef('switch'), { metadata: { finalizers: [HOLD, 'example.com/late'] } }, 'merge');
      throw new Error('a new finalizer was accepted');
    } catch (err) {
      expect(err).to.be.instanceOf(InvalidError);
      expect((err as InvalidError).causes.map((c) => c.field)).to.deep.equal(['metadata.finalizers']);
    }
    await release(podGroupRef('switch'));
    await waitFor(() => gone(podGroupRef('switch')), 'deleted once released', 20_000, 50);
  });

  it('validates ownerReferences as Kubernetes does', async () => {
    const pg = await podGroup('val');
    const refused = async (owners: OwnerReference[]) => {
      try {
        await pod('val-pod', owners);
      } catch (err) {
        expect(err).to.be.instanceOf(InvalidError);
        return (err as InvalidError).causes.map((c) => c.field);
      }
      throw new Error('the pod was accepted');
    };
    expect(await refused([ownedBy('PodGroup', pg, { controller: true }), { ...ownedBy('Pod', pg), uid: 'u2', controller: true }])).to.deep.equal(['metadata.ownerReferences']);
    expect(await refused([{ ...ownedBy('PodGroup', pg), uid: '' }])).to.deep.equal(['metadata.ownerReferences[0].uid']);
    expect(await refused([{ ...ownedBy('PodGroup', pg), apiVersion: 'scheduling.x-k8s.io/' }])).to.deep.equal(['metadata.ownerReferences[0].apiVersion']);
    expect(await refused([{ apiVersion: 'v1', kind: 'Event', name: 'e', uid: 'u' }])).to.deep.equal(['metadata.ownerReferences[0]']);
  });

  it('leaves a cluster-scoped dependent of a namespaced owner kind alone, with a warning Event', async () => {
    await api.create({ group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'clusterroles' }, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'gc-invalid-owner', ownerReferences: [{ apiVersion: 'scheduling.x-k8s.io/v1alpha1', kind: 'PodGroup', name: 'nowhere', uid: 'no-such-uid' }] },
      rules: [],
    });
    await waitFor(
      async () =>
        (await api.list<{ items: { reason?: string; involvedObject: { name?: string } }[] }>({ resource: 'events', namespace: 'default' })).items.some(
          (e) => e.reason === 'OwnerRefInvalidNamespace' && e.involvedObject.name === 'gc-invalid-owner',
        ),
      'an OwnerRefInvalidNamespace event',
      20_000,
      100,
    );
    expect(await gone({ group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'clusterroles', name: 'gc-invalid-owner' })).to.equal(false);
  });

  it('cellctl delete --cascade sends the policy (and reads the deprecated booleans)', async () => {
    const pg = await podGroup('ctl');
    await pod('ctl-dep', [ownedBy('PodGroup', pg)]);
    const env = isolatedEnv(tempDir('cellctl-gc-'));
    const bad = await cellctl([`--server=${srv.url}`, 'delete', 'podgroup', 'ctl', '--cascade=sideways'], { env });
    expect(bad.code).to.not.equal(0);
    expect(bad.stderr).to.contain('invalid cascade value');
    const r = await cellctl([`--server=${srv.url}`, 'delete', 'podgroup', 'ctl', '--cascade=false'], { env });
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.contain('--cascade=orphan');
    await waitFor(() => gone(podGroupRef('ctl')), 'owner gone once orphaned', 20_000, 50);
    const dep = await api.get<Obj>(podRef('ctl-dep'));
    expect(dep.metadata.ownerReferences ?? []).to.deep.equal([]);
  });
});
