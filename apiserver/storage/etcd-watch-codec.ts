// The etcd Watch RPC's messages, read and written directly from the protobuf wire format.
//
// Every API server replica follows every write of the store through its watches, so the cost of
// one watch event is paid once per replica per write. etcd3's generic path decodes each response
// into protobufjs messages, converts every int64 to a decimal string (proto-loader `longs: String`)
// and copies the tree again with defaults filled in (`toObject`) — only for the watch to turn the
// strings back into numbers. Here a response becomes just the fields EtcdWatch reads: revisions as
// numbers (exact below 2^53, far beyond any etcd revision), keys and values as views into the
// received message (the caller turns them into strings at once, so the message is not retained).
// Fields that are not read (header, watch_id, version, lease) are skipped without being decoded.
//
// Message and field numbers: etcd's api/etcdserverpb/rpc.proto and api/mvccpb/kv.proto.

export interface WatchKeyValue {
  key: Buffer;
  createRevision: number;
  modRevision: number;
  value: Buffer;
}

export interface WatchEventMessage {
  /** mvccpb.Event.EventType: PUT = 0, DELETE = 1. */
  type: 'put' | 'delete';
  kv: WatchKeyValue;
  prevKv: WatchKeyValue | undefined;
}

export interface WatchResponseMessage {
  created: boolean;
  canceled: boolean;
  compactRevision: number;
  cancelReason: string;
  fragment: boolean;
  events: WatchEventMessage[];
}

export interface WatchCreate {
  key: Buffer;
  rangeEnd: Buffer;
  startRevision: number;
  prevKv: boolean;
  fragment: boolean;
}

const VARINT = 0;
const FIXED64 = 1;
const LEN = 2;
const FIXED32 = 5;

const EMPTY = Buffer.alloc(0);

/** A position in one message buffer; every read checks it stays inside `end`. */
class Reader {
  constructor(
    readonly buf: Buffer,
    public pos: number,
    readonly end: number,
  ) {}

  /** An unsigned varint as a number (exact up to 2^53; int64 fields read here are never negative). */
  varint(): number {
    const buf = this.buf;
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new RangeError('watch response: truncated varint');
      const b = buf[this.pos++]!;
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
    throw new RangeError('watch response: varint longer than 10 bytes');
  }

  /** The end of a length-delimited field starting here (its length already read past). */
  lengthEnd(): number {
    const len = this.varint();
    const end = this.pos + len;
    if (end > this.end) throw new RangeError('watch response: field runs past its message');
    return end;
  }

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
        throw new RangeError(`watch response: unsupported wire type ${wireType}`);
    }
    if (this.pos > this.end) throw new RangeError('watch response: field runs past its message');
  }
}

function readKeyValue(r: Reader, end: number): WatchKeyValue {
  const kv: WatchKeyValue = { key: EMPTY, createRevision: 0, modRevision: 0, value: EMPTY };
  const inner = new Reader(r.buf, r.pos, end);
  while (inner.pos < end) {
    const tag = inner.varint();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === LEN) kv.key = inner.bytes();
    else if (field === 2 && wire === VARINT) kv.createRevision = inner.varint();
    else if (field === 3 && wire === VARINT) kv.modRevision = inner.varint();
    else if (field === 5 && wire === LEN) kv.value = inner.bytes();
    else inner.skip(wire);
  }
  r.pos = end;
  return kv;
}

function readEvent(r: Reader, end: number): WatchEventMessage {
  let type: 'put' | 'delete' = 'put';
  let kv: WatchKeyValue | undefined;
  let prevKv: WatchKeyValue | undefined;
  const inner = new Reader(r.buf, r.pos, end);
  while (inner.pos < end) {
    const tag = inner.varint();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === VARINT) type = inner.varint() === 1 ? 'delete' : 'put';
    else if (field === 2 && wire === LEN) kv = readKeyValue(inner, inner.lengthEnd());
    else if (field === 3 && wire === LEN) prevKv = readKeyValue(inner, inner.lengthEnd());
    else inner.skip(wire);
  }
  r.pos = end;
  // proto3: an absent message field is the empty message.
  return { type, kv: kv ?? { key: EMPTY, createRevision: 0, modRevision: 0, value: EMPTY }, prevKv };
}

/** etcdserverpb.WatchResponse, the fields a watch reads. Throws RangeError on a malformed message. */
export function decodeWatchResponse(buf: Buffer): WatchResponseMessage {
  const res: WatchResponseMessage = { created: false, canceled: false, compactRevision: 0, cancelReason: '', fragment: false, events: [] };
  const r = new Reader(buf, 0, buf.length);
  while (r.pos < r.end) {
    const tag = r.varint();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 11 && wire === LEN) res.events.push(readEvent(r, r.lengthEnd()));
    else if (field === 3 && wire === VARINT) res.created = r.varint() !== 0;
    else if (field === 4 && wire === VARINT) res.canceled = r.varint() !== 0;
    else if (field === 5 && wire === VARINT) res.compactRevision = r.varint();
    else if (field === 6 && wire === LEN) res.cancelReason = r.bytes().toString('utf8');
    else if (field === 7 && wire === VARINT) res.fragment = r.varint() !== 0;
    else r.skip(wire);
  }
  return res;
}

function pushVarint(out: number[], value: number): void {
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

/** etcdserverpb.WatchRequest carrying a create_request (field 1). */
export function encodeWatchCreate(req: WatchCreate): Buffer {
  // WatchCreateRequest: key = 1, range_end = 2 (bytes); start_revision = 3, prev_kv = 6, fragment = 8 (varints).
  const keyHead: number[] = [0x0a];
  pushVarint(keyHead, req.key.length);
  const rangeHead: number[] = [0x12];
  pushVarint(rangeHead, req.rangeEnd.length);
  const tail: number[] = [];
  if (req.startRevision > 0) {
    tail.push(0x18);
    pushVarint(tail, req.startRevision);
  }
  if (req.prevKv) tail.push(0x30, 1);
  if (req.fragment) tail.push(0x40, 1);
  const inner = Buffer.concat([Buffer.from(keyHead), req.key, Buffer.from(rangeHead), req.rangeEnd, Buffer.from(tail)]);
  const head: number[] = [0x0a];
  pushVarint(head, inner.length);
  return Buffer.concat([Buffer.from(head), inner]);
}

/** etcdserverpb.WatchRequest carrying an (empty) progress_request (field 3). */
export const WATCH_PROGRESS_REQUEST = Buffer.from([0x1a, 0x00]);
