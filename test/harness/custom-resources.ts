// CustomResourceDefinition bodies for tests: one served, stored version `v1` unless said otherwise,
// its spec left open (x-kubernetes-preserve-unknown-fields) unless a schema is given.
import type { CustomResourceDefinitionVersion, JSONSchemaProps } from '../../shared/api/apiextensions.js';

export const CRDS = { group: 'apiextensions.k8s.io', version: 'v1', resource: 'customresourcedefinitions' } as const;

export interface DefinitionOptions {
  group: string;
  plural: string;
  kind: string;
  scope?: 'Namespaced' | 'Cluster';
  shortNames?: string[];
  categories?: string[];
  /** The root schema of every version (default: an object whose spec keeps anything). */
  schema?: JSONSchemaProps;
  /** What each version adds: subresources, printer columns. */
  version?: Partial<CustomResourceDefinitionVersion>;
  /** Version names, the first stored (default ['v1']). */
  versions?: string[];
}

const OPEN_SPEC: JSONSchemaProps = { type: 'object', properties: { spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } };

export function definitionBody(o: DefinitionOptions): { apiVersion: string; kind: string; metadata: { name: string }; spec: Record<string, unknown> } {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${o.plural}.${o.group}` },
    spec: {
      group: o.group,
      scope: o.scope ?? 'Namespaced',
      names: { plural: o.plural, kind: o.kind, ...(o.shortNames ? { shortNames: o.shortNames } : {}), ...(o.categories ? { categories: o.categories } : {}) },
      versions: (o.versions ?? ['v1']).map((name, i) => ({ name, served: true, storage: i === 0, schema: { openAPIV3Schema: o.schema ?? OPEN_SPEC }, ...(o.version ?? {}) })),
    },
  };
}
