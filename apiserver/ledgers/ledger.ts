// Ledgers (DESIGN §3). A ledger is a stored record of what its holders use of some capacity,
// written in the same etcd transaction as every change to a holder, so it can never drift from its
// holders or pass its limits, however many writers race. Each kind is a declaration of how its
// accounts and charges read from objects listed at one store revision:
//
//   NodeAllocation  pods bound to a node          against the node's allocatable    (placement/)
//   ResourceQuota   a namespace's counted objects against the quota's hard limits   (quota/)
//   ClusterQueue    admitted Workloads            against nominal quota + borrowing (queues/)
//
// The audit (GET /audit, `cellctl audit`) is the same code for every kind: at one revision, each
// account records exactly the sum of what is charged to it, and holds no more than its limits.
import { add, ResourceAmounts } from '../../shared/resources.js';
import type { KubeObject } from '../registry/object.js';

export type { Violation, ViolationKind } from '../../shared/api/audit.js';
import type { Violation, ViolationKind } from '../../shared/api/audit.js';

/** One ledger: what it records, and the most it may hold. */
export interface LedgerAccount {
  /** Unique within its kind: a node name, `namespace/quota`, a ClusterQueue name. */
  id: string;
  recorded: ResourceAmounts;
  /** Names whose recorded amount must equal the sum charged (every name either side when absent). */
  compared?: readonly string[];
  limits: ResourceAmounts;
  /** Names the limits bound; a name not listed is unlimited. */
  limited: readonly string[];
}

/** What one holder uses of one account. */
export interface LedgerCharge {
  account: string;
  /** `namespace/name` (or name) of the holder, for messages. */
  holder: string;
  amounts: ResourceAmounts;
}

/** A kind's accounts and charges at the audited revision, and violations only it can see. */
export interface LedgerState {
  accounts: LedgerAccount[];
  charges: LedgerCharge[];
  violations: Violation[];
}

/** Objects of served resources (plural names), all listed at the audited revision. */
export type ListedObjects = (resource: string) => readonly KubeObject[];

export interface LedgerKind {
  /** The ledger object's kind, e.g. `NodeAllocation`. */
  name: string;
  /** The served resources its state is read from. */
  reads: readonly string[];
  /** Resources to list as well, chosen from the `reads` (a quota's counted kinds). */
  alsoReads?(objects: ListedObjects): readonly string[];
  state(objects: ListedObjects): LedgerState;
  /** How the common checks' violations are reported for this kind. */
  report: {
    mismatch: ViolationKind;
    over: ViolationKind;
    /** A charge to an account that does not exist. */
    unknown: ViolationKind;
    /** Which Violation field names an account, and which a holder. */
    account: 'node' | 'quota' | 'clusterQueue';
    holder: 'pod' | 'workload';
  };
}

export interface LedgerAudit {
  /** Accounts audited per kind. */
  accounts: Record<string, number>;
  violations: Violation[];
}

function amountsText(a: ResourceAmounts, names: readonly string[]): string {
  return `{${names.map((n) => `${n}: ${a.quantity(n).toString()}`).join(', ')}}`;
}

/** The common checks of one kind's state: recorded = Σ charges, recorded ≤ limits, no unknown account. */
export function checkLedgers(kind: LedgerKind, state: LedgerState): Violation[] {
  const r = kind.report;
  const violations = [...state.violations];
  const sums = new Map<string, ResourceAmounts>();
  const ids = new Set(state.accounts.map((a) => a.id));
  for (const c of state.charges) {
    if (!ids.has(c.account)) {
      violations.push({ kind: r.unknown, [r.account]: c.account, [r.holder]: c.holder, message: `${c.holder} is charged to ${kind.name} ${c.account}, which does not exist` });
      continue;
    }
    sums.set(c.account, add(sums.get(c.account) ?? new ResourceAmounts(), c.amounts));
  }
  for (const a of state.accounts) {
    const sum = sums.get(a.id) ?? new ResourceAmounts();
    const names = a.compared ?? [...new Set([...a.recorded.names(), ...sum.names()])];
    const differing = names.filter((n) => a.recorded.get(n) !== sum.get(n));
    if (differing.length > 0) {
      violations.push({ kind: r.mismatch, [r.account]: a.id, message: `${kind.name} ${a.id} records ${amountsText(a.recorded, differing)} but its holders use ${amountsText(sum, differing)}` });
    }
    for (const n of a.limited) {
      if (a.recorded.get(n) > a.limits.get(n)) {
        violations.push({ kind: r.over, [r.account]: a.id, message: `${kind.name} ${a.id} is over on ${n}: holds ${a.recorded.quantity(n).toString()}, limit ${a.limits.quantity(n).toString()}` });
      }
    }
  }
  return violations;
}

/**
 * Audits every kind at one revision: each served resource any kind reads is listed once, through
 * `list`, at that revision.
 */
export async function auditLedgers(kinds: readonly LedgerKind[], list: (resource: string) => Promise<readonly KubeObject[]>): Promise<LedgerAudit> {
  const listed = new Map<string, readonly KubeObject[]>();
  const listAll = (resources: readonly string[]) =>
    Promise.all([...new Set(resources)].filter((r) => !listed.has(r)).map(async (r) => listed.set(r, await list(r))));
  const objects: ListedObjects = (resource) => listed.get(resource) ?? [];
  await listAll(kinds.flatMap((k) => k.reads));
  await listAll(kinds.flatMap((k) => k.alsoReads?.(objects) ?? []));
  const accounts: Record<string, number> = {};
  const violations: Violation[] = [];
  for (const kind of kinds) {
    const state = kind.state(objects);
    accounts[kind.name] = state.accounts.length;
    violations.push(...checkLedgers(kind, state));
  }
  return { accounts, violations };
}
