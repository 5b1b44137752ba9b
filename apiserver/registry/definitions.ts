// The served resources, from the project's one resource table (shared/api/registry), in the form
// the REST and HTTP layers use.
import { RESOURCES, type ResourceInfo, type SubresourceInfo } from '../../shared/api/registry.js';
import { strictDecodingError, unknownFields, validateObject } from '../../shared/api/validation.js';
import type { KubeObject } from './object.js';
import type { ResourceDef } from './rest.js';

export interface ResourceDefinition {
  info: ResourceInfo;
  def: ResourceDef;
  /** Field selector names this resource supports. */
  fieldSelectors: readonly string[];
  /** One field-selector field of an object (ResourceInfo.fieldValue). */
  fieldValue(obj: KubeObject, field: string): string;
  /** Subresources the resource has (for 404s and discovery). */
  subresources: readonly string[];
  /** What discovery says of each: its verbs, and the kind (and group) of its body. */
  subresourceDetails: readonly SubresourceInfo[];
  /** Those that open a stream (pods/exec): GET and POST are both `create` (SubresourceInfo.connect). */
  connectSubresources: readonly string[];
  /** Verbs the resource allows (Placement is create-only, NodeAllocation read-only). */
  verbs: readonly string[];
  singularName: string;
  shortNames: readonly string[];
  categories: readonly string[];
}

/** The definitions of `infos` (every stored resource by default). */
export function resourceDefinitions(infos: readonly ResourceInfo[] = RESOURCES): ResourceDefinition[] {
  return infos.map((info) => {
    const subresources = info.subresources.map((s) => s.name);
    const def: ResourceDef = {
      group: info.group,
      version: info.version,
      kind: info.kind,
      listKind: info.listKind,
      resource: info.resource,
      namespaced: info.namespaced,
      hasStatus: subresources.includes('status'),
      validate: (raw) => validateObject(info, raw) as unknown as KubeObject,
      unknownFields: (raw) => unknownFields(info, raw),
      strictError: (fields) => strictDecodingError(info, fields),
    };
    return {
      info,
      def,
      fieldSelectors: info.fieldSelectors,
      fieldValue: (obj, field) => info.fieldValue(obj as unknown as Parameters<typeof info.fieldValue>[0], field),
      subresources,
      subresourceDetails: info.subresources,
      connectSubresources: info.subresources.filter((s) => s.connect === true).map((s) => s.name),
      verbs: info.verbs,
      singularName: info.singularName,
      shortNames: info.shortNames,
      categories: info.categories,
    };
  });
}
