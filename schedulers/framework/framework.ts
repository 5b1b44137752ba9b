// Runs a profile's plugins at each extension point. The scheduler (scheduler.ts) calls these in
// pipeline order for each pod; this module knows how each point combines several plugins:
// the first rejection wins, scores are normalised per plugin and weighted, permits combine.
import type { NodeInfo } from '../cache/node-info.js';
import { StateKey, type CycleContext } from './cycle.js';
import type { Diagnosis } from './diagnosis.js';
import {
  MAX_NODE_SCORE,
  isRejection,
  type ClusterEventKind,
  type PermitResult,
  type Plugin,
  type PostFilterResult,
  type Rejection,
} from './plugin.js';
import type { QueuedPodInfo } from '../queue/scheduling-queue.js';

export interface WeightedPlugin {
  readonly plugin: Plugin;
  readonly weight: number;
}

/** What preFilter leaves for the filter step: the filters that apply to this pod, maybe fewer nodes. */
export interface FilterPlan {
  readonly filters: readonly Plugin[];
  /** `filters[i].filter`, bound to its plugin: the per-node loop calls these without a method lookup. */
  readonly filterFns: readonly FilterFn[];
  readonly nodeNames: ReadonlySet<string> | undefined;
  /** The plugin that narrowed the nodes, for the diagnosis of the others. */
  readonly narrowedBy: string | undefined;
}

export type FilterFn = (ctx: CycleContext, node: NodeInfo) => Rejection | undefined;

/** The filters preFilter left for this pod, for what-if runs later in the cycle (preemption). */
const FILTERS = new StateKey<readonly Plugin[]>('framework/filters');

export class Framework {
  readonly less: (a: QueuedPodInfo, b: QueuedPodInfo) => boolean;
  private readonly preFilters: Plugin[];
  private readonly filters: Plugin[];
  private readonly filterFns: Map<Plugin, FilterFn>;
  private readonly postFilters: Plugin[];
  private readonly scorers: WeightedPlugin[];
  private readonly reservers: Plugin[];
  private readonly permits: Plugin[];
  private readonly postBinds: Plugin[];
  /** Each plugin's QueueingHints registration (absent: every change may help). */
  private readonly events = new Map<string, ReadonlySet<ClusterEventKind>>();

  constructor(
    readonly plugins: readonly WeightedPlugin[],
    /** Checks of the commit protocol that run before any plugin's filter. */
    guard: Plugin | undefined,
    private readonly random: () => number = Math.random,
  ) {
    const all = plugins.map((p) => p.plugin);
    const sorters = all.filter((p) => p.less);
    if (sorters.length !== 1) {
      throw new Error(`a profile needs exactly one QueueSort plugin (one with less()), found ${sorters.length}: ${sorters.map((p) => p.name).join(', ') || 'none'}`);
    }
    const sorter = sorters[0]!;
    this.less = (a, b) => sorter.less!(a, b);
    this.preFilters = [...(guard?.preFilter ? [guard] : []), ...all.filter((p) => p.preFilter)];
    this.filters = [...(guard ? [guard] : []), ...all.filter((p) => p.filter)];
    this.filterFns = new Map(this.filters.map((p) => [p, p.filter!.bind(p)]));
    this.postFilters = all.filter((p) => p.postFilter);
    this.scorers = plugins.filter((p) => p.plugin.score && p.weight > 0);
    this.reservers = all.filter((p) => p.reserve || p.unreserve);
    this.permits = all.filter((p) => p.permit);
    this.postBinds = all.filter((p) => p.postBind);
    for (const p of all) if (p.events) this.events.set(p.name, new Set(p.events));
  }

  /**
   * QueueingHints: whether `event` may make schedulable a pod that the plugins named in
   * `rejectedBy` rejected (unknown rejecters: yes — a missed retry would strand the pod until the
   * periodic flush, a needless one only costs a cycle).
   */
  mayHelp(rejectedBy: ReadonlySet<string> | undefined, event: ClusterEventKind): boolean {
    if (rejectedBy === undefined || rejectedBy.size === 0) return true;
    for (const name of rejectedBy) {
      const registered = this.events.get(name);
      if (registered === undefined || registered.has(event)) return true;
    }
    return false;
  }

  /** PreFilter: undefined when a plugin rejected the pod outright (recorded in the diagnosis). */
  preFilter(ctx: CycleContext, diagnosis: Diagnosis): FilterPlan | undefined {
    const skipped = new Set<Plugin>();
    let nodeNames: Set<string> | undefined;
    let narrowedBy: string | undefined;
    for (const p of this.preFilters) {
      const r = p.preFilter!(ctx);
      if (r === undefined) continue;
      if (r === 'skip') skipped.add(p);
      else if (isRejection(r)) {
        diagnosis.rejectAll(r, p.name);
        return undefined;
      } else {
        nodeNames = nodeNames ? new Set([...nodeNames].filter((n) => r.nodeNames.has(n))) : new Set(r.nodeNames);
        narrowedBy = p.name;
      }
    }
    const filters = skipped.size === 0 ? this.filters : this.filters.filter((p) => !skipped.has(p));
    ctx.write(FILTERS, filters);
    return { filters, filterFns: filters.map((p) => this.filterFns.get(p)!), nodeNames, narrowedBy };
  }

  /** Filter one node; a rejection is recorded in the diagnosis. */
  filterNode(ctx: CycleContext, node: NodeInfo, filters: readonly Plugin[], diagnosis: Diagnosis): boolean {
    for (let i = 0; i < filters.length; i++) {
      const p = filters[i]!;
      const r = p.filter!(ctx, node);
      if (r !== undefined) {
        diagnosis.record(node.name, r, p.name);
        return false;
      }
    }
    return true;
  }

  /** The pod's filters (those preFilter did not skip) on one node, nothing recorded: for what-if questions (preemption). */
  runFilters(ctx: CycleContext, node: NodeInfo): Rejection | undefined {
    for (const p of ctx.read(FILTERS) ?? this.filters) {
      const r = p.filter!(ctx, node);
      if (r !== undefined) return r;
    }
    return undefined;
  }

  /** PostFilter: every plugin gets its say; the first nomination wins, messages add up. */
  postFilter(ctx: CycleContext, diagnosis: Diagnosis): PostFilterResult | undefined {
    let nominatedNodeName: string | undefined;
    let victims: number | undefined;
    const messages: string[] = [];
    for (const p of this.postFilters) {
      const r = p.postFilter!(ctx, diagnosis);
      if (!r) continue;
      if (r.message) messages.push(r.message);
      if (r.nominatedNodeName && nominatedNodeName === undefined) {
        nominatedNodeName = r.nominatedNodeName;
        victims = r.victims;
      }
    }
    if (nominatedNodeName === undefined && messages.length === 0) return undefined;
    return {
      ...(nominatedNodeName !== undefined ? { nominatedNodeName } : {}),
      ...(victims !== undefined ? { victims } : {}),
      message: messages.join(' '),
    };
  }

  /**
   * PreScore, Score, NormalizeScore, weights; the highest total wins, ties broken at random
   * (reservoir sampling, as kube-scheduler's selectHost) so equal nodes share the load.
   */
  selectHost(ctx: CycleContext, feasible: readonly NodeInfo[]): NodeInfo {
    const n = feasible.length;
    if (n === 1) return feasible[0]!;
    const totals = new Float64Array(n);
    for (const { plugin, weight } of this.scorers) {
      if (plugin.preScore?.(ctx, feasible) === 'skip') continue;
      const scores = new Float64Array(n);
      // Looked up once per plugin, not once per node: plugins differ in shape, so the lookup is slow.
      const score = plugin.score!;
      for (let i = 0; i < n; i++) scores[i] = score.call(plugin, ctx, feasible[i]!);
      plugin.normalizeScore?.(ctx, scores);
      for (let i = 0; i < n; i++) {
        const s = scores[i]!;
        // A plugin's score outside 0..100 is its bug; clamp so it cannot drown the others.
        totals[i]! += weight * (s < 0 ? 0 : s > MAX_NODE_SCORE ? MAX_NODE_SCORE : s);
      }
    }
    let best = 0;
    let ties = 1;
    for (let i = 1; i < n; i++) {
      if (totals[i]! > totals[best]!) {
        best = i;
        ties = 1;
      } else if (totals[i] === totals[best] && this.random() * ++ties < 1) {
        best = i;
      }
    }
    return feasible[best]!;
  }

  /** Reserve: on a rejection, plugins reserved so far are unreserved and the rejection returned. */
  reserve(ctx: CycleContext, node: NodeInfo): Rejection | undefined {
    for (let i = 0; i < this.reservers.length; i++) {
      const r = this.reservers[i]!.reserve?.(ctx, node);
      if (r !== undefined) {
        for (let j = i; j >= 0; j--) this.reservers[j]!.unreserve?.(ctx, node.name, r.reasons.join(', '));
        return r;
      }
    }
    return undefined;
  }

  unreserve(ctx: CycleContext, nodeName: string, why: string): void {
    for (let j = this.reservers.length - 1; j >= 0; j--) this.reservers[j]!.unreserve?.(ctx, nodeName, why);
  }

  /** Permit: a rejection wins; then a group release; then a wait; else allow. */
  permit(ctx: CycleContext, node: NodeInfo): PermitResult {
    let wait: PermitResult;
    let release: PermitResult;
    for (const p of this.permits) {
      const r = p.permit!(ctx, node);
      if (r === undefined) continue;
      if (isRejection(r)) return r;
      if ('releaseGroup' in r) release ??= r;
      else wait ??= r;
    }
    return release ?? wait;
  }

  postBind(ctx: CycleContext, nodeName: string): void {
    for (const p of this.postBinds) p.postBind!(ctx, nodeName);
  }

  async close(): Promise<void> {
    for (const { plugin } of this.plugins) await plugin.close?.();
  }
}

