// Resource lists (`resources.requests`, node `allocatable`): parsed into exact milli-unit amounts
// so schedulers can add, subtract and compare them without float drift, and formatted back into
// Kubernetes' canonical strings.

import { InvalidError, ParseError } from './errors.js';
import { qualifiedNameErrors } from './names.js';
import { Quantity, type QuantityFormat } from './quantity.js';

/** A resource list as it appears in an object: `{ cpu: "500m", memory: "1Gi" }`. */
export type ResourceList = Record<string, string | number>;

/** Immutable amounts per resource name, in milli-units, remembering each one's quantity format. */
export class ResourceAmounts {
  private readonly milli: ReadonlyMap<string, bigint>;
  private readonly formats: ReadonlyMap<string, QuantityFormat>;

  constructor(quantities: Iterable<readonly [string, Quantity]> = []) {
    const milli = new Map<string, bigint>();
    const formats = new Map<string, QuantityFormat>();
    for (const [name, quantity] of quantities) {
      milli.set(name, quantity.milliValue());
      formats.set(name, quantity.format);
    }
    this.milli = milli;
    this.formats = formats;
  }

  /** Milli-units of `name`; 0n when the list does not mention it. */
  get(name: string): bigint {
    return this.milli.get(name) ?? 0n;
  }

  has(name: string): boolean {
    return this.milli.has(name);
  }

  /** The amount as a Quantity in its remembered format (DecimalSI when absent). */
  quantity(name: string): Quantity {
    return Quantity.fromMilli(this.get(name), this.formats.get(name) ?? 'DecimalSI');
  }

  /** Resource names in the order they were first added. */
  names(): string[] {
    return [...this.milli.keys()];
  }

  get size(): number {
    return this.milli.size;
  }
}

/**
 * Parses a resource list. Without `fieldPath` a bad entry throws ParseError; with it (e.g.
 * `spec.containers[0].resources.requests`) it throws InvalidError whose cause names the field.
 * Negative amounts are rejected: a negative request would make a node look freer than it is.
 */
export function parseResourceList(list: ResourceList | undefined, fieldPath?: string): ResourceAmounts {
  const raw: unknown = list;
  if (raw === undefined || raw === null) return new ResourceAmounts();
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ParseError(`${fieldPath ?? 'resource list'} must be an object mapping resource names to quantities`);
  }
  const quantities: [string, Quantity][] = [];
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    const nameErrors = name.length === 0 ? ['must be non-empty'] : qualifiedNameErrors(name);
    if (nameErrors.length > 0) {
      throw badEntry(fieldPath, name, value, `invalid resource name: ${nameErrors.join('; ')}`);
    }
    let quantity: Quantity;
    try {
      // parse() checks the type at runtime: a JSON body can carry booleans, objects or null here.
      quantity = Quantity.parse(value as string | number);
    } catch (err) {
      if (!(err instanceof ParseError)) throw err;
      throw badEntry(fieldPath, name, value, err.message);
    }
    if (quantity.isNegative()) throw badEntry(fieldPath, name, value, 'must be greater than or equal to 0');
    quantities.push([name, quantity]);
  }
  return new ResourceAmounts(quantities);
}

/** ParseError without a field path; with one, a 422 InvalidError whose single cause names the field. */
function badEntry(fieldPath: string | undefined, name: string, value: unknown, message: string): ParseError | InvalidError {
  if (fieldPath === undefined) return new ParseError(`resource ${JSON.stringify(name)}: ${message}`);
  const field = `${fieldPath}.${name}`;
  return new InvalidError(`${field}: Invalid value: ${showValue(value)}: ${message}`, {}, [
    { reason: 'FieldValueInvalid', field, message },
  ]);
}

function showValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  return typeof value === 'number' ? String(value) : typeof value;
}

/** a + b per resource; a resource's format comes from `a` unless `a` lacks it or has zero of it. */
export function add(a: ResourceAmounts, b: ResourceAmounts): ResourceAmounts {
  return combine(a, b, (x, y) => x.add(y));
}

/** a - b per resource; may go negative (an over-committed node), which callers can detect. */
export function subtract(a: ResourceAmounts, b: ResourceAmounts): ResourceAmounts {
  return combine(a, b, (x, y) => x.sub(y));
}

function combine(
  a: ResourceAmounts,
  b: ResourceAmounts,
  op: (x: Quantity, y: Quantity) => Quantity,
): ResourceAmounts {
  const names = new Set([...a.names(), ...b.names()]);
  return new ResourceAmounts([...names].map((name) => [name, op(a.quantity(name), b.quantity(name))] as const));
}

/** Back to an object of canonical strings, each in the format its amount was parsed with. */
export function toResourceList(amounts: ResourceAmounts): Record<string, string> {
  // fromEntries defines own properties, so even a name like "__proto__" cannot touch the prototype.
  return Object.fromEntries(amounts.names().map((name) => [name, amounts.quantity(name).toString()]));
}
