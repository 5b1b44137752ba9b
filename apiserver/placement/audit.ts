// The no-over-commit audit (DESIGN §3): at one store revision, every node's ledger equals the sum
// of its bound, unfinished pods and fits its allocatable, and no pod is in two ledgers. Tests run
// it after every concurrency test; `cellctl audit` and GET /audit expose it.
import type { Node, Pod } from '../../shared/api/core.js';
import type { NodeAllocation } from '../../shared/api/scheduling.js';
import { podRequests } from '../../shared/pod-resources.js';
import { add, parseResourceList, ResourceAmounts, subtract, toResourceList } from '../../shared/resources.js';
import type { ResourceStore } from '../registry/resource-store.js';
import { holdsResources } from '../../shared/node-ledger.js';
import { nodeAllocatable } from './hooks.js';
import { versionAfter } from '../storage/resource-version.js';

export type ViolationKind =
  | 'OverCommitted'
  | 'LedgerMismatch'
  | 'DoubleBound'
  | 'MissingLedger'
  | 'OrphanedPod'
  // ResourceQuota ledgers (apiserver/quota/audit.ts)
  | 'QuotaMismatch'
  | 'OverQuota';

export interface Violation {
  kind: ViolationKind;
  node?: string;
  pod?: string;
  /** `namespace/name` of a ResourceQuota. */
  quota?: string;
  message: string;
}

export interface AuditReport {
  kind: 'AllocationAudit';
  revision: number;
  nodes: number;
  pods: number;
  boundPods: number;
  /** ResourceQuotas audited beside the node ledgers. */
  quotas?: number;
  ok: boolean;
  violations: Violation[];
}

function sameAmounts(a: ResourceAmounts, b: ResourceAmounts): boolean {
  for (const n of new Set([...a.names(), ...b.names()])) if (a.get(n) !== b.get(n)) return false;
  return true;
}

export async function auditAllocations(
  stores: { pods: ResourceStore; nodes: ResourceStore; allocations: ResourceStore },
  revision?: number,
): Promise<AuditReport> {
  // Pin one revision for all three lists: the audit must see a single consistent state.
  const rev = revision ?? (await stores.pods.store.currentRevision());
  const at = { resourceVersion: String(versionAfter(rev)), resourceVersionMatch: 'Exact' as const };
  const [podList, nodeList, allocList] = await Promise.all([
    stores.pods.list(at),
    stores.nodes.list(at),
    stores.allocations.list(at),
  ]);
  const pods = podList.items as unknown as Pod[];
  const nodes = nodeList.items as unknown as Node[];
  const allocs = allocList.items as unknown as NodeAllocation[];
  const violations: Violation[] = [];

  const holdingByNode = new Map<string, Pod[]>();
  for (const p of pods) {
    if (!holdsResources(p)) continue;
    const n = p.spec.nodeName!;
    if (!holdingByNode.has(n)) holdingByNode.set(n, []);
    holdingByNode.get(n)!.push(p);
  }
  const allocByNode = new Map(allocs.map((a) => [a.metadata.name ?? '', a]));
  const nodeNames = new Set(nodes.map((n) => n.metadata.name ?? ''));
  const ledgerOf = new Map<string, string>();

  for (const node of nodes) {
    const name = node.metadata.name ?? '';
    const alloc = allocByNode.get(name);
    if (!alloc) {
      violations.push({ kind: 'MissingLedger', node: name, message: `node ${name} has no NodeAllocation` });
      continue;
    }
    // Each ledger entry belongs to one pod bound here, with that pod's requests.
    for (const entry of alloc.spec.pods) {
      const other = ledgerOf.get(entry.uid);
      if (other !== undefined) {
        violations.push({ kind: 'DoubleBound', node: name, pod: `${entry.namespace}/${entry.name}`, message: `pod ${entry.namespace}/${entry.name} is in the ledgers of ${other} and ${name}` });
      }
      ledgerOf.set(entry.uid, name);
    }
    const holding = holdingByNode.get(name) ?? [];
    const entryUids = new Set(alloc.spec.pods.map((e) => e.uid));
    const podUids = new Set(holding.map((p) => p.metadata.uid ?? ''));
    for (const p of holding) {
      if (!entryUids.has(p.metadata.uid ?? '')) {
        violations.push({ kind: 'LedgerMismatch', node: name, pod: `${p.metadata.namespace}/${p.metadata.name}`, message: `pod ${p.metadata.namespace}/${p.metadata.name} is bound to ${name} but not in its ledger` });
      }
    }
    for (const e of alloc.spec.pods) {
      if (!podUids.has(e.uid)) {
        violations.push({ kind: 'LedgerMismatch', node: name, pod: `${e.namespace}/${e.name}`, message: `ledger of ${name} holds ${e.namespace}/${e.name}, which is not a bound, unfinished pod there` });
      }
    }
    // The ledger's total is the sum of the pods' requests (recomputed from the pods themselves).
    let sum = new ResourceAmounts();
    for (const p of holding) sum = add(sum, podRequests(p));
    const recorded = parseResourceList(alloc.spec.allocated);
    if (!sameAmounts(sum, recorded)) {
      violations.push({ kind: 'LedgerMismatch', node: name, message: `ledger of ${name} records ${JSON.stringify(alloc.spec.allocated)} but its pods request ${JSON.stringify(toResourceList(sum))}` });
    }
    // And it fits: no resource below zero free.
    const allocatable = parseResourceList(nodeAllocatable(node));
    const free = subtract(allocatable, sum);
    for (const r of sum.names()) {
      if (free.get(r) < 0n && (allocatable.has(r) || r === 'cpu' || r === 'memory' || r === 'pods' || r.includes('/'))) {
        violations.push({ kind: 'OverCommitted', node: name, message: `node ${name} is over-committed on ${r}: requested ${sum.quantity(r).toString()}, allocatable ${allocatable.quantity(r).toString()}` });
      }
    }
  }
  for (const [n, holding] of holdingByNode) {
    if (nodeNames.has(n)) continue;
    for (const p of holding) {
      violations.push({ kind: 'OrphanedPod', node: n, pod: `${p.metadata.namespace}/${p.metadata.name}`, message: `pod ${p.metadata.namespace}/${p.metadata.name} is bound to missing node ${n} and not finished` });
    }
  }
  return {
    kind: 'AllocationAudit',
    revision: rev,
    nodes: nodes.length,
    pods: pods.length,
    boundPods: [...holdingByNode.values()].reduce((s, l) => s + l.length, 0),
    ok: violations.length === 0,
    violations,
  };
}
