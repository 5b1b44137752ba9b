// One guarded transaction (DESIGN §3), the core every ledger commit runs on — placements today;
// budget-guarded evictions and queue admissions are the same shape. In the spirit of etcd3's STM:
//
//   read    the objects the transaction depends on, from the watch caches (with this server's own
//           newer writes laid over them) or, when one is not cached, from the store;
//   decide  the caller's pure function: which objects to write, and whether it refused anything;
//   confirm a refusal decided on cached state is never the answer: decide again on the store's;
//   commit  one etcd transaction writing every object, each guarded by the mod revision it was
//           decided on; when another writer got there first, decide again on the state the failed
//           transaction read back (no extra round trip), up to a bound.
//
// Written objects are handed to their resource stores before the transaction (encodeWrite), so a
// write's own watch event reuses the object instead of parsing it again; every exit that does not
// commit forgets them.
import { MAX_REQUEST_BYTES, type Compare, type Store, type StoredValue, type TxnOp, type TxnResult } from '../storage/store.js';
import type { KubeObject } from './object.js';
import type { Held, ResourceStore } from './resource-store.js';

/** Room left in a request for etcd's own framing. */
const BYTES_HEADROOM = 64 * 1024;
/** The most bytes one guarded transaction may write. */
export const MAX_GUARDED_BYTES = MAX_REQUEST_BYTES - BYTES_HEADROOM;

/** An object a transaction depends on: its key, in the resource store that holds it. */
export interface Slot {
  objects: ResourceStore;
  key: string;
}

/** The objects of a transaction's slots, by key, as last seen (undefined = absent). */
export type Snapshot = ReadonlyMap<string, Held | undefined>;

export interface GuardedWrite {
  objects: ResourceStore;
  key: string;
  /** Handed over: never mutated once returned from `decide`. */
  obj: KubeObject;
}

export interface Decision<R> {
  /** Objects to write, each guarded by its key's mod revision in the snapshot decided on. */
  writes: GuardedWrite[];
  /** The decision refused something: on cached state it is confirmed against the store first. */
  refused: boolean;
  /** The answer, given each write's resourceVersion (in `writes` order); undefined for a dry run. */
  finish(versions: readonly number[] | undefined): R;
}

export type GuardedOutcome<R> =
  | { kind: 'done'; result: R }
  /** The writes would not fit one store request: nothing was written. */
  | { kind: 'tooLarge'; bytes: number }
  /** Every attempt lost a race to another writer: nothing was written. */
  | { kind: 'gaveUp'; attempts: number };

export interface GuardedOptions {
  /** dryRun=All: decide on the store's state, check the size, write nothing. */
  dryRun?: boolean;
  /** Transactions to try before giving up. */
  maxAttempts: number;
  /** Called when a transaction lost a race and the decision is taken again. */
  onRetry?: () => void;
}

export class GuardedTransactions {
  constructor(private readonly store: Store) {}

  /**
   * Decide on the slots' objects and commit the decision's writes in one transaction guarded by
   * every written object's mod revision, retrying against fresh state as described above.
   */
  async run<R>(slots: readonly Slot[], decide: (state: Snapshot) => Decision<R>, opts: GuardedOptions): Promise<GuardedOutcome<R>> {
    const cached = opts.dryRun ? undefined : this.cachedState(slots);
    let fresh = cached === undefined;
    let state = cached ?? (await this.readState(slots));
    for (let attempt = 1; ; ) {
      const decision = decide(state);
      if (decision.refused && !fresh) {
        state = await this.readState(slots);
        fresh = true;
        continue;
      }
      if (decision.writes.length === 0) return { kind: 'done', result: decision.finish(undefined) };

      const compares: Compare[] = [];
      const success: TxnOp[] = [];
      const encoded: string[] = [];
      let bytes = 0;
      for (const w of decision.writes) {
        compares.push({ key: w.key, modRevision: state.get(w.key)?.modRevision ?? 0 });
        const value = w.objects.encodeWrite(w.key, w.obj);
        encoded.push(value);
        success.push({ type: 'put', key: w.key, value });
        bytes += w.key.length + value.length;
      }
      const forget = () => decision.writes.forEach((w, i) => w.objects.forgetWrite(w.key, encoded[i]!));
      if (bytes > MAX_GUARDED_BYTES) {
        forget();
        return { kind: 'tooLarge', bytes };
      }
      if (opts.dryRun) {
        forget();
        return { kind: 'done', result: decision.finish(undefined) };
      }
      let res: TxnResult;
      try {
        res = await this.store.txn({ compares, success, failure: slots.map((s) => ({ type: 'get', key: s.key })) });
      } catch (err) {
        forget();
        throw err;
      }
      if (res.succeeded) {
        const versions = decision.writes.map((w, i) => {
          const version = res.versions[i]!;
          w.objects.rememberWrite(w.key, w.obj, version);
          return version;
        });
        return { kind: 'done', result: decision.finish(versions) };
      }
      forget();
      if (attempt++ >= opts.maxAttempts) return { kind: 'gaveUp', attempts: opts.maxAttempts };
      // Another writer committed first (or the cache was stale): decide again on what the
      // failed transaction read — refusals included, since what refused them may have moved too.
      opts.onRetry?.();
      state = this.decode(slots, res.reads);
      fresh = true;
    }
  }

  /**
   * The slots' objects from the watch caches, as Omega schedulers decide on cached cell state;
   * undefined when one is not cached (maybe just created), and then the store is read. Stale
   * state is safe: the compares refuse it, and refusals are confirmed fresh.
   */
  private cachedState(slots: readonly Slot[]): Snapshot | undefined {
    const state = new Map<string, Held | undefined>();
    for (const s of slots) {
      const held = s.objects.peekHeld(s.key);
      if (held === undefined) return undefined;
      state.set(s.key, held);
    }
    return state;
  }

  private async readState(slots: readonly Slot[]): Promise<Snapshot> {
    const res = await this.store.txn({ compares: [], success: slots.map((s) => ({ type: 'get', key: s.key })) });
    return this.decode(slots, res.reads);
  }

  private decode(slots: readonly Slot[], reads: readonly (StoredValue | undefined)[]): Snapshot {
    return new Map(
      slots.map((s, i) => {
        const sv = reads[i];
        return [s.key, sv ? { obj: s.objects.decode(sv.value, sv.version), modRevision: sv.modRevision } : undefined];
      }),
    );
  }
}
