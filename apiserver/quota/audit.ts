// The quota half of the ledger audit (GET /audit, DESIGN §3): at one store revision, each counted
// quota's status.used equals the usage of the objects it governs, recomputed from those objects,
// and does not exceed its hard limits. Quotas the controller has not counted yet are skipped.
import type { ResourceQuota } from '../../shared/api/quota.js';
import { countResourceName, governedNames, isComputed, PODS_KIND, usageOf, type CountedKind } from '../../shared/quota-usage.js';
import { add, parseResourceList, ResourceAmounts } from '../../shared/resources.js';
import type { ServedResource } from '../http/resources.js';
import type { KubeObject } from '../registry/object.js';
import { versionAfter } from '../storage/resource-version.js';
import type { Violation } from '../placement/audit.js';
import { QUOTA_RESOURCE } from './install.js';

export interface QuotaAudit {
  quotas: number;
  violations: Violation[];
}

export async function auditQuotas(resources: ReadonlyMap<string, ServedResource>, revision: number): Promise<QuotaAudit> {
  const quotaStore = resources.get(QUOTA_RESOURCE)?.rest.objects;
  if (!quotaStore) return { quotas: 0, violations: [] };
  const at = { resourceVersion: String(versionAfter(revision)), resourceVersionMatch: 'Exact' as const };
  const quotas = (await quotaStore.list(at)).items as unknown as ResourceQuota[];
  if (quotas.length === 0) return { quotas: 0, violations: [] };

  // Every kind some quota counts, listed once at the same revision.
  const kinds = new Map<string, CountedKind>();
  for (const [resource, served] of resources) {
    const def = served.rest.def;
    if (!def.namespaced || resource === QUOTA_RESOURCE) continue;
    const kind = { group: def.group, resource: def.resource };
    if (quotas.some((q) => governedNames(q.spec.hard, kind).length > 0)) kinds.set(resource, kind);
  }
  const objects = new Map<string, KubeObject[]>();
  await Promise.all(
    [...kinds.keys()].map(async (resource) => {
      objects.set(resource, (await resources.get(resource)!.rest.objects.list(at)).items);
    }),
  );

  const violations: Violation[] = [];
  for (const q of quotas) {
    if (!isComputed(q)) continue;
    const namespace = q.metadata.namespace ?? '';
    const id = `${namespace}/${q.metadata.name ?? ''}`;
    let total = new ResourceAmounts();
    for (const [resource, kind] of kinds) {
      for (const obj of objects.get(resource) ?? []) {
        if (obj.metadata.namespace === namespace) total = add(total, usageOf(q, kind, obj));
      }
    }
    const used = parseResourceList(q.status.used);
    const hard = parseResourceList(q.spec.hard);
    for (const name of Object.keys(q.spec.hard ?? {}).sort()) {
      // A name no served kind produces (count/ of an unserved kind) is always 0.
      const counted = countable(name, kinds) ? total.get(name) : 0n;
      if (used.get(name) !== counted) {
        violations.push({ kind: 'QuotaMismatch', quota: id, message: `quota ${id} records ${name}=${used.quantity(name).toString()} but its objects use ${total.quantity(name).toString()}` });
      }
      if (used.get(name) > hard.get(name)) {
        violations.push({ kind: 'OverQuota', quota: id, message: `quota ${id} is over on ${name}: used ${used.quantity(name).toString()}, hard ${hard.quantity(name).toString()}` });
      }
    }
  }
  return { quotas: quotas.length, violations };
}

function countable(name: string, kinds: ReadonlyMap<string, CountedKind>): boolean {
  if (!name.startsWith('count/') || name === countResourceName(PODS_KIND)) return true;
  return [...kinds.values()].some((k) => countResourceName(k) === name);
}
