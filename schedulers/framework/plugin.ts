// The plugin interface: what a scheduling plugin may implement, and what it is given.
//
// A plugin is a small object with a `name` and only the methods of the extension points it uses,
// as in the Kubernetes scheduling framework. For each pod the scheduler runs, in order:
//
//   less         QueueSort: which pending pod goes first (exactly one plugin of a profile)
//   preFilter    once per pod: precompute, reject the pod outright, narrow the candidate nodes,
//                or answer 'skip' so this plugin's filter does not run for this pod
//   filter       per node: undefined = the pod may go there, a Rejection = it may not, and why
//   postFilter   when no node passed: e.g. preemption nominates a node and evicts pods there
//   preScore     once per pod, over the feasible nodes; 'skip' = do not score with this plugin
//   score        per feasible node, 0..100 (MAX_NODE_SCORE), multiplied by the plugin's weight
//   normalizeScore  rescale this plugin's scores of all feasible nodes to 0..100
//   reserve      the pod is assumed on the chosen node; unreserve undoes it if the pod is not bound
//   permit       allow (undefined), reject, hold the pod under a group key, or release a group:
//                held pods are committed together in one AllOrNothing Placement (gangs)
//   postBind     the pod is bound
//
// Filter and score run for hundreds of nodes per pod: do per-pod work in preFilter/preScore,
// keep per-node work to a few comparisons, and return shared Rejection constants.
import type { Pod } from '../../shared/api/core.js';
import type { PodDisruptionBudget } from '../../shared/api/policy.js';
import type { PodGroup } from '../../shared/api/scheduling.js';
import type { ApiClient } from '../../shared/client/http-client.js';
import type { Logger } from '../../shared/logging.js';
import type { NodeInfo } from '../cache/node-info.js';
import type { PodInfo } from '../cache/pod-info.js';
import type { QueuedPodInfo } from '../queue/scheduling-queue.js';
import type { EventSink } from '../report/events.js';
import type { CycleContext } from './cycle.js';
import type { Diagnosis } from './diagnosis.js';

export type { NodeInfo, PodInfo, QueuedPodInfo, CycleContext, Diagnosis };

export const MAX_NODE_SCORE = 100;

/** Why a node — or, from preFilter, every node — cannot take the pod. */
export interface Rejection {
  /** Kubernetes-style reasons, counted per node in FailedScheduling ("Insufficient cpu"). */
  readonly reasons: readonly string[];
  /** True when evicting pods cannot help (a taint, a selector): preemption skips such nodes. */
  readonly unresolvable: boolean;
}

/** A rejection that removing pods from the node might cure (resources, ports, anti-affinity). */
export function unschedulable(...reasons: string[]): Rejection {
  return Object.freeze({ reasons: Object.freeze(reasons), unresolvable: false });
}

/** A rejection that preemption cannot cure. */
export function unresolvable(...reasons: string[]): Rejection {
  return Object.freeze({ reasons: Object.freeze(reasons), unresolvable: true });
}

export function isRejection(v: unknown): v is Rejection {
  return typeof v === 'object' && v !== null && Array.isArray((v as { reasons?: unknown }).reasons);
}

/** preFilter: go on (undefined), skip my filter for this pod, reject the pod, or only these nodes. */
export type PreFilterResult = undefined | 'skip' | Rejection | { readonly nodeNames: ReadonlySet<string> };

export interface PostFilterResult {
  /** The node the pod should wait for (preemption evicted pods there). */
  readonly nominatedNodeName?: string;
  /** Pods evicted to make the room. */
  readonly victims?: number;
  /** Appended to the FailedScheduling message ("preemption: …"). */
  readonly message?: string;
}

/** permit: allow (undefined), reject, hold under a group key, or commit a held group now. */
export type PermitResult =
  | undefined
  | Rejection
  | { readonly wait: { readonly group: string; readonly timeoutMs: number } }
  | { readonly releaseGroup: string };

/**
 * A scheduling plugin: a `name` and only the extension points it uses. Each method's doc has a
 * short example; `schedulers/examples/` has two whole plugins with their profiles and tests.
 */
/**
 * Cluster changes the scheduler's cache reports; a parked (unschedulable) pod is retried on one
 * only when a plugin that rejected it registered the kind (Plugin.events).
 *   NodeAdded     a node joined
 *   NodeChanged   a node's spec, labels, taints or allocatable changed
 *   RoomReleased  a node's ledger gave room back (a pod finished, was deleted or moved)
 *   PodGone       a bound pod finished or went away (topology and anti-affinity counts change)
 */
export type ClusterEventKind = 'NodeAdded' | 'NodeChanged' | 'RoomReleased' | 'PodGone';

export interface Plugin {
  /** Unique within a profile; FailedScheduling diagnoses and logs name the plugin by it. */
  readonly name: string;
  /**
   * QueueingHints: the cluster changes that may make a pod this plugin rejected schedulable. A pod
   * the plugin rejected is retried on these only; omitted = on every change (always safe).
   * @example events: ['NodeAdded', 'NodeChanged']   // a label-based filter: room elsewhere cannot help
   */
  readonly events?: readonly ClusterEventKind[];
  /**
   * QueueSort: whether `a` is tried before `b`. Exactly one plugin of a profile has it (usually the
   * built-in PrioritySort).
   * @example less: (a, b) => a.podInfo.priority > b.podInfo.priority || a.timestamp < b.timestamp
   */
  less?(a: QueuedPodInfo, b: QueuedPodInfo): boolean;
  /**
   * Once per pod, before any node is looked at: compute what filter/score need (store it with
   * `ctx.write`), reject the pod outright, narrow the nodes, or `'skip'` this plugin's filter.
   * @example preFilter(ctx) { const zone = ctx.pod.labels['zone']; if (!zone) return 'skip'; ctx.write(ZONE, zone); return undefined; }
   */
  preFilter?(ctx: CycleContext): PreFilterResult;
  /**
   * Per node: `undefined` = the pod may go there; a shared `Rejection` constant = it may not, and why.
   * @example filter: (_ctx, node) => (node.labels['maintenance'] === 'true' ? IN_MAINTENANCE : undefined)
   */
  filter?(ctx: CycleContext, node: NodeInfo): Rejection | undefined;
  /**
   * The pod fits nowhere (`diagnosis.nodeStatus` says why, per node): make room (preemption) or
   * add to the FailedScheduling message.
   * @example postFilter: (_ctx, d) => ({ message: `${d.nodeStatus.size} node(s) rejected it; ask #infra for more.` })
   */
  postFilter?(ctx: CycleContext, diagnosis: Diagnosis): PostFilterResult | undefined;
  /**
   * Once per pod, over the feasible nodes, before `score`: per-pod work, or `'skip'` to sit out scoring.
   * @example preScore: (ctx) => (ctx.pod.requests.get('nvidia.com/gpu') === 0 ? 'skip' : undefined)
   */
  preScore?(ctx: CycleContext, nodes: readonly NodeInfo[]): 'skip' | undefined;
  /**
   * Per feasible node: a raw score; 0..MAX_NODE_SCORE after `normalizeScore` (clamped), times the
   * plugin's weight in the profile. Highest total wins; ties are broken at random.
   * @example score: (_ctx, node) => MAX_NODE_SCORE * (1 - node.requested.cpu / Math.max(1, node.allocatable.cpu))
   */
  score?(ctx: CycleContext, node: NodeInfo): number;
  /**
   * Rescale this plugin's raw scores of all feasible nodes, in place, to 0..MAX_NODE_SCORE.
   * @example normalizeScore(_ctx, s) { const max = Math.max(...s, 1); for (let i = 0; i < s.length; i++) s[i] = (s[i]! * MAX_NODE_SCORE) / max; }
   */
  normalizeScore?(ctx: CycleContext, scores: Float64Array): void;
  /**
   * The pod is assumed on `node` (its room is taken in this scheduler's cache); a rejection undoes it.
   * @example reserve(ctx, node) { reservedGpus.set(ctx.pod.uid, node.name); return undefined; }
   */
  reserve?(ctx: CycleContext, node: NodeInfo): Rejection | undefined;
  /**
   * The assumption is undone (a later plugin refused, a permit was rejected, the commit lost a race).
   * @example unreserve(ctx) { reservedGpus.delete(ctx.pod.uid); }
   */
  unreserve?(ctx: CycleContext, nodeName: string, why: string): void;
  /**
   * Last word before the commit: allow (`undefined`), reject, hold the pod under a group key
   * until `{ releaseGroup }` commits the whole group in one all-or-nothing Placement.
   * @example permit: (ctx) => (ctx.pod.group ? { wait: { group: `${ctx.pod.namespace}/${ctx.pod.group}`, timeoutMs: 30_000 } } : undefined)
   */
  permit?(ctx: CycleContext, node: NodeInfo): PermitResult;
  /**
   * The pod is bound (the commit succeeded).
   * @example postBind(ctx, nodeName) { handle.log.info('bound', { pod: ctx.pod.key, node: nodeName }); }
   */
  postBind?(ctx: CycleContext, nodeName: string): void;
  /** Called once when the daemon stops. */
  close?(): void | Promise<void>;
}

/** The cluster as the scheduler's cache holds it; read-only for plugins. */
export interface ClusterView {
  /** Every schedulable candidate, in a stable order. */
  nodes(): readonly NodeInfo[];
  node(name: string): NodeInfo | undefined;
  podGroup(namespace: string, name: string): PodGroup | undefined;
  /** Unfinished pods (pending or bound, of any scheduler) labelled into the group. */
  groupMembers(namespace: string, group: string): readonly Pod[];
  /** Bound or assumed pods with required pod anti-affinity terms, with their node. */
  podsWithRequiredAntiAffinity(): Iterable<{ readonly pod: PodInfo; readonly nodeName: string }>;
  /** The node a preempting pod waits for, if any. */
  nominatedNode(podUid: string): string | undefined;
  /**
   * The PodDisruptionBudgets of a namespace (preemption prefers victims no budget protects).
   * Optional: without it every victim counts as unprotected.
   */
  disruptionBudgets?(namespace: string): readonly PodDisruptionBudget[];
  /**
   * How many nodes have a NoSchedule/NoExecute taint, and how many are cordoned: a plugin whose
   * filter can only reject such nodes skips it (preFilter 'skip') while there are none. Optional:
   * without it plugins check every node.
   */
  nodeCounts?(): NodeCounts;
}

export interface NodeCounts {
  /** Nodes with at least one NoSchedule or NoExecute taint. */
  readonly tainted: number;
  /** Nodes with spec.unschedulable. */
  readonly cordoned: number;
}

/** Pods held at permit, by group key. */
export interface WaitingPods {
  /** How many pods are held under `group`. */
  count(group: string): number;
  /** Give up on every pod held under `group`: unreserve them and send them back to the queue. */
  reject(group: string, message: string): void;
}

/** What a plugin is given when it is created. */
export interface PluginHandle {
  readonly schedulerName: string;
  readonly profileName: string;
  readonly cluster: ClusterView;
  readonly client: ApiClient;
  readonly events: EventSink;
  readonly waiting: WaitingPods;
  readonly log: Logger;
  now(): number;
  /** Run the profile's filter plugins for the cycle's pod on `node` (e.g. a preemption what-if clone). */
  filter(ctx: CycleContext, node: NodeInfo): Rejection | undefined;
}

/**
 * A plugin module's default export (and the built-ins' factories): build the plugin from its
 * `args` in the profile. Validate args here and throw a clear error for bad ones.
 */
export type PluginFactory = (args: Record<string, unknown>, handle: PluginHandle) => Plugin | Promise<Plugin>;
