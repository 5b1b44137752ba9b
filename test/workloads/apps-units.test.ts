// The pure parts of the apps/v1 controllers, without a cluster: rollout arithmetic (fenceposts,
// new ReplicaSet size, proportional scaling), the pod-template hash, the order surplus pods are
// deleted in, revision annotations on a rollback, and status conditions.
import { expect } from 'chai';
import { DeploymentSchema, ReplicaSetSchema, type Deployment, type ReplicaSet } from '../../shared/api/apps.js';
import { PodSchema, type Pod } from '../../shared/api/core.js';
import { fenceposts, maxUnavailable, newReplicaSetReplicas, proportionalSizes, scaledValue } from '../../controllers/deployment/rollout.js';
import { setNewReplicaSetAnnotations } from '../../controllers/deployment/revisions.js';
import { calculateStatus, rolloutStatus } from '../../controllers/deployment/status.js';
import { canonicalJson, equalIgnoringHash, templateHash } from '../../controllers/deployment/template-hash.js';
import { podsToDelete } from '../../controllers/replicaset/pods.js';

function deployment(replicas: number, strategy: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Deployment {
  return DeploymentSchema.parse({
    metadata: { name: 'web', namespace: 'default', generation: 1, ...extra },
    spec: { replicas, selector: { matchLabels: { app: 'web' } }, strategy, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } },
  });
}

function rs(name: string, replicas: number, available: number, created: string, annotations: Record<string, string> = {}): ReplicaSet {
  return ReplicaSetSchema.parse({
    metadata: { name, namespace: 'default', creationTimestamp: created, annotations },
    spec: { replicas, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: name }] } } },
    status: { replicas, availableReplicas: available, readyReplicas: available },
  });
}

describe('apps/v1 controller logic', () => {
  it('resolves maxSurge up and maxUnavailable down, never both zero', () => {
    expect(scaledValue('25%', 3, true)).to.equal(1);
    expect(scaledValue('25%', 3, false)).to.equal(0);
    expect(scaledValue(2, 10, false)).to.equal(2);
    expect(fenceposts(deployment(3))).to.deep.equal({ surge: 1, unavailable: 0 });
    expect(fenceposts(deployment(1, { rollingUpdate: { maxSurge: '0%', maxUnavailable: '10%' } }))).to.deep.equal({ surge: 0, unavailable: 1 });
    expect(maxUnavailable(deployment(2, { rollingUpdate: { maxSurge: 0, maxUnavailable: 5 } }))).to.equal(2);
    expect(maxUnavailable(deployment(4, { type: 'Recreate' }))).to.equal(0);
  });

  it('grows the new ReplicaSet only within the surge', () => {
    const d = deployment(4, { rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } });
    expect(newReplicaSetReplicas(d, [rs('old', 4, 4, '2026-01-01T00:00:00Z')], undefined)).to.equal(1);
    const half = rs('new', 2, 2, '2026-01-02T00:00:00Z');
    expect(newReplicaSetReplicas(d, [rs('old', 3, 3, '2026-01-01T00:00:00Z'), half], half)).to.equal(2);
    expect(newReplicaSetReplicas(d, [rs('old', 2, 2, '2026-01-01T00:00:00Z'), half], half)).to.equal(3);
    expect(newReplicaSetReplicas(deployment(4, { type: 'Recreate' }), [], undefined)).to.equal(4);
    // An old ReplicaSet scaled down whose pods are not deleted yet still holds them: no room yet.
    const stillThree = { ...rs('old', 2, 2, '2026-01-01T00:00:00Z'), status: { replicas: 3, availableReplicas: 3, readyReplicas: 3 } };
    expect(newReplicaSetReplicas(d, [stillThree, half], half)).to.equal(2);
  });

  it('spreads a resize in the middle of a rollout in proportion to each ReplicaSet', () => {
    // 10 replicas (max 13 with a 25% surge) split 8 old / 5 new; scaled to 20 (max 25).
    const d = deployment(20, {}, {});
    const old = rs('old', 8, 8, '2026-01-01T00:00:00Z', { 'deployment.kubernetes.io/max-replicas': '13' });
    const neu = rs('new', 5, 0, '2026-01-02T00:00:00Z', { 'deployment.kubernetes.io/max-replicas': '13' });
    const sizes = proportionalSizes(d, [old, neu]);
    expect((sizes.get('old') ?? 0) + (sizes.get('new') ?? 0)).to.equal(25);
    expect(sizes.get('old')).to.equal(15);
    expect(sizes.get('new')).to.equal(10);
  });

  it('hashes a template stably whatever its key order, and differently per collision count', () => {
    const a = deployment(1).spec.template;
    const b = JSON.parse(canonicalJson(a)) as typeof a;
    expect(templateHash(a)).to.equal(templateHash(b)).and.match(/^[bcdfghjklmnpqrstvwxz2456789]+$/);
    expect(templateHash(a, 1)).to.not.equal(templateHash(a));
    const labelled = { ...a, metadata: { ...a.metadata, labels: { ...a.metadata.labels, 'pod-template-hash': templateHash(a) } } };
    expect(equalIgnoringHash(labelled, a)).to.equal(true);
    const changed = { ...a, spec: { ...a.spec, containers: [{ ...a.spec.containers[0]!, image: 'y' }] } };
    expect(equalIgnoringHash(changed, a)).to.equal(false);
  });

  it('deletes unscheduled, then pending, then not-ready, then the most recently ready pods first', () => {
    const now = Date.parse('2026-01-01T01:00:00Z');
    const pod = (name: string, o: { node?: string; phase?: string; readySince?: string }): Pod =>
      PodSchema.parse({
        metadata: { name, creationTimestamp: '2026-01-01T00:00:00Z' },
        spec: { ...(o.node ? { nodeName: o.node } : {}), containers: [{ name: 'c', image: 'x' }] },
        status: { phase: o.phase ?? 'Running', ...(o.readySince ? { conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: o.readySince }] } : {}) },
      });
    const pods = [
      pod('old-ready', { node: 'n1', readySince: '2026-01-01T00:00:00Z' }),
      pod('new-ready', { node: 'n2', readySince: '2026-01-01T00:59:00Z' }),
      pod('not-ready', { node: 'n3' }),
      pod('pending', { node: 'n4', phase: 'Pending' }),
      pod('unscheduled', { phase: 'Pending' }),
    ];
    expect(podsToDelete(pods, 5, now).map((p) => p.metadata.name)).to.deep.equal(['unscheduled', 'pending', 'not-ready', 'new-ready', 'old-ready']);
  });

  it('moves a reused ReplicaSet up to the new revision and records the one it had', () => {
    const annotations: Record<string, string> = { 'deployment.kubernetes.io/revision': '1' };
    const d = deployment(3, {}, { annotations: { 'kubernetes.io/change-cause': 'undo', 'deployment.kubernetes.io/revision': '2' } });
    expect(setNewReplicaSetAnnotations(d, annotations, 3, true, 1)).to.equal(true);
    expect(annotations).to.deep.equal({ 'deployment.kubernetes.io/revision': '3', 'deployment.kubernetes.io/revision-history': '1', 'kubernetes.io/change-cause': 'undo' });
    expect(setNewReplicaSetAnnotations(d, annotations, 3, true, 1)).to.equal(false);
  });

  it('reports Available and Progressing as Kubernetes does', () => {
    const d = deployment(3);
    const complete = rolloutStatus(d, [rs('new', 3, 3, '2026-01-01T00:00:00Z')], rs('new', 3, 3, '2026-01-01T00:00:00Z'));
    expect(complete.conditions?.find((c) => c.type === 'Available')).to.include({ status: 'True', reason: 'MinimumReplicasAvailable' });
    expect(complete.conditions?.find((c) => c.type === 'Progressing')).to.include({ status: 'True', reason: 'NewReplicaSetAvailable' });
    const short = calculateStatus(d, [rs('new', 3, 1, '2026-01-01T00:00:00Z')], undefined);
    expect(short.conditions?.find((c) => c.type === 'Available')).to.include({ status: 'False', reason: 'MinimumReplicasUnavailable' });
    expect(short.unavailableReplicas).to.equal(2);
  });
});
