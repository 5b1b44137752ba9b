// RBAC over real HTTP and etcd (DESIGN §2): the default roles × resources × verbs matrix, tenant
// isolation through RoleBindings, escalation prevention (and `escalate`/`bind`), validation of the
// RBAC kinds, node restriction on top of the system:node role, the review endpoints, non-resource
// URLs, and default roles restored when a server starts.
import { expect } from 'chai';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { causeFields, eventBody, expectStatus, leaseBody, namespaceBody, nodeBody, podBody, podGroupBody, type RawResponse } from '../apiserver/helpers.js';
import { bindingBody, canI, RBAC_TEST_TOKEN_CSV, RBAC_V1, roleBody, send, untilCan, type Call, type Who } from './rbac-helpers.js';

type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';
const VERBS: Verb[] = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'];
const READ = new Set<Verb>(['get', 'list', 'watch']);

interface Target {
  /** `pods`, `pods/status`, `nodes`, ... */
  resource: string;
  namespaced: boolean;
  collection(ns: string | undefined): string;
  createBody?: () => unknown;
  /** The body of a PUT to `<collection>/x`. */
  updateBody: () => unknown;
}

const rbacObj = (kind: string) => () => {
  if (kind === 'Role' || kind === 'ClusterRole') return roleBody('x', [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }], kind);
  return bindingBody('x', { kind: 'ClusterRole', name: 'view' }, [{ kind: 'User', name: 'someone' }], kind as 'RoleBinding' | 'ClusterRoleBinding');
};

const TARGETS: Target[] = [
  { resource: 'pods', namespaced: true, collection: (ns) => `/api/v1/namespaces/${ns}/pods`, createBody: () => podBody('mx'), updateBody: () => podBody('x') },
  { resource: 'pods/status', namespaced: true, collection: (ns) => `/api/v1/namespaces/${ns}/pods`, updateBody: () => podBody('x') },
  { resource: 'events', namespaced: true, collection: (ns) => `/api/v1/namespaces/${ns}/events`, createBody: () => eventBody('mx', 'team-a'), updateBody: () => eventBody('x', 'team-a') },
  { resource: 'configmaps', namespaced: true, collection: (ns) => `/api/v1/namespaces/${ns}/configmaps`, createBody: () => configMapBody('mx'), updateBody: () => configMapBody('x') },
  { resource: 'secrets', namespaced: true, collection: (ns) => `/api/v1/namespaces/${ns}/secrets`, createBody: () => secretBody('mx'), updateBody: () => secretBody('x') },
  { resource: 'leases', namespaced: true, collection: (ns) => `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases`, createBody: () => leaseBody('mx'), updateBody: () => leaseBody('x') },
  { resource: 'podgroups', namespaced: true, collection: (ns) => `/apis/scheduling.x-k8s.io/v1alpha1/namespaces/${ns}/podgroups`, createBody: () => podGroupBody('mx'), updateBody: () => podGroupBody('x') },
  { resource: 'roles', namespaced: true, collection: (ns) => `${RBAC_V1}/namespaces/${ns}/roles`, createBody: rbacObj('Role'), updateBody: rbacObj('Role') },
  { resource: 'rolebindings', namespaced: true, collection: (ns) => `${RBAC_V1}/namespaces/${ns}/rolebindings`, createBody: rbacObj('RoleBinding'), updateBody: rbacObj('RoleBinding') },
  { resource: 'nodes', namespaced: false, collection: () => '/api/v1/nodes', createBody: () => nodeBody('mx'), updateBody: () => nodeBody('x') },
  { resource: 'namespaces', namespaced: false, collection: () => '/api/v1/namespaces', createBody: () => namespaceBody('mx'), updateBody: () => namespaceBody('x') },
  { resource: 'nodeallocations', namespaced: false, collection: () => '/apis/scheduling.cell.dev/v1alpha1/nodeallocations', updateBody: () => ({}) },
  { resource: 'clusterroles', namespaced: false, collection: () => `${RBAC_V1}/clusterroles`, createBody: rbacObj('ClusterRole'), updateBody: rbacObj('ClusterRole') },
  { resource: 'clusterrolebindings', namespaced: false, collection: () => `${RBAC_V1}/clusterrolebindings`, createBody: rbacObj('ClusterRoleBinding'), updateBody: rbacObj('ClusterRoleBinding') },
];

const RBAC_KINDS = new Set(['roles', 'rolebindings', 'clusterroles', 'clusterrolebindings']);

function configMapBody(name: string): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { k: 'v' } };
}

function secretBody(name: string): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name }, stringData: { k: 'v' } };
}

/** The requests of one matrix cell; undefined where there is no such request. */
function callFor(t: Target, ns: string | undefined, verb: Verb): Call | undefined {
  const base = t.collection(ns);
  const sub = t.resource.includes('/') ? `/${t.resource.split('/')[1]!}` : '';
  if (sub && !['get', 'update', 'patch'].includes(verb)) return undefined;
  if (t.resource === 'nodeallocations' && !READ.has(verb)) return undefined; // read-only kind: 405 for everyone
  switch (verb) {
    case 'get':
      return { method: 'GET', path: `${base}/x${sub}` };
    case 'list':
      return { method: 'GET', path: base };
    case 'watch':
      return { method: 'GET', path: `${base}?watch=true`, watch: true };
    case 'create':
      // Dry runs: the permitted cells change nothing.
      return t.createBody ? { method: 'POST', path: `${base}?dryRun=All`, body: t.createBody() } : undefined;
    case 'update':
      return { method: 'PUT', path: `${base}/x${sub}`, body: t.updateBody() };
    case 'patch':
      return { method: 'PATCH', path: `${base}/x${sub}`, body: {}, contentType: 'application/merge-patch+json' };
    case 'delete':
      return { method: 'DELETE', path: `${base}/x` };
    case 'deletecollection':
      return { method: 'DELETE', path: `${base}?dryRun=All` };
  }
}

type Scope = 'team-a' | 'team-b' | 'cluster';

/**
 * What each default role allows, written out independently of the role definitions. Tenants
 * (t-admin/t-edit/t-view) hold admin/edit/view through RoleBindings in team-a only. Objects
 * named `x` are nobody's own, so a node agent gets only what NodeRestriction leaves it.
 */
function expected(who: Who, t: Target, verb: Verb, scope: Scope): boolean {
  const r = t.resource;
  const read = READ.has(verb);
  switch (who) {
    case 'admin':
      return true;
    case 'viewer':
      // Everything but RBAC objects and Secrets, as Kubernetes' view role.
      return read && !RBAC_KINDS.has(r) && r !== 'secrets';
    case 'nobody':
      return false;
    case 'scheduler':
      if (read) return !RBAC_KINDS.has(r) && r !== 'secrets';
      switch (r) {
        case 'pods':
          return verb === 'delete';
        case 'pods/status':
          return verb === 'update' || verb === 'patch';
        case 'events':
          return verb === 'create' || verb === 'update' || verb === 'patch';
        case 'leases':
          return verb !== 'deletecollection';
        default:
          return false;
      }
    case 'node1':
      switch (r) {
        case 'nodes':
        case 'namespaces':
        case 'nodeallocations':
          return read;
        case 'pods':
          // Single pods pass the request check (the object is checked once read: none exists here);
          // lists only with the node's own field selector.
          return verb === 'get' || verb === 'delete';
        case 'pods/status':
          return true;
        case 'events':
          return verb === 'create' || verb === 'update' || verb === 'patch';
        default:
          return false;
      }
    case 'tAdmin':
    case 'tEdit':
    case 'tView': {
      if (scope !== 'team-a') return false;
      if (r === 'roles' || r === 'rolebindings') return who === 'tAdmin';
      if (read) return r !== 'secrets' || who !== 'tView';
      if (who === 'tView') return false;
      return r === 'pods' || r === 'podgroups' || r === 'configmaps' || r === 'secrets';
    }
    default:
      throw new Error(`no expectations for ${who}`);
  }
}

function permitted(res: RawResponse): boolean {
  return res.status !== 401 && res.status !== 403;
}

describe('RBAC (etcd)', function () {
  this.timeout(120_000);
  let t: TestApiServer;
  const as = (who: Who | undefined, call: Call) => send(t.url, who, call);
  const admin = async (method: string, path: string, body?: unknown): Promise<RawResponse> => {
    const res = await as('admin', { method, path, ...(body !== undefined ? { body } : {}) });
    expect(res.status, `${method} ${path}: ${res.text.slice(0, 300)}`).to.be.within(200, 201);
    return res;
  };
  const expectForbidden = (res: RawResponse, what: string) => {
    expect(res.status, `${what}: ${res.text.slice(0, 400)}`).to.equal(403);
    return expectStatus(res, 403, 'Forbidden');
  };

  before(async () => {
    t = await startTestApiServer({ backend: 'etcd', tokenCsv: RBAC_TEST_TOKEN_CSV });
    for (const ns of ['team-a', 'team-b']) await admin('POST', '/api/v1/namespaces', namespaceBody(ns));
    // Tenants: Kubernetes' admin/edit/view ClusterRoles, bound in team-a only.
    for (const [user, role] of [['t-admin', 'admin'], ['t-edit', 'edit'], ['t-view', 'view']] as const) {
      await admin('POST', `${RBAC_V1}/namespaces/team-a/rolebindings`, bindingBody(`${user}-${role}`, { kind: 'ClusterRole', name: role }, [{ kind: 'User', name: user }]));
    }
    await untilCan(t.url, 'tAdmin', { verb: 'create', resource: 'pods', namespace: 'team-a' });
    await untilCan(t.url, 'tEdit', { verb: 'create', resource: 'pods', namespace: 'team-a' });
    await untilCan(t.url, 'tView', { verb: 'list', resource: 'pods', namespace: 'team-a' });
  });
  after(async () => {
    await t?.close();
  });

  describe('default roles', () => {
    it('the server creates the default ClusterRoles and ClusterRoleBindings', async () => {
      const roles = (await admin('GET', `${RBAC_V1}/clusterroles`)).body as { items: { metadata: { name: string } }[] };
      const names = roles.items.map((r) => r.metadata.name);
      expect(names).to.include.members(['cluster-admin', 'admin', 'edit', 'view', 'system:node', 'system:cell-scheduler', 'system:discovery', 'system:basic-user']);
      const bindings = (await admin('GET', `${RBAC_V1}/clusterrolebindings`)).body as {
        items: { metadata: { name: string }; roleRef: { name: string }; subjects: { kind: string; name: string }[] }[];
      };
      const byGroup = (group: string) => bindings.items.filter((b) => b.subjects.some((s) => s.kind === 'Group' && s.name === group)).map((b) => b.roleRef.name);
      expect(byGroup('system:masters')).to.include('cluster-admin');
      expect(byGroup('system:schedulers')).to.include('system:cell-scheduler');
      expect(byGroup('system:nodes')).to.include('system:node');
      expect(byGroup('system:viewers')).to.include('view');
      expect(byGroup('system:authenticated')).to.include.members(['system:discovery', 'system:basic-user']);
    });

    it('a server that starts puts back a default role an admin changed (autoupdate)', async () => {
      const view = (await admin('GET', `${RBAC_V1}/clusterroles/view`)).body as { rules: unknown[] };
      const original = view.rules;
      await admin('PUT', `${RBAC_V1}/clusterroles/view`, { ...view, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] });
      // A second replica on the same etcd data.
      const replica = await startTestApiServer({ backend: 'etcd', prefix: t.prefix, tokenCsv: RBAC_TEST_TOKEN_CSV });
      try {
        const restored = (await admin('GET', `${RBAC_V1}/clusterroles/view`)).body as { rules: unknown[] };
        expect(restored.rules).to.deep.equal(original);
        // The first server sees the restored role too.
        await untilCan(t.url, 'viewer', { verb: 'list', resource: 'nodes' });
      } finally {
        await replica.close();
      }
    });
  });

  describe('the default role × resource × verb matrix', () => {
    const WHO: Who[] = ['admin', 'scheduler', 'node1', 'viewer', 'tAdmin', 'tEdit', 'tView', 'nobody'];
    for (const who of WHO) {
      for (const scope of ['team-a', 'team-b', 'cluster'] as Scope[]) {
        it(`${who} in ${scope}`, async () => {
          const wrong: string[] = [];
          let cells = 0;
          for (const target of TARGETS.filter((x) => x.namespaced === (scope !== 'cluster'))) {
            for (const verb of VERBS) {
              const call = callFor(target, scope === 'cluster' ? undefined : scope, verb);
              if (!call) continue;
              cells++;
              const want = expected(who, target, verb, scope);
              const res = await as(who, call);
              const got = permitted(res);
              if (res.status >= 500) wrong.push(`${verb} ${target.resource}: ${res.status} ${res.text.slice(0, 200)}`);
              else if (got !== want) wrong.push(`${verb} ${target.resource}: want ${want ? 'allowed' : '403'}, got ${res.status} ${res.text.slice(0, 200)}`);
            }
          }
          expect(cells).to.be.greaterThan(10);
          expect(wrong, wrong.join('\n')).to.deep.equal([]);
        });
      }
    }

    it('a RoleBinding gives a tenant its own namespace object, and no other namespace', async () => {
      expect((await as('tView', { method: 'GET', path: '/api/v1/namespaces/team-a' })).status).to.equal(200);
      expectForbidden(await as('tView', { method: 'GET', path: '/api/v1/namespaces/team-b' }), 'get team-b');
      expectForbidden(await as('tView', { method: 'GET', path: '/api/v1/namespaces' }), 'list namespaces');
    });
  });

  describe('tenant isolation', () => {
    it('an editor creates pods in its namespace only, and cannot list across namespaces', async () => {
      const created = await as('tEdit', { method: 'POST', path: '/api/v1/namespaces/team-a/pods', body: podBody('tenant-pod') });
      expect(created.status, created.text).to.equal(201);
      expectForbidden(await as('tEdit', { method: 'POST', path: '/api/v1/namespaces/team-b/pods', body: podBody('tenant-pod') }), 'create in team-b');
      expectForbidden(await as('tEdit', { method: 'GET', path: '/api/v1/pods' }), 'list all pods');
      const list = await as('tEdit', { method: 'GET', path: '/api/v1/namespaces/team-a/pods' });
      expect((list.body as { items: { metadata: { name: string } }[] }).items.map((p) => p.metadata.name)).to.include('tenant-pod');
      // A pod's status is the controllers' and the scheduler's, not the editor's.
      expectForbidden(
        await as('tEdit', { method: 'PATCH', path: '/api/v1/namespaces/team-a/pods/tenant-pod/status', body: { status: { phase: 'Running' } }, contentType: 'application/merge-patch+json' }),
        'patch status',
      );
    });

    it('RBAC changes reach the authorizer through the watch cache, both ways', async () => {
      const q = { verb: 'list', resource: 'pods', namespace: 'team-b' };
      expect((await canI(t.url, 'dave', q)).allowed).to.equal(false);
      await admin('POST', `${RBAC_V1}/clusterrolebindings`, bindingBody('dave-view', { kind: 'ClusterRole', name: 'view' }, [{ kind: 'User', name: 'dave' }], 'ClusterRoleBinding'));
      await untilCan(t.url, 'dave', q);
      expect((await as('dave', { method: 'GET', path: '/api/v1/namespaces/team-b/pods' })).status).to.equal(200);
      await admin('DELETE', `${RBAC_V1}/clusterrolebindings/dave-view`);
      await untilCan(t.url, 'dave', q, false);
      expectForbidden(await as('dave', { method: 'GET', path: '/api/v1/namespaces/team-b/pods' }), 'dave after unbinding');
    });

    it('a group subject and a ServiceAccount subject are honoured', async () => {
      await admin('POST', `${RBAC_V1}/namespaces/team-b/rolebindings`, bindingBody('members-view', { kind: 'ClusterRole', name: 'view' }, [{ kind: 'Group', name: 'team-members' }]));
      await untilCan(t.url, 'tenant', { verb: 'get', resource: 'pods', namespace: 'team-b' });
      expect((await canI(t.url, 'tenant', { verb: 'get', resource: 'pods', namespace: 'team-a' })).allowed).to.equal(false);
      await admin('POST', `${RBAC_V1}/namespaces/team-b/rolebindings`, bindingBody('sa-edit', { kind: 'ClusterRole', name: 'edit' }, [{ kind: 'ServiceAccount', name: 'builder' }]));
      const sar = async (ns: string) => {
        const res = await admin('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SubjectAccessReview',
          spec: { user: 'system:serviceaccount:team-b:builder', groups: ['system:serviceaccounts'], resourceAttributes: { verb: 'create', resource: 'pods', namespace: ns } },
        });
        return (res.body as { status: { allowed: boolean } }).status.allowed;
      };
      for (let i = 0; !(await sar('team-b')); i++) {
        if (i > 200) throw new Error('the ServiceAccount binding never took effect');
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(await sar('team-a')).to.equal(false);
    });
  });

  describe('escalation prevention', () => {
    const rolesIn = (ns: string) => `${RBAC_V1}/namespaces/${ns}/roles`;
    const bindingsIn = (ns: string) => `${RBAC_V1}/namespaces/${ns}/rolebindings`;

    it('a namespace admin creates roles with rules it holds, not with rules it lacks', async () => {
      const ok = await as('tAdmin', { method: 'POST', path: rolesIn('team-a'), body: roleBody('pod-reader', [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }]) });
      expect(ok.status, ok.text).to.equal(201);
      const s = expectForbidden(
        await as('tAdmin', { method: 'POST', path: rolesIn('team-a'), body: roleBody('lease-writer', [{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] }]) }),
        'role with leases create',
      );
      expect(s.message).to.contain('attempting to grant RBAC permissions not currently held').and.contain('leases');
      expectForbidden(
        await as('tAdmin', { method: 'POST', path: rolesIn('team-a'), body: roleBody('all', [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }]) }),
        'role with wildcards',
      );
      // Not in a namespace where it holds nothing, even rules it holds in team-a.
      expectForbidden(
        await as('tAdmin', { method: 'POST', path: rolesIn('team-b'), body: roleBody('pod-reader', [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }]) }),
        'role in team-b',
      );
    });

    it('escalation is checked on the patched object, and a metadata-only change passes', async () => {
      const patchRole = (body: unknown) =>
        as('tAdmin', { method: 'PATCH', path: `${rolesIn('team-a')}/pod-reader`, body, contentType: 'application/merge-patch+json' });
      expectForbidden(await patchRole({ rules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['delete'] }] }), 'patch in nodes delete');
      const labelled = await patchRole({ metadata: { labels: { team: 'a' } } });
      expect(labelled.status, labelled.text).to.equal(200);
      const current = (await admin('GET', `${rolesIn('team-a')}/pod-reader`)).body as { rules: { resources: string[] }[] };
      expect(current.rules[0]!.resources).to.deep.equal(['pods']);
    });

    it('a namespace admin binds roles whose rules it holds, not broader ones', async () => {
      const ok = await as('tAdmin', { method: 'POST', path: bindingsIn('team-a'), body: bindingBody('dave-edit', { kind: 'ClusterRole', name: 'edit' }, [{ kind: 'User', name: 'dave' }]) });
      expect(ok.status, ok.text).to.equal(201);
      const own = await as('tAdmin', { method: 'POST', path: bindingsIn('team-a'), body: bindingBody('dave-reader', { kind: 'Role', name: 'pod-reader' }, [{ kind: 'User', name: 'dave' }]) });
      expect(own.status, own.text).to.equal(201);
      for (const role of ['cluster-admin', 'system:node', 'system:cell-scheduler']) {
        expectForbidden(
          await as('tAdmin', { method: 'POST', path: bindingsIn('team-a'), body: bindingBody(`dave-${role.replace(':', '-')}`, { kind: 'ClusterRole', name: role }, [{ kind: 'User', name: 'dave' }]) }),
          `bind ${role}`,
        );
      }
      // Cluster-wide bindings need cluster-wide rules.
      expectForbidden(
        await as('tAdmin', { method: 'POST', path: `${RBAC_V1}/clusterrolebindings`, body: bindingBody('dave-view-all', { kind: 'ClusterRole', name: 'view' }, [{ kind: 'User', name: 'dave' }], 'ClusterRoleBinding') }),
        'cluster binding',
      );
      // Without `bind`, a role that does not exist cannot be judged (as Kubernetes: 404).
      const missing = await as('tAdmin', { method: 'POST', path: bindingsIn('team-a'), body: bindingBody('dave-ghost', { kind: 'Role', name: 'ghost' }, [{ kind: 'User', name: 'dave' }]) });
      expectStatus(missing, 404, 'NotFound');
    });

    it('`escalate` on roles lets a user write rules it does not hold', async () => {
      await admin(
        'POST',
        rolesIn('team-a'),
        roleBody('role-escalator', [{ apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles'], verbs: ['create', 'get', 'escalate'] }]),
      );
      await admin('POST', bindingsIn('team-a'), bindingBody('esc', { kind: 'Role', name: 'role-escalator' }, [{ kind: 'User', name: 'esc' }]));
      await untilCan(t.url, 'esc', { verb: 'escalate', group: 'rbac.authorization.k8s.io', resource: 'roles', namespace: 'team-a' });
      const res = await as('esc', { method: 'POST', path: rolesIn('team-a'), body: roleBody('lease-writer', [{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] }]) });
      expect(res.status, res.text).to.equal(201);
      // escalate is per namespace too.
      expectForbidden(
        await as('esc', { method: 'POST', path: rolesIn('team-b'), body: roleBody('lease-writer', [{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] }]) }),
        'escalate in team-b',
      );
    });

    it('`bind` on a named role lets a user bind that role and only that one', async () => {
      await admin(
        'POST',
        `${RBAC_V1}/clusterroles`,
        roleBody('binder', [
          { apiGroups: ['rbac.authorization.k8s.io'], resources: ['rolebindings'], verbs: ['create'] },
          { apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], verbs: ['bind'], resourceNames: ['cluster-admin'] },
        ], 'ClusterRole'),
      );
      await admin('POST', bindingsIn('team-a'), bindingBody('binder', { kind: 'ClusterRole', name: 'binder' }, [{ kind: 'User', name: 'binder' }]));
      await untilCan(t.url, 'binder', { verb: 'bind', group: 'rbac.authorization.k8s.io', resource: 'clusterroles', name: 'cluster-admin', namespace: 'team-a' });
      const ok = await as('binder', { method: 'POST', path: bindingsIn('team-a'), body: bindingBody('ns-owner', { kind: 'ClusterRole', name: 'cluster-admin' }, [{ kind: 'User', name: 'dave' }]) });
      expect(ok.status, ok.text).to.equal(201);
      expectForbidden(
        await as('binder', { method: 'POST', path: bindingsIn('team-a'), body: bindingBody('ns-node', { kind: 'ClusterRole', name: 'system:node' }, [{ kind: 'User', name: 'dave' }]) }),
        'bind system:node',
      );
      // The binding grants cluster-admin's rules in team-a only.
      await untilCan(t.url, 'dave', { verb: 'create', resource: 'leases', group: 'coordination.k8s.io', namespace: 'team-a' });
      expect((await canI(t.url, 'dave', { verb: 'delete', resource: 'nodes' })).allowed).to.equal(false);
      expect((await canI(t.url, 'dave', { verb: 'create', resource: 'leases', group: 'coordination.k8s.io', namespace: 'team-b' })).allowed).to.equal(false);
    });
  });

  describe('aggregated ClusterRoles', () => {
    const CLUSTER_ROLES = `${RBAC_V1}/clusterroles`;
    const widgets = { verb: 'create', group: 'example.com', resource: 'widgets', namespace: 'team-a' };

    it('a ClusterRole labelled aggregate-to-edit adds its rules to edit and admin, not view, and takes them back when the label goes', async () => {
      await admin('POST', CLUSTER_ROLES, {
        ...roleBody('widgets-edit', [{ apiGroups: ['example.com'], resources: ['widgets'], verbs: ['create', 'get', 'list'] }], 'ClusterRole'),
        metadata: { name: 'widgets-edit', labels: { 'rbac.authorization.k8s.io/aggregate-to-edit': 'true' } },
      });
      await untilCan(t.url, 'tEdit', widgets);
      await untilCan(t.url, 'tAdmin', widgets);
      expect((await canI(t.url, 'tView', widgets)).allowed).to.equal(false);
      // Only in the namespace the binding is for.
      expect((await canI(t.url, 'tEdit', { ...widgets, namespace: 'team-b' })).allowed).to.equal(false);
      // The stored default role stays as shipped; its aggregationRule says where the rest comes from.
      const edit = (await admin('GET', `${CLUSTER_ROLES}/edit`)).body as { rules: { apiGroups?: string[] }[]; aggregationRule?: { clusterRoleSelectors: { matchLabels: Record<string, string> }[] } };
      expect(edit.rules.some((r) => r.apiGroups?.includes('example.com'))).to.equal(false);
      expect(edit.aggregationRule?.clusterRoleSelectors.map((s) => s.matchLabels)).to.deep.include({ 'rbac.authorization.k8s.io/aggregate-to-edit': 'true' });
      const unlabel = await as('admin', { method: 'PATCH', path: `${CLUSTER_ROLES}/widgets-edit`, body: { metadata: { labels: null } }, contentType: 'application/merge-patch+json' });
      expect(unlabel.status, unlabel.text).to.equal(200);
      await untilCan(t.url, 'tEdit', widgets, false);
    });

    it('aggregate-to-view reaches view, edit and admin', async () => {
      const q = { verb: 'list', group: 'example.com', resource: 'gadgets', namespace: 'team-a' };
      await admin('POST', CLUSTER_ROLES, {
        ...roleBody('gadgets-view', [{ apiGroups: ['example.com'], resources: ['gadgets'], verbs: ['get', 'list', 'watch'] }], 'ClusterRole'),
        metadata: { name: 'gadgets-view', labels: { 'rbac.authorization.k8s.io/aggregate-to-view': 'true' } },
      });
      for (const who of ['tView', 'tEdit', 'tAdmin'] as const) await untilCan(t.url, who, q);
    });

    it('an aggregationRule, or a label that would feed one, needs escalate: a user who may write ClusterRoles cannot take in cluster-admin', async () => {
      await admin('POST', CLUSTER_ROLES, roleBody('role-writer', [{ apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], verbs: ['create', 'get', 'update', 'patch'] }], 'ClusterRole'));
      await admin('POST', `${RBAC_V1}/clusterrolebindings`, bindingBody('tenant-role-writer', { kind: 'ClusterRole', name: 'role-writer' }, [{ kind: 'User', name: 'tenant' }], 'ClusterRoleBinding'));
      await untilCan(t.url, 'tenant', { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'clusterroles' });
      const grab = await as('tenant', {
        method: 'POST',
        path: CLUSTER_ROLES,
        body: { ...roleBody('grab', [], 'ClusterRole'), aggregationRule: { clusterRoleSelectors: [{ matchLabels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' } }] } },
      });
      expect(expectForbidden(grab, 'aggregationRule').message).to.contain('must have cluster-admin privileges to use the aggregationRule');
      const relabel = await as('tenant', {
        method: 'PATCH',
        path: `${CLUSTER_ROLES}/cluster-admin`,
        body: { metadata: { labels: { 'rbac.authorization.k8s.io/aggregate-to-view': 'true' } } },
        contentType: 'application/merge-patch+json',
      });
      expect(expectForbidden(relabel, 'labelling cluster-admin').message).to.contain('attempting to grant RBAC permissions not currently held');
      expect((await canI(t.url, 'tView', { verb: 'delete', resource: 'nodes' })).allowed).to.equal(false);
      // An annotation is no grant.
      const note = await as('tenant', { method: 'PATCH', path: `${CLUSTER_ROLES}/role-writer`, body: { metadata: { annotations: { note: 'x' } } }, contentType: 'application/merge-patch+json' });
      expect(note.status, note.text).to.equal(200);
    });

    it('two ClusterRoles whose aggregationRules select each other grant both roles\' rules, without looping', async () => {
      const loop = (name: string, label: string, selects: string) => ({
        ...roleBody(name, [{ apiGroups: ['example.com'], resources: [name], verbs: ['get'] }], 'ClusterRole'),
        metadata: { name, labels: { [label]: 'true' } },
        aggregationRule: { clusterRoleSelectors: [{ matchLabels: { [selects]: 'true' } }] },
      });
      await admin('POST', CLUSTER_ROLES, loop('loop-a', 'example.com/a', 'example.com/b'));
      await admin('POST', CLUSTER_ROLES, loop('loop-b', 'example.com/b', 'example.com/a'));
      await admin('POST', `${RBAC_V1}/namespaces/team-b/rolebindings`, bindingBody('tview-loop', { kind: 'ClusterRole', name: 'loop-a' }, [{ kind: 'User', name: 't-view' }]));
      await untilCan(t.url, 'tView', { verb: 'get', group: 'example.com', resource: 'loop-b', namespace: 'team-b' });
      expect((await canI(t.url, 'tView', { verb: 'get', group: 'example.com', resource: 'loop-a', namespace: 'team-b' })).allowed).to.equal(true);
    });
  });

  describe('validation of the RBAC kinds', () => {
    const post = (path: string, body: unknown) => as('admin', { method: 'POST', path, body });

    it('a rule without verbs, without groups or resources, or mixing URLs and resources → 422 naming the field', async () => {
      let s = expectStatus(await post(`${RBAC_V1}/namespaces/team-a/roles`, roleBody('bad', [{ apiGroups: [''], resources: ['pods'] }])), 422, 'Invalid');
      expect(causeFields(s)).to.deep.equal(['rules[0].verbs']);
      s = expectStatus(await post(`${RBAC_V1}/namespaces/team-a/roles`, roleBody('bad', [{ verbs: ['get'], resources: ['pods'] }])), 422, 'Invalid');
      expect(causeFields(s)).to.deep.equal(['rules[0].apiGroups']);
      s = expectStatus(await post(`${RBAC_V1}/namespaces/team-a/roles`, roleBody('bad', [{ verbs: ['get'], nonResourceURLs: ['/metrics'] }])), 422, 'Invalid');
      expect(causeFields(s)).to.deep.equal(['rules[0].nonResourceURLs']);
      s = expectStatus(
        await post(`${RBAC_V1}/clusterroles`, roleBody('bad', [{ verbs: ['get'], apiGroups: [''], resources: ['pods'], nonResourceURLs: ['/x'] }], 'ClusterRole')),
        422,
        'Invalid',
      );
      expect(causeFields(s)).to.deep.equal(['rules[0].nonResourceURLs']);
    });

    it('a roleRef of another kind or group, a missing roleRef, a bad subject → 422 naming the field', async () => {
      const rb = (roleRef: unknown, subjects: unknown[] = [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'u' }]) => ({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'bad' },
        ...(roleRef !== undefined ? { roleRef } : {}),
        subjects,
      });
      let s = expectStatus(await post(`${RBAC_V1}/namespaces/team-a/rolebindings`, rb({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Deployment', name: 'x' })), 422);
      expect(causeFields(s)).to.deep.equal(['roleRef.kind']);
      s = expectStatus(await post(`${RBAC_V1}/namespaces/team-a/rolebindings`, rb({ apiGroup: 'apps', kind: 'Role', name: 'x' })), 422);
      expect(causeFields(s)).to.deep.equal(['roleRef.apiGroup']);
      s = expectStatus(await post(`${RBAC_V1}/namespaces/team-a/rolebindings`, rb(undefined)), 422);
      expect(causeFields(s)).to.include('roleRef');
      s = expectStatus(await post(`${RBAC_V1}/namespaces/team-a/rolebindings`, rb({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'x' }, [{ kind: 'Robot', name: 'r2' }])), 422);
      expect(causeFields(s)).to.deep.equal(['subjects[0].kind']);
      const crb = { ...rb({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'x' }), kind: 'ClusterRoleBinding' };
      s = expectStatus(await post(`${RBAC_V1}/clusterrolebindings`, crb), 422);
      expect(causeFields(s)).to.deep.equal(['roleRef.kind']);
      const saNoNs = { ...rb({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' }, [{ kind: 'ServiceAccount', name: 'sa' }]), kind: 'ClusterRoleBinding' };
      s = expectStatus(await post(`${RBAC_V1}/clusterrolebindings`, saNoNs), 422);
      expect(causeFields(s)).to.deep.equal(['subjects[0].namespace']);
    });

    it('names are path segments: colons are fine, slashes are not', async () => {
      const ok = await post(`${RBAC_V1}/clusterroles`, roleBody('team:reader', [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }], 'ClusterRole'));
      expect(ok.status, ok.text).to.equal(201);
      expect((await as('admin', { method: 'GET', path: `${RBAC_V1}/clusterroles/team:reader` })).status).to.equal(200);
      const bad = await post(`${RBAC_V1}/clusterroles`, roleBody('a%b', [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }], 'ClusterRole'));
      expect(causeFields(expectStatus(bad, 422))).to.deep.equal(['metadata.name']);
    });

    it('roleRef is immutable', async () => {
      await admin('POST', `${RBAC_V1}/namespaces/team-a/rolebindings`, bindingBody('fixed', { kind: 'ClusterRole', name: 'view' }, [{ kind: 'User', name: 'u' }]));
      const res = await as('admin', {
        method: 'PATCH',
        path: `${RBAC_V1}/namespaces/team-a/rolebindings/fixed`,
        body: { roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' } },
        contentType: 'application/merge-patch+json',
      });
      expect(causeFields(expectStatus(res, 422, 'Invalid'))).to.deep.equal(['roleRef']);
      // Subjects may change.
      const subjects = await as('admin', {
        method: 'PATCH',
        path: `${RBAC_V1}/namespaces/team-a/rolebindings/fixed`,
        body: { subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'v' }] },
        contentType: 'application/merge-patch+json',
      });
      expect(subjects.status, subjects.text).to.equal(200);
    });

    it('a binding to a role that does not exist is accepted and grants nothing until the role appears', async () => {
      await admin('POST', `${RBAC_V1}/namespaces/team-b/rolebindings`, bindingBody('later', { kind: 'Role', name: 'later' }, [{ kind: 'User', name: 'esc' }]));
      const q = { verb: 'list', resource: 'podgroups', group: 'scheduling.x-k8s.io', namespace: 'team-b' };
      await new Promise((r) => setTimeout(r, 100));
      expect((await canI(t.url, 'esc', q)).allowed).to.equal(false);
      await admin('POST', `${RBAC_V1}/namespaces/team-b/roles`, roleBody('later', [{ apiGroups: ['scheduling.x-k8s.io'], resources: ['podgroups'], verbs: ['list'] }]));
      await untilCan(t.url, 'esc', q);
    });
  });

  describe('node restriction on top of the system:node role', () => {
    const LEASES = '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases';
    it('a node agent touches only its own Node and Lease, and lists only its own pods', async () => {
      expectForbidden(await as('node1', { method: 'POST', path: '/api/v1/nodes', body: nodeBody('node-9') }), 'create another node');
      const own = await as('node1', { method: 'POST', path: '/api/v1/nodes', body: nodeBody('node-1') });
      expect(own.status, own.text).to.equal(201);
      expectForbidden(await as('node1', { method: 'POST', path: '/apis/coordination.k8s.io/v1/namespaces/default/leases', body: leaseBody('node-1') }), 'lease outside kube-node-lease');
      expectForbidden(await as('node1', { method: 'POST', path: LEASES, body: leaseBody('node-2') }), 'lease of node-2');
      expect((await as('node1', { method: 'POST', path: LEASES, body: leaseBody('node-1') })).status).to.equal(201);
      expectForbidden(await as('node1', { method: 'GET', path: '/api/v1/pods' }), 'list all pods');
      expect((await as('node1', { method: 'GET', path: '/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-1' })).status).to.equal(200);
      expectForbidden(await as('node1', { method: 'GET', path: '/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-2' }), 'list node-2 pods');
      await admin('POST', '/api/v1/nodes', nodeBody('node-2'));
      await admin('POST', '/api/v1/namespaces/team-a/pods', podBody('on-node-2', { nodeName: 'node-2' }));
      expectForbidden(await as('node1', { method: 'GET', path: '/api/v1/namespaces/team-a/pods/on-node-2' }), 'get a pod of node-2');
      // A review answers the same.
      expect((await canI(t.url, 'node1', { verb: 'update', resource: 'nodes', name: 'node-1' })).allowed).to.equal(true);
      const other = await canI(t.url, 'node1', { verb: 'update', resource: 'nodes', name: 'node-2' });
      expect(other.allowed).to.equal(false);
      expect(other.reason).to.contain('node-1');
    });

    it('a node agent bound to more than system:node is not restricted in what that binding adds', async () => {
      await admin('POST', `${RBAC_V1}/clusterrolebindings`, bindingBody('node1-view', { kind: 'ClusterRole', name: 'view' }, [{ kind: 'User', name: 'system:node:node-1' }], 'ClusterRoleBinding'));
      await untilCan(t.url, 'node1', { verb: 'list', resource: 'pods' });
      expect((await as('node1', { method: 'GET', path: '/api/v1/pods' })).status).to.equal(200);
      await admin('DELETE', `${RBAC_V1}/clusterrolebindings/node1-view`);
      await untilCan(t.url, 'node1', { verb: 'list', resource: 'pods' }, false);
    });
  });

  describe('reviews', () => {
    const SSAR = '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews';
    it('SelfSubjectAccessReview answers for the caller, with the granting binding as the reason', async () => {
      const yes = await canI(t.url, 'viewer', { verb: 'list', resource: 'pods', namespace: 'default' });
      expect(yes.allowed).to.equal(true);
      expect(yes.reason).to.contain('ClusterRoleBinding "system:viewers"').and.contain('ClusterRole "view"');
      expect((await canI(t.url, 'viewer', { verb: 'delete', resource: 'pods', namespace: 'default' })).allowed).to.equal(false);
      expect((await canI(t.url, 'admin', { verb: 'delete', resource: 'nodes' })).allowed).to.equal(true);
      expect((await canI(t.url, 'nobody', { verb: 'get', resource: 'pods', namespace: 'default' })).allowed).to.equal(false);
      const nonResource = await as('nobody', {
        method: 'POST',
        path: SSAR,
        body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { nonResourceAttributes: { path: '/apis', verb: 'get' } } },
      });
      expect((nonResource.body as { status: { allowed: boolean } }).status.allowed).to.equal(true);
      const neither = await as('nobody', { method: 'POST', path: SSAR, body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: {} } });
      expect(causeFields(expectStatus(neither, 422))).to.deep.equal(['spec.resourceAttributes']);
      // Reviews are not stored: there is nothing to list.
      expect((await as('admin', { method: 'GET', path: SSAR })).status).to.equal(405);
    });

    it('SelfSubjectRulesReview lists the rules that apply in a namespace', async () => {
      const res = await as('tEdit', {
        method: 'POST',
        path: '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews',
        body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectRulesReview', spec: { namespace: 'team-a' } },
      });
      expect(res.status, res.text).to.equal(201);
      const status = (res.body as { status: { resourceRules: { verbs: string[]; resources?: string[] }[]; nonResourceRules: { nonResourceURLs?: string[] }[] } }).status;
      expect(status.resourceRules.some((r) => r.resources?.includes('pods') && r.verbs.includes('create'))).to.equal(true);
      expect(status.resourceRules.some((r) => r.resources?.includes('selfsubjectaccessreviews'))).to.equal(true);
      expect(status.nonResourceRules.some((r) => r.nonResourceURLs?.includes('/api'))).to.equal(true);
      const elsewhere = await as('tEdit', {
        method: 'POST',
        path: '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews',
        body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectRulesReview', spec: { namespace: 'team-b' } },
      });
      const rules = (elsewhere.body as { status: { resourceRules: { verbs: string[]; resources?: string[] }[] } }).status.resourceRules;
      expect(rules.some((r) => r.resources?.includes('pods'))).to.equal(false);
    });

    it('SubjectAccessReview asks about another user, and is for those granted it', async () => {
      const body = {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: { user: 'someone', groups: ['system:schedulers'], resourceAttributes: { verb: 'create', resource: 'pods', subresource: 'binding', namespace: 'default' } },
      };
      const res = await as('admin', { method: 'POST', path: '/apis/authorization.k8s.io/v1/subjectaccessreviews', body });
      expect(res.status, res.text).to.equal(201);
      expect((res.body as { status: { allowed: boolean } }).status.allowed).to.equal(true);
      const no = await as('admin', { method: 'POST', path: '/apis/authorization.k8s.io/v1/subjectaccessreviews', body: { ...body, spec: { ...body.spec, groups: [] } } });
      expect((no.body as { status: { allowed: boolean } }).status.allowed).to.equal(false);
      expectForbidden(await as('viewer', { method: 'POST', path: '/apis/authorization.k8s.io/v1/subjectaccessreviews', body }), 'viewer SAR');
      const noUser = await as('admin', { method: 'POST', path: '/apis/authorization.k8s.io/v1/subjectaccessreviews', body: { ...body, spec: { resourceAttributes: body.spec.resourceAttributes } } });
      expect(causeFields(expectStatus(noUser, 422))).to.deep.equal(['spec.user']);
    });

    it('SelfSubjectReview returns who the caller is, with system:authenticated', async () => {
      const res = await as('scheduler', {
        method: 'POST',
        path: '/apis/authentication.k8s.io/v1/selfsubjectreviews',
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview', metadata: { creationTimestamp: null }, status: {} },
      });
      expect(res.status, res.text).to.equal(201);
      const info = (res.body as { status: { userInfo: { username: string; uid: string; groups: string[] } } }).status.userInfo;
      expect(info).to.deep.equal({ username: 'system:scheduler', uid: '2', groups: ['system:schedulers', 'system:authenticated'] });
    });

    it('the review APIs and RBAC are in discovery', async () => {
      const groups = ((await as('nobody', { method: 'GET', path: '/apis' })).body as { groups: { name: string }[] }).groups.map((g) => g.name);
      expect(groups).to.include.members(['rbac.authorization.k8s.io', 'authorization.k8s.io', 'authentication.k8s.io']);
      const authz = (await as('nobody', { method: 'GET', path: '/apis/authorization.k8s.io/v1' })).body as { resources: { name: string; verbs: string[] }[] };
      expect(authz.resources.map((r) => r.name)).to.include.members(['selfsubjectaccessreviews', 'selfsubjectrulesreviews', 'subjectaccessreviews']);
      expect(authz.resources.find((r) => r.name === 'selfsubjectaccessreviews')?.verbs).to.deep.equal(['create']);
      const authn = (await as('nobody', { method: 'GET', path: '/apis/authentication.k8s.io/v1' })).body as { resources: { name: string }[] };
      expect(authn.resources.map((r) => r.name)).to.include('selfsubjectreviews');
    });
  });

  describe('non-resource URLs', () => {
    it('discovery for every authenticated user; /metrics for admins, viewers and schedulers; others 403', async () => {
      for (const who of ['nobody', 'tEdit', 'node1'] as Who[]) {
        for (const path of ['/api', '/api/v1', '/apis', '/apis/rbac.authorization.k8s.io/v1']) {
          expect((await as(who, { method: 'GET', path })).status, `${who} ${path}`).to.equal(200);
        }
      }
      for (const who of ['admin', 'viewer', 'scheduler', 'nobody', 'tAdmin', 'node1'] as Who[]) {
        const allowed = who === 'admin' || who === 'viewer' || who === 'scheduler';
        expect((await as(who, { method: 'GET', path: '/metrics' })).status, who).to.equal(allowed ? 200 : 403);
      }
      expectForbidden(await as('nobody', { method: 'GET', path: '/no-such-path' }), 'unknown path');
      expect((await as('admin', { method: 'GET', path: '/no-such-path' })).status).to.equal(404);
      // Health and version need no token at all.
      for (const path of ['/livez', '/readyz', '/healthz', '/version']) expect((await as(undefined, { method: 'GET', path })).status, path).to.equal(200);
    });
  });
});

describe('RBAC without a token file (etcd)', function () {
  this.timeout(60_000);
  it('everything is allowed as the loopback admin, RBAC writes included', async () => {
    const t = await startTestApiServer({ backend: 'etcd' });
    try {
      const res = await send(t.url, undefined, { method: 'POST', path: `${RBAC_V1}/clusterroles`, body: roleBody('anything', [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }], 'ClusterRole') });
      expect(res.status, res.text).to.equal(201);
      const whoami = await send(t.url, undefined, {
        method: 'POST',
        path: '/apis/authentication.k8s.io/v1/selfsubjectreviews',
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
      });
      expect((whoami.body as { status: { userInfo: { groups: string[] } } }).status.userInfo.groups).to.include('system:masters');
      expect((await send(t.url, undefined, { method: 'GET', path: '/metrics' })).status).to.equal(200);
    } finally {
      await t.close();
    }
  });
});
