// Group commit (apiserver/storage/etcd-group-commit.ts) against a real etcd: transactions that
// share one etcd request must each get the answer they would have had alone.
import { expect } from 'chai';
import { Etcd3, type ITxnRequest, type ITxnResponse } from 'etcd3';
import { TxnGroupCommitter, type GroupCommitResult } from '../../apiserver/storage/etcd-group-commit.js';
import { readStamp } from '../../apiserver/storage/resource-version.js';
import { EtcdStore } from '../../apiserver/storage/etcd.js';
import { ConflictError } from '../../shared/errors.js';
import { etcdEndpoints, randomPrefix } from './helpers.js';

describe('etcd store: group commit', function () {
  let client: Etcd3;
  const prefix = randomPrefix();
  const key = (k: string) => Buffer.from(`${prefix}${k}`);
  /** Counts the gRPC calls the committer makes. */
  let sent: ITxnRequest[];
  const send = (req: ITxnRequest): Promise<ITxnResponse> => {
    sent.push(req);
    return client.kv.txn(req);
  };
  const createIfAbsent = (k: string, v: string): ITxnRequest => ({
    compare: [{ key: key(k), target: 'Mod', result: 'Equal', mod_revision: 0 }],
    success: [{ request_put: { key: key(k), value: Buffer.from(v) } }],
    failure: [{ request_range: { key: key(k) } }],
  });

  /** An object's stored bytes without the write-position stamp (storage/resource-version.ts). */
  const stored = async (k: string) => readStamp((await client.get(`${prefix}${k}`).buffer())!).value;
  const answer = (r: GroupCommitResult) => r.response;

  beforeEach(function () {
    client = new Etcd3({ hosts: etcdEndpoints() });
    sent = [];
  });
  afterEach(async function () {
    await client.delete().prefix(prefix);
    client.close();
  });

  it('answers each transaction of a batch on its own: successes and failed compares side by side', async function () {
    await client.put(`${prefix}/taken`).value('old');
    const gc = new TxnGroupCommitter(send, { maxInFlight: 1 });
    // Submitted in one turn of the event loop: they share one request.
    const committed = await Promise.all([
      gc.txn(createIfAbsent('/a', '1')),
      gc.txn(createIfAbsent('/b', '2')),
      gc.txn(createIfAbsent('/taken', 'new')),
      gc.txn(createIfAbsent('/c', '3')),
      gc.txn(createIfAbsent('/d', '4')),
      gc.txn(createIfAbsent('/e', '5')),
    ]);
    const results = committed.map(answer);
    // Each write has a position of its own in the shared revision, stored with its value.
    // (The refused one wrote nothing; its place stays unused.)
    expect(committed.map((r) => r.positions)).to.deep.equal([[0], [1], [], [3], [4], [5]]);
    expect(readStamp((await client.get(`${prefix}/e`).buffer())!)).to.deep.equal({ value: '5', position: 5 });
    expect(results.map((r) => r.succeeded)).to.deep.equal([true, true, false, true, true, true]);
    // The refused one read the current value in its failure branch, in the same round trip.
    expect(results[2]!.responses[0]!.response_range.kvs[0]!.value.toString()).to.equal('old');
    expect(await stored('/taken')).to.equal('old');
    expect(await stored('/e')).to.equal('5');
    expect(sent.length).to.equal(1);
    expect(gc.stats).to.deep.equal({ txns: 6, calls: sent.length });
    // A batch commits at one revision: its writes share it.
    const batched = results.slice(1).filter((r) => r.succeeded).map((r) => r.header.revision);
    expect(new Set(batched).size).to.equal(1);
  });

  it('never puts two transactions on the same key in one batch: both CAS on one key, one wins', async function () {
    const put = await client.put(`${prefix}/k`).value('0').exec();
    const rev = put.header.revision;
    const cas = (v: string): ITxnRequest => ({
      compare: [{ key: key('/k'), target: 'Mod', result: 'Equal', mod_revision: rev }],
      success: [{ request_put: { key: key('/k'), value: Buffer.from(v) } }],
    });
    const gc = new TxnGroupCommitter(send, { maxInFlight: 1 });
    const [blocker, first, second, other] = (
      await Promise.all([gc.txn(createIfAbsent('/blocker', 'x')), gc.txn(cas('1')), gc.txn(cas('2')), gc.txn(createIfAbsent('/other', 'y'))])
    ).map(answer) as [ITxnResponse, ITxnResponse, ITxnResponse, ITxnResponse];
    expect(blocker.succeeded && other.succeeded).to.equal(true);
    // Together in one batch both compares would see the old revision and both would "win".
    expect([first.succeeded, second.succeeded]).to.deep.equal([true, false]);
    // The second CAS was held back to a batch of its own, not sent and refused as a duplicate key.
    expect(sent.map((r) => r.success?.length)).to.deep.equal([3, 1]);
    expect(await stored('/k')).to.equal('1');
  });

  it('batches transactions that only compare a shared key, but not with one that writes it', async function () {
    const put = await client.put(`${prefix}/epoch`).value('').exec();
    const rev = put.header.revision;
    // A create guarded by an unchanged key (a namespace's quota epoch): many may share a batch.
    const guarded = (k: string): ITxnRequest => ({
      compare: [
        { key: key(k), target: 'Mod', result: 'Equal', mod_revision: 0 },
        { key: key('/epoch'), target: 'Mod', result: 'Equal', mod_revision: rev },
      ],
      success: [{ request_put: { key: key(k), value: Buffer.from('v') } }],
    });
    const bump: ITxnRequest = { compare: [], success: [{ request_put: { key: key('/epoch'), value: Buffer.from('new') } }] };
    const gc = new TxnGroupCommitter(send, { maxInFlight: 1 });
    const results = (
      await Promise.all([gc.txn(createIfAbsent('/blocker', 'x')), gc.txn(guarded('/p1')), gc.txn(guarded('/p2')), gc.txn(bump), gc.txn(guarded('/p3'))])
    ).map(answer);
    // blocker, p1, p2 (comparing the same key: one batch) | the bump | p3, which now fails its compare.
    expect(sent.map((r) => r.success?.length)).to.deep.equal([3, 1, 1]);
    expect(results.map((r) => r.succeeded)).to.deep.equal([true, true, true, true, false]);
  });

  it('falls back to one request per transaction when etcd refuses the batch before applying it', async function () {
    // Pretend etcd allows more ops than its default 128: the batch of all 200 (submitted in one
    // turn of the event loop) is refused ("too many operations"), and every transaction must still
    // get its own answer.
    const gc = new TxnGroupCommitter(send, { maxInFlight: 1, maxTxnOps: 10_000 });
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => gc.txn(createIfAbsent(`/many/${i}`, String(i)))));
    expect(results.every((r) => r.response.succeeded)).to.equal(true);
    // Sent alone, each is the first (and only) write of its revision.
    expect(results.every((r) => r.positions.length === 1 && r.positions[0] === 0)).to.equal(true);
    expect(sent.some((req) => (req.success?.length ?? 0) === 200), 'the oversized batch was tried').to.equal(true);
    expect(sent.length).to.equal(1 + 200);
    const stored = await client.getAll().prefix(`${prefix}/many/`).strings();
    expect(Object.keys(stored)).to.have.length(200);
  });

  it('keeps 32 concurrent CAS writers on 4 keys exact through the EtcdStore', async function () {
    const store = new EtcdStore({ endpoints: etcdEndpoints(), prefix: `${prefix}/store` });
    try {
      const keys = ['/n/0', '/n/1', '/n/2', '/n/3'];
      for (const k of keys) await store.create(k, '0');
      let conflicts = 0;
      await Promise.all(
        Array.from({ length: 32 }, async (_, w) => {
          const k = keys[w % keys.length]!;
          for (let done = 0; done < 20; ) {
            const cur = (await store.get(k))!;
            try {
              await store.update(k, String(Number(cur.value) + 1), cur.modRevision);
              done++;
            } catch (err) {
              if (!(err instanceof ConflictError)) throw err;
              conflicts++;
            }
          }
        }),
      );
      for (const k of keys) expect((await store.get(k))!.value).to.equal(String(8 * 20));
      expect(store.groupCommit.stats.calls).to.be.lessThan(store.groupCommit.stats.txns);
      expect(conflicts).to.be.greaterThan(0);
    } finally {
      await store.close();
    }
  });
});
