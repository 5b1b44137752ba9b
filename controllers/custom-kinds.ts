// The custom kinds the API serves now, read from their CustomResourceDefinitions as Kubernetes'
// controllers find them through discovery: for the loops that work on every kind (the garbage
// collector follows their objects, the quota controller counts them) and the autoscaler, which
// finds a custom kind's scale subresource.
import { APIEXTENSIONS_GROUP, crdCondition, type CustomResourceDefinition } from '../shared/api/apiextensions.js';
import { apiVersionOf, type ResourceInfo } from '../shared/api/registry.js';

/** Where a custom kind's objects are served, and which definition serves it. */
export interface CustomKind extends Pick<ResourceInfo, 'group' | 'version' | 'apiVersion' | 'kind' | 'resource' | 'namespaced'> {
  /** The CustomResourceDefinition's name. */
  readonly definition: string;
}

/** Where the definitions are served. */
export const CUSTOM_RESOURCE_DEFINITIONS = { group: APIEXTENSIONS_GROUP, version: 'v1', resource: 'customresourcedefinitions' } as const;

/**
 * The kind `crd` serves now, or undefined when it serves none: not Established (a name conflict,
 * or not yet), or no version served. The names are the accepted ones, those Established is about.
 */
export function customKindOf(crd: CustomResourceDefinition): CustomKind | undefined {
  if (crdCondition(crd, 'Established')?.status !== 'True') return undefined;
  const names = crd.status?.acceptedNames;
  if (!names?.plural || !names.kind) return undefined;
  const served = crd.spec.versions.filter((v) => v.served);
  // Every served version shows the same objects; the storage version needs no conversion.
  const version = served.find((v) => v.storage) ?? served[0];
  if (!version) return undefined;
  return {
    group: crd.spec.group,
    version: version.name,
    apiVersion: apiVersionOf(crd.spec.group, version.name),
    kind: names.kind,
    resource: names.plural,
    namespaced: crd.spec.scope === 'Namespaced',
    definition: crd.metadata.name ?? '',
  };
}
