// The StatefulSet controller's decisions as a pure function, step by step: ordered creation that
// stops at the first pod not yet healthy, scale-down from the top, the rolling update from the top
// down to the partition, Parallel, and the counted status with its revisions.
import { expect } from 'chai';
import { CONTROLLER_REVISION_HASH_LABEL, StatefulSetSchema, type StatefulSet } from '../../shared/api/apps.js';
import { PodSchema, type Pod } from '../../shared/api/core.js';
import { ordinalOf } from '../../controllers/statefulset/identity.js';
import { statefulSetPlan } from '../../controllers/statefulset/plan.js';
import { countStatus } from '../../controllers/statefulset/status.js';

function sts(o: { replicas?: number; policy?: string; partition?: number; onDelete?: boolean; start?: number } = {}): StatefulSet {
  return StatefulSetSchema.parse({
    metadata: { name: 'web', namespace: 'ns', uid: 'sts-uid', generation: 2 },
    spec: {
      replicas: o.replicas ?? 3,
      selector: { matchLabels: { app: 'web' } },
      ...(o.policy ? { podManagementPolicy: o.policy } : {}),
      ...(o.onDelete ? { updateStrategy: { type: 'OnDelete' } } : o.partition !== undefined ? { updateStrategy: { rollingUpdate: { partition: o.partition } } } : {}),
      ...(o.start !== undefined ? { ordinals: { start: o.start } } : {}),
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'i' }] } },
    },
  });
}

function pod(ordinal: number, revision: string, o: { ready?: boolean; phase?: string; deleting?: boolean } = {}): Pod {
  const at = new Date(Date.now() - 100_000).toISOString();
  return PodSchema.parse({
    metadata: { name: `web-${ordinal}`, namespace: 'ns', uid: `u${ordinal}-${revision}`, labels: { app: 'web', [CONTROLLER_REVISION_HASH_LABEL]: revision }, ...(o.deleting ? { deletionTimestamp: at } : {}) },
    spec: { containers: [{ name: 'c', image: 'i' }], nodeName: 'n' },
    status: { phase: o.phase ?? 'Running', conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True', lastTransitionTime: at }] },
  });
}

const now = Date.now();
const names = (pods: Pod[]) => pods.map((p) => p.metadata.name);

describe('StatefulSet controller decisions', () => {
  it('knows its members by name only', () => {
    const s = sts();
    expect(ordinalOf(s, pod(2, 'r'))).to.equal(2);
    for (const name of ['web-01', 'web-', 'web-x', 'webby-1', 'web-1-2']) expect(ordinalOf(s, PodSchema.parse({ metadata: { name }, spec: { containers: [{ name: 'c', image: 'i' }] } })), name).to.equal(undefined);
  });

  it('with OrderedReady makes the lowest missing ordinal and stops at the first pod not yet healthy', () => {
    const s = sts();
    expect(statefulSetPlan(s, [], 'r2', now).create).to.deep.equal([{ ordinal: 0, revision: 'update' }]);
    expect(statefulSetPlan(s, [pod(0, 'r2', { ready: false })], 'r2', now)).to.deep.equal({ create: [], remove: [] });
    expect(statefulSetPlan(s, [pod(0, 'r2')], 'r2', now).create).to.deep.equal([{ ordinal: 1, revision: 'update' }]);
    // A failed pod is deleted, to come back under its name; nothing above it moves meanwhile.
    const failed = pod(1, 'r2', { phase: 'Failed' });
    expect(statefulSetPlan(s, [pod(0, 'r2'), failed], 'r2', now)).to.deep.equal({ create: [], remove: [failed] });
    // Counting from spec.ordinals.start.
    expect(statefulSetPlan(sts({ start: 5 }), [pod(5, 'r2')], 'r2', now).create).to.deep.equal([{ ordinal: 6, revision: 'update' }]);
  });

  it('with Parallel makes every missing pod at once and removes every extra one', () => {
    const s = sts({ policy: 'Parallel', replicas: 3 });
    expect(statefulSetPlan(s, [pod(1, 'r2', { ready: false })], 'r2', now).create.map((c) => c.ordinal)).to.deep.equal([0, 2]);
    const plan = statefulSetPlan(sts({ policy: 'Parallel', replicas: 1 }), [pod(0, 'r2'), pod(1, 'r2'), pod(2, 'r2')], 'r2', now);
    expect(names(plan.remove)).to.deep.equal(['web-2', 'web-1']);
  });

  it('scales down from the highest ordinal, one at a time, and not while a pod is unhealthy', () => {
    const s = sts({ replicas: 1 });
    expect(names(statefulSetPlan(s, [pod(0, 'r'), pod(1, 'r'), pod(2, 'r')], 'r', now).remove)).to.deep.equal(['web-2']);
    expect(statefulSetPlan(s, [pod(0, 'r'), pod(1, 'r'), pod(2, 'r', { deleting: true })], 'r', now).remove, 'waits for web-2 to be gone').to.deep.equal([]);
    expect(statefulSetPlan(s, [pod(0, 'r', { ready: false }), pod(1, 'r')], 'r', now).remove, 'web-0 unhealthy').to.deep.equal([]);
  });

  it('updates from the highest ordinal down to the partition, one pod at a time, waiting for each', () => {
    const s = sts({ partition: 1 });
    const old = [pod(0, 'r1'), pod(1, 'r1'), pod(2, 'r1')];
    expect(names(statefulSetPlan(s, old, 'r2', now).remove)).to.deep.equal(['web-2']);
    expect(statefulSetPlan(s, [old[0]!, old[1]!, pod(2, 'r2', { ready: false })], 'r2', now).remove, 'web-2 not ready yet').to.deep.equal([]);
    expect(names(statefulSetPlan(s, [old[0]!, old[1]!, pod(2, 'r2')], 'r2', now).remove)).to.deep.equal(['web-1']);
    expect(statefulSetPlan(s, [old[0]!, pod(1, 'r2'), pod(2, 'r2')], 'r2', now).remove, 'web-0 is below the partition').to.deep.equal([]);
    // A pod below the partition that is gone comes back on the current (old) revision.
    expect(statefulSetPlan(s, [pod(1, 'r2'), pod(2, 'r2')], 'r2', now).create).to.deep.equal([{ ordinal: 0, revision: 'current' }]);
    expect(statefulSetPlan(sts({ onDelete: true }), old, 'r2', now), 'OnDelete').to.deep.equal({ create: [], remove: [] });
  });

  it('counts the status, and makes the update revision current once every pod runs it ready', () => {
    const s = sts();
    const mid = countStatus(s, [pod(0, 'r1'), pod(1, 'r1'), pod(2, 'r2', { ready: false })], 'r1', 'r2', now);
    expect(mid).to.include({ replicas: 3, readyReplicas: 2, currentReplicas: 2, updatedReplicas: 1, availableReplicas: 2, currentRevision: 'r1', updateRevision: 'r2', observedGeneration: 2 });
    const done = countStatus(s, [pod(0, 'r2'), pod(1, 'r2'), pod(2, 'r2')], 'r1', 'r2', now);
    expect(done).to.include({ currentRevision: 'r2', currentReplicas: 3, updatedReplicas: 3 });
  });
});
