// What one CustomResourceDefinition serves: a resource per served version, all over one store
// (keys `/<group>/<plural>/…`, objects kept in the storage version). Versions convert as
// Kubernetes' `None` strategy does: only apiVersion changes.
import type { CustomResourceDefinition, CustomResourceDefinitionVersion } from '../../shared/api/apiextensions.js';
import { defineResource, STATUS_VERBS, type ResourceInfo, type SubresourceInfo } from '../../shared/api/registry.js';
import type { KubeObject as TypedObject } from '../../shared/api/meta.js';
import { JsonPathTemplate } from '../../shared/jsonpath.js';
import type { CustomHandler, ServedResource } from '../http/resources.js';
import { scaleHandlers } from '../apps/scale.js';
import { customScaleFields } from './scale-fields.js';
import { resourceDefinitions } from '../registry/definitions.js';
import type { KubeObject } from '../registry/object.js';
import type { ResourceStore } from '../registry/resource-store.js';
import { RestResource, type VersionConversion } from '../registry/rest.js';
import type { Strategy } from '../registry/strategy.js';
import { printerColumns } from './columns.js';
import { compileCustomResourceSchema } from './schema.js';
import { ValidationRules } from './validation-rules.js';
import { invalidObjectError } from '../../shared/api/field-errors.js';

/** How a custom resource is keyed in the resource table: `<plural>.<group>`. */
export function customResourceKey(crd: CustomResourceDefinition): string {
  return `${crd.spec.names.plural}.${crd.spec.group}`;
}

/** The store identity of a definition's objects; a new store is needed only when this changes. */
export function storeIdentity(crd: CustomResourceDefinition) {
  const { group, names, scope } = crd.spec;
  return { group, kind: names.kind, resource: names.plural, namespaced: scope === 'Namespaced', storagePath: `${group}/${names.plural}` };
}

/**
 * Custom objects follow the generic verbs, except that with a status subresource a new object's
 * status is dropped, as in Kubernetes, and that the version's validation rules (CEL) are checked
 * on every write: on updates against the object before, so transition rules run and unchanged
 * values are not judged again.
 */
function customObjectStrategy(hasStatus: boolean, rules: ValidationRules | undefined, kind: string, group: string): Strategy {
  const check = (obj: KubeObject, old?: KubeObject) => {
    const causes = rules?.check(obj, old) ?? [];
    if (causes.length > 0) throw invalidObjectError({ kind, group, name: obj.metadata.name ?? '' }, causes);
  };
  return {
    ...(hasStatus ? { prepareForCreate: (obj: KubeObject) => void delete obj.status } : {}),
    ...(rules ? { validateCreate: (obj: KubeObject) => check(obj), validateUpdate: check, validateStatusUpdate: check } : {}),
  };
}

function versionInfo(crd: CustomResourceDefinition, v: CustomResourceDefinitionVersion): ResourceInfo {
  const { group, names } = crd.spec;
  const subresources: SubresourceInfo[] = [];
  if (v.subresources?.status !== undefined) subresources.push({ name: 'status', kind: names.kind, verbs: STATUS_VERBS });
  if (v.subresources?.scale !== undefined) subresources.push({ name: 'scale', kind: 'Scale', group: 'autoscaling', version: 'v1', verbs: STATUS_VERBS });
  // Selectable fields (beyond name and namespace): each a JSONPath read as text.
  const fields = Object.fromEntries(
    (v.selectableFields ?? []).map((f) => {
      const path = new JsonPathTemplate(`{${f.jsonPath}}`);
      return [f.jsonPath.replace(/^\./, ''), (obj: TypedObject) => path.execute(obj)];
    }),
  );
  return defineResource<TypedObject>({
    group,
    version: v.name,
    kind: names.kind,
    listKind: names.listKind || `${names.kind}List`,
    resource: names.plural,
    singularName: names.singular || names.kind.toLowerCase(),
    shortNames: names.shortNames ?? [],
    categories: names.categories ?? [],
    namespaced: crd.spec.scope === 'Namespaced',
    subresources,
    // Validated as a definition before it is served: every served version has a schema.
    schema: compileCustomResourceSchema(v.schema?.openAPIV3Schema ?? { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }, `${group}/${v.name}`, names.kind),
    validate: () => [],
    fields,
  });
}

export interface CustomResourceServing {
  /** The storage version's resource (what namespace deletion and the server's loops see). */
  stored: ServedResource;
  /** Every served version, the storage version among them when it is served. */
  versions: ServedResource[];
  /** The served versions as resource definitions (for the OpenAPI documents). */
  infos: ResourceInfo[];
}

/**
 * The served resources of `crd` over `objects` (its store). `admitCreate` runs before each new
 * object (refusing creates while the definition is being deleted).
 */
export function serveCustomResource(
  crd: CustomResourceDefinition,
  objects: ResourceStore,
  lookupNamespace: (name: string) => Promise<KubeObject | undefined>,
  admitCreate: () => Promise<void>,
  maxRequestBytes: number,
): CustomResourceServing {
  const storage = crd.spec.versions.find((v) => v.storage) ?? crd.spec.versions[0]!;
  const storedApiVersion = `${crd.spec.group}/${storage.name}`;
  const definitionOf = (v: CustomResourceDefinitionVersion, info: ResourceInfo) => {
    const [d] = resourceDefinitions([info]);
    const { info: _info, def, ...definition } = d!;
    const root = v.schema?.openAPIV3Schema;
    const rules = root ? ValidationRules.of(root, `${crd.spec.group}/${v.name}`) : undefined;
    return { def: { ...def, strategy: customObjectStrategy(def.hasStatus, rules, crd.spec.names.kind, crd.spec.group) }, definition };
  };
  const storageInfo = versionInfo(crd, storage);
  const storedDef = definitionOf(storage, storageInfo).def;
  const infos: ResourceInfo[] = [];
  const build = (v: CustomResourceDefinitionVersion, info: ResourceInfo): ServedResource => {
    if (v.served) infos.push(info);
    const { def, definition } = definitionOf(v, info);
    const apiVersion = `${crd.spec.group}/${v.name}`;
    // Objects kept under an earlier storage version are answered (and patched) in the version asked for.
    const toServed = (obj: KubeObject): KubeObject => (obj.apiVersion === apiVersion ? obj : { ...obj, apiVersion });
    // Every version, the storage one too, converts: an object may still carry an older storage version.
    const conversion: VersionConversion = {
      stored: storedDef,
      toStored: (obj) => ({ object: obj.apiVersion === storedApiVersion ? obj : { ...obj, apiVersion: storedApiVersion }, causes: [] }),
      toServed,
    };
    const rest = new RestResource(def, objects, lookupNamespace, conversion);
    rest.addCreateAdmission(admitCreate);
    const handlers = new Map<string, CustomHandler>();
    const scale = v.subresources?.scale;
    if (scale) for (const [method, h] of Object.entries(scaleHandlers(() => rest, customScaleFields(scale), maxRequestBytes))) handlers.set(`scale:${method}`, h);
    return { ...definition, rest, toServed, columns: printerColumns(v.additionalPrinterColumns), userDefined: true, handlers };
  };
  const stored = build(storage, storageInfo);
  const versions = crd.spec.versions.filter((v) => v.served).map((v) => (v === storage ? stored : build(v, versionInfo(crd, v))));
  return { stored, versions, infos };
}
