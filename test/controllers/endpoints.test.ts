// The endpoints controller against a real API server on etcd: each selector Service's Endpoints
// follow its pods (readiness, labels, addresses, named ports, deletes) under concurrent change,
// hand-kept Endpoints of a Service without a selector are left alone, and real kubectl exposes a
// Deployment, lists Services and Endpoints, and describes a Service with its endpoints.
import { expect } from 'chai';
import { endpointsControllerDefinition } from '../../controllers/endpoints/controller.js';
import { endpointSliceControllerDefinition } from '../../controllers/endpointslice/controller.js';
import type { EndpointSlice } from '../../shared/api/endpoint-slice.js';
import type { Pod } from '../../shared/api/core.js';
import type { Endpoints, Service } from '../../shared/api/service.js';
import type { ApiClient } from '../../shared/client/http-client.js';
import { NotFoundError } from '../../shared/errors.js';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { podBody } from '../apiserver/helpers.js';
import { cellctl, isolatedEnv, runProcess, tempDir, waitFor } from '../cli/helpers.js';
import { startControllers } from './helpers.js';

const NS = 'ep-test';
const PODS = { version: 'v1', resource: 'pods', namespace: NS };
const SERVICES = { version: 'v1', resource: 'services', namespace: NS };
const ENDPOINTS = { version: 'v1', resource: 'endpoints', namespace: NS };
const SLICES = { group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices', namespace: NS };

/** A pod with container ports `http` (given) and 9090, unbound. */
function pod(name: string, labels: Record<string, string>, httpPort: number): Record<string, unknown> {
  return podBody(name, { labels, containers: [{ name: 'app', image: 'busybox', ports: [{ name: 'http', containerPort: httpPort }, { containerPort: 9090 }] } as never] });
}

describe('endpoints controller (etcd)', function () {
  this.timeout(90_000);
  let api: TestApiServer;
  let client: ApiClient;
  let controllers: { stop(): Promise<void> };

  /** Report the pod running at `ip`, ready or not (what an agent writes). */
  const setStatus = async (name: string, ip: string | undefined, ready: boolean) => {
    const current = await client.get<Pod>({ ...PODS, name });
    const status = {
      phase: 'Running',
      ...(ip ? { podIP: ip, podIPs: [{ ip }], hostIP: ip } : {}),
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
    };
    await client.update({ ...PODS, name, subresource: 'status' }, { ...current, status });
  };
  const endpointsOf = (name: string) => client.get<Endpoints>({ ...ENDPOINTS, name }).catch((e: unknown) => (e instanceof NotFoundError ? undefined : Promise.reject(e)));
  /** address → ports, and the not-ready addresses, as one comparable summary. */
  const summary = (ep: Endpoints | undefined) =>
    (ep?.subsets ?? []).map((s) => ({
      ready: (s.addresses ?? []).map((a) => a.targetRef?.name).sort(),
      notReady: (s.notReadyAddresses ?? []).map((a) => a.targetRef?.name).sort(),
      ports: (s.ports ?? []).map((p) => `${p.name ?? ''}:${p.port}`).sort(),
    }));
  const slicesOf = async (name: string) => (await client.list<{ items: EndpointSlice[] }>(SLICES, { labelSelector: `kubernetes.io/service-name=${name}` })).items;
  /** Each slice as its ports and endpoints (`pod:ready/serving/terminating`), in a stable order. */
  const sliceSummary = (slices: EndpointSlice[]) =>
    slices
      .map((sl) => ({
        ports: (sl.ports ?? []).map((p) => `${p.name ?? ''}:${p.port ?? ''}`).sort(),
        endpoints: sl.endpoints.map((e) => `${e.targetRef?.name ?? ''}:${e.conditions?.ready ? 'R' : '-'}${e.conditions?.serving ? 'S' : '-'}${e.conditions?.terminating ? 'T' : '-'}`).sort(),
      }))
      .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  const waitSlices = (name: string, want: ReturnType<typeof sliceSummary>) =>
    waitFor(async () => {
      const got = sliceSummary(await slicesOf(name));
      return JSON.stringify(got) === JSON.stringify(want) ? got : undefined;
    }, `slices of ${name} = ${JSON.stringify(want)}`);
  const waitSummary = (name: string, want: ReturnType<typeof summary>) =>
    waitFor(async () => {
      const got = summary(await endpointsOf(name));
      return JSON.stringify(got) === JSON.stringify(want) ? got : undefined;
    }, `endpoints ${name} = ${JSON.stringify(want)}`);

  before(async () => {
    api = await startTestApiServer({ backend: 'etcd' });
    client = api.client();
    await client.create({ version: 'v1', resource: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    await client.create({ version: 'v1', resource: 'serviceaccounts', namespace: NS }, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } });
    controllers = await startControllers(client, [endpointsControllerDefinition, endpointSliceControllerDefinition]);
  });
  after(async () => {
    await controllers?.stop();
    client?.close();
    await api?.close();
  });

  it('lists ready and not-ready pods by the ports they serve, and follows readiness, labels and deletes', async () => {
    await client.create(SERVICES, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', labels: { tier: 'front' } },
      spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }, { name: 'metrics', port: 9090 }] },
    });
    // No pods yet: an empty Endpoints, with the Service's labels.
    const empty = await waitFor(() => endpointsOf('web'), 'empty endpoints');
    expect(empty.subsets ?? []).to.deep.equal([]);
    expect(empty.metadata.labels).to.deep.equal({ tier: 'front' });

    await client.create(PODS, pod('a', { app: 'web' }, 8080));
    await client.create(PODS, pod('b', { app: 'web' }, 8081));
    await client.create(PODS, pod('c', { app: 'web' }, 8080));
    await client.create(PODS, pod('other', { app: 'db' }, 8080));
    await client.create(PODS, pod('no-ip', { app: 'web' }, 8080));
    await setStatus('a', '10.0.0.1', true);
    await setStatus('b', '10.0.0.2', true);
    await setStatus('c', '10.0.0.3', false);
    await setStatus('other', '10.0.0.4', true);
    await setStatus('no-ip', undefined, true);
    // Named port http resolves per pod: two subsets.
    await waitSummary('web', [
      { ready: ['a'], notReady: ['c'], ports: ['http:8080', 'metrics:9090'] },
      { ready: ['b'], notReady: [], ports: ['http:8081', 'metrics:9090'] },
    ]);
    // The same pods in EndpointSlices, one per set of ports, with their conditions; labelled and owned.
    await waitSlices('web', [
      { ports: ['http:8080', 'metrics:9090'], endpoints: ['a:RS-', 'c:---'] },
      { ports: ['http:8081', 'metrics:9090'], endpoints: ['b:RS-'] },
    ]);
    const slice = (await slicesOf('web'))[0]!;
    expect(slice.addressType).to.equal('IPv4');
    expect(slice.metadata.name).to.match(/^web-/);
    expect(slice.metadata.labels).to.include({ 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io', tier: 'front' });
    expect(slice.metadata.ownerReferences?.[0]).to.include({ kind: 'Service', name: 'web', controller: true });
    const ep = (await endpointsOf('web'))!;
    const addr = ep.subsets!.flatMap((s) => s.addresses ?? []).find((a) => a.targetRef?.name === 'a')!;
    expect(addr).to.deep.include({ ip: '10.0.0.1' });
    expect(addr.targetRef).to.deep.include({ kind: 'Pod', namespace: NS, name: 'a' });

    await setStatus('c', '10.0.0.3', true);
    await client.patch({ ...PODS, name: 'b' }, { metadata: { labels: { app: 'gone' } } });
    await waitSummary('web', [{ ready: ['a', 'c'], notReady: [], ports: ['http:8080', 'metrics:9090'] }]);
    await client.delete({ ...PODS, name: 'a' }, { gracePeriodSeconds: 0 });
    await waitSummary('web', [{ ready: ['c'], notReady: [], ports: ['http:8080', 'metrics:9090'] }]);
    await waitSlices('web', [{ ports: ['http:8080', 'metrics:9090'], endpoints: ['c:RS-'] }]);

    // Someone edits the Endpoints by hand: put back.
    const current = (await endpointsOf('web'))!;
    await client.update({ ...ENDPOINTS, name: 'web' }, { ...current, subsets: [{ addresses: [{ ip: '192.168.9.9' }], ports: [{ port: 1 }] }] });
    await waitSummary('web', [{ ready: ['c'], notReady: [], ports: ['http:8080', 'metrics:9090'] }]);

    // The Service goes: its Endpoints go with it.
    await client.delete({ ...SERVICES, name: 'web' });
    await waitFor(async () => (await endpointsOf('web')) === undefined || undefined, 'endpoints deleted');
    await waitFor(async () => (await slicesOf('web')).length === 0 || undefined, 'slices deleted');
  });

  it('ends with exactly the ready pods after many concurrent changes', async () => {
    await client.create(SERVICES, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'many' }, spec: { selector: { app: 'many' }, ports: [{ port: 80, targetPort: 8080 }] } });
    const names = Array.from({ length: 30 }, (_, i) => `m-${i}`);
    await Promise.all(names.map((n) => client.create(PODS, pod(n, { app: 'many' }, 8080))));
    // Each pod flips readiness a few times at once with the others; the last word is ready for even ones.
    await Promise.all(
      names.map(async (n, i) => {
        for (const ready of [true, false, i % 2 === 0]) await setStatus(n, `10.1.0.${i + 1}`, ready);
      }),
    );
    const ready = names.filter((_, i) => i % 2 === 0).sort();
    const notReady = names.filter((_, i) => i % 2 === 1).sort();
    await waitSummary('many', [{ ready, notReady, ports: [':8080'] }]);
    // And every address appears once.
    const ep = (await endpointsOf('many'))!;
    const ips = ep.subsets!.flatMap((s) => [...(s.addresses ?? []), ...(s.notReadyAddresses ?? [])].map((a) => a.ip));
    expect(new Set(ips).size).to.equal(30);
    expect(ips).to.have.length(30);
    // And one slice holds them all, with their readiness, however many writes raced.
    await waitSlices('many', [{ ports: [':8080'], endpoints: [...ready.map((n) => `${n}:RS-`), ...notReady.map((n) => `${n}:---`)].sort() }]);
    expect(await slicesOf('many')).to.have.length(1);
  });

  it('leaves the Endpoints of a Service without a selector to whoever writes them', async () => {
    await client.create(SERVICES, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'external-db' }, spec: { ports: [{ port: 5432 }] } });
    await client.create(ENDPOINTS, { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'external-db' }, subsets: [{ addresses: [{ ip: '192.168.1.50' }], ports: [{ port: 5432 }] }] });
    // A selector Service made after it is handled: the controller has seen the hand-kept one by then.
    await client.create(SERVICES, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'marker' }, spec: { selector: { app: 'none' }, ports: [{ port: 1 }] } });
    await waitFor(() => endpointsOf('marker'), 'marker endpoints');
    expect(summary(await endpointsOf('external-db'))).to.deep.equal([{ ready: [undefined], notReady: [], ports: [':5432'] }]);
    expect((await endpointsOf('external-db'))!.subsets![0]!.addresses![0]!.ip).to.equal('192.168.1.50');
  });

  it('works with real kubectl: expose, get svc and ep, describe svc', async () => {
    const dir = tempDir();
    const env = isolatedEnv(dir);
    const kubectl = async (...args: string[]) => {
      const r = await runProcess('kubectl', [`--server=${api.url}`, '-n', NS, ...args], { env });
      expect(r.code, `kubectl ${args.join(' ')}: ${r.stderr}`).to.equal(0);
      return r.stdout;
    };
    await client.create({ group: 'apps', version: 'v1', resource: 'deployments', namespace: NS }, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'shop' },
      spec: { replicas: 1, selector: { matchLabels: { app: 'shop' } }, template: { metadata: { labels: { app: 'shop' } }, spec: { containers: [{ name: 'app', image: 'busybox', ports: [{ name: 'http', containerPort: 8080 }] }] } } },
    });
    expect(await kubectl('expose', 'deployment', 'shop', '--port=80', '--target-port=http', '--type=NodePort')).to.contain('service/shop exposed');
    const svc = await client.get<Service>({ ...SERVICES, name: 'shop' });
    expect(svc.spec.selector).to.deep.equal({ app: 'shop' });
    const nodePort = svc.spec.ports![0]!.nodePort!;
    await client.create(PODS, pod('shop-1', { app: 'shop' }, 8080));
    await setStatus('shop-1', '10.2.0.1', true);
    await waitSummary('shop', [{ ready: ['shop-1'], notReady: [], ports: [':8080'] }]);

    const svcs = await kubectl('get', 'svc', 'shop');
    expect(svcs.split('\n')[0]).to.match(/^NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE/);
    expect(svcs).to.match(new RegExp(`shop\\s+NodePort\\s+${svc.spec.clusterIP!.replace(/\./g, '\\.')}\\s+<none>\\s+80:${nodePort}/TCP`));
    expect(await kubectl('get', 'ep', 'shop')).to.match(/shop\s+10\.2\.0\.1:8080\s/);
    const described = await kubectl('describe', 'svc', 'shop');
    expect(described).to.match(/Selector:\s+app=shop/);
    expect(described).to.match(new RegExp(`IP:\\s+${svc.spec.clusterIP!.replace(/\./g, '\\.')}`));
    expect(described).to.match(/Endpoints:\s+10\.2\.0\.1:8080/);
    expect(described).to.match(new RegExp(`NodePort:\\s+<unset>\\s+${nodePort}/TCP`));
    // cellctl describes it the same way, and lists it in `get all`.
    const mine = await cellctl([`--server=${api.url}`, '-n', NS, 'describe', 'svc', 'shop'], { env });
    expect(mine.code, mine.stderr).to.equal(0);
    for (const line of [/Selector:\s+app=shop/, /Type:\s+NodePort/, /TargetPort:\s+http\/TCP/, /Endpoints:\s+10\.2\.0\.1:8080/, new RegExp(`NodePort:\\s+<unset>\\s+${nodePort}/TCP`)]) {
      expect(mine.stdout).to.match(line);
    }
    const all = await cellctl([`--server=${api.url}`, '-n', NS, 'get', 'all'], { env });
    expect(all.stdout).to.match(/service\/shop\s+NodePort/);
  });
});
