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
import { EMPTY, LEN, Reader, VARINT, Writer, int64FieldSize, lenFieldSize, readFields, smallFieldSize } from './protobuf-wire.js';

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

const WHAT = 'watch response';

function readKeyValue(r: Reader, end: number): WatchKeyValue {
  const kv: WatchKeyValue = { key: EMPTY, createRevision: 0, modRevision: 0, value: EMPTY };
  readFields(r, end, (field, wire, inner) => {
    if (field === 1 && wire === LEN) kv.key = inner.bytes();
    else if (field === 2 && wire === VARINT) kv.createRevision = inner.varint();
    else if (field === 3 && wire === VARINT) kv.modRevision = inner.varint();
    else if (field === 5 && wire === LEN) kv.value = inner.bytes();
    else return false;
    return true;
  });
  return kv;
}

function readEvent(r: Reader, end: number): WatchEventMessage {
  let type: 'put' | 'delete' = 'put';
  let kv: WatchKeyValue | undefined;
  let prevKv: WatchKeyValue | undefined;
  readFields(r, end, (field, wire, inner) => {
    if (field === 1 && wire === VARINT) type = inner.varint() === 1 ? 'delete' : 'put';
    else if (field === 2 && wire === LEN) kv = readKeyValue(inner, inner.lengthEnd());
    else if (field === 3 && wire === LEN) prevKv = readKeyValue(inner, inner.lengthEnd());
    else return false;
    return true;
  });
  // proto3: an absent message field is the empty message.
  return { type, kv: kv ?? { key: EMPTY, createRevision: 0, modRevision: 0, value: EMPTY }, prevKv };
}

/** etcdserverpb.WatchResponse, the fields a watch reads. Throws RangeError on a malformed message. */
export function decodeWatchResponse(buf: Buffer): WatchResponseMessage {
  const res: WatchResponseMessage = { created: false, canceled: false, compactRevision: 0, cancelReason: '', fragment: false, events: [] };
  readFields(new Reader(buf, 0, buf.length, WHAT), buf.length, (field, wire, r) => {
    if (field === 11 && wire === LEN) res.events.push(readEvent(r, r.lengthEnd()));
    else if (field === 3 && wire === VARINT) res.created = r.varint() !== 0;
    else if (field === 4 && wire === VARINT) res.canceled = r.varint() !== 0;
    else if (field === 5 && wire === VARINT) res.compactRevision = r.varint();
    else if (field === 6 && wire === LEN) res.cancelReason = r.bytes().toString('utf8');
    else if (field === 7 && wire === VARINT) res.fragment = r.varint() !== 0;
    else return false;
    return true;
  });
  return res;
}

/** etcdserverpb.WatchRequest carrying a create_request (field 1). */
export function encodeWatchCreate(req: WatchCreate): Buffer {
  // WatchCreateRequest: key = 1, range_end = 2 (bytes); start_revision = 3, prev_kv = 6, fragment = 8 (varints).
  // key and range_end are written even when empty, as before: etcd reads an absent one the same.
  const inner =
    lenFieldSize(1, req.key.length) + lenFieldSize(2, req.rangeEnd.length) + int64FieldSize(3, req.startRevision) + smallFieldSize(6, req.prevKv) + smallFieldSize(8, req.fragment);
  const w = new Writer(lenFieldSize(1, inner));
  w.lenHead(1, inner);
  w.lenHead(1, req.key.length);
  req.key.copy(w.buf, w.pos);
  w.pos += req.key.length;
  w.lenHead(2, req.rangeEnd.length);
  req.rangeEnd.copy(w.buf, w.pos);
  w.pos += req.rangeEnd.length;
  w.int64Field(3, req.startRevision);
  w.smallField(6, req.prevKv);
  w.smallField(8, req.fragment);
  return w.finish();
}

/** etcdserverpb.WatchRequest carrying an (empty) progress_request (field 3). */
export const WATCH_PROGRESS_REQUEST = Buffer.from([0x1a, 0x00]);
