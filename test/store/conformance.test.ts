// One suite, both backends (DESIGN §6): the memory store must behave exactly like etcd, and the
// etcd store must give etcd's guarantees through the Store interface.
import { expect } from 'chai';
import type { Store, StoredValue, WatchEvent } from '../../apiserver/storage/store.js';
import { MAX_REQUEST_BYTES, MAX_TXN_OPS } from '../../apiserver/storage/store.js';
import {
  AlreadyExistsError,
  BadRequestError,
  CompactedError,
  ConflictError,
  NotFoundError,
  TxnTooLargeError,
} from '../../shared/errors.js';
import { backends, pool, record, sleep } from './helpers.js';
import { versionOf } from '../../apiserver/storage/resource-version.js';

async function rejects(p: Promise<unknown>, type: abstract new (...args: never[]) => Error): Promise<Error> {
  try {
    await p;
  } catch (err) {
    expect(err, `expected ${type.name}, got ${String(err)}`).to.be.instanceOf(type);
    return err as Error;
  }
  throw new Error(`expected ${type.name}, but the call succeeded`);
}

/**
 * Asserts that nothing under the store's prefix changed since `since`. Checked with a watch and a
 * marker write rather than by comparing revisions, because other tests may share the etcd.
 */
async function expectNoWritesSince(store: Store, since: number): Promise<void> {
  const rec = record(store, '/', since);
  const marker = await store.create(`/~marker-${Math.random()}`, 'm');
  await rec.until(() => rec.events.some((e) => e.key === marker.key), 'the marker event');
  expect(rec.events.filter((e) => e.modRevision < marker.modRevision).map(brief)).to.deep.equal([]);
  rec.watch.cancel();
}

/** What a watch event says, without optional fields that are absent, for exact comparisons. */
function brief(ev: WatchEvent): string {
  return `${ev.modRevision} ${ev.type} ${ev.key} ${ev.value ?? '-'}`;
}

for (const backend of backends) {
  describe(`store conformance: ${backend.name}`, function () {
    let store: Store;

    beforeEach(function () {
      store = backend.make();
    });

    afterEach(async function () {
      await store.close();
    });

    describe('single-key operations', function () {
      it('create, get, AlreadyExists', async function () {
        expect(await store.get('/pods/default/web')).to.equal(undefined);
        const created = await store.create('/pods/default/web', 'v1');
        expect(created).to.include({ key: '/pods/default/web', value: 'v1' });
        expect(created.modRevision).to.be.greaterThan(0);
        expect(created.createRevision).to.equal(created.modRevision);
        expect(await store.get('/pods/default/web')).to.deep.equal(created);
        await rejects(store.create('/pods/default/web', 'v2'), AlreadyExistsError);
        expect((await store.get('/pods/default/web'))?.value).to.equal('v1');
      });

      it('update guarded by mod revision: success, Conflict, NotFound', async function () {
        const a = await store.create('/k', 'v1');
        const b = await store.update('/k', 'v2', a.modRevision);
        expect(b.value).to.equal('v2');
        expect(b.modRevision).to.be.greaterThan(a.modRevision);
        expect(b.createRevision).to.equal(a.createRevision);
        expect(await store.get('/k')).to.deep.equal(b);
        await rejects(store.update('/k', 'v3', a.modRevision), ConflictError);
        await rejects(store.update('/k', 'v3', 0), ConflictError);
        await rejects(store.update('/missing', 'v', 5), NotFoundError);
        await rejects(store.update('/missing', 'v', 0), NotFoundError);
        expect(await store.get('/missing')).to.equal(undefined);
        expect((await store.get('/k'))?.value).to.equal('v2');
      });

      it('delete, guarded and unguarded', async function () {
        const a = await store.create('/k', 'v1');
        const b = await store.update('/k', 'v2', a.modRevision);
        await rejects(store.delete('/k', a.modRevision), ConflictError);
        expect((await store.get('/k'))?.value).to.equal('v2');
        const rev = await store.delete('/k', b.modRevision);
        expect(rev).to.be.greaterThan(b.modRevision);
        expect(await store.get('/k')).to.equal(undefined);
        await rejects(store.delete('/k'), NotFoundError);
        await rejects(store.delete('/k', b.modRevision), NotFoundError);
        await rejects(store.delete('/k', 0), NotFoundError);
        await store.create('/k2', 'x');
        expect(await store.delete('/k2')).to.be.greaterThan(rev);
        expect(await store.get('/k2')).to.equal(undefined);
        // Re-created: a fresh create revision.
        const c = await store.create('/k', 'v3');
        expect(c.createRevision).to.be.greaterThan(rev);
      });

      it('currentRevision increases with writes', async function () {
        const r0 = await store.currentRevision();
        const a = await store.create('/r', '1');
        expect(a.modRevision).to.be.greaterThan(r0);
        const r1 = await store.currentRevision();
        expect(r1).to.be.at.least(a.modRevision);
        await rejects(store.update('/r', '2', a.modRevision + 1000), ConflictError);
        const b = await store.update('/r', '2', a.modRevision);
        expect(b.modRevision).to.be.greaterThan(r1 - 1);
        expect(await store.currentRevision()).to.be.at.least(b.modRevision);
      });
    });

    describe('txn', function () {
      it('multi-key compare: success writes all keys at one revision, reads see the writes', async function () {
        const pod = await store.create('/pods/ns/p', 'unbound');
        const alloc = await store.create('/allocs/n1', '0');
        const res = await store.txn({
          compares: [
            { key: '/pods/ns/p', modRevision: pod.modRevision },
            { key: '/allocs/n1', modRevision: alloc.modRevision },
            { key: '/events/e1', modRevision: 0 },
          ],
          success: [
            { type: 'put', key: '/pods/ns/p', value: 'bound' },
            { type: 'put', key: '/allocs/n1', value: '1' },
            { type: 'put', key: '/events/e1', value: 'scheduled' },
            { type: 'get', key: '/pods/ns/p' },
          ],
          failure: [{ type: 'get', key: '/pods/ns/p' }],
        });
        expect(res.succeeded).to.equal(true);
        expect(res.revision).to.be.greaterThan(alloc.modRevision);
        expect(res.reads).to.have.length(1);
        expect(res.reads[0]).to.deep.equal({
          key: '/pods/ns/p',
          value: 'bound',
          modRevision: res.revision,
          createRevision: pod.createRevision,
          version: res.versions[0],
        });
        // Each write of the transaction has a resourceVersion of its own, in op order.
        expect(res.versions).to.deep.equal([0, 1, 2, undefined].map((p) => (p === undefined ? p : versionOf(res.revision, p))));
        const [p, a, e] = await Promise.all([store.get('/pods/ns/p'), store.get('/allocs/n1'), store.get('/events/e1')]);
        expect([p?.modRevision, a?.modRevision, e?.modRevision]).to.deep.equal([res.revision, res.revision, res.revision]);
        expect(e?.createRevision).to.equal(res.revision);
      });

      it('multi-key compare: one stale guard fails the txn; failure gets return fresh values', async function () {
        const pod = await store.create('/pods/ns/p', 'unbound');
        const alloc = await store.create('/allocs/n1', '0');
        const alloc2 = await store.update('/allocs/n1', '5', alloc.modRevision); // another scheduler won
        const before = await store.currentRevision();
        const res = await store.txn({
          compares: [
            { key: '/pods/ns/p', modRevision: pod.modRevision },
            { key: '/allocs/n1', modRevision: alloc.modRevision },
          ],
          success: [
            { type: 'put', key: '/pods/ns/p', value: 'bound' },
            { type: 'put', key: '/allocs/n1', value: '1' },
          ],
          failure: [
            { type: 'get', key: '/pods/ns/p' },
            { type: 'get', key: '/allocs/n1' },
            { type: 'get', key: '/absent' },
          ],
        });
        expect(res.succeeded).to.equal(false);
        expect(res.reads).to.deep.equal([pod, alloc2, undefined]);
        expect(res.revision).to.be.at.least(before);
        await expectNoWritesSince(store, before);
        // A guard that the key must not exist fails when it does.
        const res2 = await store.txn({
          compares: [{ key: '/pods/ns/p', modRevision: 0 }],
          success: [{ type: 'put', key: '/pods/ns/p', value: 'x' }],
        });
        expect(res2.succeeded).to.equal(false);
        expect(res2.reads).to.deep.equal([]);
      });

      it('delete in a txn, and deleting nothing does not move the revision', async function () {
        const a = await store.create('/a', '1');
        const before = await store.currentRevision();
        const noop = await store.txn({ compares: [], success: [{ type: 'delete', key: '/nothing' }] });
        expect(noop.succeeded).to.equal(true);
        await expectNoWritesSince(store, before);
        const res = await store.txn({
          compares: [{ key: '/a', modRevision: a.modRevision }],
          success: [{ type: 'delete', key: '/a' }, { type: 'get', key: '/a' }],
        });
        expect(res.succeeded).to.equal(true);
        expect(res.revision).to.be.greaterThan(before);
        expect(res.reads).to.deep.equal([undefined]);
        expect(await store.get('/a')).to.equal(undefined);
      });

      it(`over ${MAX_TXN_OPS} ops → TxnTooLargeError, nothing written; exactly ${MAX_TXN_OPS} is fine`, async function () {
        const before = await store.currentRevision();
        const puts = (n: number, p: string) =>
          Array.from({ length: n }, (_, i) => ({ type: 'put' as const, key: `${p}/${i}`, value: 'x' }));
        const err = await rejects(store.txn({ compares: [], success: puts(MAX_TXN_OPS + 1, '/big') }), TxnTooLargeError);
        expect(err.message).to.match(/128/);
        await rejects(
          store.txn({ compares: [], success: [], failure: puts(MAX_TXN_OPS + 1, '/big') }),
          TxnTooLargeError,
        );
        await rejects(
          store.txn({
            compares: Array.from({ length: MAX_TXN_OPS + 1 }, (_, i) => ({ key: `/c/${i}`, modRevision: 0 })),
            success: [],
          }),
          TxnTooLargeError,
        );
        await expectNoWritesSince(store, before);
        const ok = await store.txn({ compares: [], success: puts(MAX_TXN_OPS, '/big') });
        expect(ok.succeeded).to.equal(true);
        expect((await store.list('/big/')).items).to.have.length(MAX_TXN_OPS);
      });

      it('over 1.5 MiB → TxnTooLargeError, nothing written', async function () {
        const before = await store.currentRevision();
        const chunk = 'x'.repeat(800 * 1024);
        const err = await rejects(
          store.txn({
            compares: [],
            success: [
              { type: 'put', key: '/huge/a', value: chunk },
              { type: 'put', key: '/huge/b', value: chunk },
            ],
          }),
          TxnTooLargeError,
        );
        expect(err.message).to.match(/bytes/);
        await rejects(store.create('/huge/c', 'y'.repeat(MAX_REQUEST_BYTES)), TxnTooLargeError);
        const small = await store.create('/huge/d', 'z');
        await rejects(store.update('/huge/d', 'y'.repeat(MAX_REQUEST_BYTES), small.modRevision), TxnTooLargeError);
        expect((await store.list('/huge/')).items.map((i) => i.key)).to.deep.equal(['/huge/d']);
        await expectNoWritesSince(store, small.modRevision);
        expect(small.modRevision).to.be.greaterThan(before);
        // One large value well under the limit is fine.
        await store.create('/huge/e', 'w'.repeat(1024 * 1024));
      });
    });

    describe('list', function () {
      it('returns keys under a prefix, in key order, and nothing outside it', async function () {
        for (const k of ['/a/2', '/a/10', '/a/1', '/ab/1', '/b/1', '/a', '/a/sub/x']) await store.create(k, k);
        const res = await store.list('/a/');
        expect(res.items.map((i) => i.key)).to.deep.equal(['/a/1', '/a/10', '/a/2', '/a/sub/x']);
        expect(res.items.every((i) => i.value === i.key)).to.equal(true);
        expect(res.more).to.equal(false);
        expect(res.remaining).to.equal(0);
        expect(res.revision).to.equal(await store.currentRevision());
        expect((await store.list('/nothing/')).items).to.deep.equal([]);
        expect((await store.list('/')).items).to.have.length(7);
      });

      it('limit + startKey pages read at the first page revision form one snapshot despite concurrent writes', async function () {
        const keys = Array.from({ length: 50 }, (_, i) => `/p/k${String(i).padStart(3, '0')}`);
        await pool(keys.length, 10, async (i) => {
          await store.create(keys[i] as string, 'v0');
        });
        const first = await store.list('/p/', { limit: 7 });
        expect(first.items).to.have.length(7);
        expect(first.more).to.equal(true);
        expect(first.remaining).to.equal(43);
        const items: StoredValue[] = [...first.items];
        let page = first;
        let n = 0;
        while (page.more) {
          // Someone changes every key, adds keys and deletes keys between our pages.
          const k = keys[n % keys.length] as string;
          const cur = await store.get(k);
          if (cur) await store.update(k, `v${++n}`, cur.modRevision);
          await store.create(`/p/k${100 + n}`, 'new');
          const victim = await store.get(keys[(n * 7) % keys.length] as string);
          if (n % 3 === 0 && victim) await store.delete(victim.key, victim.modRevision);
          const last = items[items.length - 1] as StoredValue;
          page = await store.list('/p/', { revision: first.revision, limit: 7, startKey: `${last.key}\u0000` });
          expect(page.revision).to.equal(first.revision);
          items.push(...page.items);
          n++;
        }
        expect(items.map((i) => i.key)).to.deep.equal(keys);
        expect(items.every((i) => i.value === 'v0')).to.equal(true);
        // And at the current revision the changes are visible.
        const now = await store.list('/p/');
        expect(now.items.length).to.not.equal(50);
        expect(now.items.some((i) => i.value !== 'v0')).to.equal(true);
      });

      it('at an old revision sees old values, including keys deleted since', async function () {
        const a = await store.create('/o/a', '1');
        const b = await store.create('/o/b', 'b1');
        const r = await store.currentRevision();
        const a2 = await store.update('/o/a', '2', a.modRevision);
        await store.delete('/o/b', b.modRevision);
        await store.create('/o/c', 'c1');
        const old = await store.list('/o/', { revision: r });
        expect(old.revision).to.equal(r);
        expect(old.items).to.deep.equal([a, b]);
        const mid = await store.list('/o/', { revision: a2.modRevision });
        expect(mid.items.map((i) => `${i.key}=${i.value}`)).to.deep.equal(['/o/a=2', '/o/b=b1']);
        const cur = await store.list('/o/');
        expect(cur.items.map((i) => `${i.key}=${i.value}`)).to.deep.equal(['/o/a=2', '/o/c=c1']);
      });

      it('revision 0 means current; a future revision → BadRequestError, for list and compact', async function () {
        await store.create('/f/a', '1');
        const cur = await store.currentRevision();
        const zero = await store.list('/f/', { revision: 0 });
        expect(zero.items.map((i) => i.key)).to.deep.equal(['/f/a']);
        expect(zero.revision).to.be.at.least(cur);
        await rejects(store.list('/f/', { revision: cur + 1000 }), BadRequestError);
        await rejects(store.compact(cur + 1000), BadRequestError);
      });

      it('at a compacted revision → CompactedError; the compaction revision itself is readable', async function () {
        const a = await store.create('/c/a', '1');
        await store.update('/c/a', '2', a.modRevision);
        const r = await store.currentRevision();
        await store.compact(r);
        await store.compact(r); // idempotent
        const err = (await rejects(store.list('/c/', { revision: a.modRevision }), CompactedError)) as CompactedError;
        expect(err.compactRevision).to.equal(r);
        expect(err.code).to.equal(410);
        const at = await store.list('/c/', { revision: r });
        expect(at.items.map((i) => i.value)).to.deep.equal(['2']);
      });
    });

    it('a put with ttlSeconds is deleted when it expires (a watched delete); a later put without one keeps the key', async function () {
      this.timeout(20_000);
      const start = await store.currentRevision();
      const rec = record(store, '/ttl/', start);
      await store.txn({ compares: [], success: [{ type: 'put', key: '/ttl/short', value: 's', ttlSeconds: 1 }, { type: 'put', key: '/ttl/kept', value: 'k', ttlSeconds: 1 }, { type: 'put', key: '/ttl/plain', value: 'p' }] });
      // Written again without a ttl: no longer expires.
      const kept = await store.get('/ttl/kept');
      await store.update('/ttl/kept', 'k2', kept!.modRevision);
      await rec.until(() => rec.events.some((e) => e.type === 'delete' && e.key === '/ttl/short'), 'the expiry of /ttl/short', 15_000);
      expect(await store.get('/ttl/short')).to.equal(undefined);
      expect((await store.get('/ttl/kept'))?.value).to.equal('k2');
      expect((await store.get('/ttl/plain'))?.value).to.equal('p');
      expect(rec.events.filter((e) => e.type === 'delete').map((e) => e.key)).to.deep.equal(['/ttl/short']);
      rec.watch.cancel();
    });

    it('16 concurrent writers × 50 read-modify-CAS increments on one key end at exactly 800', async function () {
      this.timeout(60_000);
      await store.create('/counter', '0');
      let conflicts = 0;
      const writer = async () => {
        for (let done = 0; done < 50; ) {
          const cur = await store.get('/counter');
          if (!cur) throw new Error('counter vanished');
          try {
            await store.update('/counter', String(Number(cur.value) + 1), cur.modRevision);
            done++;
          } catch (err) {
            if (!(err instanceof ConflictError)) throw err;
            conflicts++;
          }
        }
      };
      await Promise.all(Array.from({ length: 16 }, writer));
      expect((await store.get('/counter'))?.value).to.equal('800');
      // The writers really did race (otherwise this test proves nothing about CAS).
      expect(conflicts).to.be.greaterThan(0);
    });

    describe('watch', function () {
      it('a watch started before 5,000 writes sees all of them, once, in revision order', async function () {
        this.timeout(60_000);
        const start = await store.currentRevision();
        const rec = record(store, '/w/', start);
        const acked: { rev: number; key: string; value: string }[] = [];
        await pool(5000, 16, async (i) => {
          const key = `/w/${i % 250}`;
          const value = `v${i}`;
          const res = await store.txn({ compares: [], success: [{ type: 'put', key, value }] });
          acked.push({ rev: res.revision, key, value });
        });
        await rec.until(() => rec.events.length >= 5000, '5000 events');
        await sleep(200); // anything extra (a duplicate) would arrive now
        expect(rec.errors).to.deep.equal([]);
        acked.sort((x, y) => x.rev - y.rev);
        expect(rec.events.map(brief)).to.deep.equal(acked.map((a) => `${a.rev} put ${a.key} ${a.value}`));
        rec.watch.cancel();
      });

      it('from a middle revision replays exactly the tail, then goes live', async function () {
        const revs: number[] = [];
        for (let i = 0; i < 20; i++) revs.push((await store.txn({ compares: [], success: [{ type: 'put', key: `/m/${i}`, value: `${i}` }] })).revision);
        const rec = record(store, '/m/', revs[9] as number);
        await rec.until(() => rec.events.length >= 10, 'replay');
        expect(rec.events.map((e) => e.modRevision)).to.deep.equal(revs.slice(10));
        expect(rec.events.map((e) => e.key)).to.deep.equal(Array.from({ length: 10 }, (_, i) => `/m/${i + 10}`));
        const live = await store.create('/m/live', 'L');
        await rec.until(() => rec.events.length >= 11, 'live event');
        expect(rec.events[10]).to.deep.include({ type: 'put', key: '/m/live', value: 'L', modRevision: live.modRevision });
        rec.watch.cancel();
      });

      it('events carry create revision and previous value; deletes carry prevValue', async function () {
        const start = await store.currentRevision();
        const rec = record(store, '/d/', start);
        const a = await store.create('/d/k', 'v1');
        const b = await store.update('/d/k', 'v2', a.modRevision);
        const delRev = await store.delete('/d/k', b.modRevision);
        await rec.until(() => rec.events.length >= 3, 'three events');
        expect(rec.events).to.deep.equal([
          { type: 'put', key: '/d/k', modRevision: a.modRevision, version: a.version, value: 'v1', createRevision: a.modRevision },
          {
            type: 'put',
            key: '/d/k',
            modRevision: b.modRevision,
            version: b.version,
            value: 'v2',
            createRevision: a.modRevision,
            prevValue: 'v1',
            prevModRevision: a.modRevision,
            prevVersion: a.version,
          },
          {
            type: 'delete',
            key: '/d/k',
            modRevision: delRev,
            version: versionOf(delRev, 0),
            prevValue: 'v2',
            prevModRevision: b.modRevision,
            prevVersion: b.version,
          },
        ]);
        rec.watch.cancel();
      });

      it('a watch that asks for no previous values gets none, and otherwise the same events', async function () {
        const start = await store.currentRevision();
        const bare = record(store, '/np/', start, undefined, { prevValues: false });
        const full = record(store, '/np/', start);
        const a = await store.create('/np/k', 'v1');
        const b = await store.update('/np/k', 'v2', a.modRevision);
        await store.delete('/np/k', b.modRevision);
        await bare.until(() => bare.events.length >= 3, 'three events');
        await full.until(() => full.events.length >= 3, 'three events');
        expect(full.events[1]).to.include({ prevValue: 'v1' });
        const withoutPrevious = full.events.map(({ prevValue: _v, prevModRevision: _m, prevVersion: _p, ...rest }) => rest);
        expect(bare.events).to.deep.equal(withoutPrevious);
        bare.watch.cancel();
        full.watch.cancel();
      });

      it('a txn writing several keys arrives as events of one revision, in one batch', async function () {
        const start = await store.currentRevision();
        const rec = record(store, '/t/', start);
        const res = await store.txn({
          compares: [],
          success: [
            { type: 'put', key: '/t/b', value: '1' },
            { type: 'put', key: '/t/a', value: '2' },
          ],
        });
        await rec.until(() => rec.events.length >= 2, 'txn events');
        expect(rec.events.map(brief)).to.deep.equal([`${res.revision} put /t/b 1`, `${res.revision} put /t/a 2`]);
        expect(rec.batches).to.equal(1);
        rec.watch.cancel();
      });

      it('from a compacted revision → onError(CompactedError), no events; from the compaction revision is fine', async function () {
        const start = await store.currentRevision();
        const a = await store.create('/x/a', '1');
        await store.update('/x/a', '2', a.modRevision);
        const b = await store.create('/x/b', '3');
        await store.compact(b.modRevision);
        const rec = record(store, '/x/', start);
        await rec.until(() => rec.errors.length > 0, 'CompactedError');
        expect(rec.events).to.deep.equal([]);
        expect(rec.errors).to.have.length(1);
        const err = rec.errors[0] as CompactedError;
        expect(err).to.be.instanceOf(CompactedError);
        expect(err.compactRevision).to.equal(b.modRevision);
        // Starting exactly at the compaction revision is still allowed (etcd keeps that revision).
        const ok = record(store, '/x/', b.modRevision - 1);
        await ok.until(() => ok.events.length >= 1, 'event at the compaction revision');
        expect(ok.events.map(brief)).to.deep.equal([`${b.modRevision} put /x/b 3`]);
        expect(ok.errors).to.deep.equal([]);
        ok.watch.cancel();
      });

      it('watches on different prefixes are isolated', async function () {
        const start = await store.currentRevision();
        const x = record(store, '/iso/x/', start);
        const xy = record(store, '/iso/xy/', start);
        const all = record(store, '/iso/', start);
        await store.create('/iso/x/1', 'a');
        await store.create('/iso/xy/1', 'b');
        await store.create('/iso/x', 'c');
        await store.create('/other/x/1', 'd');
        await all.until(() => all.events.length >= 3, 'all events');
        await sleep(100);
        expect(x.events.map((e) => e.key)).to.deep.equal(['/iso/x/1']);
        expect(xy.events.map((e) => e.key)).to.deep.equal(['/iso/xy/1']);
        expect(all.events.map((e) => e.key)).to.deep.equal(['/iso/x/1', '/iso/xy/1', '/iso/x']);
        for (const r of [x, xy, all]) r.watch.cancel();
      });

      it('handlers never run inside the writer: delivery is asynchronous', async function () {
        const start = await store.currentRevision();
        let inWriter = false;
        const seenInWriter: boolean[] = [];
        const w = store.watch('/async/', start, {
          onEvents: () => seenInWriter.push(inWriter),
          onError: (err) => {
            throw err;
          },
        });
        for (let i = 0; i < 20; i++) {
          inWriter = true;
          const p = store.create(`/async/${i}`, 'x');
          inWriter = false;
          await p;
        }
        const rec = record(store, '/async/', start);
        await rec.until(() => rec.events.length >= 20, '20 events');
        // The first watch delivers on its own schedule: wait for it too (on a loaded machine it
        // can trail the second one).
        const deadline = Date.now() + 20_000;
        while (seenInWriter.length === 0 && Date.now() < deadline) await sleep(20);
        expect(seenInWriter.length).to.be.greaterThan(0);
        expect(seenInWriter.every((b) => !b)).to.equal(true);
        w.cancel();
        rec.watch.cancel();
      });

      it('a cancelled watch delivers nothing more', async function () {
        const start = await store.currentRevision();
        const rec = record(store, '/cx/', start);
        await store.create('/cx/1', 'a');
        await rec.until(() => rec.events.length >= 1, 'first event');
        rec.watch.cancel();
        await store.create('/cx/2', 'b');
        await sleep(150);
        expect(rec.events.map((e) => e.key)).to.deep.equal(['/cx/1']);
        expect(rec.errors).to.deep.equal([]);
      });
    });
  });
}
