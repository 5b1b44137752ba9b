// `cellctl top nodes|pods`: what is allocated (requested by bound, unfinished pods) against what
// is allocatable, straight from the NodeAllocation ledgers the API server keeps (DESIGN §3) —
// so it is exactly what the schedulers see — and beside it, where the agents sample it, what is
// actually used (the metrics API, as `kubectl top` shows it): a pod using far more or less than
// it requested stands out. On a terminal the percentages come with coloured bars; piped, plain
// numbers.
import type { Node } from '../../shared/api/core.js';
import { METRICS_GROUP, METRICS_VERSION, type NodeMetrics, type PodMetrics } from '../../shared/api/metrics.js';
import { ForbiddenError, NotFoundError } from '../../shared/errors.js';
import { Quantity } from '../../shared/quantity.js';
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

/** Measured usage by name: cpu in millicores, memory in milli-bytes (memoryText's unit). */
interface Usage {
  cpu: bigint;
  memory: bigint;
}

function usageOf(u: { cpu: string; memory: string }): Usage {
  return { cpu: Quantity.parse(u.cpu).milliValue(), memory: Quantity.parse(u.memory).milliValue() };
}

/**
 * The metrics API's items, or undefined where the server has none to give: a server without the
 * API (404) or a user not allowed to read it (403) still gets the allocation view.
 */
async function metricsList<T>(cli: Cli, resource: 'nodes' | 'pods', namespace: string | undefined, selector: string | undefined): Promise<T[] | undefined> {
  try {
    const ref = { group: METRICS_GROUP, version: METRICS_VERSION, resource, ...(namespace !== undefined ? { namespace } : {}) };
    const items = (await cli.client.list<{ items: T[] }>(ref, { labelSelector: selector || undefined })).items;
    return items.length > 0 ? items : undefined;
  } catch (err) {
    if (err instanceof NotFoundError || err instanceof ForbiddenError) return undefined;
    throw err;
  }
}

function usedCpuText(u: Usage | undefined): string {
  return u ? `${u.cpu}m` : '-';
}

function usedMemoryText(u: Usage | undefined): string {
  return u ? memoryText(u.memory) : '-';
}

interface NodeUse {
  name: string;
  cpu: [bigint, bigint];
  memory: [bigint, bigint];
  pods: [bigint, bigint];
  hasLedger: boolean;
  used: Usage | undefined;
}

function pair(used: ResourceAmounts, allocatable: ResourceAmounts, name: string): [bigint, bigint] {
  return [used.get(name), allocatable.get(name)];
}

export async function runTopNodes(cli: Cli, names: string[], o: TopOptions): Promise<number> {
  const nodes = (await cli.client.list<{ items: Node[] }>(refFor(nodesResource, undefined), { labelSelector: o.selector || undefined })).items;
  const allocations = (await cli.client.list<{ items: NodeAllocation[] }>(refFor(nodeAllocationsResource, undefined))).items;
  const byName = new Map(allocations.map((a) => [a.metadata.name ?? '', a]));
  const metrics = await metricsList<NodeMetrics>(cli, 'nodes', undefined, o.selector);
  const usedBy = new Map((metrics ?? []).map((m) => [m.metadata.name ?? '', usageOf(m.usage)]));
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
      return {
        name,
        cpu: pair(used, allocatable, 'cpu'),
        memory: pair(used, allocatable, 'memory'),
        pods: pair(used, allocatable, 'pods'),
        hasLedger: alloc !== undefined,
        used: usedBy.get(name),
      };
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
  // Usage columns only where some node has a sample (agents that serve none: hollow nodes).
  const measured = metrics !== undefined;
  const header = ['NAME', 'CPU(requests)', 'CPU%', ...(measured ? ['CPU(used)'] : []), 'MEMORY(requests)', 'MEMORY%', ...(measured ? ['MEMORY(used)'] : []), 'PODS', 'PODS%'];
  const rows = uses.map((u) => [
    u.name,
    `${cpuText(u.cpu[0])}/${cpuText(u.cpu[1])}`,
    share(u.cpu),
    ...(measured ? [usedCpuText(u.used)] : []),
    `${memoryText(u.memory[0])}/${memoryText(u.memory[1])}`,
    share(u.memory),
    ...(measured ? [usedMemoryText(u.used)] : []),
    `${podsText(u.pods[0])}/${podsText(u.pods[1])}`,
    share(u.pods),
  ]);
  cli.print(formatRows(o.headers === false ? rows : [header, ...rows]));
  return missing.length > 0 ? 1 : 0;
}

/** `top pods`: each bound pod's requests and node, from the ledgers, and its usage where sampled. */
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
  const metrics = await metricsList<PodMetrics>(cli, 'pods', ns, undefined);
  const usedBy = new Map(
    (metrics ?? []).map((m) => {
      const sum = m.containers.map((c) => usageOf(c.usage)).reduce((a, b) => ({ cpu: a.cpu + b.cpu, memory: a.memory + b.memory }), { cpu: 0n, memory: 0n });
      return [`${m.metadata.namespace ?? ''}/${m.metadata.name ?? ''}`, sum];
    }),
  );
  const measured = metrics !== undefined;
  const header = [...(ns === undefined ? ['NAMESPACE'] : []), 'NAME', 'NODE', 'CPU(requests)', ...(measured ? ['CPU(used)'] : []), 'MEMORY(requests)', ...(measured ? ['MEMORY(used)'] : [])];
  const rows = entries.map((e) => {
    const r = parseResourceList(e.requests);
    const used = usedBy.get(`${e.namespace}/${e.name}`);
    return [
      ...(ns === undefined ? [e.namespace] : []),
      e.name,
      e.node,
      cpuText(r.get('cpu')),
      ...(measured ? [usedCpuText(used)] : []),
      memoryText(r.get('memory')),
      ...(measured ? [usedMemoryText(used)] : []),
    ];
  });
  cli.print(formatRows(o.headers === false ? rows : [header, ...rows]));
  return 0;
}
