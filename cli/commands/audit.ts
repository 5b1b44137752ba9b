// `cellctl audit`: the API server's ledger audit (GET /audit, DESIGN §3) — at one store revision,
// every node's allocation ledger equals the sum of its bound, unfinished pods and fits its
// allocatable, and no pod is bound twice; every counted ResourceQuota's status.used equals what its
// objects use and is within its hard limits; every ClusterQueue's reservations equal its admitted
// workloads' and stay within its quota and its cohort's; no Service cluster IP or node port is held
// twice, each with its claim. Exit code 1 when anything is violated, so
// scripts and CI can gate on it.
import type { Cli } from '../context.js';
import { formatRows } from '../output/table.js';
import { parseOutputFormat, toJson, toYaml } from '../output/printers.js';
import type { AuditReport } from '../../shared/api/audit.js';

export async function runAudit(cli: Cli, o: { output?: string; resourceVersion?: string }): Promise<number> {
  const format = parseOutputFormat(o.output, ['table', 'json', 'yaml']);
  const report = await cli.client.request<AuditReport>('GET', '/audit', { query: { resourceVersion: o.resourceVersion } });
  const ok = report.ok && report.violations.length === 0;
  if (format.kind === 'json') cli.print(toJson(report));
  else if (format.kind === 'yaml') cli.print(toYaml(report));
  else {
    const quotas = report.quotas ?? 0;
    const queues = report.ledgers?.ClusterQueue ?? 0;
    const claims = report.ledgers?.ServiceClaim ?? 0;
    const scope =
      `${report.nodes} node${report.nodes === 1 ? '' : 's'}, ${report.pods} pod${report.pods === 1 ? '' : 's'} (${report.boundPods} bound)` +
      `${quotas > 0 ? `, ${quotas} quota${quotas === 1 ? '' : 's'}` : ''}${queues > 0 ? `, ${queues} cluster queue${queues === 1 ? '' : 's'}` : ''}` +
      `${claims > 0 ? `, ${claims} service IP and port claim${claims === 1 ? '' : 's'}` : ''}`;
    if (ok) {
      const quotaText =
        (quotas > 0 ? ', every counted quota matches what it governs and is not over' : '') +
        (queues > 0 ? ', every cluster queue holds what its admitted workloads use, within its quota and its cohort\'s' : '') +
        (claims > 0 ? ', no cluster IP or node port is held twice' : '');
      cli.print(`${cli.out.green('OK')}: no violations at revision ${report.revision}: ${scope}; every node's allocation matches its pods and fits, no pod is bound twice${quotaText}\n`);
    } else {
      const n = report.violations.length;
      cli.print(`${cli.out.red('FAILED')}: ${n} violation${n === 1 ? '' : 's'} at revision ${report.revision}: ${scope}\n\n`);
      // The QUOTA / QUEUE / SERVICE column only when such a ledger is what is wrong.
      if (report.violations.some((v) => v.service !== undefined)) {
        cli.print(formatRows([['KIND', 'SERVICE', 'NODE', 'POD', 'MESSAGE'], ...report.violations.map((v) => [v.kind, v.service ?? '', v.node ?? '', v.pod ?? '', v.message])]));
      } else if (report.violations.some((v) => v.clusterQueue !== undefined || v.cohort !== undefined || v.workload !== undefined)) {
        cli.print(formatRows([['KIND', 'QUEUE', 'WORKLOAD', 'MESSAGE'], ...report.violations.map((v) => [v.kind, v.clusterQueue ?? (v.cohort ? `cohort ${v.cohort}` : v.quota ?? v.node ?? ''), v.workload ?? v.pod ?? '', v.message])]));
      } else if (report.violations.some((v) => v.quota !== undefined)) {
        cli.print(formatRows([['KIND', 'NODE', 'POD', 'QUOTA', 'MESSAGE'], ...report.violations.map((v) => [v.kind, v.node ?? '', v.pod ?? '', v.quota ?? '', v.message])]));
      } else {
        cli.print(formatRows([['KIND', 'NODE', 'POD', 'MESSAGE'], ...report.violations.map((v) => [v.kind, v.node ?? '', v.pod ?? '', v.message])]));
      }
    }
  }
  return ok ? 0 : 1;
}
