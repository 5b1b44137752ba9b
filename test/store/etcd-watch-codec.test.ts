// The hand-written Watch codec must read and write exactly what etcd's own protobuf definitions
// (the .proto files etcd3 loads) say, including fields it skips and values past 2^32.
import { createRequire } from 'node:module';
import path from 'node:path';
import { expect } from 'chai';
import protobuf from 'protobufjs';
import { WATCH_PROGRESS_REQUEST, decodeWatchResponse, encodeWatchCreate } from '../../apiserver/storage/etcd-watch-codec.js';

const require = createRequire(import.meta.url);
const protoDir = path.join(path.dirname(require.resolve('etcd3/package.json')), 'proto');
const root = new protobuf.Root().loadSync(path.join(protoDir, 'rpc.proto'), { keepCase: true });
const WatchResponse = root.lookupType('etcdserverpb.WatchResponse');
const WatchRequest = root.lookupType('etcdserverpb.WatchRequest');

function encodeResponse(fields: Record<string, unknown>): Buffer {
  return Buffer.from(WatchResponse.encode(WatchResponse.fromObject(fields)).finish());
}

describe('etcd watch codec', () => {
  it('reads every field a watch uses, skipping the rest', () => {
    const big = 2 ** 40 + 12345; // past 32 bits: a multi-byte varint read as a number
    const buf = encodeResponse({
      header: { cluster_id: '123456789012', member_id: '42', revision: String(big + 9), raft_term: '7' },
      watch_id: '3',
      created: true,
      fragment: true,
      events: [
        {
          type: 'Put',
          kv: { key: Buffer.from('/p/pods/a'), create_revision: '5', mod_revision: String(big), version: '2', value: Buffer.from('{"x":1}'), lease: '99' },
          prev_kv: { key: Buffer.from('/p/pods/a'), create_revision: '5', mod_revision: '6', version: '1', value: Buffer.from('{"x":0}') },
        },
        { type: 'Delete', kv: { key: Buffer.from('/p/pods/b'), mod_revision: String(big + 1) } },
      ],
    });
    const res = decodeWatchResponse(buf);
    expect(res.created).to.equal(true);
    expect(res.fragment).to.equal(true);
    expect(res.canceled).to.equal(false);
    expect(res.events).to.have.length(2);
    const [put, del] = res.events;
    expect(put!.type).to.equal('put');
    expect(put!.kv.key.toString()).to.equal('/p/pods/a');
    expect(put!.kv.value.toString()).to.equal('{"x":1}');
    expect(put!.kv.modRevision).to.equal(big);
    expect(put!.kv.createRevision).to.equal(5);
    expect(put!.prevKv?.value.toString()).to.equal('{"x":0}');
    expect(put!.prevKv?.modRevision).to.equal(6);
    expect(del!.type).to.equal('delete');
    expect(del!.kv.key.toString()).to.equal('/p/pods/b');
    expect(del!.kv.value.length).to.equal(0);
    expect(del!.kv.modRevision).to.equal(big + 1);
    expect(del!.prevKv).to.equal(undefined);
  });

  it('reads a cancellation with its compaction revision and reason', () => {
    const res = decodeWatchResponse(encodeResponse({ canceled: true, compact_revision: '77', cancel_reason: 'mvcc: required revision has been compacted' }));
    expect(res).to.deep.include({ canceled: true, compactRevision: 77, cancelReason: 'mvcc: required revision has been compacted' });
    expect(res.events).to.deep.equal([]);
  });

  it('refuses a truncated message instead of reading past it', () => {
    const buf = encodeResponse({ events: [{ type: 'Put', kv: { key: Buffer.from('/k'), mod_revision: '9', value: Buffer.from('value') } }] });
    expect(() => decodeWatchResponse(buf.subarray(0, buf.length - 3))).to.throw(RangeError);
  });

  it('writes create and progress requests etcd reads as intended', () => {
    const create = WatchRequest.toObject(
      WatchRequest.decode(encodeWatchCreate({ key: Buffer.from('/p/pods/'), rangeEnd: Buffer.from('/p/pods0'), startRevision: 2 ** 35 + 1, prevKv: true, fragment: true })),
      { longs: String, bytes: String, oneofs: true },
    );
    expect(create).to.deep.equal({
      request_union: 'create_request',
      create_request: {
        key: Buffer.from('/p/pods/').toString('base64'),
        range_end: Buffer.from('/p/pods0').toString('base64'),
        start_revision: String(2 ** 35 + 1),
        prev_kv: true,
        fragment: true,
      },
    });
    const bare = WatchRequest.toObject(WatchRequest.decode(encodeWatchCreate({ key: Buffer.from('/k'), rangeEnd: Buffer.from('/l'), startRevision: 0, prevKv: false, fragment: false })), { oneofs: true });
    expect(bare['create_request']).to.not.have.any.keys('prev_kv', 'fragment', 'start_revision');
    const progress = WatchRequest.toObject(WatchRequest.decode(WATCH_PROGRESS_REQUEST), { oneofs: true });
    expect(progress).to.deep.equal({ request_union: 'progress_request', progress_request: {} });
  });
});
