/**
 * The cell scheduler plugin SDK: everything a plugin author needs, from one module.
 *
 * Inside this repository import it relatively (`import { … } from '../sdk.js'`); from another
 * package that depends on cell, `import { … } from 'cell/scheduler-sdk'` (the compiled
 * `dist/schedulers/sdk.js` with its `.d.ts`).
 *
 * A plugin module's default export is a {@link PluginFactory}; a profile YAML names the module
 * and its weight; `cell-scheduler --profile=FILE` runs it. {@link SchedulerHarness} runs the same
 * scheduling cycle in memory, for the plugin's tests.
 *
 * @example
 * import { MAX_NODE_SCORE, unresolvable, type PluginFactory } from 'cell/scheduler-sdk';
 *
 * const DRAINING = unresolvable('node(s) were draining');
 *
 * const create: PluginFactory = (args) => ({
 *   name: 'AvoidDraining',
 *   filter: (_ctx, node) => (node.labels['example.com/draining'] === 'true' ? DRAINING : undefined),
 *   score: (_ctx, node) => (node.labels['example.com/tier'] === 'fast' ? MAX_NODE_SCORE : 0),
 * });
 * export default create;
 *
 * @packageDocumentation
 */

// ---------------------------------------------------------------------------------------------
// The plugin interface and its results

export {
  /** A node's score after normalising: 0..100 (then multiplied by the plugin's weight). */
  MAX_NODE_SCORE,
  /**
   * A rejection that removing pods from the node might cure (resources, ports, anti-affinity), so
   * preemption considers the node. Create it once, at module level, and return the constant.
   * @example const NO_GPU_ROOM = unschedulable('Insufficient nvidia.com/gpu');
   */
  unschedulable,
  /**
   * A rejection that preemption cannot cure (a label, a taint, a selector).
   * @example const IN_MAINTENANCE = unresolvable('node(s) were in maintenance');
   */
  unresolvable,
  /** Whether a preFilter/permit result is a Rejection. */
  isRejection,
} from './framework/plugin.js';

export type {
  /** A scheduling plugin: a name and only the extension points it implements (each documented with an example). */
  Plugin,
  /** A plugin module's default export: `(args, handle) => Plugin` (may be async). Validate `args` here and throw on bad ones. */
  PluginFactory,
  /** What a factory is given: the cluster view, API client, event sink, logger, clock, and the profile's filters. */
  PluginHandle,
  /** The scheduler's view of the cluster (`handle.cluster`): nodes, pod groups, nominations; read-only. */
  ClusterView,
  /** How many nodes are tainted or cordoned (lets a filter plugin skip itself while there are none). */
  NodeCounts,
  /** The cluster changes a plugin may register in `events` (QueueingHints): which ones can help a pod it rejected. */
  ClusterEventKind,
  /** Pods held at permit by group key (`handle.waiting`). */
  WaitingPods,
  /** Why a node cannot take the pod: Kubernetes-style reasons, and whether preemption could help. */
  Rejection,
  /**
   * preFilter's answer: `undefined` (go on), `'skip'` (my filter is not needed for this pod), a
   * Rejection (fits nowhere), or `{ nodeNames }` (only these nodes).
   * @example preFilter: (ctx) => (ctx.pod.requests.get('nvidia.com/gpu') > 0 ? { nodeNames: GPU_NODES } : 'skip')
   */
  PreFilterResult,
  /** postFilter's answer: a node to nominate (after making room there) and/or a message for FailedScheduling. */
  PostFilterResult,
  /**
   * permit's answer: allow (`undefined`), a Rejection, `{ wait: { group, timeoutMs } }`, or `{ releaseGroup }`.
   * @example permit: (ctx) => (ctx.pod.labels['hold'] === 'true' ? unresolvable('held by label') : undefined)
   */
  PermitResult,
  /**
   * One node as the scheduler sees it: `name`, `labels`, `taints`, `unschedulable`, `allocatable`
   * and `requested` (committed + this scheduler's in-flight decisions, as ResourceVectors in
   * milli-units: `node.allocatable.get('nvidia.com/gpu')` is 8000 for 8 GPUs), `pods`, `node` (the Node object).
   */
  NodeInfo,
  /** One pod's facts, computed once: `key`, `namespace`, `name`, `labels`, `priority`, `requests` (milli-units), `hostPorts`, `group`, and `pod` itself. */
  PodInfo,
  /** A pod in the queue (QueueSort's `less` compares two): `podInfo`, `timestamp`, `attempts`. */
  QueuedPodInfo,
  /** One scheduling attempt of one pod: `ctx.pod`, and `ctx.write/read(StateKey)` for state shared between extension points. */
  CycleContext,
  /** Why a pod fits nowhere, node by node (`nodeStatus`), and the FailedScheduling `message()`. */
  Diagnosis,
} from './framework/plugin.js';

export {
  /**
   * A typed slot in a cycle's state: write it in preFilter/preScore, read it in filter/score.
   * @example
   * const WANT = new StateKey<number>('GpuPacking/want');
   * // preScore(ctx) { ctx.write(WANT, ctx.pod.requests.get('nvidia.com/gpu')); }
   * // score(ctx, node) { const want = ctx.read(WANT) ?? 0; … }
   */
  StateKey,
} from './framework/cycle.js';

export type {
  /** Resource amounts in milli-units (`cpu`, `memory`, `pods` fields; `get(name)` for any resource). */
  ResourceVector,
} from './cache/resources.js';

export type {
  /** The Kubernetes objects a plugin reads (`podInfo.pod`, `nodeInfo.node`). */
  Pod,
  Node,
  Taint,
} from '../shared/api/core.js';
export type { PodGroup } from '../shared/api/scheduling.js';
export type { EventSink } from './report/events.js';
export type { Logger } from '../shared/logging.js';

// ---------------------------------------------------------------------------------------------
// Testing a plugin without a cluster

export {
  /**
   * An in-memory cluster that runs a profile's real scheduling cycle: give it nodes, existing pods
   * and a profile (built-in plugin names and/or your factories, or a profile YAML file); its
   * `schedule(pods)` says where each pod would go, and for the others the reasons per node.
   * @example
   * const h = await SchedulerHarness.create({ nodes: [testNode('a'), testNode('b')], profile: { plugins: ['NodeResourcesFit', { factory: create, weight: 10 }] } });
   * expect(h.schedule([testPod('p')]).placed.get('p')).to.equal('a');
   */
  SchedulerHarness,
  /** A Ready node object (4 cpu / 8Gi / 110 pods unless told otherwise; `extra` for GPUs and other extended resources). */
  testNode,
  /** A one-container pod object (100m cpu unless told otherwise); `node` makes it an existing, bound pod. */
  testPod,
} from './testing/harness.js';

export type {
  HarnessOptions,
  HarnessPlugin,
  HarnessEvent,
  PodOutcome,
  ScheduleResult,
  NodeInput,
  PodInput,
  PodGroupInput,
  TestNodeOptions,
  TestPodOptions,
} from './testing/harness.js';
