// The REST strategies of apps/v1 Deployment and ReplicaSet, as Kubernetes' own: the status is the
// controller's (reset on create), and the selector is immutable in apps/v1 — a changed selector
// would silently orphan every pod and ReplicaSet the object manages.
import { isDeepStrictEqual } from 'node:util';
import { cause, invalidObjectError } from '../../shared/api/field-errors.js';
import type { Strategy } from './strategy.js';

interface WorkloadView {
  spec?: { selector?: unknown };
}

function appsStrategy(kind: string): Strategy {
  return {
    prepareForCreate(obj) {
      obj.status = kind === 'ReplicaSet' ? { replicas: 0 } : {};
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
