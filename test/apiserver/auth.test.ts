// Authentication and authorization (DESIGN §2) against a server started with the static token
// file: 401 without a valid token, then the group × verb × resource matrix, then the node
// restriction (a node agent touches only its own Node, its own Lease and the pods bound to it).
import { expect } from 'chai';
import { startTestApiServer, TEST_TOKENS, type TestApiServer } from '../harness/apiserver.js';
import { eventBody, expectStatus, leaseBody, namespaceBody, nodeBody, podBody, podGroupBody, sendAs, type Call, type Obj, type RawResponse } from './helpers.js';

type Group = 'admin' | 'scheduler' | 'node1' | 'viewer' | 'nobody';
type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'delete';
type ResourceClass =
  | 'pods'
  | 'nodes'
  | 'leases'
  | 'events'
  | 'podgroups'
  | 'namespaces'
  | 'pods/binding'
  | 'placements'
  | 'pods/status'
  | 'nodes/status';

const GROUPS: Group[] = ['admin', 'scheduler', 'node1', 'viewer', 'nobody'];
const VERBS: Verb[] = ['get', 'list', 'watch', 'create', 'update', 'delete'];
const RESOURCES: ResourceClass[] = ['pods', 'nodes', 'leases', 'events', 'podgroups', 'namespaces', 'pods/binding', 'placements', 'pods/status', 'nodes/status'];
const SUBRESOURCES = new Set<ResourceClass>(['pods/binding', 'pods/status', 'nodes/status']);
const READ = new Set<Verb>(['get', 'list', 'watch']);

/**
 * What DESIGN §2 allows, for the matrix's targets: objects that are NOT the node agent's own
 * (pods bound to node-2, other nodes, leases in `default`). The node's own objects are covered
 * separately below.
 */
function allowed(group: Group, verb: Verb, r: ResourceClass): boolean {
  switch (group) {
    case 'admin':
      return true;
    case 'viewer':
      // Reading covers the subresources that can be read (status), not create-only binding.
      return READ.has(verb) && r !== 'pods/binding';
    case 'nobody':
      return false;
    case 'scheduler':
      if (READ.has(verb)) return r !== 'pods/binding';
      switch (r) {
        case 'pods/binding':
        case 'placements':
        case 'events':
          return verb === 'create' || (r === 'events' && verb === 'update');
        case 'pods/status':
          return verb === 'update';
        case 'leases':
          return true;
        case 'pods':
          // Preemption evicts victims with a graceful delete.
          return verb === 'delete';
        default:
          return false;
      }
    case 'node1':
      switch (r) {
        case 'nodes':
        case 'nodes/status':
        case 'namespaces':
          return READ.has(verb);
        case 'events':
          return verb === 'create' || verb === 'update';
        default:
          return false;
      }
  }
}

/** One request; a watch that opens (200) is closed at once. */
const send = sendAs;

describe('apiserver authentication and authorization (etcd)', function () {
  this.timeout(60_000);
  let t: TestApiServer;
  const as = (group: Group | undefined, call: Call) => send(t.url, group === undefined ? undefined : TEST_TOKENS[group], call);
  const admin = async <T = Obj>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> => {
    const res = await as('admin', { method, path, ...(body !== undefined ? { body } : {}), ...(contentType ? { contentType } : {}) });
    expect(res.status, `${method} ${path}: ${res.text.slice(0, 300)}`).to.be.within(200, 202);
    return res.body as T;
  };
  const expectForbidden = (res: RawResponse, what: string) => {
    expect(res.status, `${what}: ${res.text.slice(0, 300)}`).to.equal(403);
    expectStatus(res, 403, 'Forbidden');
  };
  const expectPermitted = (res: RawResponse, what: string) => {
    expect(res.status, `${what}: ${res.text.slice(0, 300)}`).to.not.be.oneOf([401, 403]);
    expect(res.status, `${what}: ${res.text.slice(0, 300)}`).to.be.below(500);
  };

  before(async () => {
    t = await startTestApiServer({ backend: 'etcd', auth: true });
    await admin('POST', '/api/v1/nodes', nodeBody('node-2'));
  });
  after(async () => {
    await t?.close();
  });

  describe('authentication', () => {
    const paths = ['/api/v1/namespaces/default/pods', '/api/v1/nodes', '/api', '/apis', '/api/v1', '/metrics', '/api/v1/namespaces/default/pods?watch=true'];
    it('answers 401 with a Status to requests without a token or with a bad one', async () => {
      for (const path of paths) {
        const watch = path.includes('watch=true');
        expectStatus(await send(t.url, undefined, { method: 'GET', path, watch }), 401, 'Unauthorized');
        expectStatus(await send(t.url, 'not-a-token', { method: 'GET', path, watch }), 401, 'Unauthorized');
      }
      expectStatus(await send(t.url, undefined, { method: 'POST', path: '/api/v1/namespaces/default/pods', body: podBody('anon') }), 401, 'Unauthorized');
      // Malformed Authorization headers.
      for (const header of ['Basic YWRtaW46YWRtaW4=', 'Bearer', 'Bearer ', `Bearer ${TEST_TOKENS.admin} extra`, TEST_TOKENS.admin]) {
        const res = await fetch(`${t.url}/api/v1/nodes`, { headers: { Authorization: header } });
        expect(res.status, header).to.equal(401);
        expect(((await res.json()) as { kind?: string }).kind).to.equal('Status');
      }
      // Nothing was created.
      expect((await as('admin', { method: 'GET', path: '/api/v1/namespaces/default/pods/anon' })).status).to.equal(404);
    });

    it('serves /livez, /readyz, /healthz and /version without a token', async () => {
      for (const path of ['/livez', '/readyz', '/healthz', '/version']) {
        const res = await send(t.url, undefined, { method: 'GET', path });
        expect(res.status, path).to.equal(200);
      }
      const version = await send(t.url, undefined, { method: 'GET', path: '/version' });
      expect(version.body).to.have.property('gitVersion');
    });

    it('serves /metrics to admins, viewers and schedulers only', async () => {
      for (const g of GROUPS) {
        const res = await as(g, { method: 'GET', path: '/metrics' });
        const allowed = g === 'admin' || g === 'viewer' || g === 'scheduler';
        expect(res.status, g).to.equal(allowed ? 200 : 403);
        if (allowed) expect(res.text).to.contain('apiserver_request_total');
      }
    });

    it('accepts every known token', async () => {
      for (const g of GROUPS) {
        const res = await as(g, { method: 'GET', path: '/api' });
        expect(res.status, g).to.equal(200);
      }
    });
  });

  describe('the group × verb × resource matrix', () => {
    let n = 0;
    /** A fresh target object for one cell, created by the admin. */
    async function target(r: ResourceClass): Promise<{ collection: string; object: string; createBody: unknown; update: () => Promise<unknown> }> {
      const id = `m${++n}`;
      switch (r) {
        case 'pods':
        case 'pods/status':
        case 'pods/binding': {
          // Bound to node-2: not the node agent's. The binding cells need an unbound pod.
          const bound = r !== 'pods/binding';
          const object = `/api/v1/namespaces/default/pods/${id}`;
          await admin('POST', '/api/v1/namespaces/default/pods', podBody(id, bound ? { nodeName: 'node-2' } : {}));
          if (r === 'pods') {
            return {
              collection: '/api/v1/namespaces/default/pods',
              object,
              createBody: podBody(`${id}-new`),
              update: async () => ({ ...(await admin('GET', object)), metadata: { ...(await admin('GET', object)).metadata, labels: { u: '1' } } }),
            };
          }
          if (r === 'pods/status') {
            return {
              collection: `${object}/status`,
              object: `${object}/status`,
              createBody: podBody(id),
              update: async () => ({ ...(await admin('GET', object)), status: { phase: 'Running' } }),
            };
          }
          const binding = { apiVersion: 'v1', kind: 'Binding', metadata: { name: id }, target: { apiVersion: 'v1', kind: 'Node', name: 'node-2' } };
          return { collection: `${object}/binding`, object: `${object}/binding`, createBody: binding, update: async () => binding };
        }
        case 'nodes':
        case 'nodes/status': {
          const object = `/api/v1/nodes/${id}`;
          await admin('POST', '/api/v1/nodes', nodeBody(id));
          if (r === 'nodes') {
            return {
              collection: '/api/v1/nodes',
              object,
              createBody: nodeBody(`${id}-new`),
              update: async () => {
                const cur = await admin('GET', object);
                return { ...cur, metadata: { ...cur.metadata, labels: { u: '1' } } };
              },
            };
          }
          return {
            collection: `${object}/status`,
            object: `${object}/status`,
            createBody: nodeBody(id),
            update: async () => {
              const cur = await admin('GET', object);
              return { ...cur, status: { ...cur.status, nodeInfo: { kubeletVersion: 'v2' } } };
            },
          };
        }
        case 'leases':
        case 'events':
        case 'podgroups': {
          const collection = {
            leases: '/apis/coordination.k8s.io/v1/namespaces/default/leases',
            events: '/api/v1/namespaces/default/events',
            podgroups: '/apis/scheduling.x-k8s.io/v1alpha1/namespaces/default/podgroups',
          }[r];
          const make = { leases: leaseBody, events: eventBody, podgroups: podGroupBody }[r];
          const object = `${collection}/${id}`;
          await admin('POST', collection, make(id));
          return {
            collection,
            object,
            createBody: make(`${id}-new`),
            update: async () => {
              const cur = await admin('GET', object);
              return { ...cur, metadata: { ...cur.metadata, labels: { u: '1' } } };
            },
          };
        }
        case 'namespaces': {
          const object = `/api/v1/namespaces/${id}`;
          await admin('POST', '/api/v1/namespaces', namespaceBody(id));
          return {
            collection: '/api/v1/namespaces',
            object,
            createBody: namespaceBody(`${id}-new`),
            update: async () => {
              const cur = await admin('GET', object);
              return { ...cur, metadata: { ...cur.metadata, labels: { u: '1' } } };
            },
          };
        }
        case 'placements': {
          const pod = `${id}-pod`;
          await admin('POST', '/api/v1/namespaces/default/pods', podBody(pod));
          const placement = {
            apiVersion: 'scheduling.cell.dev/v1alpha1',
            kind: 'Placement',
            metadata: { name: id },
            spec: { mode: 'Incremental', bindings: [{ podNamespace: 'default', podName: pod, nodeName: 'node-2' }] },
          };
          const collection = '/apis/scheduling.cell.dev/v1alpha1/placements';
          return { collection, object: `${collection}/${id}`, createBody: placement, update: async () => placement };
        }
      }
    }

    for (const group of GROUPS) {
      for (const r of RESOURCES) {
        for (const verb of VERBS) {
          if (SUBRESOURCES.has(r) && (verb === 'list' || verb === 'watch')) continue; // no such request
          const want = allowed(group, verb, r);
          it(`${group} ${verb} ${r} → ${want ? 'allowed' : '403'}`, async () => {
            const tg = await target(r);
            let call: Call;
            switch (verb) {
              case 'get':
                call = { method: 'GET', path: tg.object };
                break;
              case 'list':
                call = { method: 'GET', path: tg.collection };
                break;
              case 'watch':
                call = { method: 'GET', path: `${tg.collection}?watch=true`, watch: true };
                break;
              case 'create':
                call = { method: 'POST', path: tg.collection, body: tg.createBody };
                break;
              case 'update':
                call = { method: 'PUT', path: tg.object, body: await tg.update() };
                break;
              case 'delete':
                call = { method: 'DELETE', path: tg.object };
                break;
            }
            const res = await as(group, call);
            const what = `${group} ${call.method} ${call.path}`;
            if (want) expectPermitted(res, what);
            else expectForbidden(res, what);
          });
        }
      }
    }

    it('permitted writes really happen (spot checks)', async () => {
      // The scheduler binds a pod and reports its status; the viewer cannot.
      await admin('POST', '/api/v1/namespaces/default/pods', podBody('spot'));
      const bind = await as('scheduler', {
        method: 'POST',
        path: '/api/v1/namespaces/default/pods/spot/binding',
        body: { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'spot' }, target: { kind: 'Node', name: 'node-2' } },
      });
      expect(bind.status, bind.text).to.equal(201);
      const st = await as('scheduler', {
        method: 'PATCH',
        path: '/api/v1/namespaces/default/pods/spot/status',
        body: { status: { conditions: [{ type: 'PodScheduled', status: 'True' }] } },
        contentType: 'application/strategic-merge-patch+json',
      });
      expect(st.status, st.text).to.equal(200);
      expectForbidden(
        await as('viewer', { method: 'PATCH', path: '/api/v1/namespaces/default/pods/spot/status', body: { status: {} }, contentType: 'application/merge-patch+json' }),
        'viewer patch status',
      );
      // The scheduler may not patch the pod itself, nor create pods.
      expectForbidden(
        await as('scheduler', { method: 'PATCH', path: '/api/v1/namespaces/default/pods/spot', body: { metadata: { labels: { a: 'b' } } }, contentType: 'application/merge-patch+json' }),
        'scheduler patch pod',
      );
      const pod = await admin<{ spec: { nodeName?: string } }>('GET', '/api/v1/namespaces/default/pods/spot');
      expect(pod.spec.nodeName).to.equal('node-2');
      // deletecollection is a write too.
      expectForbidden(await as('viewer', { method: 'DELETE', path: '/api/v1/namespaces/default/pods' }), 'viewer deletecollection');
      expectForbidden(await as('scheduler', { method: 'DELETE', path: '/api/v1/namespaces/default/pods' }), 'scheduler deletecollection');
      expectForbidden(await as('nobody', { method: 'GET', path: '/apis/scheduling.cell.dev/v1alpha1/nodeallocations' }), 'nobody nodeallocations');
      expect((await admin<{ items: unknown[] }>('GET', '/api/v1/namespaces/default/pods')).items.length).to.be.greaterThan(0);
    });

    it('a 403 names the user, the verb and the resource', async () => {
      const res = await as('viewer', { method: 'DELETE', path: '/api/v1/namespaces/default/pods/whatever' });
      const s = expectStatus(res, 403, 'Forbidden');
      expect(s.message).to.contain('viewer').and.contain('delete').and.contain('pods');
    });
  });

  describe('node restriction (system:node:node-1)', () => {
    const node1 = (call: Call) => as('node1', call);
    const LEASES = '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases';

    it('creates and updates only its own Node, and only its own status', async () => {
      expectForbidden(await node1({ method: 'POST', path: '/api/v1/nodes', body: nodeBody('node-3') }), 'create another node');
      const noName = nodeBody('x') as { metadata: Record<string, unknown> };
      noName.metadata = { generateName: 'node-' };
      expectForbidden(await node1({ method: 'POST', path: '/api/v1/nodes', body: noName }), 'create a node by generateName');
      const created = await node1({ method: 'POST', path: '/api/v1/nodes', body: nodeBody('node-1') });
      expect(created.status, created.text).to.equal(201);
      const cur = created.body as Obj;
      const upd = await node1({ method: 'PUT', path: '/api/v1/nodes/node-1', body: { ...cur, metadata: { ...cur.metadata, labels: { own: 'yes' } } } });
      expect(upd.status, upd.text).to.equal(200);
      const st = await node1({ method: 'PATCH', path: '/api/v1/nodes/node-1/status', body: { status: { nodeInfo: { kubeletVersion: 'v1' } } }, contentType: 'application/merge-patch+json' });
      expect(st.status, st.text).to.equal(200);
      expectForbidden(
        await node1({ method: 'PATCH', path: '/api/v1/nodes/node-2/status', body: { status: { nodeInfo: { kubeletVersion: 'v1' } } }, contentType: 'application/merge-patch+json' }),
        'patch node-2 status',
      );
      expectForbidden(
        await node1({ method: 'PATCH', path: '/api/v1/nodes/node-2', body: { metadata: { labels: { a: 'b' } } }, contentType: 'application/merge-patch+json' }),
        'patch node-2',
      );
      expectForbidden(await node1({ method: 'DELETE', path: '/api/v1/nodes/node-1' }), 'delete own node');
      // Reading other nodes is fine (an agent needs topology for nothing, but Kubernetes allows it).
      expect((await node1({ method: 'GET', path: '/api/v1/nodes/node-2' })).status).to.equal(200);
    });

    it('creates, reads and renews only its own Lease in kube-node-lease', async () => {
      expectForbidden(await node1({ method: 'POST', path: LEASES, body: leaseBody('node-2') }), 'create node-2 lease');
      expectForbidden(
        await node1({ method: 'POST', path: '/apis/coordination.k8s.io/v1/namespaces/default/leases', body: leaseBody('node-1') }),
        'create a lease outside kube-node-lease',
      );
      const created = await node1({ method: 'POST', path: LEASES, body: leaseBody('node-1') });
      expect(created.status, created.text).to.equal(201);
      const got = await node1({ method: 'GET', path: `${LEASES}/node-1` });
      expect(got.status).to.equal(200);
      const renewed = await node1({
        method: 'PUT',
        path: `${LEASES}/node-1`,
        body: { ...(got.body as Obj), spec: { holderIdentity: 'node-1', leaseDurationSeconds: 40, renewTime: '2030-01-01T00:00:00.000000Z' } },
      });
      expect(renewed.status, renewed.text).to.equal(200);
      await admin('POST', LEASES, leaseBody('node-2'));
      expectForbidden(await node1({ method: 'GET', path: `${LEASES}/node-2` }), 'get node-2 lease');
      expectForbidden(
        await node1({ method: 'PATCH', path: `${LEASES}/node-2`, body: { spec: { holderIdentity: 'node-1' } }, contentType: 'application/merge-patch+json' }),
        'patch node-2 lease',
      );
      expectForbidden(await node1({ method: 'GET', path: LEASES }), 'list leases');
      expectForbidden(await node1({ method: 'DELETE', path: `${LEASES}/node-1` }), 'delete own lease');
    });

    describe('pods', () => {
      before(async () => {
        // node-1 exists once the Node test above ran; make sure either way.
        const res = await as('admin', { method: 'GET', path: '/api/v1/nodes/node-1' });
        if (res.status === 404) await admin('POST', '/api/v1/nodes', nodeBody('node-1'));
        for (const [name, node] of [['on-1a', 'node-1'], ['on-1b', 'node-1'], ['on-2', 'node-2'], ['free', undefined]] as const) {
          await admin('POST', '/api/v1/namespaces/default/pods', podBody(`np-${name}`, node ? { nodeName: node } : {}));
        }
      });

      it('lists and watches pods only with fieldSelector=spec.nodeName=node-1', async () => {
        const sel = `fieldSelector=${encodeURIComponent('spec.nodeName=node-1')}`;
        const list = await node1({ method: 'GET', path: `/api/v1/namespaces/default/pods?${sel}` });
        expect(list.status, list.text).to.equal(200);
        const names = (list.body as { items: Obj[] }).items.map((p) => p.metadata.name);
        expect(names).to.include.members(['np-on-1a', 'np-on-1b']);
        expect(names).to.not.include('np-on-2');
        expect(names).to.not.include('np-free');
        expect((await node1({ method: 'GET', path: `/api/v1/pods?${sel}` })).status).to.equal(200);
        expect((await node1({ method: 'GET', path: `/api/v1/pods?${sel}&watch=true`, watch: true })).status).to.equal(200);
        for (const q of ['', `?fieldSelector=${encodeURIComponent('spec.nodeName=node-2')}`, `?fieldSelector=${encodeURIComponent('spec.nodeName!=node-2')}`, `?fieldSelector=${encodeURIComponent('spec.nodeName=')}`, `?labelSelector=a`]) {
          expectForbidden(await node1({ method: 'GET', path: `/api/v1/namespaces/default/pods${q}` }), `list ${q}`);
          expectForbidden(await node1({ method: 'GET', path: `/api/v1/pods${q}${q ? '&' : '?'}watch=true`, watch: true }), `watch ${q}`);
        }
      });

      it('gets, updates the status of, and deletes only pods bound to node-1', async () => {
        expect((await node1({ method: 'GET', path: '/api/v1/namespaces/default/pods/np-on-1a' })).status).to.equal(200);
        expectForbidden(await node1({ method: 'GET', path: '/api/v1/namespaces/default/pods/np-on-2' }), 'get a node-2 pod');
        expectForbidden(await node1({ method: 'GET', path: '/api/v1/namespaces/default/pods/np-free' }), 'get an unbound pod');
        // A missing pod is not a way to probe what exists: still 403, not 404.
        const missing = await node1({ method: 'GET', path: '/api/v1/namespaces/default/pods/no-such-pod' });
        expect(missing.status).to.be.oneOf([403, 404]);

        const st = await node1({ method: 'PATCH', path: '/api/v1/namespaces/default/pods/np-on-1a/status', body: { status: { phase: 'Running' } }, contentType: 'application/merge-patch+json' });
        expect(st.status, st.text).to.equal(200);
        const cur = (await node1({ method: 'GET', path: '/api/v1/namespaces/default/pods/np-on-1a/status' })).body as Obj;
        expect(cur.status?.phase).to.equal('Running');
        const put = await node1({ method: 'PUT', path: '/api/v1/namespaces/default/pods/np-on-1a/status', body: { ...cur, status: { ...cur.status, podIP: '10.1.1.1' } } });
        expect(put.status, put.text).to.equal(200);
        expectForbidden(
          await node1({ method: 'PATCH', path: '/api/v1/namespaces/default/pods/np-on-2/status', body: { status: { phase: 'Failed' } }, contentType: 'application/merge-patch+json' }),
          'patch a node-2 pod status',
        );
        const other = (await admin('GET', '/api/v1/namespaces/default/pods/np-on-2')) as Obj;
        expectForbidden(await node1({ method: 'PUT', path: '/api/v1/namespaces/default/pods/np-on-2/status', body: other }), 'put a node-2 pod status');
        expect((await admin('GET', '/api/v1/namespaces/default/pods/np-on-2')).status?.phase).to.equal('Pending');
        // The pod itself (not its status) is not the agent's to change.
        expectForbidden(
          await node1({ method: 'PATCH', path: '/api/v1/namespaces/default/pods/np-on-1a', body: { metadata: { labels: { a: 'b' } } }, contentType: 'application/merge-patch+json' }),
          'patch own pod',
        );
        expectForbidden(await node1({ method: 'POST', path: '/api/v1/namespaces/default/pods', body: podBody('by-node', { nodeName: 'node-1' }) }), 'create a pod');
        expectForbidden(
          await node1({ method: 'POST', path: '/api/v1/namespaces/default/pods/np-free/binding', body: { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'np-free' }, target: { kind: 'Node', name: 'node-1' } } }),
          'bind a pod to itself',
        );

        expectForbidden(await node1({ method: 'DELETE', path: '/api/v1/namespaces/default/pods/np-on-2' }), 'delete a node-2 pod');
        expectForbidden(await node1({ method: 'DELETE', path: '/api/v1/namespaces/default/pods/np-free' }), 'delete an unbound pod');
        expectForbidden(await node1({ method: 'DELETE', path: '/api/v1/namespaces/default/pods' }), 'deletecollection');
        const del = await node1({ method: 'DELETE', path: '/api/v1/namespaces/default/pods/np-on-1b?gracePeriodSeconds=0' });
        expect(del.status, del.text).to.equal(200);
        expect((await as('admin', { method: 'GET', path: '/api/v1/namespaces/default/pods/np-on-1b' })).status).to.equal(404);
        expect((await as('admin', { method: 'GET', path: '/api/v1/namespaces/default/pods/np-on-2' })).status).to.equal(200);
      });

      it('a node-2 agent is held to node-2 the same way', async () => {
        expect((await as('node1', { method: 'GET', path: '/api/v1/namespaces/default/pods/np-on-2' })).status).to.equal(403);
        expect((await send(t.url, TEST_TOKENS.node2, { method: 'GET', path: '/api/v1/namespaces/default/pods/np-on-2' })).status).to.equal(200);
        expectForbidden(await send(t.url, TEST_TOKENS.node2, { method: 'GET', path: '/api/v1/namespaces/default/pods/np-on-1a' }), 'node2 get node-1 pod');
      });
    });
  });
});
