// The ClusterQueue ledger kind (DESIGN §3): each queue's status.flavorsReservation records exactly
// the charges of its workloads holding a reservation (admitted, unfinished), per flavor and
// resource, and holds no more than nominalQuota (+ borrowingLimit in a cohort); flavorsUsage
// records the charges of those also Admitted; and within each cohort, what members use beyond
// their guaranteed quota is no more than they lend. Amounts are keyed `flavor/resource`. A queue
// whose quota was lowered below what it holds is reported over: the audit states the ledger's
// position, whoever moved the limit. The common checks run in ledgers/ledger.ts.
import type { ClusterQueue, Workload } from '../../shared/api/kueue.js';
import {
  cohortPool,
  flattenFlavorAmounts,
  quotaEntry,
  queueState,
  recordedUsage,
  sameFlavorAmounts,
  addFlavorAmounts,
  workloadCharge,
  type FlavorAmounts,
  type QueueState,
} from '../../shared/queue-fit.js';
import { Quantity } from '../../shared/quantity.js';
import { ResourceAmounts } from '../../shared/resources.js';
import type { ServedResource } from '../http/resources.js';
import type { LedgerAccount, LedgerCharge, LedgerKind, Violation } from '../ledgers/ledger.js';
import { CLUSTER_QUEUE_RESOURCE, WORKLOAD_RESOURCE } from './install.js';

/** The most a queue may hold of each `flavor/resource`, for those it bounds on its own. */
function limitsOf(cq: ClusterQueue, recorded: ResourceAmounts): { limits: ResourceAmounts; limited: string[] } {
  const entries: [string, Quantity][] = [];
  const inCohort = Boolean(cq.spec.cohort);
  for (const g of cq.spec.resourceGroups ?? []) {
    for (const f of g.flavors) {
      for (const r of f.resources) {
        const nominal = Quantity.parse(r.nominalQuota);
        // A cohort member without borrowingLimit is bounded only by its cohort (checked below).
        if (inCohort && r.borrowingLimit === undefined) continue;
        entries.push([`${f.name}/${r.name}`, inCohort ? nominal.add(Quantity.parse(r.borrowingLimit!)) : nominal]);
      }
    }
  }
  const limits = new ResourceAmounts(entries);
  const covered = new Set((cq.spec.resourceGroups ?? []).flatMap((g) => g.flavors.flatMap((f) => f.resources.map((r) => `${f.name}/${r.name}`))));
  // What it holds of a flavor or resource its spec no longer lists has no quota at all.
  const uncovered = recorded.names().filter((n) => !covered.has(n));
  return { limits, limited: [...limits.names(), ...uncovered] };
}

function text(a: FlavorAmounts): string {
  const flat = flattenFlavorAmounts(a);
  return `{${flat.names().filter((n) => flat.get(n) !== 0n).sort().map((n) => `${n}: ${flat.quantity(n).toString()}`).join(', ')}}`;
}

export function clusterQueueLedger(resources: ReadonlyMap<string, ServedResource>): LedgerKind {
  const served = resources.has(CLUSTER_QUEUE_RESOURCE) && resources.has(WORKLOAD_RESOURCE);
  return {
    name: 'ClusterQueue',
    reads: served ? [CLUSTER_QUEUE_RESOURCE, WORKLOAD_RESOURCE] : [],
    report: { mismatch: 'QueueUsageMismatch', over: 'OverQueueQuota', unknown: 'UnknownQueue', account: 'clusterQueue', holder: 'workload' },
    state(objects) {
      const queues = objects(CLUSTER_QUEUE_RESOURCE) as unknown as ClusterQueue[];
      const workloads = objects(WORKLOAD_RESOURCE) as unknown as Workload[];
      const accounts: LedgerAccount[] = [];
      const charges: LedgerCharge[] = [];
      const violations: Violation[] = [];

      const admittedUse = new Map<string, FlavorAmounts>();
      for (const wl of workloads) {
        const holder = `${wl.metadata.namespace ?? ''}/${wl.metadata.name ?? ''}`;
        const reserved = workloadCharge(wl, 'reservation');
        if (reserved) charges.push({ account: reserved.clusterQueue, holder, amounts: flattenFlavorAmounts(reserved.amounts) });
        const used = workloadCharge(wl, 'usage');
        if (used) admittedUse.set(used.clusterQueue, addFlavorAmounts(admittedUse.get(used.clusterQueue) ?? new Map(), used.amounts));
      }

      for (const cq of queues) {
        const name = cq.metadata.name ?? '';
        const recorded = flattenFlavorAmounts(recordedUsage(cq, 'reservation'));
        accounts.push({ id: name, recorded, ...limitsOf(cq, recorded) });
        const usage = recordedUsage(cq, 'usage');
        const sum = admittedUse.get(name) ?? new Map();
        if (!sameFlavorAmounts(usage, sum)) {
          violations.push({ kind: 'QueueUsageMismatch', clusterQueue: name, message: `ClusterQueue ${name} records flavorsUsage ${text(usage)} but its admitted workloads use ${text(sum)}` });
        }
      }

      // Each cohort: Σ used beyond guaranteed ≤ Σ lent, per flavor and resource.
      const cohorts = new Map<string, QueueState[]>();
      for (const cq of queues) {
        if (!cq.spec.cohort) continue;
        if (!cohorts.has(cq.spec.cohort)) cohorts.set(cq.spec.cohort, []);
        cohorts.get(cq.spec.cohort)!.push(queueState(cq));
      }
      for (const [cohort, members] of cohorts) {
        const pairs = new Set<string>();
        for (const m of members) {
          for (const g of m.spec.resourceGroups ?? []) for (const f of g.flavors) for (const r of f.resources) pairs.add(`${f.name}/${r.name}`);
          for (const [flavor, amounts] of m.usage) for (const r of amounts.names()) pairs.add(`${flavor}/${r}`);
        }
        for (const pair of [...pairs].sort()) {
          const slash = pair.indexOf('/');
          const [flavor, resource] = [pair.slice(0, slash), pair.slice(slash + 1)];
          const pool = cohortPool(members, flavor, resource);
          if (pool.drawn <= pool.lendable) continue;
          // Printed as the quota is written (36Gi, not 38654705664).
          const nominal = members.map((m) => quotaEntry(m, flavor, resource)?.nominalQuota).find((q) => q !== undefined);
          const q = (milli: bigint) => Quantity.fromMilli(milli, nominal !== undefined ? Quantity.parse(nominal).format : 'DecimalSI').toString();
          violations.push({
            kind: 'OverCohortQuota',
            cohort,
            message: `cohort ${cohort} is over on ${pair}: its queues use ${q(pool.drawn)} beyond their guaranteed quota, and lend ${q(pool.lendable)}`,
          });
        }
      }
      return { accounts, charges, violations };
    },
  };
}
