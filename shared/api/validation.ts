// Decoding a client's object: type-meta checks, zod parse with defaulting, zod issues turned into
// Kubernetes field causes, then the semantic rules of the kind. Also the unknown-field report for
// `fieldValidation=Strict` and DeleteOptions validation.
import { z } from 'zod';
import { BadRequestError, type FieldCause } from '../errors.js';
import { qualifiedNameErrors } from '../names.js';
import { cause, childPath, formatPath, invalidObjectError } from './field-errors.js';
import { DeleteOptionsSchema, ObjectMetaSchema, type DeleteOptions, type KubeObject } from './meta.js';
import type { KindInfo } from './registry.js';
import { objectMetaCauses } from './rules.js';

type JsonObject = Record<string, unknown>;

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `obj[key] = value` as an own data property: for `__proto__`, assignment would set the prototype. */
function setOwn(obj: JsonObject, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
  else obj[key] = value;
}

/**
 * Object members set to null removed, recursively. Go clients send `creationTimestamp: null` and
 * the like; Kubernetes decodes null as "unset", and so does this. Subtrees without a null member
 * are returned as they are (most bodies have none): only the path to a null is copied.
 */
export function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      const w = withoutNulls(v);
      if (w !== v && out === undefined) out = value.slice(0, i);
      out?.push(w);
    }
    return out ?? value;
  }
  if (!isObject(value)) return value;
  let out: JsonObject | undefined;
  const keys = Object.keys(value);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const v = value[k];
    const w = v === null ? undefined : withoutNulls(v);
    if (w !== v && out === undefined) {
      out = {};
      for (let j = 0; j < i; j++) setOwn(out, keys[j]!, value[keys[j]!]);
    }
    if (out !== undefined && w !== undefined) setOwn(out, k, w);
  }
  return out ?? value;
}

/** 400 when the body names another apiVersion or kind than the resource it was sent to. */
export function checkTypeMeta(info: KindInfo, raw: unknown): void {
  if (!isObject(raw)) {
    throw new BadRequestError(`the body must be a JSON object (a ${info.kind}), not ${Array.isArray(raw) ? 'an array' : raw === null ? 'null' : typeof raw}`);
  }
  const { apiVersion, kind } = raw;
  if (apiVersion !== undefined && apiVersion !== null && apiVersion !== info.apiVersion) {
    throw new BadRequestError(
      `the API version in the data (${String(apiVersion)}) does not match the expected API version (${info.apiVersion})`,
    );
  }
  if (kind !== undefined && kind !== null && kind !== info.kind) {
    throw new BadRequestError(`the kind in the data (${String(kind)}) does not match the expected kind (${info.kind})`);
  }
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let cur = root;
  for (const seg of path) {
    if (Array.isArray(cur) && typeof seg === 'number') cur = cur[seg];
    else if (isObject(cur) && typeof seg === 'string') cur = cur[seg];
    else return undefined;
  }
  return cur;
}

const REASONS = new Set(['FieldValueRequired', 'FieldValueInvalid', 'FieldValueNotSupported', 'FieldValueDuplicate', 'FieldValueTypeInvalid', 'FieldValueForbidden', 'FieldValueTooLong']);

/** One zod issue as a Kubernetes field cause. */
function issueToCause(issue: z.core.$ZodIssue, body: unknown): FieldCause {
  // Schemas here are keyed by strings and indexes only; a symbol cannot come from JSON.
  const path = issue.path.filter((seg): seg is string | number => typeof seg !== 'symbol');
  const field = formatPath(path);
  const value = valueAt(body, path);
  // A missing field fails as a type, enum or union mismatch in zod; Kubernetes calls it Required.
  const typed = issue.code === 'invalid_type' || issue.code === 'invalid_value' || issue.code === 'invalid_union';
  if (typed && value === undefined) return cause.required(field);
  switch (issue.code) {
    case 'invalid_type':
      // zod's `int` is Kubernetes' (and OpenAPI's) `integer`.
      return cause.typeInvalid(field, value, `must be of type ${issue.expected === 'int' ? 'integer' : issue.expected}`);
    case 'invalid_value':
      // Enums and literals: the allowed values, as Kubernetes lists them for NotSupported.
      return cause.notSupported(field, value, issue.values.map(String));
    case 'invalid_union':
      // Only quantities are unions here (string or number).
      return cause.typeInvalid(field, value, 'must be a string or a number');
    case 'invalid_format':
      return cause.invalid(field, value, issue.format === 'datetime' ? 'must be an RFC 3339 timestamp' : issue.message);
    case 'custom': {
      // Schemas that add custom issues name the Kubernetes reason in params.
      const reason: unknown = issue.params?.['reason'];
      const c = cause.invalid(field, value, issue.message);
      return typeof reason === 'string' && REASONS.has(reason) ? { ...c, reason } : c;
    }
    default:
      return cause.invalid(field, value, issue.message);
  }
}

/** The name to put in "Pod "web" is invalid", read defensively from a body that failed to parse. */
function nameIn(body: unknown): string {
  const meta = isObject(body) ? body['metadata'] : undefined;
  const name = isObject(meta) ? meta['name'] : undefined;
  return typeof name === 'string' ? name : '';
}

/** The key JavaScript objects treat as their prototype, not as data. */
const PROTO_KEY = '__proto__';

/** Whether `value` holds an own `__proto__` key anywhere (cheap: no schema, stops at the first). */
function hasProtoKey(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) {
    for (const v of value) if (hasProtoKey(v)) return true;
    return false;
  }
  if (Object.hasOwn(value, PROTO_KEY)) return true;
  for (const k in value) if (hasProtoKey((value as JsonObject)[k])) return true;
  return false;
}

/**
 * Causes for `__proto__` keys anywhere in a body. JSON.parse keeps such a key as plain data, but
 * zod drops it from maps (a label `__proto__` would vanish) and ignores it in structs, and any
 * code that copies the body by assignment would turn it into the copy's prototype. No Kubernetes
 * field or map key can be `__proto__` (map keys are qualified names), so it is refused by name:
 * as an invalid key on the map's path (as Kubernetes reports a bad label key), or as a forbidden
 * field. `schema` tells maps from structs; it is undefined inside values the schema does not
 * describe (unknown fields, z.unknown()), which are searched all the same.
 */
function protoKeyCauses(schema: z.core.$ZodType | undefined, value: unknown, path: (string | number)[], out: FieldCause[]): void {
  if (Array.isArray(value)) {
    const s = schema === undefined ? undefined : unwrap(schema);
    const element = s instanceof z.ZodArray ? s.element : undefined;
    for (let i = 0; i < value.length; i++) {
      path.push(i);
      protoKeyCauses(element, value[i], path, out);
      path.pop();
    }
    return;
  }
  if (!isObject(value)) return;
  const s = schema === undefined ? undefined : unwrap(schema);
  const shape: Record<string, z.core.$ZodType> | undefined = s instanceof z.ZodObject ? s.shape : undefined;
  const record = s instanceof z.ZodRecord ? s : undefined;
  for (const key of Object.keys(value)) {
    if (key === PROTO_KEY) {
      if (record) out.push(cause.invalid(formatPath(path), key, qualifiedNameErrors(key).join('; ')));
      else out.push(cause.forbidden(formatPath([...path, key]), `"${key}" is not a field of this object`));
      continue;
    }
    const child = record ? record.valueType : shape !== undefined && Object.hasOwn(shape, key) ? shape[key] : undefined;
    path.push(key);
    protoKeyCauses(child, value[key], path, out);
    path.pop();
  }
}

/**
 * Decode, default and validate a client's object for `info`. Throws BadRequestError (400) for a
 * body that is not an object or names another apiVersion/kind, InvalidError (422) with one cause
 * per bad field otherwise. Namespace and name from the request path are the caller's to apply.
 */
export function validateObject<T extends KubeObject>(info: KindInfo<T>, raw: unknown): T {
  checkTypeMeta(info, raw);
  const body = withoutNulls(raw);
  const subject = { kind: info.kind, group: info.group, name: nameIn(body) };
  // The schema-aware search names the field; the plain one (no such key, nearly always) is cheap.
  if (hasProtoKey(body)) {
    const protoCauses: FieldCause[] = [];
    protoKeyCauses(info.schema, body, [], protoCauses);
    if (protoCauses.length > 0) throw invalidObjectError(subject, protoCauses);
  }
  const parsed = info.schema.safeParse(body);
  if (!parsed.success) {
    const causes = parsed.error.issues.map((i) => issueToCause(i, body));
    // Report bad names and labels alongside, as Kubernetes would, when the metadata itself decodes.
    const meta = ObjectMetaSchema.safeParse(isObject(body) ? (body['metadata'] ?? {}) : {});
    if (meta.success) causes.push(...objectMetaCauses(meta.data, info));
    throw invalidObjectError(subject, causes);
  }
  const obj = parsed.data;
  // A cluster-scoped object has no namespace; Kubernetes clears one sent by mistake.
  if (!info.namespaced) delete obj.metadata.namespace;
  const causes = [...objectMetaCauses(obj.metadata, info), ...info.validate(obj)];
  if (causes.length > 0) throw invalidObjectError(subject, causes);
  return obj;
}

/** Strips wrappers that do not change which fields an object schema knows. */
function unwrap(schema: z.core.$ZodType): z.core.$ZodType {
  let s = schema;
  for (;;) {
    if (s instanceof z.ZodOptional || s instanceof z.ZodNullable || s instanceof z.ZodDefault || s instanceof z.ZodPrefault || s instanceof z.ZodLazy) s = s.unwrap();
    // A transform's fields are those of its input side.
    else if (s instanceof z.ZodPipe) s = s.in;
    else return s;
  }
}

function collectUnknown(schema: z.core.$ZodType, value: unknown, path: string, out: string[]): void {
  const s = unwrap(schema);
  if (s instanceof z.ZodObject && isObject(value)) {
    const shape: Record<string, z.core.$ZodType> = s.shape;
    for (const [key, child] of Object.entries(value)) {
      const p = childPath(path, key);
      const known = Object.hasOwn(shape, key) ? shape[key] : undefined;
      // An object with a catch-all (a custom resource's x-kubernetes-preserve-unknown-fields) keeps what it does not describe.
      if (known === undefined) {
        if (s.def.catchall === undefined) out.push(p);
      } else collectUnknown(known, child, p, out);
    }
  } else if (s instanceof z.ZodRecord && isObject(value)) {
    for (const [key, child] of Object.entries(value)) collectUnknown(s.valueType, child, `${path}[${key}]`, out);
  } else if (s instanceof z.ZodArray && Array.isArray(value)) {
    value.forEach((child, i) => collectUnknown(s.element, child, `${path}[${i}]`, out));
  }
}

function isIgnored(path: string, ignored: readonly string[]): boolean {
  const general = path.replace(/\[\d+\]/g, '[*]');
  return ignored.some((f) => general === f || general.startsWith(`${f}.`) || general.startsWith(`${f}[`));
}

/**
 * Paths in `raw` the kind's schema does not know, as Kubernetes reports them for
 * `fieldValidation=Strict` (`spec.containers[0].foo`). Null members count as absent; fields in
 * `info.ignoredFields` are legitimate Kubernetes fields and are not reported.
 */
export function unknownFields(info: KindInfo, raw: unknown): string[] {
  const out: string[] = [];
  collectUnknown(info.schema, withoutNulls(raw), '', out);
  return out.filter((p) => !isIgnored(p, info.ignoredFields));
}

/** kube-apiserver's 400 for unknown fields under fieldValidation=Strict. */
export function strictDecodingError(info: KindInfo, fields: readonly string[]): BadRequestError {
  const list = fields.map((f) => `unknown field ${JSON.stringify(f)}`).join(', ');
  return new BadRequestError(`${info.kind} in version "${info.version}" cannot be handled as a ${info.kind}: strict decoding error: ${list}`);
}

/** The text kube-apiserver sends as a `Warning` header per unknown field under fieldValidation=Warn. */
export function unknownFieldWarnings(fields: readonly string[]): string[] {
  return fields.map((f) => `unknown field ${JSON.stringify(f)}`);
}

/** DeleteOptions from a body or query: 422 for a bad combination, as Kubernetes' ValidateDeleteOptions. */
export function validateDeleteOptions(raw: unknown): DeleteOptions {
  const body = withoutNulls(raw ?? {});
  const subject = { kind: 'DeleteOptions', group: 'meta.k8s.io', name: '' };
  const protoCauses: FieldCause[] = [];
  protoKeyCauses(DeleteOptionsSchema, body, [], protoCauses);
  if (protoCauses.length > 0) throw invalidObjectError(subject, protoCauses);
  const parsed = DeleteOptionsSchema.safeParse(body);
  if (!parsed.success) throw invalidObjectError(subject, parsed.error.issues.map((i) => issueToCause(i, body)));
  const opts = parsed.data;
  const causes: FieldCause[] = [];
  if (opts.gracePeriodSeconds !== undefined && opts.gracePeriodSeconds < 0) {
    causes.push(cause.invalid('gracePeriodSeconds', opts.gracePeriodSeconds, 'must be greater than or equal to 0'));
  }
  if (opts.orphanDependents !== undefined && opts.propagationPolicy !== undefined) {
    causes.push(cause.invalid('propagationPolicy', opts.propagationPolicy, 'orphanDependents and deletionPropagation cannot be both set'));
  }
  (opts.dryRun ?? []).forEach((v, i) => {
    if (v !== 'All') causes.push(cause.notSupported(`dryRun[${i}]`, v, ['All']));
  });
  if (causes.length > 0) throw invalidObjectError(subject, causes);
  return opts;
}
