// Deployments end to end: real hollow nodes, a real scheduler, the ReplicaSet and Deployment
// controllers in-process, and real kubectl for every step that is a kubectl verb. A Deployment of
// 3 becomes 3 Running, ready pods and Available; `kubectl set image` rolls out within maxSurge and
// maxUnavailable (sampled from a watch of the pods after every event); `kubectl rollout undo` goes
// back to revision 1's template as revision 3; pause/resume, Recreate, scale, a killed pod
// replaced, the progress deadline, and a controller restart in the middle of a rollout.
import { expect } from 'chai';
import { POD_TEMPLATE_HASH_LABEL, REVISION_ANNOTATION, REVISION_HISTORY_ANNOTATION, type Scale } from '../../shared/api/apps.js';
import { expectOk } from '../clients/helpers.js';
import { cellctl, isolatedEnv, tempDir } from '../cli/helpers.js';
import {
  appsSuite,
  createNamespace,
  deploymentManifest,
  DEPLOYMENTS,
  getDeployment,
  isActive,
  isReady,
  PodSampler,
  pods,
  REPLICASETS,
  replicaSets,
  waitFor,
  waitRolledOut,
} from './apps-helpers.js';

describe('Deployments and ReplicaSets on real nodes, driven by kubectl', function () {
  this.timeout(180_000);
  const cluster = appsSuite({ hollowNodes: 4 });

  it('runs a Deployment of 3 as 3 Running, ready pods and reports it Available', async () => {
    const ns = 'apps-basic';
    await createNamespace(cluster.client, ns);
    expectOk(await cluster.kubectl(['-n', ns, 'create', 'deployment', 'web', '--image=busybox', '--replicas=3', '--', 'sleep', '3600']), 'kubectl create deployment');
    expectOk(await cluster.kubectl(['-n', ns, 'rollout', 'status', 'deployment/web', '--timeout=60s'], 70_000), 'kubectl rollout status');
    const d = await getDeployment(cluster.client, ns, 'web');
    expect(d.status).to.include({ replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3, observedGeneration: 1 });
    expect(d.status.conditions?.find((c) => c.type === 'Available')).to.include({ status: 'True', reason: 'MinimumReplicasAvailable' });
    expect(d.status.conditions?.find((c) => c.type === 'Progressing')).to.include({ status: 'True', reason: 'NewReplicaSetAvailable' });
    expect(d.metadata.annotations?.[REVISION_ANNOTATION]).to.equal('1');
    const sets = await replicaSets(cluster.client, ns);
    expect(sets).to.have.length(1);
    const rs = sets[0]!;
    const hash = rs.metadata.labels?.[POD_TEMPLATE_HASH_LABEL] ?? '';
    expect(rs.metadata.name).to.equal(`web-${hash}`);
    expect(rs.spec.selector.matchLabels).to.deep.equal({ app: 'web', [POD_TEMPLATE_HASH_LABEL]: hash });
    expect(rs.metadata.ownerReferences?.[0]).to.include({ kind: 'Deployment', name: 'web', controller: true, blockOwnerDeletion: true });
    expect(rs.metadata.annotations).to.include({ [REVISION_ANNOTATION]: '1', 'deployment.kubernetes.io/desired-replicas': '3', 'deployment.kubernetes.io/max-replicas': '4' });
    const running = await pods(cluster.client, ns);
    expect(running).to.have.length(3);
    for (const p of running) {
      expect(p.status.phase).to.equal('Running');
      expect(isReady(p)).to.equal(true);
      expect(p.metadata.name).to.match(new RegExp(`^web-${hash}-[a-z0-9]{5}$`));
      expect(p.metadata.ownerReferences?.[0]).to.include({ kind: 'ReplicaSet', name: rs.metadata.name, uid: rs.metadata.uid, controller: true });
    }
    const table = expectOk(await cluster.kubectl(['-n', ns, 'get', 'deploy', 'web']), 'kubectl get deploy').stdout;
    expect(table.split('\n')[1]?.split(/\s+/).slice(0, 4)).to.deep.equal(['web', '3/3', '3', '3']);
  });

  it('rolls out `kubectl set image` within maxSurge/maxUnavailable, then `rollout undo` brings revision 1 back as revision 3', async () => {
    const ns = 'apps-rolling';
    await createNamespace(cluster.client, ns);
    expectOk(await cluster.kubectl(['-n', ns, 'create', 'deployment', 'web', '--image=busybox', '--replicas=3', '--', 'sleep', '3600']), 'kubectl create deployment');
    await waitRolledOut(cluster.client, ns, 'web');
    const firstRS = (await replicaSets(cluster.client, ns))[0]!;

    // Defaults: maxSurge 25% of 3 rounds up to 1, maxUnavailable 25% rounds down to 0.
    const sampler = new PodSampler(cluster.client, ns, 'app=web');
    await sampler.start();
    try {
      expectOk(await cluster.kubectl(['-n', ns, 'set', 'image', 'deployment/web', 'busybox=busybox:1.36']), 'kubectl set image');
      expectOk(await cluster.kubectl(['-n', ns, 'rollout', 'status', 'deployment/web', '--timeout=90s'], 100_000), 'kubectl rollout status');
      await waitRolledOut(cluster.client, ns, 'web');
    } finally {
      await sampler.stop();
    }
    expect(sampler.samples, 'pod events seen during the rollout').to.be.greaterThan(6);
    expect(sampler.maxActive, 'never more than replicas + maxSurge pods').to.be.at.most(4);
    expect(sampler.minReady, 'never fewer than replicas − maxUnavailable ready pods').to.be.at.least(3);

    const d2 = await getDeployment(cluster.client, ns, 'web');
    expect(d2.metadata.annotations?.[REVISION_ANNOTATION]).to.equal('2');
    const sets = await replicaSets(cluster.client, ns);
    const newRS = sets.find((rs) => rs.metadata.uid !== firstRS.metadata.uid)!;
    expect(newRS.spec.replicas).to.equal(3);
    expect(newRS.metadata.annotations?.[REVISION_ANNOTATION]).to.equal('2');
    expect(sets.find((rs) => rs.metadata.uid === firstRS.metadata.uid)?.spec.replicas).to.equal(0);
    const images = (await pods(cluster.client, ns)).filter(isActive).map((p) => p.spec.containers[0]?.image);
    expect(images).to.deep.equal(['busybox:1.36', 'busybox:1.36', 'busybox:1.36']);

    const history = expectOk(await cluster.kubectl(['-n', ns, 'rollout', 'history', 'deployment/web']), 'kubectl rollout history').stdout;
    expect(history).to.match(/^1\s/m).and.match(/^2\s/m);

    expectOk(await cluster.kubectl(['-n', ns, 'rollout', 'undo', 'deployment/web']), 'kubectl rollout undo');
    expectOk(await cluster.kubectl(['-n', ns, 'rollout', 'status', 'deployment/web', '--timeout=90s'], 100_000), 'kubectl rollout status after undo');
    const d3 = await waitRolledOut(cluster.client, ns, 'web');
    expect(d3.spec.template.spec.containers[0]?.image).to.equal('busybox');
    expect(d3.metadata.annotations?.[REVISION_ANNOTATION]).to.equal('3');
    const after = await replicaSets(cluster.client, ns);
    expect(after, 'the rollback reuses the first ReplicaSet').to.have.length(2);
    const reused = after.find((rs) => rs.metadata.uid === firstRS.metadata.uid)!;
    expect(reused.spec.replicas).to.equal(3);
    expect(reused.metadata.annotations).to.include({ [REVISION_ANNOTATION]: '3', [REVISION_HISTORY_ANNOTATION]: '1' });
    expect(after.find((rs) => rs.metadata.uid !== firstRS.metadata.uid)?.spec.replicas).to.equal(0);
    const history2 = expectOk(await cluster.kubectl(['-n', ns, 'rollout', 'history', 'deployment/web']), 'kubectl rollout history').stdout;
    expect(history2).to.match(/^2\s/m).and.match(/^3\s/m).and.not.match(/^1\s/m);
  });

  it('starts no rollout while paused but still scales, and rolls out on resume', async () => {
    const ns = 'apps-pause';
    await createNamespace(cluster.client, ns);
    expectOk(await cluster.kubectl(['-n', ns, 'create', 'deployment', 'web', '--image=busybox', '--replicas=2', '--', 'sleep', '3600']), 'kubectl create deployment');
    await waitRolledOut(cluster.client, ns, 'web');
    expectOk(await cluster.kubectl(['-n', ns, 'rollout', 'pause', 'deployment/web']), 'kubectl rollout pause');
    await waitFor(async () => (await getDeployment(cluster.client, ns, 'web')).status.conditions?.some((c) => c.type === 'Progressing' && c.reason === 'DeploymentPaused'), 'Progressing reason DeploymentPaused');
    expectOk(await cluster.kubectl(['-n', ns, 'set', 'image', 'deployment/web', 'busybox=busybox:paused']), 'kubectl set image while paused');
    expectOk(await cluster.kubectl(['-n', ns, 'scale', 'deployment/web', '--replicas=4']), 'kubectl scale while paused');
    await waitFor(async () => (await pods(cluster.client, ns)).filter(isReady).length === 4, '4 ready pods after scaling a paused deployment', 60_000, 100);
    // Give the controller time to (wrongly) start a rollout: there must still be one ReplicaSet.
    await new Promise((r) => setTimeout(r, 1500));
    const sets = await replicaSets(cluster.client, ns);
    expect(sets).to.have.length(1);
    expect(sets[0]?.spec.replicas).to.equal(4);
    expect((await pods(cluster.client, ns)).filter(isActive).every((p) => p.spec.containers[0]?.image === 'busybox')).to.equal(true);

    expectOk(await cluster.kubectl(['-n', ns, 'rollout', 'resume', 'deployment/web']), 'kubectl rollout resume');
    expectOk(await cluster.kubectl(['-n', ns, 'rollout', 'status', 'deployment/web', '--timeout=90s'], 100_000), 'kubectl rollout status after resume');
    await waitRolledOut(cluster.client, ns, 'web');
    const images = (await pods(cluster.client, ns)).filter(isActive).map((p) => p.spec.containers[0]?.image);
    expect(images).to.deep.equal(['busybox:paused', 'busybox:paused', 'busybox:paused', 'busybox:paused']);
  });

  it('Recreate stops every old pod before a new one starts', async () => {
    const ns = 'apps-recreate';
    await createNamespace(cluster.client, ns);
    await cluster.client.create({ ...DEPLOYMENTS, namespace: ns }, deploymentManifest('web', { replicas: 3, strategy: { type: 'Recreate' } }));
    await waitRolledOut(cluster.client, ns, 'web');
    const sampler = new PodSampler(cluster.client, ns, 'app=web');
    await sampler.start();
    try {
      expectOk(await cluster.kubectl(['-n', ns, 'set', 'image', 'deployment/web', 'main=busybox:2']), 'kubectl set image');
      await waitFor(async () => (await getDeployment(cluster.client, ns, 'web')).metadata.annotations?.[REVISION_ANNOTATION] === '2', 'revision 2', 60_000, 100);
      await waitRolledOut(cluster.client, ns, 'web');
    } finally {
      await sampler.stop();
    }
    expect(sampler.samples).to.be.greaterThan(3);
    expect(sampler.mixed, 'samples with old and new pods active together').to.equal(0);
    expect(sampler.maxActive).to.be.at.most(3);
    const sets = await replicaSets(cluster.client, ns);
    expect(sets.map((rs) => rs.spec.replicas).sort()).to.deep.equal([0, 3]);
  });

  it('scales through the scale subresource and replaces a killed pod', async () => {
    const ns = 'apps-scale';
    await createNamespace(cluster.client, ns);
    expectOk(await cluster.kubectl(['-n', ns, 'create', 'deployment', 'web', '--image=busybox', '--replicas=2', '--', 'sleep', '3600']), 'kubectl create deployment');
    await waitRolledOut(cluster.client, ns, 'web');
    expectOk(await cluster.kubectl(['-n', ns, 'scale', 'deployment/web', '--replicas=5']), 'kubectl scale');
    await waitRolledOut(cluster.client, ns, 'web');
    const scale = await cluster.client.get<Scale>({ ...DEPLOYMENTS, namespace: ns, name: 'web', subresource: 'scale' });
    expect(scale.spec.replicas).to.equal(5);
    expect(scale.status.replicas).to.equal(5);
    expect((await pods(cluster.client, ns)).filter(isReady)).to.have.length(5);

    const before = (await pods(cluster.client, ns)).filter(isActive);
    const victim = before[0]!.metadata.name ?? '';
    expectOk(await cluster.kubectl(['-n', ns, 'delete', 'pod', victim, '--wait=false']), 'kubectl delete pod');
    const replaced = await waitFor(async () => {
      const now = (await pods(cluster.client, ns)).filter(isReady);
      return now.length === 5 && !now.some((p) => p.metadata.name === victim) ? now : undefined;
    }, 'the killed pod replaced', 60_000, 100);
    expect(replaced.filter((p) => !before.some((b) => b.metadata.name === p.metadata.name))).to.have.length(1);

    expectOk(await cluster.kubectl(['-n', ns, 'scale', 'deployment/web', '--replicas=1']), 'kubectl scale down');
    await waitFor(async () => (await pods(cluster.client, ns)).filter(isActive).length === 1, 'one pod left', 60_000, 100);
    await waitRolledOut(cluster.client, ns, 'web');
  });

  it('a ReplicaSet adopts a matching orphan, releases a pod relabelled out of its selector and deletes surplus pods', async () => {
    const ns = 'apps-adopt';
    await createNamespace(cluster.client, ns);
    const orphan = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'orphan', labels: { app: 'solo' } }, spec: { containers: [{ name: 'c', image: 'x', command: ['sleep', '3600'] }] } };
    await cluster.client.create({ resource: 'pods', namespace: ns }, orphan);
    const rs = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'solo' },
      spec: { replicas: 2, selector: { matchLabels: { app: 'solo' } }, template: { metadata: { labels: { app: 'solo' } }, spec: { containers: [{ name: 'c', image: 'x', command: ['sleep', '3600'] }] } } },
    };
    const created = await cluster.client.create<{ metadata: { uid?: string } }>({ ...REPLICASETS, namespace: ns }, rs);
    const owned = await waitFor(async () => {
      const now = (await pods(cluster.client, ns)).filter(isActive);
      return now.length === 2 && now.every((p) => p.metadata.ownerReferences?.[0]?.uid === created.metadata.uid) ? now : undefined;
    }, 'the orphan adopted and one pod created', 30_000, 100);
    expect(owned.map((p) => p.metadata.name)).to.include('orphan');
    expect(owned.find((p) => p.metadata.name === 'orphan')?.metadata.ownerReferences?.[0]).to.include({ kind: 'ReplicaSet', name: 'solo', controller: true, blockOwnerDeletion: true });

    // Relabelled out of the selector: released (no owner), and replaced.
    await cluster.client.patch({ resource: 'pods', namespace: ns, name: 'orphan' }, { metadata: { labels: { app: 'elsewhere' } } }, 'merge');
    await waitFor(async () => {
      const now = (await pods(cluster.client, ns)).filter(isActive);
      const released = now.find((p) => p.metadata.name === 'orphan');
      const selected = now.filter((p) => p.metadata.labels?.['app'] === 'solo' && p.metadata.ownerReferences?.[0]?.uid === created.metadata.uid);
      return released !== undefined && (released.metadata.ownerReferences ?? []).length === 0 && selected.length === 2;
    }, 'the relabelled pod released and replaced', 30_000, 100);

    // Scaled down by one: a surplus pod goes, and the status follows.
    await cluster.client.patch({ ...REPLICASETS, namespace: ns, name: 'solo', subresource: 'scale' }, { spec: { replicas: 1 } }, 'merge');
    await waitFor(async () => {
      const cur = await cluster.client.get<{ status: { replicas: number; readyReplicas?: number; observedGeneration?: number } }>({ ...REPLICASETS, namespace: ns, name: 'solo' });
      return cur.status.replicas === 1 && cur.status.readyReplicas === 1 && cur.status.observedGeneration === 2;
    }, 'status: 1 replica, observedGeneration 2', 30_000, 100);
  });

  it('marks a rollout that makes no progress ProgressDeadlineExceeded', async () => {
    const ns = 'apps-deadline';
    await createNamespace(cluster.client, ns);
    // No node carries this label, so the pods never get scheduled.
    const m = deploymentManifest('stuck', { replicas: 1, spec: { progressDeadlineSeconds: 2 } });
    (m.spec.template.spec as Record<string, unknown>)['nodeSelector'] = { nowhere: 'true' };
    await cluster.client.create({ ...DEPLOYMENTS, namespace: ns }, m);
    const d = await waitFor(async () => {
      const cur = await getDeployment(cluster.client, ns, 'stuck');
      return cur.status.conditions?.some((c) => c.type === 'Progressing' && c.status === 'False') ? cur : undefined;
    }, 'Progressing=False', 30_000, 200);
    expect(d.status.conditions?.find((c) => c.type === 'Progressing')).to.include({ reason: 'ProgressDeadlineExceeded' });
    expect(d.status.conditions?.find((c) => c.type === 'Available')).to.include({ status: 'False', reason: 'MinimumReplicasUnavailable' });
    const r = await cluster.kubectl(['-n', ns, 'rollout', 'status', 'deployment/stuck', '--timeout=20s'], 30_000);
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.include('exceeded its progress deadline');
  });

  it('`kubectl rollout restart` rolls every pod over, and `kubectl describe` shows the ReplicaSets and events', async () => {
    const ns = 'apps-restart-verb';
    await createNamespace(cluster.client, ns);
    expectOk(await cluster.kubectl(['-n', ns, 'create', 'deployment', 'web', '--image=busybox', '--replicas=2', '--', 'sleep', '3600']), 'kubectl create deployment');
    await waitRolledOut(cluster.client, ns, 'web');
    const before = (await pods(cluster.client, ns)).map((p) => p.metadata.name);
    expectOk(await cluster.kubectl(['-n', ns, 'rollout', 'restart', 'deployment/web']), 'kubectl rollout restart');
    expectOk(await cluster.kubectl(['-n', ns, 'rollout', 'status', 'deployment/web', '--timeout=60s'], 70_000), 'kubectl rollout status');
    const after = await waitFor(async () => {
      const now = (await pods(cluster.client, ns)).filter(isReady);
      return now.length === 2 && now.every((p) => !before.includes(p.metadata.name)) ? now : undefined;
    }, 'every pod replaced', 60_000, 100);
    expect(after[0]?.metadata.annotations?.['kubectl.kubernetes.io/restartedAt']).to.be.a('string');
    const described = expectOk(await cluster.kubectl(['-n', ns, 'describe', 'deployment', 'web']), 'kubectl describe deployment').stdout;
    expect(described).to.match(/Replicas:\s+2 desired \| 2 updated \| 2 total \| 2 available \| 0 unavailable/);
    expect(described).to.match(/StrategyType:\s+RollingUpdate/).and.match(/NewReplicaSet:\s+web-\w+ \(2\/2 replicas created\)/);
    expect(described).to.include('ScalingReplicaSet');
  });

  it('keeps only revisionHistoryLimit old ReplicaSets, deleting the oldest revisions', async () => {
    const ns = 'apps-history';
    await createNamespace(cluster.client, ns);
    await cluster.client.create({ ...DEPLOYMENTS, namespace: ns }, deploymentManifest('web', { replicas: 1, spec: { revisionHistoryLimit: 1 } }));
    await waitRolledOut(cluster.client, ns, 'web');
    for (const tag of ['2', '3', '4']) {
      expectOk(await cluster.kubectl(['-n', ns, 'set', 'image', 'deployment/web', `main=busybox:${tag}`]), 'kubectl set image');
      await waitFor(async () => (await getDeployment(cluster.client, ns, 'web')).metadata.annotations?.[REVISION_ANNOTATION] === String(Number(tag)), `revision ${tag}`, 30_000, 100);
      await waitRolledOut(cluster.client, ns, 'web');
    }
    const sets = await waitFor(async () => {
      const now = await replicaSets(cluster.client, ns);
      return now.length === 2 ? now : undefined;
    }, 'old ReplicaSets beyond the limit deleted', 30_000, 100);
    expect(sets.map((rs) => rs.metadata.annotations?.[REVISION_ANNOTATION]).sort()).to.deep.equal(['3', '4']);
  });

  it('cellctl scales, sets images and drives rollouts (status, history, undo, pause, resume)', async () => {
    const ns = 'apps-cellctl';
    await createNamespace(cluster.client, ns);
    const home = tempDir();
    const ctl = async (args: string[]) => {
      const r = await cellctl([`--server=${cluster.api.url}`, '-n', ns, ...args], { env: isolatedEnv(home), timeoutMs: 90_000 });
      expect(r.code, `cellctl ${args.join(' ')}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`).to.equal(0);
      return r.stdout;
    };
    await cluster.client.create({ ...DEPLOYMENTS, namespace: ns }, deploymentManifest('web', { replicas: 2 }));
    expect(await ctl(['rollout', 'status', 'deployment/web', '--timeout=60s'])).to.include('deployment "web" successfully rolled out');
    expect(await ctl(['scale', 'deployment', 'web', '--replicas=3'])).to.equal('deployment.apps/web scaled\n');
    await waitRolledOut(cluster.client, ns, 'web');
    expect(await ctl(['set', 'image', 'deployment/web', 'main=busybox:2'])).to.equal('deployment.apps/web image updated\n');
    expect(await ctl(['rollout', 'status', 'deployment/web', '--timeout=60s'])).to.include('successfully rolled out');
    expect((await getDeployment(cluster.client, ns, 'web')).metadata.annotations?.[REVISION_ANNOTATION]).to.equal('2');
    const history = await ctl(['rollout', 'history', 'deployment/web']);
    expect(history).to.match(/^REVISION\s+CHANGE-CAUSE$/m).and.match(/^1\s+<none>$/m).and.match(/^2\s+<none>$/m);
    expect(await ctl(['rollout', 'history', 'deployment/web', '--revision=1'])).to.include('image: busybox:1');
    expect(await ctl(['rollout', 'undo', 'deployment/web'])).to.equal('deployment.apps/web rolled back\n');
    const back = await waitFor(async () => {
      const d = await getDeployment(cluster.client, ns, 'web');
      return d.metadata.annotations?.[REVISION_ANNOTATION] === '3' ? d : undefined;
    }, 'revision 3 after undo', 60_000, 100);
    expect(back.spec.template.spec.containers[0]?.image).to.equal('busybox:1');
    await waitRolledOut(cluster.client, ns, 'web');
    expect(await ctl(['rollout', 'pause', 'deployment/web'])).to.equal('deployment.apps/web paused\n');
    expect((await getDeployment(cluster.client, ns, 'web')).spec.paused).to.equal(true);
    expect(await ctl(['rollout', 'resume', 'deployment/web'])).to.equal('deployment.apps/web resumed\n');
    expect((await getDeployment(cluster.client, ns, 'web')).spec.paused).to.equal(undefined);
    const bad = await cellctl([`--server=${cluster.api.url}`, '-n', ns, 'scale', 'pod/x', '--replicas=1'], { env: isolatedEnv(home) });
    expect(bad.code).to.not.equal(0);
    expect(bad.stderr).to.include('cannot scale a pod');
  });

  it('survives a restart of the controllers in the middle of a rollout: no extra pod, no missing pod', async () => {
    const ns = 'apps-restart';
    await createNamespace(cluster.client, ns);
    const m = deploymentManifest('web', { replicas: 6, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 2, maxUnavailable: 1 } } });
    // Each new pod counts as available only after a second, so the rollout takes a while.
    (m.spec as Record<string, unknown>)['minReadySeconds'] = 1;
    await cluster.client.create({ ...DEPLOYMENTS, namespace: ns }, m);
    await waitRolledOut(cluster.client, ns, 'web', 90_000);
    const sampler = new PodSampler(cluster.client, ns, 'app=web');
    await sampler.start();
    try {
      expectOk(await cluster.kubectl(['-n', ns, 'set', 'image', 'deployment/web', 'main=busybox:next']), 'kubectl set image');
      // Mid-rollout: the new ReplicaSet has pods, the old one still has some.
      await waitFor(async () => {
        const sets = await replicaSets(cluster.client, ns);
        return sets.length === 2 && sets.every((rs) => rs.spec.replicas > 0);
      }, 'a rollout in progress', 30_000, 50);
      await cluster.restartControllers();
      await waitRolledOut(cluster.client, ns, 'web', 120_000);
    } finally {
      await sampler.stop();
    }
    expect(sampler.maxActive, 'never more than replicas + maxSurge pods').to.be.at.most(8);
    const sets = await replicaSets(cluster.client, ns);
    const all = (await pods(cluster.client, ns)).filter(isActive);
    const perRS = new Map(sets.map((rs) => [rs.metadata.uid ?? '', all.filter((p) => p.metadata.ownerReferences?.[0]?.uid === rs.metadata.uid).length]));
    const newRS = sets.find((rs) => rs.spec.template.spec.containers[0]?.image === 'busybox:next')!;
    const oldRS = sets.find((rs) => rs !== newRS)!;
    expect(perRS.get(newRS.metadata.uid ?? '')).to.equal(6);
    expect(perRS.get(oldRS.metadata.uid ?? '')).to.equal(0);
    expect(all).to.have.length(6);
    expect(newRS.status).to.include({ replicas: 6, readyReplicas: 6, availableReplicas: 6 });
  });
});
