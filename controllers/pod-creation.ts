// Creating many pods for one owner, as Kubernetes' controllers do it:
//   - slow start: a batch of 1, then 2, 4, 8, … , stopping at the first batch with a failure, so a
//     quota or validation error costs one request rather than thousands. Each batch is one
//     multi-object create (ApiClient.createMany: one request, each pod created, validated and
//     admitted as if POSTed alone, all committed to etcd together by the API server's group
//     committer), so a batch costs one round trip and the API server one request's overhead.
//   - expectations: after asking for N creates (or deletes) for an owner, the controller does not
//     act on that owner again until its informer has seen them, so a lagging cache never makes it
//     create the same pods twice. A create whose answer was lost (a timeout, a reset, a 504) may
//     have been done: it stays expected, for as long as the server could still be doing it, instead
//     of being counted as failed — counted as failed, the next sync would create its pods again.

import { InternalError, mayHaveTakenEffect } from '../shared/errors.js';

/** Kubernetes' SlowStartInitialBatchSize. */
export const SLOW_START_INITIAL_BATCH = 1;

export interface SlowStartResult {
  /** How many items were created. */
  succeeded: number;
  /** How many were never attempted because an earlier batch failed. */
  skipped: number;
  /** How many failed in a way that may nevertheless have created them (mayHaveTakenEffect). */
  unsure: number;
  /** The first failure, if any. */
  error?: unknown;
}

/** What became of one item of a batch (ApiClient.createMany's outcomes are of this shape). */
export type BatchOutcome = { ok: true } | { ok: false; error: unknown };

/**
 * Runs `runBatch` on the indexes [0, count) in doubling batches — [0], [1, 2], [3 … 6], … — one
 * batch at a time, stopping after the first batch in which any item failed. `runBatch` answers
 * each item's outcome in order; if it throws, every item of its batch failed.
 */
export async function slowStartBatch(
  count: number,
  runBatch: (indexes: number[]) => Promise<readonly BatchOutcome[]>,
  initialBatch = SLOW_START_INITIAL_BATCH,
): Promise<SlowStartResult> {
  let next = 0;
  let batch = Math.min(Math.max(1, initialBatch), count);
  let succeeded = 0;
  let unsure = 0;
  while (next < count) {
    const indexes = Array.from({ length: batch }, (_, k) => next + k);
    next += batch;
    let outcomes: readonly BatchOutcome[];
    try {
      outcomes = await runBatch(indexes);
    } catch (err) {
      outcomes = indexes.map(() => ({ ok: false, error: err }));
    }
    let error: unknown;
    let failed = false;
    for (let k = 0; k < indexes.length; k++) {
      const o = outcomes[k] ?? { ok: false, error: new InternalError(`no outcome for item ${indexes[k]} of a batch of ${indexes.length}`) };
      if (o.ok) {
        succeeded++;
        continue;
      }
      if (mayHaveTakenEffect(o.error)) unsure++;
      if (!failed) {
        failed = true;
        error = o.error;
      }
    }
    if (failed) return { succeeded, skipped: count - next, unsure, error };
    batch = Math.min(batch * 2, count - next);
  }
  return { succeeded, skipped: 0, unsure: 0 };
}

/**
 * How long a write whose answer was lost may still be done by the server: kube-apiserver's
 * default request deadline (60 s, which clients' 30 s timeouts end before), and a margin for the
 * etcd commit already under way when it passed.
 */
export const OUTCOME_UNKNOWN_WAIT_MS = 65_000;

interface Pending {
  adds: number;
  dels: number;
  /** When set, so stale expectations expire (a create that failed silently, an event never seen). */
  at: number;
  /** Some of what is expected had its answer lost: past this time it is not waited for any more. */
  unsureUntil?: number;
}

/** Kubernetes' ExpectationsTimeout: after this, an owner is synced even if expectations are unmet. */
export const EXPECTATIONS_TIMEOUT_MS = 5 * 60_000;

/** Outstanding creates and deletes per owner key (`namespace/name`), as Kubernetes' ControllerExpectations. */
export class Expectations {
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly timeoutMs = EXPECTATIONS_TIMEOUT_MS,
    private readonly now: () => number = Date.now,
    /** How long what had its answer lost stays expected (failed). */
    private readonly unsureMs = OUTCOME_UNKNOWN_WAIT_MS,
  ) {}

  /** Record that `adds` creates and `dels` deletes were just requested for `key`. */
  expect(key: string, adds: number, dels: number): void {
    const p = this.pending.get(key);
    if (p) {
      // A new round: an earlier round's lost answers, all observed or given up on, no longer count.
      if (this.met(p)) delete p.unsureUntil;
      p.adds += adds;
      p.dels += dels;
      p.at = this.now();
    } else this.pending.set(key, { adds, dels, at: this.now() });
  }

  /**
   * Of what was just expected for `key`, `adds` creates and `dels` deletes failed for certain:
   * they will never be observed. `unsure` more failed with their answer lost (mayHaveTakenEffect):
   * they stay expected, but for `unsureMs` at most. The failed sync is retried, and each sync
   * arranges to look again when that wait ends (unsureFor).
   */
  failed(key: string, adds: number, dels: number, unsure: number): void {
    for (let i = 0; i < adds; i++) this.creationObserved(key);
    for (let i = 0; i < dels; i++) this.deletionObserved(key);
    const p = this.pending.get(key);
    if (unsure > 0 && p) p.unsureUntil = this.now() + this.unsureMs;
  }

  /** The informer saw one of `key`'s pods created (or a create failed: the caller lowers it too). */
  creationObserved(key: string): void {
    const p = this.pending.get(key);
    if (p && p.adds > 0) p.adds--;
  }

  /** The informer saw one of `key`'s pods deleted (or a delete failed). */
  deletionObserved(key: string): void {
    const p = this.pending.get(key);
    if (p && p.dels > 0) p.dels--;
  }

  /** True when nothing is outstanding for `key` (or what is has waited past the timeout). */
  satisfied(key: string): boolean {
    const p = this.pending.get(key);
    if (!p) return true;
    const now = this.now();
    return this.met(p) || now - p.at > this.timeoutMs || (p.unsureUntil !== undefined && now >= p.unsureUntil);
  }

  /**
   * Milliseconds until `key`'s lost answers stop being waited for, while they are; the controller
   * looks at the owner again then (a timer may fire a little before the wall clock agrees).
   */
  unsureFor(key: string): number | undefined {
    const p = this.pending.get(key);
    if (p?.unsureUntil === undefined || this.met(p)) return undefined;
    return Math.max(0, p.unsureUntil - this.now());
  }

  private met(p: Pending): boolean {
    return p.adds <= 0 && p.dels <= 0;
  }

  /** The owner is gone: drop its bookkeeping. */
  forget(key: string): void {
    this.pending.delete(key);
  }
}
