// Kubernetes resource quantities ("100m", "1.5Gi", "1e3"): parsing, exact arithmetic and the
// canonical string form, following apimachinery's resource.Quantity. Amounts are held as a bigint
// count of milli-units so sums of requests never drift; the only deliberate difference from
// Kubernetes is that precision finer than 1m is rounded away from zero to 1m (Kubernetes keeps nano).

import { ParseError } from './errors.js';

/** How a quantity is written, remembered from the input so it is re-emitted in the same style. */
export type QuantityFormat = 'DecimalSI' | 'BinarySI' | 'DecimalExponent';

const DECIMAL_SUFFIX_EXPONENTS: ReadonlyMap<string, number> = new Map([
  ['n', -9],
  ['u', -6],
  ['m', -3],
  ['', 0],
  ['k', 3],
  ['M', 6],
  ['G', 9],
  ['T', 12],
  ['P', 15],
  ['E', 18],
]);
const DECIMAL_EXPONENT_SUFFIXES: ReadonlyMap<number, string> = new Map(
  [...DECIMAL_SUFFIX_EXPONENTS].map(([suffix, exp]) => [exp, suffix]),
);

/** Powers of 1024, index = exponent of 1024. */
const BINARY_SUFFIXES = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'] as const;
const BINARY_SUFFIX_POWERS: ReadonlyMap<string, number> = new Map(
  BINARY_SUFFIXES.map((suffix, i) => [suffix, i] as const).filter(([suffix]) => suffix !== ''),
);

/** Largest accepted magnitude: 2^63-1 whole units, the limit of Kubernetes' int64 accessors. */
const MAX_MILLI = (2n ** 63n - 1n) * 1000n;
/** Real quantities are a handful of characters; the cap keeps bigint work on hostile input tiny. */
const MAX_TEXT_LENGTH = 128;
/** A number with more integer digits than this (in milli-units) is certainly over MAX_MILLI. */
const MAX_MILLI_DIGITS = 25;

// Sign, digits with an optional fraction, then everything else as the suffix.
const NUMBER_AND_SUFFIX = /^([+-]?)([0-9]*)(?:\.([0-9]*))?(.*)$/s;
const EXPONENT_SUFFIX = /^[eE]([+-]?[0-9]+)$/;

/** Parsed quantities by text; cleared when full (a bound on memory, not an LRU). */
const parsed = new Map<string, Quantity>();
const PARSE_CACHE_SIZE = 4096;

export class Quantity {
  private constructor(
    private readonly milli: bigint,
    readonly format: QuantityFormat,
  ) {}

  /** Parses a quantity string, or a JSON number (`cpu: 1`); anything unparseable throws ParseError. */
  static parse(input: string | number): Quantity {
    // The declared type is a promise callers make; JSON bodies can still carry anything.
    const raw: unknown = input;
    if (typeof raw === 'number') {
      if (!Number.isFinite(raw)) throw new ParseError(`quantity ${String(raw)} is not a finite number`);
      // String() gives a decimal or e-notation form ("0.5", "1e+21") that the grammar below accepts.
      return Quantity.parse(String(raw));
    }
    if (typeof raw !== 'string') {
      throw new ParseError(`quantity must be a string or a number, not ${raw === null ? 'null' : typeof raw}`);
    }
    // Quantities are immutable and the same few strings ("100m", "64Mi") recur in every pod the
    // API server, schedulers and agents look at: parse each once.
    let q = parsed.get(raw);
    if (q === undefined) {
      q = parseText(raw);
      if (parsed.size >= PARSE_CACHE_SIZE) parsed.clear();
      parsed.set(raw, q);
    }
    return q;
  }

  /** A quantity of `milli` thousandths of a unit, formatted as `format` (default DecimalSI). */
  static fromMilli(milli: bigint, format: QuantityFormat = 'DecimalSI'): Quantity {
    return new Quantity(milli, format);
  }

  /** The exact amount in thousandths of a unit. */
  milliValue(): bigint {
    return this.milli;
  }

  /** Whole units, rounded away from zero as Kubernetes' `Value()` does ("100m" → 1). */
  value(): bigint {
    return divideAwayFromZero(this.milli, 1000n);
  }

  /** Approximate value in units, for scores and percentages only; never for accounting. */
  toNumber(): number {
    return Number(this.milli) / 1000;
  }

  isZero(): boolean {
    return this.milli === 0n;
  }

  isNegative(): boolean {
    return this.milli < 0n;
  }

  /** Sum; keeps this quantity's format unless this one is zero (then the other's), like Kubernetes. */
  add(other: Quantity): Quantity {
    return new Quantity(this.milli + other.milli, this.isZero() ? other.format : this.format);
  }

  /** Difference; format chosen as in `add`. */
  sub(other: Quantity): Quantity {
    return new Quantity(this.milli - other.milli, this.isZero() ? other.format : this.format);
  }

  cmp(other: Quantity): -1 | 0 | 1 {
    if (this.milli < other.milli) return -1;
    return this.milli > other.milli ? 1 : 0;
  }

  /** Kubernetes' canonical form: no fraction, largest suffix that loses nothing ("1536Mi", "500m"). */
  toString(): string {
    if (this.milli === 0n) return '0';
    if (this.format === 'BinarySI') {
      const binary = formatBinary(this.milli);
      if (binary !== undefined) return binary;
    }
    return formatDecimal(this.milli, this.format === 'DecimalExponent');
  }

  /** Serialises as the canonical string, the way Kubernetes writes quantities in JSON. */
  toJSON(): string {
    return this.toString();
  }
}

function parseText(text: string): Quantity {
  const shown = (): string => describe(text);
  if (text.length === 0) throw new ParseError('quantity must not be empty');
  if (text.length > MAX_TEXT_LENGTH) {
    throw new ParseError(`quantity ${shown()} is too long (more than ${MAX_TEXT_LENGTH} characters)`);
  }
  const match = NUMBER_AND_SUFFIX.exec(text);
  const [, sign = '', whole = '', fraction = '', suffix = ''] = match ?? [];
  if (!match || whole.length + fraction.length === 0) {
    // Kubernetes tolerates a bare sign or "." as zero; a quantity without digits is a mistake here.
    throw new ParseError(`quantity ${shown()} must start with a number, as in "100m", "0.5" or "1Gi"`);
  }

  let decimalExponent = 0;
  let binaryPower = 0;
  let format: QuantityFormat;
  const exponentMatch = EXPONENT_SUFFIX.exec(suffix);
  if (DECIMAL_SUFFIX_EXPONENTS.has(suffix)) {
    format = 'DecimalSI';
    decimalExponent = DECIMAL_SUFFIX_EXPONENTS.get(suffix) ?? 0;
  } else if (BINARY_SUFFIX_POWERS.has(suffix)) {
    format = 'BinarySI';
    binaryPower = BINARY_SUFFIX_POWERS.get(suffix) ?? 0;
  } else if (exponentMatch) {
    format = 'DecimalExponent';
    // A huge exponent becomes ±Infinity here, which the magnitude checks below handle.
    decimalExponent = Number(exponentMatch[1]);
  } else {
    throw new ParseError(
      `quantity ${shown()} has an unknown suffix ${JSON.stringify(suffix)}: use n, u, m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei or an exponent such as e3`,
    );
  }

  const digits = (whole + fraction).replace(/^0+/, '');
  if (digits.length === 0) return Quantity.fromMilli(0n, format);

  // value = digits × 10^(decimalExponent - fraction.length) × 1024^binaryPower; in milli: one more 10^3.
  const shift = decimalExponent - fraction.length + 3;
  const binaryFactor = 1024n ** BigInt(binaryPower);
  // Digit counts settle huge or tiny exponents before any power is computed (1024^6 < 10^19):
  // past these bounds the value is certainly over MAX_MILLI, or certainly under 1m.
  if (digits.length + shift > MAX_MILLI_DIGITS) throw tooLarge(shown());
  let magnitude: bigint;
  if (shift >= 0) {
    magnitude = BigInt(digits) * binaryFactor * 10n ** BigInt(shift);
  } else if (digits.length + shift < -MAX_MILLI_DIGITS) {
    magnitude = 1n; // non-zero but far below 1m: Kubernetes rounds up so a request is never zero
  } else {
    magnitude = divideAwayFromZero(BigInt(digits) * binaryFactor, 10n ** BigInt(-shift));
  }
  if (magnitude > MAX_MILLI) throw tooLarge(shown());

  // A binary quantity below one unit cannot be written with a binary suffix; Kubernetes switches it.
  if (format === 'BinarySI' && magnitude < 1000n) format = 'DecimalSI';
  return Quantity.fromMilli(sign === '-' ? -magnitude : magnitude, format);
}

function tooLarge(shown: string): ParseError {
  return new ParseError(`quantity ${shown} is too large (the limit is 2^63-1 units)`);
}

/** Quoted input for messages, shortened so a hostile megabyte does not end up in a log line. */
function describe(text: string): string {
  return JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}…` : text);
}

/** a / b for b > 0, rounding any remainder away from zero. */
function divideAwayFromZero(a: bigint, b: bigint): bigint {
  const q = a / b; // bigint division truncates toward zero
  if (a % b === 0n) return q;
  return a < 0n ? q - 1n : q + 1n;
}

/** "1536Mi" form, or undefined when Kubernetes would fall back to decimal (< 1Ki or fractional). */
function formatBinary(milli: bigint): string | undefined {
  const negative = milli < 0n;
  const magnitude = negative ? -milli : milli;
  if (magnitude < 1024n * 1000n || magnitude % 1000n !== 0n) return undefined;
  let units = magnitude / 1000n;
  let power = 0;
  while (power < BINARY_SUFFIXES.length - 1 && units % 1024n === 0n) {
    units /= 1024n;
    power++;
  }
  return `${negative ? '-' : ''}${units}${BINARY_SUFFIXES[power]}`;
}

/** "500m" / "1M" form, or "5e-1"-style exponent form; the exponent is a multiple of 3. */
function formatDecimal(milli: bigint, exponentForm: boolean): string {
  let mantissa = milli;
  let exponent = -3;
  while (mantissa % 10n === 0n) {
    mantissa /= 10n;
    exponent++;
  }
  while (exponent % 3 !== 0) {
    mantissa *= 10n;
    exponent--;
  }
  if (exponentForm) return exponent === 0 ? `${mantissa}` : `${mantissa}e${exponent}`;
  const suffix = DECIMAL_EXPONENT_SUFFIXES.get(exponent);
  // Past "E" (10^18) there is no SI suffix; Kubernetes then writes an exponent rather than lose it.
  return suffix === undefined ? `${mantissa}e${exponent}` : `${mantissa}${suffix}`;
}
