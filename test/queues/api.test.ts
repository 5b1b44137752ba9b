// Kueue's kinds served by the API server: CRUD with Kueue's scopes, defaults and status
// subresources, 422s naming each bad field, discovery with Kueue's short names, a Job labelled
// for a queue created suspended, and real kubectl applying Kueue's own sample manifests and
// printing Kueue's columns.
import { expect } from 'chai';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Job } from '../../shared/api/batch.js';
import type { ClusterQueue, LocalQueue, ResourceFlavor, Workload } from '../../shared/api/kueue.js';
import type { ApiClient } from '../../shared/client/http-client.js';
import { InvalidError } from '../../shared/errors.js';
import { expectOk, findKubectl, rows, run, tempDir, writeKubeconfig, type RunResult } from '../clients/helpers.js';
import { cellctl, isolatedEnv } from '../cli/helpers.js';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import {
  admit,
  clusterQueueManifest,
  cqRef,
  createNamespace,
  lqRef,
  refusal,
  rfRef,
  unique,
  wlRef,
  workloadManifest,
} from './helpers.js';

describe('Kueue kinds over the API', function () {
  this.timeout(120_000);
  let srv: TestApiServer;
  let api: ApiClient;

  before(async () => {
    srv = await startTestApiServer({ backend: 'etcd' });
    api = srv.client();
  });

  after(async () => {
    await srv?.close();
  });

  /** The field names of a refused create's 422. */
  async function invalidFields(ref: Parameters<ApiClient['create']>[0], body: unknown): Promise<string[]> {
    const err = await refusal(api.create(ref, body));
    expect(err, err.message).to.be.instanceOf(InvalidError);
    return err.causes.map((c) => c.field).sort();
  }

  it('serves the four kinds with Kueue\'s scopes, short names and status subresources in discovery', async () => {
    const list = await api.request<{ resources: { name: string; namespaced: boolean; shortNames?: string[]; kind: string }[] }>('GET', '/apis/kueue.x-k8s.io/v1beta1');
    const byName = new Map(list.resources.map((r) => [r.name, r]));
    expect([...byName.keys()].sort()).to.deep.equal(
      ['clusterqueues', 'clusterqueues/status', 'localqueues', 'localqueues/status', 'resourceflavors', 'workloads', 'workloads/status'].sort(),
    );
    expect(byName.get('clusterqueues')).to.deep.include({ namespaced: false, kind: 'ClusterQueue', shortNames: ['cq'] });
    expect(byName.get('resourceflavors')).to.deep.include({ namespaced: false, shortNames: ['flavor', 'flavors', 'rf'] });
    expect(byName.get('localqueues')).to.deep.include({ namespaced: true, shortNames: ['queue', 'queues', 'lq'] });
    expect(byName.get('workloads')).to.deep.include({ namespaced: true, shortNames: ['wl'] });
  });

  it('creates, reads, updates and deletes each kind, with Kueue\'s defaults', async () => {
    const ns = await createNamespace(api, 'crud');
    const flavor = unique('flavor');
    const rf = await api.create<ResourceFlavor>(rfRef(), { apiVersion: 'kueue.x-k8s.io/v1beta1', kind: 'ResourceFlavor', metadata: { name: flavor }, spec: { nodeLabels: { 'cloud.example.com/spot': 'true' } } });
    expect(rf.spec.nodeLabels).to.deep.equal({ 'cloud.example.com/spot': 'true' });
    const name = unique('cq');
    const cq = await api.create<ClusterQueue>(cqRef(), clusterQueueManifest(name, { [flavor]: { cpu: { nominalQuota: '9' }, memory: { nominalQuota: '36Gi' } } }));
    expect(cq.spec.queueingStrategy).to.equal('BestEffortFIFO');
    expect(cq.spec.stopPolicy).to.equal('None');
    expect(cq.spec.preemption).to.deep.equal({ reclaimWithinCohort: 'Never', withinClusterQueue: 'Never' });
    expect(cq.metadata.namespace).to.equal(undefined);
    const lq = await api.create<LocalQueue>(lqRef(ns), { apiVersion: 'kueue.x-k8s.io/v1beta1', kind: 'LocalQueue', metadata: { name: 'user-queue' }, spec: { clusterQueue: name } });
    expect(lq.metadata.namespace).to.equal(ns);
    const wl = await api.create<Workload>(wlRef(ns), { ...workloadManifest('job-pi'), status: { admission: { clusterQueue: name, podSetAssignments: [] } } });
    expect(wl.spec.active).to.equal(true);
    expect(wl.spec.podSets[0]!.template.spec.restartPolicy).to.equal('Never');
    // Status is the admitter's: what a create carries is dropped.
    expect(wl.status).to.deep.equal({});

    cq.spec.cohort = 'team';
    const updated = await api.update<ClusterQueue>(cqRef(name), cq);
    expect(updated.spec.cohort).to.equal('team');
    expect(updated.metadata.generation).to.equal(2);
    // A LocalQueue stays with its ClusterQueue.
    const moved = await refusal(api.update(lqRef(ns, 'user-queue'), { ...lq, spec: { clusterQueue: 'other' } }));
    expect(moved).to.be.instanceOf(InvalidError);
    expect(moved.causes.map((c) => c.field)).to.deep.equal(['spec.clusterQueue']);
    // A workload's pod sets are fixed while it holds a reservation.
    await admit(api, ns, 'job-pi', name, { cpu: '1' }, flavor);
    const admitted = await api.get<Workload>(wlRef(ns, 'job-pi'));
    admitted.spec.podSets[0]!.count = 3;
    const fixed = await refusal(api.update(wlRef(ns, 'job-pi'), admitted));
    expect(fixed.causes.map((c) => c.field)).to.deep.equal(['spec.podSets']);

    await api.delete(wlRef(ns, 'job-pi'));
    await api.delete(lqRef(ns, 'user-queue'));
    await api.delete(cqRef(name));
    await api.delete(rfRef(flavor));
    const left = await api.list<{ items: ClusterQueue[] }>(cqRef());
    expect(left.items.map((i) => i.metadata.name)).to.not.include(name);
  });

  it('refuses bad ClusterQueues with a 422 naming each field', async () => {
    const base = (spec: Record<string, unknown>) => ({ apiVersion: 'kueue.x-k8s.io/v1beta1', kind: 'ClusterQueue', metadata: { name: unique('bad') }, spec });
    const group = (flavors: unknown[], coveredResources = ['cpu']) => ({ resourceGroups: [{ coveredResources, flavors }] });
    expect(await invalidFields(cqRef(), base(group([{ name: 'f', resources: [{ name: 'cpu', nominalQuota: '-1' }] }])))).to.deep.equal([
      'spec.resourceGroups[0].flavors[0].resources[0].nominalQuota',
    ]);
    expect(await invalidFields(cqRef(), base(group([{ name: 'f', resources: [{ name: 'cpu', nominalQuota: '1', borrowingLimit: '1' }] }])))).to.deep.equal([
      'spec.resourceGroups[0].flavors[0].resources[0].borrowingLimit',
    ]);
    expect(
      await invalidFields(cqRef(), base({ cohort: 'c', ...group([{ name: 'f', resources: [{ name: 'cpu', nominalQuota: '1', lendingLimit: '2', borrowingLimit: '-3' }] }]) })),
    ).to.deep.equal(['spec.resourceGroups[0].flavors[0].resources[0].borrowingLimit', 'spec.resourceGroups[0].flavors[0].resources[0].lendingLimit']);
    expect(
      await invalidFields(cqRef(), base(group([{ name: 'f', resources: [{ name: 'cpu', nominalQuota: '1' }] }, { name: 'f', resources: [{ name: 'cpu', nominalQuota: '1' }] }]))),
    ).to.deep.equal(['spec.resourceGroups[0].flavors[1].name']);
    expect(
      await invalidFields(cqRef(), base(group([{ name: 'f', resources: [{ name: 'memory', nominalQuota: '1' }, { name: 'cpu', nominalQuota: '1' }] }], ['cpu', 'memory']))),
    ).to.deep.equal(['spec.resourceGroups[0].flavors[0].resources[0].name', 'spec.resourceGroups[0].flavors[0].resources[1].name']);
    expect(await invalidFields(cqRef(), base(group([{ name: 'f', resources: [{ name: 'cpu', nominalQuota: '1' }, { name: 'cpu', nominalQuota: '1' }] }], ['cpu'])))).to.deep.equal([
      'spec.resourceGroups[0].flavors[0].resources',
      'spec.resourceGroups[0].flavors[0].resources[1].name',
    ]);
    expect(await invalidFields(cqRef(), base({ resourceGroups: [{ coveredResources: ['cpu'], flavors: [{ name: 'a', resources: [{ name: 'cpu', nominalQuota: '1' }] }] }, { coveredResources: ['cpu'], flavors: [{ name: 'b', resources: [{ name: 'cpu', nominalQuota: '1' }] }] }] }))).to.deep.equal([
      'spec.resourceGroups[1].coveredResources[0]',
    ]);
    expect(await invalidFields(cqRef(), base({ queueingStrategy: 'Random' }))).to.deep.equal(['spec.queueingStrategy']);
    expect(await invalidFields(cqRef(), base({ cohort: 'Not_A_Name' }))).to.deep.equal(['spec.cohort']);
    expect(await invalidFields(cqRef(), base({ preemption: { withinClusterQueue: 'Always' } }))).to.deep.equal(['spec.preemption.withinClusterQueue']);
    // A flavor that does not exist is allowed: the queue is inactive until it does.
    const ok = await api.create<ClusterQueue>(cqRef(), base(group([{ name: 'no-such-flavor', resources: [{ name: 'cpu', nominalQuota: '1' }] }])));
    expect(ok.spec.resourceGroups?.[0]?.flavors[0]?.name).to.equal('no-such-flavor');
  });

  it('refuses bad Workloads and LocalQueues with a 422 naming each field', async () => {
    const ns = await createNamespace(api, 'badwl');
    const wl = workloadManifest('w') as { spec: Record<string, unknown> };
    expect(await invalidFields(wlRef(ns), { ...wl, spec: { ...wl.spec, podSets: [] } })).to.deep.equal(['spec.podSets']);
    const podSet = (wl.spec['podSets'] as Record<string, unknown>[])[0]!;
    expect(await invalidFields(wlRef(ns), { ...wl, spec: { ...wl.spec, podSets: [{ ...podSet, count: -1 }, { ...podSet }] } })).to.deep.equal([
      'spec.podSets[0].count',
      'spec.podSets[1].name',
    ]);
    expect(await invalidFields(wlRef(ns), { ...wl, spec: { ...wl.spec, priorityClassName: 'high' } })).to.deep.equal(['spec.priority']);
    expect(await invalidFields(wlRef(ns), { ...wl, spec: { ...wl.spec, podSets: [{ ...podSet, minCount: 2 }] } })).to.deep.equal(['spec.podSets[0].minCount']);
    expect(await invalidFields(lqRef(ns), { apiVersion: 'kueue.x-k8s.io/v1beta1', kind: 'LocalQueue', metadata: { name: 'q' }, spec: {} })).to.deep.equal(['spec.clusterQueue']);
    // An admission with a negative usage, or naming a pod set that does not exist.
    await api.create(wlRef(ns), wl);
    const err = await refusal(
      api.patch({ ...wlRef(ns, 'w'), subresource: 'status' }, { status: { admission: { clusterQueue: 'q', podSetAssignments: [{ name: 'other', flavors: { cpu: 'f' }, resourceUsage: { cpu: '-1' } }] } } }),
    );
    expect(err).to.be.instanceOf(InvalidError);
    expect(err.causes.map((c) => c.field).sort()).to.deep.equal(['status.admission.podSetAssignments[0].name', 'status.admission.podSetAssignments[0].resourceUsage.cpu']);
  });

  it('creates a Job labelled with a queue name suspended, as Kueue does', async () => {
    const ns = await createNamespace(api, 'job');
    const job = (name: string, labels: Record<string, string>) => ({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name, labels },
      spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } } },
    });
    const queued = await api.create<Job>({ group: 'batch', version: 'v1', resource: 'jobs', namespace: ns }, job('queued', { 'kueue.x-k8s.io/queue-name': 'user-queue' }));
    expect(queued.spec.suspend).to.equal(true);
    const plain = await api.create<Job>({ group: 'batch', version: 'v1', resource: 'jobs', namespace: ns }, job('plain', {}));
    expect(plain.spec.suspend).to.equal(false);
  });

  describe('with kubectl', () => {
    const kubectlBin = findKubectl();
    let dir: string;
    let kubeconfig: string;
    const kubectl = (...args: string[]): Promise<RunResult> => {
      if (!kubectlBin) throw new Error('kubectl is not on PATH');
      return run(kubectlBin, [`--kubeconfig=${kubeconfig}`, `--cache-dir=${path.join(dir, 'cache')}`, ...args], {
        env: { PATH: process.env.PATH ?? '', HOME: dir, LANG: 'C' },
        cwd: dir,
        timeoutMs: 45_000,
      });
    };

    before(() => {
      if (!kubectlBin) throw new Error('kubectl is not on PATH: these tests drive real kubectl');
      dir = tempDir('cell-queues-');
      kubeconfig = writeKubeconfig(path.join(dir, 'kubeconfig'), srv.url);
    });

    after(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('applies Kueue\'s sample setup and prints Kueue\'s columns for cq, lq and wl', async () => {
      const ns = await createNamespace(api, 'kubectl');
      const [flavor, cq] = [unique('default-flavor'), unique('cluster-queue')];
      const manifest = path.join(dir, 'setup.yaml');
      writeFileSync(
        manifest,
        [
          `apiVersion: kueue.x-k8s.io/v1beta1\nkind: ResourceFlavor\nmetadata:\n  name: ${flavor}\n`,
          `apiVersion: kueue.x-k8s.io/v1beta1\nkind: ClusterQueue\nmetadata:\n  name: ${cq}\nspec:\n  namespaceSelector: {}\n  resourceGroups:\n  - coveredResources: ["cpu", "memory"]\n    flavors:\n    - name: "${flavor}"\n      resources:\n      - name: "cpu"\n        nominalQuota: 9\n      - name: "memory"\n        nominalQuota: 36Gi\n`,
          `apiVersion: kueue.x-k8s.io/v1beta1\nkind: LocalQueue\nmetadata:\n  namespace: ${ns}\n  name: user-queue\nspec:\n  clusterQueue: ${cq}\n`,
        ].join('---\n'),
      );
      const applied = expectOk(await kubectl('apply', '-f', manifest), 'kubectl apply');
      expect(applied.stdout.trim().split('\n')).to.deep.equal([
        `resourceflavor.kueue.x-k8s.io/${flavor} created`,
        `clusterqueue.kueue.x-k8s.io/${cq} created`,
        `localqueue.kueue.x-k8s.io/user-queue created`,
      ]);
      await api.create(wlRef(ns), workloadManifest('job-pi'));
      await admit(api, ns, 'job-pi', cq, { cpu: '2', memory: '1Gi' }, flavor);

      const cqs = expectOk(await kubectl('get', 'cq', cq), 'kubectl get cq');
      expect(cqs.stdout.split('\n')[0]!.trim().split(/\s{2,}/)).to.deep.equal(['NAME', 'COHORT', 'PENDING WORKLOADS', 'ADMITTED WORKLOADS', 'RESERVED']);
      expect(rows(cqs.stdout)[0]!.join(' ')).to.equal(`${cq} 0 0 ${flavor}: cpu 2/9, memory 1Gi/36Gi`);
      const lqs = expectOk(await kubectl('get', 'localqueues', '-n', ns), 'kubectl get localqueues');
      expect(lqs.stdout.split('\n')[0]!.trim().split(/\s{2,}/)).to.deep.equal(['NAME', 'CLUSTERQUEUE', 'PENDING WORKLOADS', 'ADMITTED WORKLOADS']);
      expect(rows(lqs.stdout)[0]).to.deep.equal(['user-queue', cq, '0', '0']);
      const wls = expectOk(await kubectl('get', 'wl', '-n', ns), 'kubectl get wl');
      expect(wls.stdout.split('\n')[0]!.trim().split(/\s{2,}/)).to.deep.equal(['NAME', 'QUEUE', 'RESERVED IN', 'ADMITTED', 'FINISHED', 'AGE']);
      expect(rows(wls.stdout)[0]!.slice(0, 4)).to.deep.equal(['job-pi', 'user-queue', cq, 'True']);
      // cellctl prints the same server-side columns.
      const cell = await cellctl([`--server=${srv.url}`, 'get', 'clusterqueues', cq], { env: isolatedEnv(dir) });
      expect(cell.code, cell.stderr).to.equal(0);
      expect(cell.stdout).to.contain(`${flavor}: cpu 2/9, memory 1Gi/36Gi`);
    });

    it('refuses a misspelled field by name (OpenAPI validation) and a negative quota with the field named', async () => {
      const manifest = path.join(dir, 'bad.yaml');
      writeFileSync(manifest, `apiVersion: kueue.x-k8s.io/v1beta1\nkind: ClusterQueue\nmetadata:\n  name: ${unique('typo')}\nspec:\n  resourceGroup: []\n`);
      const typo = await kubectl('apply', '-f', manifest);
      expect(typo.code).to.not.equal(0);
      expect(typo.stderr).to.contain('resourceGroup');
      writeFileSync(
        manifest,
        `apiVersion: kueue.x-k8s.io/v1beta1\nkind: ClusterQueue\nmetadata:\n  name: ${unique('neg')}\nspec:\n  resourceGroups:\n  - coveredResources: ["cpu"]\n    flavors:\n    - name: f\n      resources:\n      - name: cpu\n        nominalQuota: "-2"\n`,
      );
      const neg = await kubectl('apply', '-f', manifest);
      expect(neg.code).to.not.equal(0);
      expect(neg.stderr).to.contain('spec.resourceGroups[0].flavors[0].resources[0].nominalQuota');
    });
  });
});
