// The Swagger 2.0 document at /openapi/v2: every group/version in one document. kubectl downloads
// it (as protobuf, see protobuf.ts) before every `apply` and `create` that validates, to find each
// kind's schema by `x-kubernetes-group-version-kind`, and validates client-side with it for kinds
// whose PATCH operation does not take `fieldValidation` (here: the create-only kinds).
import { eachSchema, isJsonObject, type Definitions, type Json, type JsonObject } from './schema.js';
import type { GroupVersionPaths, Operation, Parameter, PathItem } from './operations.js';

const PRIMITIVES = new Set(['string', 'number', 'integer', 'boolean']);

/** A union of primitives that includes string (a quantity: "500m" or 2), which Swagger 2.0 cannot say. */
function primitiveUnionWithString(members: Json | undefined): boolean {
  if (!Array.isArray(members) || members.length === 0) return false;
  const types = members.map((m) => (isJsonObject(m) && typeof m.type === 'string' && Object.keys(m).length === 1 ? m.type : ''));
  return types.every((t) => PRIMITIVES.has(t)) && types.includes('string');
}

/**
 * A definition in Swagger 2.0's schema dialect. Swagger 2.0 has no anyOf/oneOf: a union of
 * primitives that includes string is written as a string (as Kubernetes writes Quantity), any other
 * union as "any value". A `$ref` takes siblings directly instead of through allOf. Defaults are left
 * out: kubectl's v2 reader gains nothing from them, and v3 carries them.
 */
export function toV2Schema(node: Json): Json {
  if (Array.isArray(node)) return node.map(toV2Schema);
  if (!isJsonObject(node)) return node;
  if (node.type === undefined && (primitiveUnionWithString(node.anyOf) || primitiveUnionWithString(node.oneOf))) {
    const { anyOf: _any, oneOf: _one, ...rest } = node;
    return toV2Schema({ ...rest, type: 'string' });
  }
  const allOf = node.allOf;
  if (Array.isArray(allOf) && allOf.length === 1 && isJsonObject(allOf[0]) && typeof allOf[0].$ref === 'string') {
    const { allOf: _wrapped, default: _default, ...rest } = node;
    return toV2Schema({ ...rest, $ref: allOf[0].$ref });
  }
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'properties' && isJsonObject(value)) out[key] = eachSchema(value, toV2Schema);
    else if (key === 'anyOf' || key === 'oneOf' || key === 'default' || key === 'nullable') continue;
    else if (key === 'enum' || key === 'required') out[key] = value;
    else out[key] = toV2Schema(value);
  }
  return out;
}

function parameter(p: Parameter): JsonObject {
  return { name: p.name, in: p.in, description: p.description, ...(p.required ? { required: true } : {}), type: p.type, uniqueItems: true };
}

function schemaOf(definition: string): JsonObject {
  return definition === 'string' ? { type: 'string' } : { $ref: `#/definitions/${definition}` };
}

function operation(op: Operation): JsonObject {
  const parameters: Json[] = [];
  if (op.body) parameters.push({ name: 'body', in: 'body', required: op.body.required, schema: schemaOf(op.body.definition) });
  parameters.push(...op.parameters.map(parameter));
  const responses: JsonObject = {};
  for (const r of op.responses) responses[r.code] = { description: r.description, schema: schemaOf(r.definition) };
  responses['401'] = { description: 'Unauthorized' };
  return {
    description: op.description,
    consumes: op.body ? op.body.contentTypes : ['*/*'],
    produces: op.produces,
    schemes: ['https'],
    tags: [op.tag],
    operationId: op.operationId,
    ...(parameters.length > 0 ? { parameters } : {}),
    responses,
    'x-kubernetes-action': op.action,
    'x-kubernetes-group-version-kind': { group: op.gvk.group, version: op.gvk.version, kind: op.gvk.kind },
  };
}

function pathItem(item: PathItem): JsonObject {
  const out: JsonObject = {};
  for (const op of item.operations) out[op.method] = operation(op);
  out.parameters = item.parameters.map(parameter);
  return out;
}

export function swaggerDocument(gvs: readonly GroupVersionPaths[], defs: Definitions, serverVersion: string): JsonObject {
  const paths: JsonObject = {};
  for (const gv of gvs) for (const item of gv.paths) paths[item.path] = pathItem(item);
  const definitions: JsonObject = {};
  for (const [name, schema] of defs.schemas) definitions[name] = toV2Schema(schema);
  return {
    swagger: '2.0',
    info: { title: 'cell', version: serverVersion },
    paths,
    definitions,
    securityDefinitions: {
      BearerToken: { type: 'apiKey', description: 'Bearer Token authentication', name: 'authorization', in: 'header' },
    },
    security: [{ BearerToken: [] }],
  };
}
