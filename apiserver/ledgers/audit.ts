// GET /audit (DESIGN §3): every ledger kind checked at one store revision — the latest, or the one
// a given resourceVersion was written in — with one report for all of them.
import type { Node, Pod } from '../../shared/api/core.js';
import type { ServedResource } from '../http/resources.js';
import type { KubeObject } from '../registry/object.js';
import { versionAfter } from '../storage/resource-version.js';
import type { Store } from '../storage/store.js';
import { holdsResources } from '../../shared/node-ledger.js';
import { auditLedgers, type LedgerKind, type Violation } from './ledger.js';

export interface AuditReport {
  kind: 'AllocationAudit';
  revision: number;
  nodes: number;
  pods: number;
  boundPods: number;
  /** ResourceQuotas audited (counted ones). */
  quotas?: number;
  /** Accounts audited per ledger kind, e.g. `{ NodeAllocation: 3, ResourceQuota: 1 }`. */
  ledgers: Record<string, number>;
  ok: boolean;
  violations: Violation[];
}

export async function auditAt(
  store: Store,
  resources: ReadonlyMap<string, ServedResource>,
  kinds: readonly LedgerKind[],
  revision?: number,
): Promise<AuditReport> {
  // One revision pinned for every list: the audit must see a single consistent state.
  const rev = revision ?? (await store.currentRevision());
  const at = { resourceVersion: String(versionAfter(rev)), resourceVersionMatch: 'Exact' as const };
  const listed = new Map<string, readonly KubeObject[]>();
  const audit = await auditLedgers(kinds, async (resource) => {
    const served = resources.get(resource);
    const items = served ? (await served.rest.objects.list(at)).items : [];
    listed.set(resource, items);
    return items;
  });
  const pods = (listed.get('pods') ?? []) as unknown as Pod[];
  const nodes = (listed.get('nodes') ?? []) as unknown as Node[];
  return {
    kind: 'AllocationAudit',
    revision: rev,
    nodes: nodes.length,
    pods: pods.length,
    boundPods: pods.filter(holdsResources).length,
    ...(audit.accounts.ResourceQuota !== undefined ? { quotas: audit.accounts.ResourceQuota } : {}),
    ledgers: audit.accounts,
    ok: audit.violations.length === 0,
    violations: audit.violations,
  };
}
