// One guarded transaction (DESIGN §3), the loop every write runs on: a resource store's create,
// update and delete (with its write hooks), a placement with its node ledgers, an eviction with its
// budget. In the spirit of etcd3's STM:
//
//   read    the objects the transaction depends on, from the watch caches with this server's own
//           newer writes laid over them (own-writes.ts) — an object neither has is absent, which
//           the transaction's compares check like any other state — or, for a dry run, the store;
//           first waiting for this server's writes to those keys that are on their way
//           (in-flight-writes.ts), whose compares would otherwise fail this one's;
//   decide  the caller's function: which objects to write (or delete), with what else must commit
//           alongside (a write hook's ledger), or a refusal: `refused`, or a thrown error;
//   confirm a refusal decided on cached state is never the answer: decide again on the store's;
//   commit  one etcd transaction writing every object, each guarded by the mod revision it was
//           decided on; when another writer got there first, decide again on the state the failed
//           transaction read back (no extra round trip).
//
// Written objects are handed to their resource stores before the transaction (encodeWrite), so a
// write's own watch event reuses the object instead of parsing it again; every exit that does not
// commit forgets them, and a commit is remembered for the next decision on cached state.
import type { Compare, Store, StoredValue, TxnOp, TxnResult } from '../storage/store.js';
import { MAX_REQUEST_BYTES } from '../storage/store.js';
import type { KubeObject } from './object.js';
import type { Held, ResourceStore, WriteEffects } from './resource-store.js';

/** Room left in a request for etcd's own framing. */
const BYTES_HEADROOM = 64 * 1024;
/** The most object bytes a many-object guarded transaction is given (see GuardedOptions.maxBytes). */
export const MAX_GUARDED_BYTES = MAX_REQUEST_BYTES - BYTES_HEADROOM;

/** An object a transaction depends on: its key, in the resource store that holds it. */
export interface Slot {
  objects: ResourceStore;
  key: string;
}

/** The objects of a transaction's slots, by key, as last seen (undefined = absent). */
export type Snapshot = ReadonlyMap<string, Held | undefined>;

/** How the snapshot a decision is taken on was read. */
export interface Reading {
  /** From the store; else from the caches and this server's own writes, and maybe stale. */
  fresh: boolean;
  /** A transaction of this run failed: this decision is taken on the state it read back. */
  retry: boolean;
}

export interface GuardedWrite {
  objects: ResourceStore;
  key: string;
  /** The object to put, or undefined to delete the key. Handed over: never mutated once returned from `decide`. */
  obj: KubeObject | undefined;
}

/** A write outside the transaction's slots (a write hook's ledger), guarded by the mod revision it was read at. */
export interface HeldWrite extends GuardedWrite {
  modRevision: number;
}

export interface Decision<R> {
  /** Objects to write, each guarded by its key's mod revision in the snapshot decided on. */
  writes: GuardedWrite[];
  /** Guards and writes that commit with them (write hooks); only with writes. */
  also?: WriteEffects;
  /** The decision refused something: on cached state it is confirmed against the store first. */
  refused: boolean;
  /**
   * The answer, given each write's resourceVersion (in `writes` order) and the string it was
   * stored as (undefined for a delete); both undefined when nothing was written.
   */
  finish(versions: readonly number[] | undefined, values?: readonly (string | undefined)[]): R;
}

/** Decides on a snapshot; a thrown error is a refusal, confirmed like `refused`, then thrown. */
export type Decide<R> = (state: Snapshot, reading: Reading) => Decision<R> | Promise<Decision<R>>;

export type GuardedOutcome<R> =
  | { kind: 'done'; result: R }
  /** The writes exceed `maxBytes`: nothing was written. */
  | { kind: 'tooLarge'; bytes: number }
  /** Every attempt lost a race to another writer: nothing was written. */
  | { kind: 'gaveUp'; attempts: number };

export interface GuardedOptions {
  /** dryRun=All: decide on the store's state, check the size, write nothing. */
  dryRun?: boolean;
  /** Transactions to try before giving up; absent: until one commits, as Kubernetes' GuaranteedUpdate. */
  maxAttempts?: number;
  /**
   * Written bytes (keys and objects) past which the decision is not sent but answered `tooLarge`,
   * for callers that can split their writes; absent: the store's own limits apply (TxnTooLargeError).
   */
  maxBytes?: number;
  /** Called when a transaction lost a race and the decision is taken again. */
  onRetry?: () => void;
}

export class GuardedTransactions {
  constructor(private readonly store: Store) {}

  /**
   * Decide on the slots' objects and commit the decision's writes in one transaction guarded by
   * every written object's mod revision, retrying against fresh state as described above.
   */
  async run<R>(slots: readonly Slot[], decide: Decide<R>, opts: GuardedOptions = {}): Promise<GuardedOutcome<R>> {
    let fresh = opts.dryRun === true;
    // Whether to wait for this server's writes on their way to the slots' keys: until one wait
    // runs out (in-flight-writes.ts LANDING_WAIT_MS), after which this run goes ahead without.
    let patient = !fresh;
    let writing = patient ? this.ownWritesLanded(slots) : undefined;
    if (writing) patient = await writing;
    let state = fresh ? await this.readState(slots) : this.cachedState(slots);
    for (let attempt = 1, retry = false; ; ) {
      let decision: Decision<R> | undefined;
      let threw = false;
      let failure: unknown;
      try {
        decision = await decide(state, { fresh, retry });
      } catch (err) {
        threw = true;
        failure = err;
      }
      // Another write of this server to a slot's key set off while this decision was taken on
      // cached state: the state is stale and the compare would fail. Decide again once it lands.
      if (patient && !fresh && (writing = this.ownWritesLanded(slots))) {
        patient = await writing;
        state = this.cachedState(slots);
        continue;
      }
      // Refused on the store's state: the answer. On cached state the error is not the answer,
      // whatever it says: the store's state decides below.
      if (threw && fresh) throw failure;
      // Refused (by result or by throwing) on cached state, which may be stale: decide again on the store's.
      if (decision === undefined || (decision.refused && !fresh)) {
        state = await this.readState(slots);
        fresh = true;
        continue;
      }
      if (decision.writes.length === 0) return { kind: 'done', result: decision.finish(undefined) };

      const compares: Compare[] = [];
      const success: TxnOp[] = [];
      const encoded: (string | undefined)[] = [];
      let bytes = 0;
      // The decision's own writes, then its hooks' writes of other objects: each object is this
      // server's own write (own-writes.ts) until its watch event comes.
      const written: HeldWrite[] = decision.writes.map((w) => ({ ...w, modRevision: state.get(w.key)?.modRevision ?? 0 }));
      if (decision.also?.writes) written.push(...decision.also.writes);
      for (const w of written) {
        compares.push({ key: w.key, modRevision: w.modRevision });
        const value = w.obj && w.objects.encodeWrite(w.key, w.obj);
        encoded.push(value);
        const ttlSeconds = w.objects.ttlSeconds;
        success.push(value === undefined ? { type: 'delete', key: w.key } : { type: 'put', key: w.key, value, ...(ttlSeconds !== undefined ? { ttlSeconds } : {}) });
        bytes += w.key.length + (value?.length ?? 0);
      }
      if (decision.also) {
        compares.push(...decision.also.compares);
        success.push(...decision.also.ops);
      }
      const forget = () =>
        written.forEach((w, i) => {
          const value = encoded[i];
          if (value !== undefined) w.objects.forgetWrite(w.key, value);
        });
      if (opts.maxBytes !== undefined && bytes > opts.maxBytes) {
        forget();
        return { kind: 'tooLarge', bytes };
      }
      if (opts.dryRun) {
        forget();
        return { kind: 'done', result: decision.finish(undefined) };
      }
      // Ended once the answer is remembered (or forgotten): a writer waiting on these keys then
      // decides on the state this write left.
      for (const w of written) w.objects.inFlight.begin(w.key);
      const landed = () => written.forEach((w) => w.objects.inFlight.end(w.key));
      let res: TxnResult;
      try {
        res = await this.store.txn({ compares, success, failure: slots.map((s) => ({ type: 'get', key: s.key })) });
      } catch (err) {
        forget();
        landed();
        throw err;
      }
      if (res.succeeded) {
        const versions = written.map((w, i) => {
          const version = res.versions[i]!;
          w.objects.rememberWrite(w.key, w.obj, version);
          return version;
        });
        landed();
        // The answer is about the decision's own writes.
        const own = decision.writes.length;
        return { kind: 'done', result: decision.finish(versions.slice(0, own), encoded.slice(0, own)) };
      }
      forget();
      landed();
      if (opts.maxAttempts !== undefined && attempt++ >= opts.maxAttempts) return { kind: 'gaveUp', attempts: opts.maxAttempts };
      // Another writer committed first (or the cache was stale): decide again on what the
      // failed transaction read — refusals included, since what refused them may have moved too.
      opts.onRetry?.();
      state = this.decode(slots, res.reads);
      fresh = true;
      retry = true;
    }
  }

  /**
   * Undefined when no write of this server to a slot's key is on its way; else a promise of true
   * once those have landed (cached state is then the state they left), or of false when one has
   * not within LANDING_WAIT_MS (in-flight-writes.ts).
   */
  private ownWritesLanded(slots: readonly Slot[]): Promise<boolean> | undefined {
    let pending: Promise<boolean>[] | undefined;
    for (const s of slots) {
      const p = s.objects.inFlight.settled(s.key);
      if (p) (pending ??= []).push(p);
    }
    return pending && Promise.all(pending).then((landed) => landed.every(Boolean));
  }

  /**
   * The slots' objects as this server knows them without a store read (the watch caches and its
   * own later writes), as Omega schedulers decide on cached cell state. Stale state is safe: the
   * compares refuse it, and refusals are confirmed fresh.
   */
  private cachedState(slots: readonly Slot[]): Snapshot {
    return new Map(slots.map((s) => [s.key, s.objects.peekHeld(s.key)]));
  }

  private async readState(slots: readonly Slot[]): Promise<Snapshot> {
    // One key needs no transaction to be read consistently (and point reads are batched apart).
    if (slots.length === 1) return this.decode(slots, [await this.store.get(slots[0]!.key)]);
    const res = await this.store.txn({ compares: [], success: slots.map((s) => ({ type: 'get', key: s.key })) });
    return this.decode(slots, res.reads);
  }

  private decode(slots: readonly Slot[], reads: readonly (StoredValue | undefined)[]): Snapshot {
    return new Map(
      slots.map((s, i) => {
        const sv = reads[i];
        return [s.key, sv ? { obj: s.objects.decode(sv.value, sv.version, sv.key), modRevision: sv.modRevision } : undefined];
      }),
    );
  }
}
