// PodTopologySpread: topologySpreadConstraints keep matching pods evenly spread over topology
// domains (nodes by `kubernetes.io/hostname`, zones by a zone label, any node label).
//   DoNotSchedule  filter: placing the pod must not make (domain count − smallest count) > maxSkew
//   ScheduleAnyway score:  domains with fewer matching pods score higher
// Counts are of pods in the pod's namespace that match the constraint's selector, on nodes that
// satisfy the pod's node affinity and carry the topology key, as Kubernetes counts them.
import type { TopologySpreadConstraint } from '../../shared/api/core.js';
import { labelSelectorFromSpec, type LabelSelector } from '../../shared/labels.js';
import type { NodeInfo } from '../cache/node-info.js';
import type { PodInfo } from '../cache/pod-info.js';
import { StateKey } from '../framework/cycle.js';
import { MAX_NODE_SCORE, unresolvable, unschedulable, type ClusterView, type Plugin, type PluginFactory } from '../framework/plugin.js';
import { RequiredNodeAffinity } from '../../shared/node-affinity.js';

export const NAME = 'PodTopologySpread';
const MISSING_LABEL = unresolvable("node(s) didn't match pod topology spread constraints (missing required label)");
const SKEWED = unschedulable("node(s) didn't match pod topology spread constraints");

interface Counted {
  constraint: TopologySpreadConstraint;
  /** Undefined: the constraint has no selector, which selects no pods (Kubernetes' nil selector). */
  selector: LabelSelector | undefined;
  /** Matching pods per domain (value of the topology key). */
  counts: Map<string, number>;
  min: number;
  /** 1 when the incoming pod itself matches the selector (it will count once placed). */
  self: number;
}

function countMatching(node: NodeInfo, pod: PodInfo, selector: LabelSelector | undefined): number {
  if (!selector) return 0;
  let n = 0;
  for (const p of node.pods.values()) {
    if (p.namespace === pod.namespace && !p.pod.metadata.deletionTimestamp && selector.matches(p.labels)) n++;
  }
  return n;
}

function count(cluster: ClusterView, pod: PodInfo, constraints: readonly TopologySpreadConstraint[]): Counted[] {
  const affinity = new RequiredNodeAffinity(pod.pod.spec);
  const counted: Counted[] = constraints.map((c) => ({
    constraint: c,
    selector: c.labelSelector ? labelSelectorFromSpec(c.labelSelector) : undefined,
    counts: new Map<string, number>(),
    min: 0,
    self: 0,
  }));
  for (const c of counted) c.self = c.selector?.matches(pod.labels) ? 1 : 0;
  for (const node of cluster.nodes()) {
    if (!affinity.matches(node)) continue;
    // A node counts only when it carries every constraint's key.
    if (!constraints.every((c) => node.labels[c.topologyKey] !== undefined)) continue;
    for (const c of counted) {
      const domain = node.labels[c.constraint.topologyKey]!;
      c.counts.set(domain, (c.counts.get(domain) ?? 0) + countMatching(node, pod, c.selector));
    }
  }
  for (const c of counted) {
    let min = Infinity;
    for (const v of c.counts.values()) if (v < min) min = v;
    // Fewer domains than minDomains: the global minimum is taken as 0.
    if (min === Infinity || c.counts.size < (c.constraint.minDomains ?? 1)) min = 0;
    c.min = min;
  }
  return counted;
}

const HARD = new StateKey<Counted[]>('PodTopologySpread/hard');
const SOFT = new StateKey<Counted[]>('PodTopologySpread/soft');

export const create: PluginFactory = (_args, handle): Plugin => ({
  name: NAME,
  events: ['NodeAdded', 'NodeChanged', 'PodGone'],
  preFilter(ctx) {
    const hard = (ctx.pod.pod.spec.topologySpreadConstraints ?? []).filter((c) => c.whenUnsatisfiable === 'DoNotSchedule');
    if (hard.length === 0) return 'skip';
    ctx.write(HARD, count(handle.cluster, ctx.pod, hard));
    return undefined;
  },
  filter(ctx, node) {
    for (const c of ctx.read(HARD) ?? []) {
      const domain = node.labels[c.constraint.topologyKey];
      if (domain === undefined) return MISSING_LABEL;
      if ((c.counts.get(domain) ?? 0) + c.self - c.min > c.constraint.maxSkew) return SKEWED;
    }
    return undefined;
  },
  preScore(ctx) {
    const soft = (ctx.pod.pod.spec.topologySpreadConstraints ?? []).filter((c) => c.whenUnsatisfiable === 'ScheduleAnyway');
    if (soft.length === 0) return 'skip';
    ctx.write(SOFT, count(handle.cluster, ctx.pod, soft));
    return undefined;
  },
  score(ctx, node) {
    // Raw score: matching pods in the node's domains (lower is better); -1 = node lacks a key.
    let sum = 0;
    for (const c of ctx.read(SOFT) ?? []) {
      const domain = node.labels[c.constraint.topologyKey];
      if (domain === undefined) return -1;
      sum += (c.counts.get(domain) ?? 0) + c.constraint.maxSkew - 1;
    }
    return sum;
  },
  normalizeScore(_ctx, scores) {
    let min = Infinity;
    let max = -Infinity;
    for (const s of scores) {
      if (s < 0) continue;
      if (s < min) min = s;
      if (s > max) max = s;
    }
    for (let i = 0; i < scores.length; i++) {
      const s = scores[i]!;
      if (s < 0) scores[i] = 0;
      else scores[i] = max === min ? MAX_NODE_SCORE : Math.floor(((max - s) * MAX_NODE_SCORE) / (max - min));
    }
  },
});
