// Choosing preemption victims, as Kueue's preemptor does, for a pending workload that does not fit:
//   - withinClusterQueue (LowerPriority, LowerOrNewerEqualPriority): workloads of its own queue of
//     lower priority (or equal and queued later) — reason InClusterQueue;
//   - reclaimWithinCohort (LowerPriority, Any): when it fits within its own queue's nominal quota,
//     workloads of other queues of the cohort that borrow — reason InCohortReclamation.
// Candidates from other queues go first (the queue with the highest weighted share first), then by
// lowest priority, then newest reservation. Victims are taken greedily until the workload fits
// (by shared/queue-fit.ts, the rule the ledger applies), then any victim it fits without is given
// back, so as few as needed are evicted.
import type { ClusterQueuePreemption } from '../../shared/api/kueue.js';
import { Quantity } from '../../shared/quantity.js';
import { amountOf, fits, quotaEntry, subtractFlavorAmounts, addFlavorAmounts, type FlavorAmounts, type QueueState } from '../../shared/queue-fit.js';
import type { PreemptionReason } from './workload-status.js';

/** A workload holding quota in the cohort, as a candidate victim. */
export interface Reservation {
  key: string;
  clusterQueue: string;
  priority: number;
  /** When it was queued (for LowerOrNewerEqualPriority). */
  queuedAt: number;
  /** When its quota was reserved (newest go first). */
  reservedAt: number;
  charge: FlavorAmounts;
}

export interface Preemptor {
  clusterQueue: string;
  priority: number;
  queuedAt: number;
  /** What it would be charged (one flavor assignment). */
  charge: FlavorAmounts;
}

export interface Victim {
  reservation: Reservation;
  reason: PreemptionReason;
}

export interface PreemptionInput {
  preemptor: Preemptor;
  policy: ClusterQueuePreemption;
  /** The cohort's queues (or the lone queue), each with its usage. */
  queues: readonly QueueState[];
  /** Reservations that may be preempted: holding quota, not finished, not already being evicted. */
  reservations: readonly Reservation[];
  /** Weighted share per queue, for the order of reclamation. */
  shareOf(clusterQueue: string): number;
  /** False for a workload whose pods a PodDisruptionBudget protects now. */
  disruptable(r: Reservation): boolean;
}

function withUsage(queues: readonly QueueState[], name: string, usage: FlavorAmounts): QueueState[] {
  return queues.map((q) => (q.name === name ? { ...q, usage } : q));
}

function usageOf(queues: readonly QueueState[], name: string): FlavorAmounts {
  return queues.find((q) => q.name === name)?.usage ?? new Map();
}

function nominal(q: QueueState, flavor: string, resource: string): bigint {
  const e = quotaEntry(q, flavor, resource);
  return e ? Quantity.parse(e.nominalQuota).milliValue() : 0n;
}

/** Does `charge` added to `usage` stay within q's nominal quota everywhere it asks? */
function withinNominal(q: QueueState, usage: FlavorAmounts, charge: FlavorAmounts): boolean {
  for (const [flavor, amounts] of charge) {
    for (const r of amounts.names()) {
      if (amounts.get(r) > 0n && amountOf(usage, flavor, r) + amounts.get(r) > nominal(q, flavor, r)) return false;
    }
  }
  return true;
}

/** Is q using beyond nominal in a flavor and resource that both `charge` and `victim` hold? */
function borrowingWhere(q: QueueState, usage: FlavorAmounts, charge: FlavorAmounts, victim: FlavorAmounts): boolean {
  for (const [flavor, amounts] of charge) {
    for (const r of amounts.names()) {
      if (amounts.get(r) <= 0n || amountOf(victim, flavor, r) <= 0n) continue;
      if (amountOf(usage, flavor, r) > nominal(q, flavor, r)) return true;
    }
  }
  return false;
}

function lowerPriority(policy: 'Never' | 'LowerPriority' | 'LowerOrNewerEqualPriority' | 'Any', p: Preemptor, r: Reservation): boolean {
  switch (policy) {
    case 'Never':
      return false;
    case 'Any':
      return true;
    case 'LowerPriority':
      return r.priority < p.priority;
    case 'LowerOrNewerEqualPriority':
      return r.priority < p.priority || (r.priority === p.priority && r.queuedAt > p.queuedAt);
  }
}

/**
 * The fewest victims, in Kueue's order, whose eviction lets the preemptor fit; undefined when no
 * set of allowed victims does.
 */
export function findVictims(input: PreemptionInput): Victim[] | undefined {
  const { preemptor: p, policy, queues } = input;
  const target = queues.find((q) => q.name === p.clusterQueue);
  if (!target) return undefined;
  const own = input.reservations.filter((r) => r.clusterQueue === p.clusterQueue && lowerPriority(policy.withinClusterQueue, p, r) && input.disruptable(r));
  // Reclaiming is for what the queue is owed: the preemptor must fit in its nominal quota, once
  // its own queue's candidates are counted out.
  let ownAfter = usageOf(queues, p.clusterQueue);
  for (const r of own) ownAfter = subtractFlavorAmounts(ownAfter, r.charge);
  const reclaim =
    target.spec.cohort && policy.reclaimWithinCohort !== 'Never' && withinNominal(target, ownAfter, p.charge)
      ? input.reservations.filter((r) => r.clusterQueue !== p.clusterQueue && lowerPriority(policy.reclaimWithinCohort, p, r) && input.disruptable(r))
      : [];
  const byAge = (a: Reservation, b: Reservation) => a.priority - b.priority || b.reservedAt - a.reservedAt || a.key.localeCompare(b.key);
  const ordered = [
    ...[...reclaim].sort((a, b) => input.shareOf(b.clusterQueue) - input.shareOf(a.clusterQueue) || byAge(a, b)),
    ...[...own].sort(byAge),
  ];
  if (ordered.length === 0) return undefined;

  let sim = [...queues];
  const taken: Victim[] = [];
  const fitsNow = () => fits(sim, p.clusterQueue, p.charge).fits;
  for (const r of ordered) {
    if (fitsNow()) break;
    const q = sim.find((x) => x.name === r.clusterQueue);
    if (!q) continue;
    // A lender that is no longer borrowing keeps what is left.
    if (r.clusterQueue !== p.clusterQueue && !borrowingWhere(q, q.usage, p.charge, r.charge)) continue;
    sim = withUsage(sim, r.clusterQueue, subtractFlavorAmounts(q.usage, r.charge));
    taken.push({ reservation: r, reason: r.clusterQueue === p.clusterQueue ? 'InClusterQueue' : 'InCohortReclamation' });
  }
  if (!fitsNow()) return undefined;
  // Give back, newest choice first, every victim the preemptor fits without.
  for (let i = taken.length - 2; i >= 0; i--) {
    const r = taken[i]!.reservation;
    const back = withUsage(sim, r.clusterQueue, addFlavorAmounts(usageOf(sim, r.clusterQueue), r.charge));
    if (fits(back, p.clusterQueue, p.charge).fits) {
      sim = back;
      taken.splice(i, 1);
    }
  }
  return taken;
}
