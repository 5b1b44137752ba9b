// resourceVersions are unique per object write (DESIGN §2), even when many writes share one etcd
// transaction: group-committed creates, deletes and patches, and Placements binding several pods at
// once. A client that resumes a watch from any event's resourceVersion — the first, a middle or the
// last write of a multi-object revision — must get exactly the events that followed it. Real HTTP,
// real etcd.
import { expect } from 'chai';
import { revisionOf } from '../../apiserver/storage/resource-version.js';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { podChurn } from '../harness/pod-churn.js';
import { namespaceBody, nodeBody, podBody, raw, WatchCollector, type ListView, type Obj, type RawOptions, type WatchEventView } from './helpers.js';

interface Seen {
  type: string;
  name: string;
  rv: number;
}

const view = (events: WatchEventView[]): Seen[] =>
  events.map((e) => ({ type: e.type, name: e.object.metadata.name, rv: Number(e.object.metadata.resourceVersion) }));

describe('resourceVersions: one per object write, resumable from any of them (etcd)', function () {
  this.timeout(120_000);
  const WRITERS = 8;
  const NODES = ['rv-n1', 'rv-n2', 'rv-n3'];
  let t: TestApiServer;
  const open: WatchCollector[] = [];
  const ok = async <T = Obj>(method: string, path: string, opts?: RawOptions): Promise<T> => {
    const res = await raw(t.url, method, path, opts);
    expect(res.status, `${method} ${path}: ${res.text.slice(0, 300)}`).to.be.oneOf([200, 201]);
    return res.body as T;
  };
  const watch = async (rv: number | string): Promise<WatchCollector> => {
    const w = await WatchCollector.open(t.url, `/api/v1/namespaces/rv/pods?watch=true&resourceVersion=${rv}`);
    open.push(w);
    expect(w.status).to.equal(200);
    return w;
  };

  before(async () => {
    t = await startTestApiServer({ backend: 'etcd' });
    await ok('POST', '/api/v1/namespaces', { body: namespaceBody('rv') });
    for (const n of NODES) await ok('POST', '/api/v1/nodes', { body: nodeBody(n) });
  });
  after(async () => {
    await Promise.all(open.splice(0).map((w) => w.close()));
    await t?.close();
  });

  it('8 writers, 1,000+ events with multi-object revisions: a watch from any event position replays exactly what followed', async () => {
    const list = await ok<ListView>('GET', '/api/v1/namespaces/rv/pods');
    const all = await watch(list.metadata.resourceVersion ?? '');
    const total = await podChurn({ url: t.url, namespace: 'rv', nodes: NODES, writers: WRITERS, rounds: 9 });
    expect(total).to.be.at.least(1_000);
    // A marker write closes every stream below.
    const marker = await ok('POST', '/api/v1/namespaces/rv/pods', { body: podBody('marker') });
    const events = view(await all.waitForEvents(total + 1, 60_000));
    expect(events.at(-1)).to.deep.equal({ type: 'ADDED', name: 'marker', rv: Number(marker.metadata.resourceVersion) });

    // Every write has its own resourceVersion, strictly increasing along the stream.
    for (let i = 1; i < events.length; i++) expect(events[i]!.rv, `event ${i}`).to.be.greaterThan(events[i - 1]!.rv);
    expect(events).to.have.length(total + 1);

    // Revisions holding several pod writes exist: Placements and group commits.
    const byRevision = new Map<number, number[]>();
    events.forEach((e, i) => {
      const rev = revisionOf(e.rv);
      byRevision.set(rev, [...(byRevision.get(rev) ?? []), i]);
    });
    const multi = [...byRevision.values()].filter((idx) => idx.length >= 3);
    expect(multi.length, 'revisions with 3 or more pod writes').to.be.at.least(8);
    const kinds = new Set(multi.flatMap((idx) => idx.map((i) => events[i]!.type)));
    expect([...kinds].sort(), 'kinds of event in multi-write revisions').to.include.members(['ADDED', 'MODIFIED']);

    // Resume points: first, a middle and the last write of a spread of multi-object revisions,
    // and some events of single-write revisions.
    const samples: number[] = [];
    for (let k = 0; k < multi.length; k += Math.max(1, Math.floor(multi.length / 6))) {
      const idx = multi[k]!;
      samples.push(idx[0]!, idx[Math.floor(idx.length / 2)]!, idx.at(-1)!);
    }
    const singles = [...byRevision.values()].filter((idx) => idx.length === 1);
    for (let k = 0; k < singles.length; k += Math.max(1, Math.floor(singles.length / 4))) samples.push(singles[k]![0]!);
    // A delete inside a multi-write revision, when there is one.
    const deleteInMulti = multi.flat().find((i) => events[i]!.type === 'DELETED' && i < events.length - 1);
    if (deleteInMulti !== undefined) samples.push(deleteInMulti);

    for (const i of samples) {
      const from = events[i]!;
      const w = await watch(from.rv);
      const expected = events.slice(i + 1);
      const got = view(await w.waitForEvents(expected.length, 30_000));
      expect(got, `resumed after ${from.type} ${from.name}@${from.rv} (event ${i})`).to.deep.equal(expected);
      await w.close();
      expect(w.events.filter((e) => e.type === 'ERROR')).to.deep.equal([]);
    }
  });

  it('a list is the point after everything it reflects; an object read back has the resourceVersion its write returned', async () => {
    const created = await ok('POST', '/api/v1/namespaces/rv/pods', { body: podBody('point') });
    const got = await ok('GET', '/api/v1/namespaces/rv/pods/point');
    expect(got.metadata.resourceVersion).to.equal(created.metadata.resourceVersion);
    const list = await ok<ListView>('GET', '/api/v1/namespaces/rv/pods');
    expect(Number(list.metadata.resourceVersion)).to.be.greaterThan(Number(created.metadata.resourceVersion));
    for (const item of list.items) expect(Number(item.metadata.resourceVersion)).to.be.lessThan(Number(list.metadata.resourceVersion));
    // A watch from the list's resourceVersion sends only later writes.
    const w = await watch(list.metadata.resourceVersion ?? '');
    const later = await ok('PATCH', '/api/v1/namespaces/rv/pods/point', { body: { metadata: { labels: { x: 'y' } } }, contentType: 'application/merge-patch+json' });
    const [ev] = view(await w.waitForEvents(1));
    expect(ev).to.deep.equal({ type: 'MODIFIED', name: 'point', rv: Number(later.metadata.resourceVersion) });
    // A stale resourceVersion on an update is a 409 Conflict.
    const stale = await raw(t.url, 'PUT', '/api/v1/namespaces/rv/pods/point', { body: { ...got, metadata: { ...got.metadata } } });
    expect(stale.status).to.equal(409);
  });
});
