// The audit of Service allocations (part of GET /audit, at the audited revision): every cluster IP
// and node port a Service holds is held by it alone and has its claim key, naming that Service;
// every claim key belongs to a Service that holds its value. Claims and Services commit in one
// transaction (allocation.ts), so any violation here is a bug.
import type { Service } from '../../shared/api/service.js';
import type { Violation } from '../../shared/api/audit.js';
import type { Store } from '../storage/store.js';
import { claimKeysOf, SERVICE_CLAIMS_PREFIX } from './allocation.js';

/** What a claim key's value says. */
interface ClaimValue {
  namespace: string;
  name: string;
  uid: string;
}

function valueOf(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1);
}

export async function auditServiceClaims(store: Store, services: readonly Service[], revision: number): Promise<{ claims: number; violations: Violation[] }> {
  const claims = new Map<string, ClaimValue>();
  for (let start = SERVICE_CLAIMS_PREFIX, more = true; more; ) {
    const page = await store.list(SERVICE_CLAIMS_PREFIX, { revision, startKey: start, limit: 5000 });
    for (const item of page.items) claims.set(item.key, JSON.parse(item.value) as ClaimValue);
    const last = page.items[page.items.length - 1];
    more = page.more && last !== undefined;
    if (last) start = `${last.key}\0`;
  }
  const violations: Violation[] = [];
  const holders = new Map<string, Service[]>();
  for (const svc of services) for (const key of claimKeysOf(svc)) holders.set(key, [...(holders.get(key) ?? []), svc]);
  const id = (s: { namespace?: string; name?: string }) => `${s.namespace ?? ''}/${s.name ?? ''}`;
  for (const [key, held] of holders) {
    if (held.length > 1) {
      violations.push({ kind: 'DoubleAllocated', service: id(held[0]!.metadata), message: `${valueOf(key)} is held by ${held.length} Services: ${held.map((s) => id(s.metadata)).join(', ')}` });
    }
    for (const svc of held) {
      const claim = claims.get(key);
      if (claim?.uid === svc.metadata.uid) continue;
      const why = claim ? `its claim names ${id(claim)} (uid ${claim.uid})` : 'it has no claim';
      violations.push({ kind: 'MissingServiceClaim', service: id(svc.metadata), message: `${id(svc.metadata)} holds ${valueOf(key)}, but ${why}` });
    }
  }
  for (const [key, claim] of claims) {
    if ((holders.get(key) ?? []).some((s) => s.metadata.uid === claim.uid)) continue;
    violations.push({ kind: 'OrphanedServiceClaim', service: id(claim), message: `${valueOf(key)} is claimed for ${id(claim)}, which does not hold it` });
  }
  return { claims: claims.size, violations };
}
