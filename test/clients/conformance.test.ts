// Client conformance: every official Kubernetes client that can be installed here, unchanged,
// watches cell through a proxy that cuts its watch streams at seeded points — between two events,
// in the middle of an event line, and between two writes of one etcd transaction (a Placement, a
// group commit). Each client resumes the way it does for Kubernetes (from the resourceVersion of
// the last event it handled) and must end having seen every change once, in order, exactly as a
// watch straight to the server saw it, with a cache equal to the server's list.
//
// Clients: kubectl (Debian's kubernetes-client, as .ci/run installs it; `get --raw` streams a watch,
// restarted from the last resourceVersion when the proxy cuts it), @kubernetes/client-node (its
// Watch, restarted by a loop as a program would; and makeInformer, restarted on error as its docs
// say), and the official Python client (Debian's python3-kubernetes; its Watch helper resumes by
// itself when a stream ends, and is restarted from its last resourceVersion when one breaks).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { rmSync, writeFileSync } from 'node:fs';
import { CoreV1Api, KubeConfig, Watch, makeInformer, type V1Pod } from '@kubernetes/client-node';
import { expect } from 'chai';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { podChurn } from '../harness/pod-churn.js';
import { seededRandom } from '../harness/random.js';
import { namespaceBody, nodeBody, podBody, raw, WatchCollector, type ListView } from '../apiserver/helpers.js';
import { findKubectl, findPython, run, tempDir, waitFor, writeKubeconfig } from './helpers.js';
import { startWatchCutProxy, type WatchCutProxy } from './watch-cut-proxy.js';

interface Seen {
  type: string;
  name: string;
  rv: string;
}

const NS = 'conformance';
const NODES = ['conf-n1', 'conf-n2', 'conf-n3'];
const SEED = 1414;

/** Complete JSON lines of `text` (a partial last line is left for later). */
function jsonLines<T>(text: string): T[] {
  const lines = text.split('\n');
  lines.pop();
  return lines.filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as T);
}

/** Replays events into name → resourceVersion: the state a client that saw them holds. */
function replay(events: Seen[]): string[] {
  const state = new Map<string, string>();
  for (const e of events) {
    if (e.type === 'DELETED') state.delete(e.name);
    else state.set(e.name, e.rv);
  }
  return [...state].map(([n, rv]) => `${n}@${rv}`).sort();
}

describe('official clients watch cell through a connection-cutting proxy, losing nothing (etcd)', function () {
  this.timeout(180_000);
  const kubectl = findKubectl();
  const python = findPython();
  const dir = tempDir('cell-conformance-');
  let t: TestApiServer;
  let proxy: WatchCutProxy;
  let kc: KubeConfig;
  let kubeconfig: string;
  /** What a watch straight to the server saw: the reference every client is held to. */
  let reference: Seen[] = [];
  let serverState: string[] = [];
  const clients = new Map<string, Seen[]>();
  const finalStates = new Map<string, string[]>();
  const resumes = new Map<string, number>();

  before(async function () {
    if (!kubectl) throw new Error('kubectl not found on PATH ($KUBECTL): .ci/run installs it (kubernetes-client)');
    if (!python) throw new Error('no python3 with the kubernetes package: .ci/run installs it (python3-kubernetes)');
    t = await startTestApiServer({ backend: 'etcd', bookmarkIntervalMs: 500 });
    proxy = await startWatchCutProxy(t.url);
    for (const n of NODES) expect((await raw(t.url, 'POST', '/api/v1/nodes', { body: nodeBody(n) })).status).to.equal(201);
    expect((await raw(t.url, 'POST', '/api/v1/namespaces', { body: namespaceBody(NS) })).status).to.equal(201);
    kubeconfig = writeKubeconfig(path.join(dir, 'kubeconfig'), proxy.url, { insecureSkipTlsVerify: true });
    kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
  });

  after(async function () {
    await proxy?.close();
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('all clients, watching at once while 3 writers churn pods: every change once, in order, through seeded cuts', async function () {
    const list = (await raw(t.url, 'GET', `/api/v1/namespaces/${NS}/pods`)).body as ListView;
    const startRv = list.metadata.resourceVersion ?? '';
    const direct = await WatchCollector.open(t.url, `/api/v1/namespaces/${NS}/pods?watch=true&resourceVersion=${startRv}`);
    const stoppers: (() => Promise<void>)[] = [];
    proxy.cutRandomly(seededRandom(SEED), 25);

    // @kubernetes/client-node Watch: restarted from the last resourceVersion whenever it ends.
    {
      const seen: Seen[] = [];
      clients.set('client-node Watch', seen);
      let rv = startRv;
      let stopped = false;
      let current: { abort(): void } | undefined;
      let restarts = 0;
      const startWatch = async (): Promise<void> => {
        if (stopped) return;
        current = await new Watch(kc).watch(
          `/api/v1/namespaces/${NS}/pods`,
          { resourceVersion: rv, allowWatchBookmarks: true },
          (type: string, obj: V1Pod) => {
            rv = obj.metadata?.resourceVersion ?? rv;
            if (type !== 'BOOKMARK') seen.push({ type, name: obj.metadata?.name ?? '', rv });
          },
          () => {
            restarts++;
            setTimeout(() => void startWatch().catch(() => setTimeout(() => void startWatch(), 100)), 20);
          },
        );
      };
      await startWatch();
      stoppers.push(async () => {
        stopped = true;
        current?.abort();
        resumes.set('client-node Watch', restarts);
      });
    }

    // @kubernetes/client-node makeInformer: its documented pattern restarts it on error; it
    // resumes from its own last resourceVersion.
    {
      const seen: Seen[] = [];
      clients.set('client-node informer', seen);
      const core = kc.makeApiClient(CoreV1Api);
      const informer = makeInformer<V1Pod>(kc, `/api/v1/namespaces/${NS}/pods`, () => core.listNamespacedPod({ namespace: NS }));
      const note = (type: string) => (p: V1Pod) => seen.push({ type, name: p.metadata?.name ?? '', rv: p.metadata?.resourceVersion ?? '' });
      informer.on('add', note('ADDED'));
      informer.on('update', note('MODIFIED'));
      informer.on('delete', note('DELETED'));
      let stopped = false;
      let restarts = 0;
      informer.on('error', () => {
        restarts++;
        if (!stopped) setTimeout(() => void informer.start().catch(() => undefined), 20);
      });
      await informer.start();
      stoppers.push(async () => {
        stopped = true;
        await informer.stop();
        finalStates.set('client-node informer', informer.list(NS).map((p) => `${p.metadata?.name}@${p.metadata?.resourceVersion}`).sort());
        resumes.set('client-node informer', restarts);
      });
    }

    // The official Python client.
    {
      const child = spawn(python!, [path.join(import.meta.dirname, 'python', 'cell_conformance.py'), 'watch', '--server', proxy.url, '--namespace', NS, '--resource-version', startRv, '--until', 'marker'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
      const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
      clients.set('python', []);
      stoppers.push(async () => {
        const code = await Promise.race([exited, new Promise<number>((r) => setTimeout(() => r(-1), 30_000))]);
        if (code === -1) child.kill('SIGKILL');
        expect(code, `python watch: ${err.slice(-2000)}`).to.equal(0);
        const lines = jsonLines<Seen & { reconnect?: string }>(out);
        clients.set('python', lines.filter((l) => l.reconnect === undefined).map(({ type, name, rv }) => ({ type, name, rv })));
        resumes.set('python', lines.filter((l) => l.reconnect !== undefined).length);
      });
    }

    // kubectl: `get --raw` streams the watch; restarted from the last whole event when cut.
    {
      const seen: Seen[] = [];
      clients.set('kubectl', seen);
      let rv = startRv;
      let restarts = 0;
      const loop = (async () => {
        for (;;) {
          const res = await run(kubectl!, ['--kubeconfig', kubeconfig, 'get', '--raw', `/api/v1/namespaces/${NS}/pods?watch=true&allowWatchBookmarks=true&resourceVersion=${rv}`], { timeoutMs: 120_000 });
          for (const ev of jsonLines<{ type: string; object: { metadata: { name: string; resourceVersion: string } } }>(res.stdout)) {
            rv = ev.object.metadata.resourceVersion;
            if (ev.type === 'BOOKMARK') continue;
            seen.push({ type: ev.type, name: ev.object.metadata.name, rv });
            if (ev.type === 'ADDED' && ev.object.metadata.name === 'marker') return;
          }
          restarts++;
        }
      })();
      stoppers.push(async () => {
        await loop;
        resumes.set('kubectl', restarts);
      });
    }

    const total = await podChurn({ url: t.url, namespace: NS, nodes: NODES, writers: 3, rounds: 6 });
    const marker = await raw(t.url, 'POST', `/api/v1/namespaces/${NS}/pods`, { body: podBody('marker') });
    expect(marker.status).to.equal(201);
    reference = (await direct.waitForEvents(total + 1, 60_000)).map((e) => ({ type: e.type, name: e.object.metadata.name, rv: e.object.metadata.resourceVersion ?? '' }));
    await direct.close();
    const hasMarker = (seen: Seen[]) => seen.some((e) => e.name === 'marker');
    await waitFor(() => hasMarker(clients.get('client-node Watch')!) && hasMarker(clients.get('client-node informer')!), 'the marker at the client-node watchers', 60_000);
    for (const stop of stoppers) await stop();
    proxy.stopCutting();
    const serverList = (await raw(t.url, 'GET', `/api/v1/namespaces/${NS}/pods`)).body as ListView;
    serverState = serverList.items.map((p) => `${p.metadata.name}@${p.metadata.resourceVersion}`).sort();

    for (const [name, seen] of clients) {
      const upToMarker = seen.slice(0, seen.findIndex((e) => e.name === 'marker') + 1);
      expect(upToMarker, `${name}: every change once, in order`).to.deep.equal(reference);
    }
    expect(reference).to.have.length(total + 1);
    for (const [name, seen] of clients) expect(finalStates.get(name) ?? replay(seen), `${name}: final state`).to.deep.equal(serverState);
  });

  it('the cuts hit every kind of place, and every client had to resume', function () {
    const kinds = new Set(proxy.cuts.map((c) => c.kind));
    expect([...kinds].sort(), `cuts: ${proxy.cuts.length}`).to.deep.equal(['between-events', 'inside-transaction', 'mid-line']);
    for (const name of clients.keys()) expect(resumes.get(name) ?? 0, `${name} resumed`).to.be.greaterThan(0);
  });

  it('Python client: create, get, list, replace, a stale replace (409), patch and delete', async function () {
    const res = await run(python!, [path.join(import.meta.dirname, 'python', 'cell_conformance.py'), 'crud', '--server', t.url, '--namespace', NS]);
    expect(res.code, res.stderr).to.equal(0);
    const steps = new Map(jsonLines<{ step: string } & Record<string, unknown>>(res.stdout).map((s) => [s.step, s]));
    expect(steps.get('create')).to.include({ name: 'py-crud' });
    expect(steps.get('get')?.rv).to.equal(steps.get('create')?.rv);
    expect(steps.get('list')?.names).to.deep.equal(['py-crud']);
    expect(steps.get('replace')?.labels).to.deep.equal({ step: 'replaced' });
    expect(Number(steps.get('replace')?.rv)).to.be.greaterThan(Number(steps.get('create')?.rv));
    expect(steps.get('stale-replace')).to.include({ status: 409, reason: 'Conflict' });
    expect(steps.get('patch')?.labels).to.deep.equal({ step: 'replaced', patched: 'yes' });
    expect(steps.get('get-deleted')).to.include({ status: 404 });
  });

  it('Python client: Services (allocated IP and node port, replace keeps them, a taken IP refused) and Endpoints', async function () {
    const res = await run(python!, [path.join(import.meta.dirname, 'python', 'cell_conformance.py'), 'services', '--server', t.url, '--namespace', NS]);
    expect(res.code, res.stderr).to.equal(0);
    const steps = new Map(jsonLines<{ step: string } & Record<string, unknown>>(res.stdout).map((s) => [s.step, s]));
    const created = steps.get('create')!;
    expect(created).to.include({ type: 'NodePort', targetPort: 'http' });
    expect(created.clusterIP).to.match(/^10\./);
    expect(created.nodePort).to.be.within(30000, 32767);
    expect(steps.get('replace')).to.deep.include({ clusterIP: created.clusterIP, nodePort: created.nodePort, selector: { app: 'py2' } });
    expect(steps.get('taken')).to.deep.include({ status: 422, fields: ['spec.clusterIPs[0]'] });
    expect(steps.get('endpoints')).to.deep.include({ ips: ['192.168.1.5'], ports: [5432] });
    expect(steps.get('list')?.names).to.deep.equal(['py-ext', 'py-svc']);
    expect(steps.get('deleted')?.names).to.deep.equal([]);
  });

  it('kubectl: create, get, list, replace, patch and delete', async function () {
    const k = (...args: string[]) => run(kubectl!, ['--kubeconfig', kubeconfig, '-n', NS, ...args]);
    const file = path.join(dir, 'pod.json');
    const body = { ...podBody('kc-crud', { labels: { step: 'created' } }), metadata: { name: 'kc-crud', labels: { step: 'created' } } };
    writeFileSync(file, JSON.stringify(body));
    const created = await k('create', '-f', file);
    expect(created.code, created.stderr).to.equal(0);
    const got = await k('get', 'pod', 'kc-crud', '-o', 'json');
    const obj = JSON.parse(got.stdout) as { metadata: { resourceVersion: string; labels: Record<string, string> } };
    expect(obj.metadata.labels).to.deep.equal({ step: 'created' });
    const listed = await k('get', 'pods', '-l', 'step=created', '-o', 'name');
    expect(listed.stdout.trim()).to.equal('pod/kc-crud');
    writeFileSync(file, JSON.stringify({ ...obj, metadata: { ...obj.metadata, labels: { step: 'replaced' } } }));
    const replaced = await k('replace', '-f', file);
    expect(replaced.code, replaced.stderr).to.equal(0);
    const stale = await k('replace', '-f', file);
    expect(stale.code).to.not.equal(0);
    expect(stale.stderr).to.match(/Conflict|modified/);
    const patched = await k('patch', 'pod', 'kc-crud', '--type=merge', '-p', '{"metadata":{"labels":{"patched":"yes"}}}');
    expect(patched.code, patched.stderr).to.equal(0);
    const after = JSON.parse((await k('get', 'pod', 'kc-crud', '-o', 'json')).stdout) as { metadata: { labels: Record<string, string> } };
    expect(after.metadata.labels).to.deep.equal({ step: 'replaced', patched: 'yes' });
    const deleted = await k('delete', 'pod', 'kc-crud');
    expect(deleted.code, deleted.stderr).to.equal(0);
    const gone = await k('get', 'pod', 'kc-crud');
    expect(gone.code).to.not.equal(0);
    expect(gone.stderr).to.match(/NotFound|not found/);
  });
});
