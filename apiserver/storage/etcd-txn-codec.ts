// The etcd Txn RPC's messages, written and read directly in the protobuf wire format.
//
// Every write of the API server is a Txn (group-committed: etcd-group-commit.ts), and so is every
// batch of point reads (etcd-read-batch.ts). Through etcd3's generic client each one was converted
// to protobufjs messages and back (`fromObject`, `toObject` with int64s as decimal strings, defaults
// filled in) inside a stack of promise wrappers: about a tenth of the API server's CPU per pod.
// Here the request is sized, then written into one buffer; the response is read into the same
// shapes etcd3 gives (ITxnResponse), keys and values as views into the received message (every
// caller turns them into strings at once, so the message is not retained).
//
// Message and field numbers: etcd's api/etcdserverpb/rpc.proto and api/mvccpb/kv.proto.
import type {
  ICompare,
  IDeleteRangeRequest,
  IDeleteRangeResponse,
  IKeyValue,
  IPutRequest,
  IPutResponse,
  IRangeRequest,
  IRangeResponse,
  IRequestOp,
  IResponseHeader,
  IResponseOp,
  ITxnRequest,
  ITxnResponse,
} from 'etcd3';
import {
  EMPTY,
  LEN,
  Reader,
  VARINT,
  Writer,
  bytesFieldSize,
  int64FieldSize,
  lenFieldSize,
  readFields,
  smallFieldSize,
  type Int64,
} from './protobuf-wire.js';

const WHAT = 'txn response';

// Compare.CompareResult and Compare.CompareTarget, by the names etcd3's types also allow.
const COMPARE_RESULTS: Record<string, number> = { Equal: 0, Greater: 1, Less: 2, NotEqual: 3 };
const COMPARE_TARGETS: Record<string, number> = { Version: 0, Create: 1, Mod: 2, Value: 3, Lease: 4 };
// RangeRequest.SortOrder and SortTarget.
const SORT_ORDERS: Record<string, number> = { None: 0, Ascend: 1, Descend: 2 };
const SORT_TARGETS: Record<string, number> = { Key: 0, Version: 1, Create: 2, Mod: 3, Value: 4 };

function enumValue(v: string | number | undefined, names: Record<string, number>, what: string): number {
  if (v === undefined) return 0;
  const n = typeof v === 'number' ? v : names[v];
  if (n === undefined || !Number.isInteger(n) || n < 0 || n > 127) throw new RangeError(`txn request: bad ${what} ${String(v)}`);
  return n;
}

// ---- request ----

/** One field of a request message: its size on the wire, and writing it. */
interface FieldCodec<M> {
  size(m: M): number;
  write(w: Writer, m: M): void;
}

const bytesField = <M>(field: number, get: (m: M) => Buffer | undefined, oneof = false): FieldCodec<M> => ({
  size: (m) => bytesFieldSize(field, get(m), oneof),
  write: (w, m) => w.bytesField(field, get(m), oneof),
});
const int64Field = <M>(field: number, get: (m: M) => Int64 | undefined, oneof = false): FieldCodec<M> => ({
  size: (m) => int64FieldSize(field, get(m), oneof),
  write: (w, m) => w.int64Field(field, get(m), oneof),
});
const boolField = <M>(field: number, get: (m: M) => boolean | undefined): FieldCodec<M> => ({
  size: (m) => smallFieldSize(field, get(m)),
  write: (w, m) => w.smallField(field, get(m)),
});
const enumField = <M>(field: number, get: (m: M) => string | number | undefined, names: Record<string, number>, what: string): FieldCodec<M> => ({
  size: (m) => smallFieldSize(field, enumValue(get(m), names, what)),
  write: (w, m) => w.smallField(field, enumValue(get(m), names, what)),
});

const COMPARE: FieldCodec<ICompare>[] = [
  enumField(1, (c) => c.result, COMPARE_RESULTS, 'compare result'),
  enumField(2, (c) => c.target, COMPARE_TARGETS, 'compare target'),
  bytesField(3, (c) => c.key),
  // The compared value: a oneof, so written whenever set, zero included.
  int64Field(4, (c) => c.version, true),
  int64Field(5, (c) => c.create_revision, true),
  int64Field(6, (c) => c.mod_revision, true),
  bytesField(7, (c) => c.value, true),
  int64Field(8, (c) => c.lease, true),
  bytesField(64, (c) => c.range_end),
];

const RANGE: FieldCodec<IRangeRequest>[] = [
  bytesField(1, (r) => r.key),
  bytesField(2, (r) => r.range_end),
  int64Field(3, (r) => r.limit),
  int64Field(4, (r) => r.revision),
  enumField(5, (r) => r.sort_order, SORT_ORDERS, 'sort order'),
  enumField(6, (r) => r.sort_target, SORT_TARGETS, 'sort target'),
  boolField(7, (r) => r.serializable),
  boolField(8, (r) => r.keys_only),
  boolField(9, (r) => r.count_only),
  int64Field(10, (r) => r.min_mod_revision),
  int64Field(11, (r) => r.max_mod_revision),
  int64Field(12, (r) => r.min_create_revision),
  int64Field(13, (r) => r.max_create_revision),
];

const PUT: FieldCodec<IPutRequest>[] = [
  bytesField(1, (p) => p.key),
  bytesField(2, (p) => p.value),
  int64Field(3, (p) => p.lease),
  boolField(4, (p) => p.prev_kv),
  boolField(5, (p) => p.ignore_value),
  boolField(6, (p) => p.ignore_lease),
];

const DELETE: FieldCodec<IDeleteRangeRequest>[] = [bytesField(1, (d) => d.key), bytesField(2, (d) => d.range_end), boolField(3, (d) => d.prev_kv)];

function messageSize<M>(fields: readonly FieldCodec<M>[], m: M): number {
  let n = 0;
  for (const f of fields) n += f.size(m);
  return n;
}

function writeMessage<M>(w: Writer, fields: readonly FieldCodec<M>[], m: M): void {
  for (const f of fields) f.write(w, m);
}

/** The one request an op carries: its field number and content size. */
function opContent(op: IRequestOp): { field: number; size: number } {
  const set = (op.request_range ? 1 : 0) + (op.request_put ? 1 : 0) + (op.request_delete_range ? 1 : 0) + (op.request_txn ? 1 : 0);
  if (set !== 1) throw new RangeError(`txn request: a request op carries ${set} requests, not one`);
  if (op.request_range) return { field: 1, size: messageSize(RANGE, op.request_range) };
  if (op.request_put) return { field: 2, size: messageSize(PUT, op.request_put) };
  if (op.request_delete_range) return { field: 3, size: messageSize(DELETE, op.request_delete_range) };
  return { field: 4, size: txnSize(op.request_txn!) };
}

function opSize(op: IRequestOp): number {
  const c = opContent(op);
  return lenFieldSize(c.field, c.size);
}

function txnSize(t: ITxnRequest): number {
  let n = 0;
  for (const c of t.compare ?? []) n += lenFieldSize(1, messageSize(COMPARE, c));
  for (const op of t.success ?? []) n += lenFieldSize(2, opSize(op));
  for (const op of t.failure ?? []) n += lenFieldSize(3, opSize(op));
  return n;
}

function writeOp(w: Writer, field: number, op: IRequestOp): void {
  const c = opContent(op);
  w.lenHead(field, lenFieldSize(c.field, c.size));
  w.lenHead(c.field, c.size);
  if (op.request_range) writeMessage(w, RANGE, op.request_range);
  else if (op.request_put) writeMessage(w, PUT, op.request_put);
  else if (op.request_delete_range) writeMessage(w, DELETE, op.request_delete_range);
  else writeTxn(w, op.request_txn!);
}

function writeTxn(w: Writer, t: ITxnRequest): void {
  for (const c of t.compare ?? []) {
    w.lenHead(1, messageSize(COMPARE, c));
    writeMessage(w, COMPARE, c);
  }
  for (const op of t.success ?? []) writeOp(w, 2, op);
  for (const op of t.failure ?? []) writeOp(w, 3, op);
}

/**
 * etcdserverpb.TxnRequest. Throws RangeError on what the message cannot carry (an op with no
 * request or two, an unknown enum name): nothing is sent then.
 */
export function encodeTxnRequest(req: ITxnRequest): Buffer {
  const w = new Writer(txnSize(req));
  writeTxn(w, req);
  return w.finish();
}

// ---- response ----

/** proto3 leaves a zero out: what an absent header reads as (nested responses carry none). */
function emptyHeader(): IResponseHeader {
  return { cluster_id: '0', member_id: '0', revision: '0', raft_term: '0' };
}

/** Each reader below reads one message field of `r`, ending at `end`, and leaves `r` there. */
function readHeader(r: Reader, end: number): IResponseHeader {
  const h = emptyHeader();
  readFields(r, end, (field, wire, inner) => {
    if (wire !== VARINT) return false;
    if (field === 1) h.cluster_id = inner.varintString(false);
    else if (field === 2) h.member_id = inner.varintString(false);
    else if (field === 3) h.revision = String(inner.varint());
    else if (field === 4) h.raft_term = inner.varintString(false);
    else return false;
    return true;
  });
  return h;
}

function readKeyValue(r: Reader, end: number): IKeyValue {
  const kv: IKeyValue = { key: EMPTY, create_revision: '0', mod_revision: '0', version: '0', value: EMPTY, lease: '0' };
  readFields(r, end, (field, wire, inner) => {
    if (wire === LEN && field === 1) kv.key = inner.bytes();
    else if (wire === LEN && field === 5) kv.value = inner.bytes();
    else if (wire !== VARINT) return false;
    else if (field === 2) kv.create_revision = String(inner.varint());
    else if (field === 3) kv.mod_revision = String(inner.varint());
    else if (field === 4) kv.version = String(inner.varint());
    else if (field === 6) kv.lease = inner.varintString(true);
    else return false;
    return true;
  });
  return kv;
}

function readRange(r: Reader, end: number): IRangeResponse {
  const res: IRangeResponse = { header: emptyHeader(), kvs: [], more: false, count: '0' };
  readFields(r, end, (field, wire, inner) => {
    if (wire === LEN && field === 1) res.header = readHeader(inner, inner.lengthEnd());
    else if (wire === LEN && field === 2) res.kvs.push(readKeyValue(inner, inner.lengthEnd()));
    else if (wire === VARINT && field === 3) res.more = inner.varint() !== 0;
    else if (wire === VARINT && field === 4) res.count = String(inner.varint());
    else return false;
    return true;
  });
  return res;
}

/** PutResponse; `prev_kv` is null when etcd sent none (as etcd3 gives it). */
function readPut(r: Reader, end: number): IPutResponse {
  let header = emptyHeader();
  let prev: IKeyValue | null = null;
  readFields(r, end, (field, wire, inner) => {
    if (wire === LEN && field === 1) header = readHeader(inner, inner.lengthEnd());
    else if (wire === LEN && field === 2) prev = readKeyValue(inner, inner.lengthEnd());
    else return false;
    return true;
  });
  return { header, prev_kv: prev as unknown as IKeyValue };
}

function readDelete(r: Reader, end: number): IDeleteRangeResponse {
  const res: IDeleteRangeResponse = { header: emptyHeader(), deleted: '0', prev_kvs: [] };
  readFields(r, end, (field, wire, inner) => {
    if (wire === LEN && field === 1) res.header = readHeader(inner, inner.lengthEnd());
    else if (wire === VARINT && field === 2) res.deleted = String(inner.varint());
    else if (wire === LEN && field === 3) res.prev_kvs.push(readKeyValue(inner, inner.lengthEnd()));
    else return false;
    return true;
  });
  return res;
}

/** A ResponseOp holds exactly one response; only that key is set on the object. */
function readOp(r: Reader, end: number): IResponseOp {
  const op: Partial<IResponseOp> = {};
  readFields(r, end, (field, wire, inner) => {
    if (wire !== LEN) return false;
    if (field === 1) op.response_range = readRange(inner, inner.lengthEnd());
    else if (field === 2) op.response_put = readPut(inner, inner.lengthEnd());
    else if (field === 3) op.response_delete_range = readDelete(inner, inner.lengthEnd());
    else if (field === 4) op.response_txn = readTxn(inner, inner.lengthEnd());
    else return false;
    return true;
  });
  return op as IResponseOp;
}

function readTxn(r: Reader, end: number): ITxnResponse {
  const res: ITxnResponse = { header: emptyHeader(), succeeded: false, responses: [] };
  readFields(r, end, (field, wire, inner) => {
    if (wire === LEN && field === 1) res.header = readHeader(inner, inner.lengthEnd());
    else if (wire === VARINT && field === 2) res.succeeded = inner.varint() !== 0;
    else if (wire === LEN && field === 3) res.responses.push(readOp(inner, inner.lengthEnd()));
    else return false;
    return true;
  });
  return res;
}

/** etcdserverpb.TxnResponse. Throws RangeError on a malformed message. */
export function decodeTxnResponse(buf: Buffer): ITxnResponse {
  return readTxn(new Reader(buf, 0, buf.length, WHAT), buf.length);
}
