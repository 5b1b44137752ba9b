// zod → OpenAPI schema definitions. The schemas that decode and validate request bodies are the one
// source: each served kind, its list, and the shared sub-schemas named in names.ts become
// definitions (JSON Schema in its OpenAPI 3.0 dialect, `$ref`s as `#/definitions/<name>`); v2.ts and
// v3.ts adapt them to their document's dialect. The *input* side of each schema is described — what a
// client may send — so defaulted fields are optional and quantities are strings or numbers.
import { z } from 'zod';
import { bindingKind, evictionKind, scaleKind, tokenRequestKind, type KindInfo, type ResourceInfo } from '../../shared/api/registry.js';
import { listSchemaOf, WatchEventSchema } from '../../shared/api/meta.js';
import { definitionName, META_NAMES, sharedSchemaNames } from './names.js';
import { listMergeStrategy } from '../http/patch.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** How a definition is referred to inside the generated set; the documents rewrite it as they need. */
export const DEFINITION_REF = '#/definitions/';

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export interface Definitions {
  /** Definition name → schema (OpenAPI 3.0 dialect). */
  readonly schemas: ReadonlyMap<string, JsonObject>;
  /** The definition name of a served kind or its list. */
  nameOf(gvk: GroupVersionKind): string;
}

export function isJsonObject(v: Json | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A parsed JSON value checked into the Json type (zod's generator output is plain JSON). */
function asJson(v: unknown): Json {
  if (v === null || typeof v === 'boolean' || typeof v === 'number' || typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map((item: unknown) => asJson(item));
  if (typeof v === 'object') {
    const out: JsonObject = {};
    for (const [k, item] of Object.entries(v)) out[k] = asJson(item);
    return out;
  }
  throw new TypeError(`not JSON: ${typeof v}`);
}

/**
 * The names to extract as definitions, layered over zod's global registry so the `.describe()`
 * texts of shared/api still reach the output (a custom metadata registry replaces the global one).
 */
class DefinitionNames extends z.core.$ZodRegistry<{ id?: string; description?: string }> {
  constructor(private readonly names: ReadonlyMap<z.core.$ZodType, string>) {
    super();
  }

  override get(schema: z.core.$ZodType): { id?: string; description?: string } | undefined {
    const described = z.globalRegistry.get(schema);
    const id = this.names.get(schema);
    if (id === undefined) return described;
    return { ...described, id };
  }
}

// Texts for the fields every object has (Kubernetes documents them on each kind).
const STANDARD_FIELDS: Record<string, string> = {
  apiVersion:
    'The versioned schema of this representation of an object: `v1` for the core group, `<group>/<version>` otherwise. ' +
    'The server fills it in on responses.',
  kind: 'The kind of object this is (CamelCase), naming the schema of the rest of the object. The server fills it in on responses.',
  metadata: "The object's name, namespace, labels, annotations and the bookkeeping the server keeps (uid, resourceVersion, timestamps).",
};

const LIST_FIELDS: Record<string, string> = {
  metadata: "The list's resourceVersion (to watch from) and, for a paged list, the token of the next page.",
  items: 'The objects, in key order.',
};

const SAFE_BOUND = Number.MAX_SAFE_INTEGER;

/** `properties` with `f` applied to each field's schema (its keys are field names, never keywords). */
export function eachSchema(properties: JsonObject, f: (schema: Json) => Json): JsonObject {
  const out: JsonObject = {};
  for (const [field, schema] of Object.entries(properties)) out[field] = f(schema);
  return out;
}

/** zod's JSON Schema trimmed to what OpenAPI documents carry, Kubernetes-style. */
function tidy(node: Json): Json {
  if (Array.isArray(node)) return node.map(tidy);
  if (!isJsonObject(node)) return node;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(node)) {
    // Field names, not keywords: each value is a schema.
    if (key === 'properties' && isJsonObject(value)) out[key] = eachSchema(value, tidy);
    // Data, not schemas: copied as they are.
    else if (key === 'enum' || key === 'default' || key === 'required' || key === 'examples') out[key] = value;
    // JSON Schema only: property names of a map are strings anyway; ids are carried by the name.
    else if (key === '$schema' || key === 'propertyNames' || key === 'id') continue;
    else out[key] = tidy(value);
  }
  // OpenAPI 3.0 ignores a $ref's siblings (a field's description, default): they go beside an allOf.
  if (typeof out.$ref === 'string' && Object.keys(out).length > 1) {
    const { $ref, ...rest } = out;
    return { ...rest, allOf: [{ $ref }] };
  }
  // The RFC 3339 regex zod writes is noise next to `format: date-time`.
  if (out.format === 'date-time') delete out.pattern;
  if (out.type === 'integer') {
    // zod's int() bounds are JavaScript's safe range, not a constraint of the API.
    if (out.minimum === -SAFE_BOUND) delete out.minimum;
    if (out.maximum === SAFE_BOUND) delete out.maximum;
    out.format ??= 'int64';
  }
  return out;
}

function gvkExtension(gvk: GroupVersionKind): Json {
  return [{ group: gvk.group, kind: gvk.kind, version: gvk.version }];
}

/** The fields of a list's items, inline or behind a definition reference. */
function itemFields(list: JsonObject, defs: JsonObject): Set<string> {
  let items = list.items;
  const ref = isJsonObject(items) && typeof items.$ref === 'string' ? items.$ref : undefined;
  if (ref !== undefined) items = defs[ref.slice(ref.lastIndexOf('/') + 1)];
  return new Set(isJsonObject(items) && isJsonObject(items.properties) ? Object.keys(items.properties) : []);
}

/** Strategic-merge-patch hints on a definition's list fields (only for groups that take SMP). */
function addMergeKeys(schema: JsonObject, defs: JsonObject): void {
  const props = schema.properties;
  if (!isJsonObject(props)) return;
  for (const [field, prop] of Object.entries(props)) {
    // The server's own patch table (apiserver/http/patch.ts): kubectl builds its patches from these hints.
    const strategy = isJsonObject(prop) && prop.type === 'array' ? listMergeStrategy(field, (k) => itemFields(prop, defs).has(k)) : undefined;
    if (strategy === undefined || !isJsonObject(prop)) continue;
    if (strategy !== 'set') prop['x-kubernetes-patch-merge-key'] = strategy.mergeKey;
    prop['x-kubernetes-patch-strategy'] = 'merge';
  }
}

function describeFields(schema: JsonObject, texts: Record<string, string>): void {
  const props = schema.properties;
  if (!isJsonObject(props)) return;
  for (const [field, text] of Object.entries(texts)) {
    const prop = props[field];
    if (isJsonObject(prop) && prop.description === undefined) prop.description = text;
  }
}

/** Whether kube-apiserver takes strategic merge patches for a group: its built-in groups do, custom ones do not. */
export function takesStrategicMergePatch(group: string): boolean {
  return group === '' || !group.includes('.') || group.endsWith('.k8s.io');
}

/** Generates the definitions for the served resources (plus Binding, Status, DeleteOptions, WatchEvent). */
export function buildDefinitions(resources: readonly ResourceInfo[]): Definitions {
  const names = sharedSchemaNames();
  // Create-only kinds (Placement, the access reviews) are never listed, so they have no list type.
  const kinds: { info: KindInfo; list?: string }[] = [
    ...resources.map((r) => (r.verbs.includes('list') ? { info: r, list: r.listKind } : { info: r })),
    { info: bindingKind },
    { info: evictionKind },
    { info: scaleKind },
    { info: tokenRequestKind },
  ];
  const roots: Record<string, z.core.$ZodType> = {};
  const gvkOf = new Map<string, GroupVersionKind>();
  const listNames = new Set<string>();
  for (const { info, list } of kinds) {
    const name = definitionName(info.group, info.version, info.kind);
    names.set(info.schema, name);
    roots[name] = info.schema;
    gvkOf.set(name, { group: info.group, version: info.version, kind: info.kind });
    if (list !== undefined) {
      const listName = definitionName(info.group, info.version, list);
      const listSchema = listSchemaOf(info.schema);
      names.set(listSchema, listName);
      roots[listName] = listSchema;
      gvkOf.set(listName, { group: info.group, version: info.version, kind: list });
      listNames.add(listName);
    }
  }
  names.set(WatchEventSchema, META_NAMES.watchEvent);
  roots[META_NAMES.watchEvent] = WatchEventSchema;
  for (const [schema, name] of names) {
    if (name === META_NAMES.status || name === META_NAMES.deleteOptions) roots[name] = schema;
  }

  // One conversion for everything, so each shared sub-schema is converted once and referenced by all.
  const generated = z.toJSONSchema(z.object(roots), {
    metadata: new DefinitionNames(names),
    target: 'openapi-3.0',
    io: 'input',
    // Refinements and transforms have no JSON Schema form; their input side is what is described.
    unrepresentable: 'any',
  });
  const all = asJson(generated);
  const defs = isJsonObject(all) ? all.definitions : undefined;
  if (!isJsonObject(defs)) throw new Error('zod produced no definitions');

  const schemas = new Map<string, JsonObject>();
  for (const name of [...Object.keys(defs)].sort()) {
    const schema = tidy(defs[name]!);
    if (!isJsonObject(schema)) throw new Error(`definition ${name} is not a schema`);
    const gvk = gvkOf.get(name);
    if (gvk !== undefined) {
      schema['x-kubernetes-group-version-kind'] = gvkExtension(gvk);
      describeFields(schema, listNames.has(name) ? { ...STANDARD_FIELDS, ...LIST_FIELDS } : STANDARD_FIELDS);
    }
    // Kubernetes' own types (io.k8s.*) are the ones patched with strategic merge patch.
    if (name.startsWith('io.k8s.')) addMergeKeys(schema, defs);
    schemas.set(name, schema);
  }
  // A patch body is any JSON document whose meaning the Content-Type gives; it has no zod schema.
  schemas.set(META_NAMES.patch, {
    type: 'object',
    description: 'A patch: a JSON merge patch, a JSON patch (RFC 6902) or a strategic merge patch, as the Content-Type says.',
  });

  const byGvk = new Map<string, string>();
  for (const [name, gvk] of gvkOf) byGvk.set(`${gvk.group}/${gvk.version}/${gvk.kind}`, name);
  return {
    schemas,
    nameOf(gvk) {
      const name = byGvk.get(`${gvk.group}/${gvk.version}/${gvk.kind}`);
      if (name === undefined) throw new Error(`no definition for ${gvk.kind} in ${gvk.group}/${gvk.version}`);
      return name;
    },
  };
}

/** Every definition name a schema refers to, directly. */
export function refsOf(node: Json, into: Set<string> = new Set()): Set<string> {
  if (Array.isArray(node)) {
    for (const item of node) refsOf(item, into);
  } else if (isJsonObject(node)) {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string' && value.startsWith(DEFINITION_REF)) into.add(value.slice(DEFINITION_REF.length));
      else if (key === 'properties' && isJsonObject(value)) for (const field of Object.values(value)) refsOf(field, into);
      else if (key !== 'enum' && key !== 'default') refsOf(value, into);
    }
  }
  return into;
}

/** `names` and every definition they reach through `$ref`s. */
export function closure(defs: Definitions, names: Iterable<string>): Set<string> {
  const seen = new Set<string>();
  const queue = [...names];
  while (queue.length > 0) {
    const name = queue.pop()!;
    if (seen.has(name)) continue;
    seen.add(name);
    const schema = defs.schemas.get(name);
    if (schema !== undefined) for (const ref of refsOf(schema)) queue.push(ref);
  }
  return seen;
}

/** A deep copy with every definition `$ref` rewritten for a document (`#/components/schemas/` in v3). */
export function rewriteRefs(node: Json, prefix: string): Json {
  if (Array.isArray(node)) return node.map((item) => rewriteRefs(item, prefix));
  if (!isJsonObject(node)) return node;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === '$ref' && typeof value === 'string' && value.startsWith(DEFINITION_REF)) out[key] = prefix + value.slice(DEFINITION_REF.length);
    else if (key === 'properties' && isJsonObject(value)) out[key] = eachSchema(value, (field) => rewriteRefs(field, prefix));
    else if (key === 'enum' || key === 'default') out[key] = value;
    else out[key] = rewriteRefs(value, prefix);
  }
  return out;
}
