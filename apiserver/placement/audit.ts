// The NodeAllocation ledger kind (DESIGN §3): each node's ledger holds its bound, unfinished pods,
// records the sum of their requests, and fits the node's allocatable; no pod is in two ledgers.
// The common checks run in ledgers/ledger.ts; this declares the accounts and charges, and the
// checks only this kind has (a ledger entry per pod, a node without its ledger).
import type { Node, Pod } from '../../shared/api/core.js';
import type { NodeAllocation } from '../../shared/api/scheduling.js';
import { holdsResources } from '../../shared/node-ledger.js';
import { podRequests } from '../../shared/pod-resources.js';
import { parseResourceList } from '../../shared/resources.js';
import type { LedgerAccount, LedgerCharge, LedgerKind, Violation } from '../ledgers/ledger.js';
import { nodeAllocatable } from './hooks.js';

/** Resources a node limits even when its allocatable does not list them (then it has none). */
function limitedOnEveryNode(resource: string): boolean {
  return resource === 'cpu' || resource === 'memory' || resource === 'pods' || resource.includes('/');
}

export const nodeAllocationLedger: LedgerKind = {
  name: 'NodeAllocation',
  reads: ['pods', 'nodes', 'nodeallocations'],
  report: { mismatch: 'LedgerMismatch', over: 'OverCommitted', unknown: 'OrphanedPod', account: 'node', holder: 'pod' },
  state(objects) {
    const pods = objects('pods') as unknown as Pod[];
    const nodes = objects('nodes') as unknown as Node[];
    const ledgers = new Map((objects('nodeallocations') as unknown as NodeAllocation[]).map((a) => [a.metadata.name ?? '', a]));
    const accounts: LedgerAccount[] = [];
    const charges: LedgerCharge[] = [];
    const violations: Violation[] = [];

    const nodesWithoutLedger = new Set<string>();
    for (const node of nodes) {
      const name = node.metadata.name ?? '';
      const ledger = ledgers.get(name);
      if (!ledger) {
        nodesWithoutLedger.add(name);
        violations.push({ kind: 'MissingLedger', node: name, message: `node ${name} has no NodeAllocation` });
        continue;
      }
      const recorded = parseResourceList(ledger.spec.allocated);
      const limits = parseResourceList(nodeAllocatable(node));
      accounts.push({ id: name, recorded, limits, limited: recorded.names().filter((r) => limits.has(r) || limitedOnEveryNode(r)) });
    }

    // Each ledger entry is one pod bound there, and no pod is in two ledgers.
    const holding = new Map<string, Pod[]>();
    for (const p of pods) {
      if (!holdsResources(p)) continue;
      const node = p.spec.nodeName!;
      if (!holding.has(node)) holding.set(node, []);
      holding.get(node)!.push(p);
      if (nodesWithoutLedger.has(node)) continue;
      charges.push({ account: node, holder: `${p.metadata.namespace}/${p.metadata.name}`, amounts: podRequests(p) });
    }
    // Ledger entries name pods by uid; the audit's findings name them as people do.
    const podNames = new Map(pods.map((p) => [p.metadata.uid ?? '', `${p.metadata.namespace}/${p.metadata.name}`]));
    const ledgerOf = new Map<string, string>();
    for (const a of accounts) {
      const ledger = ledgers.get(a.id)!;
      const bound = holding.get(a.id) ?? [];
      const boundUids = new Set(bound.map((p) => p.metadata.uid ?? ''));
      const entries = new Set<string>();
      for (const e of ledger.spec.pods) {
        const pod = podNames.get(e.uid) ?? `uid ${e.uid}`;
        const other = ledgerOf.get(e.uid);
        if (other !== undefined) violations.push({ kind: 'DoubleBound', node: a.id, pod, message: `pod ${pod} is in the ledgers of ${other} and ${a.id}` });
        ledgerOf.set(e.uid, a.id);
        entries.add(e.uid);
        if (!boundUids.has(e.uid)) violations.push({ kind: 'LedgerMismatch', node: a.id, pod, message: `ledger of ${a.id} holds ${pod}, which is not a bound, unfinished pod there` });
      }
      for (const p of bound) {
        if (entries.has(p.metadata.uid ?? '')) continue;
        const pod = `${p.metadata.namespace}/${p.metadata.name}`;
        violations.push({ kind: 'LedgerMismatch', node: a.id, pod, message: `pod ${pod} is bound to ${a.id} but not in its ledger` });
      }
    }
    return { accounts, charges, violations };
  },
};
