// A resource store's watch cache reuses the objects this server wrote instead of parsing their
// bytes again (encodeWrite). Whatever else writes the same keys, the cache must end up holding
// exactly what etcd holds, with the right resourceVersion, and a refused write must leave nothing behind.
import { expect } from 'chai';
import { EtcdStore } from '../../apiserver/storage/etcd.js';
import { resourceDefinitions } from '../../apiserver/registry/definitions.js';
import { ResourceStore } from '../../apiserver/registry/resource-store.js';
import { RestResource } from '../../apiserver/registry/rest.js';
import type { KubeObject } from '../../apiserver/registry/object.js';
import { AlreadyExistsError } from '../../shared/errors.js';
import { createLogger } from '../../shared/logging.js';
import { etcdEndpoints, randomPrefix, until } from './helpers.js';

const id = { group: '', kind: 'ConfigThing', resource: 'things', namespaced: true };

function thing(name: string, data: string): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigThing', metadata: { name, namespace: 'ns' }, spec: { data } } as KubeObject;
}

describe('resource store: the watch cache and this server\'s own writes (etcd)', function () {
  this.timeout(20_000);
  let store: EtcdStore;
  let objects: ResourceStore;

  beforeEach(async () => {
    store = new EtcdStore({ endpoints: etcdEndpoints(), prefix: randomPrefix() });
    objects = new ResourceStore(store, id, createLogger('test', 'error'), { watchCacheCapacity: 1_000 });
    await objects.cache.ready();
  });
  afterEach(async () => {
    objects.cache.stop();
    await store.close();
  });

  const cached = (name: string) => objects.cache.peek(objects.key('ns', name));

  it('holds what etcd holds after creates, refused creates, updates and writes from elsewhere', async () => {
    const created = await objects.create(thing('a', 'one'));
    await until(() => cached('a') !== undefined, 'a in the cache');
    expect(cached('a')).to.deep.equal(created);

    // A refused create (the name is taken) must not leave its object for the cache to pick up.
    let refused: unknown;
    try {
      await objects.create(thing('a', 'two'));
    } catch (err) {
      refused = err;
    }
    expect(refused).to.be.instanceOf(AlreadyExistsError);

    // Another writer (another API server) changes the key with different bytes.
    const key = objects.key('ns', 'a');
    const other = thing('a', 'three');
    const put = await store.txn({ compares: [], success: [{ type: 'put', key, value: objects.encode(other) }] });
    await until(() => cached('a')?.metadata.resourceVersion === String(put.versions[0]), 'the other write');
    expect((cached('a') as unknown as { spec: { data: string } }).spec.data).to.equal('three');

    const updated = await objects.update('ns', 'a', (cur) => ({ ...cur, spec: { data: 'four' } }));
    await until(() => cached('a')?.metadata.resourceVersion === updated.metadata.resourceVersion, 'the update');
    const stored = await objects.get('ns', 'a');
    expect(cached('a')).to.deep.equal(stored);
    expect((stored as unknown as { spec: { data: string } }).spec.data).to.equal('four');
  });

  it('peekFresh never answers with a state older than this server\'s own last write', async () => {
    await objects.create(thing('c', '0'));
    let stale = 0;
    for (let n = 1; n <= 30; n++) {
      const updated = await objects.update('ns', 'c', (cur) => ({ ...cur, spec: { data: String(n) } }));
      const key = objects.key('ns', 'c');
      if (Number(objects.cache.peek(key)?.metadata.resourceVersion ?? 0) < Number(updated.metadata.resourceVersion)) stale++;
      const seen = objects.peekFresh(key);
      if (seen !== undefined) expect(Number(seen.metadata.resourceVersion)).to.be.at.least(Number(updated.metadata.resourceVersion));
    }
    await until(() => objects.peekFresh(objects.key('ns', 'c')) !== undefined, 'the cache to catch up');
    // The plain cache lagged behind the writes at least once, so the check above was exercised.
    expect(stale).to.be.greaterThan(0);
  });

  it('a reused object is a copy with its own resourceVersion, not the one the writer holds', async () => {
    const mine = thing('b', 'x');
    const created = await objects.create(mine);
    await until(() => cached('b') !== undefined, 'b in the cache');
    const inCache = cached('b')!;
    expect(inCache).to.not.equal(created);
    expect(inCache.metadata).to.not.equal(mine.metadata);
    expect(inCache.metadata.resourceVersion).to.equal(created.metadata.resourceVersion);
    expect(mine.metadata.resourceVersion).to.equal(undefined);
    // The same bytes written again (a no-op rewrite) come back as an equal object at the new revision.
    const again = await store.txn({ compares: [], success: [{ type: 'put', key: objects.key('ns', 'b'), value: objects.encode(mine) }] });
    await until(() => cached('b')?.metadata.resourceVersion === String(again.versions[0]), 'the rewrite');
    expect({ ...cached('b')!, metadata: { ...cached('b')!.metadata, resourceVersion: '' } }).to.deep.equal({ ...inCache, metadata: { ...inCache.metadata, resourceVersion: '' } });
  });
});

describe('REST updates and patches start from the cached object without changing it (etcd)', function () {
  this.timeout(20_000);
  it('PUT, status PUT and every patch type leave the watch cache\'s object as it was', async () => {
    const store = new EtcdStore({ endpoints: etcdEndpoints(), prefix: randomPrefix() });
    const pods = resourceDefinitions().find((d) => d.def.resource === 'pods')!;
    const objects = new ResourceStore(store, pods.def, createLogger('test', 'error'), { watchCacheCapacity: 1_000 });
    const rest = new RestResource(pods.def, objects, async (name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }));
    try {
      await objects.cache.ready();
      const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', labels: { a: '1' } }, spec: { serviceAccountName: 'default', containers: [{ name: 'c', image: 'busybox' }] } };
      await rest.create('ns', pod);
      const key = objects.key('ns', 'p');
      const steps: [string, () => Promise<unknown>][] = [
        ['PUT', async () => rest.update('ns', 'p', { ...pod, metadata: { ...pod.metadata, labels: { a: '2' } } }, undefined)],
        ['status PUT', async () => rest.update('ns', 'p', { ...pod, status: { phase: 'Running' } }, 'status')],
        ['merge patch', async () => rest.patch('ns', 'p', 'merge', { metadata: { labels: { b: '3' } } }, undefined)],
        ['strategic patch', async () => rest.patch('ns', 'p', 'strategic', { spec: { containers: [{ name: 'c', image: 'busybox:2' }] } }, undefined)],
        ['JSON patch', async () => rest.patch('ns', 'p', 'json', [{ op: 'add', path: '/metadata/annotations', value: { x: 'y' } }], undefined)],
      ];
      for (const [what, step] of steps) {
        const rv = (await objects.get('ns', 'p')).metadata.resourceVersion;
        await until(() => objects.cache.peek(key)?.metadata.resourceVersion === rv, `the cache at ${rv}`);
        const before = objects.cache.peek(key)!;
        const copy = structuredClone(before);
        await step();
        expect(before, what).to.deep.equal(copy);
      }
      const final = await objects.get('ns', 'p');
      expect(final.metadata.labels).to.deep.equal({ a: '2', b: '3' });
      expect(final.metadata.annotations).to.deep.equal({ x: 'y' });
      expect((final as unknown as { status: { phase: string } }).status.phase).to.equal('Running');
    } finally {
      objects.cache.stop();
      store.close();
    }
  });
});

