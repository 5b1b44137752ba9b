// Per-kind rules on top of the generic verbs, like Kubernetes' REST strategies: what a client may
// set on create, which fields are immutable, and how long a delete is graceful.
import { HorizontalPodAutoscalerStatusSchema } from '../../shared/api/autoscaling.js';
import { isDeepStrictEqual } from 'node:util';
import { ForbiddenError, InvalidError } from '../../shared/errors.js';
import { PodDisruptionBudgetStatusSchema } from '../../shared/api/policy.js';
import { DEFAULT_SERVICE_ACCOUNT } from '../../shared/api/serviceaccount.js';
import type { KubeObject } from './object.js';
import { resourceQuotaStrategy } from '../quota/strategy.js';
import { configMapStrategy, secretStrategy } from './config-strategy.js';
import { serviceStrategy } from '../services/strategy.js';
import { ingressClassStrategy, ingressStrategy } from '../networking/strategy.js';
import { keepEphemeralContainers, refuseEphemeralContainersOnCreate, withEphemeralContainers } from './ephemeral-containers.js';
import { jobStrategy } from './job-strategy.js';
import { customResourceDefinitionStrategy } from '../customresources/strategy.js';
import { priorityClassStrategy } from '../priority/strategy.js';
import { controllerRevisionStrategy, daemonSetStrategy, deploymentStrategy, replicaSetStrategy, statefulSetStrategy } from './apps-strategy.js';
import { clusterQueueStrategy, localQueueStrategy, workloadStrategy } from './kueue-strategy.js';

export interface Strategy {
  /** Reset what a client may not set on create (e.g. a pod's status). */
  prepareForCreate?(obj: KubeObject): void;
  /** Reject a new object, as prepared for create, that breaks rules beyond its schema (a custom kind's validation rules). */
  validateCreate?(obj: KubeObject): void;
  /** What a client should know about an object it wrote that is accepted all the same (Warning headers; kubectl prints them). */
  warnings?(obj: KubeObject): string[];
  /** Carry over what an update of the main resource may not change (a namespace's finalizers). */
  prepareForUpdate?(next: KubeObject, old: KubeObject): void;
  /** Reject updates that change immutable fields. */
  validateUpdate?(next: KubeObject, old: KubeObject): void;
  /** Carry over what a `status` write may not change (status fields only the server moves). */
  prepareForStatusUpdate?(next: KubeObject, old: KubeObject): void;
  /** Reject `status` writes that change what may not change. */
  validateStatusUpdate?(next: KubeObject, old: KubeObject): void;
  /**
   * Subresources other than status that write one part of the object (pods/ephemeralcontainers),
   * by name: the next object from what was sent (a PUT's body, or the patched object) and the
   * stored one. Throws when the write may not be made.
   */
  subresourceWrites?: Readonly<Record<string, (incoming: KubeObject, current: KubeObject) => KubeObject>>;
  /**
   * Seconds a delete waits (object kept with deletionTimestamp until its owner confirms), or 0 to
   * delete at once. `requested` is DeleteOptions.gracePeriodSeconds.
   */
  gracePeriod?(obj: KubeObject, requested: number | undefined): number;
  /** Refuse a delete outright (e.g. the namespaces every cluster needs). */
  validateDelete?(obj: KubeObject): void;
  /** Finalizers the kind keeps outside metadata.finalizers (a namespace's spec.finalizers). */
  kindFinalizers?(obj: KubeObject): string[];
  /** Called on the object when it is first marked for deletion. */
  markDeleting?(obj: KubeObject): void;
}

interface PodView {
  spec?: { nodeName?: string; serviceAccountName?: string; terminationGracePeriodSeconds?: number; containers?: { image?: string }[]; tolerations?: unknown[]; activeDeadlineSeconds?: number };
  status?: { phase?: string };
}

function podOf(obj: KubeObject): PodView {
  return obj as PodView;
}

export function isTerminalPod(obj: KubeObject): boolean {
  const phase = podOf(obj).status?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}

/** The parts of a pod spec Kubernetes lets an update change. */
function mutablePodSpecStripped(spec: PodView['spec']): unknown {
  if (!spec) return spec;
  const { activeDeadlineSeconds: _a, tolerations: _t, ...rest } = spec;
  return { ...rest, containers: (rest.containers ?? []).map(({ image: _i, ...c }) => c) };
}

const podStrategy: Strategy = {
  prepareForCreate(obj) {
    refuseEphemeralContainersOnCreate(obj);
    obj.status = { phase: 'Pending' };
    // Every pod runs as an account (service-account-admission.ts checks it exists).
    const spec = podOf(obj).spec;
    if (spec && !spec.serviceAccountName) spec.serviceAccountName = DEFAULT_SERVICE_ACCOUNT;
  },
  prepareForUpdate: keepEphemeralContainers,
  subresourceWrites: { ephemeralcontainers: withEphemeralContainers },
  validateUpdate(next, old) {
    const a = podOf(next).spec;
    const b = podOf(old).spec;
    if (!isDeepStrictEqual(mutablePodSpecStripped(a), mutablePodSpecStripped(b))) {
      const nodeChanged = a?.nodeName !== b?.nodeName;
      throw new InvalidError(
        `Pod "${old.metadata.name ?? ''}" is invalid: spec: Forbidden: pod updates may not change fields other than \`spec.containers[*].image\`, \`spec.activeDeadlineSeconds\` or \`spec.tolerations\`${nodeChanged ? ' (bind a pod through its binding subresource)' : ''}`,
        { name: old.metadata.name, kind: 'Pod' },
        [{ reason: 'FieldValueForbidden', field: nodeChanged ? 'spec.nodeName' : 'spec', message: 'pod updates may not change this field' }],
      );
    }
  },
  validateStatusUpdate(next, old) {
    // A finished pod's phase is final, as in Kubernetes: what was decided on it (its node's
    // resources freed, a Job counting it, a replacement made) must not be undone by a late write —
    // an agent cut off from the cluster reporting Succeeded for a pod already failed as NodeLost.
    const was = podOf(old).status?.phase;
    const now = podOf(next).status?.phase;
    if (isTerminalPod(old) && now !== was) {
      throw new InvalidError(`Pod "${old.metadata.name ?? ''}" is invalid: status.phase: Forbidden: a ${was} pod's phase is final (not ${now ?? 'unset'})`, { name: old.metadata.name, kind: 'Pod' }, [
        { reason: 'FieldValueForbidden', field: 'status.phase', message: `a ${was} pod's phase is final` },
      ]);
    }
  },
  gracePeriod(obj, requested) {
    const pod = podOf(obj);
    // Nothing runs an unbound or finished pod, so nobody needs to be given time to stop it.
    if (!pod.spec?.nodeName || isTerminalPod(obj)) return 0;
    const grace = requested ?? pod.spec.terminationGracePeriodSeconds ?? 30;
    return Math.max(0, grace);
  },
};

/** Namespaces a cluster cannot work without, as in Kubernetes. */
export const PROTECTED_NAMESPACES = new Set(['default', 'kube-system', 'kube-node-lease', 'kube-public']);
/** The finalizer the namespace controller removes once the namespace is empty. */
export const NAMESPACE_FINALIZER = 'kubernetes';

interface NamespaceView {
  spec?: { finalizers?: string[] };
  status?: { phase?: string };
}

const namespaceStrategy: Strategy = {
  prepareForCreate(obj) {
    obj.status = { phase: 'Active' };
    const ns = obj as NamespaceView;
    ns.spec = { ...ns.spec, finalizers: [NAMESPACE_FINALIZER] };
  },
  prepareForUpdate(next, old) {
    // Only the namespace controller (through the store) removes the finalizer.
    (next as NamespaceView).spec = (old as NamespaceView).spec;
  },
  validateDelete(obj) {
    const name = obj.metadata.name ?? '';
    if (PROTECTED_NAMESPACES.has(name)) {
      throw new ForbiddenError(`namespaces "${name}" is forbidden: this namespace may not be deleted`, { name, kind: 'namespaces' });
    }
  },
  kindFinalizers(obj) {
    return (obj as NamespaceView).spec?.finalizers ?? [];
  },
  markDeleting(obj) {
    obj.status = { ...(obj.status as object | undefined), phase: 'Terminating' };
  },
};

/**
 * A budget's status is the disruption controller's: what a client sends on create is replaced by
 * the zero status (no disruption allowed until the controller has counted the pods).
 */
const disruptionBudgetStrategy: Strategy = {
  prepareForCreate(obj) {
    obj.status = PodDisruptionBudgetStatusSchema.parse({});
  },
};

/** A CronJob's status is the cronjob controller's: a client's is dropped on create. */
const cronJobStrategy: Strategy = {
  prepareForCreate(obj) {
    obj.status = {};
  },
};

/** A HorizontalPodAutoscaler's status is its controller's: a client's is replaced on create. */
const horizontalPodAutoscalerStrategy: Strategy = {
  prepareForCreate(obj) {
    obj.status = HorizontalPodAutoscalerStatusSchema.parse({});
  },
};

const STRATEGIES: Record<string, Strategy> = {
  pods: podStrategy,
  namespaces: namespaceStrategy,
  poddisruptionbudgets: disruptionBudgetStrategy,
  services: serviceStrategy,
  ingresses: ingressStrategy,
  ingressclasses: ingressClassStrategy,
  configmaps: configMapStrategy,
  secrets: secretStrategy,
  resourcequotas: resourceQuotaStrategy,
  jobs: jobStrategy,
  cronjobs: cronJobStrategy,
  priorityclasses: priorityClassStrategy,
  deployments: deploymentStrategy,
  replicasets: replicaSetStrategy,
  daemonsets: daemonSetStrategy,
  statefulsets: statefulSetStrategy,
  controllerrevisions: controllerRevisionStrategy,
  clusterqueues: clusterQueueStrategy,
  localqueues: localQueueStrategy,
  workloads: workloadStrategy,
  horizontalpodautoscalers: horizontalPodAutoscalerStrategy,
  customresourcedefinitions: customResourceDefinitionStrategy,
};

export function strategyFor(resource: string): Strategy {
  return STRATEGIES[resource] ?? {};
}
