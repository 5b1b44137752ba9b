// The etcd store on a 3-member cluster (DESIGN §7, issue #8): concurrent compare-and-swap writers
// and a watch carry on while the leader is SIGKILLed, then a follower, then the member the watch
// is on is SIGSTOPped; and with a majority gone the store fails cleanly and heals when it is back.
// Nothing acknowledged is lost, the watch sees every revision once and in order, and the only
// errors callers see are the typed "unavailable" / "outcome unknown" ones.
import { expect } from 'chai';
import { EtcdStore } from '../../apiserver/storage/etcd.js';
import { AlreadyExistsError, ConflictError, OutcomeUnknownError, UnavailableError, errorMessage } from '../../shared/errors.js';
import { startEtcdCluster, type EtcdCluster } from '../harness/etcd-cluster.js';
import { brief, expectExactHistory, record, sleep, type Recorder } from './helpers.js';

/** Waits for `pred`, polling; fails with `what` after `timeoutMs`. */
async function until(pred: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Increments counters with get + compare-and-swap, keeping score of every outcome. */
class Writers {
  readonly acked = new Map<string, number>();
  readonly unknown = new Map<string, number>();
  /** Acknowledged increments, with the time each call started (to measure heal times). */
  readonly acks: { startedAt: number; at: number }[] = [];
  unavailable = 0;
  conflicts = 0;
  readonly unexpected: string[] = [];
  private stopped = false;
  private done: Promise<void> | undefined;

  constructor(
    private readonly store: EtcdStore,
    readonly keys: string[],
  ) {}

  start(perKey: number): void {
    this.done = Promise.all(this.keys.flatMap((key) => Array.from({ length: perKey }, () => this.loop(key)))).then(() => undefined);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }

  private bump(m: Map<string, number>, key: string): void {
    m.set(key, (m.get(key) ?? 0) + 1);
  }

  private async loop(key: string): Promise<void> {
    while (!this.stopped) {
      const startedAt = Date.now();
      try {
        const cur = await this.store.get(key);
        const next = String(Number(cur?.value ?? '0') + 1);
        if (cur) await this.store.update(key, next, cur.modRevision);
        else await this.store.create(key, next);
        this.bump(this.acked, key);
        this.acks.push({ startedAt, at: Date.now() });
      } catch (err) {
        if (err instanceof OutcomeUnknownError) {
          this.bump(this.unknown, key);
        } else if (err instanceof ConflictError || err instanceof AlreadyExistsError) {
          this.conflicts++;
        } else if (err instanceof UnavailableError) {
          this.unavailable++;
          await sleep(50);
        } else {
          this.unexpected.push(`${err instanceof Error ? err.name : typeof err}: ${errorMessage(err)}`);
          await sleep(50);
        }
      }
    }
  }

  /**
   * After stop(): only the expected errors, every acknowledged increment there (an unknown-outcome
   * one may or may not be), and the watch `rec` saw each counter go 1, 2, 3, … with no gap, each
   * committed increment once.
   */
  async expectNothingLost(store: EtcdStore, endpoints: string[], prefix: string, start: number, rec: Recorder): Promise<void> {
    expect(this.unexpected, 'errors other than Conflict / Unavailable / OutcomeUnknown').to.deep.equal([]);
    for (const key of this.keys) {
      const final = Number((await store.get(key))?.value ?? '0');
      const acked = this.acked.get(key) ?? 0;
      const unknown = this.unknown.get(key) ?? 0;
      expect(final, `${key}: ${acked} acked, ${unknown} unknown`).to.be.within(acked, acked + unknown);
    }
    const history = await expectExactHistory(endpoints, prefix, start, rec);
    for (const key of this.keys) {
      const values = history.filter((e) => e.key === key).map((e) => Number(e.value));
      expect(values).to.deep.equal(values.map((_, i) => i + 1));
    }
  }

  summary(): string {
    const unknown = [...this.unknown.values()].reduce((a, b) => a + b, 0);
    return `${this.acks.length} acked, ${unknown} outcome-unknown, ${this.unavailable} unavailable, ${this.conflicts} conflicts`;
  }

  /** Resolves with how long after `since` the first write that started after it was acknowledged. */
  async healedAfter(since: number, timeoutMs = 30_000): Promise<number> {
    let first: { startedAt: number; at: number } | undefined;
    await until(() => (first = this.acks.find((a) => a.startedAt >= since)) !== undefined, 'a write to succeed again', timeoutMs);
    return first!.at - since;
  }
}

describe('etcd store on a 3-member cluster', function () {
  this.timeout(120_000);
  let cluster: EtcdCluster;
  let n = 0;
  const prefix = () => `/cluster-${process.pid}-${++n}`;

  before(async function () {
    cluster = await startEtcdCluster({ quiet: true });
  });

  after(async function () {
    await cluster?.stop();
  });

  it('loses nothing while the leader and a follower die and the watched member is frozen', async function () {
    const p = prefix();
    const opts = { endpoints: cluster.endpoints, prefix: p, maxBackoffMs: 500, requestTimeoutMs: 4_000 };
    const store = new EtcdStore(opts);
    const moves: string[] = [];
    const watcher = new EtcdStore({ ...opts, onWatchRetry: (info) => moves.push(`${info.endpoint} → @${info.resumeRevision}: ${info.reason}`) });
    const writers = new Writers(store, ['/c/a', '/c/b', '/c/c', '/c/d']);
    try {
      const start = await store.currentRevision();
      const rec = record(watcher, '/', start);
      writers.start(2);
      const total = () => writers.acks.length;
      /** After 100 more writes, SIGKILLs member `pick(leader)`, restarts it a second after writes resume; the heal time. */
      const killAndRestart = async (pick: (leader: number) => number, what: string): Promise<number> => {
        const before = total();
        await until(() => total() >= before + 100, `100 writes before killing ${what}`);
        const member = cluster.members[pick(await cluster.leaderIndex())]!;
        const killedAt = Date.now();
        await member.kill();
        const heal = await writers.healedAfter(killedAt);
        await sleep(1_000);
        await member.restart();
        return heal;
      };

      // 1. SIGKILL the leader, 2. then a follower; each restarted a moment later.
      const leaderHeal = await killAndRestart((leader) => leader, 'the leader');
      const followerHeal = await killAndRestart((leader) => (leader + 1) % cluster.members.length, 'a follower');

      // 3. SIGSTOP the member the watch is attached to: no error, just silence.
      const before3 = total();
      await until(() => total() >= before3 + 100, '100 writes after the follower came back');
      await until(() => rec.events.length > 0 && watcher.watchEndpoints().length === 1, 'the watch to be attached');
      const watched = watcher.watchEndpoints()[0]!;
      const frozen = cluster.members.find((m) => m.clientUrl === watched)!;
      const pausedAt = Date.now();
      frozen.pause();
      let watchMovedMs = 0;
      try {
        await until(() => watcher.watchEndpoints()[0] !== watched, 'the watch to leave the frozen member', 20_000);
        watchMovedMs = Date.now() - pausedAt;
        const evs = rec.events.length;
        await until(() => rec.events.length > evs + 20, 'events through the new member', 20_000);
      } finally {
        frozen.resume();
      }
      const before4 = total();
      await until(() => total() >= before4 + 50, '50 writes after the frozen member resumed');
      await writers.stop();

      await writers.expectNothingLost(store, cluster.endpoints, p, start, rec);
      console.log(
        `      ${writers.summary()}; writes resumed ${leaderHeal} ms after ` +
          `the leader died, ${followerHeal} ms after a follower died; the watch left the frozen member after ` +
          `${watchMovedMs} ms (${moves.length} resumes)`,
      );
      rec.watch.cancel();
    } finally {
      await writers.stop();
      await store.close();
      await watcher.close();
    }
  });

  it('with a majority gone fails fast and cleanly, and heals when one member returns', async function () {
    const p = prefix();
    const opts = { endpoints: cluster.endpoints, prefix: p, maxBackoffMs: 300, requestTimeoutMs: 3_000 };
    const store = new EtcdStore(opts);
    const watcher = new EtcdStore(opts);
    try {
      for (const m of cluster.members) if (!m.running()) await m.restart();
      const a = await store.create('/a', '1');
      const rec = record(watcher, '/', a.modRevision - 1);
      await rec.until(() => rec.events.length === 1, 'the first event');
      const leader = await cluster.leaderIndex();
      const gone = [leader, (leader + 1) % 3];
      await Promise.all(gone.map((i) => cluster.members[i]!.kill()));
      // The survivor notices it lost its leader within a few election timeouts; from then on
      // every call is refused (require-leader) rather than left hanging.
      await sleep(2_000);
      const t0 = Date.now();
      const results = await Promise.allSettled([
        store.get('/a'),
        store.list('/'),
        store.update('/a', '2', a.modRevision),
        store.txn({ compares: [], success: [{ type: 'put', key: '/b', value: 'x' }] }),
      ]);
      for (const r of results) {
        expect(r.status).to.equal('rejected');
        if (r.status === 'rejected') {
          expect(r.reason instanceof UnavailableError || r.reason instanceof OutcomeUnknownError, String(r.reason)).to.equal(true);
        }
      }
      expect(Date.now() - t0, 'calls gave up within their time budget').to.be.lessThan(15_000);
      await cluster.members[gone[0]!]!.restart();
      let b;
      for (;;) {
        try {
          b = await store.update('/a', '2', a.modRevision);
          break;
        } catch (err) {
          // The first attempts may meet the cluster still electing. After an unknown outcome,
          // re-read (as a client must): the update may have committed.
          if (!(err instanceof UnavailableError || err instanceof OutcomeUnknownError)) throw err;
          const cur = await store.get('/a').catch((e: unknown) => {
            if (e instanceof UnavailableError) return undefined; // still healing: try again
            throw e;
          });
          if (cur?.value === '2') {
            b = cur;
            break;
          }
          await sleep(100);
        }
      }
      await rec.until(() => rec.events.length === 2, 'the write after the quorum came back');
      expect(rec.events.map(brief)).to.deep.equal([`${a.modRevision} put /a 1`, `${b.modRevision} put /a 2`]);
      expect(rec.errors).to.deep.equal([]);
      // Nothing of the refused writes half-happened: /b was never written.
      expect(await store.get('/b')).to.equal(undefined);
      rec.watch.cancel();
    } finally {
      for (const m of cluster.members) if (!m.running()) await m.restart();
      await store.close();
      await watcher.close();
    }
  });
});

describe('etcd store on a 3-member cluster with a network partition', function () {
  this.timeout(120_000);
  let cluster: EtcdCluster;

  before(async function () {
    cluster = await startEtcdCluster({ quiet: true, partitionable: true });
  });

  after(async function () {
    await cluster?.stop();
  });

  it('a leader cut off from its peers serves no stale read, loses no write, and its watches move to the majority', async function () {
    const p = `/partition-${process.pid}`;
    // A long request timeout: the calls held by the cut-off leader must be given up as soon as it
    // is known to have lost its quorum, not when their deadlines pass.
    const opts = { prefix: p, maxBackoffMs: 300, requestTimeoutMs: 20_000 };
    const leader = await cluster.leaderIndex();
    const cutOff = cluster.members[leader]!;
    // The writers and the watch start on the member about to be cut off (a store tries its
    // endpoints in order), so both have to notice and move.
    const order = [cutOff.clientUrl, ...cluster.endpoints.filter((e) => e !== cutOff.clientUrl)];
    const store = new EtcdStore({ ...opts, endpoints: order });
    const moves: string[] = [];
    const watcher = new EtcdStore({ ...opts, endpoints: order, onWatchRetry: (info) => moves.push(`${info.endpoint}: ${info.reason}`) });
    // Talks to the cut-off member alone: what a client stuck on the wrong side would get.
    const stuck = new EtcdStore({ ...opts, requestTimeoutMs: 3_000, endpoints: [cutOff.clientUrl] });
    const pinned = new EtcdStore({ ...opts, endpoints: [cutOff.clientUrl] });
    const writers = new Writers(store, ['/c/a', '/c/b', '/c/c']);
    try {
      const start = await store.currentRevision();
      const rec = record(watcher, '/', start);
      writers.start(2);
      const total = () => writers.acks.length;
      await until(() => total() >= 100 && rec.events.length > 0, '100 writes before the partition');
      expect(watcher.watchEndpoints(), 'the watch starts on the member to be cut off').to.deep.equal([cutOff.clientUrl]);

      const cutAt = Date.now();
      await cluster.partition([leader]);
      // Sent at once, these reach the cut-off leader while it still believes it leads: it holds
      // them, unable to commit or answer, until the store gives them up.
      const heldKeys = ['/held/a', '/held/b', '/held/c', '/held/d'];
      const held = await Promise.all(heldKeys.map((key) => pinned.create(key, 'x').then(() => 'committed', (err: unknown) => err)));
      for (const outcome of held) {
        // Given up once a probe found the member leaderless — not at etcd's own timeout (6 s
        // here) or the 20 s deadline — and reported as what it is: it may yet have committed.
        // (On a machine that stalls this process past the election timeout, a create may instead
        // reach a member that already stepped down and be refused outright: never held.)
        if (outcome instanceof UnavailableError) continue;
        expect(outcome, String(outcome)).to.be.instanceOf(OutcomeUnknownError);
        expect(errorMessage(outcome)).to.include('with the call in flight');
      }
      const heal = await writers.healedAfter(cutAt);
      expect(heal, 'ms until a write succeeded again: the calls on the cut-off leader were given up, not waited out').to.be.lessThan(10_000);
      await until(() => watcher.watchEndpoints()[0] !== cutOff.clientUrl, 'the watch to leave the cut-off member', 20_000);
      const before = total();
      await until(() => total() >= before + 100, '100 writes through the majority');
      const newLeader = await cluster.leaderIndex();
      expect(newLeader, 'the majority elected another leader').to.not.equal(leader);

      // The cut-off member still holds the values as they were when it was cut off: a read there
      // is refused (no leader, no quorum for a linearizable read), never answered from that state.
      const current = await store.get('/c/a');
      const read = await stuck.get('/c/a').then(
        (v) => ({ ok: true as const, v }),
        (err: unknown) => ({ ok: false as const, err }),
      );
      if (read.ok) expect(Number(read.v?.value), 'a read on the cut-off side is not stale').to.be.at.least(Number(current!.value));
      else expect(read.err instanceof UnavailableError || read.err instanceof OutcomeUnknownError, String(read.err)).to.equal(true);

      await cluster.heal();
      // Once joined again it has caught up: the same read now succeeds with a current value.
      const latest = Number((await store.get('/c/a'))!.value);
      let caughtUp: number | undefined;
      const deadline = Date.now() + 20_000;
      while (caughtUp === undefined) {
        try {
          caughtUp = Number((await stuck.get('/c/a'))?.value);
        } catch (err) {
          if (!(err instanceof UnavailableError || err instanceof OutcomeUnknownError) || Date.now() > deadline) throw err;
          await sleep(100);
        }
      }
      expect(caughtUp, 'the healed member serves what the majority committed').to.be.at.least(latest);
      // What the cut-off leader held never committed: rejoining, it took the majority's log.
      for (const key of heldKeys) expect(await store.get(key), key).to.equal(undefined);
      const after = total();
      await until(() => total() >= after + 50, '50 writes after the partition healed');
      await writers.stop();

      await writers.expectNothingLost(store, cluster.endpoints, p, start, rec);
      console.log(
        `      ${writers.summary()}; writes resumed ${heal} ms after the ` +
          `leader was cut off; the cut-off member answered ${read.ok ? 'a current value' : 'with an error'}; ${moves.length} watch resumes`,
      );
      rec.watch.cancel();
    } finally {
      await cluster.heal();
      await writers.stop();
      await Promise.all([store.close(), watcher.close(), stuck.close(), pinned.close()]);
    }
  });

  it('gives up the calls a follower forwarded to a leader that was then cut off, once the follower is in a new term', async function () {
    const leader = await cluster.leaderIndex();
    const follower = cluster.members[(leader + 1) % cluster.members.length]!;
    // Only the follower, and a deadline far past etcd's own request timeout (6 s here).
    const viaFollower = new EtcdStore({ prefix: `/forwarded-${process.pid}`, endpoints: [follower.clientUrl], maxBackoffMs: 300, requestTimeoutMs: 20_000 });
    try {
      await viaFollower.create('/warm', 'x'); // the follower has answered once: its term is known
      await cluster.partition([leader]);
      // The follower forwards these to the leader, which never gets them; the follower and the
      // third member elect a new leader, and the follower does not propose them again.
      const outcomes = await Promise.all(['/f/a', '/f/b', '/f/c'].map((key) => viaFollower.create(key, 'x').then(() => 'committed', (err: unknown) => err)));
      for (const outcome of outcomes) {
        // Refused up front when the follower had already lost its leader: never held.
        if (outcome instanceof UnavailableError) continue;
        expect(outcome, String(outcome)).to.be.instanceOf(OutcomeUnknownError);
        expect(errorMessage(outcome), 'given up by the store, not timed out by etcd').to.include('with the call in flight');
      }
    } finally {
      await cluster.heal();
      await viaFollower.close();
    }
  });
});
