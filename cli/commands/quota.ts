// ResourceQuota in cellctl, as kubectl has it: `cellctl create quota NAME --hard=cpu=2,pods=3
// [--scopes=BestEffort]`, and the describe page (each limited resource with its Used and Hard).
import type { KubeObject } from '../../shared/api/meta.js';
import { QUOTA_SCOPES, type ResourceQuota, type ResourceQuotaScope } from '../../shared/api/quota.js';
import { resourceQuotasResource } from '../../shared/api/registry.js';
import type { Cli } from '../context.js';
import { UsageError } from '../errors.js';
import type { DescribeWriter } from '../output/describe.js';
import { createGenerated, type CreateOutput } from './create.js';
import type { DryRun } from './write-options.js';

export interface CreateQuotaOptions {
  hard?: string;
  scopes?: string;
  dryRun?: DryRun;
  output?: CreateOutput;
}

/** `cpu=2,memory=4Gi,pods=3` → a resource list (values are checked by the server, which names the field). */
function parseHard(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const eq = part.indexOf('=');
    if (eq <= 0 || eq === part.length - 1) throw new UsageError(`invalid --hard entry "${part}": expected RESOURCE=QUANTITY`);
    out[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return out;
}

function parseScopes(text: string): ResourceQuotaScope[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => {
      const scope = QUOTA_SCOPES.find((known) => known === s);
      if (!scope) throw new UsageError(`invalid --scopes entry "${s}": must be one of ${QUOTA_SCOPES.join(', ')}`);
      return scope;
    });
}

export async function runCreateQuota(cli: Cli, name: string, o: CreateQuotaOptions): Promise<number> {
  const spec: ResourceQuota['spec'] = {};
  if (o.hard !== undefined) spec.hard = parseHard(o.hard);
  if (o.scopes !== undefined) spec.scopes = parseScopes(o.scopes);
  const body = { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name, ...(cli.namespaceExplicit ? { namespace: cli.namespace } : {}) }, spec };
  return createGenerated(cli, resourceQuotasResource, body, o);
}

/** kubectl's ResourceQuota page: scopes, then each spec.hard resource with status used and hard. */
export function describeQuota(w: DescribeWriter, obj: KubeObject): void {
  const q = obj as unknown as ResourceQuota;
  w.line(0, 'Name:', q.metadata.name ?? '');
  w.line(0, 'Namespace:', q.metadata.namespace ?? '');
  const scopes = [
    ...(q.spec.scopes ?? []),
    ...(q.spec.scopeSelector?.matchExpressions ?? []).map((e) => `${e.scopeName} ${e.operator}${e.values?.length ? ` (${e.values.join(', ')})` : ''}`),
  ];
  if (scopes.length > 0) w.multiline(0, 'Scopes:', scopes);
  const names = Object.keys(q.spec.hard ?? {}).sort();
  // Not counted yet: kubectl shows the quota's empty status the same way, as blanks.
  w.table(0, ['Resource', 'Used', 'Hard'], names.map((n) => [n, String(q.status.used?.[n] ?? ''), String(q.status.hard?.[n] ?? '')]));
}
