// Kubernetes verb semantics over real HTTP and real etcd: create/get/list/update/patch/delete for
// every stored kind, server-set metadata, optimistic concurrency, the status split, pod spec
// immutability, the three patch flavours, graceful delete, finalizers, preconditions,
// deletecollection and dryRun.
import { expect } from 'chai';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import {
  causeFields,
  eventBody,
  expectStatus,
  leaseBody,
  namespaceBody,
  nodeBody,
  podBody,
  podGroupBody,
  raw,
  type ListView,
  type Obj,
  type PodView,
  type RawOptions,
  waitFor,
} from './helpers.js';

const PODS = '/api/v1/namespaces/default/pods';
const NODES = '/api/v1/nodes';

describe('apiserver CRUD (etcd)', function () {
  this.timeout(30_000);
  let t: TestApiServer;
  const req = (method: string, path: string, opts?: RawOptions) => raw(t.url, method, path, opts);
  const ok = async <T = Obj>(method: string, path: string, opts?: RawOptions, code?: number): Promise<T> => {
    const res = await req(method, path, opts);
    const want = code ?? (method === 'POST' ? 201 : 200);
    expect(res.status, `${method} ${path}: ${res.text.slice(0, 400)}`).to.equal(want);
    return res.body as T;
  };

  before(async () => {
    t = await startTestApiServer({ backend: 'etcd' });
    // A node with room, so pods created with spec.nodeName are accepted by allocation accounting.
    await ok('POST', NODES, { body: nodeBody('crud-node') });
  });
  after(async () => {
    await t?.close();
  });

  it('starts with the default, kube-system and kube-node-lease namespaces', async () => {
    const list = await ok<ListView>('GET', '/api/v1/namespaces');
    const names = list.items.map((n) => n.metadata.name);
    expect(names).to.include.members(['default', 'kube-system', 'kube-node-lease']);
    for (const n of ['default', 'kube-system', 'kube-node-lease']) {
      const ns = await ok('GET', `/api/v1/namespaces/${n}`);
      expect(ns.status?.phase).to.equal('Active');
    }
  });

  const kinds: { kind: string; collection: string; body: (name: string) => Record<string, unknown>; mutate: (o: Obj) => void }[] = [
    { kind: 'Pod', collection: PODS, body: (n) => podBody(n), mutate: (o) => ((o.metadata.labels ??= {}).changed = 'yes') },
    { kind: 'Node', collection: NODES, body: (n) => nodeBody(n), mutate: (o) => ((o.spec ??= {}).unschedulable = true) },
    { kind: 'Namespace', collection: '/api/v1/namespaces', body: namespaceBody, mutate: (o) => ((o.metadata.labels ??= {}).changed = 'yes') },
    {
      kind: 'Lease',
      collection: '/apis/coordination.k8s.io/v1/namespaces/default/leases',
      body: (n) => leaseBody(n),
      mutate: (o) => ((o.spec ??= {}).holderIdentity = 'someone-else'),
    },
    { kind: 'Event', collection: '/api/v1/namespaces/default/events', body: (n) => eventBody(n), mutate: (o) => (o.message = 'changed') },
    {
      kind: 'PodGroup',
      collection: '/apis/scheduling.x-k8s.io/v1alpha1/namespaces/default/podgroups',
      body: (n) => podGroupBody(n),
      mutate: (o) => ((o.spec ??= {}).minMember = 5),
    },
  ];

  for (const k of kinds) {
    it(`create/get/list/update/patch/delete a ${k.kind}`, async () => {
      const name = `verbs-${k.kind.toLowerCase()}`;
      const created = await ok('POST', k.collection, { body: k.body(name) });
      expect(created.kind).to.equal(k.kind);
      expect(created.metadata.name).to.equal(name);
      expect(created.metadata.resourceVersion).to.match(/^\d+$/);
      const path = `${k.collection}/${name}`;

      const got = await ok('GET', path);
      expect(got).to.deep.equal(created);

      const list = await ok<ListView>('GET', k.collection);
      expect(list.kind).to.equal(`${k.kind}List`);
      expect(list.metadata.resourceVersion).to.match(/^\d+$/);
      expect(Number(list.metadata.resourceVersion)).to.be.at.least(Number(created.metadata.resourceVersion));
      expect(list.items.map((i) => i.metadata.name)).to.include(name);

      const changed = structuredClone(got);
      k.mutate(changed);
      const updated = await ok('PUT', path, { body: changed });
      expect(Number(updated.metadata.resourceVersion)).to.be.greaterThan(Number(got.metadata.resourceVersion));
      expect(updated.metadata.uid).to.equal(created.metadata.uid);
      const reread = await ok('GET', path);
      expect(reread).to.deep.equal(updated);

      const patched = await ok('PATCH', path, {
        body: { metadata: { annotations: { 'example.com/patched': 'true' } } },
        contentType: 'application/merge-patch+json',
      });
      expect(patched.metadata.annotations?.['example.com/patched']).to.equal('true');
      expect(Number(patched.metadata.resourceVersion)).to.be.greaterThan(Number(updated.metadata.resourceVersion));

      const deleted = await req('DELETE', path);
      if (k.kind === 'Namespace') {
        // A namespace goes Terminating first; the server empties it, then removes it.
        expect(deleted.status, deleted.text).to.be.oneOf([200, 202]);
        await waitFor('the namespace to be gone', async () => (await req('GET', path)).status === 404);
      } else {
        expect(deleted.status, deleted.text).to.equal(200);
      }
      expectStatus(await req('GET', path), 404, 'NotFound');
    });
  }

  it('generateName gives each create a fresh name with the prefix', async () => {
    const body = podBody('');
    (body.metadata as Record<string, unknown>) = { generateName: 'gen-' };
    const a = await ok('POST', PODS, { body });
    const b = await ok('POST', PODS, { body });
    expect(a.metadata.name).to.match(/^gen-[a-z0-9]{5}$/);
    expect(b.metadata.name).to.match(/^gen-[a-z0-9]{5}$/);
    expect(a.metadata.name).to.not.equal(b.metadata.name);
    expect(a.metadata.generateName).to.equal('gen-');
    await ok('GET', `${PODS}/${a.metadata.name}`);
  });

  it('says with a Warning that a pod spec\'s volumes are dropped, wherever the pod spec sits, and nothing when there are none', async () => {
    const body = podBody('with-volumes') as { spec: Record<string, unknown> };
    body.spec['volumes'] = [{ name: 'config', configMap: { name: 'app' } }];
    const created = await req('POST', PODS, { body });
    expect(created.status).to.equal(201);
    expect(created.headers.get('warning')).to.equal('299 - "spec.volumes: dropped: cell runs a pod\'s containers as host processes, without volumes or volumeMounts"');
    expect((created.body as { spec: Record<string, unknown> }).spec).to.not.have.property('volumes');
    const template = { metadata: { labels: { app: 'v' } }, spec: { containers: [{ name: 'c', image: 'busybox' }], volumes: [{ name: 'scratch', emptyDir: {} }] } };
    const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'with-volumes' }, spec: { selector: { matchLabels: { app: 'v' } }, template } };
    const d = await req('POST', '/apis/apps/v1/namespaces/default/deployments', { body: deployment });
    expect(d.status, d.text).to.equal(201);
    expect(d.headers.get('warning')).to.contain('spec.template.spec.volumes: dropped');
    const plain = await req('POST', PODS, { body: podBody('without-volumes') });
    expect(plain.headers.get('warning')).to.equal(null);
  });

  it('sets uid, creationTimestamp, generation and resourceVersion itself', async () => {
    const body = podBody('server-meta');
    Object.assign(body.metadata as Record<string, unknown>, {
      uid: 'client-chosen-uid',
      creationTimestamp: '2001-01-01T00:00:00Z',
      generation: 42,
      resourceVersion: '12345',
      deletionTimestamp: '2001-01-01T00:00:00Z',
    });
    const before = Date.now();
    const pod = await ok('POST', PODS, { body });
    expect(pod.metadata.uid).to.match(/^[0-9a-f-]{36}$/).and.not.equal('client-chosen-uid');
    expect(pod.metadata.generation).to.equal(1);
    expect(pod.metadata.deletionTimestamp).to.equal(undefined);
    expect(pod.metadata.resourceVersion).to.not.equal('12345');
    expect(pod.metadata.creationTimestamp).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const created = Date.parse(pod.metadata.creationTimestamp);
    expect(created).to.be.within(before - 2000, Date.now() + 1000);

    // An update cannot move them either (a different uid is refused: test/hostile/writes.test.ts).
    const changed = structuredClone(pod);
    changed.metadata.creationTimestamp = '2001-01-01T00:00:00Z';
    changed.metadata.generation = 99;
    const updated = await ok('PUT', `${PODS}/server-meta`, { body: changed });
    expect(updated.metadata.uid).to.equal(pod.metadata.uid);
    expect(updated.metadata.creationTimestamp).to.equal(pod.metadata.creationTimestamp);
    expect(updated.metadata.generation).to.equal(1);
  });

  it('bumps metadata.generation on spec changes only', async () => {
    const pod = await ok<PodView>('POST', PODS, { body: podBody('gen-pod') });
    expect(pod.metadata.generation).to.equal(1);
    const path = `${PODS}/gen-pod`;
    // Labels: no spec change.
    const labelled = await ok<PodView>('PATCH', path, { body: { metadata: { labels: { a: 'b' } } }, contentType: 'application/merge-patch+json' });
    expect(labelled.metadata.generation).to.equal(1);
    // Status: no spec change.
    const st = await ok<PodView>('PATCH', `${path}/status`, { body: { status: { phase: 'Running' } }, contentType: 'application/merge-patch+json' });
    expect(st.metadata.generation).to.equal(1);
    // Image: a (mutable) spec change.
    const image = structuredClone(st);
    image.spec.containers[0]!.image = 'busybox:2';
    const imaged = await ok<PodView>('PUT', path, { body: image });
    expect(imaged.metadata.generation).to.equal(2);
    // activeDeadlineSeconds via patch.
    const deadline = await ok<PodView>('PATCH', path, { body: { spec: { activeDeadlineSeconds: 600 } }, contentType: 'application/merge-patch+json' });
    expect(deadline.metadata.generation).to.equal(3);

    const pgPath = '/apis/scheduling.x-k8s.io/v1alpha1/namespaces/default/podgroups';
    const pg = await ok('POST', pgPath, { body: podGroupBody('gen-pg', 2) });
    expect(pg.metadata.generation).to.equal(1);
    const pg2 = await ok('PATCH', `${pgPath}/gen-pg`, { body: { spec: { minMember: 3 } }, contentType: 'application/merge-patch+json' });
    expect(pg2.metadata.generation).to.equal(2);
    const pg3 = await ok('PATCH', `${pgPath}/gen-pg/status`, { body: { status: { phase: 'Scheduling' } }, contentType: 'application/merge-patch+json' });
    expect(pg3.metadata.generation).to.equal(2);
    expect(pg3.status?.phase).to.equal('Scheduling');
    // A no-op write changes nothing, not even the resourceVersion.
    const same = await ok('PUT', `${pgPath}/gen-pg`, { body: pg3 });
    expect(same.metadata.resourceVersion).to.equal(pg3.metadata.resourceVersion);
    expect(same.metadata.generation).to.equal(2);
  });

  it('rejects an update with a stale resourceVersion with 409 Conflict', async () => {
    const pod = await ok('POST', PODS, { body: podBody('stale') });
    const path = `${PODS}/stale`;
    const first = structuredClone(pod);
    (first.metadata.labels ??= {}).v = '1';
    await ok('PUT', path, { body: first });
    const second = structuredClone(pod);
    (second.metadata.labels ??= {}).v = '2';
    const s = expectStatus(await req('PUT', path, { body: second }), 409, 'Conflict');
    expect(s.message).to.contain('the object has been modified');
    // A patch carrying the stale resourceVersion is a precondition too.
    expectStatus(
      await req('PATCH', path, { body: { metadata: { resourceVersion: pod.metadata.resourceVersion, labels: { v: '3' } } }, contentType: 'application/merge-patch+json' }),
      409,
      'Conflict',
    );
    // Status writes as well.
    const st = structuredClone(pod);
    st.status = { phase: 'Running' };
    expectStatus(await req('PUT', `${path}/status`, { body: st }), 409, 'Conflict');
    const now = await ok('GET', path);
    expect(now.metadata.labels?.v).to.equal('1');
    expect(now.status?.phase).to.equal('Pending');
    // Without a resourceVersion the update is unconditional (last write wins), as in Kubernetes.
    const blind = structuredClone(now);
    delete (blind.metadata as { resourceVersion?: string }).resourceVersion;
    (blind.metadata.labels ??= {}).v = '4';
    expect((await ok('PUT', path, { body: blind })).metadata.labels?.v).to.equal('4');
  });

  it('rejects creating an existing name with 409 AlreadyExists', async () => {
    await ok('POST', PODS, { body: podBody('twice') });
    const s = expectStatus(await req('POST', PODS, { body: podBody('twice') }), 409, 'AlreadyExists');
    expect(s.details?.name).to.equal('twice');
    await ok('POST', NODES, { body: nodeBody('twice-node') });
    expectStatus(await req('POST', NODES, { body: nodeBody('twice-node') }), 409, 'AlreadyExists');
  });

  it('rejects objects in a namespace that does not exist with 404', async () => {
    expectStatus(await req('POST', '/api/v1/namespaces/no-such-ns/pods', { body: podBody('p') }), 404, 'NotFound');
    expectStatus(await req('GET', '/api/v1/namespaces/no-such-ns/pods/p'), 404, 'NotFound');
    expectStatus(await req('GET', '/api/v1/namespaces/no-such-ns/pods'), 404, 'NotFound');
    expectStatus(
      await req('POST', '/apis/coordination.k8s.io/v1/namespaces/no-such-ns/leases', { body: leaseBody('l') }),
      404,
      'NotFound',
    );
  });

  it('can create in a namespace once it exists', async () => {
    await ok('POST', '/api/v1/namespaces', { body: namespaceBody('team-a') });
    const pod = await ok('POST', '/api/v1/namespaces/team-a/pods', { body: podBody('in-team') });
    expect(pod.metadata.namespace).to.equal('team-a');
    // Other namespaces do not see it.
    const inDefault = await ok<ListView>('GET', PODS);
    expect(inDefault.items.map((p) => p.metadata.name)).to.not.include('in-team');
    const all = await ok<ListView>('GET', '/api/v1/pods');
    expect(all.items.some((p) => p.metadata.name === 'in-team' && p.metadata.namespace === 'team-a')).to.equal(true);
  });

  it('ignores status on main-resource writes; /status writes change only status', async () => {
    const body = podBody('split');
    body.status = { phase: 'Running', podIP: '10.0.0.1' };
    const pod = await ok<PodView>('POST', PODS, { body });
    expect(pod.status.phase).to.equal('Pending');
    expect(pod.status.podIP).to.equal(undefined);
    const path = `${PODS}/split`;

    const main = structuredClone(pod);
    main.status = { phase: 'Failed' };
    (main.metadata.labels ??= {}).main = 'write';
    const afterMain = await ok<PodView>('PUT', path, { body: main });
    expect(afterMain.status.phase).to.equal('Pending');
    expect(afterMain.metadata.labels?.main).to.equal('write');

    const mainPatch = await ok<PodView>('PATCH', path, { body: { status: { phase: 'Failed' } }, contentType: 'application/merge-patch+json' });
    expect(mainPatch.status.phase).to.equal('Pending');

    const st = structuredClone(afterMain);
    st.status = { phase: 'Running', podIP: '10.0.0.2' };
    (st.metadata.labels ??= {}).status = 'write';
    st.spec.containers[0]!.image = 'ignored:latest';
    const afterStatus = await ok<PodView>('PUT', `${path}/status`, { body: st });
    expect(afterStatus.status.phase).to.equal('Running');
    expect(afterStatus.status.podIP).to.equal('10.0.0.2');
    expect(afterStatus.metadata.labels?.status).to.equal(undefined);
    expect(afterStatus.spec.containers[0]!.image).to.equal('busybox');

    const statusPatch = await ok<PodView>('PATCH', `${path}/status`, {
      body: { metadata: { labels: { via: 'status' } }, spec: { activeDeadlineSeconds: 5 }, status: { podIP: '10.0.0.3' } },
      contentType: 'application/merge-patch+json',
    });
    expect(statusPatch.status.podIP).to.equal('10.0.0.3');
    expect(statusPatch.status.phase).to.equal('Running');
    expect(statusPatch.metadata.labels?.via).to.equal(undefined);
    expect(statusPatch.spec.activeDeadlineSeconds).to.equal(undefined);

    // Nodes: the same split (an agent reports capacity through /status).
    const node = await ok('GET', `${NODES}/crud-node`);
    const nodeMain = structuredClone(node);
    nodeMain.status = { capacity: { cpu: '1' } };
    const nodeAfter = await ok('PUT', `${NODES}/crud-node`, { body: nodeMain });
    expect(nodeAfter.status).to.deep.equal(node.status);
    const nodeSt = await ok('PATCH', `${NODES}/crud-node/status`, {
      body: { spec: { unschedulable: true }, status: { nodeInfo: { kubeletVersion: 'v9' } } },
      contentType: 'application/merge-patch+json',
    });
    expect((nodeSt.status?.nodeInfo as { kubeletVersion?: string }).kubeletVersion).to.equal('v9');
    expect(nodeSt.spec?.unschedulable).to.equal(undefined);
  });

  it('pods/ephemeralcontainers: the one way to add a container to a pod — added only, never changed or removed, checked against the pod', async () => {
    const withEphemeral = podBody('eph-create');
    (withEphemeral.spec as Record<string, unknown>).ephemeralContainers = [{ name: 'dbg', image: 'busybox' }];
    const refused = expectStatus(await req('POST', PODS, { body: withEphemeral }), 422, 'Invalid');
    expect(refused.message).to.include('spec.ephemeralContainers: Forbidden: cannot be set on create');
    expect(await req('GET', `${PODS}/eph-create`)).to.have.property('status', 404);

    const pod = await ok<PodView>('POST', PODS, { body: podBody('eph') });
    const path = `${PODS}/eph/ephemeralcontainers`;
    expect((await ok<PodView>('GET', path)).metadata.uid).to.equal(pod.metadata.uid);
    // kubectl debug's request: a strategic merge patch with the new container and the list's order.
    const dbg = { name: 'dbg', image: 'busybox', command: ['sh'], stdin: true, tty: true, targetContainerName: 'main', resources: {}, terminationMessagePolicy: 'File' };
    const added = await ok<PodView>('PATCH', path, {
      body: { metadata: { labels: { via: 'ephemeral' } }, spec: { activeDeadlineSeconds: 9, ephemeralContainers: [dbg], '$setElementOrder/ephemeralContainers': [{ name: 'dbg' }] } },
      contentType: 'application/strategic-merge-patch+json',
    });
    // (terminationMessagePolicy is one of the container fields cell ignores.)
    expect(added.spec.ephemeralContainers).to.deep.equal([{ name: 'dbg', image: 'busybox', command: ['sh'], stdin: true, tty: true, targetContainerName: 'main', resources: {} }]);
    // Nothing else the patch says is written.
    expect(added.metadata.labels?.via).to.equal(undefined);
    expect(added.spec.activeDeadlineSeconds).to.equal(undefined);

    // A PUT carries the whole pod; only the list is taken from it.
    const put = structuredClone(added);
    (put.metadata.labels ??= {}).via = 'put';
    put.spec.containers[0]!.image = 'other:1';
    (put.spec.ephemeralContainers as unknown[]).push({ name: 'dbg2', image: 'busybox', command: ['true'] });
    const twice = await ok<PodView>('PUT', path, { body: put });
    expect((twice.spec.ephemeralContainers as { name: string }[]).map((c) => c.name)).to.deep.equal(['dbg', 'dbg2']);
    expect(twice.metadata.labels?.via).to.equal(undefined);
    expect(twice.spec.containers[0]!.image).to.equal('busybox');

    const changed = structuredClone(twice);
    (changed.spec.ephemeralContainers as { command: string[] }[])[0]!.command = ['bash'];
    expect(expectStatus(await req('PUT', path, { body: changed }), 422, 'Invalid').message).to.include('existing ephemeral containers "dbg" may not be changed');
    const removed = structuredClone(twice);
    (removed.spec.ephemeralContainers as unknown[]).splice(1, 1);
    expect(expectStatus(await req('PUT', path, { body: removed }), 422, 'Invalid').message).to.include('existing ephemeral containers "dbg2" may not be removed');
    const patchBad = async (c: Record<string, unknown>) =>
      expectStatus(await req('PATCH', path, { body: { spec: { ephemeralContainers: [c] } }, contentType: 'application/strategic-merge-patch+json' }), 422, 'Invalid');
    expect(causeFields(await patchBad({ name: 'main', image: 'busybox' }))).to.deep.equal(['spec.ephemeralContainers[2].name']);
    expect(causeFields(await patchBad({ name: 'dbg3', image: 'busybox', ports: [{ containerPort: 80 }], readinessProbe: { exec: { command: ['true'] } }, resources: { requests: { cpu: '1' } } }))).to.have.members([
      'spec.ephemeralContainers[2].ports',
      'spec.ephemeralContainers[2].readinessProbe',
      'spec.ephemeralContainers[2].resources',
    ]);
    expect((await patchBad({ name: 'dbg3', image: 'busybox', targetContainerName: 'nope' })).message).to.include('spec.ephemeralContainers[2].targetContainerName: Not found: "nope"');
    expect(causeFields(await patchBad({ name: 'Bad_Name', image: '' }))).to.have.members(['spec.ephemeralContainers[2].name', 'spec.ephemeralContainers[2].image']);

    // Writes to the pod itself leave the list alone, whether they omit it or change it.
    const main = structuredClone(twice);
    delete main.spec.ephemeralContainers;
    (main.metadata.labels ??= {}).main = 'write';
    const afterMain = await ok<PodView>('PUT', `${PODS}/eph`, { body: main });
    expect(afterMain.metadata.labels?.main).to.equal('write');
    expect((afterMain.spec.ephemeralContainers as unknown[]).length).to.equal(2);
    const mainPatch = await ok<PodView>('PATCH', `${PODS}/eph`, { body: { spec: { ephemeralContainers: [{ name: 'sneaky', image: 'busybox' }] } }, contentType: 'application/strategic-merge-patch+json' });
    expect((mainPatch.spec.ephemeralContainers as { name: string }[]).map((c) => c.name)).to.deep.equal(['dbg', 'dbg2']);

    // Only get, update and patch are served there (and on status): a DELETE never reaches the pod.
    for (const sub of ['ephemeralcontainers', 'status']) {
      expectStatus(await req('DELETE', `${PODS}/eph/${sub}`), 405, 'MethodNotAllowed');
      expectStatus(await req('POST', `${PODS}/eph/${sub}`, { body: podBody('eph') }), 405, 'MethodNotAllowed');
    }
    expect((await ok<PodView>('GET', `${PODS}/eph`)).metadata.uid).to.equal(pod.metadata.uid);
    // A template may not have any.
    const rs = { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'eph-rs' }, spec: { replicas: 1, selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'busybox' }], ephemeralContainers: [{ name: 'd', image: 'busybox' }] } } } };
    expect(causeFields(expectStatus(await req('POST', '/apis/apps/v1/namespaces/default/replicasets', { body: rs }), 422, 'Invalid'))).to.include('spec.template.spec.ephemeralContainers');
    // A path nothing serves is a NotFound with empty details, as kube-apiserver's (kubectl debug reads details.name).
    const unknown = expectStatus(await req('PATCH', `${PODS}/eph/widgets`, { body: {}, contentType: 'application/merge-patch+json' }), 404, 'NotFound');
    expect(unknown.details).to.deep.equal({});
  });

  it('pods/ephemeralcontainers under concurrent writers: every patch\u2019s container is kept; of PUTs from one read, exactly one lands', async () => {
    await ok('POST', PODS, { body: podBody('eph-race') });
    const path = `${PODS}/eph-race/ephemeralcontainers`;
    const names = Array.from({ length: 24 }, (_, i) => `dbg-${i}`);
    // As 24 kubectl debug runs at once: each patch merges its container into the pod as it is then.
    const patched = await Promise.all(
      names.map((name) => req('PATCH', path, { body: { spec: { ephemeralContainers: [{ name, image: 'busybox', command: ['sh'] }] } }, contentType: 'application/strategic-merge-patch+json' })),
    );
    expect(patched.map((r) => r.status)).to.deep.equal(names.map(() => 200));
    const after = await ok<PodView>('GET', `${PODS}/eph-race`);
    const kept = (after.spec.ephemeralContainers as { name: string }[]).map((c) => c.name);
    expect([...kept].sort()).to.deep.equal([...names].sort());
    // Each answer is the pod as that patch left it: its own container in it.
    for (const [i, r] of patched.entries()) expect(((r.body as PodView).spec.ephemeralContainers as { name: string }[]).map((c) => c.name)).to.include(names[i]);

    // Full-object writes from the same read: the first to commit wins, the others conflict (nothing lost or merged blindly).
    const base = after;
    const puts = await Promise.all(
      [0, 1, 2, 3, 4, 5].map((i) => {
        const body = structuredClone(base);
        (body.spec.ephemeralContainers as unknown[]).push({ name: `put-${i}`, image: 'busybox' });
        return req('PUT', path, { body });
      }),
    );
    expect(puts.filter((r) => r.status === 200).length).to.equal(1);
    expect(puts.filter((r) => r.status === 409).length).to.equal(5);
    const final = await ok<PodView>('GET', `${PODS}/eph-race`);
    expect((final.spec.ephemeralContainers as unknown[]).length).to.equal(25);
  });

  it('refuses to change spec.nodeName (and other immutable pod fields) with 422', async () => {
    const pod = await ok<PodView>('POST', PODS, { body: podBody('immutable') });
    const path = `${PODS}/immutable`;
    const moved = structuredClone(pod);
    moved.spec.nodeName = 'crud-node';
    const s = expectStatus(await req('PUT', path, { body: moved }), 422, 'Invalid');
    expect(causeFields(s)).to.include('spec.nodeName');
    expectStatus(
      await req('PATCH', path, { body: { spec: { nodeName: 'crud-node' } }, contentType: 'application/merge-patch+json' }),
      422,
      'Invalid',
    );
    const cmd = structuredClone(pod);
    cmd.spec.containers[0]!.command = ['other'];
    expect(causeFields(expectStatus(await req('PUT', path, { body: cmd }), 422, 'Invalid'))).to.include('spec');
    const after = await ok<PodView>('GET', path);
    expect(after.spec.nodeName).to.equal(undefined);
    expect(after.metadata.resourceVersion).to.equal(pod.metadata.resourceVersion);
  });

  it('applies JSON merge patches (null deletes)', async () => {
    await ok('POST', PODS, { body: podBody('merge', { labels: { keep: 'yes', drop: 'yes' } }) });
    const p = await ok('PATCH', `${PODS}/merge`, {
      body: { metadata: { labels: { drop: null, add: 'new' } } },
      contentType: 'application/merge-patch+json',
    });
    expect(p.metadata.labels).to.deep.equal({ keep: 'yes', add: 'new' });
    // Charset parameters on the content type are fine.
    const q = await ok('PATCH', `${PODS}/merge`, {
      body: { metadata: { labels: { more: 'x' } } },
      contentType: 'application/merge-patch+json; charset=utf-8',
    });
    expect(q.metadata.labels?.more).to.equal('x');
    expectStatus(
      await req('PATCH', `${PODS}/no-such-pod`, { body: { metadata: { labels: { a: 'b' } } }, contentType: 'application/merge-patch+json' }),
      404,
      'NotFound',
    );
  });

  it('applies JSON patches (add/replace/remove/test)', async () => {
    await ok('POST', PODS, { body: podBody('jsonpatch', { labels: { a: '1', b: '2' } }) });
    const path = `${PODS}/jsonpatch`;
    const p = await ok<PodView>('PATCH', path, {
      body: [
        { op: 'test', path: '/metadata/labels/a', value: '1' },
        { op: 'replace', path: '/metadata/labels/a', value: 'one' },
        { op: 'remove', path: '/metadata/labels/b' },
        { op: 'add', path: '/metadata/labels/c', value: '3' },
        { op: 'replace', path: '/spec/containers/0/image', value: 'busybox:json' },
      ],
      contentType: 'application/json-patch+json',
    });
    expect(p.metadata.labels).to.deep.equal({ a: 'one', c: '3' });
    expect(p.spec.containers[0]!.image).to.equal('busybox:json');
    // A failing test op applies nothing.
    const failed = await req('PATCH', path, {
      body: [
        { op: 'replace', path: '/metadata/labels/a', value: 'changed' },
        { op: 'test', path: '/metadata/labels/c', value: 'not-3' },
      ],
      contentType: 'application/json-patch+json',
    });
    expectStatus(failed, 422, 'Invalid');
    expect((await ok('GET', path)).metadata.labels?.a).to.equal('one');
  });

  it('applies strategic merge patches: containers merged by name, $patch: delete', async () => {
    await ok('POST', PODS, {
      body: podBody('smp', {
        containers: [
          { name: 'a', image: 'img-a:1', env: [{ name: 'X', value: '1' }] },
          { name: 'b', image: 'img-b:1' },
        ],
      }),
    });
    const path = `${PODS}/smp`;
    const p = await ok<PodView>('PATCH', path, {
      body: { spec: { containers: [{ name: 'b', image: 'img-b:2' }] } },
      contentType: 'application/strategic-merge-patch+json',
    });
    expect(p.spec.containers.map((c) => [c.name, c.image])).to.deep.equal([
      ['a', 'img-a:1'],
      ['b', 'img-b:2'],
    ]);
    expect(p.spec.containers[0]!.env).to.deep.equal([{ name: 'X', value: '1' }]);

    // The same body as a merge patch replaces the list (and so is refused: containers are immutable).
    expectStatus(
      await req('PATCH', path, { body: { spec: { containers: [{ name: 'b', image: 'img-b:3' }] } }, contentType: 'application/merge-patch+json' }),
      422,
      'Invalid',
    );

    // Lists merged by key in status: conditions by type.
    const st = await ok<PodView>('PATCH', `${path}/status`, {
      body: { status: { conditions: [{ type: 'PodScheduled', status: 'True' }, { type: 'Ready', status: 'False' }] } },
      contentType: 'application/strategic-merge-patch+json',
    });
    expect(st.status.conditions?.map((c) => c.type)).to.deep.equal(['PodScheduled', 'Ready']);
    const st2 = await ok<PodView>('PATCH', `${path}/status`, {
      body: { status: { conditions: [{ type: 'Ready', status: 'True' }] } },
      contentType: 'application/strategic-merge-patch+json',
    });
    expect(st2.status.conditions).to.deep.equal([
      { type: 'PodScheduled', status: 'True' },
      { type: 'Ready', status: 'True' },
    ]);
    const st3 = await ok<PodView>('PATCH', `${path}/status`, {
      body: { status: { conditions: [{ type: 'PodScheduled', $patch: 'delete' }] } },
      contentType: 'application/strategic-merge-patch+json',
    });
    expect(st3.status.conditions).to.deep.equal([{ type: 'Ready', status: 'True' }]);

    // $patch: delete of a container is applied too, and then refused by pod immutability.
    const del = await req('PATCH', path, {
      body: { spec: { containers: [{ name: 'a', $patch: 'delete' }] } },
      contentType: 'application/strategic-merge-patch+json',
    });
    expectStatus(del, 422, 'Invalid');
  });

  it('answers 415 to a patch with an unsupported content type', async () => {
    await ok('POST', PODS, { body: podBody('patch-415') });
    for (const ct of ['application/json', 'text/plain', 'application/xml']) {
      expectStatus(
        await req('PATCH', `${PODS}/patch-415`, { body: { metadata: { labels: { a: 'b' } } }, contentType: ct }),
        415,
        'UnsupportedMediaType',
      );
    }
  });

  it('deletes a bound pod gracefully: deletionTimestamp first, gone after gracePeriodSeconds=0', async () => {
    await ok('POST', PODS, { body: podBody('bound', { nodeName: 'crud-node' }) });
    const path = `${PODS}/bound`;
    const first = await req('DELETE', path);
    expect(first.status, first.text).to.be.oneOf([200, 202]);
    const marked = first.body as PodView;
    expect(marked.metadata.deletionTimestamp).to.be.a('string');
    expect(marked.metadata.deletionGracePeriodSeconds).to.equal(30);
    const still = await ok<PodView>('GET', path);
    expect(still.metadata.deletionTimestamp).to.equal(marked.metadata.deletionTimestamp);
    // A second delete cannot lengthen the grace period...
    const again = await req('DELETE', path, { body: { kind: 'DeleteOptions', apiVersion: 'v1', gracePeriodSeconds: 60 } });
    expect(again.status).to.be.oneOf([200, 202]);
    expect((again.body as PodView).metadata.deletionGracePeriodSeconds).to.equal(30);
    // ...but may shorten it.
    const shorter = await req('DELETE', path, { body: { kind: 'DeleteOptions', apiVersion: 'v1', gracePeriodSeconds: 5 } });
    expect((shorter.body as PodView).metadata.deletionGracePeriodSeconds).to.equal(5);
    await ok('GET', path);
    const now = await req('DELETE', `${path}?gracePeriodSeconds=0`);
    expect(now.status, now.text).to.equal(200);
    expectStatus(await req('GET', path), 404, 'NotFound');
  });

  it('deletes an unbound pod at once, and a terminal bound pod at once', async () => {
    await ok('POST', PODS, { body: podBody('unbound') });
    const res = await req('DELETE', `${PODS}/unbound`);
    expect(res.status).to.equal(200);
    expectStatus(await req('GET', `${PODS}/unbound`), 404, 'NotFound');

    await ok('POST', PODS, { body: podBody('finished', { nodeName: 'crud-node' }) });
    await ok('PATCH', `${PODS}/finished/status`, { body: { status: { phase: 'Succeeded' } }, contentType: 'application/merge-patch+json' });
    expect((await req('DELETE', `${PODS}/finished`)).status).to.equal(200);
    expectStatus(await req('GET', `${PODS}/finished`), 404, 'NotFound');
  });

  it('keeps an object with finalizers until they are removed', async () => {
    const pg = '/apis/scheduling.x-k8s.io/v1alpha1/namespaces/default/podgroups';
    const body = podGroupBody('finalized');
    (body.metadata as Record<string, unknown>).finalizers = ['example.com/keep', 'example.com/also'];
    await ok('POST', pg, { body });
    const path = `${pg}/finalized`;
    const del = await req('DELETE', path);
    expect(del.status, del.text).to.be.oneOf([200, 202]);
    const marked = await ok('GET', path);
    expect(marked.metadata.deletionTimestamp).to.be.a('string');
    expect(marked.metadata.finalizers).to.deep.equal(['example.com/keep', 'example.com/also']);
    // A second delete changes nothing.
    const again = await req('DELETE', path);
    expect(again.status).to.be.oneOf([200, 202]);
    expect((await ok('GET', path)).metadata.resourceVersion).to.equal(marked.metadata.resourceVersion);
    // Removing one finalizer keeps it.
    await ok('PATCH', path, {
      body: [{ op: 'remove', path: '/metadata/finalizers/0' }],
      contentType: 'application/json-patch+json',
    });
    expect((await ok('GET', path)).metadata.finalizers).to.deep.equal(['example.com/also']);
    // Removing the last one deletes it.
    const cur = await ok('GET', path);
    cur.metadata.finalizers = [];
    const res = await req('PUT', path, { body: cur });
    expect(res.status, res.text).to.equal(200);
    expectStatus(await req('GET', path), 404, 'NotFound');

    // The same for a bound pod deleted with gracePeriodSeconds=0: finalizers still hold it.
    await ok('POST', PODS, { body: podBody('fin-pod', { nodeName: 'crud-node', finalizers: ['example.com/keep'] }) });
    const d = await req('DELETE', `${PODS}/fin-pod?gracePeriodSeconds=0`);
    expect(d.status).to.be.oneOf([200, 202]);
    expect((await ok('GET', `${PODS}/fin-pod`)).metadata.deletionTimestamp).to.be.a('string');
    await ok('PATCH', `${PODS}/fin-pod`, { body: { metadata: { finalizers: null } }, contentType: 'application/merge-patch+json' });
    expectStatus(await req('GET', `${PODS}/fin-pod`), 404, 'NotFound');
  });

  it('honours delete preconditions (uid, resourceVersion) with 409', async () => {
    const pod = await ok('POST', PODS, { body: podBody('precond') });
    const path = `${PODS}/precond`;
    const wrongUid = await req('DELETE', path, { body: { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { uid: 'not-the-uid' } } });
    expectStatus(wrongUid, 409, 'Conflict');
    const wrongRv = await req('DELETE', path, { body: { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { resourceVersion: '1' } } });
    expectStatus(wrongRv, 409, 'Conflict');
    await ok('GET', path);
    const right = await req('DELETE', path, {
      body: { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { uid: pod.metadata.uid, resourceVersion: pod.metadata.resourceVersion } },
    });
    expect(right.status, right.text).to.equal(200);
    expectStatus(await req('GET', path), 404, 'NotFound');
    // A recreated object has a new uid: the old uid no longer matches.
    await ok('POST', PODS, { body: podBody('precond') });
    expectStatus(await req('DELETE', path, { body: { preconditions: { uid: pod.metadata.uid } } }), 409, 'Conflict');
  });

  it('deletecollection deletes exactly what the label selector matches', async () => {
    await ok('POST', '/api/v1/namespaces', { body: namespaceBody('dc') });
    const coll = '/api/v1/namespaces/dc/pods';
    for (let i = 0; i < 5; i++) await ok('POST', coll, { body: podBody(`a-${i}`, { labels: { group: 'a' } }) });
    for (let i = 0; i < 3; i++) await ok('POST', coll, { body: podBody(`b-${i}`, { labels: { group: 'b' } }) });
    const res = await req('DELETE', `${coll}?labelSelector=${encodeURIComponent('group=a')}`);
    expect(res.status, res.text).to.equal(200);
    const out = res.body as ListView;
    expect(out.kind).to.equal('PodList');
    expect(out.items.map((i) => i.metadata.name).sort()).to.deep.equal(['a-0', 'a-1', 'a-2', 'a-3', 'a-4']);
    const left = await ok<ListView>('GET', coll);
    expect(left.items.map((i) => i.metadata.name).sort()).to.deep.equal(['b-0', 'b-1', 'b-2']);
    // The default namespace was untouched.
    expect((await ok<ListView>('GET', PODS)).items.length).to.be.greaterThan(0);
  });

  it('dryRun=All validates and answers but writes nothing', async () => {
    const before = await ok<ListView>('GET', PODS);
    const created = await ok('POST', `${PODS}?dryRun=All`, { body: podBody('dry') });
    expect(created.metadata.name).to.equal('dry');
    expect(created.metadata.uid).to.be.a('string');
    expectStatus(await req('GET', `${PODS}/dry`), 404, 'NotFound');
    // Validation still runs.
    expectStatus(await req('POST', `${PODS}?dryRun=All`, { body: podBody('Bad_Name') }), 422, 'Invalid');

    const pod = await ok('POST', PODS, { body: podBody('dry-real') });
    const path = `${PODS}/dry-real`;
    const changed = structuredClone(pod);
    (changed.metadata.labels ??= {}).dry = 'run';
    const upd = await ok('PUT', `${path}?dryRun=All`, { body: changed });
    expect(upd.metadata.labels?.dry).to.equal('run');
    const pat = await ok('PATCH', `${path}?dryRun=All`, { body: { metadata: { labels: { dry: 'patch' } } }, contentType: 'application/merge-patch+json' });
    expect(pat.metadata.labels?.dry).to.equal('patch');
    const del = await req('DELETE', `${path}?dryRun=All`);
    expect(del.status).to.equal(200);
    const delColl = await req('DELETE', `${PODS}?dryRun=All`);
    expect(delColl.status).to.equal(200);
    const after = await ok('GET', path);
    expect(after).to.deep.equal(pod);
    const list = await ok<ListView>('GET', PODS);
    expect(list.items.length).to.equal(before.items.length + 1);
    // A bad dryRun value is refused.
    expectStatus(await req('POST', `${PODS}?dryRun=Some`, { body: podBody('dry-bad') }), 400, 'BadRequest');
  });
});
