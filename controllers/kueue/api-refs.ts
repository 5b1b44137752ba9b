// Where the queue controller reads and writes, as the typed client addresses it.
import { KUEUE_GROUP, KUEUE_VERSION } from '../../shared/api/kueue.js';
import type { ResourceRef } from '../../shared/client/http-client.js';

export const WORKLOADS: ResourceRef = { group: KUEUE_GROUP, version: KUEUE_VERSION, resource: 'workloads' };
export const CLUSTER_QUEUES: ResourceRef = { group: KUEUE_GROUP, version: KUEUE_VERSION, resource: 'clusterqueues' };
export const LOCAL_QUEUES: ResourceRef = { group: KUEUE_GROUP, version: KUEUE_VERSION, resource: 'localqueues' };
export const RESOURCE_FLAVORS: ResourceRef = { group: KUEUE_GROUP, version: KUEUE_VERSION, resource: 'resourceflavors' };
export const JOBS: ResourceRef = { group: 'batch', version: 'v1', resource: 'jobs' };
export const PODS: ResourceRef = { version: 'v1', resource: 'pods' };
export const NAMESPACES: ResourceRef = { version: 'v1', resource: 'namespaces' };
export const PDBS: ResourceRef = { group: 'policy', version: 'v1', resource: 'poddisruptionbudgets' };

/** The workload's own address (its status subresource with `status`). */
export function workloadRef(wl: { metadata: { namespace?: string; name?: string } }, subresource?: 'status'): ResourceRef {
  return { ...WORKLOADS, namespace: wl.metadata.namespace, name: wl.metadata.name, ...(subresource ? { subresource } : {}) };
}
