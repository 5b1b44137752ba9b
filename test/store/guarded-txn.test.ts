// The guarded-transaction core on its own, against real etcd: refusals decided on cached state are
// confirmed on the store's, puts, deletes and a caller's extra ops commit in one transaction at one
// revision, a lost race is decided again up to the attempt bound, and a byte bound sends nothing.
import { expect } from 'chai';
import { GuardedTransactions, type Decision, type Reading, type Snapshot } from '../../apiserver/registry/guarded-txn.js';
import { LANDING_WAIT_MS } from '../../apiserver/registry/in-flight-writes.js';
import type { KubeObject } from '../../apiserver/registry/object.js';
import { ResourceStore } from '../../apiserver/registry/resource-store.js';
import { EtcdStore } from '../../apiserver/storage/etcd.js';
import { revisionOf } from '../../apiserver/storage/resource-version.js';
import { ConflictError, UnavailableError } from '../../shared/errors.js';
import { createLogger } from '../../shared/logging.js';
import { HeldWatchStore } from './held-watch-store.js';
import { etcdEndpoints, randomPrefix, until } from './helpers.js';

const id = { group: '', kind: 'ConfigThing', resource: 'things', namespaced: true };

function thing(name: string, data: string): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigThing', metadata: { name, namespace: 'ns' }, spec: { data } } as KubeObject;
}

const data = (obj: KubeObject | undefined) => (obj as (KubeObject & { spec: { data: string } }) | undefined)?.spec.data;

describe('guarded transactions (etcd)', function () {
  this.timeout(30_000);
  let raw: EtcdStore;
  let store: HeldWatchStore;
  let objects: ResourceStore;
  let txns: GuardedTransactions;
  const key = (name: string) => objects.key('ns', name);
  const slot = (name: string) => ({ objects, key: key(name) });

  beforeEach(async () => {
    raw = new EtcdStore({ endpoints: etcdEndpoints(), prefix: randomPrefix() });
    store = new HeldWatchStore(raw);
    objects = new ResourceStore(store, id, createLogger('test', 'error'), { watchCacheCapacity: 1_000 });
    await objects.cache.ready();
    txns = new GuardedTransactions(store);
  });
  afterEach(async () => {
    store.release();
    objects.cache.stop();
    await store.close();
  });

  /** Puts `name` as another writer would (past this server's bookkeeping and the store's counters). */
  async function putElsewhere(name: string, value: string): Promise<void> {
    await raw.txn({ compares: [], success: [{ type: 'put', key: key(name), value: objects.encode(thing(name, value)) }] });
  }

  async function cachedAfter(name: string, value: string): Promise<void> {
    await putElsewhere(name, value);
    await until(() => data(objects.cache.peek(key(name))) === value, `${name}=${value} in the cache`);
  }

  it('a refusal decided on cached state is decided again on the store\'s; there it is the answer', async () => {
    await cachedAfter('a', 'waiting');
    store.hold();
    await putElsewhere('a', 'ready');
    const readings: Reading[] = [];
    const outcome = await txns.run([slot('a')], (state, reading): Decision<string> => {
      readings.push(reading);
      const a = state.get(key('a'))!.obj;
      if (data(a) !== 'ready') return { writes: [], refused: true, finish: () => 'refused' };
      return { writes: [{ objects, key: key('a'), obj: thing('a', 'done') }], refused: false, finish: (v) => `written at ${v?.[0]}` };
    });
    expect(readings).to.deep.equal([{ fresh: false, retry: false }, { fresh: true, retry: false }]);
    expect(outcome.kind === 'done' && outcome.result.startsWith('written at')).to.equal(true);
    expect(data(objects.decode((await store.get(key('a')))!.value, 0))).to.equal('done');

    // A thrown refusal: asked twice (cached, then the store's), then thrown.
    let asked = 0;
    let thrown: unknown;
    try {
      await txns.run([slot('a')], () => {
        asked++;
        throw new ConflictError('no');
      });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).to.be.instanceOf(ConflictError);
    expect(asked).to.equal(2);
  });

  it('puts, deletes and the caller\'s extra ops commit in one transaction; the overlay has them before the cache', async () => {
    await cachedAfter('keep', 'old');
    await cachedAfter('drop', 'old');
    store.hold();
    const outcome = await txns.run([slot('keep'), slot('drop')], (state: Snapshot): Decision<readonly number[] | undefined> => ({
      writes: [
        { objects, key: key('keep'), obj: { ...state.get(key('keep'))!.obj, spec: { data: 'new' } } as KubeObject },
        { objects, key: key('drop'), obj: undefined },
      ],
      also: { compares: [{ key: '/side', modRevision: 0 }], ops: [{ type: 'put', key: '/side', value: 'with them' }] },
      refused: false,
      finish: (versions) => versions,
    }));
    expect(outcome.kind).to.equal('done');
    const versions = outcome.kind === 'done' ? outcome.result! : [];
    expect(versions).to.have.length(2);
    expect(versions[0]).to.not.equal(versions[1]); // one resourceVersion per write
    const side = (await store.get('/side'))!;
    expect(revisionOf(versions[0]!)).to.equal(side.modRevision);
    expect(revisionOf(versions[1]!)).to.equal(side.modRevision);
    expect(await store.get(key('drop'))).to.equal(undefined);
    // The cache is held back: this server still knows what it wrote.
    expect(data(objects.cache.peek(key('keep')))).to.equal('old');
    expect(data(objects.peekHeld(key('keep'))?.obj)).to.equal('new');
    expect(objects.cache.peek(key('drop'))).to.not.equal(undefined);
    expect(objects.peekHeld(key('drop'))).to.equal(undefined);
  });

  it('decides again on what a failed transaction read, and gives up after maxAttempts', async () => {
    await cachedAfter('hot', '0');
    let elsewhere = 0;
    const moveFirst = () =>
      store.beforeNextTxn(
        (req) => req.success.some((op) => op.key === key('hot') && op.type === 'put'),
        () => putElsewhere('hot', `elsewhere ${++elsewhere}`),
      );
    for (let i = 0; i < 3; i++) moveFirst();
    const seen: string[] = [];
    let retries = 0;
    const outcome = await txns.run(
      [slot('hot')],
      (state) => {
        seen.push(data(state.get(key('hot'))?.obj) ?? '-');
        return { writes: [{ objects, key: key('hot'), obj: thing('hot', 'mine') }], refused: false, finish: () => 'mine' };
      },
      { maxAttempts: 3, onRetry: () => retries++ },
    );
    expect(outcome).to.deep.equal({ kind: 'gaveUp', attempts: 3 });
    expect(retries).to.equal(2);
    // Each decision after the first saw the other writer's state, read by the failed transaction.
    expect(seen).to.deep.equal(['0', 'elsewhere 1', 'elsewhere 2']);
    expect(data(objects.decode((await store.get(key('hot')))!.value, 0))).to.equal('elsewhere 3');
  });

  it('sends nothing past maxBytes, and a dry run reads the store and sends nothing', async () => {
    const before = store.txns;
    const big = await txns.run([slot('big')], () => ({ writes: [{ objects, key: key('big'), obj: thing('big', 'x'.repeat(2_000)) }], refused: false, finish: () => 'sent' }), {
      maxBytes: 1_000,
    });
    expect(big.kind).to.equal('tooLarge');
    expect(store.txns).to.equal(before);

    await cachedAfter('d', 'stored');
    const readings: Reading[] = [];
    const dry = await txns.run(
      [slot('d')],
      (state, reading) => {
        readings.push(reading);
        return { writes: [{ objects, key: key('d'), obj: thing('d', `after ${data(state.get(key('d'))?.obj)}`) }], refused: false, finish: (v) => v };
      },
      { dryRun: true },
    );
    expect(dry).to.deep.equal({ kind: 'done', result: undefined });
    expect(readings).to.deep.equal([{ fresh: true, retry: false }]);
    expect(store.txns).to.equal(before);
    expect(await store.get(key('big'))).to.equal(undefined);
    expect(data(objects.decode((await store.get(key('d')))!.value, 0))).to.equal('stored');
  });

  it('a write decided while this server has one on its way to the same key waits for it, and is not retried', async () => {
    await cachedAfter('counter', '0');
    // The cache is held back: only this server's own-write overlay shows the increments.
    store.hold();
    let retries = 0;
    const seen: string[] = [];
    const increment = () =>
      txns.run(
        [slot('counter')],
        (state) => {
          const n = Number(data(state.get(key('counter'))?.obj));
          seen.push(String(n));
          return { writes: [{ objects, key: key('counter'), obj: thing('counter', String(n + 1)) }], refused: false, finish: () => n + 1 };
        },
        { onRetry: () => retries++ },
      );
    // Twenty at once on one key: without waiting, all but the first would decide on "0" and retry.
    const before = store.txns;
    const results = await Promise.all(Array.from({ length: 20 }, increment));
    expect(results.map((r) => (r.kind === 'done' ? r.result : -1)).sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(retries).to.equal(0);
    // Decisions taken while another write was on its way were taken again, never sent.
    expect(store.txns - before).to.equal(20);
    expect(new Set(seen)).to.deep.equal(new Set(Array.from({ length: 20 }, (_, i) => String(i))));
    expect(data(objects.decode((await store.get(key('counter')))!.value, 0))).to.equal('20');
    expect(objects.inFlight.size).to.equal(0);
  });

  it('a write that does not commit, or whose store call fails, lets the waiting ones go', async () => {
    await cachedAfter('x', '0');
    store.beforeNextTxn(
      (req) => req.success.some((op) => op.key === key('x')),
      () => Promise.reject(new UnavailableError('etcd unavailable: injected')),
    );
    const failing = txns.run([slot('x')], () => ({ writes: [{ objects, key: key('x'), obj: thing('x', 'a') }], refused: false, finish: () => 'a' }));
    const waiting = txns.run([slot('x')], () => ({ writes: [{ objects, key: key('x'), obj: thing('x', 'b') }], refused: false, finish: () => 'b' }));
    let error: unknown;
    await failing.catch((err: unknown) => (error = err));
    expect(error).to.be.instanceOf(UnavailableError);
    expect(await waiting).to.deep.equal({ kind: 'done', result: 'b' });

    await cachedAfter('w', '0');
    // The first write loses a race to another writer (not committed); the second decides after it.
    store.beforeNextTxn((req) => req.success.some((op) => op.key === key('w')), () => putElsewhere('w', 'elsewhere'));
    const first = txns.run([slot('w')], (state) => ({ writes: [{ objects, key: key('w'), obj: thing('w', `${data(state.get(key('w'))?.obj)}+a`) }], refused: false, finish: () => 'a' }), {
      maxAttempts: 1,
    });
    const second = txns.run([slot('w')], (state) => ({ writes: [{ objects, key: key('w'), obj: thing('w', `${data(state.get(key('w'))?.obj)}+b`) }], refused: false, finish: () => 'b' }));
    expect(await first).to.deep.equal({ kind: 'gaveUp', attempts: 1 });
    expect(await second).to.deep.equal({ kind: 'done', result: 'b' });
    expect(data(objects.decode((await store.get(key('w')))!.value, 0))).to.equal('elsewhere+b');
    expect(objects.inFlight.size).to.equal(0);
  });

  it('waits at most LANDING_WAIT_MS: another write to the key made inside a write\'s store call goes ahead', async () => {
    await cachedAfter('n', '0');
    const write = (value: string, maxAttempts?: number) =>
      txns.run([slot('n')], () => ({ writes: [{ objects, key: key('n'), obj: thing('n', value) }], refused: false, finish: () => value }), maxAttempts ? { maxAttempts } : {});
    // The outer write's transaction is sent only after the inner write is done: were the inner
    // one to wait for the outer to land, neither would ever finish.
    let inner: Awaited<ReturnType<typeof write>> | undefined;
    let innerMs = 0;
    store.beforeNextTxn(
      (req) => req.success.some((op) => op.key === key('n')),
      async () => {
        const t0 = Date.now();
        inner = await write('inner');
        innerMs = Date.now() - t0;
      },
    );
    const outer = await write('outer', 1);
    expect(inner).to.deep.equal({ kind: 'done', result: 'inner' });
    expect(innerMs).to.be.at.least(LANDING_WAIT_MS - 5);
    // The inner write moved the key: the outer's compare failed.
    expect(outer).to.deep.equal({ kind: 'gaveUp', attempts: 1 });
    expect(data(objects.decode((await store.get(key('n')))!.value, 0))).to.equal('inner');
    expect(objects.inFlight.size).to.equal(0);
  });
});
