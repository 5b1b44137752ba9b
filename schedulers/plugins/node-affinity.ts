// NodeAffinity: spec.nodeSelector and required node affinity decide where a pod may go; preferred
// node affinity adds each matching term's weight to a node's score. Terms are ORed, expressions
// within a term ANDed; operators In, NotIn, Exists, DoesNotExist, Gt and Lt (integer label
// values), and matchFields on metadata.name — the semantics of Kubernetes' nodeaffinity package.
import type { NodeSelectorRequirement, NodeSelectorTerm, Pod } from '../../shared/api/core.js';
import { LabelSelector } from '../../shared/labels.js';
import type { NodeInfo } from '../cache/node-info.js';
import { StateKey } from '../framework/cycle.js';
import { MAX_NODE_SCORE, unresolvable, type Plugin, type PluginFactory } from '../framework/plugin.js';

export const NAME = 'NodeAffinity';
const MISMATCH = unresolvable("node(s) didn't match Pod's node affinity/selector");

/** One node selector term: labels must match `labels`, the node's fields must match `fields`. */
interface CompiledTerm {
  labels: LabelSelector;
  fields: LabelSelector;
  /** A term with no requirements at all matches no node (Kubernetes' rule). */
  empty: boolean;
}

function compileRequirements(reqs: readonly NodeSelectorRequirement[] | undefined): LabelSelector {
  // LabelSelector evaluates Gt/Lt too; the requirement objects are built directly because the
  // metav1.LabelSelector form (labelSelectorFromSpec) does not allow those operators.
  return new LabelSelector((reqs ?? []).map((r) => ({ key: r.key, operator: r.operator, values: r.values ?? [] })));
}

function compileTerm(t: NodeSelectorTerm): CompiledTerm {
  return {
    labels: compileRequirements(t.matchExpressions),
    fields: compileRequirements(t.matchFields),
    empty: (t.matchExpressions ?? []).length === 0 && (t.matchFields ?? []).length === 0,
  };
}

function termMatches(t: CompiledTerm, node: NodeInfo): boolean {
  if (t.empty) return false;
  if (!t.labels.matches(node.labels)) return false;
  return t.fields.isEverything() || t.fields.matches({ 'metadata.name': node.name });
}

/** A pod's hard node constraints: nodeSelector AND (any required term). */
export class RequiredNodeAffinity {
  private readonly selector: LabelSelector | undefined;
  private readonly terms: CompiledTerm[] | undefined;

  constructor(pod: Pod) {
    const sel = pod.spec.nodeSelector;
    this.selector = sel && Object.keys(sel).length > 0
      ? new LabelSelector(Object.entries(sel).map(([key, value]) => ({ key, operator: 'Equals' as const, values: [value] })))
      : undefined;
    const required = pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
    this.terms = required ? required.nodeSelectorTerms.map(compileTerm) : undefined;
  }

  get isEmpty(): boolean {
    return this.selector === undefined && this.terms === undefined;
  }

  matches(node: NodeInfo): boolean {
    if (this.selector && !this.selector.matches(node.labels)) return false;
    return this.terms === undefined || this.terms.some((t) => termMatches(t, node));
  }
}

const REQUIRED = new StateKey<RequiredNodeAffinity>('NodeAffinity/required');
const PREFERRED = new StateKey<{ weight: number; term: CompiledTerm }[]>('NodeAffinity/preferred');

export const create: PluginFactory = (): Plugin => ({
  name: NAME,
  events: ['NodeAdded', 'NodeChanged'],
  preFilter(ctx) {
    const required = new RequiredNodeAffinity(ctx.pod.pod);
    if (required.isEmpty) return 'skip';
    ctx.write(REQUIRED, required);
    return undefined;
  },
  filter(ctx, node) {
    return ctx.read(REQUIRED)?.matches(node) === false ? MISMATCH : undefined;
  },
  preScore(ctx) {
    const preferred = ctx.pod.pod.spec.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
    if (preferred.length === 0) return 'skip';
    ctx.write(PREFERRED, preferred.map((p) => ({ weight: p.weight, term: compileTerm(p.preference) })));
    return undefined;
  },
  score(ctx, node) {
    let sum = 0;
    for (const p of ctx.read(PREFERRED) ?? []) if (termMatches(p.term, node)) sum += p.weight;
    return sum;
  },
  normalizeScore(_ctx, scores) {
    let max = 0;
    for (const s of scores) if (s > max) max = s;
    if (max > 0) for (let i = 0; i < scores.length; i++) scores[i] = Math.floor((scores[i]! * MAX_NODE_SCORE) / max);
  },
});
