// The ResourceQuota ledger kind (DESIGN §3): each counted quota's status.used equals the usage of
// the objects it governs, recomputed from those objects, and does not exceed its hard limits.
// Quotas the controller has not counted yet are skipped. The checks run in ledgers/ledger.ts.
import type { ResourceQuota } from '../../shared/api/quota.js';
import { governedNames, isComputed, usageOf, type CountedKind } from '../../shared/quota-usage.js';
import { parseResourceList } from '../../shared/resources.js';
import type { ServedResource } from '../http/resources.js';
import type { LedgerCharge, LedgerKind } from '../ledgers/ledger.js';
import { QUOTA_RESOURCE } from './install.js';

export function resourceQuotaLedger(resources: ReadonlyMap<string, ServedResource>): LedgerKind {
  // Every namespaced kind a quota could count, by the table's key; read at each audit, since custom
  // kinds come and go while the server runs.
  const countable = (): [string, CountedKind][] => {
    const out: [string, CountedKind][] = [];
    for (const [key, served] of resources) {
      const def = served.rest.def;
      if (def.namespaced && key !== QUOTA_RESOURCE) out.push([key, { group: def.group, resource: def.resource }]);
    }
    return out;
  };
  const quotasIn = (objects: (r: string) => readonly unknown[]) => (objects(QUOTA_RESOURCE) as ResourceQuota[]).filter(isComputed);
  const governed = (quotas: readonly ResourceQuota[]) => countable().filter(([, kind]) => quotas.some((q) => governedNames(q.spec.hard, kind).length > 0));

  return {
    name: 'ResourceQuota',
    reads: resources.has(QUOTA_RESOURCE) ? [QUOTA_RESOURCE] : [],
    // Only the kinds some quota counts are listed.
    alsoReads: (objects) => governed(quotasIn(objects)).map(([resource]) => resource),
    report: { mismatch: 'QuotaMismatch', over: 'OverQuota', unknown: 'QuotaMismatch', account: 'quota', holder: 'pod' },
    state(objects) {
      const quotas = quotasIn(objects);
      const kinds = governed(quotas);
      const charges: LedgerCharge[] = [];
      const accounts = quotas.map((q) => {
        const namespace = q.metadata.namespace ?? '';
        const id = `${namespace}/${q.metadata.name ?? ''}`;
        for (const [resource, kind] of kinds) {
          for (const obj of objects(resource)) {
            if (obj.metadata.namespace !== namespace) continue;
            const amounts = usageOf(q, kind, obj);
            if (amounts.size > 0) charges.push({ account: id, holder: `${namespace}/${obj.metadata.name ?? ''}`, amounts });
          }
        }
        const hard = Object.keys(q.spec.hard ?? {}).sort();
        return { id, recorded: parseResourceList(q.status.used), compared: hard, limits: parseResourceList(q.spec.hard), limited: hard };
      });
      return { accounts, charges, violations: [] };
    },
  };
}
