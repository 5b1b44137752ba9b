// InterPodAffinity: pod affinity and anti-affinity by any topology key (`kubernetes.io/hostname`
// for "not on the same node", a zone label for "not in the same zone").
//   required anti-affinity  no pod matching the term may be in the node's domain
//   existing anti-affinity  no pod already there may have a required anti-affinity term matching
//                           this pod (the rule is symmetric)
//   required affinity       a pod matching the term must be in the node's domain (unless no such
//                           pod exists anywhere and this pod matches its own term: the first one)
//   preferred (anti-)affinity  score: weight × matching pods in the node's domain, (minus for anti)
// A term selects pods in its `namespaces` (default: the pod's own); `namespaceSelector: {}`
// selects every namespace. Label-based namespace selectors are not supported (no namespace cache).
import type { PodAffinityTerm } from '../../shared/api/core.js';
import { labelSelectorFromSpec, type LabelSelector } from '../../shared/labels.js';
import type { PodInfo } from '../cache/pod-info.js';
import { StateKey } from '../framework/cycle.js';
import { MAX_NODE_SCORE, unresolvable, unschedulable, type ClusterView, type Plugin, type PluginFactory } from '../framework/plugin.js';

export const NAME = 'InterPodAffinity';
const ANTI = unschedulable("node(s) didn't match pod anti-affinity rules");
const EXISTING_ANTI = unschedulable("node(s) didn't satisfy existing pods anti-affinity rules");
const AFFINITY = unresolvable("node(s) didn't match pod affinity rules");

interface Term {
  topologyKey: string;
  selector: LabelSelector | undefined;
  namespaces: ReadonlySet<string> | 'all';
}

function compile(t: PodAffinityTerm, ownerNamespace: string): Term {
  const all = t.namespaceSelector !== undefined && !t.namespaceSelector.matchLabels && !t.namespaceSelector.matchExpressions;
  return {
    topologyKey: t.topologyKey,
    // A term without a selector matches no pods.
    selector: t.labelSelector ? labelSelectorFromSpec(t.labelSelector) : undefined,
    namespaces: all ? 'all' : new Set(t.namespaces && t.namespaces.length > 0 ? t.namespaces : [ownerNamespace]),
  };
}

function termMatches(t: Term, p: PodInfo): boolean {
  if (!t.selector) return false;
  if (t.namespaces !== 'all' && !t.namespaces.has(p.namespace)) return false;
  return t.selector.matches(p.labels);
}

/** Matching pods per value of the term's topology key, over the whole cluster. */
function domainCounts(cluster: ClusterView, t: Term, self: PodInfo): Map<string, number> {
  const counts = new Map<string, number>();
  for (const node of cluster.nodes()) {
    const domain = node.labels[t.topologyKey];
    if (domain === undefined) continue;
    for (const p of node.pods.values()) {
      if (p.uid !== self.uid && termMatches(t, p)) counts.set(domain, (counts.get(domain) ?? 0) + 1);
    }
  }
  return counts;
}

interface Required {
  anti: { term: Term; domains: Map<string, number> }[];
  affinity: { term: Term; domains: Map<string, number>; firstOfItsKind: boolean }[];
  /** [topologyKey, value] pairs where an existing pod's anti-affinity forbids this pod. */
  forbidden: [string, string][];
}

interface Preferred {
  terms: { term: Term; weight: number; domains: Map<string, number> }[];
}

const REQUIRED = new StateKey<Required>('InterPodAffinity/required');
const PREFERRED = new StateKey<Preferred>('InterPodAffinity/preferred');

export const create: PluginFactory = (_args, handle): Plugin => ({
  name: NAME,
  events: ['NodeAdded', 'NodeChanged', 'PodGone'],
  preFilter(ctx) {
    const pod = ctx.pod;
    const affinity = pod.pod.spec.affinity;
    const req: Required = { anti: [], affinity: [], forbidden: [] };
    for (const { pod: other, nodeName } of handle.cluster.podsWithRequiredAntiAffinity()) {
      if (other.uid === pod.uid) continue;
      const node = handle.cluster.node(nodeName);
      if (!node) continue;
      for (const t of other.pod.spec.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []) {
        const term = compile(t, other.namespace);
        const domain = node.labels[term.topologyKey];
        if (domain !== undefined && termMatches(term, pod)) req.forbidden.push([term.topologyKey, domain]);
      }
    }
    for (const t of affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []) {
      const term = compile(t, pod.namespace);
      req.anti.push({ term, domains: domainCounts(handle.cluster, term, pod) });
    }
    for (const t of affinity?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []) {
      const term = compile(t, pod.namespace);
      const domains = domainCounts(handle.cluster, term, pod);
      req.affinity.push({ term, domains, firstOfItsKind: domains.size === 0 && termMatches(term, pod) });
    }
    if (req.anti.length === 0 && req.affinity.length === 0 && req.forbidden.length === 0) return 'skip';
    ctx.write(REQUIRED, req);
    return undefined;
  },
  filter(ctx, node) {
    const req = ctx.read(REQUIRED);
    if (!req) return undefined;
    for (const [key, value] of req.forbidden) if (node.labels[key] === value) return EXISTING_ANTI;
    for (const { term, domains } of req.anti) {
      const domain = node.labels[term.topologyKey];
      if (domain !== undefined && domains.has(domain)) return ANTI;
    }
    for (const { term, domains, firstOfItsKind } of req.affinity) {
      const domain = node.labels[term.topologyKey];
      if (domain === undefined) return AFFINITY;
      if (!domains.has(domain) && !firstOfItsKind) return AFFINITY;
    }
    return undefined;
  },
  preScore(ctx) {
    const pod = ctx.pod;
    const affinity = pod.pod.spec.affinity;
    const terms: Preferred['terms'] = [];
    for (const w of affinity?.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []) {
      const term = compile(w.podAffinityTerm, pod.namespace);
      terms.push({ term, weight: w.weight, domains: domainCounts(handle.cluster, term, pod) });
    }
    for (const w of affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []) {
      const term = compile(w.podAffinityTerm, pod.namespace);
      terms.push({ term, weight: -w.weight, domains: domainCounts(handle.cluster, term, pod) });
    }
    if (terms.length === 0) return 'skip';
    ctx.write(PREFERRED, { terms });
    return undefined;
  },
  score(ctx, node) {
    let sum = 0;
    for (const { term, weight, domains } of ctx.read(PREFERRED)?.terms ?? []) {
      const domain = node.labels[term.topologyKey];
      if (domain !== undefined) sum += weight * (domains.get(domain) ?? 0);
    }
    return sum;
  },
  normalizeScore(_ctx, scores) {
    let min = Infinity;
    let max = -Infinity;
    for (const s of scores) {
      if (s < min) min = s;
      if (s > max) max = s;
    }
    for (let i = 0; i < scores.length; i++) scores[i] = max > min ? Math.floor(((scores[i]! - min) * MAX_NODE_SCORE) / (max - min)) : 0;
  },
});
