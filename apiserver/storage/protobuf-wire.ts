// The protobuf wire format, as much of it as the hand-written etcd codecs need (etcd-watch-codec.ts,
// etcd-txn-codec.ts): a bounds-checked reader, and a writer into a buffer sized beforehand.
//
// int64 fields: revisions, counts and versions are read and written as numbers (exact below 2^53,
// far beyond any etcd revision); lease IDs are random 63-bit values and go through bigint.

export const VARINT = 0;
export const FIXED64 = 1;
export const LEN = 2;
export const FIXED32 = 5;

export const EMPTY = Buffer.alloc(0);

const TWO_64 = 1n << 64n;

/** A position in one message buffer; every read checks it stays inside `end`. */
export class Reader {
  constructor(
    readonly buf: Buffer,
    public pos: number,
    readonly end: number,
    /** What is being read, for error messages. */
    readonly what: string,
  ) {}

  /** An unsigned varint as a number (exact up to 2^53; the int64 fields read so are never negative). */
  varint(): number {
    const buf = this.buf;
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new RangeError(`${this.what}: truncated varint`);
      const b = buf[this.pos++]!;
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
    throw new RangeError(`${this.what}: varint longer than 10 bytes`);
  }

  /** A varint as the decimal string of its int64 (`signed`) or uint64 value, exact. */
  varintString(signed: boolean): string {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new RangeError(`${this.what}: truncated varint`);
      const b = this.buf[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) {
        result &= TWO_64 - 1n;
        return String(signed && result >= TWO_64 >> 1n ? result - TWO_64 : result);
      }
      shift += 7n;
    }
    throw new RangeError(`${this.what}: varint longer than 10 bytes`);
  }

  /** The end of a length-delimited field starting here (its length already read past). */
  lengthEnd(): number {
    const len = this.varint();
    const end = this.pos + len;
    if (end > this.end) throw new RangeError(`${this.what}: field runs past its message`);
    return end;
  }

  /** A bytes field: a view into the message (the caller copies what it keeps). */
  bytes(): Buffer {
    const end = this.lengthEnd();
    const b = end > this.pos ? this.buf.subarray(this.pos, end) : EMPTY;
    this.pos = end;
    return b;
  }

  skip(wireType: number): void {
    switch (wireType) {
      case VARINT:
        this.varint();
        return;
      case FIXED64:
        this.pos += 8;
        break;
      case LEN:
        this.pos = this.lengthEnd();
        return;
      case FIXED32:
        this.pos += 4;
        break;
      default:
        throw new RangeError(`${this.what}: unsupported wire type ${wireType}`);
    }
    if (this.pos > this.end) throw new RangeError(`${this.what}: field runs past its message`);
  }
}

/**
 * Reads the message in `r` from its position to `end`, field by field: `visit` reads a field it
 * knows from `inner` and returns true, else the field is skipped. `r` is left at `end`.
 */
export function readFields(r: Reader, end: number, visit: (field: number, wire: number, inner: Reader) => boolean): void {
  const inner = new Reader(r.buf, r.pos, end, r.what);
  while (inner.pos < end) {
    const tag = inner.varint();
    const wire = tag & 7;
    if (!visit(tag >>> 3, wire, inner)) inner.skip(wire);
  }
  r.pos = end;
}

/** An int64 field's value as etcd3's types give it (a number, or a decimal string). */
export type Int64 = string | number;

/** The int64 as a number when exact, else a bigint (two's complement for negatives). */
function int64Value(v: Int64): number | bigint {
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v) && v >= 0) return v;
    if (!Number.isInteger(v)) throw new RangeError(`not an int64: ${v}`);
    return BigInt.asUintN(64, BigInt(v));
  }
  // Decimal strings of up to 15 digits are exact as numbers.
  if (/^\d{1,15}$/.test(v)) return Number(v);
  return BigInt.asUintN(64, BigInt(v));
}

export function varintSize(v: number | bigint): number {
  if (typeof v === 'bigint') {
    let n = 1;
    for (let x = v; x >= 0x80n; x >>= 7n) n++;
    return n;
  }
  let n = 1;
  for (let x = v; x >= 0x80; x = Math.floor(x / 0x80)) n++;
  return n;
}

/** Bytes of a field's tag. */
export function tagSize(field: number): number {
  return varintSize(field << 3);
}

/**
 * Bytes of an int64 field, or 0 when it is absent or has its default (proto3 leaves it out). A
 * member of a oneof (`present`) is written whenever it is set, zero included: its presence is news.
 */
export function int64FieldSize(field: number, v: Int64 | undefined | null, present = false): number {
  if (v === undefined || v === null) return 0;
  const x = int64Value(v);
  return !present && (x === 0 || x === 0n) ? 0 : tagSize(field) + varintSize(x);
}

/** Bytes of a length-delimited field of `len` bytes (written even when empty). */
export function lenFieldSize(field: number, len: number): number {
  return tagSize(field) + varintSize(len) + len;
}

/** Bytes of a bytes field, or 0 when absent or (unless a oneof member, `present`) empty. */
export function bytesFieldSize(field: number, b: Buffer | undefined | null, present = false): number {
  return b === undefined || b === null || (!present && b.length === 0) ? 0 : lenFieldSize(field, b.length);
}

/** Bytes of a bool or enum field, or 0 when it has its default. */
export function smallFieldSize(field: number, v: number | boolean | undefined): number {
  return v === undefined || v === 0 || v === false ? 0 : tagSize(field) + 1;
}

/** Writes into a buffer of exactly the size computed beforehand. */
export class Writer {
  readonly buf: Buffer;
  pos = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  varint(v: number | bigint): void {
    if (typeof v === 'bigint') {
      let x = v;
      while (x >= 0x80n) {
        this.buf[this.pos++] = Number(x & 0x7fn) | 0x80;
        x >>= 7n;
      }
      this.buf[this.pos++] = Number(x);
      return;
    }
    let x = v;
    while (x >= 0x80) {
      this.buf[this.pos++] = (x % 0x80) | 0x80;
      x = Math.floor(x / 0x80);
    }
    this.buf[this.pos++] = x;
  }

  tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  int64Field(field: number, v: Int64 | undefined | null, present = false): void {
    if (v === undefined || v === null) return;
    const x = int64Value(v);
    if (!present && (x === 0 || x === 0n)) return;
    this.tag(field, VARINT);
    this.varint(x);
  }

  smallField(field: number, v: number | boolean | undefined): void {
    if (v === undefined || v === 0 || v === false) return;
    this.tag(field, VARINT);
    this.buf[this.pos++] = v === true ? 1 : v;
  }

  bytesField(field: number, b: Buffer | undefined | null, present = false): void {
    if (b === undefined || b === null || (!present && b.length === 0)) return;
    this.lenHead(field, b.length);
    b.copy(this.buf, this.pos);
    this.pos += b.length;
  }

  /** The tag and length of a length-delimited field; its content follows. */
  lenHead(field: number, len: number): void {
    this.tag(field, LEN);
    this.varint(len);
  }

  /** The buffer, checked to be exactly as long as computed. */
  finish(): Buffer {
    if (this.pos !== this.buf.length) throw new RangeError(`protobuf writer: wrote ${this.pos} bytes of ${this.buf.length}`);
    return this.buf;
  }
}
