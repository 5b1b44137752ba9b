// Where a pod may run by its node constraints: spec.nodeSelector and required node affinity. Terms
// are ORed, expressions within a term ANDed; operators In, NotIn, Exists, DoesNotExist, Gt and Lt
// (integer label values), and matchFields on metadata.name — the semantics of Kubernetes'
// nodeaffinity package. The scheduler filters nodes with it; the DaemonSet controller decides
// which nodes should run a daemon pod with it.
import type { NodeSelectorRequirement, NodeSelectorTerm, PodSpec } from './api/core.js';
import { LabelSelector } from './labels.js';

/** What node affinity reads of a node. */
export interface NodeIdentity {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** One node selector term: labels must match `labels`, the node's fields must match `fields`. */
export interface CompiledTerm {
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

export function compileTerm(t: NodeSelectorTerm): CompiledTerm {
  return {
    labels: compileRequirements(t.matchExpressions),
    fields: compileRequirements(t.matchFields),
    empty: (t.matchExpressions ?? []).length === 0 && (t.matchFields ?? []).length === 0,
  };
}

export function termMatches(t: CompiledTerm, node: NodeIdentity): boolean {
  if (t.empty) return false;
  if (!t.labels.matches(node.labels)) return false;
  return t.fields.isEverything() || t.fields.matches({ 'metadata.name': node.name });
}

/** A pod's hard node constraints: nodeSelector AND (any required term). */
export class RequiredNodeAffinity {
  private readonly selector: LabelSelector | undefined;
  private readonly terms: CompiledTerm[] | undefined;

  constructor(spec: Pick<PodSpec, 'nodeSelector' | 'affinity'>) {
    const sel = spec.nodeSelector;
    this.selector = sel && Object.keys(sel).length > 0
      ? new LabelSelector(Object.entries(sel).map(([key, value]) => ({ key, operator: 'Equals' as const, values: [value] })))
      : undefined;
    const required = spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
    this.terms = required ? required.nodeSelectorTerms.map(compileTerm) : undefined;
  }

  get isEmpty(): boolean {
    return this.selector === undefined && this.terms === undefined;
  }

  matches(node: NodeIdentity): boolean {
    if (this.selector && !this.selector.matches(node.labels)) return false;
    return this.terms === undefined || this.terms.some((t) => termMatches(t, node));
  }
}
