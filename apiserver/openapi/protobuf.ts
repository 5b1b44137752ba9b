// The Swagger 2.0 document in gnostic's protobuf form (`openapi.v2.Document`), which is the only form
// kubectl accepts from /openapi/v2 (it asks with `Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf`
// and has no JSON fallback). Only the messages and fields the document uses are declared; names
// are this module's own, field numbers and types are gnostic's wire format. Vendor extensions,
// enums and the like travel as YAML text (JSON is YAML), as gnostic carries them.
import protobuf from 'protobufjs';
import { isJsonObject, type Json, type JsonObject } from './schema.js';

export const PROTOBUF_V2_MEDIA_TYPE = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';

type FieldSpec = { type: string; id: number; rule?: 'repeated' };
const str = (id: number): FieldSpec => ({ type: 'string', id });
const strs = (id: number): FieldSpec => ({ type: 'string', id, rule: 'repeated' });
const msg = (type: string, id: number): FieldSpec => ({ type, id });
const msgs = (type: string, id: number): FieldSpec => ({ type, id, rule: 'repeated' });
const bool = (id: number): FieldSpec => ({ type: 'bool', id });
const num = (id: number): FieldSpec => ({ type: 'double', id });

const MESSAGES: Record<string, Record<string, FieldSpec>> = {
  Document: {
    swagger: str(1),
    info: msg('Info', 2),
    paths: msg('Paths', 8),
    definitions: msg('Definitions', 9),
    security: msgs('SecurityRequirement', 12),
    securityDefinitions: msg('SecurityDefinitions', 13),
  },
  Info: { title: str(1), version: str(2), description: str(3) },
  Paths: { vendorExtension: msgs('NamedAny', 1), path: msgs('NamedPathItem', 2) },
  NamedPathItem: { name: str(1), value: msg('PathItem', 2) },
  PathItem: {
    get: msg('Operation', 2),
    put: msg('Operation', 3),
    post: msg('Operation', 4),
    delete: msg('Operation', 5),
    patch: msg('Operation', 8),
    parameters: msgs('ParametersItem', 9),
  },
  Operation: {
    tags: strs(1),
    description: str(3),
    operationId: str(5),
    produces: strs(6),
    consumes: strs(7),
    parameters: msgs('ParametersItem', 8),
    responses: msg('Responses', 9),
    schemes: strs(10),
    vendorExtension: msgs('NamedAny', 13),
  },
  // gnostic's oneofs (ParametersItem, Parameter, NonBodyParameter, ...) are plain optional fields
  // here: on the wire a oneof member is just a field, and exactly one is set.
  ParametersItem: { parameter: msg('Parameter', 1) },
  Parameter: { bodyParameter: msg('BodyParameter', 1), nonBodyParameter: msg('NonBodyParameter', 2) },
  BodyParameter: { description: str(1), name: str(2), in: str(3), required: bool(4), schema: msg('Schema', 5) },
  NonBodyParameter: { queryParameterSubSchema: msg('QueryParameterSubSchema', 3), pathParameterSubSchema: msg('PathParameterSubSchema', 4) },
  QueryParameterSubSchema: { required: bool(1), in: str(2), description: str(3), name: str(4), type: str(6), uniqueItems: bool(20) },
  PathParameterSubSchema: { required: bool(1), in: str(2), description: str(3), name: str(4), type: str(5), uniqueItems: bool(19) },
  Responses: { responseCode: msgs('NamedResponseValue', 1) },
  NamedResponseValue: { name: str(1), value: msg('ResponseValue', 2) },
  ResponseValue: { response: msg('Response', 1) },
  Response: { description: str(1), schema: msg('SchemaItem', 2) },
  SchemaItem: { schema: msg('Schema', 1) },
  Definitions: { additionalProperties: msgs('NamedSchema', 1) },
  Properties: { additionalProperties: msgs('NamedSchema', 1) },
  NamedSchema: { name: str(1), value: msg('Schema', 2) },
  Schema: {
    ref: str(1),
    format: str(2),
    title: str(3),
    description: str(4),
    maximum: num(7),
    minimum: num(9),
    required: strs(19),
    enum: msgs('Any', 20),
    additionalProperties: msg('AdditionalPropertiesItem', 21),
    type: msg('TypeItem', 22),
    items: msg('ItemsItem', 23),
    allOf: msgs('Schema', 24),
    properties: msg('Properties', 25),
    readOnly: bool(27),
    vendorExtension: msgs('NamedAny', 31),
  },
  AdditionalPropertiesItem: { schema: msg('Schema', 1), boolean: bool(2) },
  TypeItem: { value: strs(1) },
  ItemsItem: { schema: msgs('Schema', 1) },
  Any: { yaml: str(2) },
  NamedAny: { name: str(1), value: msg('Any', 2) },
  SecurityRequirement: { additionalProperties: msgs('NamedStringArray', 1) },
  NamedStringArray: { name: str(1), value: msg('StringArray', 2) },
  StringArray: { value: strs(1) },
  SecurityDefinitions: { additionalProperties: msgs('NamedSecurityDefinitionsItem', 1) },
  NamedSecurityDefinitionsItem: { name: str(1), value: msg('SecurityDefinitionsItem', 2) },
  SecurityDefinitionsItem: { apiKeySecurity: msg('ApiKeySecurity', 2) },
  ApiKeySecurity: { type: str(1), name: str(2), in: str(3), description: str(4) },
};

let documentType: protobuf.Type | undefined;

/** The reflected `openapi.v2.Document` type (built once). */
export function gnosticDocumentType(): protobuf.Type {
  if (documentType === undefined) {
    const nested: Record<string, { fields: Record<string, FieldSpec> }> = {};
    for (const [name, fields] of Object.entries(MESSAGES)) nested[name] = { fields };
    const root = protobuf.Root.fromJSON({ nested: { openapi: { nested: { v2: { nested } } } } });
    documentType = root.lookupType('openapi.v2.Document');
  }
  return documentType;
}

// ---------------------------------------------------------------------------------------------
// Swagger JSON → gnostic message (plain objects the reflected types encode)

type Message = { [field: string]: unknown };

const yamlAny = (value: Json): Message => ({ yaml: JSON.stringify(value) });

function vendorExtensions(node: JsonObject): Message[] {
  return Object.entries(node)
    .filter(([key]) => key.startsWith('x-'))
    .map(([name, value]) => ({ name, value: yamlAny(value) }));
}

const text = (v: Json | undefined): string | undefined => (typeof v === 'string' ? v : undefined);
const strings = (v: Json | undefined): string[] | undefined => (Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : undefined);

/** Drops unset members, so only what the document has goes on the wire. */
function compact(m: Message): Message {
  const out: Message = {};
  for (const [k, v] of Object.entries(m)) {
    if (v === undefined) continue;
    if (Array.isArray(v) && v.length === 0) continue;
    out[k] = v;
  }
  return out;
}

function namedSchemas(map: Json | undefined): Message[] {
  if (!isJsonObject(map)) return [];
  return Object.entries(map).map(([name, value]) => ({ name, value: schema(value) }));
}

function schema(node: Json): Message {
  if (!isJsonObject(node)) return {};
  const type = text(node.type);
  const additional = node.additionalProperties;
  const items = node.items;
  return compact({
    ref: text(node.$ref),
    format: text(node.format),
    title: text(node.title),
    description: text(node.description),
    maximum: typeof node.maximum === 'number' ? node.maximum : undefined,
    minimum: typeof node.minimum === 'number' ? node.minimum : undefined,
    required: strings(node.required),
    enum: Array.isArray(node.enum) ? node.enum.map(yamlAny) : undefined,
    additionalProperties:
      typeof additional === 'boolean' ? { boolean: additional } : isJsonObject(additional) ? { schema: schema(additional) } : undefined,
    type: type !== undefined ? { value: [type] } : undefined,
    items: isJsonObject(items) ? { schema: [schema(items)] } : undefined,
    allOf: Array.isArray(node.allOf) ? node.allOf.map(schema) : undefined,
    properties: isJsonObject(node.properties) ? { additionalProperties: namedSchemas(node.properties) } : undefined,
    readOnly: node.readOnly === true ? true : undefined,
    vendorExtension: vendorExtensions(node),
  });
}

function parameter(node: Json): Message {
  if (!isJsonObject(node)) return {};
  const common = { required: node.required === true ? true : undefined, in: text(node.in), description: text(node.description), name: text(node.name) };
  if (node.in === 'body') {
    return { parameter: { bodyParameter: compact({ ...common, schema: schema(node.schema ?? {}) }) } };
  }
  const sub = compact({ ...common, type: text(node.type), uniqueItems: node.uniqueItems === true ? true : undefined });
  const nonBody = node.in === 'path' ? { pathParameterSubSchema: sub } : { queryParameterSubSchema: sub };
  return { parameter: { nonBodyParameter: nonBody } };
}

function operation(node: Json): Message | undefined {
  if (!isJsonObject(node)) return undefined;
  const responses = isJsonObject(node.responses) ? node.responses : {};
  return compact({
    tags: strings(node.tags),
    description: text(node.description),
    operationId: text(node.operationId),
    produces: strings(node.produces),
    consumes: strings(node.consumes),
    parameters: Array.isArray(node.parameters) ? node.parameters.map(parameter) : undefined,
    responses: {
      responseCode: Object.entries(responses).map(([code, r]) => ({
        name: code,
        value: {
          response: compact({
            description: isJsonObject(r) ? text(r.description) : undefined,
            schema: isJsonObject(r) && isJsonObject(r.schema) ? { schema: schema(r.schema) } : undefined,
          }),
        },
      })),
    },
    schemes: strings(node.schemes),
    vendorExtension: vendorExtensions(node),
  });
}

function pathItem(node: Json): Message {
  if (!isJsonObject(node)) return {};
  return compact({
    get: operation(node.get ?? null),
    put: operation(node.put ?? null),
    post: operation(node.post ?? null),
    delete: operation(node.delete ?? null),
    patch: operation(node.patch ?? null),
    parameters: Array.isArray(node.parameters) ? node.parameters.map(parameter) : undefined,
  });
}

/** The gnostic message for a Swagger 2.0 document. */
export function gnosticDocument(doc: JsonObject): Message {
  const info = isJsonObject(doc.info) ? doc.info : {};
  const paths = isJsonObject(doc.paths) ? doc.paths : {};
  const securityDefinitions = isJsonObject(doc.securityDefinitions) ? doc.securityDefinitions : {};
  return compact({
    swagger: text(doc.swagger),
    info: compact({ title: text(info.title), version: text(info.version), description: text(info.description) }),
    paths: { path: Object.entries(paths).map(([name, item]) => ({ name, value: pathItem(item) })) },
    definitions: { additionalProperties: namedSchemas(doc.definitions) },
    security: Array.isArray(doc.security)
      ? doc.security.filter(isJsonObject).map((req) => ({
          additionalProperties: Object.entries(req).map(([name, scopes]) => ({ name, value: { value: strings(scopes) ?? [] } })),
        }))
      : undefined,
    securityDefinitions: {
      additionalProperties: Object.entries(securityDefinitions).map(([name, def]) => ({
        name,
        value: {
          apiKeySecurity: isJsonObject(def)
            ? compact({ type: text(def.type), name: text(def.name), in: text(def.in), description: text(def.description) })
            : {},
        },
      })),
    },
  });
}

/** The document's protobuf bytes, as kubectl decodes them. */
export function encodeSwagger(doc: JsonObject): Uint8Array {
  return gnosticDocumentType().encode(gnosticDocument(doc)).finish();
}
