// The ClusterQueue fit rule and ledger arithmetic, as Kueue defines them: pure functions the API
// server's admission guard (apiserver/queues/), the queue controller and the audit all share, so
// the three can never disagree on whether a workload fits or what a queue holds.
//
// Per flavor and resource, a queue may hold up to its nominalQuota, plus borrowingLimit when in a
// cohort (no limit when borrowingLimit is unset; nothing beyond nominal outside a cohort). Within a
// cohort each member lends lendable = lendingLimit ?? nominalQuota of its quota and keeps
// guaranteed = nominalQuota − lendable for itself; what members use beyond their guaranteed part
// comes from the cohort's pool: Σ_m max(0, usage_m − guaranteed_m) ≤ Σ_m lendable_m.
// Amounts are exact milli-units (shared/resources.ts).
import type { ClusterQueue, FlavorUsage, ResourceQuotaEntry, Workload } from './api/kueue.js';
import { CLUSTER_QUEUE_ACTIVE_REASONS, hasQuotaReservation, isAdmitted } from './api/kueue.js';
import { Quantity } from './quantity.js';
import { add, parseResourceList, ResourceAmounts, subtract } from './resources.js';

/** Amounts per flavor, then per resource: what a workload is charged, or what a queue holds. */
export type FlavorAmounts = ReadonlyMap<string, ResourceAmounts>;

export function flavorAmounts(entries: Iterable<readonly [string, ResourceAmounts]> = []): FlavorAmounts {
  return new Map(entries);
}

export function addFlavorAmounts(a: FlavorAmounts, b: FlavorAmounts): FlavorAmounts {
  const out = new Map(a);
  for (const [flavor, amounts] of b) out.set(flavor, add(out.get(flavor) ?? new ResourceAmounts(), amounts));
  return out;
}

export function subtractFlavorAmounts(a: FlavorAmounts, b: FlavorAmounts): FlavorAmounts {
  const out = new Map(a);
  for (const [flavor, amounts] of b) out.set(flavor, subtract(out.get(flavor) ?? new ResourceAmounts(), amounts));
  return out;
}

/** Milli-units of one flavor's resource (0n when absent). */
export function amountOf(a: FlavorAmounts, flavor: string, resource: string): bigint {
  return a.get(flavor)?.get(resource) ?? 0n;
}

export function isZeroFlavorAmounts(a: FlavorAmounts): boolean {
  for (const amounts of a.values()) for (const n of amounts.names()) if (amounts.get(n) !== 0n) return false;
  return true;
}

export function sameFlavorAmounts(a: FlavorAmounts, b: FlavorAmounts): boolean {
  return isZeroFlavorAmounts(subtractFlavorAmounts(a, b));
}

/**
 * One list keyed `flavor/resource` (`on-demand/cpu`, `a100/nvidia.com/gpu`): flavor names are DNS
 * subdomains, so the first `/` separates them. For ledgers that compare plain resource lists.
 */
export function flattenFlavorAmounts(a: FlavorAmounts): ResourceAmounts {
  const out: [string, Quantity][] = [];
  for (const [flavor, amounts] of a) for (const r of amounts.names()) out.push([`${flavor}/${r}`, amounts.quantity(r)]);
  return new ResourceAmounts(out);
}

// ---------------------------------------------------------------------------------------------
// Workload charges

/** What a workload charges one ClusterQueue. */
export interface WorkloadCharge {
  clusterQueue: string;
  amounts: FlavorAmounts;
}

/**
 * What a workload charges its ClusterQueue, from status.admission: per pod set, each resource's
 * resourceUsage to the flavor assigned to it. `reservation` (flavorsReservation) while quota is
 * reserved — admission set and not Finished; `usage` (flavorsUsage) only while also Admitted.
 * Undefined when it charges nothing.
 */
export function workloadCharge(wl: Pick<Workload, 'status'>, which: 'reservation' | 'usage' = 'reservation'): WorkloadCharge | undefined {
  const admission = wl.status.admission;
  if (!admission || !hasQuotaReservation(wl)) return undefined;
  if (which === 'usage' && !isAdmitted(wl)) return undefined;
  let amounts: FlavorAmounts = new Map();
  for (const psa of admission.podSetAssignments) {
    const usage = parseResourceList(psa.resourceUsage);
    // Two pod sets may charge the same flavor and resource: summed, not overwritten.
    for (const [resource, flavor] of Object.entries(psa.flavors ?? {})) {
      amounts = addFlavorAmounts(amounts, new Map([[flavor, new ResourceAmounts([[resource, usage.quantity(resource)]])]]));
    }
  }
  return { clusterQueue: admission.clusterQueue, amounts };
}

// ---------------------------------------------------------------------------------------------
// A queue's quota and recorded usage

/** The quota of `resource` in `flavor`, undefined when the queue does not cover it there. */
export function quotaEntry(cq: Pick<ClusterQueue, 'spec'>, flavor: string, resource: string): ResourceQuotaEntry | undefined {
  for (const g of cq.spec.resourceGroups ?? []) {
    for (const f of g.flavors) {
      if (f.name !== flavor) continue;
      const entry = f.resources.find((r) => r.name === resource);
      if (entry) return entry;
    }
  }
  return undefined;
}

function milli(q: string | undefined): bigint | undefined {
  return q === undefined ? undefined : Quantity.parse(q).milliValue();
}

/** The recorded ledger: status.flavorsReservation (what fits are decided on) or status.flavorsUsage. */
export function recordedUsage(cq: Pick<ClusterQueue, 'status'>, which: 'reservation' | 'usage' = 'reservation'): FlavorAmounts {
  const list = which === 'reservation' ? cq.status.flavorsReservation : cq.status.flavorsUsage;
  return flavorUsageAmounts(list ?? []);
}

export function flavorUsageAmounts(list: readonly Pick<FlavorUsage, 'name' | 'resources'>[]): FlavorAmounts {
  const out = new Map<string, ResourceAmounts>();
  for (const f of list) {
    const entries = f.resources.map((r) => [r.name, Quantity.parse(r.total ?? '0')] as const);
    out.set(f.name, add(out.get(f.name) ?? new ResourceAmounts(), new ResourceAmounts(entries)));
  }
  return out;
}

/**
 * The status list of a usage (flavorsReservation / flavorsUsage): every flavor and resource of
 * the spec in the spec's order, zeros included, `borrowed` = the part over nominalQuota; then
 * anything held in flavors or resources the spec no longer lists (a ledger never drops a charge).
 */
export function flavorUsageList(cq: Pick<ClusterQueue, 'spec'>, usage: FlavorAmounts): FlavorUsage[] {
  const out: FlavorUsage[] = [];
  const listed = new Set<string>();
  const entry = (flavor: string, resource: string, nominal: bigint) => {
    listed.add(`${flavor}/${resource}`);
    const total = amountOf(usage, flavor, resource);
    const format = usage.get(flavor)?.has(resource) ? usage.get(flavor)!.quantity(resource).format : 'DecimalSI';
    const borrowed = total > nominal ? total - nominal : 0n;
    return { name: resource, total: Quantity.fromMilli(total, format).toString(), borrowed: Quantity.fromMilli(borrowed, format).toString() };
  };
  for (const g of cq.spec.resourceGroups ?? []) {
    for (const f of g.flavors) {
      out.push({ name: f.name, resources: f.resources.map((r) => entry(f.name, r.name, milli(r.nominalQuota) ?? 0n)) });
    }
  }
  for (const [flavor, amounts] of usage) {
    const extra = amounts.names().filter((r) => !listed.has(`${flavor}/${r}`) && amounts.get(r) !== 0n);
    if (extra.length === 0) continue;
    const resources = extra.map((r) => entry(flavor, r, 0n));
    const existing = out.find((f) => f.name === flavor);
    if (existing) existing.resources.push(...resources);
    else out.push({ name: flavor, resources });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The fit rule

/** A ClusterQueue as a decision reads it: its spec and what its ledger records. */
export interface QueueState {
  name: string;
  spec: ClusterQueue['spec'];
  /** Its recorded reservation (status.flavorsReservation). */
  usage: FlavorAmounts;
}

export function queueState(cq: Pick<ClusterQueue, 'metadata' | 'spec' | 'status'>): QueueState {
  return { name: cq.metadata.name ?? '', spec: cq.spec, usage: recordedUsage(cq) };
}

export type FitFailureReason =
  /** The target queue does not exist. */
  | 'QueueNotFound'
  /** The queue has no quota for this resource in this flavor. */
  | 'NotCovered'
  /** Past nominalQuota (outside a cohort) or nominalQuota + borrowingLimit. */
  | 'ExceedsQueueLimit'
  /** Within the queue's limits, but the cohort has not that much unused quota to lend. */
  | 'CohortExhausted';

export interface FitFailure {
  reason: FitFailureReason;
  clusterQueue: string;
  flavor: string;
  resource: string;
  requested: Quantity;
  /** How much of it the queue could still be given now. */
  available: Quantity;
  /** Whether the request goes past the queue's nominalQuota (it would have to borrow). */
  borrowing: boolean;
  message: string;
}

export type FitResult =
  | { fits: true; /** Some resource goes past nominalQuota: the admission borrows from the cohort. */ borrowing: boolean }
  | { fits: false; borrowing: boolean; failures: FitFailure[] };

/** The members of `target`'s cohort among `queues` (target included), or the target alone. */
export function cohortMembers(queues: readonly QueueState[], target: QueueState): QueueState[] {
  const cohort = target.spec.cohort;
  if (!cohort) return [target];
  return queues.filter((q) => q.name === target.name || q.spec.cohort === cohort);
}

interface FlavorResourceLimits {
  nominal: bigint;
  /** nominal + borrowingLimit; undefined: unlimited (a cohort member without borrowingLimit). */
  ceiling: bigint | undefined;
  lendable: bigint;
  guaranteed: bigint;
}

function limitsOf(q: QueueState, flavor: string, resource: string): FlavorResourceLimits | undefined {
  const e = quotaEntry(q, flavor, resource);
  if (!e) return undefined;
  const nominal = milli(e.nominalQuota) ?? 0n;
  const inCohort = Boolean(q.spec.cohort);
  const borrowing = milli(e.borrowingLimit);
  const ceiling = !inCohort ? nominal : borrowing === undefined ? undefined : nominal + borrowing;
  const lendable = !inCohort ? 0n : (milli(e.lendingLimit) ?? nominal);
  return { nominal, ceiling, lendable, guaranteed: nominal - lendable };
}

function positive(x: bigint): bigint {
  return x > 0n ? x : 0n;
}

/** The cohort's pool for one flavor and resource: Σ lendable, and Σ used beyond guaranteed. */
export function cohortPool(members: readonly QueueState[], flavor: string, resource: string): { lendable: bigint; drawn: bigint } {
  let lendable = 0n;
  let drawn = 0n;
  for (const m of members) {
    const l = limitsOf(m, flavor, resource);
    lendable += l?.lendable ?? 0n;
    drawn += positive(amountOf(m.usage, flavor, resource) - (l?.guaranteed ?? 0n));
  }
  return { lendable, drawn };
}

/**
 * Whether `request` (a workload's charge) fits in ClusterQueue `target`, given `queues`: the
 * target and the other members of its cohort (other queues are ignored), each with its recorded
 * usage. Every shortfall is listed, each naming its flavor and resource. Only increases are
 * checked: a queue already past a lowered quota still takes nothing more, and may always shrink.
 */
export function fits(queues: readonly QueueState[], target: string, request: FlavorAmounts): FitResult {
  const t = queues.find((q) => q.name === target);
  if (!t) {
    const none = Quantity.fromMilli(0n);
    return {
      fits: false,
      borrowing: false,
      failures: [{ reason: 'QueueNotFound', clusterQueue: target, flavor: '', resource: '', requested: none, available: none, borrowing: false, message: `ClusterQueue ${target} not found` }],
    };
  }
  const members = cohortMembers(queues, t);
  const failures: FitFailure[] = [];
  let borrowing = false;
  for (const [flavor, amounts] of request) {
    for (const resource of amounts.names()) {
      const req = amounts.get(resource);
      if (req <= 0n) continue;
      const format = amounts.quantity(resource).format;
      const q = (m: bigint) => Quantity.fromMilli(m, format);
      const fail = (reason: FitFailureReason, available: bigint, needsBorrowing: boolean, what: string): FitFailure => ({
        reason,
        clusterQueue: target,
        flavor,
        resource,
        requested: q(req),
        available: q(positive(available)),
        borrowing: needsBorrowing,
        message: `${what} for ${resource} in flavor ${flavor}: requested ${q(req).toString()}, available ${q(positive(available)).toString()}`,
      });
      const l = limitsOf(t, flavor, resource);
      if (!l) {
        failures.push(fail('NotCovered', 0n, false, `ClusterQueue ${target} has no quota`));
        continue;
      }
      const used = amountOf(t.usage, flavor, resource);
      const after = used + req;
      const needsBorrowing = after > l.nominal;
      borrowing ||= needsBorrowing;
      const ownRoom = l.ceiling === undefined ? undefined : l.ceiling - used;
      let cohortRoom: bigint | undefined;
      let cohortShort = false;
      if (t.spec.cohort) {
        const pool = cohortPool(members, flavor, resource);
        // What this admission draws from the pool: its usage beyond guaranteed, before and after.
        const draws = positive(after - l.guaranteed) - positive(used - l.guaranteed);
        cohortRoom = positive(l.guaranteed - used) + positive(pool.lendable - pool.drawn);
        cohortShort = draws > 0n && pool.drawn + draws > pool.lendable;
      }
      const room = ownRoom === undefined ? cohortRoom! : cohortRoom === undefined ? ownRoom : ownRoom < cohortRoom ? ownRoom : cohortRoom;
      if (ownRoom !== undefined && after > l.ceiling!) {
        const what = t.spec.cohort ? `ClusterQueue ${target} would exceed nominalQuota + borrowingLimit` : `ClusterQueue ${target} has insufficient quota`;
        failures.push(fail('ExceedsQueueLimit', room, needsBorrowing, what));
      } else if (cohortShort) {
        failures.push(fail('CohortExhausted', room, needsBorrowing, `cohort ${t.spec.cohort ?? ''} has insufficient unused quota`));
      }
    }
  }
  return failures.length === 0 ? { fits: true, borrowing } : { fits: false, borrowing, failures };
}

// ---------------------------------------------------------------------------------------------
// Why a queue is inactive

export interface InactiveReason {
  reason: string;
  message: string;
}

/**
 * Why a ClusterQueue cannot admit (its Active condition False, with this reason), or undefined
 * when it can. `flavors` are the names of the ResourceFlavors that exist.
 */
export function queueInactiveReason(cq: Pick<ClusterQueue, 'metadata' | 'spec'>, flavors: Iterable<string>): InactiveReason | undefined {
  if (cq.metadata.deletionTimestamp) {
    return { reason: CLUSTER_QUEUE_ACTIVE_REASONS.terminating, message: "Can't admit new workloads; clusterQueue is terminating" };
  }
  if (cq.spec.stopPolicy !== undefined && cq.spec.stopPolicy !== 'None') {
    return { reason: CLUSTER_QUEUE_ACTIVE_REASONS.stopped, message: `Can't admit new workloads; clusterQueue is stopped (stopPolicy ${cq.spec.stopPolicy})` };
  }
  const known = new Set(flavors);
  const missing = [...new Set((cq.spec.resourceGroups ?? []).flatMap((g) => g.flavors.map((f) => f.name)))].filter((f) => !known.has(f));
  if (missing.length > 0) {
    return { reason: CLUSTER_QUEUE_ACTIVE_REASONS.flavorNotFound, message: `Can't admit new workloads: references missing ResourceFlavor(s): ${missing.join(', ')}` };
  }
  return undefined;
}
