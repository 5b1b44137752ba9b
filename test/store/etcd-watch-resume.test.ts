// The etcd watch must survive etcd dying (DESIGN §6, §8 "every watch consumer sees every change once
// and in order"). These tests kill their OWN etcd, so they never disturb the shared one.
import { expect } from 'chai';
import { EtcdStore } from '../../apiserver/storage/etcd.js';
import type { WatchEvent } from '../../apiserver/storage/store.js';
import { CompactedError, OutcomeUnknownError, UnavailableError } from '../../shared/errors.js';
import { startEtcd, type EtcdServer } from '../harness/etcd.js';
import { brief, expectExactHistory, pool, record, sleep } from './helpers.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

/**
 * Retries `fn` while etcd is unreachable; any other error fails the test. A write whose outcome is
 * unknown (etcd died after it was sent) is retried too: these tests write unconditional puts, so a
 * second copy is harmless (and shows in the history like any committed write).
 */
async function retryUnavailable<T>(fn: () => Promise<T>, onRetry?: () => void): Promise<T> {
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof UnavailableError) && !(err instanceof OutcomeUnknownError)) throw err;
      onRetry?.();
      await sleep(50);
    }
  }
}

describe('etcd store: watch resume across etcd failures', function () {
  this.timeout(180_000);
  let etcd: EtcdServer;
  let prefixN = 0;
  const prefix = () => `/resume-${++prefixN}`;

  before(async function () {
    etcd = await startEtcd({ quiet: true });
  });

  after(async function () {
    await etcd?.stop();
  });

  it('delivers every committed write exactly once, in revision order, across two SIGKILL + restarts', async function () {
    const p = prefix();
    const writer = new EtcdStore({ endpoints: [etcd.endpoint], prefix: p, maxBackoffMs: 500 });
    const resumes = new Set<number>();
    const watcher = new EtcdStore({
      endpoints: [etcd.endpoint],
      prefix: p,
      maxBackoffMs: 500,
      onWatchRetry: (info) => resumes.add(info.resumeRevision),
    });
    try {
      const start = await writer.currentRevision();
      const rec = record(watcher, '/', start);
      const acked: { rev: number; key: string; value: string }[] = [];
      let unavailable = 0;
      const total = 2000;
      const writes = (async () => {
        for (let i = 0; i < total; i++) {
          const key = `/pods/ns/p${i % 40}`;
          const value = `v${i}`;
          const res = await retryUnavailable(
            () => writer.txn({ compares: [], success: [{ type: 'put', key, value }] }),
            () => unavailable++,
          );
          acked.push({ rev: res.revision, key, value });
        }
      })();
      const chaos = (async () => {
        for (const [at, downMs] of [[500, 1000], [1200, 1500]] as const) {
          while (acked.length < at) await sleep(5);
          await etcd.kill();
          await sleep(downMs);
          await etcd.restart();
        }
      })();
      await Promise.all([writes, chaos]);
      const history = await expectExactHistory([etcd.endpoint], p, start, rec);
      // Every write the writer saw succeed is there, with its value (writes whose reply was lost
      // when etcd died may appear as well: they committed).
      const seen = new Map(history.map((e) => [`${e.modRevision} ${e.key}`, e.value]));
      for (const a of acked) expect(seen.get(`${a.rev} ${a.key}`), `write at ${a.rev}`).to.equal(a.value);
      // And the last event of each key is what a list says now.
      const final = await writer.list('/');
      const lastOf = new Map<string, WatchEvent>();
      for (const e of history) lastOf.set(e.key, e);
      expect(final.items.map((i) => [i.key, i.modRevision, i.value])).to.deep.equal(
        final.items.map((i) => [i.key, lastOf.get(i.key)?.modRevision, lastOf.get(i.key)?.value]),
      );
      expect(unavailable, 'the writer noticed the outages').to.be.greaterThan(0);
      expect(resumes.size, 'the watch was broken and resumed at two points').to.equal(2);
      console.log(
        `      ${acked.length} acked writes, ${history.length} events delivered exactly once, ` +
          `${unavailable} UnavailableError retries, watch resumed at revisions ${[...resumes].join(', ')}`,
      );
      rec.watch.cancel();
    } finally {
      await writer.close();
      await watcher.close();
    }
  });

  it('resumes from the last delivered event when etcd dies while the watch is replaying old history', async function () {
    // The case etcd3's own WatchBuilder gets wrong: the reply that creates a watch carries the
    // store's current revision, so resuming from "the last header revision seen" after a break
    // mid-replay skips the rest of the replay.
    const p = prefix();
    // No group commit: each write must get a revision of its own (see below).
    const writer = new EtcdStore({ endpoints: [etcd.endpoint], prefix: p, groupCommitInFlight: 0 });
    const resumes: number[] = [];
    const watcher = new EtcdStore({
      endpoints: [etcd.endpoint],
      prefix: p,
      maxBackoffMs: 300,
      onWatchRetry: (info) => resumes.push(info.resumeRevision),
    });
    try {
      const start = await writer.currentRevision();
      // One revision per write, so the replay needs several replies (etcd sends ≤1000 revisions per
      // reply to a catching-up watcher, and fragments replies over 1.5 MiB).
      const value = 'x'.repeat(2048);
      await pool(3000, 16, async (i) => {
        await writer.create(`/old/${i}`, value);
      });
      let killed: Promise<void> | undefined;
      let firstBatch = 0;
      const rec = record(watcher, '/', start, (batch) => {
        if (killed) return;
        firstBatch = batch.length;
        killed = (async () => {
          await etcd.kill();
          await sleep(500);
          await etcd.restart();
        })();
      });
      await rec.until(() => killed !== undefined, 'the first replayed batch');
      await killed;
      const history = await expectExactHistory([etcd.endpoint], p, start, rec);
      expect(firstBatch).to.be.lessThan(history.length);
      // Re-created watches asked for the revision after what had been delivered: normally right
      // after the first batch, or — when the rest of the replay reached the watcher before etcd
      // went down, as it can on a loaded machine — right after the last write. Skipping what was
      // not delivered (resuming from a header's revision) is what the exact history above catches.
      expect(resumes.length).to.be.greaterThan(0);
      for (const r of resumes) expect(r).to.be.within(start + firstBatch + 1, start + history.length + 1);
      console.log(
        `      killed etcd after a first batch of ${firstBatch} of ${history.length} replayed events; ` +
          `${resumes.length} retries, resuming from revision(s) ${[...new Set(resumes)].join(', ')}; all events arrived once`,
      );
      rec.watch.cancel();
    } finally {
      await writer.close();
      await watcher.close();
    }
  });

  describe('a watcher cut off from etcd (etcd itself stays up)', function () {
    let proxy: TcpProxy;
    beforeEach(async function () {
      proxy = await startTcpProxy(etcd.endpoint);
    });
    afterEach(async function () {
      await proxy.close();
    });

    it('catches up without loss when history was kept', async function () {
      const p = prefix();
      const direct = new EtcdStore({ endpoints: [etcd.endpoint], prefix: p });
      const cutoff = new EtcdStore({ endpoints: [proxy.endpoint], prefix: p, maxBackoffMs: 200 });
      try {
        const start = await direct.currentRevision();
        const rec = record(cutoff, '/', start);
        await direct.create('/a', '1');
        await rec.until(() => rec.events.length === 1, 'the first event');
        proxy.cut();
        await sleep(300);
        await direct.create('/b', '2');
        await direct.create('/c', '3');
        proxy.restore();
        await expectExactHistory([etcd.endpoint], p, start, rec);
        expect(rec.events.map((e) => e.key)).to.deep.equal(['/a', '/b', '/c']);
        rec.watch.cancel();
      } finally {
        await direct.close();
        await cutoff.close();
      }
    });

    it('reports CompactedError when history it missed was compacted meanwhile, and stops', async function () {
      const p = prefix();
      const direct = new EtcdStore({ endpoints: [etcd.endpoint], prefix: p });
      const cutoff = new EtcdStore({ endpoints: [proxy.endpoint], prefix: p, maxBackoffMs: 200 });
      try {
        const start = await direct.currentRevision();
        const rec = record(cutoff, '/', start);
        const a = await direct.create('/a', '1');
        await rec.until(() => rec.events.length === 1, 'the first event');
        proxy.cut();
        await sleep(300);
        await direct.create('/b', '2');
        const c = await direct.create('/c', '3');
        await direct.compact(c.modRevision);
        proxy.restore();
        await rec.until(() => rec.errors.length > 0, 'CompactedError');
        const err = rec.errors[0];
        expect(err).to.be.instanceOf(CompactedError);
        expect((err as CompactedError).compactRevision).to.equal(c.modRevision);
        await direct.create('/d', '4');
        await sleep(500);
        expect(rec.events.map((e) => e.modRevision)).to.deep.equal([a.modRevision]);
        expect(rec.errors).to.have.length(1);
      } finally {
        await direct.close();
        await cutoff.close();
      }
    });
  });

  it('fails calls with UnavailableError (writes: or OutcomeUnknownError) while etcd is down, keeps a watch waiting, and recovers', async function () {
    const p = prefix();
    const store = new EtcdStore({ endpoints: [etcd.endpoint], prefix: p, maxBackoffMs: 300, requestTimeoutMs: 3000 });
    try {
      const a = await store.create('/a', '1');
      await etcd.kill();
      const t0 = Date.now();
      const attempts = [
        store.get('/a'),
        store.list('/'),
        store.currentRevision(),
        store.create('/b', '2'),
        store.update('/a', '2', a.modRevision),
        store.txn({ compares: [], success: [{ type: 'delete', key: '/a' }] }),
      ];
      const results = await Promise.allSettled(attempts);
      results.forEach((r, i) => {
        expect(r.status).to.equal('rejected');
        if (r.status !== 'rejected') return;
        // A write that raced the kill on a connection the client had not yet seen drop may have
        // been sent: its outcome is unknown, and it says so rather than claiming it never left.
        if (i >= 3 && r.reason instanceof OutcomeUnknownError) return;
        expect(r.reason, String(r.reason)).to.be.instanceOf(UnavailableError);
      });
      expect(Date.now() - t0).to.be.lessThan(5000);
      // A watch made while etcd is down waits for it.
      const rec = record(store, '/', a.modRevision);
      await sleep(700);
      await etcd.restart();
      const b = await retryUnavailable(() => store.create('/b', '2'));
      await rec.until(() => rec.events.length >= 1, 'the event written after the restart');
      expect(rec.events.map(brief)).to.deep.equal([`${b.modRevision} put /b 2`]);
      expect(rec.errors).to.deep.equal([]);
      rec.watch.cancel();
    } finally {
      await store.close();
    }
  });
});
