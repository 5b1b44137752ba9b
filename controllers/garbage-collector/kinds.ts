// Which kinds the garbage collector watches and how an ownerReference's apiVersion/kind maps to a
// served resource. The built-in kinds come from the one resource table, so every kind added there
// (workloads, batch) is covered without a change here; custom kinds come from their
// CustomResourceDefinitions while the collector runs (custom-kinds.ts).
import { RESOURCES, type ResourceInfo } from '../../shared/api/registry.js';
import type { OwnerReference } from '../../shared/api/meta.js';

/** What the collector needs of a kind: where its objects are served. */
export interface CollectedKind extends Pick<ResourceInfo, 'group' | 'version' | 'apiVersion' | 'kind' | 'resource' | 'namespaced'> {
  /** A custom kind's CustomResourceDefinition, by name; absent for a built-in kind. */
  readonly definition?: string;
}

/**
 * Kinds that can be owners or dependents: stored (listable and watchable) and deletable, as
 * Kubernetes' collector takes every resource with list, watch and delete. Create-only kinds
 * (reviews, Placement) and read-only ones (NodeAllocation) are neither. Events are left out, as
 * Kubernetes leaves them out: the most numerous objects, never owners, and expired anyway.
 */
export function collectableResources(resources: readonly ResourceInfo[] = RESOURCES): ResourceInfo[] {
  return resources.filter((r) => r.verbs.includes('list') && r.verbs.includes('watch') && r.verbs.includes('delete') && !(r.group === '' && r.resource === 'events'));
}

/** The group of an apiVersion: `apps/v1` → apps, `v1` → the core group "". */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** The kind an owner reference names (any served version of its group), if any. */
export function resourceOfReference(ref: Pick<OwnerReference, 'apiVersion' | 'kind'>, kinds: readonly CollectedKind[] = RESOURCES): CollectedKind | undefined {
  const group = groupOf(ref.apiVersion);
  return kinds.find((r) => r.kind === ref.kind && r.apiVersion === ref.apiVersion) ?? kinds.find((r) => r.kind === ref.kind && r.group === group);
}

/** Two descriptions of the same served resource (same objects, same URLs). */
export function sameKind(a: CollectedKind, b: CollectedKind): boolean {
  return a.group === b.group && a.version === b.version && a.resource === b.resource && a.kind === b.kind && a.namespaced === b.namespaced && a.definition === b.definition;
}
