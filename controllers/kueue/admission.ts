// The admission cycle of one cohort (or one ClusterQueue outside any cohort), as Kueue's scheduler
// runs it, in one pass over a snapshot:
//   1. Usage per queue: the larger of the ledger the API server keeps (status.flavorsReservation)
//      and the sum of the reservations this controller can see (its own recent admissions
//      included), so a lagging cache errs on the side of "full".
//   2. Heads: each queue's first pending workload (priority, then queue time). BestEffortFIFO skips
//      workloads already found not to fit; StrictFIFO does not. Among the queues of a cohort, the
//      one with the lowest weighted share goes first (fair sharing).
//   3. A head is given flavors (flavor-assigner.ts against shared/queue-fit.ts) and committed: ONE
//      status write of the Workload with status.admission and QuotaReserved/Admitted=True. The API
//      server moves the queue's ledger in the same transaction, or refuses (409) when another
//      admitter got there first — then the cycle ends and runs again on fresh state. Nothing here
//      trusts that it is the only admitter.
//   4. A head that does not fit may preempt (preemption.ts): its victims are evicted, and it waits
//      — its queue blocked for the cycle — until their quota is released. Otherwise it is marked
//      pending with Kueue's message; StrictFIFO blocks its queue, BestEffortFIFO moves on. While
//      the ledger has not caught up with a release the Workloads show, neither is decided: the
//      cycle ends there, and runs again when the ledger moves.
import type { ClusterQueue, Workload } from '../../shared/api/kueue.js';
import { JOB_UID_LABEL } from '../../shared/api/kueue.js';
import { ConflictError, NotFoundError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logging.js';
import {
  addFlavorAmounts,
  fits,
  recordedUsage,
  subtractFlavorAmounts,
  workloadCharge,
  type FlavorAmounts,
  type QueueState,
} from '../../shared/queue-fit.js';
import { ResourceAmounts } from '../../shared/resources.js';
import { weightedShare } from './fair-sharing.js';
import { assignFlavors, type AssignResult, type QuotaVerdict } from './flavor-assigner.js';
import type { KueueMetrics } from './metrics.js';
import { findVictims, type Reservation } from './preemption.js';
import { compareQueueOrder, type QueueManager } from './queue-manager.js';
import { PENDING_REASON, admittedStatus, isEvicted, queuedAt, quotaReservedMessage, reservedAt, workloadPriority } from './workload-status.js';
import type { WorkloadView } from './workload-view.js';
import { preemptionMessage, type WorkloadWrites } from './workload-writes.js';

export interface AdmissionDeps {
  view: WorkloadView;
  queues: QueueManager;
  writes: WorkloadWrites;
  metrics: KueueMetrics;
  log: Logger;
  /** False while a PodDisruptionBudget protects the pods of the workload's Job. */
  disruptable(wl: Workload): boolean;
  now(): Date;
}

export interface CycleResult {
  admitted: number;
  /** The API server refused a commit: decide again once the informers have caught up. */
  conflicted: boolean;
}

/** Per flavor and resource, the larger of two usages. */
function maxAmounts(a: FlavorAmounts, b: FlavorAmounts): FlavorAmounts {
  const out = new Map(a);
  for (const [flavor, amounts] of b) {
    const mine = out.get(flavor) ?? new ResourceAmounts();
    const names = new Set([...mine.names(), ...amounts.names()]);
    out.set(flavor, new ResourceAmounts([...names].map((r) => [r, (mine.get(r) >= amounts.get(r) ? mine : amounts).quantity(r)] as const)));
  }
  return out;
}

/** Whether `a` holds more than `b` of some flavor and resource. */
function exceeds(a: FlavorAmounts, b: FlavorAmounts): boolean {
  for (const [flavor, amounts] of a) for (const r of amounts.names()) if (amounts.get(r) > (b.get(flavor)?.get(r) ?? 0n)) return true;
  return false;
}

function verdict(queues: readonly QueueState[], target: string, charge: FlavorAmounts): QuotaVerdict {
  const r = fits(queues, target, charge);
  return r.fits ? { ok: true } : { ok: false, failures: r.failures };
}

function key(wl: Workload): string {
  return `${wl.metadata.namespace ?? ''}/${wl.metadata.name ?? ''}`;
}

/** What the cycle knows of the cohort's reservations. */
interface Snapshot {
  states: QueueState[];
  /** Reservations that may be preempted (not already being evicted). */
  reservations: Reservation[];
  /** Per queue, what workloads being evicted still hold (released once their Jobs stop). */
  evicting: Map<string, FlavorAmounts>;
  /**
   * Some queue's ledger holds more than the reservations seen: a release or an admission is not
   * in the Workload cache yet. A workload that does not fit is then not judged (no "pending",
   * no victims): the cache's next event runs the cycle again.
   */
  behind: boolean;
}

function snapshot(members: readonly ClusterQueue[], workloads: readonly Workload[]): Snapshot {
  const names = new Set(members.map((q) => q.metadata.name ?? ''));
  const seen = new Map<string, FlavorAmounts>();
  const evicting = new Map<string, FlavorAmounts>();
  const reservations: Reservation[] = [];
  for (const wl of workloads) {
    const charge = workloadCharge(wl);
    if (!charge || !names.has(charge.clusterQueue)) continue;
    seen.set(charge.clusterQueue, addFlavorAmounts(seen.get(charge.clusterQueue) ?? new Map(), charge.amounts));
    if (isEvicted(wl)) evicting.set(charge.clusterQueue, addFlavorAmounts(evicting.get(charge.clusterQueue) ?? new Map(), charge.amounts));
    else reservations.push({ key: key(wl), clusterQueue: charge.clusterQueue, priority: workloadPriority(wl), queuedAt: queuedAt(wl), reservedAt: reservedAt(wl), charge: charge.amounts });
  }
  let behind = false;
  const states = members.map((cq) => {
    const ledger = recordedUsage(cq);
    const counted = seen.get(cq.metadata.name ?? '') ?? new Map<string, ResourceAmounts>();
    behind ||= exceeds(ledger, counted);
    return { name: cq.metadata.name ?? '', spec: cq.spec, usage: maxAmounts(ledger, counted) };
  });
  return { states, reservations, evicting, behind };
}

function withCharge(states: readonly QueueState[], name: string, charge: FlavorAmounts, sign: 1 | -1): QueueState[] {
  return states.map((q) => (q.name === name ? { ...q, usage: sign > 0 ? addFlavorAmounts(q.usage, charge) : subtractFlavorAmounts(q.usage, charge) } : q));
}

type PreemptOutcome = 'none' | 'waiting' | { evicted: number };

/** A queue's head, ranked for its turn in the cycle. */
interface Head {
  cq: ClusterQueue;
  wl: Workload;
  /** Its flavors, if it fits now. */
  assigned: AssignResult;
  /** The queue's weighted share once the head is admitted (Kueue's DominantResourceShareWith). */
  shareAfter: number;
  /** It fits only by borrowing (or does not fit at all). */
  borrows: boolean;
}

function chargeOf(result: AssignResult): FlavorAmounts | undefined {
  return result.ok ? result.assigned.charge : undefined;
}

function rank(cq: ClusterQueue, wl: Workload, states: readonly QueueState[], flavors: Parameters<typeof assignFlavors>[2]): Head {
  const name = cq.metadata.name ?? '';
  const state = states.find((s) => s.name === name)!;
  const assigned = assignFlavors(wl, cq, flavors, (charge) => verdict(states, name, charge));
  // What it would be charged, fit or not: the flavors its pods may use, quota aside.
  const charge = chargeOf(assigned) ?? chargeOf(assignFlavors(wl, cq, flavors, () => ({ ok: true }))) ?? new Map<string, ResourceAmounts>();
  const borrows = !assigned.ok || fits(states, name, assigned.assigned.charge).borrowing;
  return { cq, wl, assigned, shareAfter: weightedShare(state, states, charge), borrows };
}

/** Candidates of one priority a BestEffortFIFO queue looks through for one that fits now. */
const BEST_EFFORT_LOOKAHEAD = 32;

/**
 * A BestEffortFIFO queue's head: its first candidate, unless that does not fit now and a later
 * one of the same priority does — then that one. Without this, an old workload that cannot fit
 * stands at the head again after every release in the cohort (inadmissible marks are cleared when
 * quota frees), the queue offers nothing that fits, and a borrower's workload whose quota this
 * queue just reclaimed by preemption is admitted back into it — and preempted again, in a loop,
 * while the workload that reclaimed waits. A higher-priority head that does not fit keeps its
 * place: it may preempt lower priorities.
 */
function bestEffortHead(cq: ClusterQueue, candidates: readonly Workload[], states: readonly QueueState[], flavors: Parameters<typeof assignFlavors>[2]): Head {
  const first = rank(cq, candidates[0]!, states, flavors);
  if (first.assigned.ok) return first;
  const priority = workloadPriority(first.wl);
  for (const wl of candidates.slice(1, 1 + BEST_EFFORT_LOOKAHEAD)) {
    if (workloadPriority(wl) !== priority) break;
    const next = rank(cq, wl, states, flavors);
    if (next.assigned.ok) return next;
  }
  return first;
}

/**
 * Kueue's order of heads: the lowest weighted share after admission first (fair sharing), then
 * those within their nominal quota before those that borrow, then priority and queue time. So a
 * queue reclaiming what it lent goes before the borrower whose quota was just released.
 */
function headOrder(a: Head, b: Head): number {
  return a.shareAfter - b.shareAfter || Number(a.borrows) - Number(b.borrows) || compareQueueOrder(a.wl, b.wl);
}

export class AdmissionCycle {
  constructor(private readonly d: AdmissionDeps) {}

  /** One cycle over the cohort (or lone queue) `cycleKey` (queue-manager.ts cycleKeyOf). */
  async run(cycleKey: string): Promise<CycleResult> {
    const { queues } = this.d;
    const members = queues.membersOf(cycleKey);
    const result: CycleResult = { admitted: 0, conflicted: false };
    if (members.length === 0) return result;
    const workloads = this.d.view.list();
    const snap = snapshot(members, workloads);
    let states = snap.states;
    const pending = queues.pendingByQueue(members, workloads);
    const flavors = queues.flavorMap();
    const byName = new Map(members.map((q) => [q.metadata.name ?? '', q]));
    const blocked = new Set<string>();
    const skipped = new Set<string>();
    for (const cq of members) if (queues.inactiveReason(cq)) blocked.add(cq.metadata.name ?? '');

    for (;;) {
      const heads: Head[] = [];
      for (const [name, list] of pending) {
        if (blocked.has(name)) continue;
        const cq = byName.get(name)!;
        const strict = cq.spec.queueingStrategy === 'StrictFIFO';
        const candidates = list.filter((wl) => !skipped.has(wl.metadata.uid ?? '') && (strict || !queues.isInadmissible(name, wl)));
        if (candidates.length === 0) continue;
        heads.push(strict ? rank(cq, candidates[0]!, states, flavors) : bestEffortHead(cq, candidates, states, flavors));
      }
      if (heads.length === 0) break;
      heads.sort(headOrder);
      const { cq, wl, assigned } = heads[0]!;
      const name = cq.metadata.name ?? '';
      const strict = cq.spec.queueingStrategy === 'StrictFIFO';
      const drop = () => pending.set(name, pending.get(name)!.filter((w) => w !== wl));

      if (assigned.ok) {
        const outcome = await this.commit(wl, assigned.assigned.admission);
        if (outcome === 'conflict') {
          result.conflicted = true;
          break;
        }
        drop();
        if (outcome === 'admitted') {
          states = withCharge(states, name, assigned.assigned.charge, 1);
          snap.reservations.push({ key: key(wl), clusterQueue: name, priority: workloadPriority(wl), queuedAt: queuedAt(wl), reservedAt: this.d.now().getTime(), charge: assigned.assigned.charge });
          result.admitted++;
        }
        continue;
      }

      if (snap.behind) {
        // The ledger has not caught up with a release the Workloads show: decided now, the head
        // might preempt what is already free, so it waits for the ledger (its change starts a
        // cycle). So does everything after it in the cohort: a workload admitted past it —
        // further down its BestEffortFIFO queue, or a borrower in another queue — could take
        // that release, which is typically the victim's it has just preempted: the victim
        // itself, requeued, would be admitted back and preempted again, in a loop while the
        // ledger lags.
        break;
      }
      const preempt = await this.preempt(wl, cq, states, snap, flavors);
      if (preempt !== 'none') {
        // It waits for quota being released; the queue is held for it (Kueue does not admit
        // around a workload that is preempting).
        blocked.add(name);
        if (preempt !== 'waiting') await this.pending(wl, `Pending the preemption of ${preempt.evicted} workload(s)`, result);
        if (result.conflicted) break;
        continue;
      }
      this.d.metrics.admissionAttempts.inc({ result: 'inadmissible' });
      await this.pending(wl, assigned.message, result);
      if (result.conflicted) break;
      if (strict) blocked.add(name);
      else {
        queues.markInadmissible(name, wl);
        skipped.add(wl.metadata.uid ?? '');
      }
    }
    return result;
  }

  private async pending(wl: Workload, message: string, result: CycleResult): Promise<void> {
    try {
      await this.d.writes.setPending(wl, PENDING_REASON, message, this.d.now());
    } catch (err) {
      // Deleted: nothing waits. Changed: the cycle runs again on what it is now.
      if (err instanceof NotFoundError) return;
      if (err instanceof ConflictError) {
        result.conflicted = true;
        return;
      }
      throw err;
    }
  }

  /** One status write: admission + QuotaReserved/Admitted. The ledger may refuse it. */
  private async commit(wl: Workload, admission: NonNullable<Workload['status']['admission']>): Promise<'admitted' | 'conflict' | 'gone'> {
    const now = this.d.now();
    const cq = admission.clusterQueue;
    try {
      await this.d.writes.writeStatus(wl, admittedStatus(wl, admission, now));
    } catch (err) {
      if (err instanceof NotFoundError) return 'gone';
      if (err instanceof ConflictError) {
        this.d.metrics.admissionAttempts.inc({ result: 'conflict' });
        this.d.log.debug('admission refused; deciding again on fresh state', { workload: key(wl), clusterQueue: cq, error: err.message });
        return 'conflict';
      }
      throw err;
    }
    const waited = Math.max(0, (now.getTime() - queuedAt(wl)) / 1000);
    this.d.metrics.admissionAttempts.inc({ result: 'success' });
    this.d.metrics.quotaReservedWorkloads.inc({ cluster_queue: cq });
    this.d.metrics.admittedWorkloads.inc({ cluster_queue: cq });
    this.d.metrics.quotaReservedWaitTime.observe({ cluster_queue: cq }, waited);
    this.d.metrics.admissionWaitTime.observe({ cluster_queue: cq }, waited);
    this.d.writes.event(wl, 'Normal', 'QuotaReserved', `${quotaReservedMessage(cq)}, wait time since queued was ${Math.round(waited)}s`);
    this.d.writes.event(wl, 'Normal', 'Admitted', `Admitted by ClusterQueue ${cq}, wait time since reservation was 0s`);
    return 'admitted';
  }

  /**
   * Preempt for `wl` if its queue's policy allows and victims exist. 'waiting' when evictions
   * already under way will make room: no more victims are taken.
   */
  private async preempt(wl: Workload, cq: ClusterQueue, states: QueueState[], snap: Snapshot, flavors: Parameters<typeof assignFlavors>[2]): Promise<PreemptOutcome> {
    const policy = cq.spec.preemption;
    const name = cq.metadata.name ?? '';
    const canReclaim = Boolean(cq.spec.cohort) && policy.reclaimWithinCohort !== 'Never';
    if (policy.withinClusterQueue === 'Never' && !canReclaim) return 'none';
    let released = states;
    for (const [q, charge] of snap.evicting) released = withCharge(released, q, charge, -1);
    if (snap.evicting.size > 0 && assignFlavors(wl, cq, flavors, (charge) => verdict(released, name, charge)).ok) return 'waiting';

    const byKey = new Map(this.d.view.list().map((w) => [key(w), w]));
    const preemptor = { clusterQueue: name, priority: workloadPriority(wl), queuedAt: queuedAt(wl) };
    const victimsFor = (charge: FlavorAmounts) =>
      findVictims({
        preemptor: { ...preemptor, charge },
        policy,
        queues: states,
        reservations: snap.reservations,
        shareOf: (q) => {
          const s = states.find((x) => x.name === q);
          return s ? weightedShare(s, states) : 0;
        },
        disruptable: (r) => {
          const victim = byKey.get(r.key);
          return victim !== undefined && this.d.disruptable(victim);
        },
      });
    const assigned = assignFlavors(wl, cq, flavors, (charge) => (victimsFor(charge) ? { ok: true } : verdict(states, name, charge)));
    if (!assigned.ok) return 'none';
    const victims = victimsFor(assigned.assigned.charge);
    if (!victims || victims.length === 0) return 'none';
    for (const v of victims) {
      const victim = byKey.get(v.reservation.key);
      if (!victim) continue;
      const message = preemptionMessage(wl, name, v.reason);
      try {
        await this.d.writes.evict(victim, 'Preempted', message, this.d.now(), { reason: v.reason, by: name });
      } catch (err) {
        // Changed or gone since the snapshot: the next cycle decides on what it is now.
        if (!(err instanceof ConflictError) && !(err instanceof NotFoundError)) throw err;
      }
      snap.reservations = snap.reservations.filter((r) => r.key !== v.reservation.key);
      snap.evicting.set(v.reservation.clusterQueue, addFlavorAmounts(snap.evicting.get(v.reservation.clusterQueue) ?? new Map(), v.reservation.charge));
    }
    this.d.log.info('preempting', { workload: key(wl), clusterQueue: name, victims: victims.map((v) => `${v.reservation.key} (${v.reason})`), jobUid: wl.metadata.labels?.[JOB_UID_LABEL] });
    return { evicted: victims.length };
  }
}
