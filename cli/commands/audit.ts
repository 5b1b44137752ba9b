// `cellctl audit`: the API server's no-over-commit audit (GET /audit, DESIGN §3) — at one store
// revision, every node's allocation ledger equals the sum of its bound, unfinished pods and fits
// its allocatable, and no pod is bound twice; and every counted ResourceQuota's status.used equals
// what its objects use and is within its hard limits. Exit code 1 when anything is violated, so scripts
// and CI can gate on it.
import type { Cli } from '../context.js';
import { formatRows } from '../output/table.js';
import { parseOutputFormat, toJson, toYaml } from '../output/printers.js';

interface Violation {
  kind: string;
  node?: string;
  pod?: string;
  quota?: string;
  message: string;
}

interface AuditReport {
  kind: 'AllocationAudit';
  revision: number;
  nodes: number;
  pods: number;
  boundPods: number;
  /** ResourceQuotas audited beside the node ledgers (absent from servers without quotas). */
  quotas?: number;
  ok: boolean;
  violations: Violation[];
}

export async function runAudit(cli: Cli, o: { output?: string; resourceVersion?: string }): Promise<number> {
  const format = parseOutputFormat(o.output, ['table', 'json', 'yaml']);
  const report = await cli.client.request<AuditReport>('GET', '/audit', { query: { resourceVersion: o.resourceVersion } });
  const ok = report.ok && report.violations.length === 0;
  if (format.kind === 'json') cli.print(toJson(report));
  else if (format.kind === 'yaml') cli.print(toYaml(report));
  else {
    const quotas = report.quotas ?? 0;
    const scope = `${report.nodes} node${report.nodes === 1 ? '' : 's'}, ${report.pods} pod${report.pods === 1 ? '' : 's'} (${report.boundPods} bound)${quotas > 0 ? `, ${quotas} quota${quotas === 1 ? '' : 's'}` : ''}`;
    if (ok) {
      const quotaText = quotas > 0 ? ', every counted quota matches what it governs and is not over' : '';
      cli.print(`${cli.out.green('OK')}: no violations at revision ${report.revision}: ${scope}; every node's allocation matches its pods and fits, no pod is bound twice${quotaText}\n`);
    } else {
      const n = report.violations.length;
      cli.print(`${cli.out.red('FAILED')}: ${n} violation${n === 1 ? '' : 's'} at revision ${report.revision}: ${scope}\n\n`);
      // The QUOTA column only when a quota ledger is what is wrong.
      if (report.violations.some((v) => v.quota !== undefined)) {
        cli.print(formatRows([['KIND', 'NODE', 'POD', 'QUOTA', 'MESSAGE'], ...report.violations.map((v) => [v.kind, v.node ?? '', v.pod ?? '', v.quota ?? '', v.message])]));
      } else {
        cli.print(formatRows([['KIND', 'NODE', 'POD', 'MESSAGE'], ...report.violations.map((v) => [v.kind, v.node ?? '', v.pod ?? '', v.message])]));
      }
    }
  }
  return ok ? 0 : 1;
}
