// A StatefulSet pod's identity, as Kubernetes gives it: the name `<set>-<ordinal>`, the pod-name
// and pod-index labels, and the revision it was made from. The same ordinal always gets the same
// name, so a pod that is replaced comes back as itself, and two syncs can never make it twice (the
// second create is AlreadyExists).
import { CONTROLLER_REVISION_HASH_LABEL, POD_INDEX_LABEL, STATEFULSET_POD_NAME_LABEL, type StatefulSet } from '../../shared/api/apps.js';
import type { Pod, PodTemplateSpec } from '../../shared/api/core.js';
import { controllerRefTo } from '../replicaset/controller-ref.js';

export function podName(sts: StatefulSet, ordinal: number): string {
  return `${sts.metadata.name ?? ''}-${ordinal}`;
}

/** The ordinal in a pod's name if it is one of `sts`'s names (Kubernetes' isMemberOf), else undefined. */
export function ordinalOf(sts: StatefulSet, pod: Pod): number | undefined {
  const prefix = `${sts.metadata.name ?? ''}-`;
  const name = pod.metadata.name ?? '';
  if (!name.startsWith(prefix)) return undefined;
  const rest = name.slice(prefix.length);
  return /^(0|[1-9][0-9]*)$/.test(rest) ? Number(rest) : undefined;
}

/** The ControllerRevision a pod was made from (its name, which StatefulSet pods carry in the hash label). */
export function revisionOf(pod: Pod): string {
  return pod.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL] ?? '';
}

export function statefulPod(sts: StatefulSet, ordinal: number, template: PodTemplateSpec, revision: string): Record<string, unknown> {
  const name = podName(sts, ordinal);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: sts.metadata.namespace,
      labels: { ...template.metadata.labels, [STATEFULSET_POD_NAME_LABEL]: name, [POD_INDEX_LABEL]: String(ordinal), [CONTROLLER_REVISION_HASH_LABEL]: revision },
      ...(template.metadata.annotations ? { annotations: { ...template.metadata.annotations } } : {}),
      ...(template.metadata.finalizers ? { finalizers: [...template.metadata.finalizers] } : {}),
      ownerReferences: [controllerRefTo(sts)],
    },
    spec: structuredClone(template.spec),
  };
}
