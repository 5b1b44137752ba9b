// apps/v1 Deployment and ReplicaSet as the API serves them, without controllers: defaults,
// validation, immutable selectors, generation, the autoscaling/v1 scale subresource (GET, PUT,
// PATCH, RBAC as `deployments/scale`), discovery, OpenAPI through `kubectl explain`, and the Table
// columns `kubectl get deploy,rs` prints.
import { expect } from 'chai';
import type { Deployment, ReplicaSet, Scale } from '../../shared/api/apps.js';
import { ForbiddenError, InvalidError } from '../../shared/errors.js';
import { startTestApiServer, TEST_TOKENS, type TestApiServer } from '../harness/apiserver.js';
import { expectOk, rows } from '../clients/helpers.js';
import { appsSuite, deploymentManifest, DEPLOYMENTS, getDeployment, REPLICASETS } from './apps-helpers.js';

const NS = 'default';

async function invalidCauses(p: Promise<unknown>): Promise<string[]> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(InvalidError);
    return ((err as InvalidError).causes ?? []).map((c) => `${c.field ?? ''}: ${c.message}`);
  }
  throw new Error('expected a 422');
}

describe('apps/v1 API: Deployment, ReplicaSet and their scale subresource', function () {
  this.timeout(60_000);
  const cluster = appsSuite({ hollowNodes: 0, controllers: false });

  it('creates a Deployment with Kubernetes defaults and a status of its own', async () => {
    const sent = deploymentManifest('defaults');
    const d = await cluster.client.create<Deployment>({ ...DEPLOYMENTS, namespace: NS }, { ...sent, status: { replicas: 7 } });
    expect(d.spec.strategy).to.deep.equal({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } });
    expect(d.spec.revisionHistoryLimit).to.equal(10);
    expect(d.spec.progressDeadlineSeconds).to.equal(600);
    expect(d.spec.minReadySeconds).to.equal(0);
    expect(d.spec.template.spec.restartPolicy).to.equal('Always');
    expect(d.metadata.generation).to.equal(1);
    expect(d.status, 'status is the controller’s: reset on create').to.deep.equal({});

    const recreate = await cluster.client.create<Deployment>({ ...DEPLOYMENTS, namespace: NS }, deploymentManifest('recreate-defaults', { strategy: { type: 'Recreate' } }));
    expect(recreate.spec.strategy).to.deep.equal({ type: 'Recreate' });
  });

  it('refuses invalid Deployments field by field', async () => {
    const create = (m: unknown) => cluster.client.create({ ...DEPLOYMENTS, namespace: NS }, m);
    const mismatch = deploymentManifest('bad-1');
    mismatch.spec.selector = { matchLabels: { app: 'other' } };
    expect((await invalidCauses(create(mismatch))).join('\n')).to.include('spec.template.metadata.labels: Invalid value').and.include('`selector` does not match template `labels`');

    const bothZero = deploymentManifest('bad-2', { strategy: { rollingUpdate: { maxSurge: 0, maxUnavailable: '0%' } } });
    expect((await invalidCauses(create(bothZero))).join('\n')).to.include('spec.strategy.rollingUpdate.maxUnavailable').and.include('may not be 0 when `maxSurge` is 0');

    const recreateWithRolling = deploymentManifest('bad-3', { strategy: { type: 'Recreate', rollingUpdate: { maxSurge: 1 } } });
    expect((await invalidCauses(create(recreateWithRolling))).join('\n')).to.include('spec.strategy.rollingUpdate: Forbidden');

    const noSelector = deploymentManifest('bad-4') as { spec: Record<string, unknown> };
    delete noSelector.spec['selector'];
    expect(await invalidCauses(create(noSelector))).to.include('spec.selector: Required value');

    const badPercent = deploymentManifest('bad-5', { strategy: { rollingUpdate: { maxUnavailable: '150%' } } });
    expect((await invalidCauses(create(badPercent))).join('\n')).to.include('must not be greater than 100%');

    const neverRestart = deploymentManifest('bad-6');
    (neverRestart.spec.template.spec as Record<string, unknown>)['restartPolicy'] = 'Never';
    expect((await invalidCauses(create(neverRestart))).join('\n')).to.include('spec.template.spec.restartPolicy: Unsupported value: "Never"');

    const deadline = deploymentManifest('bad-7', { spec: { minReadySeconds: 10, progressDeadlineSeconds: 5 } });
    expect((await invalidCauses(create(deadline))).join('\n')).to.include('spec.progressDeadlineSeconds').and.include('must be greater than minReadySeconds');
  });

  it('keeps the selector immutable and bumps generation on spec changes only', async () => {
    const ref = { ...DEPLOYMENTS, namespace: NS, name: 'gen' };
    await cluster.client.create({ ...DEPLOYMENTS, namespace: NS }, deploymentManifest('gen'));
    // Still selecting the template's labels, so only immutability refuses it.
    const causes = await invalidCauses(cluster.client.patch(ref, { spec: { selector: { matchLabels: { app: 'gen' }, matchExpressions: [{ key: 'app', operator: 'Exists' }] } } }, 'merge'));
    expect(causes.join('\n')).to.include('spec.selector: Invalid value').and.include('field is immutable');

    const annotated = await cluster.client.patch<Deployment>(ref, { metadata: { annotations: { note: 'x' } } }, 'merge');
    expect(annotated.metadata.generation).to.equal(1);
    const status = await cluster.client.patch<Deployment>({ ...ref, subresource: 'status' }, { status: { observedGeneration: 1, replicas: 0 } }, 'merge');
    expect(status.metadata.generation).to.equal(1);
    const scaled = await cluster.client.patch<Deployment>(ref, { spec: { replicas: 5 } }, 'merge');
    expect(scaled.metadata.generation).to.equal(2);
    expect(scaled.status.observedGeneration, 'a main-resource write leaves the status alone').to.equal(1);
  });

  it('serves the scale subresource as an autoscaling/v1 Scale (GET, PUT with a precondition, PATCH)', async () => {
    await cluster.client.create({ ...DEPLOYMENTS, namespace: NS }, deploymentManifest('scaled', { replicas: 2, labels: { app: 'scaled', tier: 'web' } }));
    const ref = { ...DEPLOYMENTS, namespace: NS, name: 'scaled', subresource: 'scale' };
    const scale = await cluster.client.get<Scale>(ref);
    expect(scale.apiVersion).to.equal('autoscaling/v1');
    expect(scale.kind).to.equal('Scale');
    expect(scale.spec.replicas).to.equal(2);
    expect(scale.status.selector).to.equal('app=scaled,tier=web');

    const put = await cluster.client.update<Scale>(ref, { ...scale, spec: { replicas: 4 } });
    expect(put.spec.replicas).to.equal(4);
    expect((await getDeployment(cluster.client, NS, 'scaled')).spec.replicas).to.equal(4);
    // The stale resourceVersion of the first read is a precondition that fails.
    let conflict: unknown;
    await cluster.client.update(ref, { ...scale, spec: { replicas: 9 } }).catch((err: unknown) => (conflict = err));
    expect((conflict as { code?: number } | undefined)?.code).to.equal(409);

    const patched = await cluster.client.patch<Scale>(ref, { spec: { replicas: 1 } }, 'merge');
    expect(patched.spec.replicas).to.equal(1);
    const negative = await invalidCauses(cluster.client.patch(ref, { spec: { replicas: -1 } }, 'merge'));
    expect(negative.join('\n')).to.include('spec.replicas');

    // ReplicaSets have one too.
    const rs = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'bare-rs' },
      spec: { replicas: 1, selector: { matchLabels: { app: 'bare' } }, template: { metadata: { labels: { app: 'bare' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } },
    };
    const created = await cluster.client.create<ReplicaSet>({ ...REPLICASETS, namespace: NS }, rs);
    expect(created.status).to.deep.equal({ replicas: 0 });
    await cluster.client.patch({ ...REPLICASETS, namespace: NS, name: 'bare-rs', subresource: 'scale' }, { spec: { replicas: 3 } }, 'merge');
    expect((await cluster.client.get<ReplicaSet>({ ...REPLICASETS, namespace: NS, name: 'bare-rs' })).spec.replicas).to.equal(3);
  });

  it('lists deployments/scale in discovery with the Scale kind of autoscaling/v1', async () => {
    const list = await cluster.client.request<{ resources: { name: string; kind: string; group?: string; version?: string; verbs: string[]; shortNames?: string[] }[] }>('GET', '/apis/apps/v1');
    const byName = new Map(list.resources.map((r) => [r.name, r]));
    expect(byName.get('deployments')?.shortNames).to.deep.equal(['deploy']);
    expect(byName.get('replicasets')?.shortNames).to.deep.equal(['rs']);
    for (const name of ['deployments/scale', 'replicasets/scale']) {
      expect(byName.get(name), name).to.include({ kind: 'Scale', group: 'autoscaling', version: 'v1' });
      expect(byName.get(name)?.verbs).to.have.members(['get', 'patch', 'update']);
    }
    expect(byName.get('deployments/status')?.kind).to.equal('Deployment');
  });

  it('scales with real kubectl and prints Kubernetes’ columns for `kubectl get deploy,rs`', async () => {
    expectOk(await cluster.kubectl(['create', 'deployment', 'kc', '--image=busybox', '--replicas=2', '--', 'sleep', '3600']), 'kubectl create deployment');
    const created = await getDeployment(cluster.client, NS, 'kc');
    expect(created.spec.template.spec.containers[0]?.command).to.deep.equal(['sleep', '3600']);
    expect(expectOk(await cluster.kubectl(['scale', 'deployment/kc', '--replicas=5']), 'kubectl scale').stdout).to.include('deployment.apps/kc scaled');
    expect((await getDeployment(cluster.client, NS, 'kc')).spec.replicas).to.equal(5);

    const out = expectOk(await cluster.kubectl(['get', 'deploy,rs']), 'kubectl get deploy,rs').stdout;
    const headers = out.split('\n').filter((l) => l.startsWith('NAME'));
    expect(headers[0]?.split(/\s+/)).to.deep.equal(['NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE']);
    expect(headers[1]?.split(/\s+/)).to.deep.equal(['NAME', 'DESIRED', 'CURRENT', 'READY', 'AGE']);
    const kc = rows(out).find((r) => r[0] === 'deployment.apps/kc');
    expect(kc?.slice(1, 4)).to.deep.equal(['0/5', '0', '0']);
    const bare = rows(out.slice(out.lastIndexOf('NAME'))).find((r) => r[0] === 'replicaset.apps/bare-rs');
    expect(bare?.slice(1, 4)).to.deep.equal(['3', '0', '0']);
    const wide = expectOk(await cluster.kubectl(['get', 'deploy', 'kc', '-o', 'wide']), 'kubectl get -o wide').stdout;
    expect(wide.split('\n')[0]?.split(/\s+/)).to.deep.equal(['NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE', 'CONTAINERS', 'IMAGES', 'SELECTOR']);
    expect(rows(wide)[0]?.slice(5)).to.deep.equal(['busybox', 'busybox', 'app=kc']);
  });

  it('explains deployment.spec.strategy through the OpenAPI document (kubectl explain)', async () => {
    const out = expectOk(await cluster.kubectl(['explain', 'deployment.spec.strategy']), 'kubectl explain').stdout;
    expect(out).to.include('GROUP:      apps').and.include('KIND:       Deployment').and.include('rollingUpdate').and.include('type');
    const surge = expectOk(await cluster.kubectl(['explain', 'deployment.spec.strategy.rollingUpdate.maxSurge']), 'kubectl explain maxSurge').stdout;
    expect(surge).to.include('percentage');
  });

  it('applies examples/deployment.yaml with kubectl (strict field validation) and a dry run first', async () => {
    const ns = 'example';
    await cluster.client.create({ resource: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    expect(expectOk(await cluster.kubectl(['-n', ns, 'apply', '-f', 'examples/deployment.yaml', '--dry-run=server']), 'kubectl apply --dry-run=server').stdout).to.include('deployment.apps/web created (server dry run)');
    expect(expectOk(await cluster.kubectl(['-n', ns, 'apply', '-f', 'examples/deployment.yaml']), 'kubectl apply').stdout).to.include('deployment.apps/web created');
    const d = await getDeployment(cluster.client, ns, 'web');
    expect(d.spec.strategy).to.deep.equal({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
    expect(d.spec).to.include({ replicas: 3, minReadySeconds: 5, revisionHistoryLimit: 5, progressDeadlineSeconds: 120 });
    // Applying it again changes nothing: the defaults the server filled in round-trip.
    expect(expectOk(await cluster.kubectl(['-n', ns, 'apply', '-f', 'examples/deployment.yaml']), 'kubectl apply again').stdout).to.include('deployment.apps/web unchanged');
  });

  describe('RBAC', () => {
    let secured: TestApiServer;
    before(async () => {
      secured = await startTestApiServer({ backend: 'etcd', auth: true });
      await secured.client(TEST_TOKENS.admin).create({ ...DEPLOYMENTS, namespace: NS }, deploymentManifest('guarded'));
    });
    after(async () => secured.close());

    it('authorizes scale as `deployments/scale`: viewers read it, only writers change it', async () => {
      const ref = { ...DEPLOYMENTS, namespace: NS, name: 'guarded', subresource: 'scale' };
      const viewer = secured.client(TEST_TOKENS.viewer);
      expect((await viewer.get<Scale>(ref)).spec.replicas).to.equal(3);
      let refused: unknown;
      await viewer.patch(ref, { spec: { replicas: 1 } }, 'merge').catch((err: unknown) => (refused = err));
      expect(refused).to.be.instanceOf(ForbiddenError);
      expect((refused as Error).message).to.include('deployments/scale');
      expect((await secured.client(TEST_TOKENS.admin).patch<Scale>(ref, { spec: { replicas: 1 } }, 'merge')).spec.replicas).to.equal(1);
    });
  });
});
