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
  smallFieldSize,
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

// ---- request: sizes ----

function compareSize(c: ICompare): number {
  return (
    smallFieldSize(1, enumValue(c.result, COMPARE_RESULTS, 'compare result')) +
    smallFieldSize(2, enumValue(c.target, COMPARE_TARGETS, 'compare target')) +
    bytesFieldSize(3, c.key) +
    // The compared value: a oneof, so written whenever set, zero included.
    int64FieldSize(4, c.version, true) +
    int64FieldSize(5, c.create_revision, true) +
    int64FieldSize(6, c.mod_revision, true) +
    bytesFieldSize(7, c.value, true) +
    int64FieldSize(8, c.lease, true) +
    bytesFieldSize(64, c.range_end)
  );
}

function rangeSize(r: IRangeRequest): number {
  return (
    bytesFieldSize(1, r.key) +
    bytesFieldSize(2, r.range_end) +
    int64FieldSize(3, r.limit) +
    int64FieldSize(4, r.revision) +
    smallFieldSize(5, enumValue(r.sort_order, SORT_ORDERS, 'sort order')) +
    smallFieldSize(6, enumValue(r.sort_target, SORT_TARGETS, 'sort target')) +
    smallFieldSize(7, r.serializable) +
    smallFieldSize(8, r.keys_only) +
    smallFieldSize(9, r.count_only) +
    int64FieldSize(10, r.min_mod_revision) +
    int64FieldSize(11, r.max_mod_revision) +
    int64FieldSize(12, r.min_create_revision) +
    int64FieldSize(13, r.max_create_revision)
  );
}

function putSize(p: IPutRequest): number {
  return (
    bytesFieldSize(1, p.key) +
    bytesFieldSize(2, p.value) +
    int64FieldSize(3, p.lease) +
    smallFieldSize(4, p.prev_kv) +
    smallFieldSize(5, p.ignore_value) +
    smallFieldSize(6, p.ignore_lease)
  );
}

function deleteSize(d: IDeleteRangeRequest): number {
  return bytesFieldSize(1, d.key) + bytesFieldSize(2, d.range_end) + smallFieldSize(3, d.prev_kv);
}

/** The one request an op carries: its field number and content size. */
function opContent(op: IRequestOp): { field: number; size: number } {
  const set = (op.request_range ? 1 : 0) + (op.request_put ? 1 : 0) + (op.request_delete_range ? 1 : 0) + (op.request_txn ? 1 : 0);
  if (set !== 1) throw new RangeError(`txn request: a request op carries ${set} requests, not one`);
  if (op.request_range) return { field: 1, size: rangeSize(op.request_range) };
  if (op.request_put) return { field: 2, size: putSize(op.request_put) };
  if (op.request_delete_range) return { field: 3, size: deleteSize(op.request_delete_range) };
  return { field: 4, size: txnSize(op.request_txn!) };
}

function opSize(op: IRequestOp): number {
  const c = opContent(op);
  return lenFieldSize(c.field, c.size);
}

function txnSize(t: ITxnRequest): number {
  let n = 0;
  for (const c of t.compare ?? []) n += lenFieldSize(1, compareSize(c));
  for (const op of t.success ?? []) n += lenFieldSize(2, opSize(op));
  for (const op of t.failure ?? []) n += lenFieldSize(3, opSize(op));
  return n;
}

// ---- request: writing ----

function writeCompare(w: Writer, c: ICompare): void {
  w.smallField(1, enumValue(c.result, COMPARE_RESULTS, 'compare result'));
  w.smallField(2, enumValue(c.target, COMPARE_TARGETS, 'compare target'));
  w.bytesField(3, c.key);
  w.int64Field(4, c.version, true);
  w.int64Field(5, c.create_revision, true);
  w.int64Field(6, c.mod_revision, true);
  w.bytesField(7, c.value, true);
  w.int64Field(8, c.lease, true);
  w.bytesField(64, c.range_end);
}

function writeRange(w: Writer, r: IRangeRequest): void {
  w.bytesField(1, r.key);
  w.bytesField(2, r.range_end);
  w.int64Field(3, r.limit);
  w.int64Field(4, r.revision);
  w.smallField(5, enumValue(r.sort_order, SORT_ORDERS, 'sort order'));
  w.smallField(6, enumValue(r.sort_target, SORT_TARGETS, 'sort target'));
  w.smallField(7, r.serializable);
  w.smallField(8, r.keys_only);
  w.smallField(9, r.count_only);
  w.int64Field(10, r.min_mod_revision);
  w.int64Field(11, r.max_mod_revision);
  w.int64Field(12, r.min_create_revision);
  w.int64Field(13, r.max_create_revision);
}

function writePut(w: Writer, p: IPutRequest): void {
  w.bytesField(1, p.key);
  w.bytesField(2, p.value);
  w.int64Field(3, p.lease);
  w.smallField(4, p.prev_kv);
  w.smallField(5, p.ignore_value);
  w.smallField(6, p.ignore_lease);
}

function writeDelete(w: Writer, d: IDeleteRangeRequest): void {
  w.bytesField(1, d.key);
  w.bytesField(2, d.range_end);
  w.smallField(3, d.prev_kv);
}

function writeOp(w: Writer, field: number, op: IRequestOp): void {
  const c = opContent(op);
  w.lenHead(field, lenFieldSize(c.field, c.size));
  w.lenHead(c.field, c.size);
  if (op.request_range) writeRange(w, op.request_range);
  else if (op.request_put) writePut(w, op.request_put);
  else if (op.request_delete_range) writeDelete(w, op.request_delete_range);
  else writeTxn(w, op.request_txn!);
}

function writeTxn(w: Writer, t: ITxnRequest): void {
  for (const c of t.compare ?? []) {
    w.lenHead(1, compareSize(c));
    writeCompare(w, c);
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

/** `end` is where the message starts' field ends; `r` is left there. */
function readHeader(r: Reader, end: number): IResponseHeader {
  const h = emptyHeader();
  const inner = new Reader(r.buf, r.pos, end, WHAT);
  while (inner.pos < end) {
    const tag = inner.varint();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (wire !== VARINT || field < 1 || field > 4) inner.skip(wire);
    else if (field === 1) h.cluster_id = inner.varintString(false);
    else if (field === 2) h.member_id = inner.varintString(false);
    else if (field === 3) h.revision = String(inner.varint());
    else h.raft_term = inner.varintString(false);
  }
  r.pos = end;
  return h;
}

function readKeyValue(r: Reader, end: number): IKeyValue {
  const kv: IKeyValue = { key: EMPTY, create_revision: '0', mod_revision: '0', version: '0', value: EMPTY, lease: '0' };
  const inner = new Reader(r.buf, r.pos, end, WHAT);
  while (inner.pos < end) {
    const tag = inner.varint();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === LEN) kv.key = inner.bytes();
    else if (field === 2 && wire === VARINT) kv.create_revision = String(inner.varint());
    else if (field === 3 && wire === VARINT) kv.mod_revision = String(inner.varint());
    else if (field === 4 && wire === VARINT) kv.version = String(inner.varint());
    else if (field === 5 && wire === LEN) kv.value = inner.bytes();
    else if (field === 6 && wire === VARINT) kv.lease = inner.varintString(true);
    else inner.skip(wire);
  }
  r.pos = end;
  return kv;
}

function readRange(r: Reader, end: number): IRangeResponse {
  const res: IRangeResponse = { header: emptyHeader(), kvs: [], more: false, count: '0' };
  const inner = new Reader(r.buf, r.pos, end, WHAT);
  while (inner.pos < end) {
    const tag = inner.varint();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === LEN) res.header = readHeader(inner, inner.lengthEnd());
    else if (field === 2 && wire === LEN) res.kvs.push(readKeyValue(inner, inner.lengthEnd()));
    else if (field === 3 && wire === VARINT) res.more = inner.varint() !== 0;
    else if (field === 4 && wire === VARINT) res.count = String(inner.varint());
    else inner.skip(wire);
  }
  r.pos = end;
  return res;
}

/** PutResponse; `prev_kv` is null when etcd sent none (as etcd3 gives it). */
function readPut(r: Reader, end: number): IPutResponse {
  let header = emptyHeader();
  let prev: IKeyValue | null = null;
  const inner = new Reader(r.buf, r.pos, end, WHAT);
  while (inner.pos < end) {
    const tag = inner.varint();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === LEN) header = readHeader(inner, inner.lengthEnd());
    else if (field === 2 && wire === LEN) prev = readKeyValue(inner, inner.lengthEnd());
    else inner.skip(wire);
  }
  r.pos = end;
  return { header, prev_kv: prev as IKeyValue };
}

function readDelete(r: Reader, end: number): IDeleteRangeResponse {
  const res: IDeleteRangeResponse = { header: emptyHeader(), deleted: '0', prev_kvs: [] };
  const inner = new Reader(r.buf, r.pos, end, WHAT);
  while (inner.pos < end) {
    const tag = inner.varint();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === LEN) res.header = readHeader(inner, inner.lengthEnd());
    else if (field === 2 && wire === VARINT) res.deleted = String(inner.varint());
    else if (field === 3 && wire === LEN) res.prev_kvs.push(readKeyValue(inner, inner.lengthEnd()));
    else inner.skip(wire);
  }
  r.pos = end;
  return res;
}

/** A ResponseOp holds exactly one response; only that key is set on the object. */
function readOp(r: Reader, end: number): IResponseOp {
  const op: Partial<IResponseOp> = {};
  const inner = new Reader(r.buf, r.pos, end, WHAT);
  while (inner.pos < end) {
    const tag = inner.varint();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (wire !== LEN || field < 1 || field > 4) {
      inner.skip(wire);
      continue;
    }
    const fieldEnd = inner.lengthEnd();
    if (field === 1) op.response_range = readRange(inner, fieldEnd);
    else if (field === 2) op.response_put = readPut(inner, fieldEnd);
    else if (field === 3) op.response_delete_range = readDelete(inner, fieldEnd);
    else op.response_txn = readTxn(inner, fieldEnd);
  }
  r.pos = end;
  return op as IResponseOp;
}

function readTxn(r: Reader, end: number): ITxnResponse {
  const res: ITxnResponse = { header: emptyHeader(), succeeded: false, responses: [] };
  const inner = new Reader(r.buf, r.pos, end, WHAT);
  while (inner.pos < end) {
    const tag = inner.varint();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === LEN) res.header = readHeader(inner, inner.lengthEnd());
    else if (field === 2 && wire === VARINT) res.succeeded = inner.varint() !== 0;
    else if (field === 3 && wire === LEN) res.responses.push(readOp(inner, inner.lengthEnd()));
    else inner.skip(wire);
  }
  r.pos = end;
  return res;
}

/** etcdserverpb.TxnResponse. Throws RangeError on a malformed message. */
export function decodeTxnResponse(buf: Buffer): ITxnResponse {
  return readTxn(new Reader(buf, 0, buf.length, WHAT), buf.length);
}
