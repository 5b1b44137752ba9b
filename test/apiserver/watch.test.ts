// Watches over real HTTP and real etcd: every change exactly once and in order under concurrent
// writers, resume from any revision, initial state, bookmarks, selector transitions, 410 after
// compaction, timeoutSeconds, and slow consumers cut off without stalling anyone else.
import http from 'node:http';
import { expect } from 'chai';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { revisionOf } from '../../apiserver/storage/resource-version.js';
import {
  namespaceBody,
  podBody,
  raw,
  splitLines,
  waitFor,
  WatchCollector,
  type ListView,
  type Obj,
  type RawOptions,
  type WatchEventView,
} from './helpers.js';

interface Change {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  name: string;
  rv: number;
}

/**
 * Revision order; writes that shared one etcd request (group commit) share a revision, and among
 * those the name decides, so that what was written and what was watched compare equal.
 */
function byRevision(a: Change, b: Change): number {
  return a.rv - b.rv || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

function summarise(events: WatchEventView[]): Change[] {
  return events.map((e) => ({ type: e.type as Change['type'], name: e.object.metadata.name, rv: Number(e.object.metadata.resourceVersion) }));
}

async function metricValue(url: string, name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const labelText = line.slice(name.length + 1, line.indexOf('}'));
    if (Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`))) total += Number(line.slice(line.indexOf('}') + 1).trim());
  }
  return total;
}

describe('apiserver watch (etcd)', function () {
  this.timeout(60_000);
  let t: TestApiServer;
  const open: WatchCollector[] = [];
  const req = (method: string, path: string, opts?: RawOptions) => raw(t.url, method, path, opts);
  const ok = async <T = Obj>(method: string, path: string, opts?: RawOptions, server = t): Promise<T> => {
    const res = await raw(server.url, method, path, opts);
    expect(res.status, `${method} ${path}: ${res.text.slice(0, 300)}`).to.equal(method === 'POST' ? 201 : 200);
    return res.body as T;
  };
  const watch = async (path: string, server = t): Promise<WatchCollector> => {
    const w = await WatchCollector.open(server.url, path);
    open.push(w);
    expect(w.status).to.equal(200);
    return w;
  };
  const mergePatch = (body: unknown): RawOptions => ({ body, contentType: 'application/merge-patch+json' });

  before(async () => {
    t = await startTestApiServer({ backend: 'etcd', bookmarkIntervalMs: 200 });
    for (const ns of ['w', 'w2', 'w3', 'w4', 'w5', 'w6']) await ok('POST', '/api/v1/namespaces', { body: namespaceBody(ns) });
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((w) => w.close()));
  });
  after(async () => {
    await t?.close();
  });

  it("reports each watch cache's revision and this server's commits it has not applied on /metrics", async () => {
    const created = await ok<Obj>('POST', '/api/v1/namespaces/w/pods', { body: podBody('metrics-probe') });
    const revision = revisionOf(Number(created.metadata.resourceVersion));
    await waitFor('the pods cache to apply the create', async () => (await metricValue(t.url, 'cell_apiserver_watch_cache_revision', { resource: 'pods' })) >= revision);
    expect(await metricValue(t.url, 'cell_apiserver_watch_cache_lag_commits', { resource: 'pods' })).to.equal(0);
    // Every resource has its own cache; one nobody wrote has applied nothing of this.
    expect(await metricValue(t.url, 'cell_apiserver_watch_cache_revision', { resource: 'cronjobs' })).to.be.below(revision);
  });

  describe('1,000 changes from 8 concurrent writers', () => {
    const WRITERS = 8;
    const OPS_PER_WRITER = 125;
    let written: Change[] = [];
    let startRv = 0;

    it('reach a watch started at a list\'s resourceVersion exactly once each, in revision order', async () => {
      const list = await ok<ListView>('GET', '/api/v1/namespaces/w/pods');
      startRv = Number(list.metadata.resourceVersion);
      const w = await watch(`/api/v1/namespaces/w/pods?watch=true&resourceVersion=${startRv}`);

      const writer = async (id: number): Promise<Change[]> => {
        const mine: Change[] = [];
        let pod = 0;
        // Per pod: create, two updates, delete; the last pod of a writer is only created.
        for (let op = 0; op < OPS_PER_WRITER; pod++) {
          const name = `w${id}-p${pod}`;
          const path = `/api/v1/namespaces/w/pods/${name}`;
          const created = await ok('POST', '/api/v1/namespaces/w/pods', { body: podBody(name, { labels: { writer: String(id) } }) });
          mine.push({ type: 'ADDED', name, rv: Number(created.metadata.resourceVersion) });
          if (++op >= OPS_PER_WRITER) break;
          for (let u = 0; u < 2 && op < OPS_PER_WRITER; u++, op++) {
            const updated = await ok('PATCH', path, mergePatch({ metadata: { labels: { step: String(u) } } }));
            mine.push({ type: 'MODIFIED', name, rv: Number(updated.metadata.resourceVersion) });
          }
          if (op >= OPS_PER_WRITER) break;
          const del = await req('DELETE', path);
          expect(del.status, del.text).to.equal(200);
          mine.push({ type: 'DELETED', name, rv: Number((del.body as Obj).metadata.resourceVersion) });
          op++;
        }
        return mine;
      };
      written = (await Promise.all(Array.from({ length: WRITERS }, (_, i) => writer(i)))).flat().sort(byRevision);
      expect(written.length).to.equal(WRITERS * OPS_PER_WRITER);

      const events = await w.waitForEvents(written.length, 30_000);
      const got = summarise(events);
      for (let i = 1; i < got.length; i++) expect(got[i]!.rv, `event ${i}`).to.be.at.least(got[i - 1]!.rv);
      expect([...got].sort(byRevision)).to.deep.equal(written);
      // Nothing more arrives: a marker write after the batch is the very next event.
      const marker = await ok('POST', '/api/v1/namespaces/w/pods', { body: podBody('marker') });
      const next = await w.waitForEvents(written.length + 1);
      expect(next.length).to.equal(written.length + 1);
      expect(summarise(next).at(-1)).to.deep.equal({ type: 'ADDED', name: 'marker', rv: Number(marker.metadata.resourceVersion) });
      expect(w.events.filter((e) => e.type === 'ERROR')).to.deep.equal([]);
      // Full objects ride along.
      const firstAdded = events.find((e) => e.type === 'ADDED')!;
      expect(firstAdded.object.kind).to.equal('Pod');
      expect(firstAdded.object.apiVersion).to.equal('v1');
      expect(firstAdded.object.spec).to.be.an('object');
    });

    it('resuming from a middle resourceVersion replays exactly the tail', async () => {
      expect(written.length, 'needs the previous test').to.equal(WRITERS * OPS_PER_WRITER);
      const middle = written[Math.floor(written.length / 2)]!.rv;
      const tail = written.filter((c) => c.rv > middle);
      const w = await watch(`/api/v1/namespaces/w/pods?watch=true&resourceVersion=${middle}`);
      // The tail, then the marker pod of the previous test.
      const events = await w.waitForEvents(tail.length + 1);
      expect(summarise(events).slice(0, tail.length).sort(byRevision)).to.deep.equal(tail);
      expect(events[tail.length]!.object.metadata.name).to.equal('marker');
      // From the very first revision: everything.
      const all = await watch(`/api/v1/namespaces/w/pods?watch=true&resourceVersion=${startRv}`);
      const everything = await all.waitForEvents(written.length + 1);
      expect(summarise(everything).slice(0, written.length).sort(byRevision)).to.deep.equal(written);
    });
  });

  it('a watch without resourceVersion (or with 0) first sends the current objects as ADDED', async () => {
    for (let i = 0; i < 5; i++) await ok('POST', '/api/v1/namespaces/w2/pods', { body: podBody(`init-${i}`) });
    for (const path of ['/api/v1/namespaces/w2/pods?watch=true', '/api/v1/namespaces/w2/pods?watch=true&resourceVersion=0']) {
      const current = await ok<ListView>('GET', '/api/v1/namespaces/w2/pods');
      // The watch cache may lag the consistent list by a moment; wait for it to catch up first.
      await waitFor('the watch cache to reach the list', async () => {
        const cached = await ok<ListView>('GET', '/api/v1/namespaces/w2/pods?resourceVersion=0');
        return Number(cached.metadata.resourceVersion) >= Number(current.metadata.resourceVersion);
      });
      const w = await watch(path);
      const initial = await w.waitForEvents(5);
      expect(initial.every((e) => e.type === 'ADDED'), path).to.equal(true);
      expect(initial.map((e) => e.object.metadata.name).sort()).to.deep.equal(current.items.map((p) => p.metadata.name).sort());
      for (const e of initial) expect(e.object).to.deep.equal(current.items.find((p) => p.metadata.name === e.object.metadata.name));
      // Then the changes.
      await ok('PATCH', '/api/v1/namespaces/w2/pods/init-0', mergePatch({ metadata: { labels: { seen: path.length.toString() } } }));
      const next = await w.waitForEvents(6);
      expect(next[5]!.type).to.equal('MODIFIED');
      expect(next[5]!.object.metadata.name).to.equal('init-0');
      await w.close();
    }
    // The same through the project's client, across all namespaces with a selector.
    const abort = new AbortController();
    const seen: string[] = [];
    const done = t.client().watch<Obj>({ resource: 'pods' }, { labelSelector: '' , fieldSelector: 'metadata.namespace=w2' }, (ev) => {
      seen.push(`${ev.type} ${ev.object.metadata.name}`);
    }, abort.signal);
    await waitFor('the client watch to list w2', () => seen.length >= 5);
    abort.abort();
    await done;
    expect(seen.slice(0, 5).every((s) => s.startsWith('ADDED init-'))).to.equal(true);
  });

  it('sends BOOKMARK events only to watches that allow them', async () => {
    const pod = await ok('POST', '/api/v1/namespaces/w2/pods', { body: podBody('bookmarked') });
    const rv = pod.metadata.resourceVersion;
    const withMarks = await watch(`/api/v1/namespaces/w2/pods?watch=true&resourceVersion=${rv}&allowWatchBookmarks=true`);
    const without = await watch(`/api/v1/namespaces/w2/pods?watch=true&resourceVersion=${rv}`);
    const marks = await withMarks.waitForEvents(2, 10_000, (e) => e.type === 'BOOKMARK');
    for (const m of marks) {
      expect(m.object.kind).to.equal('Pod');
      expect(m.object.apiVersion).to.equal('v1');
      expect(Number(m.object.metadata.resourceVersion)).to.be.at.least(Number(rv));
    }
    // A change after the bookmarks, then more bookmarks at or past its revision.
    const changed = await ok('PATCH', '/api/v1/namespaces/w2/pods/bookmarked', mergePatch({ metadata: { labels: { b: '1' } } }));
    await withMarks.waitForEvents(1);
    await waitFor('a bookmark at the new revision', () =>
      withMarks.events.some((e) => e.type === 'BOOKMARK' && Number(e.object.metadata.resourceVersion) >= Number(changed.metadata.resourceVersion)),
    );
    await without.waitForEvents(1);
    expect(without.events.filter((e) => e.type === 'BOOKMARK')).to.deep.equal([]);
    expect(without.changes().map((e) => e.type)).to.deep.equal(['MODIFIED']);
  });

  it('label-selector watches: starting to match is ADDED, stopping is DELETED', async () => {
    const all = await watch('/api/v1/namespaces/w3/pods?watch=true');
    const sel = await watch(`/api/v1/namespaces/w3/pods?watch=true&labelSelector=${encodeURIComponent('app=sel')}`);
    const base = '/api/v1/namespaces/w3/pods';
    await ok('POST', base, { body: podBody('p1') });
    await ok('PATCH', `${base}/p1`, mergePatch({ metadata: { labels: { app: 'sel' } } }));
    await ok('PATCH', `${base}/p1`, mergePatch({ metadata: { labels: { extra: 'x' } } }));
    const left = await ok('PATCH', `${base}/p1`, mergePatch({ metadata: { labels: { app: 'other' } } }));
    await ok('PATCH', `${base}/p1`, mergePatch({ metadata: { labels: { extra: 'y' } } }));
    await ok('POST', base, { body: podBody('p2', { labels: { app: 'sel' } }) });
    await ok('DELETE', `${base}/p2`);
    await ok('DELETE', `${base}/p1`);
    await all.waitForEvents(8);
    const got = await sel.waitForEvents(5);
    expect(got.map((e) => `${e.type} ${e.object.metadata.name}`)).to.deep.equal(['ADDED p1', 'MODIFIED p1', 'DELETED p1', 'ADDED p2', 'DELETED p2']);
    // The DELETED for leaving the selection carries the object as it now is, at that revision.
    expect(got[2]!.object.metadata.labels?.app).to.equal('other');
    expect(got[2]!.object.metadata.resourceVersion).to.equal(left.metadata.resourceVersion);
    // Every unfiltered event has been seen, and the filtered watch got nothing else.
    expect(sel.changes().length).to.equal(5);
  });

  it('field-selector watches: spec.nodeName= and status.phase transitions', async () => {
    const base = '/api/v1/namespaces/w4/pods';
    const all = await watch(`${base}?watch=true`);
    const unbound = await watch(`${base}?watch=true&fieldSelector=${encodeURIComponent('spec.nodeName=')}`);
    const running = await watch(`${base}?watch=true&fieldSelector=${encodeURIComponent('status.phase=Running')}`);
    await ok('POST', base, { body: podBody('free') });
    await ok('POST', '/api/v1/nodes', { body: { metadata: { name: 'watch-node' }, status: { capacity: { cpu: '4', memory: '8Gi', pods: '110' } } } });
    await ok('POST', base, { body: podBody('placed', { nodeName: 'watch-node' }) });
    await ok('PATCH', `${base}/free/status`, mergePatch({ status: { phase: 'Running' } }));
    await ok('PATCH', `${base}/free/status`, mergePatch({ status: { phase: 'Succeeded' } }));
    await ok('DELETE', `${base}/free`);
    await ok('DELETE', `${base}/placed?gracePeriodSeconds=0`);
    await all.waitForEvents(6);
    const u = await unbound.waitForEvents(4);
    expect(u.map((e) => `${e.type} ${e.object.metadata.name}`)).to.deep.equal(['ADDED free', 'MODIFIED free', 'MODIFIED free', 'DELETED free']);
    const r = await running.waitForEvents(2);
    expect(r.map((e) => `${e.type} ${e.object.metadata.name} ${String(e.object.status?.phase)}`)).to.deep.equal(['ADDED free Running', 'DELETED free Succeeded']);
    expect(unbound.changes().length).to.equal(4);
    expect(running.changes().length).to.equal(2);
  });

  it("node agents' watches (spec.nodeName=<node>): each sees exactly its node's pods, from the bind to the delete", async () => {
    // The watch cache files such watchers under their node (watcher-index.ts) instead of testing
    // every event against each: what they receive must not change.
    const base = '/api/v1/namespaces/w6/pods';
    const nodes = ['wn-a', 'wn-b', 'wn-c'];
    for (const n of nodes) await ok('POST', '/api/v1/nodes', { body: { metadata: { name: n }, status: { capacity: { cpu: '4', memory: '8Gi', pods: '110' } } } });
    const sel = (s: string) => `${base}?watch=true&fieldSelector=${encodeURIComponent(s)}`;
    const perNode = await Promise.all(nodes.map((n) => watch(sel(`spec.nodeName=${n}`))));
    const aRunning = await watch(sel('spec.nodeName=wn-a,status.phase=Running'));
    const unbound = await watch(sel('spec.nodeName='));
    for (let i = 0; i < 6; i++) await ok('POST', base, { body: podBody(`p${i}`) });
    for (let i = 0; i < 6; i++) {
      const binding = { apiVersion: 'v1', kind: 'Binding', metadata: { name: `p${i}` }, target: { apiVersion: 'v1', kind: 'Node', name: nodes[i % 3] } };
      await ok('POST', `${base}/p${i}/binding`, { body: binding });
    }
    await ok('PATCH', `${base}/p0/status`, mergePatch({ status: { phase: 'Running' } }));
    await ok('DELETE', `${base}/p1?gracePeriodSeconds=0`);
    await ok('DELETE', `${base}/p0?gracePeriodSeconds=0`);
    // Last, a delete on every node: any stray event would show up before these in the sequences.
    for (const p of ['p2', 'p3', 'p4', 'p5']) await ok('DELETE', `${base}/${p}?gracePeriodSeconds=0`);
    const names = (w: WatchCollector, n: number) => w.waitForEvents(n).then((evs) => evs.map((e) => `${e.type} ${e.object.metadata.name}`));
    expect(await names(perNode[0]!, 5)).to.deep.equal(['ADDED p0', 'ADDED p3', 'MODIFIED p0', 'DELETED p0', 'DELETED p3']);
    expect(await names(perNode[1]!, 4)).to.deep.equal(['ADDED p1', 'ADDED p4', 'DELETED p1', 'DELETED p4']);
    expect(await names(perNode[2]!, 4)).to.deep.equal(['ADDED p2', 'ADDED p5', 'DELETED p2', 'DELETED p5']);
    expect(await names(aRunning, 2)).to.deep.equal(['ADDED p0', 'DELETED p0']);
    // Every pod leaves `spec.nodeName=` when it is bound.
    const u = await names(unbound, 12);
    expect(u.slice(0, 6)).to.deep.equal([0, 1, 2, 3, 4, 5].map((i) => `ADDED p${i}`));
    expect(u.slice(6)).to.deep.equal([0, 1, 2, 3, 4, 5].map((i) => `DELETED p${i}`));
  });

  it('timeoutSeconds ends the stream cleanly', async () => {
    const started = Date.now();
    const w = await watch('/api/v1/namespaces/w5/pods?watch=true&timeoutSeconds=1');
    await w.waitForEnd(15_000);
    expect(Date.now() - started).to.be.at.least(900);
    expect(w.error).to.equal(undefined);
    expect(w.events.filter((e) => e.type === 'ERROR')).to.deep.equal([]);
    // A huge timeout is not a tiny one (setTimeout overflows past 2^31 ms).
    const long = await watch('/api/v1/namespaces/w5/pods?watch=true&timeoutSeconds=9999999999');
    await ok('POST', '/api/v1/namespaces/w5/pods', { body: podBody('still-watching') });
    await long.waitForEvents(1);
    expect(long.ended).to.equal(false);
  });

  describe('history', () => {
    let small: TestApiServer;
    before(async () => {
      small = await startTestApiServer({ backend: 'etcd', watchCacheCapacity: 10 });
    });
    after(async () => {
      await small?.close();
    });

    it('serves a watch from before the cache window out of store history, then 410 Expired once compacted', async () => {
      const created = await ok('POST', '/api/v1/namespaces/default/pods', { body: podBody('hist') }, small);
      const r0 = Number(created.metadata.resourceVersion);
      const rvs: number[] = [];
      for (let i = 0; i < 30; i++) {
        const p = await ok('PATCH', '/api/v1/namespaces/default/pods/hist', mergePatch({ metadata: { labels: { i: String(i) } } }), small);
        rvs.push(Number(p.metadata.resourceVersion));
      }
      // Older than the 10-event window but not compacted: replayed from etcd.
      const old = await watch(`/api/v1/namespaces/default/pods?watch=true&resourceVersion=${r0}`, small);
      const replay = await old.waitForEvents(30);
      expect(replay.map((e) => Number(e.object.metadata.resourceVersion))).to.deep.equal(rvs);
      await old.close();

      const expiredBefore = await metricValue(small.url, 'apiserver_terminated_watchers_total', { reason: 'expired' });
      await small.store.compact(await small.store.currentRevision());
      const w = await watch(`/api/v1/namespaces/default/pods?watch=true&resourceVersion=${r0}`, small);
      expect(w.status).to.equal(200);
      await w.waitForEnd(15_000);
      expect(w.events.length).to.equal(1);
      const ev = w.events[0]!;
      expect(ev.type).to.equal('ERROR');
      expect(ev.object.kind).to.equal('Status');
      expect(ev.object.code).to.equal(410);
      expect(ev.object.reason).to.equal('Expired');
      expect(ev.object.message).to.match(/too old resource version/);
      expect(await metricValue(small.url, 'apiserver_terminated_watchers_total', { reason: 'expired' })).to.equal(expiredBefore + 1);

      // A revision still inside the cache window is served from memory, compaction or not.
      const recent = await watch(`/api/v1/namespaces/default/pods?watch=true&resourceVersion=${rvs[25]!}`, small);
      const tail = await recent.waitForEvents(4);
      expect(tail.map((e) => Number(e.object.metadata.resourceVersion))).to.deep.equal(rvs.slice(26));
      // And a list at a compacted revision is 410 too.
      const list = await raw(small.url, 'GET', `/api/v1/namespaces/default/pods?resourceVersion=${r0}&resourceVersionMatch=Exact`);
      expect(list.status, list.text).to.equal(410);
      expect((list.body as { reason?: string }).reason).to.equal('Expired');
    });
  });

  it('closing the server ends every watch, including those served from store history', async () => {
    const s = await startTestApiServer({ backend: 'etcd', watchCacheCapacity: 5 });
    let closed = false;
    try {
      const first = await ok('POST', '/api/v1/namespaces/default/pods', { body: podBody('h') }, s);
      for (let i = 0; i < 10; i++) await ok('PATCH', '/api/v1/namespaces/default/pods/h', mergePatch({ metadata: { labels: { i: String(i) } } }), s);
      const fromHistory = await watch(`/api/v1/namespaces/default/pods?watch=true&resourceVersion=${first.metadata.resourceVersion}`, s);
      const fromCache = await watch('/api/v1/namespaces/default/pods?watch=true', s);
      await fromHistory.waitForEvents(10);
      await fromCache.waitForEvents(1);
      const closing = s.close().then(() => (closed = true));
      await waitFor('both streams to end', () => fromHistory.ended && fromCache.ended, 10_000);
      await waitFor('the server to close', () => closed, 10_000);
      await closing;
    } finally {
      if (!closed) await s.close();
    }
  });

  describe('slow consumers', () => {
    let slow: TestApiServer;
    before(async () => {
      slow = await startTestApiServer({ backend: 'etcd', watchMaxQueuedBytes: 1024 * 1024 });
    });
    after(async () => {
      await slow?.close();
    });

    it('a client that never reads is cut off without stalling another watcher, and is counted', async () => {
      const path = '/api/v1/namespaces/default/pods?watch=true';
      const u = new URL(slow.url);
      let stuckEvents = 0;
      let stuckBuffer = '';
      let stuckClosed = false;
      let stuckRes: http.IncomingMessage | undefined;
      const stuckReq = http.get({ host: u.hostname, port: u.port, path, agent: false }, (res) => {
        stuckRes = res;
        res.pause();
        res.on('data', (c: Buffer) => {
          const { lines, rest } = splitLines(stuckBuffer + c.toString('utf8'));
          stuckBuffer = rest;
          stuckEvents += lines.length;
        });
        res.on('close', () => (stuckClosed = true));
        res.on('error', () => (stuckClosed = true));
      });
      stuckReq.on('error', () => (stuckClosed = true));
      await waitFor('the stuck watch to open', () => stuckRes !== undefined);
      const fast = await watch(path, slow);
      await waitFor('both watchers registered', async () => (await metricValue(slow.url, 'apiserver_registered_watchers', { resource: 'pods' })) === 2);

      const dropped = () => metricValue(slow.url, 'apiserver_terminated_watchers_total', { resource: 'pods', reason: 'slow' });
      expect(await dropped()).to.equal(0);
      // ~1 MB pods until the stuck client's backlog passes the limit (kernel buffers absorb a few MB first).
      const big = (name: string) =>
        podBody(name, { containers: [{ name: 'c', image: 'i', command: Array.from({ length: 1000 }, (_, i) => `${i}-${'x'.repeat(1000)}`) }] });
      let written = 0;
      while ((await dropped()) === 0) {
        expect(written, 'the stuck watcher was never dropped').to.be.below(60);
        await ok('POST', '/api/v1/namespaces/default/pods', { body: big(`big-${written}`) }, slow);
        written++;
      }
      expect(await dropped()).to.equal(1);
      // The other watcher got everything.
      const got = await fast.waitForEvents(written, 30_000);
      expect(got.map((e) => e.object.metadata.name)).to.deep.equal(Array.from({ length: written }, (_, i) => `big-${i}`));
      await waitFor('the dropped watcher to be unregistered', async () => (await metricValue(slow.url, 'apiserver_registered_watchers', { resource: 'pods' })) === 1);
      // The stuck client's connection is gone: reading now ends it well short of everything.
      stuckRes!.resume();
      await waitFor('the stuck connection to close', () => stuckClosed, 15_000);
      expect(stuckEvents).to.be.below(written);
      // And the server keeps serving watches and writes.
      await ok('POST', '/api/v1/namespaces/default/pods', { body: podBody('after-slow') }, slow);
      await fast.waitForEvents(written + 1);

      // A client that reads is never cut off for catching up, even when the current state (or the
      // replay from its resourceVersion) is far bigger than the queue limit.
      const fresh = await watch(path, slow);
      const initial = await fresh.waitForEvents(written + 1, 30_000);
      expect(initial.every((e) => e.type === 'ADDED')).to.equal(true);
      const replay = await watch(`${path}&resourceVersion=${got[0]!.object.metadata.resourceVersion}`, slow);
      await replay.waitForEvents(written, 30_000);
      await ok('POST', '/api/v1/namespaces/default/pods', { body: podBody('after-catch-up') }, slow);
      await fresh.waitForEvents(written + 2);
      await replay.waitForEvents(written + 1);
      expect(await dropped()).to.equal(1);
    });
  });
});
