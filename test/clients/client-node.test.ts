// The official JavaScript client, @kubernetes/client-node (1.x), unchanged, against cell-apiserver
// run as a real child process on real etcd: CoreV1Api CRUD and error codes, and a list/watch
// informer (makeInformer) that must converge on the server's state across API server restarts —
// once resuming its watch from history, once re-listing after a 410 (history compacted meanwhile).
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import {
  ApiException,
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  makeInformer,
  setHeaderOptions,
  type Informer,
  type ObjectCache,
  type V1Pod,
} from '@kubernetes/client-node';
import { expect } from 'chai';
import { EtcdStore } from '../../apiserver/storage/etcd.js';
import { etcdEndpoints } from '../harness/apiserver.js';
import { freePort } from '../harness/ports.js';
import { startApiServerProcess, type ApiServerProcess } from './apiserver-process.js';
import { sleep, tempDir, waitFor, writeKubeconfig } from './helpers.js';

function pod(name: string, labels: Record<string, string> = {}): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels },
    spec: {
      containers: [
        {
          name: 'main',
          image: 'busybox',
          command: ['sleep', '3600'],
          resources: { requests: { cpu: '100m', memory: '64Mi' } },
        },
      ],
    },
  };
}

function clientFor(dir: string, server: string, file: string): { kc: KubeConfig; core: CoreV1Api } {
  const kc = new KubeConfig();
  // cell-apiserver speaks plain http: client-node 1.x then insists on insecure-skip-tls-verify.
  kc.loadFromFile(writeKubeconfig(path.join(dir, file), server, { insecureSkipTlsVerify: true }));
  return { kc, core: kc.makeApiClient(CoreV1Api) };
}

/** The error a client call rejects with, which must be an ApiException. */
async function apiError(p: Promise<unknown>): Promise<ApiException<unknown>> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ApiException) return err as ApiException<unknown>;
    throw new Error(`expected an ApiException, got ${String(err)}`);
  }
  throw new Error('expected the call to fail');
}

/** The Status in an ApiException's body (the client leaves non-2xx bodies as text or parsed JSON). */
function statusOf(err: ApiException<unknown>): { code?: number; reason?: string; message?: string; kind?: string } {
  const body = err.body;
  if (typeof body === 'string') return JSON.parse(body) as { code?: number; reason?: string };
  return body as { code?: number; reason?: string };
}

const summary = (pods: readonly V1Pod[]) =>
  pods
    .map((p) => `${p.metadata?.name}@${p.metadata?.resourceVersion}`)
    .sort()
    .join(' ');

describe('@kubernetes/client-node against cell-apiserver (child process, etcd)', function () {
  this.timeout(120_000);
  const prefix = `/cell-client-node-${randomUUID()}`;
  let port: number;
  let server: ApiServerProcess | undefined;
  let dir: string;
  let kc: KubeConfig;
  let core: CoreV1Api;

  const start = async (p: number) => startApiServerProcess({ etcdEndpoints: etcdEndpoints(), prefix, port: p, args: ['--log-level=warn'] });
  /**
   * SIGTERM, SIGKILL after 5 s. The informer tests are about convergence, so a slow shutdown is not
   * their failure; the test "exits 0 on SIGTERM …" below holds the server to a clean exit.
   */
  const stopServer = async (p: ApiServerProcess) => p.stop('SIGTERM', 5000);

  before(async function () {
    port = await freePort();
    server = await start(port);
    dir = tempDir('cell-client-node-');
    ({ kc, core } = clientFor(dir, server.url, 'kubeconfig'));
  });

  after(async function () {
    if (server) await stopServer(server);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe('CoreV1Api', function () {
    const namespace = 'default';

    it('creates, reads, lists, patches and deletes a pod', async function () {
      const created = await core.createNamespacedPod({ namespace, body: pod('crud', { app: 'crud' }) });
      expect(created.metadata?.name).to.equal('crud');
      expect(created.metadata?.uid).to.be.a('string');
      expect(created.metadata?.resourceVersion).to.match(/^\d+$/);
      expect(created.status?.phase).to.equal('Pending');

      const read = await core.readNamespacedPod({ name: 'crud', namespace });
      expect(read.metadata?.uid).to.equal(created.metadata?.uid);
      expect(read.spec?.containers[0]?.resources?.requests).to.deep.equal({ cpu: '100m', memory: '64Mi' });

      const list = await core.listNamespacedPod({ namespace, labelSelector: 'app=crud' });
      expect(list.items.map((p) => p.metadata?.name)).to.deep.equal(['crud']);
      expect(list.metadata?.resourceVersion).to.match(/^\d+$/);
      const none = await core.listNamespacedPod({ namespace, labelSelector: 'app=other' });
      expect(none.items).to.deep.equal([]);

      // The client's default patch type is JSON patch.
      const jp = await core.patchNamespacedPod({
        name: 'crud',
        namespace,
        body: [{ op: 'add', path: '/metadata/labels/tier', value: 'jp' }],
      });
      expect(jp.metadata?.labels).to.deep.equal({ app: 'crud', tier: 'jp' });
      // Merge patch, chosen through the client's header middleware.
      const mp = await core.patchNamespacedPod(
        { name: 'crud', namespace, body: { metadata: { labels: { tier: 'merge', extra: 'yes' } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      expect(mp.metadata?.labels).to.deep.equal({ app: 'crud', tier: 'merge', extra: 'yes' });
      expect(Number(mp.metadata?.resourceVersion)).to.be.greaterThan(Number(jp.metadata?.resourceVersion));
      // Strategic merge patch: containers merge by name.
      const smp = await core.patchNamespacedPod(
        { name: 'crud', namespace, body: { metadata: { labels: { extra: null } } } },
        setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
      );
      expect(smp.metadata?.labels).to.deep.equal({ app: 'crud', tier: 'merge' });
      // Server-side apply: the client's own strategy, a fieldManager, the applied fields recorded.
      const ssa = await core.patchNamespacedPod(
        { name: 'crud', namespace, fieldManager: 'js-client', body: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'crud', labels: { owned: 'js' } } } },
        setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
      );
      expect(ssa.metadata?.labels).to.deep.equal({ app: 'crud', tier: 'merge', owned: 'js' });
      expect(ssa.metadata?.managedFields?.map((m) => [m.manager, m.operation])).to.deep.equal([['js-client', 'Apply']]);

      // replace (PUT) with the current resourceVersion succeeds.
      const fresh = await core.readNamespacedPod({ name: 'crud', namespace });
      fresh.metadata = { ...fresh.metadata, labels: { app: 'crud', replaced: 'yes' } };
      const replaced = await core.replaceNamespacedPod({ name: 'crud', namespace, body: fresh });
      expect(replaced.metadata?.labels).to.deep.equal({ app: 'crud', replaced: 'yes' });

      const deleted = await core.deleteNamespacedPod({ name: 'crud', namespace });
      expect(deleted.metadata?.name ?? '').to.be.oneOf(['crud', '']);
      const gone = await apiError(core.readNamespacedPod({ name: 'crud', namespace }));
      expect(gone.code).to.equal(404);
    });

    it('a stale update is a 409 Conflict ApiException', async function () {
      const first = await core.createNamespacedPod({ namespace, body: pod('stale') });
      await core.patchNamespacedPod(
        { name: 'stale', namespace, body: { metadata: { labels: { moved: 'on' } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      // `first` carries the resourceVersion from before the patch.
      first.metadata = { ...first.metadata, labels: { stale: 'write' } };
      const err = await apiError(core.replaceNamespacedPod({ name: 'stale', namespace, body: first }));
      expect(err.code).to.equal(409);
      const status = statusOf(err);
      expect(status.kind).to.equal('Status');
      expect(status.reason).to.equal('Conflict');
      expect(status.code).to.equal(409);
      // Nothing was written.
      const now = await core.readNamespacedPod({ name: 'stale', namespace });
      expect(now.metadata?.labels).to.deep.equal({ moved: 'on' });
      await core.deleteNamespacedPod({ name: 'stale', namespace });
    });

    it('creating an existing name is a 409 AlreadyExists ApiException', async function () {
      await core.createNamespacedPod({ namespace, body: pod('twice') });
      const err = await apiError(core.createNamespacedPod({ namespace, body: pod('twice') }));
      expect(err.code).to.equal(409);
      expect(statusOf(err).reason).to.equal('AlreadyExists');
      await core.deleteNamespacedPod({ name: 'twice', namespace });
    });

    it('missing objects and namespaces are 404 ApiExceptions', async function () {
      const err = await apiError(core.readNamespacedPod({ name: 'no-such-pod', namespace }));
      expect(err.code).to.equal(404);
      expect(statusOf(err).reason).to.equal('NotFound');
      const del = await apiError(core.deleteNamespacedPod({ name: 'no-such-pod', namespace }));
      expect(del.code).to.equal(404);
      const ns = await apiError(core.readNamespace({ name: 'no-such-namespace' }));
      expect(ns.code).to.equal(404);
    });

    it('an invalid pod is a 422 ApiException naming the field', async function () {
      const bad = pod('Not_A_Valid_Name');
      const err = await apiError(core.createNamespacedPod({ namespace, body: bad }));
      expect(err.code).to.equal(422);
      const status = statusOf(err) as { reason?: string; details?: { causes?: { field?: string }[] } };
      expect(status.reason).to.equal('Invalid');
      expect((status.details?.causes ?? []).map((c) => c.field)).to.include('metadata.name');
    });
  });

  describe('ApiextensionsV1Api and CustomObjectsApi: a kind of ones own, and an informer on it', function () {
    const group = 'clients.example.com';
    const plural = 'gadgets';
    const namespace = 'default';
    interface Gadget {
      apiVersion?: string;
      kind?: string;
      metadata?: { name?: string; resourceVersion?: string };
      spec?: { size?: number; color?: string };
    }

    it('creates a definition, waits for Established, and writes, lists, patches and watches objects of it', async function () {
      const ext = kc.makeApiClient(ApiextensionsV1Api);
      const custom = kc.makeApiClient(CustomObjectsApi);
      await ext.createCustomResourceDefinition({
        body: {
          apiVersion: 'apiextensions.k8s.io/v1',
          kind: 'CustomResourceDefinition',
          metadata: { name: `${plural}.${group}` },
          spec: {
            group,
            scope: 'Namespaced',
            names: { plural, kind: 'Gadget' },
            versions: [
              {
                name: 'v1',
                served: true,
                storage: true,
                schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { size: { type: 'integer' }, color: { type: 'string', _default: 'red' } } } } } },
              },
            ],
          },
        },
      });
      await waitFor(async () => {
        const crd = await ext.readCustomResourceDefinition({ name: `${plural}.${group}` });
        return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
      }, 'Established');
      const made = (await custom.createNamespacedCustomObject({ group, version: 'v1', namespace, plural, body: { apiVersion: `${group}/v1`, kind: 'Gadget', metadata: { name: 'g1' }, spec: { size: 1 } } })) as Gadget;
      expect(made.spec).to.deep.equal({ size: 1, color: 'red' });
      const listGadgets = async () => (await custom.listNamespacedCustomObject({ group, version: 'v1', namespace, plural })) as { items: Gadget[]; metadata: { resourceVersion: string } };

      const seen: string[] = [];
      const informer = makeInformer<Gadget & { metadata: { name: string } }>(kc, `/apis/${group}/v1/namespaces/${namespace}/${plural}`, async () => {
        const list = await listGadgets();
        return { ...list, items: list.items as (Gadget & { metadata: { name: string } })[] } as never;
      });
      informer.on('add', (g) => seen.push(`add ${g.metadata?.name}`));
      informer.on('update', (g) => seen.push(`update ${g.metadata?.name} ${g.spec?.size}`));
      informer.on('delete', (g) => seen.push(`delete ${g.metadata?.name}`));
      await informer.start();
      try {
        await waitFor(() => seen.includes('add g1'), 'the initial list');
        await custom.createNamespacedCustomObject({ group, version: 'v1', namespace, plural, body: { apiVersion: `${group}/v1`, kind: 'Gadget', metadata: { name: 'g2' }, spec: { size: 2 } } });
        await custom.patchNamespacedCustomObject(
          { group, version: 'v1', namespace, plural, name: 'g1', body: { spec: { size: 5 } } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
        await custom.deleteNamespacedCustomObject({ group, version: 'v1', namespace, plural, name: 'g2' });
        await waitFor(() => seen.includes('delete g2'), 'delete g2');
        expect(seen).to.deep.equal(['add g1', 'add g2', 'update g1 5', 'delete g2']);
        const err = await apiError(custom.createNamespacedCustomObject({ group, version: 'v1', namespace, plural, body: { apiVersion: `${group}/v1`, kind: 'Gadget', metadata: { name: 'bad' }, spec: { size: 'big' } } }));
        expect(err.code).to.equal(422);
        expect(statusOf(err).message).to.contain('spec.size');
      } finally {
        await informer.stop();
      }
      // The definition stays: every restart below must serve it (its cache listed) before /readyz passes.
    });
  });

  describe('makeInformer (list + watch) across API server restarts', function () {
    const namespace = `informer-${randomUUID().slice(0, 8)}`;
    let informer: (Informer<V1Pod> & ObjectCache<V1Pod>) | undefined;
    let stopped = false;
    const events: string[] = [];
    const errors: string[] = [];
    let connects = 0;

    /** The server's own list of the namespace, read with a fresh client. */
    const serverList = async (api = core) => (await api.listNamespacedPod({ namespace })).items;
    const cacheMatchesServer = async () => {
      const [cached, actual] = [summary(informer!.list(namespace)), summary(await serverList())];
      return cached === actual ? cached : undefined;
    };

    before(async function () {
      await core.createNamespace({ body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } } });
      for (const name of ['a', 'b', 'c']) await core.createNamespacedPod({ namespace, body: pod(name, { gen: '1' }) });
      informer = makeInformer<V1Pod>(kc, `/api/v1/namespaces/${namespace}/pods`, () => core.listNamespacedPod({ namespace }));
      informer.on('add', (p) => events.push(`add ${p.metadata?.name}`));
      informer.on('update', (p) => events.push(`update ${p.metadata?.name} ${JSON.stringify(p.metadata?.labels ?? {})}`));
      informer.on('delete', (p) => events.push(`delete ${p.metadata?.name}`));
      informer.on('connect', () => connects++);
      // The client's documented pattern: an informer stops on error; the owner restarts it.
      informer.on('error', (err: unknown) => {
        errors.push(String((err as { message?: string }).message ?? err));
        if (!stopped) setTimeout(() => void informer?.start().catch(() => undefined), 100);
      });
      await informer.start();
    });

    after(async function () {
      stopped = true;
      await informer?.stop();
    });

    it('lists first, then sees adds, updates and deletes', async function () {
      await waitFor(() => informer!.list(namespace).length === 3, 'the initial list (3 pods) in the cache');
      expect(events.slice().sort()).to.deep.equal(['add a', 'add b', 'add c']);
      events.length = 0;

      await core.createNamespacedPod({ namespace, body: pod('d', { gen: '1' }) });
      await waitFor(() => events.includes('add d'), 'add d');
      await core.patchNamespacedPod(
        { name: 'a', namespace, body: { metadata: { labels: { gen: '2' } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      await waitFor(() => events.includes('update a {"gen":"2"}'), 'update a');
      await core.deleteNamespacedPod({ name: 'b', namespace });
      await waitFor(() => events.includes('delete b'), 'delete b');
      expect(events).to.deep.equal(['add d', 'update a {"gen":"2"}', 'delete b']);
      expect(informer!.get('a', namespace)?.metadata?.labels).to.deep.equal({ gen: '2' });
      expect(informer!.get('b', namespace)).to.equal(undefined);
      await waitFor(cacheMatchesServer, 'the cache to equal the server list');
      expect(errors).to.deep.equal([]);
    });

    it('converges after the API server restarts, with writes while it was down (watch resumes from history)', async function () {
      events.length = 0;
      const connectsBefore = connects;
      await stopServer(server!);

      // Writes while the informer's server is down, through a second instance on the same etcd prefix.
      const other = await start(await freePort());
      try {
        const { core: core2 } = clientFor(dir, other.url, 'kubeconfig-2');
        await core2.createNamespacedPod({ namespace, body: pod('e', { gen: '1' }) });
        await core2.patchNamespacedPod(
          { name: 'c', namespace, body: { metadata: { labels: { gen: '3' } } } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
        await core2.deleteNamespacedPod({ name: 'd', namespace });
      } finally {
        await stopServer(other);
      }
      // The informer keeps failing to reconnect while nothing listens on its port.
      await waitFor(() => errors.length > 0, 'the informer to notice the server is gone');

      server = await start(port);
      await waitFor(() => connects > connectsBefore && events.includes('delete d'), 'the informer to reconnect and catch up');
      // Writes after it is back.
      await core.createNamespacedPod({ namespace, body: pod('f', { gen: '1' }) });
      await waitFor(() => events.includes('add f'), 'add f');
      const final = await waitFor(cacheMatchesServer, 'the cache to equal the server list after the restart');
      expect(final.split(' ').map((s) => s.split('@')[0])).to.deep.equal(['a', 'c', 'e', 'f']);
      // Every missed change arrived, once, in order.
      expect(events).to.deep.equal(['add e', 'update c {"gen":"3"}', 'delete d', 'add f']);
    });

    it('re-lists and converges when history was compacted while the server was down (410 Expired)', async function () {
      events.length = 0;
      await stopServer(server!);

      const other = await start(await freePort());
      try {
        const { core: core2 } = clientFor(dir, other.url, 'kubeconfig-3');
        await core2.createNamespacedPod({ namespace, body: pod('g', { gen: '1' }) });
        await core2.deleteNamespacedPod({ name: 'a', namespace });
        await core2.patchNamespacedPod(
          { name: 'e', namespace, body: { metadata: { labels: { gen: '4' } } } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
      } finally {
        await stopServer(other);
      }
      // Compact etcd past everything the informer has seen: its resume must get 410 and re-list.
      const store = new EtcdStore({ endpoints: etcdEndpoints(), prefix });
      try {
        await store.compact(await store.currentRevision());
      } finally {
        await store.close();
      }

      server = await start(port);
      const final = await waitFor(cacheMatchesServer, 'the cache to equal the server list after a 410 re-list', 20_000);
      expect(final.split(' ').map((s) => s.split('@')[0])).to.deep.equal(['c', 'e', 'f', 'g']);
      expect(informer!.get('e', namespace)?.metadata?.labels).to.deep.equal({ gen: '4' });
      // The re-list reports the differences as events, each once.
      expect(events.slice().sort()).to.deep.equal(['add g', 'delete a', 'update e {"gen":"4"}']);

      // And it keeps watching from the re-list.
      await core.deleteNamespacedPod({ name: 'c', namespace });
      await waitFor(() => events.includes('delete c'), 'delete c after the re-list');
      await sleep(200);
      expect(await cacheMatchesServer()).to.not.equal(undefined);
    });
  });

  describe('shutdown', function () {
    /** Opens a raw watch; resolves once the response headers arrive. */
    const openWatch = (url: string) =>
      new Promise<{ ended: Promise<void>; close(): void }>((resolve, reject) => {
        const req = http.get(url, (res) => {
          res.resume();
          const ended = new Promise<void>((r) => res.once('close', () => r()));
          resolve({ ended, close: () => req.destroy() });
        });
        req.on('error', reject);
      });

    it('exits 0 on SIGTERM while clients watch, from the watch cache or from older history', async function () {
      const created = await core.createNamespacedPod({ namespace: 'default', body: pod('before-restart') });
      const rv = Number(created.metadata?.resourceVersion);
      // Restart, so that `rv` lies before the new server's watch-cache window: a watch from it is
      // served from etcd's history — what every informer does when it reconnects after a restart.
      await stopServer(server!);
      server = await start(port);
      const base = `${server.url}/api/v1/namespaces/default/pods?watch=true`;
      const fromCache = await openWatch(base);
      const fromHistory = await openWatch(`${base}&resourceVersion=${rv - 1}`);
      try {
        const t0 = Date.now();
        const code = await server.stop('SIGTERM', 10_000);
        expect(code, `exit code after SIGTERM (null: it hung and was SIGKILLed after 10 s):\n${server.output()}`).to.equal(0);
        expect(Date.now() - t0).to.be.below(5000);
        await fromCache.ended;
        await fromHistory.ended;
      } finally {
        fromCache.close();
        fromHistory.close();
        server = await start(port);
      }
    });
  });
});
