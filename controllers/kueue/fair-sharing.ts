// Fair sharing within a cohort, as Kueue's: a ClusterQueue's dominant-resource share is, over the
// flavors and resources it has quota for, the largest ratio of what it uses beyond its nominal
// quota to what the cohort lends of that flavor and resource; divided by its fairSharing weight,
// on Kueue's 0–1000 scale. Queues with the lowest weighted share go first, and reclaiming takes
// from the queue with the highest.
import { fairSharingWeight } from '../../shared/api/kueue.js';
import { addFlavorAmounts, amountOf, cohortMembers, cohortPool, quotaEntry, type FlavorAmounts, type QueueState } from '../../shared/queue-fit.js';
import { Quantity } from '../../shared/quantity.js';

/** Kueue reports a queue of weight 0 that borrows as the largest share there is. */
export const INFINITE_SHARE = Number.MAX_SAFE_INTEGER;

/** Dominant-resource share of `q` (0–1000), with `extra` charged to it first (a candidate admission). */
export function dominantResourceShare(q: QueueState, queues: readonly QueueState[], extra: FlavorAmounts = new Map()): number {
  if (!q.spec.cohort) return 0;
  const members = cohortMembers(queues, q);
  const usage = addFlavorAmounts(q.usage, extra);
  let best = 0n;
  for (const g of q.spec.resourceGroups ?? []) {
    for (const f of g.flavors) {
      for (const r of f.resources) {
        const entry = quotaEntry(q, f.name, r.name);
        const nominal = entry ? Quantity.parse(entry.nominalQuota).milliValue() : 0n;
        const borrowed = amountOf(usage, f.name, r.name) - nominal;
        if (borrowed <= 0n) continue;
        const { lendable } = cohortPool(members, f.name, r.name);
        // Borrowing what no one lends cannot happen through the ledger; count it as the whole pool.
        const ratio = lendable > 0n ? (borrowed * 1000n) / lendable : 1000n;
        if (ratio > best) best = ratio;
      }
    }
  }
  return Number(best);
}

/** The share divided by the queue's weight (status.fairSharing.weightedShare). */
export function weightedShare(q: QueueState, queues: readonly QueueState[], extra?: FlavorAmounts): number {
  const drs = dominantResourceShare(q, queues, extra);
  const weight = fairSharingWeight(q).milliValue();
  if (weight <= 0n) return drs === 0 ? 0 : INFINITE_SHARE;
  return Number((BigInt(drs) * 1000n) / weight);
}
