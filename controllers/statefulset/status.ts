// A StatefulSet's status, counted as Kubernetes' computeReplicaStatus counts it: every pod made
// (terminating ones too), the ready and available ones, and those of the current and the update
// revision. A rolling update is complete once every pod is of the update revision and ready: the
// update revision then becomes the current one.
import type { StatefulSet, StatefulSetStatus } from '../../shared/api/apps.js';
import type { Pod } from '../../shared/api/core.js';
import { isPodAvailable, isPodReady } from '../replicaset/pods.js';
import { revisionOf } from './identity.js';

export function countStatus(sts: StatefulSet, pods: readonly Pod[], currentRevision: string, updateRevision: string, now: number): StatefulSetStatus {
  let ready = 0;
  let available = 0;
  let current = 0;
  let updated = 0;
  for (const p of pods) {
    const running = p.status.phase === 'Running' && p.metadata.deletionTimestamp === undefined;
    if (running && isPodReady(p)) {
      ready++;
      if (isPodAvailable(p, sts.spec.minReadySeconds, now)) available++;
    }
    if (p.metadata.deletionTimestamp !== undefined) continue;
    if (revisionOf(p) === currentRevision) current++;
    if (revisionOf(p) === updateRevision) updated++;
  }
  const status: StatefulSetStatus = {
    observedGeneration: sts.metadata.generation ?? 1,
    replicas: pods.length,
    readyReplicas: ready,
    currentReplicas: current,
    updatedReplicas: updated,
    availableReplicas: available,
    currentRevision,
    updateRevision,
    ...(sts.status.collisionCount !== undefined ? { collisionCount: sts.status.collisionCount } : {}),
    ...(sts.status.conditions !== undefined ? { conditions: sts.status.conditions } : {}),
  };
  if (sts.spec.updateStrategy.type === 'RollingUpdate' && updated === pods.length && ready === pods.length) {
    status.currentRevision = updateRevision;
    status.currentReplicas = updated;
  }
  return status;
}
