// cell-controller-manager as its own least-privileged user (the default ClusterRole and binding
// system:cell-controller-manager), over real HTTP and etcd, with a real scheduler and hollow nodes:
// it leads through its Lease and runs a Deployment (rollout, then cascading delete), a Job, a quota
// count, a budget's status, garbage collection across a custom kind, a lost node and its pods'
// collection with not one request refused — and that user is refused what the controllers never do
// (RBAC writes, escalation, bindings, namespaces, Deployments).
import { expect } from 'chai';
import { CONTROLLER_MANAGER_USER } from '../../apiserver/auth/rbac-defaults.js';
import type { Job } from '../../shared/api/batch.js';
import type { Node, Pod } from '../../shared/api/core.js';
import type { PodDisruptionBudget } from '../../shared/api/policy.js';
import type { ResourceQuota } from '../../shared/api/quota.js';
import { ApiClient, type RequestOptions } from '../../shared/client/http-client.js';
import { ForbiddenError, NotFoundError } from '../../shared/errors.js';
import { createLogger } from '../../shared/logging.js';
import { ControllerManager } from '../../controllers/manager.js';
import { killAllWith, removeDir, startAgent, tempRoot, type AgentProcess } from '../agent/helpers.js';
import { expectStatus, sendAs, type Call } from '../apiserver/helpers.js';
import { createNode, podManifest } from '../cli/helpers.js';
import { waitFor } from '../clients/helpers.js';
import { FAST_LEADER_ELECTION } from '../controllers/helpers.js';
import { startTestApiServer, TEST_TOKEN_CSV, TEST_TOKENS, type TestApiServer } from '../harness/apiserver.js';
import { startSchedulerProcess, type SchedulerProcess } from '../schedulers/scheduler-process.js';
import { deploymentManifest, DEPLOYMENTS, pods, REPLICASETS, waitRolledOut } from '../workloads/apps-helpers.js';
import { jobManifest, JOBS_REF, waitCondition } from '../workloads/job-helpers.js';
import { bindingBody, roleBody, RBAC_V1 } from './rbac-helpers.js';

const CM_TOKEN = 'controller-manager-token';
const TOKEN_CSV = `${TEST_TOKEN_CSV}\n${CM_TOKEN},${CONTROLLER_MANAGER_USER},7`;

/** A client that remembers every request the server refused with 403. */
class RecordingClient extends ApiClient {
  readonly forbidden: string[] = [];

  override async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    try {
      return await super.request<T>(method, path, opts);
    } catch (err) {
      if (err instanceof ForbiddenError) this.forbidden.push(`${method} ${path}: ${err.message}`);
      throw err;
    }
  }
}

describe('cell-controller-manager as system:cell-controller-manager (least privilege)', function () {
  this.timeout(180_000);
  let api: TestApiServer;
  let admin: ApiClient;
  let cmClient: RecordingClient;
  let manager: ControllerManager;
  let agent: AgentProcess | undefined;
  let sched: SchedulerProcess | undefined;
  let root = '';
  const ns = 'cm-rbac';

  before(async function () {
    this.timeout(120_000);
    root = tempRoot('cell-cm-rbac-test-');
    api = await startTestApiServer({ backend: 'etcd', tokenCsv: TOKEN_CSV });
    admin = api.client(TEST_TOKENS.admin);
    // The agent and scheduler are not under test: the agent registers its hollow nodes as the admin.
    agent = startAgent([`--server=${api.url}`, `--token=${TEST_TOKENS.admin}`, '--hollow-nodes=2', '--node-prefix=cm-node-', '--node-ip=127.0.0.1', '--cpu=8', '--memory=32Gi', '--heartbeat-interval=1s']);
    const a = agent;
    await waitFor(async () => {
      const nodes = await admin.list<{ items: { status: { conditions?: { type: string; status: string }[] } }[] }>({ resource: 'nodes' });
      return nodes.items.filter((n) => n.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length >= 2;
    }, `2 Ready nodes (agent: ${a.output().slice(-1000)})`, 60_000, 200);
    sched = await startSchedulerProcess({ server: api.url, args: [`--token=${TEST_TOKENS.scheduler}`] });
    cmClient = new RecordingClient({ servers: [api.url], token: CM_TOKEN, userAgent: 'cell-controller-manager/test' });
    manager = new ControllerManager({
      client: cmClient,
      log: createLogger('controller-manager', 'error'),
      leaderElection: FAST_LEADER_ELECTION,
      // Short enough to see a node lost and its pods collected; the hollow nodes renew every second.
      config: { nodeMonitorGracePeriodMs: 5000, nodeMonitorPeriodMs: 300, podEvictionTimeoutMs: 500, podGcIntervalMs: 500 },
    });
    manager.start();
    await admin.create({ resource: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  });

  after(async function () {
    this.timeout(60_000);
    await manager?.stop();
    cmClient?.close();
    if (admin) {
      const left = await admin.list<{ items: Pod[] }>({ resource: 'pods' });
      for (const p of left.items) {
        const ref = { resource: 'pods', namespace: p.metadata.namespace, name: p.metadata.name };
        try {
          if ((p.metadata.finalizers ?? []).length > 0) await admin.patch(ref, { metadata: { finalizers: null } }, 'merge');
          await admin.delete(ref, { gracePeriodSeconds: 0 });
        } catch (err) {
          if (!(err instanceof NotFoundError)) throw err;
        }
      }
    }
    await agent?.stop();
    await sched?.stop();
    if (root) killAllWith(root);
    await api?.close();
    if (root) removeDir(root);
  });

  it('is a default ClusterRole bound to the user of the same name', async () => {
    const binding = await admin.get<{ roleRef: { name: string }; subjects: { kind: string; name: string }[] }>({ group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'clusterrolebindings', name: CONTROLLER_MANAGER_USER });
    expect(binding.roleRef.name).to.equal(CONTROLLER_MANAGER_USER);
    expect(binding.subjects).to.deep.equal([{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: CONTROLLER_MANAGER_USER }]);
  });

  it('leads, and runs a Deployment, a Job, a quota and a budget with no request refused', async () => {
    await waitFor(() => manager.isLeader, 'the manager leads (its Lease written as its own user)', 30_000, 50);
    const lease = await admin.get<{ spec: { holderIdentity?: string } }>({ group: 'coordination.k8s.io', version: 'v1', resource: 'leases', namespace: 'kube-system', name: 'cell-controller-manager' });
    expect(lease.spec.holderIdentity).to.equal(manager.identity);

    // Quota counting and budget status run beside the workloads.
    await admin.create({ resource: 'resourcequotas', namespace: ns }, { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'q' }, spec: { hard: { pods: '50', 'count/jobs.batch': '5' } } });
    await admin.create(
      { group: 'policy', version: 'v1', resource: 'poddisruptionbudgets', namespace: ns },
      { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'web' }, spec: { minAvailable: 1, selector: { matchLabels: { app: 'web' } } } },
    );

    // A Deployment rolled out, then updated (a second ReplicaSet), then deleted with its dependents.
    await admin.create({ ...DEPLOYMENTS, namespace: ns }, deploymentManifest('web', { replicas: 3 }));
    await waitRolledOut(admin, ns, 'web', 90_000);
    await admin.patch({ ...DEPLOYMENTS, namespace: ns, name: 'web' }, { spec: { template: { spec: { containers: [{ name: 'main', image: 'busybox:2', command: ['sleep', '3600'] }] } } } }, 'strategic');
    const rolled = await waitRolledOut(admin, ns, 'web', 90_000);
    expect(rolled.metadata.annotations?.['deployment.kubernetes.io/revision']).to.equal('2');
    await waitFor(async () => {
      const pdb = await admin.get<PodDisruptionBudget>({ group: 'policy', version: 'v1', resource: 'poddisruptionbudgets', namespace: ns, name: 'web' });
      return pdb.status.currentHealthy === 3 && pdb.status.disruptionsAllowed === 2;
    }, 'the budget status written', 30_000, 100);

    // A Job, to completion.
    await admin.create({ ...JOBS_REF, namespace: ns }, jobManifest('work', { completions: 3, parallelism: 2, runSeconds: 0 }));
    const job: Job = await waitCondition(admin, ns, 'work', 'Complete', 90_000);
    expect(job.status.succeeded).to.equal(3);
    await waitFor(async () => {
      const q = await admin.get<ResourceQuota>({ resource: 'resourcequotas', namespace: ns, name: 'q' });
      return q.status.used?.['count/jobs.batch'] === '1';
    }, 'the quota counted the Job', 30_000, 100);

    // Background deletion: the garbage collector removes the ReplicaSets and their pods.
    await admin.delete({ ...DEPLOYMENTS, namespace: ns, name: 'web' });
    await waitFor(async () => {
      const sets = (await admin.list<{ items: unknown[] }>({ ...REPLICASETS, namespace: ns })).items;
      return sets.length === 0 && (await pods(admin, ns, 'app=web')).length === 0;
    }, 'ReplicaSets and pods collected', 60_000, 100);

    expect(cmClient.forbidden, 'requests of the controller manager refused').to.deep.equal([]);
  });

  it('collects across a custom kind (a Widget owning a ConfigMap, a ConfigMap owning a Widget) with no request refused', async () => {
    const group = 'cm-rbac.example.com';
    const widgets = { group, version: 'v1', resource: 'widgets', namespace: ns };
    const configMaps = { resource: 'configmaps', namespace: ns };
    await admin.create({ group: 'apiextensions.k8s.io', version: 'v1', resource: 'customresourcedefinitions' }, {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: `widgets.${group}` },
      spec: {
        group,
        scope: 'Namespaced',
        names: { plural: 'widgets', kind: 'Widget' },
        versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } } } }],
      },
    });
    await waitFor(async () => {
      try {
        return (await admin.list(widgets)) !== undefined;
      } catch (err) {
        if (err instanceof NotFoundError) return false;
        throw err;
      }
    }, 'Widgets served', 30_000, 100);
    type Meta = { metadata: { name?: string; uid?: string } };
    const ownerRef = (o: Meta, apiVersion: string, kind: string) => ({ apiVersion, kind, name: o.metadata.name ?? '', uid: o.metadata.uid ?? '' });
    const gone = async (ref: { group?: string; version?: string; resource: string; namespace: string; name: string }) => {
      try {
        await admin.get(ref);
        return false;
      } catch (err) {
        if (err instanceof NotFoundError) return true;
        throw err;
      }
    };
    const w = await admin.create<Meta>(widgets, { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'w' }, spec: {} });
    await admin.create(configMaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'of-widget', ownerReferences: [ownerRef(w, `${group}/v1`, 'Widget')] } });
    const cm = await admin.create<Meta>(configMaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'owns-widget' } });
    await admin.create(widgets, { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'of-cm', ownerReferences: [ownerRef(cm, 'v1', 'ConfigMap')] }, spec: {} });
    await admin.delete({ ...widgets, name: 'w' });
    await admin.delete({ ...configMaps, name: 'owns-widget' });
    await waitFor(() => gone({ ...configMaps, name: 'of-widget' }), 'the ConfigMap of a Widget collected', 30_000, 100);
    await waitFor(() => gone({ ...widgets, name: 'of-cm' }), 'the Widget of a ConfigMap collected', 30_000, 100);
    expect(cmClient.forbidden, 'requests of the controller manager refused').to.deep.equal([]);
  });

  it('marks a silent node Unknown and tainted, fails its pods, and completes the deletion no agent will confirm, with no request refused', async () => {
    // A node no agent renews: it never had a Lease.
    await createNode(admin, 'cm-lost', { cpu: '4', memory: '8Gi', pods: '10' });
    // Bound here by hand (a scheduler name nobody runs keeps the scheduler away).
    for (const name of ['stranded', 'leaving']) {
      const body = podManifest(name, { namespace: ns }) as { spec: Record<string, unknown> };
      await admin.create({ resource: 'pods', namespace: ns }, { ...body, spec: { ...body.spec, schedulerName: 'by-hand' } });
      await admin.create({ resource: 'pods', namespace: ns, name, subresource: 'binding' }, { apiVersion: 'v1', kind: 'Binding', metadata: { name }, target: { kind: 'Node', name: 'cm-lost' } });
    }
    // A graceful delete waits for the node's agent, which is gone.
    await admin.delete({ resource: 'pods', namespace: ns, name: 'leaving' });
    const lost = await waitFor(async () => {
      const node = await admin.get<Node>({ resource: 'nodes', name: 'cm-lost' });
      const ready = node.status.conditions?.find((c) => c.type === 'Ready');
      return ready?.status === 'Unknown' && node.spec.taints?.some((t) => t.key === 'node.kubernetes.io/unreachable') ? node : undefined;
    }, 'the silent node Unknown and tainted', 30_000, 100);
    expect(lost.metadata.name).to.equal('cm-lost');
    const failed = await waitFor(async () => {
      const pod = await admin.get<Pod>({ resource: 'pods', namespace: ns, name: 'stranded' });
      return pod.status.phase === 'Failed' ? pod : undefined;
    }, 'the stranded pod failed', 30_000, 100);
    expect(failed.status.reason).to.equal('NodeLost');
    // Failed on the unreachable node, the pod being deleted is deleted at once by the pod GC.
    await waitFor(async () => (await pods(admin, ns)).every((p) => p.metadata.name !== 'leaving'), 'the deletion completed', 30_000, 100);
    expect(cmClient.forbidden, 'requests of the controller manager refused').to.deep.equal([]);
  });

  it('is refused what no controller does: RBAC writes and escalation, bindings, namespaces, Deployments', async () => {
    const asCm = (call: Call) => sendAs(api.url, CM_TOKEN, call);
    const crb = bindingBody('cm-escalates', { kind: 'ClusterRole', name: 'cluster-admin' }, [{ kind: 'User', name: CONTROLLER_MANAGER_USER }], 'ClusterRoleBinding');
    expectStatus(await asCm({ method: 'POST', path: `${RBAC_V1}/clusterrolebindings`, body: crb }), 403, 'Forbidden');
    expectStatus(await asCm({ method: 'POST', path: `${RBAC_V1}/clusterroles`, body: roleBody('cm-role', [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }], 'ClusterRole') }), 403, 'Forbidden');
    expectStatus(await asCm({ method: 'POST', path: `${RBAC_V1}/namespaces/${ns}/roles`, body: roleBody('cm-role', [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }]) }), 403, 'Forbidden');

    // It may update RBAC objects (the garbage collector drops owner references), but not to grant
    // itself what it does not hold: adding itself to a cluster-admin binding is an escalation.
    await admin.create({ group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'clusterrolebindings' }, bindingBody('admins', { kind: 'ClusterRole', name: 'cluster-admin' }, [{ kind: 'User', name: 'someone' }], 'ClusterRoleBinding'));
    const current = await admin.get<Record<string, unknown> & { subjects: unknown[] }>({ group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'clusterrolebindings', name: 'admins' });
    const escalated = { ...current, subjects: [...current.subjects, { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: CONTROLLER_MANAGER_USER }] };
    const esc = expectStatus(await asCm({ method: 'PUT', path: `${RBAC_V1}/clusterrolebindings/admins`, body: escalated }), 403, 'Forbidden');
    expect(esc.message).to.match(/attempting to grant RBAC permissions not currently held/);

    // Scheduling is the schedulers'; namespaces and Deployments are the users'.
    expectStatus(
      await asCm({ method: 'POST', path: `/api/v1/namespaces/${ns}/pods/x/binding`, body: { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'x' }, target: { kind: 'Node', name: 'cm-node-0' } } }),
      403,
      'Forbidden',
    );
    expectStatus(await asCm({ method: 'POST', path: '/api/v1/namespaces', body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'cm-made' } } }), 403, 'Forbidden');
    expectStatus(await asCm({ method: 'POST', path: `/apis/apps/v1/namespaces/${ns}/deployments`, body: deploymentManifest('cm-made') }), 403, 'Forbidden');
    expectStatus(await asCm({ method: 'DELETE', path: `/api/v1/namespaces/${ns}/pods` }), 403, 'Forbidden');
    expectStatus(await asCm({ method: 'POST', path: '/api/v1/nodes', body: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'cm-made' } } }), 403, 'Forbidden');
    // What it may do, asked as kubectl auth can-i asks.
    const review = async (q: { verb: string; resource: string; group?: string; subresource?: string; namespace?: string }) => {
      const res = await asCm({
        method: 'POST',
        path: '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
        body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { group: '', ...q } } },
      });
      return (res.body as { status: { allowed: boolean } }).status.allowed;
    };
    expect(await review({ verb: 'create', resource: 'pods', namespace: ns })).to.equal(true);
    expect(await review({ verb: 'update', resource: 'jobs', group: 'batch', subresource: 'status', namespace: ns })).to.equal(true);
    expect(await review({ verb: 'update', resource: 'workloads', group: 'kueue.x-k8s.io', subresource: 'status', namespace: ns })).to.equal(true);
    expect(await review({ verb: 'create', resource: 'clusterrolebindings', group: 'rbac.authorization.k8s.io' })).to.equal(false);
    expect(await review({ verb: 'create', resource: 'pods', subresource: 'binding', namespace: ns })).to.equal(false);
    expect(await review({ verb: 'create', resource: 'placements', group: 'scheduling.cell.dev' })).to.equal(false);
    // The garbage collector's grant covers custom kinds, whose groups no static role can name: update and delete only.
    expect(await review({ verb: 'delete', resource: 'gizmos', group: 'any.example.com', namespace: ns })).to.equal(true);
    expect(await review({ verb: 'update', resource: 'gizmos', group: 'any.example.com', namespace: ns })).to.equal(true);
    expect(await review({ verb: 'create', resource: 'gizmos', group: 'any.example.com', namespace: ns })).to.equal(false);
    expect(await review({ verb: 'deletecollection', resource: 'gizmos', group: 'any.example.com', namespace: ns })).to.equal(false);
  });
});
