// The project's list+watch informer (shared/client/informer.ts) against a real API server on real
// etcd: the initial list and the watch after it, resuming after the API server was SIGKILLed and
// restarted (from history, no re-list), re-listing after a 410 (history compacted while its watch
// was down), a watch broken in the middle of a multi-event revision (a Placement: five pods bound
// in one etcd transaction, one revision), and label-selector transitions.
//
// Every handler call is recorded as (type, name, resourceVersion) so "exactly once" is checked by
// counting, and "nothing more" by waiting for a later marker change: a watch delivers in revision
// order, so once the marker's event has arrived, every earlier event has too.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { expect } from 'chai';
import { EtcdStore } from '../../apiserver/storage/etcd.js';
import type { Pod } from '../../shared/api/core.js';
import type { Placement } from '../../shared/api/scheduling.js';
import { ApiClient, type ResourceRef } from '../../shared/client/http-client.js';
import { Informer, type InformerHandlers } from '../../shared/client/informer.js';
import { createLogger } from '../../shared/logging.js';
import { WatchCollector, type WatchEventView } from '../apiserver/helpers.js';
import { etcdEndpoints, startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { freePort } from '../harness/ports.js';
import { createNamespace, nodeObject, podObject } from '../placement/fixtures.js';
import { startApiServerProcess, type ApiServerProcess } from './apiserver-process.js';
import { waitFor } from './helpers.js';
import { listenOnLoopback, relay } from './http-proxy.js';
import { startWatchCutProxy } from './watch-cut-proxy.js';
import { revisionOf } from '../../apiserver/storage/resource-version.js';

const PLACEMENTS: ResourceRef = { group: 'scheduling.cell.dev', version: 'v1alpha1', resource: 'placements' };
const log = createLogger('informer-test', 'error');

interface Call {
  type: 'add' | 'update' | 'delete';
  name: string;
  /** The handed object's resourceVersion (for a delete: the last one the cache had). */
  rv: string;
  /** update only: the resourceVersion of the object it replaced. */
  oldRv?: string;
  nodeName?: string;
}

const nameOf = (p: Pod) => p.metadata.name ?? '';
const rvOf = (p: Pod) => p.metadata.resourceVersion ?? '';
const callKey = (c: Pick<Call, 'type' | 'name' | 'rv'>) => `${c.type} ${c.name}@${c.rv}`;
const show = (calls: readonly Call[]) => calls.map(callKey);

/** Every handler call, in order. */
class Recorder {
  readonly calls: Call[] = [];

  readonly handlers: InformerHandlers<Pod> = {
    add: (p) => this.calls.push({ type: 'add', name: nameOf(p), rv: rvOf(p), ...this.node(p) }),
    update: (old, p) => this.calls.push({ type: 'update', name: nameOf(p), rv: rvOf(p), oldRv: rvOf(old), ...this.node(p) }),
    delete: (p) => this.calls.push({ type: 'delete', name: nameOf(p), rv: rvOf(p) }),
  };

  private node(p: Pod): { nodeName?: string } {
    return p.spec.nodeName ? { nodeName: p.spec.nodeName } : {};
  }

  /** Calls made from index `from` on. */
  since(from: number): Call[] {
    return this.calls.slice(from);
  }

  has(type: Call['type'], name: string, rv?: string): boolean {
    return this.calls.some((c) => c.type === type && c.name === name && (rv === undefined || c.rv === rv));
  }

  /** (type, name, rv) triples handed to the handlers more than once. */
  duplicates(): string[] {
    const seen = new Map<string, number>();
    for (const c of this.calls) seen.set(callKey(c), (seen.get(callKey(c)) ?? 0) + 1);
    return [...seen].filter(([, n]) => n > 1).map(([k, n]) => `${k} ×${n}`);
  }
}

/** How the informers of the running suite get the state: a watch-list (the default), or a list in pages then a watch. */
let stateBy: 'watch-list' | 'list' = 'watch-list';

function podInformer(client: ApiClient, namespace: string, opts: { labelSelector?: string; pageSize?: number } = {}): { informer: Informer<Pod>; rec: Recorder } {
  const informer = new Informer<Pod>({ client, ref: { resource: 'pods', namespace }, log, watchList: stateBy === 'watch-list', ...opts });
  const rec = new Recorder();
  informer.addHandlers(rec.handlers);
  return { informer, rec };
}

/** `name@resourceVersion`, sorted: what a cache and a list are compared by. */
const summary = (pods: readonly Pod[]) => pods.map((p) => `${nameOf(p)}@${rvOf(p)}`).sort();

async function serverList(client: ApiClient, namespace: string, labelSelector?: string): Promise<Pod[]> {
  return (await client.list<{ items: Pod[] }>({ resource: 'pods', namespace }, labelSelector ? { labelSelector } : {})).items;
}

/** Resolves with the cache summary once it equals a fresh list from the server. */
async function cacheMatchesServer(informer: Informer<Pod>, client: ApiClient, namespace: string, labelSelector?: string, timeoutMs = 15_000): Promise<string[]> {
  return waitFor(
    async () => {
      const [cached, actual] = [summary(informer.list()), summary(await serverList(client, namespace, labelSelector))];
      return JSON.stringify(cached) === JSON.stringify(actual) ? cached : undefined;
    },
    `the informer cache to equal a fresh list of ${namespace}`,
    timeoutMs,
  );
}

/** `p`, or a rejection naming `what` after `ms`. */
async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const pods = (namespace: string): ResourceRef => ({ resource: 'pods', namespace });
const pod = (namespace: string, name: string): ResourceRef => ({ resource: 'pods', namespace, name });

async function createPod(client: ApiClient, namespace: string, name: string, labels?: Record<string, string>): Promise<Pod> {
  return client.create<Pod>(pods(namespace), podObject(name, '100m', labels ? { labels } : {}));
}

async function patchLabels(client: ApiClient, namespace: string, name: string, labels: Record<string, string | null>): Promise<Pod> {
  return client.patch<Pod>(pod(namespace, name), { metadata: { labels } }, 'merge');
}

describe('Informer (shared/client/informer.ts) against a real API server on etcd', function () {
  this.timeout(60_000);

  for (const mode of ['watch-list', 'list'] as const) describe(`in-process API server (the state by ${mode === 'list' ? 'a list in pages, then a watch' : 'a watch-list'})`, function () {
    let t: TestApiServer;
    let client: ApiClient;

    before(async function () {
      stateBy = mode;
      t = await startTestApiServer({ backend: 'etcd' });
      client = t.client();
    });

    after(async function () {
      client?.close();
      await t?.close();
    });

    it('lists (in pages), then hands every add, update and delete to the handlers exactly once; the indexed cache equals a fresh list', async function () {
      const ns = `inf-basic-${randomUUID().slice(0, 8)}`;
      await createNamespace(client, ns);
      const initial = [
        await createPod(client, ns, 'a', { app: 'web' }),
        await createPod(client, ns, 'b', { app: 'web' }),
        await createPod(client, ns, 'c', { app: 'db' }),
      ];
      const { informer, rec } = podInformer(t.client(), ns, { pageSize: 2 });
      informer.addIndex('app', (p) => (p.metadata.labels?.app ? [p.metadata.labels.app] : []));
      try {
        await informer.start();
        // The list is in the cache, and handed to the handlers, by the time start() resolves.
        expect(show(rec.calls).sort()).to.deep.equal(initial.map((p) => `add ${nameOf(p)}@${rvOf(p)}`).sort());
        expect(informer.relists).to.equal(1);

        const d = await createPod(client, ns, 'd', { app: 'web' });
        const a2 = await patchLabels(client, ns, 'a', { app: 'db' });
        await client.delete(pod(ns, 'b'));
        const marker = await createPod(client, ns, 'marker');
        await waitFor(() => rec.has('add', 'marker'), 'the marker pod in the informer');

        expect(rec.since(3).map((c) => ({ ...c }))).to.deep.equal([
          { type: 'add', name: 'd', rv: rvOf(d) },
          { type: 'update', name: 'a', rv: rvOf(a2), oldRv: rvOf(initial[0]!) },
          { type: 'delete', name: 'b', rv: rvOf(initial[1]!) },
          { type: 'add', name: 'marker', rv: rvOf(marker) },
        ]);
        expect(rec.duplicates()).to.deep.equal([]);
        expect(informer.relists).to.equal(1);
        expect(Number(informer.lastResourceVersion)).to.be.at.least(Number(rvOf(marker)));
        expect(informer.get(ns, 'a')?.metadata.labels).to.deep.equal({ app: 'db' });
        expect(informer.get(ns, 'b')).to.equal(undefined);

        // The cache and each index bucket agree with what the server lists now.
        const fresh = await serverList(client, ns);
        expect(summary(informer.list())).to.deep.equal(summary(fresh));
        expect(informer.size).to.equal(fresh.length);
        for (const app of ['web', 'db']) {
          expect(summary(informer.byIndex('app', app)), `index app=${app}`).to.deep.equal(summary(fresh.filter((p) => p.metadata.labels?.app === app)));
        }
        expect(summary(informer.byIndex('app', 'web')).map((s) => s.split('@')[0])).to.deep.equal(['d']);
        expect(summary(informer.byIndex('app', 'db')).map((s) => s.split('@')[0])).to.deep.equal(['a', 'c']);
      } finally {
        await informer.stop();
      }
    });

    it('gets the state as configured: a watch-list (one request), or a list in pages then a watch', async function () {
      const ns = `inf-how-${randomUUID().slice(0, 8)}`;
      await createNamespace(client, ns);
      for (const name of ['a', 'b', 'c']) await createPod(client, ns, name);
      // Every request the informer sends, through a relay that records them.
      const seen: string[] = [];
      const upstream = new URL(t.url);
      const relayServer = http.createServer((req, res) => {
        seen.push(req.url ?? '');
        relay(req, res, http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        }));
      });
      const port = await listenOnLoopback(relayServer);
      const viaRelay = new ApiClient({ servers: [`http://127.0.0.1:${port}`], retries: 0 });
      const { informer } = podInformer(viaRelay, ns, { pageSize: 2 });
      try {
        await informer.start();
        expect(informer.list().map(nameOf).sort()).to.deep.equal(['a', 'b', 'c']);
        if (mode === 'watch-list') {
          const stateRequests = seen.filter((u) => u.startsWith(`/api/v1/namespaces/${ns}/pods`));
          expect(stateRequests).to.have.length(1);
          expect(stateRequests[0]).to.match(/watch=true/).and.match(/sendInitialEvents=true/).and.match(/resourceVersionMatch=NotOlderThan/);
        } else {
          // Two pages of two, then (start() resolves with the list) the watch from its resourceVersion.
          await waitFor(() => seen.some((u) => /watch=true/.test(u)), 'the watch after the list');
          const stateRequests = seen.filter((u) => u.startsWith(`/api/v1/namespaces/${ns}/pods`));
          expect(stateRequests.map((u) => (/watch=true/.test(u) ? 'watch' : 'list'))).to.deep.equal(['list', 'list', 'watch']);
          expect(stateRequests.some((u) => /sendInitialEvents/.test(u))).to.equal(false);
        }
      } finally {
        await informer.stop();
        viaRelay.close();
        relayServer.closeAllConnections();
        await new Promise((r) => relayServer.close(r));
      }
    });

    // Once: it is about the watch-list informer meeting a server without watch-list.
    if (mode === 'watch-list') it('lists in pages instead when the server refuses a watch-list with 422, as one without it does', async function () {
      const ns = `inf-old-${randomUUID().slice(0, 8)}`;
      await createNamespace(client, ns);
      const a = await createPod(client, ns, 'a');
      const upstream = new URL(t.url);
      let refused = 0;
      const older = http.createServer((req, res) => {
        if (/sendInitialEvents/.test(req.url ?? '')) {
          refused++;
          res.writeHead(422, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 422, reason: 'Invalid', message: 'ListOptions.meta.k8s.io "" is invalid: sendInitialEvents: Forbidden: sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled' }));
          return;
        }
        relay(req, res, http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        }));
      });
      const port = await listenOnLoopback(older);
      const viaOlder = new ApiClient({ servers: [`http://127.0.0.1:${port}`], retries: 0 });
      const informer = new Informer<Pod>({ client: viaOlder, ref: { resource: 'pods', namespace: ns }, log, watchList: true });
      const rec = new Recorder();
      informer.addHandlers(rec.handlers);
      try {
        await informer.start();
        expect(refused).to.equal(1);
        expect(show(rec.calls)).to.deep.equal([`add a@${rvOf(a)}`]);
        const b = await createPod(client, ns, 'b');
        await waitFor(() => rec.has('add', 'b'), 'pod b through the watch that followed the list');
        expect(show(rec.calls)).to.deep.equal([`add a@${rvOf(a)}`, `add b@${rvOf(b)}`]);
        expect(refused, 'asked once, then listed from then on').to.equal(1);
      } finally {
        await informer.stop();
        viaOlder.close();
        older.closeAllConnections();
        await new Promise((r) => older.close(r));
      }
    });

    it('with a label selector: ADDED when an object gains the label, DELETED when it loses it', async function () {
      const ns = `inf-selector-${randomUUID().slice(0, 8)}`;
      await createNamespace(client, ns);
      const p1 = await createPod(client, ns, 'p1', { tier: 'web' });
      await createPod(client, ns, 'p2', { tier: 'none' });
      const { informer, rec } = podInformer(t.client(), ns, { labelSelector: 'tier=web' });
      try {
        await informer.start();
        expect(show(rec.calls)).to.deep.equal([`add p1@${rvOf(p1)}`]);

        const gained = await patchLabels(client, ns, 'p2', { tier: 'web' });
        const changed = await patchLabels(client, ns, 'p2', { extra: 'yes' });
        await patchLabels(client, ns, 'p2', { tier: 'db' });
        await patchLabels(client, ns, 'p1', { tier: null });
        // Never selected: no event at all.
        await createPod(client, ns, 'p3', { tier: 'db' });
        const marker = await createPod(client, ns, 'marker', { tier: 'web' });
        await waitFor(() => rec.has('add', 'marker'), 'the marker pod in the selecting informer');

        expect(show(rec.since(1))).to.deep.equal([
          `add p2@${rvOf(gained)}`,
          `update p2@${rvOf(changed)}`,
          // A delete hands over the last state the cache had (still labelled tier=web).
          `delete p2@${rvOf(changed)}`,
          `delete p1@${rvOf(p1)}`,
          `add marker@${rvOf(marker)}`,
        ]);
        expect(rec.duplicates()).to.deep.equal([]);
        expect(informer.list().map(nameOf)).to.deep.equal(['marker']);
        await cacheMatchesServer(informer, client, ns, 'tier=web');
      } finally {
        await informer.stop();
      }
    });

    it('a watch cut after the first event of a five-event revision (a Placement) still delivers the other four, once each, without a re-list', async function () {
      const ns = `inf-group-${randomUUID().slice(0, 8)}`;
      await createNamespace(client, ns);
      const node = `${ns}-n1`;
      await client.create({ resource: 'nodes' }, nodeObject(node, '4'));
      const names = ['g0', 'g1', 'g2', 'g3', 'g4'];
      for (const n of names) await createPod(client, ns, n);

      const proxy = await startWatchCutProxy(t.url);
      const viaProxy = new ApiClient({ servers: [proxy.url], retries: 0 });
      const { informer, rec } = podInformer(viaProxy, ns);
      const bound = () => informer.list().filter((p) => p.spec.nodeName === node);
      const rawWatches: WatchCollector[] = [];
      try {
        await informer.start();
        const watchesBefore = await waitFor(() => proxy.watches, 'the informer to open its watch');

        // Arm the proxy: the first bound pod's event goes through, then the stream is broken — but
        // only once the informer has applied that event, so the partial delivery is certain.
        let atCut: { bound: string[]; lastResourceVersion: string } | undefined;
        const cut = proxy.cutAfter(
          (e) => e.type === 'MODIFIED' && e.object.spec?.nodeName === node,
          async () => {
            await waitFor(() => bound().length > 0, 'the informer to apply the event before the cut');
            atCut = { bound: bound().map(nameOf), lastResourceVersion: informer.lastResourceVersion };
          },
        );

        // One Placement, one transaction: five pods bound at one etcd revision, each write with a
        // resourceVersion of its own.
        const placement = await client.create<Placement>(PLACEMENTS, {
          apiVersion: 'scheduling.cell.dev/v1alpha1',
          kind: 'Placement',
          metadata: {},
          spec: { mode: 'AllOrNothing', bindings: names.map((podName) => ({ podNamespace: ns, podName, nodeName: node })) },
        });
        expect(placement.status?.bound).to.equal(5);
        const after = await serverList(client, ns);
        expect(after.map((p) => p.spec.nodeName)).to.deep.equal(names.map(() => node));
        const rvs = after.map(rvOf);
        expect(new Set(rvs).size, `a resourceVersion per write: ${summary(after).join(' ')}`).to.equal(5);
        expect(new Set(rvs.map((rv) => revisionOf(Number(rv)))).size, 'one etcd revision for the whole Placement').to.equal(1);
        const R = rvs.map(Number).sort((a, b) => a - b).map(String)[0]!;

        const { event } = await within(20_000, 'the proxy to cut the watch after the first bound pod', cut);
        expect(event.object.metadata.resourceVersion).to.equal(R);
        // The informer had exactly one of the five when its stream broke, and had reached R.
        expect(atCut?.bound).to.have.length(1);
        expect(atCut?.lastResourceVersion).to.equal(R);

        // It reconnects (through the same proxy, no longer armed) and catches up.
        await waitFor(() => bound().length === 5, 'all five pods bound in the informer cache', 20_000);
        expect(proxy.watches).to.be.greaterThan(watchesBefore);

        // What any client resuming from R gets: exactly the other four writes of that
        // transaction, then what followed (a marker).
        const base = `/api/v1/namespaces/${ns}/pods?watch=true&resourceVersion=`;
        const fromR = await WatchCollector.open(t.url, `${base}${R}`);
        rawWatches.push(fromR);
        const marker = await createPod(client, ns, 'marker');
        const hasMarker = (w: WatchCollector) => w.changes().some((e) => e.object.metadata.name === 'marker');
        await waitFor(() => hasMarker(fromR), 'the marker on the raw watch');
        const view = (es: WatchEventView[]) => es.map((e) => `${e.type} ${e.object.metadata.name}@${e.object.metadata.resourceVersion}`);
        const byRv = [...after].sort((a, b) => Number(rvOf(a)) - Number(rvOf(b)));
        expect(view(fromR.changes()), 'a watch resumed after R').to.deep.equal([
          ...byRv.slice(1).map((p) => `MODIFIED ${p.metadata.name}@${rvOf(p)}`),
          `ADDED marker@${rvOf(marker)}`,
        ]);

        // The informer: the later change arrives too, and each pod's binding reached the update
        // handler exactly once.
        await waitFor(() => rec.has('add', 'marker'), 'the marker pod in the informer');
        const bindings = rec.calls.filter((c) => c.type === 'update' && rvs.includes(c.rv));
        expect(bindings.map((c) => c.name).sort()).to.deep.equal(names);
        expect(bindings.every((c) => c.nodeName === node)).to.equal(true);
        expect(show(rec.calls.slice(5))).to.deep.equal([...show(bindings), `add marker@${rvOf(marker)}`]);
        expect(rec.duplicates()).to.deep.equal([]);
        expect(informer.relists).to.equal(1, 'recovered by the resumed watch, not by a re-list');
        await cacheMatchesServer(informer, client, ns);
      } finally {
        for (const w of rawWatches) await w.close();
        await informer.stop();
        viaProxy.close();
        await proxy.close();
      }
    });
  });

  describe('cell-apiserver child process, stopped and restarted on the same port', function () {
    before(() => {
      stateBy = 'watch-list';
    });
    const prefix = `/cell-informer-${randomUUID()}`;
    let port: number;
    let server: ApiServerProcess | undefined;
    let client: ApiClient;

    const start = () =>
      startApiServerProcess({
        etcdEndpoints: etcdEndpoints(),
        prefix,
        port,
        // History is kept (no compaction) unless a test compacts it (and no controller manager adds writes).
        args: ['--log-level=error', '--compaction-interval=0'],
      });

    /** Writes while the informer's server is down, through an in-process server on the same etcd prefix. */
    async function whileDown<T>(fn: (c: ApiClient) => Promise<T>): Promise<T> {
      const other = await startTestApiServer({ backend: 'etcd', prefix });
      const c = other.client();
      try {
        return await fn(c);
      } finally {
        c.close();
        await other.close();
      }
    }

    before(async function () {
      port = await freePort();
      server = await start();
      client = new ApiClient({ servers: [server.url] });
    });

    after(async function () {
      client?.close();
      if (server) await server.stop('SIGTERM', 5000);
    });

    it('resumes from history after a SIGKILL and restart: every change made while it was down and after, exactly once, no re-list', async function () {
      const ns = `inf-restart-${randomUUID().slice(0, 8)}`;
      await createNamespace(client, ns);
      for (const n of ['a', 'b', 'c']) await createPod(client, ns, n);
      const informerClient = new ApiClient({ servers: [server!.url] });
      const { informer, rec } = podInformer(informerClient, ns);
      try {
        await informer.start();
        // A change through the watch first, so the informer resumes from an event's revision.
        const a1 = await patchLabels(client, ns, 'a', { gen: '1' });
        await waitFor(() => rec.has('update', 'a', rvOf(a1)), 'update a before the kill');
        const mark = rec.calls.length;

        expect(await server!.stop('SIGKILL')).to.equal(null);
        // Concurrent writes, so that some may share a revision (group commit).
        const down = await whileDown(async (c) => {
          const created = await Promise.all(['d', 'e', 'f', 'g'].map((n) => createPod(c, ns, n)));
          const b1 = await patchLabels(c, ns, 'b', { gen: '1' });
          await c.delete(pod(ns, 'c'));
          return { created, b1 };
        });
        server = await start();
        const h = await createPod(client, ns, 'h');
        const d1 = await patchLabels(client, ns, 'd', { gen: '1' });
        await waitFor(() => rec.has('update', 'd', rvOf(d1)), 'the informer to catch up after the restart', 30_000);

        const expected = [
          ...down.created.map((p) => `add ${nameOf(p)}@${rvOf(p)}`),
          `update b@${rvOf(down.b1)}`,
          `delete c@${rec.calls.find((x) => x.type === 'add' && x.name === 'c')?.rv ?? '?'}`,
          `add h@${rvOf(h)}`,
          `update d@${rvOf(d1)}`,
        ];
        const got = rec.since(mark);
        expect(show(got).sort()).to.deep.equal(expected.sort());
        // In revision order (a delete carries the revision the cache had, so it is left out here).
        const revs = got.filter((x) => x.type !== 'delete').map((x) => Number(x.rv));
        expect(revs).to.deep.equal([...revs].sort((x, y) => x - y));
        expect(rec.duplicates()).to.deep.equal([]);
        expect(informer.relists).to.equal(1, 'history was kept: the watch resumed, no re-list');
        await cacheMatchesServer(informer, client, ns);
      } finally {
        await informer.stop();
        informerClient.close();
      }
    });

    it('re-lists after a 410 (history compacted while its watch was down) and hands the differences to the handlers', async function () {
      const ns = `inf-expired-${randomUUID().slice(0, 8)}`;
      await createNamespace(client, ns);
      const x = await createPod(client, ns, 'x');
      await createPod(client, ns, 'y');
      await createPod(client, ns, 'z');
      const informerClient = new ApiClient({ servers: [server!.url] });
      const { informer, rec } = podInformer(informerClient, ns);
      try {
        await informer.start();
        const z1 = await patchLabels(client, ns, 'z', { gen: '1' });
        await waitFor(() => rec.has('update', 'z', rvOf(z1)), 'update z before the stop');
        const seenRv = Number(informer.lastResourceVersion);
        const mark = rec.calls.length;

        await server!.stop('SIGTERM', 5000);
        const down = await whileDown(async (c) => {
          const n1 = await createPod(c, ns, 'n1');
          await c.delete(pod(ns, 'x'));
          const y1 = await patchLabels(c, ns, 'y', { gen: '1' });
          return { n1, y1 };
        });
        // Compact etcd past everything the informer has seen: its resume must get 410 Expired.
        const store = new EtcdStore({ endpoints: etcdEndpoints(), prefix });
        try {
          const rev = await store.currentRevision();
          expect(rev).to.be.greaterThan(revisionOf(seenRv) + 1);
          await store.compact(rev);
        } finally {
          await store.close();
        }
        server = await start();

        await waitFor(() => informer.relists === 2, 'the informer to re-list after the 410', 30_000);
        await cacheMatchesServer(informer, client, ns);
        // The re-list reports what changed meanwhile, each once (a delete for what is gone).
        expect(show(rec.since(mark)).sort()).to.deep.equal(
          [`add n1@${rvOf(down.n1)}`, `delete x@${rvOf(x)}`, `update y@${rvOf(down.y1)}`].sort(),
        );
        expect(informer.get(ns, 'x')).to.equal(undefined);

        // And it watches on from the re-list.
        const post = await createPod(client, ns, 'post');
        await waitFor(() => rec.has('add', 'post', rvOf(post)), 'a change after the re-list');
        expect(show(rec.since(mark + 3))).to.deep.equal([`add post@${rvOf(post)}`]);
        expect(rec.duplicates()).to.deep.equal([]);
        expect(informer.relists).to.equal(2);
        await cacheMatchesServer(informer, client, ns);
      } finally {
        await informer.stop();
        informerClient.close();
      }
    });
  });
});
