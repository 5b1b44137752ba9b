// The REST strategies of apps/v1 Deployment, ReplicaSet, DaemonSet and ControllerRevision, as
// Kubernetes' own: the status is the controller's (reset on create), and the selector is immutable
// in apps/v1 — a changed selector would silently orphan every pod and ReplicaSet the object
// manages. A ControllerRevision's data is the history it records, so it never changes either.
import { isDeepStrictEqual } from 'node:util';
import { cause, invalidObjectError } from '../../shared/api/field-errors.js';
import type { Strategy } from './strategy.js';

interface WorkloadView {
  spec?: { selector?: unknown };
}

/** The zero status each kind's required counts start from. */
const INITIAL_STATUS: Record<string, object> = {
  ReplicaSet: { replicas: 0 },
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

export const controllerRevisionStrategy: Strategy = {
  validateUpdate(next, old) {
    const a = (next as { data?: unknown }).data;
    const b = (old as { data?: unknown }).data;
    if (!isDeepStrictEqual(a, b)) {
      throw invalidObjectError({ kind: 'ControllerRevision', name: old.metadata.name ?? '' }, [cause.invalid('data', a ?? null, 'field is immutable')]);
    }
  },
};
