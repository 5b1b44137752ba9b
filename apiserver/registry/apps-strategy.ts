// The REST strategies of apps/v1 Deployment, ReplicaSet, DaemonSet, StatefulSet and ControllerRevision, as
// Kubernetes' own: the status is the controller's (reset on create), and the selector is immutable
// in apps/v1 — a changed selector would silently orphan every pod and ReplicaSet the object
// manages. A StatefulSet's identity (service name, pod management policy) is fixed too, and a
// ControllerRevision's data is the history it records, so it never changes either.
import { isDeepStrictEqual } from 'node:util';
import { cause, invalidObjectError } from '../../shared/api/field-errors.js';
import type { Strategy } from './strategy.js';

interface WorkloadView {
  spec?: { selector?: unknown };
}

/** The zero status each kind's required counts start from. */
const INITIAL_STATUS: Record<string, object> = {
  ReplicaSet: { replicas: 0 },
  StatefulSet: { replicas: 0 },
  DaemonSet: { currentNumberScheduled: 0, numberMisscheduled: 0, desiredNumberScheduled: 0, numberReady: 0 },
};

function appsStrategy(kind: string): Strategy {
  return {
    prepareForCreate(obj) {
      obj.status = INITIAL_STATUS[kind] ?? {};
    },
    validateUpdate(next, old) {
      const a = (next as WorkloadView).spec?.selector;
      const b = (old as WorkloadView).spec?.selector;
      if (!isDeepStrictEqual(a, b)) {
        throw invalidObjectError({ kind, name: old.metadata.name ?? '' }, [cause.invalid('spec.selector', a ?? null, 'field is immutable')]);
      }
    },
  };
}

export const deploymentStrategy: Strategy = appsStrategy('Deployment');
export const replicaSetStrategy: Strategy = appsStrategy('ReplicaSet');
export const daemonSetStrategy: Strategy = appsStrategy('DaemonSet');

/** The StatefulSet fields an update may change (Kubernetes' ValidateStatefulSetUpdate); the rest is fixed at create. */
const STATEFULSET_MUTABLE = new Set(['replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy', 'minReadySeconds', 'revisionHistoryLimit']);

const statefulSetBase = appsStrategy('StatefulSet');
export const statefulSetStrategy: Strategy = {
  ...statefulSetBase,
  validateUpdate(next, old) {
    statefulSetBase.validateUpdate?.(next, old);
    const a = (next as { spec?: Record<string, unknown> }).spec ?? {};
    const b = (old as { spec?: Record<string, unknown> }).spec ?? {};
    const changed = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => !STATEFULSET_MUTABLE.has(k) && !isDeepStrictEqual(a[k], b[k]));
    if (changed.length > 0) {
      throw invalidObjectError({ kind: 'StatefulSet', name: old.metadata.name ?? '' }, [
        cause.forbidden('spec', "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"),
      ]);
    }
  },
};

export const controllerRevisionStrategy: Strategy = {
  validateUpdate(next, old) {
    const a = (next as { data?: unknown }).data;
    const b = (old as { data?: unknown }).data;
    if (!isDeepStrictEqual(a, b)) {
      throw invalidObjectError({ kind: 'ControllerRevision', name: old.metadata.name ?? '' }, [cause.invalid('data', a ?? null, 'field is immutable')]);
    }
  },
};
