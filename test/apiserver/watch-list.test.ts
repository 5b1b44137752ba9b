// Watch-list (sendInitialEvents) over real HTTP and real etcd: a watch that begins with the state
// as ADDED events, ends it with a bookmark annotated k8s.io/initial-events-end, and goes on with
// the changes after it — every object exactly once under concurrent writers, the state read
// consistently even through another API server replica, and the ListOptions Kubernetes forbids
// answered with its 422s.
import { expect } from 'chai';
import { EtcdStore } from '../../apiserver/storage/etcd.js';
import { startApiServer, type ApiServer } from '../../apiserver/server.js';
import { createLogger } from '../../shared/logging.js';
import { etcdEndpoints, startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { HeldWatchStore } from '../store/held-watch-store.js';
import { causeFields, expectStatus, namespaceBody, raw, WatchCollector, waitFor, type Obj, type RawOptions, type WatchEventView } from './helpers.js';

const WATCH_LIST = 'watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true';
const END_ANNOTATION = 'k8s.io/initial-events-end';

const configMap = (name: string, data: Record<string, string> = {}, labels?: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, ...(labels ? { labels } : {}) },
  data,
});

const isEnd = (e: WatchEventView) => e.type === 'BOOKMARK' && e.object.metadata.annotations?.[END_ANNOTATION] === 'true';

/** The events before the end bookmark, the bookmark, and the events after it. */
function splitAtEnd(events: WatchEventView[]): { initial: WatchEventView[]; end: WatchEventView | undefined; after: WatchEventView[] } {
  const at = events.findIndex(isEnd);
  if (at < 0) return { initial: events, end: undefined, after: [] };
  return { initial: events.slice(0, at), end: events[at], after: events.slice(at + 1) };
}

/**
 * The state a watcher's events build, failing on any event that cannot follow the ones before it:
 * an ADDED for an object it holds (duplicated), a MODIFIED or DELETED for one it does not (missed),
 * or a resourceVersion not above the object's last one (out of order).
 */
function replay(events: WatchEventView[]): Map<string, number> {
  const state = new Map<string, number>();
  for (const e of events) {
    if (e.type === 'BOOKMARK') continue;
    expect(e.type, JSON.stringify(e.object).slice(0, 300)).to.not.equal('ERROR');
    const name = e.object.metadata.name!;
    const rv = Number(e.object.metadata.resourceVersion);
    const had = state.get(name);
    if (e.type === 'ADDED') expect(had, `ADDED ${name} twice`).to.equal(undefined);
    else {
      expect(had, `${e.type} ${name} without its ADDED`).to.not.equal(undefined);
      expect(rv, `${e.type} ${name} at ${rv} after ${had}`).to.be.above(had!);
    }
    if (e.type === 'DELETED') state.delete(name);
    else state.set(name, rv);
  }
  return state;
}

describe('apiserver watch-list: sendInitialEvents (etcd)', function () {
  this.timeout(90_000);
  let t: TestApiServer;
  /** A second replica on the same etcd prefix: its own watch cache, whose events the test can hold back. */
  let replica: ApiServer;
  let lagging: HeldWatchStore;
  const open: WatchCollector[] = [];
  const ok = async <T = Obj>(method: string, path: string, opts?: RawOptions, server: { url: string } = t): Promise<T> => {
    const res = await raw(server.url, method, path, opts);
    expect(res.status, `${method} ${path}: ${res.text.slice(0, 300)}`).to.be.oneOf([200, 201]);
    return res.body as T;
  };
  const watch = async (path: string, server: { url: string } = t): Promise<WatchCollector> => {
    const w = await WatchCollector.open(server.url, path);
    open.push(w);
    expect(w.status).to.equal(200);
    return w;
  };
  const endOf = (w: WatchCollector) => waitFor('the initial-events-end bookmark', () => w.events.find(isEnd), 15_000);
  /** Creates `n` ConfigMaps named `${stem}-i` in `ns`, in Lists of 500 (one request each). */
  const createMany = async (ns: string, stem: string, n: number): Promise<void> => {
    for (let from = 0; from < n; from += 500) {
      const items = [];
      for (let i = from; i < Math.min(n, from + 500); i++) items.push(configMap(`${stem}-${i}`, { i: String(i) }, { parity: i % 2 === 0 ? 'even' : 'odd' }));
      const created = await ok<{ items: Obj[] }>('POST', `/api/v1/namespaces/${ns}/configmaps`, { body: { apiVersion: 'v1', kind: 'List', items } });
      expect(created.items.every((c) => c.kind === 'ConfigMap'), JSON.stringify(created.items.find((c) => c.kind !== 'ConfigMap'))).to.equal(true);
    }
  };

  before(async () => {
    t = await startTestApiServer({ backend: 'etcd', bookmarkIntervalMs: 200 });
    lagging = new HeldWatchStore(new EtcdStore({ endpoints: etcdEndpoints(), prefix: t.prefix }));
    replica = await startApiServer({ store: lagging, log: createLogger('apiserver', 'error'), compactionIntervalMs: 0, bookmarkIntervalMs: 200 });
    for (const ns of ['wl', 'wl-race', 'wl-fresh', 'wl-off']) await ok('POST', '/api/v1/namespaces', { body: namespaceBody(ns) });
  });
  afterEach(async () => {
    // A test that fails while the replica's watch events are held must not hold them for the next one.
    lagging.release();
    await Promise.all(open.splice(0).map((w) => w.close()));
  });
  after(async () => {
    await replica?.close();
    await lagging?.close();
    await t?.close();
  });

  it('begins with every object as ADDED (read in pages), then the end bookmark at the version that state reflects, then each later change once', async () => {
    await createMany('wl', 'cm', 1_200);
    const listed = await ok<{ metadata: { resourceVersion: string }; items: Obj[] }>('GET', '/api/v1/namespaces/wl/configmaps');
    const w = await watch(`/api/v1/namespaces/wl/configmaps?${WATCH_LIST}`);
    const end = await endOf(w);
    const { initial } = splitAtEnd(w.events);
    expect(initial.every((e) => e.type === 'ADDED'), 'only ADDED before the end bookmark').to.equal(true);
    expect(initial.map((e) => e.object.metadata.name).sort()).to.deep.equal(listed.items.map((c) => c.metadata.name).sort());
    expect(new Set(initial.map((e) => e.object.metadata.name)).size).to.equal(1_200);
    // The bookmark is a ConfigMap with only a resourceVersion and the annotation, as Kubernetes sends it.
    expect(end.object.kind).to.equal('ConfigMap');
    expect(end.object.apiVersion).to.equal('v1');
    expect(Number(end.object.metadata.resourceVersion)).to.be.at.least(Number(listed.metadata.resourceVersion) - 1);
    for (const e of initial) expect(Number(e.object.metadata.resourceVersion)).to.be.at.most(Number(end.object.metadata.resourceVersion));

    const added = await ok<Obj>('POST', '/api/v1/namespaces/wl/configmaps', { body: configMap('late') });
    const changed = await ok<Obj>('PATCH', '/api/v1/namespaces/wl/configmaps/cm-7', { body: { data: { i: 'seven' } }, contentType: 'application/merge-patch+json' });
    await ok('DELETE', '/api/v1/namespaces/wl/configmaps/cm-8');
    await w.waitForEvents(1_203);
    const after = splitAtEnd(w.events).after.filter((e) => e.type !== 'BOOKMARK');
    expect(after.map((e) => [e.type, e.object.metadata.name, e.object.metadata.resourceVersion])).to.deep.equal([
      ['ADDED', 'late', added.metadata.resourceVersion],
      ['MODIFIED', 'cm-7', changed.metadata.resourceVersion],
      ['DELETED', 'cm-8', after[2]!.object.metadata.resourceVersion],
    ]);
    expect(w.events.filter(isEnd)).to.have.length(1);
  });

  it('sends the initial state the selectors pass, and with resourceVersion=0 serves it from the cache', async () => {
    const even = await watch(`/api/v1/namespaces/wl/configmaps?${WATCH_LIST}&labelSelector=parity%3Deven&resourceVersion=0`);
    await endOf(even);
    const names = splitAtEnd(even.events).initial.map((e) => e.object.metadata.name!);
    expect(names.length).to.be.within(599, 600); // cm-8 (even) may be deleted by the test before
    expect(names.every((n) => Number(n.slice(3)) % 2 === 0)).to.equal(true);

    const one = await watch(`/api/v1/namespaces/wl/configmaps?${WATCH_LIST}&fieldSelector=metadata.name%3Dcm-3`);
    await endOf(one);
    expect(splitAtEnd(one.events).initial.map((e) => e.object.metadata.name)).to.deep.equal(['cm-3']);
  });

  it('resourceVersion=N gives a state at least as new as N', async () => {
    const written = await ok<Obj>('PUT', '/api/v1/namespaces/wl/configmaps/cm-11', { body: { ...configMap('cm-11', { i: 'eleven' }) } });
    const rv = written.metadata.resourceVersion!;
    for (const server of [t, replica]) {
      const w = await watch(`/api/v1/namespaces/wl/configmaps?${WATCH_LIST}&resourceVersion=${rv}`, server);
      const end = await endOf(w);
      expect(Number(end.object.metadata.resourceVersion)).to.be.at.least(Number(rv));
      const seen = splitAtEnd(w.events).initial.find((e) => e.object.metadata.name === 'cm-11');
      expect(Number(seen?.object.metadata.resourceVersion)).to.be.at.least(Number(rv));
    }
  });

  it('reads the initial state consistently: an object written through another replica is in it while this replica\'s cache has not seen it', async () => {
    // The replica's cache learns of writes from etcd's watch; held back, it trails the store the
    // way a busy replica does for a moment after every write.
    lagging.hold('configmaps');
    const created = await ok<Obj>('POST', '/api/v1/namespaces/wl-fresh/configmaps', { body: configMap('fresh') }, t);
    const consistent = await watch(`/api/v1/namespaces/wl-fresh/configmaps?${WATCH_LIST}`, replica);
    const cached = await watch(`/api/v1/namespaces/wl-fresh/configmaps?${WATCH_LIST}&resourceVersion=0`, replica);
    const legacy = await watch('/api/v1/namespaces/wl-fresh/configmaps?watch=true', replica);
    const consistentEnd = await endOf(consistent);
    expect(splitAtEnd(consistent.events).initial.map((e) => [e.object.metadata.name, e.object.metadata.resourceVersion])).to.deep.equal([['fresh', created.metadata.resourceVersion]]);
    expect(Number(consistentEnd.object.metadata.resourceVersion)).to.be.at.least(Number(created.metadata.resourceVersion));
    await legacy.waitForEvents(1);
    expect(legacy.events.map((e) => [e.type, e.object.metadata.name])).to.deep.equal([['ADDED', 'fresh']]);
    // resourceVersion=0 asks for any state: the cache's, which does not hold the object yet.
    await endOf(cached);
    expect(splitAtEnd(cached.events).initial).to.deep.equal([]);

    // Once the cache catches up, the held event reaches the cached watcher as a change, and not the
    // others, whose initial state already held it: no one sees the object twice.
    lagging.release();
    await cached.waitForEvents(1);
    expect(splitAtEnd(cached.events).after.filter((e) => e.type !== 'BOOKMARK').map((e) => [e.type, e.object.metadata.name])).to.deep.equal([['ADDED', 'fresh']]);
    const again = await ok<Obj>('PATCH', '/api/v1/namespaces/wl-fresh/configmaps/fresh', { body: { data: { n: '2' } }, contentType: 'application/merge-patch+json' }, t);
    for (const w of [consistent, legacy, cached]) {
      await w.waitForEvents(2);
      expect(w.changes().map((e) => [e.type, e.object.metadata.resourceVersion])).to.deep.equal([
        ['ADDED', created.metadata.resourceVersion],
        ['MODIFIED', again.metadata.resourceVersion],
      ]);
    }
  });

  it('every object exactly once, initial state and changes together, while writers race the watches on two replicas', async () => {
    const ns = 'wl-race';
    await createMany(ns, 'base', 300);
    let writing = true;
    const writer = async (id: number): Promise<void> => {
      for (let i = 0; writing; i++) {
        const name = `w${id}-${i % 40}`;
        const path = `/api/v1/namespaces/${ns}/configmaps`;
        // Create, then update, then delete, in turn: each name lives, changes and dies.
        const phase = Math.floor(i / 40) % 3;
        if (phase === 0) await raw(t.url, 'POST', path, { body: configMap(name, { n: String(i) }) });
        else if (phase === 1) await raw(replica.url, 'PATCH', `${path}/${name}`, { body: { data: { n: String(i) } }, contentType: 'application/merge-patch+json' });
        else await raw(t.url, 'DELETE', `${path}/${name}`);
        await raw(t.url, 'PATCH', `${path}/base-${(id * 37 + i) % 300}`, { body: { data: { by: `${id}-${i}` } }, contentType: 'application/merge-patch+json' });
      }
    };
    const writers = [0, 1, 2, 3].map(writer);
    const watchers: WatchCollector[] = [];
    for (let k = 0; k < 8; k++) {
      await new Promise((r) => setTimeout(r, 150));
      const rv = k % 4 === 3 ? '&resourceVersion=0' : '';
      watchers.push(await watch(`/api/v1/namespaces/${ns}/configmaps?${WATCH_LIST}${rv}`, k % 2 === 0 ? t : replica));
    }
    await new Promise((r) => setTimeout(r, 500));
    writing = false;
    await Promise.all(writers);
    const final = await ok<{ metadata: { resourceVersion: string }; items: Obj[] }>('GET', `/api/v1/namespaces/${ns}/configmaps`);
    const want = new Map(final.items.map((c) => [c.metadata.name!, Number(c.metadata.resourceVersion)]));
    for (const [k, w] of watchers.entries()) {
      await endOf(w);
      // Caught up once a bookmark at or past the final list's version has arrived.
      await waitFor(`watcher ${k} to reach ${final.metadata.resourceVersion}`, () =>
        w.events.some((e, i) => i > w.events.findIndex(isEnd) && e.type === 'BOOKMARK' && Number(e.object.metadata.resourceVersion) >= Number(final.metadata.resourceVersion)),
      15_000);
      const { initial } = splitAtEnd(w.events);
      expect(initial.every((e) => e.type === 'ADDED'), `watcher ${k}: only ADDED before the end bookmark`).to.equal(true);
      const state = replay(w.events);
      expect([...state].sort(), `watcher ${k}`).to.deep.equal([...want].sort());
    }
  });

  it('sendInitialEvents=false starts at the current state without sending it', async () => {
    await ok('POST', '/api/v1/namespaces/wl-off/configmaps', { body: configMap('before') });
    const w = await watch('/api/v1/namespaces/wl-off/configmaps?watch=true&sendInitialEvents=false&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true');
    await ok('POST', '/api/v1/namespaces/wl-off/configmaps', { body: configMap('after') });
    await w.waitForEvents(1);
    await waitFor('a bookmark after the change', () => w.events.filter((e) => e.type === 'BOOKMARK').length >= 1 ? true : undefined, 5_000);
    expect(w.changes().map((e) => [e.type, e.object.metadata.name])).to.deep.equal([['ADDED', 'after']]);
    expect(w.events.some(isEnd), 'no end bookmark without initial events').to.equal(false);
  });

  it('without allowWatchBookmarks the initial state comes without the end bookmark, as in Kubernetes', async () => {
    const w = await watch('/api/v1/namespaces/wl-off/configmaps?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan');
    await w.waitForEvents(2);
    await ok('POST', '/api/v1/namespaces/wl-off/configmaps', { body: configMap('third') });
    await w.waitForEvents(3);
    // A consistent read lists in key order.
    expect(w.events.map((e) => [e.type, e.object.metadata.name])).to.deep.equal([
      ['ADDED', 'after'],
      ['ADDED', 'before'],
      ['ADDED', 'third'],
    ]);
    expect(w.events.some((e) => e.type === 'BOOKMARK')).to.equal(false);
  });

  it('answers the watch options Kubernetes forbids with a 422 on ListOptions naming the field', async () => {
    const cases: [string, string[], RegExp][] = [
      ['watch=true&sendInitialEvents=true', ['resourceVersionMatch'], /sendInitialEvents requires setting resourceVersionMatch to NotOlderThan/],
      ['watch=true&resourceVersionMatch=NotOlderThan', ['resourceVersionMatch'], /resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided/],
      ['watch=true&sendInitialEvents=true&resourceVersionMatch=Exact', ['resourceVersionMatch', 'resourceVersionMatch'], /\[resourceVersionMatch: Forbidden: .*, resourceVersionMatch: Unsupported value: "Exact": supported values: "NotOlderThan"\]/],
    ];
    for (const [query, fields, message] of cases) {
      const status = expectStatus(await raw(t.url, 'GET', `/api/v1/namespaces/wl/configmaps?${query}`), 422, 'Invalid');
      expect(status.details?.kind, query).to.equal('ListOptions');
      expect(causeFields(status), query).to.deep.equal(fields);
      expect(status.message, query).to.match(message);
    }
  });
});
