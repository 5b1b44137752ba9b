// The hand-written Txn codec must write and read exactly what etcd's own protobuf definitions (the
// .proto files etcd3 loads) say: every field of every request op, nested transactions, int64s past
// 2^53 (lease IDs), and responses with fields it skips.
import { createRequire } from 'node:module';
import path from 'node:path';
import { expect } from 'chai';
import type { ITxnRequest } from 'etcd3';
import protobuf from 'protobufjs';
import { decodeTxnResponse, encodeTxnRequest } from '../../apiserver/storage/etcd-txn-codec.js';

const require = createRequire(import.meta.url);
const protoDir = path.join(path.dirname(require.resolve('etcd3/package.json')), 'proto');
const root = new protobuf.Root().loadSync(path.join(protoDir, 'rpc.proto'), { keepCase: true });
const TxnRequest = root.lookupType('etcdserverpb.TxnRequest');
const TxnResponse = root.lookupType('etcdserverpb.TxnResponse');

/** A message as protobufjs reads it: every field with its default, int64s as strings, enums as names. */
function asRead(type: protobuf.Type, buf: Uint8Array): Record<string, unknown> {
  return type.toObject(type.decode(buf), { longs: String, enums: String, bytes: String, defaults: true, arrays: true });
}

/** What etcd reads from our encoding equals what it reads from etcd3's (protobufjs's) own. */
function expectSameAsReference(req: ITxnRequest): void {
  const ours = encodeTxnRequest(req);
  const reference = TxnRequest.encode(TxnRequest.fromObject(req)).finish();
  expect(asRead(TxnRequest, ours)).to.deep.equal(asRead(TxnRequest, reference));
}

const key = (s: string) => Buffer.from(s, 'utf8');
const LEASE = '7587870428345867013'; // past 2^53: exact only as a decimal string

describe('etcd txn codec', () => {
  it('writes a single put with its compare as etcd3 does', () => {
    expectSameAsReference({
      compare: [{ key: key('/r/pods/a'), target: 'Mod', result: 'Equal', mod_revision: 0 }],
      success: [{ request_put: { key: key('/r/pods/a'), value: key('{"x":1}') } }],
      failure: [{ request_range: { key: key('/r/pods/a') } }],
    });
  });

  it('writes every field of compares, ranges, puts and deletes', () => {
    expectSameAsReference({
      compare: [
        { key: key('k1'), target: 'Mod', result: 'Greater', mod_revision: 2 ** 40 + 3 },
        { key: key('k2'), target: 'Version', result: 'Less', version: '12' },
        { key: key('k3'), target: 'Create', result: 'NotEqual', create_revision: 7 },
        { key: key('k4'), target: 'Value', result: 'Equal', value: key('v') },
        { key: key('k5'), target: 'Lease', result: 'Equal', lease: LEASE, range_end: key('k6') },
        { key: key('k7'), target: 2, result: 1, mod_revision: '9007199254740993' },
      ],
      success: [
        {
          request_range: {
            key: key('a'),
            range_end: key('b'),
            limit: 500,
            revision: '123456',
            sort_order: 'Descend',
            sort_target: 'Mod',
            serializable: true,
            keys_only: true,
            count_only: true,
            min_mod_revision: 1,
            max_mod_revision: 2,
            min_create_revision: 3,
            max_create_revision: 4,
          },
        },
        { request_put: { key: key('p'), value: Buffer.alloc(70_000, 0x61), lease: LEASE, prev_kv: true, ignore_value: true, ignore_lease: true } },
        { request_delete_range: { key: key('d'), range_end: key('e'), prev_kv: true } },
      ],
      failure: [{ request_put: { key: key('empty'), value: Buffer.alloc(0) } }],
    });
  });

  it('writes nested transactions, as group commit sends them', () => {
    const nested = (i: number): ITxnRequest => ({
      compare: [{ key: key(`/r/pods/p${i}`), target: 'Mod', result: 'Equal', mod_revision: i }],
      success: [
        { request_put: { key: key(`/r/pods/p${i}`), value: key(`{"i":${i}}`), prev_kv: true } },
        { request_txn: { success: [{ request_delete_range: { key: key(`/r/x/${i}`) } }] } },
      ],
      failure: [{ request_range: { key: key(`/r/pods/p${i}`) } }],
    });
    expectSameAsReference({ success: Array.from({ length: 50 }, (_, i) => ({ request_txn: nested(i) })) });
    expectSameAsReference({});
  });

  it('refuses an op that carries no request, or two', () => {
    expect(() => encodeTxnRequest({ success: [{}] })).to.throw(RangeError, /carries 0 requests/);
    expect(() => encodeTxnRequest({ success: [{ request_put: { key: key('a') }, request_range: { key: key('a') } }] })).to.throw(RangeError, /carries 2 requests/);
    expect(() => encodeTxnRequest({ compare: [{ key: key('a'), result: 'Sideways' as 'Equal' }] })).to.throw(RangeError, /compare result/);
  });

  it('reads every response kind, nested, with headers and int64s past 2^53', () => {
    const kv = (k: string, rev: number) => ({ key: key(k), create_revision: '5', mod_revision: String(rev), version: '3', value: key(`{"k":"${k}"}`), lease: LEASE });
    const big = 2 ** 45 + 17;
    const buf = TxnResponse.encode(
      TxnResponse.fromObject({
        header: { cluster_id: '14841639068965178418', member_id: '10276657743932975437', revision: String(big), raft_term: '8' },
        succeeded: true,
        responses: [
          { response_range: { kvs: [kv('a', big - 1), kv('b', 4)], more: true, count: '2' } },
          { response_put: { prev_kv: kv('c', 9) } },
          { response_put: {} },
          { response_delete_range: { deleted: '2', prev_kvs: [kv('d', 10)] } },
          {
            response_txn: {
              succeeded: false,
              responses: [{ response_range: { kvs: [] } }, { response_txn: { succeeded: true, responses: [{ response_delete_range: { deleted: '1' } }] } }],
            },
          },
        ],
      }),
    ).finish();
    const res = decodeTxnResponse(Buffer.from(buf));
    expect(res.header).to.deep.equal({ cluster_id: '14841639068965178418', member_id: '10276657743932975437', revision: String(big), raft_term: '8' });
    expect(res.succeeded).to.equal(true);
    expect(res.responses).to.have.length(5);
    const range = res.responses[0]!.response_range;
    expect(range.more).to.equal(true);
    expect(range.count).to.equal('2');
    expect(range.kvs.map((k) => ({ ...k, key: k.key.toString(), value: k.value.toString() }))).to.deep.equal([
      { key: 'a', create_revision: '5', mod_revision: String(big - 1), version: '3', value: '{"k":"a"}', lease: LEASE },
      { key: 'b', create_revision: '5', mod_revision: '4', version: '3', value: '{"k":"b"}', lease: LEASE },
    ]);
    expect(res.responses[1]!.response_put.prev_kv.mod_revision).to.equal('9');
    expect(res.responses[2]!.response_put.prev_kv).to.equal(null);
    expect(res.responses[3]!.response_delete_range.deleted).to.equal('2');
    expect(res.responses[3]!.response_delete_range.prev_kvs[0]!.key.toString()).to.equal('d');
    const inner = res.responses[4]!.response_txn;
    expect(inner.succeeded).to.equal(false);
    expect(inner.header.revision).to.equal('0');
    expect(inner.responses[0]!.response_range.kvs).to.deep.equal([]);
    expect(inner.responses[1]!.response_txn.responses[0]!.response_delete_range.deleted).to.equal('1');
    // Only the response an op carries is set.
    expect(Object.keys(res.responses[1]!)).to.deep.equal(['response_put']);
  });

  it('skips fields it does not know, and refuses a truncated message', () => {
    const known = TxnResponse.encode(TxnResponse.fromObject({ header: { revision: '42' }, succeeded: true })).finish();
    // Field 15 (varint 5) and field 14 (bytes "xyz") appended: a newer etcd's fields.
    const extended = Buffer.concat([Buffer.from(known), Buffer.from([0x78, 0x05, 0x72, 0x03, 0x78, 0x79, 0x7a])]);
    const res = decodeTxnResponse(extended);
    expect(res.header.revision).to.equal('42');
    expect(res.succeeded).to.equal(true);
    expect(() => decodeTxnResponse(Buffer.from(known).subarray(0, known.length - 1))).to.throw(RangeError, /txn response/);
  });

  it('round-trips random requests the way protobufjs reads them', () => {
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const op = (depth: number): ITxnRequest['success'] extends (infer O)[] | undefined ? O : never => {
      switch (rand(depth > 1 ? 3 : 4)) {
        case 0:
          return { request_range: { key: key(`k${rand(1000)}`), ...(rand(2) ? { limit: rand(10_000) } : {}), ...(rand(2) ? { revision: String(rand(2 ** 31) * 2 ** 20) } : {}) } };
        case 1:
          return { request_put: { key: key(`k${rand(1000)}`), value: Buffer.alloc(rand(300), 0x62), ...(rand(2) ? { lease: rand(2) ? LEASE : rand(100) } : {}), prev_kv: rand(2) === 1 } };
        case 2:
          return { request_delete_range: { key: key(`k${rand(1000)}`), prev_kv: rand(2) === 1 } };
        default:
          return { request_txn: txn(depth + 1) };
      }
    };
    const txn = (depth: number): ITxnRequest => ({
      compare: Array.from({ length: rand(4) }, () => ({ key: key(`c${rand(100)}`), target: 'Mod' as const, result: 'Equal' as const, mod_revision: rand(2 ** 30) })),
      success: Array.from({ length: rand(5) }, () => op(depth)),
      failure: Array.from({ length: rand(3) }, () => op(depth)),
    });
    for (let i = 0; i < 200; i++) expectSameAsReference(txn(0));
  });
});
