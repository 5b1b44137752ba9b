// A custom resource version's OpenAPI v3 schema, compiled once into a zod schema, so that custom
// objects go through the same decoding as built-in ones (shared/api/validation.ts): field causes
// for what is wrong, defaults applied where a field is missing, and unknown fields pruned — which
// is what zod's plain objects do, and what Kubernetes does with a structural schema. A level with
// x-kubernetes-preserve-unknown-fields keeps what it does not describe.
import { z } from 'zod';
import { isDeepStrictEqual } from 'node:util';
import type { JSONSchemaProps } from '../../shared/api/apiextensions.js';
import { ObjectMetaSchema } from '../../shared/api/meta.js';
import type { KubeObject } from '../../shared/api/meta.js';

type Json = z.infer<ReturnType<typeof z.json>>;

/** A custom issue the validation layer turns into a cause of this reason. */
function issue(ctx: z.core.$RefinementCtx, message: string, reason: string, path: (string | number)[] = []): void {
  ctx.addIssue({ code: 'custom', message, params: { reason }, path });
}

function showJson(v: unknown): string {
  return JSON.stringify(v);
}

/** Whether `value` satisfies `s`'s constraints (allOf/anyOf/oneOf/not: checked, never pruned or defaulted). */
function satisfies(s: JSONSchemaProps, value: unknown): boolean {
  return compile(s, false).safeParse(value).success;
}

function withEnum(t: z.ZodType, values: readonly Json[] | undefined): z.ZodType {
  if (values === undefined || values.length === 0) return t;
  const primitives = values.filter((v): v is string | number | boolean => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean');
  if (primitives.length === values.length) return t.pipe(z.literal(primitives));
  return t.superRefine((v, ctx) => {
    if (!values.some((e) => isDeepStrictEqual(e, v))) issue(ctx, `supported values: ${values.map(showJson).join(', ')}`, 'FieldValueNotSupported');
  });
}

/**
 * The string formats Kubernetes checks in custom objects (others, such as `int32` on a string,
 * are documentation only, and ignored there too).
 */
const FORMATS: Record<string, z.ZodType> = {
  'date-time': z.iso.datetime({ offset: true }),
  datetime: z.iso.datetime({ offset: true }),
  date: z.iso.date(),
  uuid: z.uuid(),
  uuid3: z.uuid({ version: 'v3' }),
  uuid4: z.uuid({ version: 'v4' }),
  uuid5: z.uuid({ version: 'v5' }),
  ipv4: z.ipv4(),
  ipv6: z.ipv6(),
  cidr: z.union([z.cidrv4(), z.cidrv6()]),
  email: z.email(),
  byte: z.base64(),
  hostname: z.string().regex(/^(?=.{1,253}$)[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*$/),
  mac: z.string().regex(/^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$/),
  // Go's time.ParseDuration: "1h30m", "250ms", "0".
  duration: z.string().regex(/^([-+]?(\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h))+$|^0$/u),
  hexcolor: z.string().regex(/^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/),
};

function stringOf(s: JSONSchemaProps): z.ZodType {
  let t = z.string();
  if (s.minLength !== undefined) t = t.min(s.minLength, { error: `should be at least ${s.minLength} chars long` });
  if (s.maxLength !== undefined) t = t.max(s.maxLength, { error: `may not be longer than ${s.maxLength}` });
  if (s.pattern !== undefined) t = t.regex(new RegExp(s.pattern, 'u'), { error: `should match '${s.pattern}'` });
  const format = s.format !== undefined ? FORMATS[s.format] : undefined;
  if (format === undefined) return t;
  const name = s.format;
  return t.superRefine((v, ctx) => {
    if (!format.safeParse(v).success) issue(ctx, `must be of type ${name}`, 'FieldValueInvalid');
  });
}

function numberOf(s: JSONSchemaProps, integer: boolean): z.ZodType {
  let t = integer ? z.number().int() : z.number();
  const { minimum, maximum, multipleOf } = s;
  if (minimum !== undefined) {
    t = s.exclusiveMinimum ? t.gt(minimum, { error: `should be greater than ${minimum}` }) : t.gte(minimum, { error: `should be greater than or equal to ${minimum}` });
  }
  if (maximum !== undefined) {
    t = s.exclusiveMaximum ? t.lt(maximum, { error: `should be less than ${maximum}` }) : t.lte(maximum, { error: `should be less than or equal to ${maximum}` });
  }
  if (multipleOf !== undefined) t = t.multipleOf(multipleOf, { error: `should be a multiple of ${multipleOf}` });
  return t;
}

function arrayOf(s: JSONSchemaProps, prune: boolean): z.ZodType {
  let t = z.array(s.items ? compile(s.items, prune) : z.json());
  if (s.minItems !== undefined) t = t.min(s.minItems, { error: `should have at least ${s.minItems} items` });
  if (s.maxItems !== undefined) t = t.max(s.maxItems, { error: `must have at most ${s.maxItems} items` });
  const listType = s['x-kubernetes-list-type'];
  if (listType !== 'set' && listType !== 'map') return t;
  const keys = s['x-kubernetes-list-map-keys'] ?? [];
  // A set's items, and a map's items by their keys, are unique: a duplicate is named by index.
  return t.superRefine((items, ctx) => {
    const seen: unknown[] = [];
    items.forEach((item, i) => {
      const id = listType === 'set' ? item : keys.map((k) => (typeof item === 'object' && item !== null ? (item as Record<string, unknown>)[k] : undefined));
      if (seen.some((x) => isDeepStrictEqual(x, id))) issue(ctx, 'duplicate entries', 'FieldValueDuplicate', [i]);
      seen.push(id);
    });
  });
}

/** A property: required unless listed otherwise; a default fills it when absent (Kubernetes defaults before it validates). */
function propertyOf(child: JSONSchemaProps, required: boolean, prune: boolean): z.ZodType {
  const t = compile(child, prune);
  if (prune && child.default !== undefined) {
    const value = child.default;
    return t.optional().transform((v) => (v === undefined ? structuredClone(value) : v));
  }
  return required ? t : t.optional();
}

function objectOf(s: JSONSchemaProps, prune: boolean): z.ZodType {
  const preserve = s['x-kubernetes-preserve-unknown-fields'] === true || s.additionalProperties === true;
  let t: z.ZodType;
  if (typeof s.additionalProperties === 'object') {
    t = z.record(z.string(), compile(s.additionalProperties, prune));
  } else {
    const required = new Set(s.required ?? []);
    const shape: Record<string, z.ZodType> = {};
    for (const [k, child] of Object.entries(s.properties ?? {})) shape[k] = propertyOf(child, required.has(k), prune);
    if (s['x-kubernetes-embedded-resource'] === true) {
      shape['apiVersion'] ??= z.string();
      shape['kind'] ??= z.string();
      shape['metadata'] ??= ObjectMetaSchema.optional();
    }
    // Checking a junctor's branch must not drop what another branch describes.
    t = preserve || !prune ? z.looseObject(shape) : z.object(shape);
    const undescribed = [...required].filter((k) => !Object.hasOwn(shape, k));
    if (undescribed.length > 0) {
      t = t.superRefine((v, ctx) => {
        for (const k of undescribed) if (!Object.hasOwn(v as object, k)) issue(ctx, 'Required value', 'FieldValueRequired', [k]);
      });
    }
  }
  const { minProperties, maxProperties } = s;
  if (minProperties === undefined && maxProperties === undefined) return t;
  return t.superRefine((v, ctx) => {
    const n = Object.keys(v as object).length;
    if (minProperties !== undefined && n < minProperties) issue(ctx, `should have at least ${minProperties} properties`, 'FieldValueInvalid');
    if (maxProperties !== undefined && n > maxProperties) issue(ctx, `should have at most ${maxProperties} properties`, 'FieldValueTooMany');
  });
}

function withJunctors(t: z.ZodType, s: JSONSchemaProps): z.ZodType {
  const { allOf, anyOf, oneOf, not } = s;
  if (!allOf && !anyOf && !oneOf && !not) return t;
  return t.superRefine((v, ctx) => {
    if (allOf && !allOf.every((b) => satisfies(b, v))) issue(ctx, 'must validate all the schemas (allOf)', 'FieldValueInvalid');
    if (anyOf && !anyOf.some((b) => satisfies(b, v))) issue(ctx, 'must validate at least one schema (anyOf)', 'FieldValueInvalid');
    if (oneOf && oneOf.filter((b) => satisfies(b, v)).length !== 1) issue(ctx, 'must validate one and only one schema (oneOf)', 'FieldValueInvalid');
    if (not && satisfies(not, v)) issue(ctx, 'must not validate the schema (not)', 'FieldValueInvalid');
  });
}

/**
 * One level of a schema as zod. `prune` is false for the branches of allOf/anyOf/oneOf/not, which
 * only check: a level without a type there constrains whatever the value is.
 */
function compile(s: JSONSchemaProps, prune: boolean): z.ZodType {
  let t: z.ZodType;
  if (s['x-kubernetes-int-or-string'] === true) t = z.union([z.number().int(), z.string()]);
  else {
    switch (s.type) {
      case 'object':
        t = objectOf(s, prune);
        break;
      case 'array':
        t = arrayOf(s, prune);
        break;
      case 'string':
        t = stringOf(s);
        break;
      case 'integer':
        t = numberOf(s, true);
        break;
      case 'number':
        t = numberOf(s, false);
        break;
      case 'boolean':
        t = z.boolean();
        break;
      default:
        t = untyped(s, prune);
    }
  }
  const checked = withJunctors(withEnum(t, s.enum), s);
  // Kept for the OpenAPI documents (`kubectl explain`).
  return s.description ? checked.describe(s.description) : checked;
}

/** A level without a type: anything (x-kubernetes-preserve-unknown-fields), or, in a junctor, the constraints that apply to the value's own type. */
function untyped(s: JSONSchemaProps, prune: boolean): z.ZodType {
  if (prune) return z.json();
  return z.json().superRefine((v, ctx) => {
    const type = Array.isArray(v) ? 'array' : v === null ? undefined : typeof v === 'object' ? 'object' : typeof v === 'string' ? 'string' : typeof v === 'number' ? 'number' : 'boolean';
    if (type === undefined) return;
    const r = compile({ ...s, type, allOf: undefined, anyOf: undefined, oneOf: undefined, not: undefined, enum: undefined }, false).safeParse(v);
    for (const i of r.error?.issues ?? []) ctx.addIssue({ ...i, code: 'custom', path: i.path.filter((p): p is string | number => typeof p !== 'symbol') } as never);
  });
}

/**
 * The schema objects of one custom resource version are decoded with: apiVersion and kind
 * defaulted (and checked), metadata as every kind's ObjectMeta, the rest as the CRD says. The
 * root stays a zod object, so that fieldValidation=Strict can name the fields it would prune.
 */
export function compileCustomResourceSchema(root: JSONSchemaProps, apiVersion: string, kind: string): z.ZodType<KubeObject, unknown> {
  const required = new Set(root.required ?? []);
  const shape: Record<string, z.ZodType> = {
    apiVersion: z.literal(apiVersion).default(apiVersion),
    kind: z.literal(kind).default(kind),
    metadata: ObjectMetaSchema.prefault({}),
  };
  for (const [k, child] of Object.entries(root.properties ?? {})) {
    if (!Object.hasOwn(shape, k)) shape[k] = propertyOf(child, required.has(k), true);
  }
  const loose = root['x-kubernetes-preserve-unknown-fields'] === true ? z.looseObject(shape) : z.object(shape);
  const object = root.description ? loose.describe(root.description) : loose;
  return withJunctors(object, { ...root, properties: undefined }) as unknown as z.ZodType<KubeObject, unknown>;
}
