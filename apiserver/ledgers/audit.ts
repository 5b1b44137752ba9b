// GET /audit (DESIGN §3): every ledger kind checked at one store revision — the latest, or the one
// a given resourceVersion was written in — with one report for all of them; and the Services'
// allocations (each cluster IP and node port held once, with its claim).
import type { Express, Request, Response } from 'express';
import type { Node, Pod } from '../../shared/api/core.js';
import { UnauthorizedError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logging.js';
import type { RequestAttributes } from '../auth/authorizer.js';
import type { UserInfo } from '../auth/tokens.js';
import { exchangeOf } from '../http/exchange.js';
import { sendError } from '../http/status.js';
import { parseResourceVersion } from '../registry/resource-store.js';
import { revisionOf } from '../storage/resource-version.js';
import type { ServedResource } from '../http/resources.js';
import type { KubeObject } from '../registry/object.js';
import { versionAfter } from '../storage/resource-version.js';
import type { Store } from '../storage/store.js';
import { holdsResources } from '../../shared/node-ledger.js';
import type { AuditReport } from '../../shared/api/audit.js';
import { auditLedgers, type LedgerKind } from './ledger.js';
import type { Service } from '../../shared/api/service.js';
import { auditServiceClaims } from '../services/audit.js';

export type { AuditReport } from '../../shared/api/audit.js';

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
  // Service cluster IPs and node ports: no value held twice, each with its claim (services/audit.ts).
  const services = resources.get('services');
  if (services) {
    const items = (await services.rest.objects.list(at)).items as unknown as Service[];
    const claims = await auditServiceClaims(store, items, rev);
    audit.accounts.ServiceClaim = claims.claims;
    audit.violations.push(...claims.violations);
  }
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

/**
 * GET /audit?resourceVersion=N: every kind audited together, at the revision N was written in (a
 * list's resourceVersion covers the list whole), or the latest. A read of the node ledgers: who
 * may list nodeallocations may audit.
 */
export function installAudit(
  d: { app: Express; store: Store; log: Logger; resources: ReadonlyMap<string, ServedResource>; authorize(user: UserInfo, a: RequestAttributes): void },
  kinds: readonly LedgerKind[],
): void {
  d.app.get('/audit', async (req: Request, res: Response) => {
    try {
      const user = exchangeOf(res).user;
      if (!user) throw new UnauthorizedError('Unauthorized');
      d.authorize(user, { verb: 'list', group: 'scheduling.cell.dev', resource: 'nodeallocations' });
      // Not cut at the request deadline: it reads every pod at one revision, which at a million pods
      // takes minutes on a small machine (each page of the read has its own store deadline).
      exchangeOf(res).longRunning = true;
      const rvText = typeof req.query.resourceVersion === 'string' ? req.query.resourceVersion : undefined;
      const revision = rvText !== undefined ? revisionOf(parseResourceVersion(rvText)) : undefined;
      res.json(await auditAt(d.store, d.resources, kinds, revision));
    } catch (err) {
      sendError(res, err, d.log);
    }
  });
}
