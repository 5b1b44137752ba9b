// Field errors in Kubernetes' wording (apimachinery's field.Error): each is one `details.causes[]`
// entry of a 422, and together they make the Status message
// `Pod "web" is invalid: [spec.containers[0].name: Required value, ...]`.
import { InvalidError, type ErrorSubject, type FieldCause } from '../errors.js';

export type FieldReason =
  | 'FieldValueRequired'
  | 'FieldValueInvalid'
  | 'FieldValueNotSupported'
  | 'FieldValueNotFound'
  | 'FieldValueDuplicate'
  | 'FieldValueTypeInvalid'
  | 'FieldValueForbidden'
  | 'FieldValueTooLong'
  | 'FieldValueTooMany';

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/**
 * `spec.containers[0].resources.requests.cpu` from its segments. Map keys that are not plain
 * identifiers (`nvidia.com/gpu`, `app.kubernetes.io/name`) are bracketed so the path stays unambiguous.
 */
export function formatPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out = childPath(out, seg);
  }
  return out;
}

/** `base.key`, or `base[key]` when the key is not an identifier. */
export function childPath(base: string, key: string): string {
  if (!IDENTIFIER.test(key)) return `${base}[${key}]`;
  return base === '' ? key : `${base}.${key}`;
}

/** A value as Kubernetes prints it in a field error: strings quoted, numbers bare, long ones cut. */
export function showValue(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === undefined) return 'null';
  const text = JSON.stringify(value) ?? 'null';
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

function make(reason: FieldReason, field: string, message: string): FieldCause {
  return { reason, field, message };
}

/** Constructors for each kind of field error, worded like Kubernetes' ErrorBody(). */
export const cause = {
  required(field: string, detail?: string): FieldCause {
    return make('FieldValueRequired', field, detail ? `Required value: ${detail}` : 'Required value');
  },
  invalid(field: string, value: unknown, detail: string): FieldCause {
    return make('FieldValueInvalid', field, `Invalid value: ${showValue(value)}: ${detail}`);
  },
  /** Invalid where the value says nothing (a rule over several conditions): Kubernetes' field.OmitValueType. */
  invalidWithoutValue(field: string, detail: string): FieldCause {
    return make('FieldValueInvalid', field, `Invalid value: ${detail}`);
  },
  typeInvalid(field: string, value: unknown, detail: string): FieldCause {
    return make('FieldValueTypeInvalid', field, `Invalid value: ${showValue(value)}: ${detail}`);
  },
  notSupported(field: string, value: unknown, supported: readonly string[]): FieldCause {
    const list = supported.map((s) => JSON.stringify(s)).join(', ');
    return make('FieldValueNotSupported', field, `Unsupported value: ${showValue(value)}: supported values: ${list}`);
  },
  notFound(field: string, value: unknown): FieldCause {
    return make('FieldValueNotFound', field, `Not found: ${showValue(value)}`);
  },
  duplicate(field: string, value: unknown): FieldCause {
    return make('FieldValueDuplicate', field, `Duplicate value: ${showValue(value)}`);
  },
  forbidden(field: string, detail: string): FieldCause {
    return make('FieldValueForbidden', field, `Forbidden: ${detail}`);
  },
  tooLong(field: string, maxBytes: number): FieldCause {
    return make('FieldValueTooLong', field, `Too long: must have at most ${maxBytes} bytes`);
  },
  tooMany(field: string, actual: number, max: number): FieldCause {
    return make('FieldValueTooMany', field, `Too many: ${actual}: must have at most ${max} items`);
  },
};

/** One cause as it reads inside a message: `field: body`. */
export function causeText(c: FieldCause): string {
  return c.field ? `${c.field}: ${c.message}` : c.message;
}

/** The 422 for an object with these causes, worded as kube-apiserver words it. */
export function invalidObjectError(subject: ErrorSubject & { kind: string }, causes: FieldCause[]): InvalidError {
  const list = causes.length === 1 && causes[0] ? causeText(causes[0]) : `[${causes.map(causeText).join(', ')}]`;
  return new InvalidError(`${subject.kind} "${subject.name ?? ''}" is invalid: ${list}`, subject, causes);
}
