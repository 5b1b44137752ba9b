// Which kinds the garbage collector watches and how an ownerReference's apiVersion/kind maps to a
// served resource. Taken from the one resource table, so every kind added there (workloads, batch)
// is covered without a change here.
import { RESOURCES, type ResourceInfo } from '../../shared/api/registry.js';
import type { OwnerReference } from '../../shared/api/meta.js';

/**
 * Kinds that can be owners or dependents: stored (listable and watchable) and deletable, as
 * Kubernetes' collector takes every resource with list, watch and delete. Create-only kinds
 * (reviews, Placement) and read-only ones (NodeAllocation) are neither. Events are left out, as
 * Kubernetes leaves them out: the most numerous objects, never owners, and expired anyway.
 */
export function collectableResources(resources: readonly ResourceInfo[] = RESOURCES): ResourceInfo[] {
  return resources.filter((r) => r.verbs.includes('list') && r.verbs.includes('watch') && r.verbs.includes('delete') && !(r.group === '' && r.resource === 'events'));
}

function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** The served resource an owner reference names (any served version of its group), if any. */
export function resourceOfReference(ref: Pick<OwnerReference, 'apiVersion' | 'kind'>, resources: readonly ResourceInfo[] = RESOURCES): ResourceInfo | undefined {
  const group = groupOf(ref.apiVersion);
  return resources.find((r) => r.kind === ref.kind && r.apiVersion === ref.apiVersion) ?? resources.find((r) => r.kind === ref.kind && r.group === group);
}
