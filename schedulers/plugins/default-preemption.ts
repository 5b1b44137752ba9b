// DefaultPreemption (PostFilter): when a pod fits nowhere, find one node where evicting pods of
// strictly lower priority makes it fit, evict as few and as unimportant pods as possible there
// (graceful DELETE, with a DisruptionTarget condition and a Preempted event), and nominate the
// node (status.nominatedNodeName) so the room is kept for this pod while the victims stop.
//
// Per node: remove every lower-priority pod, check the pod fits (the profile's own filters, on a
// copy of the node), then give back victims while it still fits — first those whose eviction a
// PodDisruptionBudget forbids (status.disruptionsAllowed would go below 0), then the others, each
// group from the most important down, as Kubernetes' DefaultPreemption does. Between candidate
// nodes the choice is Kubernetes': the fewest budget violations, then the lowest highest-victim
// priority, then the fewest victims, then the lowest sum of priorities. Victims are still deleted
// (not evicted): a budget makes a victim less likely, never impossible. Pods of equal or higher
// priority are never victims; a pod with preemptionPolicy Never, or whose nominated node still has
// victims terminating, does not preempt (again).
import type { PodDisruptionBudget } from '../../shared/api/policy.js';
import { errorMessage, NotFoundError } from '../../shared/errors.js';
import { labelSelectorFromSpec, type LabelSelector } from '../../shared/labels.js';
import type { NodeInfo } from '../cache/node-info.js';
import type { PodInfo } from '../cache/pod-info.js';
import { histogram } from '../framework/diagnosis.js';
import { unresolvable, type CycleContext, type Plugin, type PluginFactory, type PluginHandle, type Rejection } from '../framework/plugin.js';
import { PodStatusWriter } from '../report/pod-status.js';

export const NAME = 'DefaultPreemption';
const NO_VICTIMS = unresolvable('No preemption victims found for incoming pod');
const NOT_HELPFUL = unresolvable('Preemption is not helpful for scheduling');
/** Stop looking once this many nodes could host the pod after evictions. */
const MAX_CANDIDATES = 100;

interface Candidate {
  node: NodeInfo;
  victims: PodInfo[];
  /** Victims whose eviction a disruption budget forbids. */
  violations: number;
  maxPriority: number;
  sumPriority: number;
}

/** More important first: higher priority, then the older pod. */
function moreImportant(a: PodInfo, b: PodInfo): number {
  return b.priority - a.priority || a.createdAt - b.createdAt;
}

function better(a: Candidate, b: Candidate): boolean {
  if (a.violations !== b.violations) return a.violations < b.violations;
  if (a.maxPriority !== b.maxPriority) return a.maxPriority < b.maxPriority;
  if (a.victims.length !== b.victims.length) return a.victims.length < b.victims.length;
  return a.sumPriority < b.sumPriority;
}

const selectors = new WeakMap<PodDisruptionBudget, LabelSelector | null>();

/** A budget's selector (memoized: budgets come from the informer, shared and unchanging); null selects nothing. */
function selectorOf(b: PodDisruptionBudget): LabelSelector | null {
  let sel = selectors.get(b);
  if (sel === undefined) {
    sel = b.spec.selector ? labelSelectorFromSpec(b.spec.selector) : null;
    selectors.set(b, sel);
  }
  return sel;
}

/**
 * Kubernetes' filterPodsWithPDBViolation: walking `pods` (most important first), each matching
 * budget's allowed disruptions are spent; a pod that takes one below zero violates it. A pod the
 * budget already lists as disrupted (its eviction was granted) spends nothing.
 */
function splitByBudgets(pods: readonly PodInfo[], budgetsIn: (namespace: string) => readonly PodDisruptionBudget[]): { violating: PodInfo[]; nonViolating: PodInfo[] } {
  const allowed = new Map<PodDisruptionBudget, number>();
  const violating: PodInfo[] = [];
  const nonViolating: PodInfo[] = [];
  for (const p of pods) {
    let violates = false;
    for (const b of budgetsIn(p.namespace)) {
      const sel = selectorOf(b);
      if (sel === null || !sel.matches(p.labels) || Object.hasOwn(b.status.disruptedPods ?? {}, p.name)) continue;
      const left = (allowed.get(b) ?? b.status.disruptionsAllowed) - 1;
      allowed.set(b, left);
      if (left < 0) violates = true;
    }
    (violates ? violating : nonViolating).push(p);
  }
  return { violating, nonViolating };
}

function selectVictims(ctx: CycleContext, node: NodeInfo, handle: PluginHandle): Candidate | undefined {
  const pod = ctx.pod;
  // Only pods the watch shows bound can be evicted; pods still arriving cannot be relied on.
  const lower = [...node.pods.values()].filter(
    (p) => p.priority < pod.priority && !p.pod.metadata.deletionTimestamp && node.hasObserved(p.uid),
  );
  if (lower.length === 0) return undefined;
  const sim = node.clone();
  for (const p of lower) sim.removeForSimulation(p);
  if (handle.filter(ctx, sim)) return undefined;
  lower.sort(moreImportant);
  const budgets = new Map<string, readonly PodDisruptionBudget[]>();
  const budgetsIn = (namespace: string) => {
    let list = budgets.get(namespace);
    if (list === undefined) budgets.set(namespace, (list = handle.cluster.disruptionBudgets?.(namespace) ?? []));
    return list;
  };
  const { violating, nonViolating } = splitByBudgets(lower, budgetsIn);
  const victims: PodInfo[] = [];
  /** Give the pod back if the preemptor still fits; else it stays a victim (returns true). */
  const stays = (p: PodInfo): boolean => {
    sim.addForSimulation(p);
    if (!handle.filter(ctx, sim)) return false;
    sim.removeForSimulation(p);
    victims.push(p);
    return true;
  };
  let violations = 0;
  for (const p of violating) if (stays(p)) violations++;
  for (const p of nonViolating) stays(p);
  if (victims.length === 0) return undefined;
  let maxPriority = -Infinity;
  let sumPriority = 0;
  for (const v of victims) {
    maxPriority = Math.max(maxPriority, v.priority);
    sumPriority += v.priority;
  }
  return { node, victims, violations, maxPriority, sumPriority };
}

export const create: PluginFactory = (_args, handle): Plugin => {
  const status = new PodStatusWriter(handle.client, handle.log);

  const evict = async (victim: PodInfo, preemptor: PodInfo, nodeName: string): Promise<void> => {
    const message = `Preempted by ${preemptor.key} on node ${nodeName}`;
    await status.disruptionTarget(victim, message);
    try {
      await handle.client.delete({ namespace: victim.namespace, resource: 'pods', name: victim.name }, { preconditions: { uid: victim.uid } });
      handle.events.record({ kind: 'Pod', namespace: victim.namespace, name: victim.name, uid: victim.uid }, 'Normal', 'Preempted', message);
    } catch (err) {
      // Gone already: its room is being released anyway.
      if (err instanceof NotFoundError) return;
      handle.log.warn('could not evict a preemption victim', { victim: victim.key, preemptor: preemptor.key, error: errorMessage(err) });
    }
  };

  return {
    name: NAME,
    postFilter(ctx, diagnosis) {
      const pod = ctx.pod;
      if (pod.pod.spec.preemptionPolicy === 'Never') return { message: 'preemption: not eligible due to preemptionPolicy=Never.' };
      const nominated = handle.cluster.nominatedNode(pod.uid) ?? pod.pod.status.nominatedNodeName;
      if (nominated) {
        const node = handle.cluster.node(nominated);
        const terminating = node && [...node.pods.values()].some((p) => p.priority < pod.priority && p.pod.metadata.deletionTimestamp);
        if (terminating) return { nominatedNodeName: nominated, message: 'preemption: not eligible due to terminating pod on the nominated node.' };
      }
      const why = new Map<string, Rejection>();
      let best: Candidate | undefined;
      let found = 0;
      for (const node of handle.cluster.nodes()) {
        const rejection = diagnosis.nodeStatus.get(node.name);
        if (!rejection || rejection.unresolvable) {
          why.set(node.name, NOT_HELPFUL);
          continue;
        }
        const c = selectVictims(ctx, node, handle);
        if (!c) {
          why.set(node.name, NO_VICTIMS);
          continue;
        }
        if (!best || better(c, best)) best = c;
        if (++found >= MAX_CANDIDATES) break;
      }
      if (!best) return { message: `preemption: 0/${diagnosis.totalNodes} nodes are available: ${histogram(why.values())}.` };
      const target = best.node.name;
      for (const v of best.victims) void evict(v, pod, target);
      handle.log.info('preempting', { pod: pod.key, node: target, victims: best.victims.map((v) => v.key), budgetViolations: best.violations });
      return {
        nominatedNodeName: target,
        victims: best.victims.length,
        message: `preemption: evicting ${best.victims.length} lower-priority pod(s) on node ${target}.`,
      };
    },
  };
};
