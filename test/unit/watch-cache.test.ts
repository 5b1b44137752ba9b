// The watch cache holds stored strings and decodes on demand: one decode per event however many
// watchers get it, the object before a change decoded only for selectors, a bounded cache of
// decoded objects that a list does not flush, and replays and selector transitions as before.
import { expect } from 'chai';
import { WatchCache, type WatchedObject, type WatcherSink, type WatchFilter } from '../../apiserver/registry/watch-cache.js';
import type { KubeObject } from '../../apiserver/registry/object.js';
import { versionAfter } from '../../apiserver/storage/resource-version.js';
import { MemoryStore } from '../../apiserver/storage/memory.js';
import { cachesFrozen } from '../../shared/cache-mutation-guard.js';
import { CompactedError, type CellError } from '../../shared/errors.js';
import { createLogger } from '../../shared/logging.js';
import { seededRandom } from '../../shared/seeded-random.js';
import { until } from '../store/helpers.js';

type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** Records what it is sent; an event's object is decoded when the test reads it. */
class Sink implements WatcherSink {
  readonly events: { type: EventType; watched: WatchedObject; readonly object: KubeObject }[] = [];
  closedWith: CellError | undefined;
  send(type: EventType, watched: WatchedObject): boolean {
    this.events.push({
      type,
      watched,
      get object() {
        return watched.object();
      },
    });
    return true;
  }
  bookmark(): void {}
  close(err?: CellError): void {
    this.closedWith = err;
  }
}

function thing(name: string, labels: Record<string, string> = {}, data = 'x'): string {
  return JSON.stringify({ apiVersion: 'v1', kind: 'Thing', metadata: { name, namespace: 'ns', labels }, spec: { data } });
}

const key = (name: string) => `/things/ns/${name}`;
const all: WatchFilter = { keyPrefix: '/things/' };
const web: WatchFilter = { keyPrefix: '/things/', matches: (o) => o.metadata.labels?.app === 'web' };

describe('watch cache: stored strings, decoded on demand', () => {
  let store: MemoryStore;
  let cache: WatchCache;
  /** Every decode, as `name@resourceVersion`. */
  let decodes: string[];
  const decodesOf = (name: string, version: number) => decodes.filter((d) => d === `${name}@${version}`).length;

  function start(decodedCapacity: number, capacityBytes?: number): Promise<void> {
    cache = new WatchCache(store, '/things/', createLogger('test', 'error'), {
      capacity: 100,
      decodedCapacity,
      ...(capacityBytes !== undefined ? { capacityBytes } : {}),
      decode: (_key, value, version) => {
        const obj = JSON.parse(value) as KubeObject;
        obj.metadata.resourceVersion = String(version);
        decodes.push(`${obj.metadata.name}@${version}`);
        return obj;
      },
    });
    return cache.ready();
  }

  /** Writes `value` at `name` (create or update); its resourceVersion once the cache has applied it. */
  async function put(name: string, value: string): Promise<number> {
    const cur = await store.get(key(name));
    const sv = cur ? await store.update(key(name), value, cur.modRevision) : await store.create(key(name), value);
    await until(() => cache.currentRevision >= sv.modRevision, `the cache at ${sv.modRevision}`);
    return sv.version;
  }

  async function remove(name: string): Promise<void> {
    const rev = await store.delete(key(name));
    await until(() => cache.currentRevision >= rev, `the cache at ${rev}`);
  }

  beforeEach(() => {
    store = new MemoryStore();
    decodes = [];
  });
  afterEach(async () => {
    cache.stop();
    await store.close();
  });

  it('decodes an event once for all its watchers, who share the one object', async () => {
    await start(16);
    const sinks = [new Sink(), new Sink(), new Sink(), new Sink()];
    for (const [i, s] of sinks.entries()) await cache.watch(undefined, i % 2 === 0 ? all : web, s);
    const v1 = await put('a', thing('a', { app: 'web' }, '1'));
    const v2 = await put('a', thing('a', { app: 'web' }, '2'));
    for (const s of sinks) expect(s.events.map((e) => e.type)).to.deep.equal(['ADDED', 'MODIFIED']);
    for (const i of [0, 1]) {
      const first = sinks[0]!.events[i]!.object;
      for (const s of sinks) expect(s.events[i]!.object).to.equal(first);
    }
    expect(sinks[0]!.events[1]!.object.metadata.resourceVersion).to.equal(String(v2));
    expect(decodesOf('a', v1)).to.equal(1);
    expect(decodesOf('a', v2)).to.equal(1);
    // The cache's own reads share it too.
    expect(cache.peek(key('a'))).to.equal(sinks[0]!.events[1]!.object);
    expect(decodesOf('a', v2)).to.equal(1);
  });

  it('does not decode the object before a change for watchers without a selector', async () => {
    await start(1);
    const everything = new Sink();
    await cache.watch(undefined, all, everything);
    const v1 = await put('a', thing('a', { app: 'web' }, '1'));
    await put('b', thing('b')); // pushes a@v1 out of the decoded cache (room for one)
    await put('a', thing('a', { app: 'web' }, '2'));
    expect(everything.events.map((e) => `${e.type} ${e.object.metadata.name}`)).to.deep.equal(['ADDED a', 'ADDED b', 'MODIFIED a']);
    expect(decodesOf('a', v1)).to.equal(1);

    // A selector needs the object before the change: decoded (once) when it is not at hand.
    const selective = new Sink();
    await cache.watch(undefined, web, selective);
    await put('b', thing('b', {}, '2')); // a is out of the decoded cache again
    const v3 = await put('a', thing('a', { app: 'db' }, '3'));
    expect(selective.events.map((e) => `${e.type} ${e.object.metadata.name}`)).to.deep.equal(['ADDED a', 'DELETED a']);
    expect(selective.events[1]!.object.metadata.resourceVersion).to.equal(String(v3));
  });

  it('sends watchers without a selector the stored form, decoding nothing they do not ask for', async () => {
    await start(16);
    const forwarders = [new Sink(), new Sink()];
    for (const s of forwarders) await cache.watch(undefined, all, s);
    const v1 = await put('a', thing('a', {}, '1'));
    const v2 = await put('a', thing('a', {}, '2'));
    await remove('a');
    for (const s of forwarders) expect(s.events.map((e) => e.type)).to.deep.equal(['ADDED', 'MODIFIED', 'DELETED']);
    expect(decodes).to.deep.equal([]);
    // One WatchedObject per event for every watcher (a JSON line is made once for all of them).
    for (const i of [0, 1, 2]) expect(forwarders[1]!.events[i]!.watched).to.equal(forwarders[0]!.events[i]!.watched);
    const [added, modified, deleted] = forwarders[0]!.events.map((e) => e.watched.stored);
    expect(added).to.deep.equal({ value: thing('a', {}, '1'), version: v1 });
    expect(modified).to.deep.equal({ value: thing('a', {}, '2'), version: v2 });
    // A delete is sent as the last state, at the delete's own version.
    expect(deleted!.value).to.equal(thing('a', {}, '2'));
    expect(deleted!.version).to.be.greaterThan(v2);
    // Asked for, the object is decoded once, and matches the stored form.
    const obj = forwarders[1]!.events[1]!.object;
    expect(forwarders[0]!.events[1]!.object).to.equal(obj);
    expect(decodes).to.deep.equal([`a@${v2}`]);
    expect(obj.metadata.resourceVersion).to.equal(String(v2));
    expect(forwarders[0]!.events[2]!.object.metadata.resourceVersion).to.equal(String(deleted!.version));

    // A catch-up (watch from now, current state first) is lazy too.
    await put('b', thing('b'));
    decodes = [];
    const late = new Sink();
    await cache.watch(undefined, all, late);
    expect(late.events.map((e) => e.watched.stored.value)).to.deep.equal([thing('b')]);
    expect(decodes).to.deep.equal([]);
  });

  it('keeps a bounded number of decoded objects, and re-decodes an evicted one equal, at its resourceVersion', async () => {
    await start(8);
    const versions = new Map<string, number>();
    // A watcher that reads every object (as an in-process reader does) fills the decoded cache.
    const reader = new Sink();
    const send = reader.send.bind(reader);
    reader.send = (type, watched) => {
      watched.object();
      return send(type, watched);
    };
    await cache.watch(undefined, all, reader);
    for (let i = 0; i < 40; i++) versions.set(`o${i}`, await put(`o${i}`, thing(`o${i}`, {}, String(i))));
    expect(cache.decodedCount).to.equal(8);
    const v2 = await put('o0', thing('o0', { moved: 'yes' }, 'again'));
    const first = cache.peek(key('o0'))!;
    for (let i = 1; i < 40; i++) {
      const obj = cache.peek(key(`o${i}`))!;
      expect(obj.metadata.resourceVersion).to.equal(String(versions.get(`o${i}`)));
      expect(cache.decodedCount).to.be.at.most(8);
    }
    const decodedBefore = decodesOf('o0', v2);
    const again = cache.peek(key('o0'))!;
    expect(decodesOf('o0', v2)).to.equal(decodedBefore + 1); // it had been evicted
    expect(again).to.not.equal(first);
    expect(again).to.deep.equal(first);
    expect(again.metadata.resourceVersion).to.equal(String(v2));
    expect(again.metadata.labels).to.deep.equal({ moved: 'yes' });
    if (cachesFrozen()) expect(Object.isFrozen(again.spec)).to.equal(true);
  });

  it('lists on demand, in key order, without flushing the decoded cache', async () => {
    await start(4);
    for (const n of ['c', 'a', 'd', 'b', 'e', 'f']) await put(n, thing(n));
    const hot = cache.peek(key('f'))!;
    const { items } = await cache.list('/things/ns/');
    expect(items.map((o) => o.metadata.name)).to.deep.equal(['a', 'b', 'c', 'd', 'e', 'f']);
    expect(items[5]).to.equal(hot); // a hit is shared
    expect(cache.decodedCount).to.equal(1); // the misses are not kept
    expect(cache.peek(key('f'))).to.equal(hot);
  });

  it('turns selector transitions into ADDED/DELETED, live and in a replay from the window', async () => {
    await start(2);
    await put('other', thing('other'));
    const from = versionAfter(cache.currentRevision);
    const live = new Sink();
    await cache.watch(undefined, web, live);
    const v1 = await put('x', thing('x', { app: 'web' }, '1'));
    const v2 = await put('x', thing('x', { app: 'db' }, '2')); // leaves the selection
    await put('y', thing('y', { app: 'db' })); // never in it
    const v3 = await put('x', thing('x', { app: 'web' }, '3')); // back in
    const v4 = await put('x', thing('x', { app: 'web' }, '4'));
    await remove('x');
    const want = [
      ['ADDED', v1, 'web'],
      ['DELETED', v2, 'db'],
      ['ADDED', v3, 'web'],
      ['MODIFIED', v4, 'web'],
      ['DELETED', undefined, 'web'],
    ];
    const seen = (s: Sink) => s.events.map((e) => [e.type, Number(e.object.metadata.resourceVersion), e.object.metadata.labels?.app]);
    const liveSeen = seen(live);
    expect(liveSeen.slice(0, 4)).to.deep.equal(want.slice(0, 4));
    expect(liveSeen[4]![0]).to.equal('DELETED');
    expect(liveSeen[4]![1]).to.be.greaterThan(v4);

    const decodedBefore = decodes.length;
    const replay = new Sink();
    await cache.watch(from, web, replay);
    expect(seen(replay)).to.deep.equal(liveSeen);
    for (const [i, e] of replay.events.entries()) {
      expect(e.object).to.deep.equal(live.events[i]!.object);
    }
    // The window kept strings, not the objects it delivered: the replay decoded again.
    expect(decodes.length).to.be.greaterThan(decodedBefore);

    // Without a selector the same history is ADDED, MODIFIED…, DELETED.
    const plain = new Sink();
    await cache.watch(from, all, plain);
    expect(plain.events.map((e) => `${e.type} ${e.object.metadata.name}`)).to.deep.equal([
      'ADDED x', 'MODIFIED x', 'ADDED y', 'MODIFIED x', 'MODIFIED x', 'DELETED x',
    ]);
  });

  it('offers a watcher filed under a field value only its events, exactly what testing every event would send', async () => {
    await start(8);
    const random = seededRandom(7);
    const nodes = ['', 'n1', 'n2', 'n3', 'n4'];
    const nodeOf = (o: KubeObject) => o.metadata.labels?.node ?? '';
    let filedTests = 0;
    let twinTests = 0;
    /** A filed watcher counting its selector tests, and its twin without the filing. */
    const pair = (value: string, tier?: string) => {
      const test = (o: KubeObject) => nodeOf(o) === value && (tier === undefined || o.metadata.labels?.tier === tier);
      const filed: WatchFilter = {
        keyPrefix: '/things/',
        matches: (o) => (filedTests++, test(o)),
        exact: { field: 'metadata.labels.node', value, valueOf: nodeOf },
      };
      const twin: WatchFilter = { keyPrefix: '/things/', matches: (o) => (twinTests++, test(o)) };
      return { value, filed: new Sink(), twin: new Sink(), filedFilter: filed, twinFilter: twin };
    };
    const pairs = [...nodes.map((n) => pair(n)), pair('n2', 'a'), pair('n9')];
    for (const p of pairs) {
      await cache.watch(undefined, p.filedFilter, p.filed);
      await cache.watch(undefined, p.twinFilter, p.twin);
    }
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
    const live = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const name = `t${Math.floor(random() * 12)}`;
      if (live.has(name) && random() < 0.15) {
        await remove(name);
        live.delete(name);
      } else {
        await put(name, thing(name, { node: pick(nodes), tier: pick(['a', 'b']) }, String(i)));
        live.add(name);
      }
    }
    const seen = (s: Sink) => s.events.map((e) => `${e.type} ${e.watched.stored.version} ${e.object.metadata.name}`);
    let delivered = 0;
    for (const p of pairs) {
      expect(seen(p.filed), `${p.value}`).to.deep.equal(seen(p.twin));
      delivered += p.filed.events.length;
    }
    expect(delivered).to.be.above(100);
    // Nothing ever had node n9: its watcher was never asked. The others were asked about their events only.
    expect(pairs.at(-1)!.filed.events).to.have.length(0);
    expect(filedTests).to.be.below(twinTests / 2);
  });

  it('a full window, sliding over many batches, replays exactly the events after any version inside it', async () => {
    await start(4);
    const versions: number[] = [];
    // 100 events fit the window: 350 writes slide it past its whole length three times over.
    for (let i = 0; i < 350; i++) versions.push(await put(`t${i % 7}`, thing(`t${i % 7}`, {}, `w${i}`)));
    await store.compact(await store.currentRevision());
    for (const from of [versions.length - 100, versions.length - 57, versions.length - 2, versions.length - 1]) {
      const replay = new Sink();
      await cache.watch(versions[from]!, all, replay);
      expect(replay.events.map((e) => (e.object.spec as { data: string }).data)).to.deep.equal(
        versions.slice(from + 1).map((_v, i) => `w${from + 1 + i}`),
      );
      expect(replay.closedWith).to.equal(undefined);
    }
    // The event before the window's oldest is gone from memory, and the store compacted it away.
    const tooOld = new Sink();
    await cache.watch(versions[versions.length - 102]!, all, tooOld);
    await until(() => tooOld.closedWith !== undefined, 'the old watch to end');
    expect(tooOld.closedWith).to.be.instanceOf(CompactedError);
  });

  it('bounds the window by its values\' bytes too: older resumes go to the store\'s history', async () => {
    const size = thing('big', {}, 'v00').length;
    await start(4, size * 3);
    await put('first', thing('first'));
    const old = versionAfter(cache.currentRevision);
    for (let i = 1; i <= 6; i++) await put('big', thing('big', {}, `v${String(i).padStart(2, '0')}`));
    const recent = versionAfter(cache.currentRevision - 2); // the last two writes: inside the bytes
    await store.compact(await store.currentRevision());

    const replay = new Sink();
    await cache.watch(recent, all, replay);
    expect(replay.events.map((e) => (e.object.spec as { data: string }).data)).to.deep.equal(['v05', 'v06']);
    expect(replay.closedWith).to.equal(undefined);

    // Six events fit the count (100) but not the bytes: this one is no longer in memory, and the
    // store has compacted it away.
    const tooOld = new Sink();
    await cache.watch(old, all, tooOld);
    await until(() => tooOld.closedWith !== undefined, 'the old watch to end');
    expect(tooOld.closedWith).to.be.instanceOf(CompactedError);
  });
});
