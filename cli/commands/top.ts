// `cellctl top nodes|pods`: what is allocated (requested by bound, unfinished pods) against what
// is allocatable, straight from the NodeAllocation ledgers the API server keeps (DESIGN §3) —
// so it is exactly what the schedulers see, not a sample of usage. On a terminal the
// percentages come with coloured bars; piped, plain numbers.
import type { Node } from '../../shared/api/core.js';
import { nodeAllocationsResource, nodesResource } from '../../shared/api/registry.js';
import type { NodeAllocation } from '../../shared/api/scheduling.js';
import { parseResourceList, type ResourceAmounts } from '../../shared/resources.js';
import type { Cli } from '../context.js';
import { UsageError } from '../errors.js';
import type { Palette } from '../output/color.js';
import { formatRows } from '../output/table.js';
import { refFor } from '../resources.js';
import { podNamesByUid } from '../ledger-pods.js';

export interface TopOptions {
  selector?: string;
  allNamespaces?: boolean;
  sortBy?: string;
  headers?: boolean;
  bars?: boolean;
}

const BAR_WIDTH = 10;
const MI = 1024n * 1024n * 1000n; // milli-units of one MiB

function cpuText(milli: bigint): string {
  return milli % 1000n === 0n ? `${milli / 1000n}` : `${milli}m`;
}

function memoryText(milli: bigint): string {
  return `${(milli + MI / 2n) / MI}Mi`;
}

function podsText(milli: bigint): string {
  return `${milli / 1000n}`;
}

function pct(used: bigint, total: bigint): number {
  return total > 0n ? Number((used * 1000n) / total) / 10 : used > 0n ? Infinity : 0;
}

/** Whole percent, rounded down as kubectl does (so 99.9% never shows as a full 100%). */
function pctText(p: number): string {
  return Number.isFinite(p) ? `${Math.floor(p)}%` : '∞';
}

function bar(p: number, colors: Palette): string {
  const filled = Math.min(BAR_WIDTH, Math.round((Math.min(p, 100) / 100) * BAR_WIDTH));
  const text = `${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}`;
  const color = p >= 90 ? colors.red : p >= 70 ? colors.yellow : colors.green;
  return `${color(text)} ${pctText(p).padStart(4)}`;
}

interface NodeUse {
  name: string;
  cpu: [bigint, bigint];
  memory: [bigint, bigint];
  pods: [bigint, bigint];
  hasLedger: boolean;
}

function pair(used: ResourceAmounts, allocatable: ResourceAmounts, name: string): [bigint, bigint] {
  return [used.get(name), allocatable.get(name)];
}

export async function runTopNodes(cli: Cli, names: string[], o: TopOptions): Promise<number> {
  const nodes = (await cli.client.list<{ items: Node[] }>(refFor(nodesResource, undefined), { labelSelector: o.selector || undefined })).items;
  const allocations = (await cli.client.list<{ items: NodeAllocation[] }>(refFor(nodeAllocationsResource, undefined))).items;
  const byName = new Map(allocations.map((a) => [a.metadata.name ?? '', a]));
  const wanted = names.map((n) => n.replace(/^(nodes?|no)\//, ''));
  const missing = wanted.filter((n) => !nodes.some((node) => node.metadata.name === n));
  for (const n of missing) cli.error(`nodes "${n}" not found`);
  const uses: NodeUse[] = nodes
    .filter((n) => wanted.length === 0 || wanted.includes(n.metadata.name ?? ''))
    .map((node) => {
      const name = node.metadata.name ?? '';
      const alloc = byName.get(name);
      // The node's own allocatable is the truth; the ledger's copy is as of its last write.
      const allocatable = parseResourceList(node.status.allocatable ?? alloc?.spec.allocatable);
      const used = parseResourceList(alloc?.spec.allocated);
      return { name, cpu: pair(used, allocatable, 'cpu'), memory: pair(used, allocatable, 'memory'), pods: pair(used, allocatable, 'pods'), hasLedger: alloc !== undefined };
    });
  const sortKey = o.sortBy ?? 'name';
  if (!['name', 'cpu', 'memory', 'pods'].includes(sortKey)) throw new UsageError(`--sort-by must be one of name, cpu, memory, pods (not "${sortKey}")`);
  if (sortKey !== 'name') {
    const k = sortKey as 'cpu' | 'memory' | 'pods';
    uses.sort((a, b) => pct(b[k][0], b[k][1]) - pct(a[k][0], a[k][1]) || a.name.localeCompare(b.name));
  }
  if (uses.length === 0) {
    if (missing.length === 0) cli.note('No resources found.');
    return missing.length > 0 ? 1 : 0;
  }
  const bars = o.bars ?? cli.stdoutIsTTY;
  const share = ([u, t]: [bigint, bigint]) => (bars ? bar(pct(u, t), cli.out) : pctText(pct(u, t)));
  const header = ['NAME', 'CPU(requests)', 'CPU%', 'MEMORY(requests)', 'MEMORY%', 'PODS', 'PODS%'];
  const rows = uses.map((u) => [
    u.name,
    `${cpuText(u.cpu[0])}/${cpuText(u.cpu[1])}`,
    share(u.cpu),
    `${memoryText(u.memory[0])}/${memoryText(u.memory[1])}`,
    share(u.memory),
    `${podsText(u.pods[0])}/${podsText(u.pods[1])}`,
    share(u.pods),
  ]);
  cli.print(formatRows(o.headers === false ? rows : [header, ...rows]));
  return missing.length > 0 ? 1 : 0;
}

/** `top pods`: each bound pod's requests and node, from the ledgers. */
export async function runTopPods(cli: Cli, names: string[], o: TopOptions): Promise<number> {
  const allocations = (await cli.client.list<{ items: NodeAllocation[] }>(refFor(nodeAllocationsResource, undefined))).items;
  const ns = o.allNamespaces ? undefined : cli.namespace;
  // Pods out of scope (another namespace), or gone since the ledgers were read, are not shown.
  const named = await podNamesByUid(cli, ns === undefined ? {} : { namespace: ns });
  const entries = allocations
    .flatMap((a) => a.spec.pods.flatMap((p) => {
      const pod = named.get(p.uid);
      return pod ? [{ ...p, ...pod, node: a.metadata.name ?? '' }] : [];
    }))
    .filter((p) => names.length === 0 || names.includes(p.name))
    .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
  if (entries.length === 0) {
    cli.note(`No bound pods found${ns ? ` in ${ns} namespace` : ''}.`);
    return names.length > 0 ? 1 : 0;
  }
  const header = [...(ns === undefined ? ['NAMESPACE'] : []), 'NAME', 'NODE', 'CPU(requests)', 'MEMORY(requests)'];
  const rows = entries.map((e) => {
    const r = parseResourceList(e.requests);
    return [...(ns === undefined ? [e.namespace] : []), e.name, e.node, cpuText(r.get('cpu')), memoryText(r.get('memory'))];
  });
  cli.print(formatRows(o.headers === false ? rows : [header, ...rows]));
  return 0;
}
