// StatefulSets end to end: four hollow nodes, a real scheduler process, the StatefulSet controller
// with the garbage collector in-process, and real kubectl for each kubectl verb. Pods are made in
// ordinal order, each only once the one before is ready (sampled from a watch after every event),
// removed from the top down, updated from the top down one at a time, held below a partition, and
// rolled back; Parallel makes them all at once; a deleted or failed pod comes back as itself.
import { expect } from 'chai';
import { CONTROLLER_REVISION_HASH_LABEL, POD_INDEX_LABEL, STATEFULSET_POD_NAME_LABEL, type ControllerRevision, type StatefulSet } from '../../shared/api/apps.js';
import type { Pod } from '../../shared/api/core.js';
import type { ApiClient } from '../../shared/client/http-client.js';
import { InvalidError } from '../../shared/errors.js';
import { CONTROLLER_REVISIONS } from '../../controllers/controller-history.js';
import { garbageCollectorDefinition } from '../../controllers/garbage-collector/controller.js';
import { statefulSetControllerDefinition, STATEFULSETS } from '../../controllers/statefulset/controller.js';
import { expectOk, waitFor } from '../clients/helpers.js';
import { startControllers } from '../controllers/helpers.js';
import { PodWatchSampler } from './apps-helpers.js';
import { createNamespace, workloadSuite } from './cluster.js';

const startStatefulSetControllers = (client: ApiClient) => startControllers(client, [statefulSetControllerDefinition, garbageCollectorDefinition], undefined, 'statefulset-test');

function manifest(name: string, o: { replicas?: number; policy?: string; updateStrategy?: Record<string, unknown>; cpu?: string } = {}) {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name },
    spec: {
      replicas: o.replicas ?? 3,
      serviceName: name,
      selector: { matchLabels: { app: name } },
      ...(o.policy ? { podManagementPolicy: o.policy } : {}),
      ...(o.updateStrategy ? { updateStrategy: o.updateStrategy } : {}),
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'db', image: 'busybox:1', command: ['sleep', '3600'], resources: { requests: { cpu: o.cpu ?? '100m' } } }] },
      },
    },
  };
}

const isLive = (p: Pod) => p.metadata.deletionTimestamp === undefined && p.status.phase !== 'Failed' && p.status.phase !== 'Succeeded';
const isReady = (p: Pod) => isLive(p) && p.status.phase === 'Running' && (p.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

async function setPods(client: ApiClient, ns: string, app: string): Promise<Pod[]> {
  return (await client.list<{ items: Pod[] }>({ resource: 'pods', namespace: ns }, { labelSelector: `app=${app}` })).items;
}

/** Waits until exactly `names` exist, all ready (and of `image` when given); returns them by name. */
async function waitPods(client: ApiClient, ns: string, app: string, names: string[], image?: string): Promise<Map<string, Pod>> {
  let last: Pod[] = [];
  try {
    return await waitFor(async () => {
      last = await setPods(client, ns, app);
      const ok = last.length === names.length && last.every((p) => names.includes(p.metadata.name ?? '') && isReady(p) && (image === undefined || p.spec.containers[0]?.image === image));
      return ok ? new Map(last.map((p) => [p.metadata.name ?? '', p])) : undefined;
    }, `ready pods ${names.join(', ')}`, 60_000, 100);
  } catch (err) {
    throw new Error(`${(err as Error).message}\nlast: ${JSON.stringify(last.map((p) => [p.metadata.name, p.status.phase, p.metadata.deletionTimestamp !== undefined, p.spec.containers[0]?.image]))}`);
  }
}

async function waitStatus(client: ApiClient, ns: string, name: string, want: (s: StatefulSet['status']) => boolean, what: string): Promise<StatefulSet> {
  let last: StatefulSet | undefined;
  try {
    return await waitFor(async () => {
      last = await client.get<StatefulSet>({ ...STATEFULSETS, namespace: ns, name });
      return (last.status.observedGeneration ?? 0) >= (last.metadata.generation ?? 1) && want(last.status) ? last : undefined;
    }, `statefulset ${ns}/${name}: ${what}`, 60_000, 100);
  } catch (err) {
    throw new Error(`${(err as Error).message}\nlast status: ${JSON.stringify(last?.status)}`);
  }
}

/**
 * Records, from a StatefulSet's pod events: the order pods appeared and began terminating, whether
 * every lower ordinal was ready when a pod appeared, and the most pods at once live but not ready.
 */
class OrderSampler extends PodWatchSampler {
  readonly created: string[] = [];
  readonly deleting: string[] = [];
  /** Pods that appeared while a lower ordinal was not ready. */
  readonly outOfOrder: string[] = [];
  maxNotReady = 0;

  constructor(client: ApiClient, ns: string, app: string) {
    super(client, ns, `app=${app}`);
  }

  protected sample(): void {
    this.maxNotReady = Math.max(this.maxNotReady, this.informer.list().filter((p) => !isReady(p)).length);
  }

  protected override added(p: Pod): void {
    this.created.push(p.metadata.name ?? '');
    const ordinal = (q: Pod) => Number(q.metadata.labels?.[POD_INDEX_LABEL] ?? -1);
    const lower = this.informer.list().filter((q) => ordinal(q) < ordinal(p));
    if (lower.length < ordinal(p) || lower.some((q) => !isReady(q))) this.outOfOrder.push(p.metadata.name ?? '');
    super.added(p);
  }

  protected override updated(old: Pod, p: Pod): void {
    if (old.metadata.deletionTimestamp === undefined && p.metadata.deletionTimestamp !== undefined) this.deleting.push(p.metadata.name ?? '');
    super.updated(old, p);
  }

  protected override deleted(p: Pod): void {
    if (!this.deleting.includes(p.metadata.name ?? '')) this.deleting.push(p.metadata.name ?? '');
    super.deleted(p);
  }
}

describe('StatefulSets on real nodes, placed by a real scheduler, driven by kubectl', function () {
  this.timeout(180_000);
  const cluster = workloadSuite({ name: 'sts', hollowNodes: 4, startControllers: startStatefulSetControllers });
  const apply = (ns: string, obj: unknown) => cluster.apply(ns, obj);

  it('makes web-0, web-1, web-2 in order, each once the one before is ready, with its identity labels; kubectl shows READY and rollout status', async () => {
    const ns = 'sts-basic';
    await createNamespace(cluster.client, ns);
    const sampler = new OrderSampler(cluster.client, ns, 'web');
    await sampler.start();
    try {
      await apply(ns, manifest('web'));
      await waitPods(cluster.client, ns, 'web', ['web-0', 'web-1', 'web-2']);
    } finally {
      await sampler.stop();
    }
    expect(sampler.created).to.deep.equal(['web-0', 'web-1', 'web-2']);
    expect(sampler.outOfOrder, 'no pod before the ones below it were ready').to.deep.equal([]);
    const sts = await waitStatus(cluster.client, ns, 'web', (s) => s.readyReplicas === 3 && s.currentRevision === s.updateRevision, 'all ready');
    expect(sts.status).to.include({ replicas: 3, readyReplicas: 3, currentReplicas: 3, updatedReplicas: 3, availableReplicas: 3 });
    const revs = (await cluster.client.list<{ items: ControllerRevision[] }>({ ...CONTROLLER_REVISIONS, namespace: ns })).items;
    expect(revs.map((r) => r.metadata.name)).to.deep.equal([sts.status.updateRevision]);
    for (const p of await setPods(cluster.client, ns, 'web')) {
      expect(p.metadata.labels).to.include({ [STATEFULSET_POD_NAME_LABEL]: p.metadata.name, [CONTROLLER_REVISION_HASH_LABEL]: sts.status.updateRevision });
      expect(p.metadata.labels?.[POD_INDEX_LABEL]).to.equal(p.metadata.name?.slice('web-'.length));
      expect(p.metadata.ownerReferences?.[0]).to.include({ kind: 'StatefulSet', name: 'web', uid: sts.metadata.uid, controller: true });
    }
    const table = expectOk(await cluster.kubectl(['-n', ns, 'get', 'sts']), 'kubectl get sts').stdout.split('\n');
    expect(table[0]?.split(/\s+/)).to.deep.equal(['NAME', 'READY', 'AGE']);
    expect(table[1]?.split(/\s+/).slice(0, 2)).to.deep.equal(['web', '3/3']);
    const status = expectOk(await cluster.kubectl(['-n', ns, 'rollout', 'status', 'sts/web', '--timeout=30s'], 40_000), 'kubectl rollout status').stdout;
    // As with Kubernetes: the defaulted partition (0) makes kubectl call it a partitioned rollout.
    expect(status).to.include('partitioned roll out complete: 3 new pods have been updated...');
  });

  it('scales down from the highest ordinal one pod at a time, and back up with kubectl scale; a deleted pod comes back under its name', async () => {
    const ns = 'sts-scale';
    await createNamespace(cluster.client, ns);
    await apply(ns, manifest('db', { replicas: 4 }));
    await waitPods(cluster.client, ns, 'db', ['db-0', 'db-1', 'db-2', 'db-3']);
    const sampler = new OrderSampler(cluster.client, ns, 'db');
    await sampler.start();
    try {
      expectOk(await cluster.kubectl(['-n', ns, 'scale', 'sts/db', '--replicas=1']), 'kubectl scale');
      await waitPods(cluster.client, ns, 'db', ['db-0']);
    } finally {
      await sampler.stop();
    }
    expect(sampler.deleting).to.deep.equal(['db-3', 'db-2', 'db-1']);
    expect(sampler.maxNotReady, 'one pod leaving at a time').to.equal(1);

    expectOk(await cluster.kubectl(['-n', ns, 'scale', 'sts/db', '--replicas=2']), 'kubectl scale up');
    const two = await waitPods(cluster.client, ns, 'db', ['db-0', 'db-1']);
    const old = two.get('db-1')!;
    await cluster.client.delete({ resource: 'pods', namespace: ns, name: 'db-1' });
    const back = await waitFor(async () => (await setPods(cluster.client, ns, 'db')).find((p) => p.metadata.name === 'db-1' && p.metadata.uid !== old.metadata.uid && isReady(p)), 'db-1 back', 30_000, 100);
    expect(back.metadata.labels?.[POD_INDEX_LABEL]).to.equal('1');
  });

  it('rolls `kubectl set image` out from the highest ordinal down, one pod at a time; a partition holds the lower ordinals; `rollout undo` goes back', async () => {
    const ns = 'sts-update';
    await createNamespace(cluster.client, ns);
    await apply(ns, manifest('kv'));
    await waitPods(cluster.client, ns, 'kv', ['kv-0', 'kv-1', 'kv-2']);
    const first = await waitStatus(cluster.client, ns, 'kv', (s) => s.readyReplicas === 3, 'ready');
    const sampler = new OrderSampler(cluster.client, ns, 'kv');
    await sampler.start();
    try {
      expectOk(await cluster.kubectl(['-n', ns, 'set', 'image', 'sts/kv', 'db=busybox:1.36']), 'kubectl set image');
      expectOk(await cluster.kubectl(['-n', ns, 'rollout', 'status', 'sts/kv', '--timeout=90s'], 100_000), 'kubectl rollout status');
      await waitPods(cluster.client, ns, 'kv', ['kv-0', 'kv-1', 'kv-2'], 'busybox:1.36');
    } finally {
      await sampler.stop();
    }
    expect(sampler.deleting).to.deep.equal(['kv-2', 'kv-1', 'kv-0']);
    expect(sampler.maxNotReady, 'one pod down at a time').to.equal(1);
    const second = await waitStatus(cluster.client, ns, 'kv', (s) => s.currentRevision === s.updateRevision && s.updatedReplicas === 3, 'updated');
    expect(second.status.updateRevision).to.not.equal(first.status.updateRevision);

    // Staged: only ordinals ≥ 2 take the next template.
    await cluster.client.patch({ ...STATEFULSETS, namespace: ns, name: 'kv' }, { spec: { updateStrategy: { rollingUpdate: { partition: 2 } } } }, 'merge');
    expectOk(await cluster.kubectl(['-n', ns, 'set', 'image', 'sts/kv', 'db=busybox:1.37']), 'kubectl set image (partitioned)');
    const staged = expectOk(await cluster.kubectl(['-n', ns, 'rollout', 'status', 'sts/kv', '--timeout=60s'], 70_000), 'kubectl rollout status (partitioned)').stdout;
    expect(staged).to.include('partitioned roll out complete: 1 new pods have been updated...');
    await waitFor(async () => {
      const images = new Map((await setPods(cluster.client, ns, 'kv')).filter(isReady).map((p) => [p.metadata.name, p.spec.containers[0]?.image]));
      return images.get('kv-2') === 'busybox:1.37' && images.get('kv-1') === 'busybox:1.36' && images.get('kv-0') === 'busybox:1.36';
    }, 'kv-2 on the new image, kv-0 and kv-1 held', 60_000, 100);
    const held = await waitStatus(cluster.client, ns, 'kv', (s) => s.updatedReplicas === 1 && s.readyReplicas === 3, 'one updated');
    expect(held.status.currentRevision, 'the update is not complete below the partition').to.equal(second.status.updateRevision);
    // A pod below the partition that is deleted comes back on the old template.
    await cluster.client.delete({ resource: 'pods', namespace: ns, name: 'kv-0' });
    await waitFor(async () => (await setPods(cluster.client, ns, 'kv')).some((p) => p.metadata.name === 'kv-0' && isReady(p) && p.spec.containers[0]?.image === 'busybox:1.36' && p.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL] === second.status.updateRevision), 'kv-0 back on the old template', 30_000, 100);

    await cluster.client.patch({ ...STATEFULSETS, namespace: ns, name: 'kv' }, { spec: { updateStrategy: { rollingUpdate: { partition: 0 } } } }, 'merge');
    await waitPods(cluster.client, ns, 'kv', ['kv-0', 'kv-1', 'kv-2'], 'busybox:1.37');
    const history = expectOk(await cluster.kubectl(['-n', ns, 'rollout', 'history', 'sts/kv']), 'kubectl rollout history').stdout;
    expect(history.split('\n').filter((l) => /^\d+\s/.test(l)).map((l) => l.split(/\s+/)[0])).to.deep.equal(['1', '2', '3']);
    expectOk(await cluster.kubectl(['-n', ns, 'rollout', 'undo', 'sts/kv']), 'kubectl rollout undo');
    await waitPods(cluster.client, ns, 'kv', ['kv-0', 'kv-1', 'kv-2'], 'busybox:1.36');
    const undone = await waitStatus(cluster.client, ns, 'kv', (s) => s.currentRevision === s.updateRevision && s.updatedReplicas === 3, 'rolled back');
    expect(undone.status.updateRevision, 'revision 2 comes back under its own name').to.equal(second.status.updateRevision);
  });

  it('with OrderedReady stops at a pod that cannot be placed; with Parallel makes every pod at once', async () => {
    const ns = 'sts-policy';
    await createNamespace(cluster.client, ns);
    // 64 cpu fits none of the 8-cpu nodes: pods stay Pending.
    await apply(ns, manifest('ordered', { cpu: '64' }));
    await apply(ns, manifest('parallel', { cpu: '64', policy: 'Parallel' }));
    await waitFor(async () => (await setPods(cluster.client, ns, 'parallel')).length === 3, 'three parallel pods', 30_000, 100);
    await waitStatus(cluster.client, ns, 'parallel', (s) => s.replicas === 3 && s.readyReplicas === 0, 'three made, none ready');
    const ordered = await setPods(cluster.client, ns, 'ordered');
    expect(ordered.map((p) => p.metadata.name)).to.deep.equal(['ordered-0']);
    await waitStatus(cluster.client, ns, 'ordered', (s) => s.replicas === 1, 'one made');
    expect((await setPods(cluster.client, ns, 'ordered')).map((p) => p.metadata.name)).to.deep.equal(['ordered-0']);
  });

  it('replaces a failed pod under its own name; deleting the StatefulSet takes its pods and revisions', async () => {
    const ns = 'sts-failed';
    await createNamespace(cluster.client, ns);
    await apply(ns, manifest('q', { replicas: 2 }));
    const pods = await waitPods(cluster.client, ns, 'q', ['q-0', 'q-1']);
    const victim = pods.get('q-1')!;
    const fresh = await cluster.client.get<Pod>({ resource: 'pods', namespace: ns, name: 'q-1' });
    await cluster.client.update({ resource: 'pods', namespace: ns, name: 'q-1', subresource: 'status' }, { ...fresh, status: { ...fresh.status, phase: 'Failed', reason: 'Evicted' } });
    await waitFor(async () => (await setPods(cluster.client, ns, 'q')).some((p) => p.metadata.name === 'q-1' && p.metadata.uid !== victim.metadata.uid && isReady(p)), 'q-1 replaced', 30_000, 100);
    expectOk(await cluster.kubectl(['-n', ns, 'delete', 'sts', 'q']), 'kubectl delete sts');
    await waitFor(async () => {
      const revs = await cluster.client.list<{ items: unknown[] }>({ ...CONTROLLER_REVISIONS, namespace: ns });
      return (await setPods(cluster.client, ns, 'q')).length === 0 && revs.items.length === 0;
    }, 'pods and revisions collected', 30_000, 100);
  });

  it('refuses changes to its fixed fields and invalid update strategies', async () => {
    const ns = 'sts-invalid';
    await createNamespace(cluster.client, ns);
    await cluster.client.create({ ...STATEFULSETS, namespace: ns }, manifest('fixed', { cpu: '64', replicas: 0 }));
    const causes = async (p: Promise<unknown>): Promise<string> => {
      try {
        await p;
      } catch (err) {
        expect(err).to.be.instanceOf(InvalidError);
        return ((err as InvalidError).causes ?? []).map((c) => `${c.field ?? ''}: ${c.message}`).join('\n');
      }
      throw new Error('expected a 422');
    };
    const ref = { ...STATEFULSETS, namespace: ns, name: 'fixed' };
    expect(await causes(cluster.client.patch(ref, { spec: { serviceName: 'other' } }, 'merge'))).to.include("updates to statefulset spec for fields other than 'replicas'");
    expect(await causes(cluster.client.patch(ref, { spec: { podManagementPolicy: 'Parallel' } }, 'merge'))).to.include('are forbidden');
    const scaled = await cluster.client.patch<StatefulSet>(ref, { spec: { replicas: 0, minReadySeconds: 5 } }, 'merge');
    expect(scaled.spec.minReadySeconds).to.equal(5);
    expect(await causes(cluster.client.create({ ...STATEFULSETS, namespace: ns }, manifest('bad', { updateStrategy: { type: 'OnDelete', rollingUpdate: { partition: 1 } } })))).to.include(
      "spec.updateStrategy.rollingUpdate: Invalid value",
    );
    expect(await causes(cluster.client.create({ ...STATEFULSETS, namespace: ns }, manifest('bad', { updateStrategy: { rollingUpdate: { partition: -1 } } })))).to.include(
      'spec.updateStrategy.rollingUpdate.partition: Invalid value: -1: must be greater than or equal to 0',
    );
  });
});
