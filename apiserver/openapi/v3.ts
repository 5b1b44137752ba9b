// OpenAPI 3.0 documents, one per group/version as kube-apiserver serves them at
// /openapi/v3/api/v1 and /openapi/v3/apis/<group>/<version>, plus the index at /openapi/v3 that
// lists them with a content hash (clients cache a document by that URL). kubectl explain renders
// from these, and kubectl apply looks here for the PATCH operation that takes `fieldValidation`.
import { closure, rewriteRefs, type Definitions, type JsonObject } from './schema.js';
import type { GroupVersionPaths, Operation, Parameter, PathItem } from './operations.js';

const REF = '#/components/schemas/';

function parameter(p: Parameter): JsonObject {
  return {
    name: p.name,
    in: p.in,
    description: p.description,
    ...(p.required ? { required: true } : {}),
    schema: { type: p.type, uniqueItems: true },
  };
}

function content(types: readonly string[], definition: string): JsonObject {
  const schema: JsonObject = definition === 'string' ? { type: 'string' } : { $ref: REF + definition };
  const out: JsonObject = {};
  for (const t of types) out[t] = { schema };
  return out;
}

function operation(op: Operation): JsonObject {
  const responses: JsonObject = {};
  for (const r of op.responses) responses[r.code] = { description: r.description, content: content(op.produces, r.definition) };
  responses['401'] = { description: 'Unauthorized' };
  return {
    tags: [op.tag],
    description: op.description,
    operationId: op.operationId,
    ...(op.parameters.length > 0 ? { parameters: op.parameters.map(parameter) } : {}),
    ...(op.body ? { requestBody: { content: content(op.body.contentTypes, op.body.definition), required: op.body.required } } : {}),
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

/** Definitions the operations of a group/version refer to. */
function usedDefinitions(gv: GroupVersionPaths): Set<string> {
  const names = new Set<string>();
  for (const item of gv.paths) {
    for (const op of item.operations) {
      if (op.body) names.add(op.body.definition);
      for (const r of op.responses) if (r.definition !== 'string') names.add(r.definition);
    }
  }
  return names;
}

/** The OpenAPI 3.0 document of one group/version. */
export function groupVersionDocument(gv: GroupVersionPaths, defs: Definitions, serverVersion: string): JsonObject {
  const paths: JsonObject = {};
  for (const item of gv.paths) paths[item.path] = pathItem(item);
  const schemas: JsonObject = {};
  for (const name of [...closure(defs, usedDefinitions(gv))].sort()) {
    const schema = defs.schemas.get(name);
    if (schema !== undefined) schemas[name] = rewriteRefs(schema, REF);
  }
  return {
    openapi: '3.0.0',
    info: { title: 'cell', version: serverVersion },
    paths,
    components: {
      schemas,
      securitySchemes: {
        BearerToken: { type: 'apiKey', description: 'Bearer Token authentication', name: 'authorization', in: 'header' },
      },
    },
    security: [{ BearerToken: [] }],
  };
}
