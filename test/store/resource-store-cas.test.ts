// A resource store's create, update and delete: compare-and-swap against real etcd, write hooks
// joining the object's transaction, refusals never decided on a stale cache, and this server
// reading its own writes while its watch cache lags (held back deterministically here).
import { expect } from 'chai';
import { EtcdStore } from '../../apiserver/storage/etcd.js';
import { revisionOf } from '../../apiserver/storage/resource-version.js';
import type { KubeObject } from '../../apiserver/registry/object.js';
import { ResourceStore, type WriteHook } from '../../apiserver/registry/resource-store.js';
import { AlreadyExistsError, ConflictError, ForbiddenError, NotFoundError, TooManyRequestsError, TxnTooLargeError } from '../../shared/errors.js';
import { createLogger } from '../../shared/logging.js';
import { HeldWatchStore } from './held-watch-store.js';
import { etcdEndpoints, pool, randomPrefix, rejection, until } from './helpers.js';

const id = { group: '', kind: 'ConfigThing', resource: 'things', namespaced: true };

type Thing = KubeObject & { spec: { data: string; count?: number } };

function thing(name: string, data: string): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigThing', metadata: { name, namespace: 'ns' }, spec: { data } } as KubeObject;
}

const spec = (obj: KubeObject | undefined) => (obj as Thing | undefined)?.spec;

function withData(obj: KubeObject, data: string): KubeObject {
  return { ...obj, spec: { ...spec(obj), data } } as KubeObject;
}

describe('resource store writes: compare-and-swap, hooks, own writes (etcd)', function () {
  this.timeout(30_000);
  const log = createLogger('test', 'error');
  let prefix: string;
  let store: HeldWatchStore;
  let objects: ResourceStore;
  const extra: { store: EtcdStore; objects: ResourceStore }[] = [];

  /** Another API server on the same etcd prefix. */
  async function replica(): Promise<ResourceStore> {
    const s = new EtcdStore({ endpoints: etcdEndpoints(), prefix });
    const o = new ResourceStore(s, id, log, { watchCacheCapacity: 1_000 });
    await o.cache.ready();
    extra.push({ store: s, objects: o });
    return o;
  }

  beforeEach(async () => {
    prefix = randomPrefix();
    store = new HeldWatchStore(new EtcdStore({ endpoints: etcdEndpoints(), prefix }));
    objects = new ResourceStore(store, id, log, { watchCacheCapacity: 1_000 });
    await objects.cache.ready();
  });
  afterEach(async () => {
    store.release();
    objects.cache.stop();
    await store.close();
    for (const r of extra.splice(0)) {
      r.objects.cache.stop();
      await r.store.close();
    }
  });

  const key = (name: string) => objects.key('ns', name);
  const cachedRv = (name: string) => objects.cache.peek(key(name))?.metadata.resourceVersion;

  it('concurrent updates of one key from many actors on two servers lose no update', async () => {
    const other = await replica();
    await objects.create({ ...thing('counter', 'x'), spec: { data: 'x', count: 0 } } as KubeObject);
    const ACTORS = 8;
    const EACH = 10;
    const versions: string[] = [];
    await pool(ACTORS * EACH, ACTORS, async (i) => {
      const via = i % 2 === 0 ? objects : other;
      const written = await via.update('ns', 'counter', (cur) => ({ ...cur, spec: { ...spec(cur)!, count: (spec(cur)!.count ?? 0) + 1 } }) as KubeObject);
      versions.push(written.metadata.resourceVersion!);
    });
    const final = await objects.get('ns', 'counter');
    expect(spec(final)!.count).to.equal(ACTORS * EACH);
    // Every update was its own write: one resourceVersion each.
    expect(new Set(versions).size).to.equal(ACTORS * EACH);
  });

  describe('a write hook whose compare fails is called again with retry=true; its ops commit with the object', () => {
    const side = '/side/effect';
    let calls: { prev: KubeObject | undefined; next: KubeObject | undefined; retry: boolean }[];

    beforeEach(() => {
      calls = [];
      // The hook guards a side key it read; on its first call another writer moves that key
      // before the transaction is sent, so the first transaction must fail on the hook's compare.
      const hook: WriteHook = async (prev, next, retry) => {
        calls.push({ prev, next, retry });
        const sv = await store.get(side);
        if (calls.length === 1) await store.txn({ compares: [], success: [{ type: 'put', key: side, value: 'elsewhere' }] });
        return { compares: [{ key: side, modRevision: sv?.modRevision ?? 0 }], ops: [{ type: 'put', key: side, value: `hook ${calls.length}` }] };
      };
      objects.addWriteHook(hook);
    });

    async function sideAtRevision(): Promise<{ value: string; modRevision: number }> {
      const sv = (await store.get(side))!;
      return { value: sv.value, modRevision: sv.modRevision };
    }

    it('create', async () => {
      const created = await objects.create(thing('h', 'one'));
      expect(calls.map((c) => c.retry)).to.deep.equal([false, true]);
      expect(calls.every((c) => c.prev === undefined && spec(c.next)?.data === 'one')).to.equal(true);
      const s = await sideAtRevision();
      expect(s.value).to.equal('hook 2');
      expect(s.modRevision).to.equal(revisionOf(Number(created.metadata.resourceVersion)));
    });

    it('update', async () => {
      await store.txn({ compares: [], success: [{ type: 'put', key: key('h'), value: objects.encode(thing('h', 'one')) }] });
      // Decided on the cache first (hooks read memory), so it must have the object.
      await until(() => spec(objects.cache.peek(key('h')))?.data === 'one', 'h in the cache');
      calls.length = 0;
      const updated = await objects.update('ns', 'h', (cur) => withData(cur, 'two'));
      expect(calls.map((c) => c.retry)).to.deep.equal([false, true]);
      expect(calls.every((c) => spec(c.prev)?.data === 'one' && spec(c.next)?.data === 'two')).to.equal(true);
      const s = await sideAtRevision();
      expect(s.value).to.equal('hook 2');
      expect(s.modRevision).to.equal(revisionOf(Number(updated.metadata.resourceVersion)));
    });

    it('delete', async () => {
      await store.txn({ compares: [], success: [{ type: 'put', key: key('h'), value: objects.encode(thing('h', 'one')) }] });
      await until(() => spec(objects.cache.peek(key('h')))?.data === 'one', 'h in the cache');
      calls.length = 0;
      const last = await objects.delete('ns', 'h');
      expect(calls.map((c) => c.retry)).to.deep.equal([false, true]);
      expect(calls.every((c) => spec(c.prev)?.data === 'one' && c.next === undefined)).to.equal(true);
      const s = await sideAtRevision();
      expect(s.value).to.equal('hook 2');
      expect(s.modRevision).to.equal(revisionOf(Number(last.metadata.resourceVersion)));
      expect(await store.get(key('h'))).to.equal(undefined);
    });
  });

  it('a create a hook refuses is AlreadyExists when the name is taken, else the hook\'s error; nothing is written', async () => {
    await objects.create(thing('taken', 'one'));
    objects.addWriteHook(async () => {
      throw new ForbiddenError('no room');
    });
    const before = await store.currentRevision();
    expect(await rejection(objects.create(thing('taken', 'two')))).to.be.instanceOf(AlreadyExistsError);
    expect(await rejection(objects.create(thing('free', 'two')))).to.be.instanceOf(ForbiddenError);
    expect(await store.currentRevision()).to.equal(before);
    expect(await store.get(key('free'))).to.equal(undefined);
  });

  it('reads its own writes while the watch cache lags: updates start from them, a delete hides the object', async () => {
    await objects.create(thing('a', 'zero'));
    await until(() => cachedRv('a') !== undefined, 'a in the cache');
    const cachedBefore = cachedRv('a');
    store.hold();

    const first = await objects.update('ns', 'a', (cur) => withData(cur, 'one'));
    expect(cachedRv('a')).to.equal(cachedBefore); // the cache has not seen it
    expect(objects.peekFresh(key('a'))).to.equal(undefined);
    expect(objects.peekHeld(key('a'))?.obj.metadata.resourceVersion).to.equal(first.metadata.resourceVersion);

    // The next update starts from this server's own write, not the cache's older copy: one
    // decision, one transaction, no compare that fails.
    const seen: string[] = [];
    const txnsBefore = store.txns;
    const second = await objects.update('ns', 'a', (cur) => {
      seen.push(cur.metadata.resourceVersion!);
      return withData(cur, 'two');
    });
    expect(seen).to.deep.equal([first.metadata.resourceVersion]);
    expect(store.txns - txnsBefore).to.equal(1);
    expect(objects.peekHeld(key('a'))?.obj.metadata.resourceVersion).to.equal(second.metadata.resourceVersion);

    // An update that names this server's newest version is no conflict, though the cache is older.
    const third = await objects.update('ns', 'a', (cur) => withData(cur, 'three'), second.metadata.resourceVersion);
    expect(spec(third)!.data).to.equal('three');

    await objects.delete('ns', 'a');
    expect(objects.cache.peek(key('a'))).to.not.equal(undefined);
    expect(objects.peekHeld(key('a'))).to.equal(undefined);
    expect(objects.peekFresh(key('a'))).to.equal(undefined);
    expect(await rejection(objects.update('ns', 'a', (cur) => cur))).to.be.instanceOf(NotFoundError);

    store.release();
    await until(() => objects.cache.peek(key('a')) === undefined, 'the cache to apply the delete');
    expect(objects.peekFresh(key('a'))).to.equal(undefined);
  });

  it('creates wait while the watch cache lags the limit behind this server\'s commits, go on once it catches up, and get 429 when it stays behind', async () => {
    const waits: string[] = [];
    const lagged = new ResourceStore(store, { ...id, resource: 'laggards' }, log, {
      watchCacheCapacity: 1_000,
      maxCacheLag: 3,
      cacheLagWaitMs: 1_500,
      onCreateWait: (outcome) => waits.push(outcome),
    });
    const lkey = (name: string) => lagged.key('ns', name);
    try {
      await lagged.cache.ready();
      store.hold();
      const revisionBefore = lagged.cacheRevision;
      for (const name of ['a', 'b', 'c']) await lagged.create(thing(name, name));
      expect(lagged.cacheLag).to.equal(3);
      expect(lagged.cacheRevision).to.equal(revisionBefore);
      // Three commits the cache has not applied: the fourth write waits, unsent.
      let settled = false;
      const fourth = lagged.create(thing('d', 'd')).finally(() => (settled = true));
      await new Promise((r) => setTimeout(r, 300));
      expect(settled).to.equal(false);
      expect(await store.get(lkey('d'))).to.equal(undefined);
      store.release();
      expect(spec(await fourth)!.data).to.equal('d');
      expect(waits).to.deep.equal(['waited']);

      // A cache that applies nothing for the whole wait: 429, and nothing written.
      await until(() => lagged.cache.peek(lkey('d')) !== undefined, 'the cache to catch up');
      expect(lagged.cacheLag).to.equal(0);
      expect(lagged.cacheRevision).to.be.greaterThan(revisionBefore);
      store.hold();
      for (const name of ['e', 'f', 'g']) await lagged.create(thing(name, name));
      const refused = await rejection(lagged.create(thing('h', 'h')));
      expect(refused).to.be.instanceOf(TooManyRequestsError);
      expect((refused as TooManyRequestsError).retryAfterSeconds).to.equal(1);
      expect(String(refused)).to.contain('laggards watch cache is 3 writes behind');
      expect(waits).to.deep.equal(['waited', 'refused']);
      expect(await store.get(lkey('h'))).to.equal(undefined);
      // Updates and deletes work the backlog down: never held back, nor are reads.
      expect(spec(await lagged.update('ns', 'a', (cur) => withData(cur, 'later')))!.data).to.equal('later');
      await lagged.delete('ns', 'b');
      expect(spec(await lagged.get('ns', 'g'))!.data).to.equal('g');
      expect(waits).to.have.length(2);
    } finally {
      store.release();
      lagged.cache.stop();
    }
  });

  it('never refuses on a stale cache: preconditions, mutators, delete checks and absence are confirmed against the store', async () => {
    const other = await replica();
    const created = await objects.create(thing('s', 'old'));
    await until(() => cachedRv('s') === created.metadata.resourceVersion, 's in the cache');
    store.hold();
    // Another server changes it and creates another object; this server's cache sees neither.
    const moved = await other.update('ns', 's', (cur) => withData(cur, 'new'));
    await other.create(thing('t', 'elsewhere'));

    // The cache says `created`: a precondition naming the newer version is not a conflict…
    const a = await objects.update('ns', 's', (cur) => withData(cur, 'a'), moved.metadata.resourceVersion);
    expect(spec(a)!.data).to.equal('a');
    // …and one naming the cached (now old) version is.
    expect(await rejection(objects.update('ns', 's', (cur) => withData(cur, 'stale'), created.metadata.resourceVersion))).to.be.instanceOf(ConflictError);

    // A mutator that refuses what the cache shows is asked again with the store's state.
    await other.update('ns', 's', (cur) => withData(cur, 'ready'));
    const b = await objects.update('ns', 's', (cur) => {
      if (spec(cur)!.data !== 'ready') throw new ConflictError('not ready');
      return withData(cur, 'b');
    });
    expect(spec(b)!.data).to.equal('b');

    // An object the cache does not have is no 404.
    const t = await objects.update('ns', 't', (cur) => withData(cur, 'here'));
    expect(spec(t)!.data).to.equal('here');
    await other.update('ns', 't', (cur) => withData(cur, 'deletable'));
    const last = await objects.delete('ns', 't', (cur) => {
      if (spec(cur)!.data !== 'deletable') throw new ConflictError('not deletable');
    });
    expect(spec(last)!.data).to.equal('deletable');
    expect(await rejection(objects.delete('ns', 'missing'))).to.be.instanceOf(NotFoundError);
    expect(await rejection(objects.update('ns', 'missing', (cur) => cur))).to.be.instanceOf(NotFoundError);
  });

  it('dry runs run the mutator and the hooks and write nothing', async () => {
    const hookSaw: string[] = [];
    objects.addWriteHook(async (prev, next) => {
      hookSaw.push(`${spec(prev)?.data ?? '-'}>${spec(next)?.data ?? '-'}`);
      return { compares: [], ops: [{ type: 'put', key: '/side/dry', value: 'x' }] };
    });
    await objects.create(thing('d', 'one'));
    hookSaw.length = 0;
    const before = await store.currentRevision();
    const created = await objects.create(thing('e', 'new'), { dryRun: true });
    expect(spec(created)!.data).to.equal('new');
    const updated = await objects.update('ns', 'd', (cur) => withData(cur, 'two'), undefined, { dryRun: true });
    expect(spec(updated)!.data).to.equal('two');
    const deleted = await objects.delete('ns', 'd', undefined, { dryRun: true });
    expect(spec(deleted)!.data).to.equal('one');
    expect(await rejection(objects.create(thing('d', 'again'), { dryRun: true }))).to.be.instanceOf(AlreadyExistsError);
    expect(hookSaw).to.deep.equal(['->new', 'one>two', 'one>-']);
    expect(await store.currentRevision()).to.equal(before);
    expect(spec(await objects.get('ns', 'd'))!.data).to.equal('one');
  });

  it('an object too large for one etcd request is 422, one just under the limit is written', async () => {
    const big = await rejection(objects.create(thing('big', 'x'.repeat(1_600_000))));
    expect(big).to.be.instanceOf(TxnTooLargeError);
    expect((big as TxnTooLargeError).code).to.equal(422);
    // Past the guarded-transaction core's margin for many-object writes, within etcd's limit.
    const near = await objects.create(thing('near', 'x'.repeat(1_530_000)));
    expect(spec(near)!.data.length).to.equal(1_530_000);
  });
});
