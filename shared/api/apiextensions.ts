// apiextensions.k8s.io/v1 CustomResourceDefinition: a kind a user adds to the API. Each served
// version becomes a resource under /apis/<group>/<version>, its objects checked against the
// version's OpenAPI v3 schema (apiserver/customresources/). The schema must be structural, as
// Kubernetes requires since v1: a type at every level, so that what is unknown can be pruned.
import { z } from 'zod';
import type { FieldCause } from '../errors.js';
import { JsonPathError, JsonPathTemplate } from '../jsonpath.js';
import { dns1035LabelErrors, dns1123SubdomainErrors } from '../names.js';
import { cause } from './field-errors.js';
import { ObjectMetaSchema } from './meta.js';

export const APIEXTENSIONS_GROUP = 'apiextensions.k8s.io';
/** Kept on a definition until every object of its kind is deleted, as in Kubernetes. */
export const CUSTOM_RESOURCE_CLEANUP_FINALIZER = 'customresourcecleanup.apiextensions.k8s.io';

const JSON_TYPES = ['object', 'array', 'string', 'integer', 'number', 'boolean'] as const;

/** Any JSON value (`default`, `enum`, `example`). */
const JsonValueSchema = z.json();

/**
 * One level of an OpenAPI v3 schema, as CustomResourceDefinitions carry it (JSONSchemaProps). The
 * getters make it recursive while z.infer still types it.
 */
export const JSONSchemaPropsSchema = z.object({
  id: z.string().optional(),
  $schema: z.string().optional(),
  $ref: z.string().optional(),
  description: z.string().optional(),
  type: z.string().optional(),
  format: z.string().optional(),
  title: z.string().optional(),
  default: JsonValueSchema.optional(),
  maximum: z.number().optional(),
  exclusiveMaximum: z.boolean().optional(),
  minimum: z.number().optional(),
  exclusiveMinimum: z.boolean().optional(),
  maxLength: z.number().int().optional(),
  minLength: z.number().int().optional(),
  pattern: z.string().optional(),
  maxItems: z.number().int().optional(),
  minItems: z.number().int().optional(),
  uniqueItems: z.boolean().optional(),
  multipleOf: z.number().optional(),
  enum: z.array(JsonValueSchema).optional(),
  maxProperties: z.number().int().optional(),
  minProperties: z.number().int().optional(),
  required: z.array(z.string()).optional(),
  get items(): z.ZodOptional<typeof JSONSchemaPropsSchema> {
    return JSONSchemaPropsSchema.optional();
  },
  get allOf(): z.ZodOptional<z.ZodArray<typeof JSONSchemaPropsSchema>> {
    return z.array(JSONSchemaPropsSchema).optional();
  },
  get oneOf(): z.ZodOptional<z.ZodArray<typeof JSONSchemaPropsSchema>> {
    return z.array(JSONSchemaPropsSchema).optional();
  },
  get anyOf(): z.ZodOptional<z.ZodArray<typeof JSONSchemaPropsSchema>> {
    return z.array(JSONSchemaPropsSchema).optional();
  },
  get not(): z.ZodOptional<typeof JSONSchemaPropsSchema> {
    return JSONSchemaPropsSchema.optional();
  },
  get properties(): z.ZodOptional<z.ZodRecord<z.ZodString, typeof JSONSchemaPropsSchema>> {
    return z.record(z.string(), JSONSchemaPropsSchema).optional();
  },
  get additionalProperties(): z.ZodOptional<z.ZodUnion<readonly [z.ZodBoolean, typeof JSONSchemaPropsSchema]>> {
    return z.union([z.boolean(), JSONSchemaPropsSchema]).optional();
  },
  nullable: z.boolean().optional(),
  example: JsonValueSchema.optional(),
  externalDocs: z.object({ description: z.string().optional(), url: z.string().optional() }).optional(),
  'x-kubernetes-preserve-unknown-fields': z.boolean().optional(),
  'x-kubernetes-embedded-resource': z.boolean().optional(),
  'x-kubernetes-int-or-string': z.boolean().optional(),
  'x-kubernetes-list-map-keys': z.array(z.string()).optional(),
  'x-kubernetes-list-type': z.enum(['atomic', 'set', 'map']).optional(),
  'x-kubernetes-map-type': z.enum(['atomic', 'granular']).optional(),
  'x-kubernetes-validations': z
    .array(z.object({ rule: z.string(), message: z.string().optional(), messageExpression: z.string().optional(), reason: z.string().optional(), fieldPath: z.string().optional(), optionalOldSelf: z.boolean().optional() }))
    .optional(),
});
export type JSONSchemaProps = z.infer<typeof JSONSchemaPropsSchema>;

export const CustomResourceDefinitionNamesSchema = z.object({
  plural: z.string().describe('The resource in URLs: /apis/<group>/<version>/<plural>; lowercase.'),
  singular: z.string().optional().describe('Lowercase; the lowercased kind when unset.'),
  kind: z.string().describe('The kind objects carry, CamelCase.'),
  listKind: z.string().optional().describe('<kind>List when unset.'),
  shortNames: z.array(z.string()).optional().describe('Short names kubectl accepts (`kubectl get wd`).'),
  categories: z.array(z.string()).optional().describe('Groups of resources this belongs to (`all`).'),
});
export type CustomResourceDefinitionNames = z.infer<typeof CustomResourceDefinitionNamesSchema>;

export const PRINTER_COLUMN_TYPES = ['integer', 'number', 'string', 'boolean', 'date'] as const;

export const CustomResourceColumnSchema = z.object({
  name: z.string(),
  type: z.string().describe('integer, number, string, boolean or date.'),
  format: z.string().optional(),
  description: z.string().optional(),
  priority: z.number().int().optional().describe('0: shown by `kubectl get`; more: only with -o wide.'),
  jsonPath: z.string().describe('A simple JSONPath into each object, from its root: `.spec.replicas`.'),
});
export type CustomResourceColumn = z.infer<typeof CustomResourceColumnSchema>;

export const CustomResourceScaleSchema = z.object({
  specReplicasPath: z.string(),
  statusReplicasPath: z.string(),
  labelSelectorPath: z.string().optional(),
});
export type CustomResourceScale = z.infer<typeof CustomResourceScaleSchema>;

export const CustomResourceDefinitionVersionSchema = z.object({
  name: z.string().describe('The version in URLs and apiVersion: v1, v1beta2.'),
  served: z.boolean().describe('Served through the API.'),
  storage: z.boolean().describe('The one version objects are stored in.'),
  deprecated: z.boolean().optional(),
  deprecationWarning: z.string().optional(),
  schema: z.object({ openAPIV3Schema: JSONSchemaPropsSchema.optional() }).optional(),
  subresources: z
    .object({
      status: z.object({}).optional().describe('When present, /status writes the status and other writes leave it.'),
      scale: CustomResourceScaleSchema.optional(),
    })
    .optional(),
  additionalPrinterColumns: z.array(CustomResourceColumnSchema).optional(),
  selectableFields: z.array(z.object({ jsonPath: z.string() })).optional(),
});
export type CustomResourceDefinitionVersion = z.infer<typeof CustomResourceDefinitionVersionSchema>;

export const CustomResourceDefinitionConditionSchema = z.object({
  type: z.string(),
  status: z.enum(['True', 'False', 'Unknown']),
  lastTransitionTime: z.string().optional(),
  reason: z.string().optional(),
  message: z.string().optional(),
});
export type CustomResourceDefinitionCondition = z.infer<typeof CustomResourceDefinitionConditionSchema>;

export const CustomResourceDefinitionSchema = z
  .object({
    apiVersion: z.literal('apiextensions.k8s.io/v1').default('apiextensions.k8s.io/v1'),
    kind: z.literal('CustomResourceDefinition').default('CustomResourceDefinition'),
    metadata: ObjectMetaSchema.prefault({}),
    spec: z.object({
      group: z.string().describe('The API group, a DNS subdomain with at least one dot.'),
      names: CustomResourceDefinitionNamesSchema,
      scope: z.enum(['Namespaced', 'Cluster']),
      versions: z.array(CustomResourceDefinitionVersionSchema),
      conversion: z
        .object({ strategy: z.string(), webhook: z.record(z.string(), z.unknown()).optional() })
        .optional()
        .describe('How objects move between versions; only None (apiVersion rewritten) is served.'),
      preserveUnknownFields: z.boolean().optional(),
    }),
    status: z
      .object({
        conditions: z.array(CustomResourceDefinitionConditionSchema).optional(),
        acceptedNames: CustomResourceDefinitionNamesSchema.partial().optional(),
        storedVersions: z.array(z.string()).optional(),
      })
      .optional(),
  })
  .describe('A kind added to the API: its group, names, scope, and the schema of each version.');
export type CustomResourceDefinition = z.infer<typeof CustomResourceDefinitionSchema>;

/** The condition of `type`, if set. */
export function crdCondition(crd: CustomResourceDefinition, type: string): CustomResourceDefinitionCondition | undefined {
  return crd.status?.conditions?.find((c) => c.type === type);
}

/** The version objects are stored in (validation ensures exactly one). */
export function storageVersion(crd: CustomResourceDefinition): CustomResourceDefinitionVersion | undefined {
  return crd.spec.versions.find((v) => v.storage);
}

const KIND = /^[A-Za-z][A-Za-z0-9]*$/;

function kindCauses(field: string, value: string): FieldCause[] {
  if (value === '') return [cause.required(field)];
  return KIND.test(value) ? [] : [cause.invalid(field, value, 'must start with a letter and hold only letters and digits (CamelCase)')];
}

function labelCauses(field: string, value: string): FieldCause[] {
  if (value === '') return [cause.required(field)];
  return dns1035LabelErrors(value).map((e) => cause.invalid(field, value, e));
}

function namesCauses(names: CustomResourceDefinitionNames, field: string): FieldCause[] {
  const out: FieldCause[] = [...labelCauses(`${field}.plural`, names.plural), ...kindCauses(`${field}.kind`, names.kind)];
  if (names.singular !== undefined && names.singular !== '') out.push(...labelCauses(`${field}.singular`, names.singular));
  if (names.listKind !== undefined && names.listKind !== '') {
    out.push(...kindCauses(`${field}.listKind`, names.listKind));
    if (names.listKind === names.kind) out.push(cause.invalid(`${field}.listKind`, names.listKind, 'kind and listKind may not be the same'));
  }
  (names.shortNames ?? []).forEach((s, i) => out.push(...labelCauses(`${field}.shortNames[${i}]`, s)));
  (names.categories ?? []).forEach((s, i) => out.push(...labelCauses(`${field}.categories[${i}]`, s)));
  return out;
}

/**
 * What makes a schema structural (Kubernetes' rules, the ones that matter for pruning and for
 * checking objects): a type at every level unless the level preserves or is int-or-string, no
 * $ref, items for arrays, properties or additionalProperties but not both, and no
 * `uniqueItems: true` or `additionalProperties: false`, which Kubernetes forbids too.
 */
function schemaCauses(s: JSONSchemaProps, field: string, out: FieldCause[], inJunctor = false): void {
  const preserve = s['x-kubernetes-preserve-unknown-fields'] === true;
  const intOrString = s['x-kubernetes-int-or-string'] === true;
  if (s.$ref !== undefined) out.push(cause.forbidden(`${field}.$ref`, '$ref is not supported'));
  if (!inJunctor) {
    if (s.type === undefined || s.type === '') {
      if (!preserve && !intOrString) out.push(cause.required(`${field}.type`, 'must not be empty for specified object fields'));
    } else if (!(JSON_TYPES as readonly string[]).includes(s.type)) {
      out.push(cause.notSupported(`${field}.type`, s.type, JSON_TYPES));
    }
  } else if (s.type !== undefined || s.default !== undefined || s.additionalProperties !== undefined) {
    out.push(cause.forbidden(field, 'type, default and additionalProperties must not be set inside allOf, anyOf, oneOf or not'));
  }
  if (intOrString && s.type !== undefined && s.type !== '') out.push(cause.invalid(`${field}.type`, s.type, 'must be empty for x-kubernetes-int-or-string'));
  if (s.type === 'array' && s.items === undefined && !inJunctor) out.push(cause.required(`${field}.items`, 'must be specified for arrays'));
  if (s.uniqueItems === true) out.push(cause.forbidden(`${field}.uniqueItems`, 'uniqueItems cannot be set to true since the runtime complexity becomes quadratic'));
  if (s.additionalProperties === false) out.push(cause.forbidden(`${field}.additionalProperties`, 'must not be false; unknown fields are pruned'));
  if (s.properties !== undefined && typeof s.additionalProperties === 'object') {
    out.push(cause.forbidden(`${field}.additionalProperties`, 'additionalProperties and properties are mutual exclusive'));
  }
  if (s.pattern !== undefined) {
    try {
      new RegExp(s.pattern, 'u');
    } catch (err) {
      out.push(cause.invalid(`${field}.pattern`, s.pattern, err instanceof Error ? err.message : 'not a regular expression'));
    }
  }
  if (s.type === 'array' && s['x-kubernetes-list-type'] === 'map' && (s['x-kubernetes-list-map-keys'] ?? []).length === 0) {
    out.push(cause.required(`${field}.x-kubernetes-list-map-keys`, 'must not be empty if x-kubernetes-list-type is map'));
  }
  for (const [k, child] of Object.entries(s.properties ?? {})) schemaCauses(child, `${field}.properties[${k}]`, out, inJunctor);
  if (typeof s.additionalProperties === 'object') schemaCauses(s.additionalProperties, `${field}.additionalProperties`, out, inJunctor);
  if (s.items !== undefined) schemaCauses(s.items, `${field}.items`, out, inJunctor);
  for (const junctor of ['allOf', 'anyOf', 'oneOf'] as const) (s[junctor] ?? []).forEach((c, i) => schemaCauses(c, `${field}.${junctor}[${i}]`, out, true));
  if (s.not !== undefined) schemaCauses(s.not, `${field}.not`, out, true);
}

function rootSchemaCauses(root: JSONSchemaProps, field: string): FieldCause[] {
  const out: FieldCause[] = [];
  if (root.type !== 'object') out.push(cause.invalid(`${field}.type`, root.type ?? '', 'must be object at the root'));
  // The object's metadata is always ObjectMeta; a schema may only say it is an object.
  const meta = root.properties?.['metadata'];
  if (meta !== undefined && (meta.properties !== undefined || meta.additionalProperties !== undefined)) {
    out.push(cause.forbidden(`${field}.properties[metadata]`, 'must not specify anything other than name and generateName, but metadata is implicitly specified'));
  }
  schemaCauses(root, field, out);
  return out;
}

function versionCauses(v: CustomResourceDefinitionVersion, field: string): FieldCause[] {
  const out = labelCauses(`${field}.name`, v.name);
  const root = v.schema?.openAPIV3Schema;
  if (root === undefined) out.push(cause.required(`${field}.schema.openAPIV3Schema`, 'schemas are required'));
  else out.push(...rootSchemaCauses(root, `${field}.schema.openAPIV3Schema`));
  (v.additionalPrinterColumns ?? []).forEach((c, i) => {
    const f = `${field}.additionalPrinterColumns[${i}]`;
    if (c.name === '') out.push(cause.required(`${f}.name`));
    if (!(PRINTER_COLUMN_TYPES as readonly string[]).includes(c.type)) out.push(cause.notSupported(`${f}.type`, c.type, PRINTER_COLUMN_TYPES));
    out.push(...jsonPathCauses(`${f}.jsonPath`, c.jsonPath));
  });
  (v.selectableFields ?? []).forEach((f, i) => out.push(...jsonPathCauses(`${field}.selectableFields[${i}].jsonPath`, f.jsonPath)));
  const scale = v.subresources?.scale;
  if (scale) {
    out.push(...jsonPathCauses(`${field}.subresources.scale.specReplicasPath`, scale.specReplicasPath));
    out.push(...jsonPathCauses(`${field}.subresources.scale.statusReplicasPath`, scale.statusReplicasPath));
    if (!scale.specReplicasPath.startsWith('.spec.')) out.push(cause.invalid(`${field}.subresources.scale.specReplicasPath`, scale.specReplicasPath, 'should be a json path under .spec'));
    if (!scale.statusReplicasPath.startsWith('.status.')) out.push(cause.invalid(`${field}.subresources.scale.statusReplicasPath`, scale.statusReplicasPath, 'should be a json path under .status'));
  }
  return out;
}

function jsonPathCauses(field: string, path: string): FieldCause[] {
  if (path === '') return [cause.required(field)];
  if (!path.startsWith('.')) return [cause.invalid(field, path, 'must be a simple json path starting with .')];
  try {
    new JsonPathTemplate(`{${path}}`);
    return [];
  } catch (err) {
    if (err instanceof JsonPathError) return [cause.invalid(field, path, err.message)];
    throw err;
  }
}

/** The semantic rules of a CustomResourceDefinition, one cause per bad field. */
export function customResourceDefinitionCauses(crd: CustomResourceDefinition): FieldCause[] {
  const spec = crd.spec;
  const out: FieldCause[] = [];
  if (spec.group === '') out.push(cause.required('spec.group'));
  else {
    out.push(...dns1123SubdomainErrors(spec.group).map((e) => cause.invalid('spec.group', spec.group, e)));
    if (!spec.group.includes('.')) out.push(cause.invalid('spec.group', spec.group, 'should be a domain with at least one dot'));
  }
  out.push(...namesCauses(spec.names, 'spec.names'));
  const want = `${spec.names.plural}.${spec.group}`;
  if (crd.metadata.name !== want) out.push(cause.invalid('metadata.name', crd.metadata.name ?? '', `must be spec.names.plural+"."+spec.group`));
  if (spec.versions.length === 0) out.push(cause.required('spec.versions', 'must have exactly one version marked as storage version'));
  const seen = new Set<string>();
  spec.versions.forEach((v, i) => {
    if (seen.has(v.name)) out.push(cause.duplicate(`spec.versions[${i}].name`, v.name));
    seen.add(v.name);
    out.push(...versionCauses(v, `spec.versions[${i}]`));
  });
  const storage = spec.versions.filter((v) => v.storage).length;
  if (spec.versions.length > 0 && storage !== 1) out.push(cause.invalid('spec.versions', storage, 'must have exactly one version marked as storage version'));
  if (spec.versions.length > 0 && !spec.versions.some((v) => v.served)) out.push(cause.invalid('spec.versions', 'none served', 'must have at least one served version'));
  const strategy = spec.conversion?.strategy ?? 'None';
  if (strategy !== 'None') out.push(cause.notSupported('spec.conversion.strategy', strategy, ['None']));
  if (spec.preserveUnknownFields === true) out.push(cause.invalid('spec.preserveUnknownFields', true, 'must be false in order to use defaults in the schema'));
  return out;
}
