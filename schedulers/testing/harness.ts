// Test a plugin without a cluster: nodes, pods and a profile in memory, run through the same
// Framework (preFilter, filter, postFilter, score, reserve, permit, postBind), NodeInfo and PodInfo
// code the cell-scheduler daemon runs, with the same node sampling and the same diagnosis. What it
// leaves out is what needs a cluster: there is no API server (a plugin's API calls fail, and are
// listed in `apiRequests`), no watch, no commit and so no 409, and each pod is tried once, in
// QueueSort order, instead of being retried as the cluster changes. For that, run the Scheduler
// itself on a MemoryCluster (memory-cluster.ts) with a MemoryPlanner (memory-planner.ts): watches,
// ledger-checked commits, evictions and retries, all in memory.
import type { Pod, PodInput } from '../../shared/api/core.js';
import { NodeSchema, PodSchema } from '../../shared/api/core.js';
import { PodGroupSchema, type PodGroup } from '../../shared/api/scheduling.js';
import { ApiClient, type RequestOptions } from '../../shared/client/http-client.js';
import { UnavailableError } from '../../shared/errors.js';
import { createLogger, type LogLevel } from '../../shared/logging.js';
import { NodeInfo } from '../cache/node-info.js';
import { podInfoOf, type PodInfo } from '../cache/pod-info.js';
import { commitGuard } from '../commit/guard.js';
import { CycleContext } from '../framework/cycle.js';
import { Diagnosis } from '../framework/diagnosis.js';
import { Framework, type WeightedPlugin } from '../framework/framework.js';
import { isRejection, type ClusterView, type NodeCounts, type PluginFactory, type PluginHandle, type WaitingPods } from '../framework/plugin.js';
import { BUILTIN_PLUGINS } from '../framework/registry.js';
import { NodeCursor, numFeasibleNodesToFind } from '../framework/sampling.js';
import { createPlugins, loadProfile } from '../profile/profile.js';
import type { QueuedPodInfo } from '../queue/scheduling-queue.js';
import { seededRandom } from '../../shared/seeded-random.js';

/** A Node as you would write it in YAML (defaults are applied, as the API server would). */
export type NodeInput = Parameters<typeof NodeSchema.parse>[0];
/** A PodGroup as you would write it in YAML. */
export type PodGroupInput = Parameters<typeof PodGroupSchema.parse>[0];
export type { PodInput };

/** One plugin of an in-memory profile: a built-in by name, or your factory. */
export type HarnessPlugin =
  | string
  | { readonly name: string; readonly weight?: number; readonly args?: Record<string, unknown> }
  | { readonly factory: PluginFactory; readonly weight?: number; readonly args?: Record<string, unknown> };

export interface HarnessOptions {
  /** The nodes. */
  nodes: readonly NodeInput[];
  /** Pods already running: each with `spec.nodeName` set, holding its requests there (the node's allocation). */
  existing?: readonly PodInput[];
  podGroups?: readonly PodGroupInput[];
  /**
   * A profile YAML file (loaded as `cell-scheduler --profile=FILE` loads it, plugin modules too),
   * or the plugins in profile order. Like a profile, it needs exactly one QueueSort plugin; an
   * in-memory list without one gets PrioritySort first, as every shipped profile has.
   */
  profile: string | { readonly plugins: readonly HarnessPlugin[]; readonly percentageOfNodesToScore?: number };
  /** Seeds ties between equal nodes and the sampling offset (default 1: runs repeat). */
  seed?: number;
  /** The plugins' logger level (default `silent`). */
  logLevel?: LogLevel;
  now?: () => number;
}

/** Where one pod went, or why it went nowhere. */
export interface PodOutcome {
  /** `namespace/name`. */
  readonly pod: string;
  /** The node it would be bound to. */
  readonly node?: string;
  /** When it fits nowhere: the FailedScheduling message ("0/3 nodes are available: …"). */
  readonly message?: string;
  /** When it fits nowhere: each rejecting node's reasons, by node name (from the cycle's Diagnosis). */
  readonly reasons?: ReadonlyMap<string, readonly string[]>;
  /** The cycle's Diagnosis itself, for anything `reasons` leaves out. */
  readonly diagnosis?: Diagnosis;
  /** A postFilter (preemption) nominated this node; the victims are not evicted here. */
  readonly nominatedNodeName?: string;
}

export interface ScheduleResult {
  /** One per pod, in the order the queue handed them out. */
  readonly outcomes: readonly PodOutcome[];
  /** `namespace/name` (or just `name` for namespace `default`) → node, for the pods placed. */
  readonly placed: ReadonlyMap<string, string>;
  /** The outcome of the pods that fit nowhere, by `namespace/name` (and `name` for `default`). */
  readonly unschedulable: ReadonlyMap<string, PodOutcome>;
}

/** A recorded event (what the daemon would write as a Kubernetes Event). */
export interface HarnessEvent {
  readonly object: string;
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
}

/** An ApiClient with no server behind it: every call fails at once and is remembered. */
class OfflineClient extends ApiClient {
  readonly calls: string[] = [];

  constructor() {
    super({ servers: ['http://in-memory-harness.invalid'], retries: 0 });
  }

  override request<T>(method: string, path: string, _opts?: RequestOptions): Promise<T> {
    return Promise.reject(this.refuse(`${method} ${path}`));
  }

  override stream(path: string): Promise<ReadableStream<Uint8Array>> {
    return Promise.reject(this.refuse(`GET ${path} (stream)`));
  }

  override watch(): Promise<void> {
    return Promise.reject(this.refuse('WATCH'));
  }

  private refuse(call: string): UnavailableError {
    this.calls.push(call);
    return new UnavailableError(`the in-memory scheduler harness has no API server (${call})`);
  }
}

/**
 * An in-memory cluster and one scheduler profile. `schedule(pods)` decides each pod the way the
 * daemon does and counts the pods it places, so later pods see them.
 *
 * @example
 * const h = await SchedulerHarness.create({
 *   nodes: [testNode('a', { cpu: '4' }), testNode('b', { cpu: '2' })],
 *   profile: { plugins: ['NodeResourcesFit', { factory: myPlugin, weight: 5 }] },
 * });
 * const r = h.schedule([testPod('web', { cpu: '1' })]);
 * expect(r.placed.get('web')).to.equal('a');
 */
export class SchedulerHarness implements ClusterView {
  /** Events the plugins recorded. */
  readonly events: HarnessEvent[] = [];
  private readonly nodeList: NodeInfo[] = [];
  private readonly nodeMap = new Map<string, NodeInfo>();
  private readonly groups = new Map<string, PodGroup>();
  private readonly pending: Pod[] = [];
  private readonly nominatedOn = new Map<string, string>();
  private readonly held = new Map<string, { ctx: CycleContext; node: NodeInfo }[]>();
  private readonly client = new OfflineClient();
  private framework!: Framework;
  private percentage = 0;
  private readonly random: () => number;
  private readonly cursor: NodeCursor;
  private revision = 1;
  private cycle = 0;
  private uid = 0;
  private created = Date.UTC(2026, 0, 1);

  static async create(opts: HarnessOptions): Promise<SchedulerHarness> {
    const h = new SchedulerHarness(opts);
    await h.init(opts);
    return h;
  }

  private constructor(opts: HarnessOptions) {
    this.random = seededRandom(opts.seed ?? 1);
    this.cursor = new NodeCursor(this.random);
    for (const input of opts.nodes) {
      const node = NodeSchema.parse(input);
      const name = node.metadata.name ?? '';
      if (this.nodeMap.has(name)) throw new Error(`node ${name} is listed twice`);
      const info = new NodeInfo(name, node);
      this.nodeList.push(info);
      this.nodeMap.set(name, info);
    }
    for (const input of opts.podGroups ?? []) {
      const g = PodGroupSchema.parse(input);
      this.groups.set(`${g.metadata.namespace ?? 'default'}/${g.metadata.name ?? ''}`, g);
    }
    for (const input of opts.existing ?? []) {
      const pod = this.admit(input);
      const nodeName = pod.spec.nodeName;
      if (!nodeName) throw new Error(`existing pod ${pod.metadata.name ?? ''} has no spec.nodeName`);
      const node = this.nodeMap.get(nodeName);
      if (!node) throw new Error(`existing pod ${pod.metadata.name ?? ''} is on node ${nodeName}, which is not listed`);
      this.bindTo(node, podInfoOf(pod));
    }
  }

  private async init(opts: HarnessOptions): Promise<void> {
    const handle: PluginHandle = {
      schedulerName: 'harness',
      profileName: typeof opts.profile === 'string' ? opts.profile : 'harness',
      cluster: this,
      client: this.client,
      events: {
        record: (involved, type, reason, message) => {
          this.events.push({ object: `${involved.kind}/${involved.namespace ? `${involved.namespace}/` : ''}${involved.name}`, type, reason, message });
        },
      },
      waiting: this.waitingPods(),
      log: createLogger('harness', opts.logLevel ?? 'silent'),
      now: opts.now ?? Date.now,
      filter: (ctx, node) => this.framework.runFilters(ctx, node),
    };
    let plugins: WeightedPlugin[];
    if (typeof opts.profile === 'string') {
      const loaded = loadProfile(opts.profile);
      this.percentage = loaded.profile.percentageOfNodesToScore;
      plugins = await createPlugins(loaded, handle);
    } else {
      this.percentage = opts.profile.percentageOfNodesToScore ?? 0;
      plugins = [];
      for (const spec of opts.profile.plugins) {
        const s = typeof spec === 'string' ? { name: spec } : spec;
        const factory = 'factory' in s ? s.factory : BUILTIN_PLUGINS.get(s.name);
        if (!factory) throw new Error(`unknown plugin "${'name' in s ? s.name : ''}"; built-in plugins: ${[...BUILTIN_PLUGINS.keys()].join(', ')}`);
        plugins.push({ plugin: await factory(s.args ?? {}, handle), weight: s.weight ?? 1 });
      }
      if (!plugins.some((p) => p.plugin.less)) plugins.unshift({ plugin: await BUILTIN_PLUGINS.get('PrioritySort')!({}, handle), weight: 1 });
      const names = new Set<string>();
      for (const { plugin } of plugins) {
        if (names.has(plugin.name)) throw new Error(`plugin ${plugin.name} is listed twice`);
        names.add(plugin.name);
      }
    }
    // The daemon's commit guard as well: it never rejects here (no node is ever stale without a
    // commit), but the filter chain is then the daemon's, guard first.
    this.framework = new Framework(plugins, commitGuard('fine', { hasStaleNodes: () => false }), this.random);
  }

  /** API calls the plugins tried (they all failed: there is no server), e.g. `DELETE /api/v1/namespaces/default/pods/victim`. */
  get apiRequests(): readonly string[] {
    return this.client.calls;
  }

  /**
   * Decide each pod once, in QueueSort order, as the daemon would with this cluster: a pod placed
   * takes its room on the node (later pods see it); a pod held at permit waits for its group.
   */
  schedule(pods: readonly PodInput[]): ScheduleResult {
    const admitted = pods.map((p) => this.admit(p));
    for (const p of admitted) {
      if (p.spec.nodeName) throw new Error(`pod ${p.metadata.name ?? ''} is bound already; pass it as \`existing\``);
    }
    this.pending.push(...admitted);
    const queue: QueuedPodInfo[] = admitted.map((pod, i) => {
      const podInfo = podInfoOf(pod);
      return { podInfo, timestamp: i, initialTimestamp: i, attempts: 1, cycle: 0, backoffExpiry: 0, unschedulableSince: 0, lastMessage: undefined, lastMessageAt: 0, rejectedBy: undefined };
    });
    const { less } = this.framework;
    queue.sort((a, b) => (less(a, b) ? -1 : less(b, a) ? 1 : 0));
    const outcomes = new Map<string, PodOutcome>();
    for (const q of queue) {
      q.cycle = ++this.cycle;
      for (const o of this.decide(new CycleContext(q.podInfo, q, q.cycle))) outcomes.set(o.pod, o);
    }
    // Pods still held at permit: their group never completed (the daemon would time them out).
    for (const [group, held] of this.held) {
      for (const { ctx, node } of held) {
        this.undo(ctx, node.name, 'group incomplete');
        outcomes.set(ctx.pod.key, { pod: ctx.pod.key, message: `waiting at permit for group ${group}, which did not complete` });
      }
    }
    this.held.clear();
    this.pending.length = 0;
    const ordered = queue.map((q) => outcomes.get(q.podInfo.key)!);
    const placed = new Map<string, string>();
    const unschedulable = new Map<string, PodOutcome>();
    for (const o of ordered) {
      const keys = o.pod.startsWith('default/') ? [o.pod, o.pod.slice('default/'.length)] : [o.pod];
      for (const k of keys) {
        if (o.node !== undefined) placed.set(k, o.node);
        else unschedulable.set(k, o);
      }
    }
    return { outcomes: ordered, placed, unschedulable };
  }

  /** One scheduling cycle, as Scheduler.decide: the outcomes it settles (a gang release settles several). */
  private decide(ctx: CycleContext): PodOutcome[] {
    const diagnosis = new Diagnosis(this.nodeList.length);
    const plan = this.framework.preFilter(ctx, diagnosis);
    let feasible: NodeInfo[] = [];
    if (plan) {
      const nominated = this.nominatedOn.get(ctx.pod.uid);
      const nominatedNode = nominated === undefined ? undefined : this.nodeMap.get(nominated);
      if (nominatedNode && this.framework.filterNode(ctx, nominatedNode, plan.filters, new Diagnosis(1))) feasible = [nominatedNode];
      else {
        const names = plan.nodeNames;
        const candidates = names ? this.nodeList.filter((n) => names.has(n.name)) : this.nodeList;
        const total = candidates.length;
        const want = numFeasibleNodesToFind(total, this.percentage);
        const start = this.cursor.start(total);
        let i = 0;
        for (let at = start; i < total && feasible.length < want; i++) {
          const node = candidates[at]!;
          if (++at === total) at = 0;
          if (this.framework.filterNode(ctx, node, plan.filters, diagnosis)) feasible.push(node);
        }
        this.cursor.advance(start, i, total);
        if (feasible.length === 0 && names && plan.narrowedBy) {
          const outside = { reasons: [`node(s) didn't satisfy plugin(s) [${plan.narrowedBy}]`], unresolvable: true };
          for (const n of this.nodeList) if (!names.has(n.name)) diagnosis.record(n.name, outside, plan.narrowedBy);
        }
      }
    }
    if (feasible.length === 0) {
      const post = plan ? this.framework.postFilter(ctx, diagnosis) : undefined;
      if (post?.nominatedNodeName) this.nominate(ctx.pod, post.nominatedNodeName);
      const reasons = new Map<string, readonly string[]>();
      for (const [name, r] of diagnosis.nodeStatus) reasons.set(name, r.reasons);
      if (diagnosis.preFilterRejection) for (const n of this.nodeList) reasons.set(n.name, diagnosis.preFilterRejection.reasons);
      return [{
        pod: ctx.pod.key,
        message: post?.message ? `${diagnosis.message()} ${post.message}` : diagnosis.message(),
        reasons,
        diagnosis,
        ...(post?.nominatedNodeName ? { nominatedNodeName: post.nominatedNodeName } : {}),
      }];
    }
    const node = this.framework.selectHost(ctx, feasible);
    node.assume(ctx.pod);
    this.clearNomination(ctx.pod.uid);
    const refused = this.framework.reserve(ctx, node);
    if (refused) {
      node.forget(ctx.pod.uid);
      return [{ pod: ctx.pod.key, message: refused.reasons.join(', ') }];
    }
    const permit = this.framework.permit(ctx, node);
    if (permit === undefined) return [this.bind(ctx, node)];
    if (isRejection(permit)) {
      this.undo(ctx, node.name, permit.reasons.join(', '));
      return [{ pod: ctx.pod.key, message: permit.reasons.join(', ') }];
    }
    if ('wait' in permit) {
      const held = this.held.get(permit.wait.group) ?? [];
      held.push({ ctx, node });
      this.held.set(permit.wait.group, held);
      return [];
    }
    const group = this.held.get(permit.releaseGroup) ?? [];
    this.held.delete(permit.releaseGroup);
    return [...group, { ctx, node }].map((d) => this.bind(d.ctx, d.node));
  }

  /** The commit, as if it succeeded: the pod is bound on `node` (the daemon's postBind follows). */
  private bind(ctx: CycleContext, node: NodeInfo): PodOutcome {
    node.forget(ctx.pod.uid);
    this.bindTo(node, podInfoOf({ ...ctx.pod.pod, spec: { ...ctx.pod.pod.spec, nodeName: node.name } }));
    const i = this.pending.findIndex((p) => p.metadata.uid === ctx.pod.uid);
    if (i >= 0) this.pending.splice(i, 1);
    this.framework.postBind(ctx, node.name);
    return { pod: ctx.pod.key, node: node.name };
  }

  /** Count a bound pod on its node, as the cache does for a pod whose bind the ledger has not shown yet. */
  private bindTo(node: NodeInfo, pod: PodInfo): void {
    node.assume(pod);
    node.addBoundPod(pod, ++this.revision);
  }

  private undo(ctx: CycleContext, nodeName: string, why: string): void {
    this.nodeMap.get(nodeName)?.forget(ctx.pod.uid);
    this.framework.unreserve(ctx, nodeName, why);
  }

  private nominate(pod: PodInfo, nodeName: string): void {
    this.clearNomination(pod.uid);
    const node = this.nodeMap.get(nodeName);
    if (!node) return;
    node.addNominated(pod);
    this.nominatedOn.set(pod.uid, nodeName);
  }

  private clearNomination(uid: string): void {
    const name = this.nominatedOn.get(uid);
    if (name === undefined) return;
    this.nominatedOn.delete(uid);
    this.nodeMap.get(name)?.removeNominated(uid);
  }

  private waitingPods(): WaitingPods {
    return {
      count: (group) => this.held.get(group)?.length ?? 0,
      reject: (group, message) => {
        for (const { ctx, node } of this.held.get(group) ?? []) this.undo(ctx, node.name, message);
        this.held.delete(group);
      },
    };
  }

  /** Validate and default a pod as the API server would, and give it what the server assigns. */
  private admit(input: PodInput): Pod {
    const pod = PodSchema.parse(input);
    pod.metadata.namespace ??= 'default';
    pod.metadata.uid ??= `harness-uid-${++this.uid}`;
    pod.metadata.creationTimestamp ??= new Date((this.created += 1000)).toISOString();
    return pod;
  }

  // ---------------------------------------------------------------------------------------------
  // ClusterView: what plugins see through handle.cluster

  nodes(): readonly NodeInfo[] {
    return this.nodeList;
  }

  node(name: string): NodeInfo | undefined {
    return this.nodeMap.get(name);
  }

  podGroup(namespace: string, name: string): PodGroup | undefined {
    return this.groups.get(`${namespace}/${name}`);
  }

  groupMembers(namespace: string, group: string): readonly Pod[] {
    const bound = this.nodeList.flatMap((n) => [...n.pods.values()].filter((p) => p.pod.spec.nodeName).map((p) => p.pod));
    return [...bound, ...this.pending].filter((p) => p.metadata.namespace === namespace && p.metadata.labels?.['scheduling.x-k8s.io/pod-group'] === group);
  }

  *podsWithRequiredAntiAffinity(): Iterable<{ readonly pod: PodInfo; readonly nodeName: string }> {
    for (const n of this.nodeList) {
      for (const p of n.pods.values()) {
        if (p.pod.spec.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.length) yield { pod: p, nodeName: n.name };
      }
    }
  }

  nominatedNode(podUid: string): string | undefined {
    return this.nominatedOn.get(podUid);
  }

  nodeCounts(): NodeCounts {
    let tainted = 0;
    let cordoned = 0;
    for (const n of this.nodeList) {
      if (n.taints.some((t) => t.effect !== 'PreferNoSchedule')) tainted++;
      if (n.unschedulable) cordoned++;
    }
    return { tainted, cordoned };
  }
}

/** What `testNode` fills in; anything else, write the Node yourself. */
export interface TestNodeOptions {
  cpu?: string;
  memory?: string;
  pods?: string;
  /** Extended resources, e.g. `{ 'nvidia.com/gpu': '8' }`. */
  extra?: Record<string, string>;
  labels?: Record<string, string>;
  taints?: { key: string; value?: string; effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute' }[];
  unschedulable?: boolean;
}

/** A Ready node, 4 cpu / 8Gi / 110 pods unless told otherwise. */
export function testNode(name: string, o: TestNodeOptions = {}): NodeInput {
  const resources = { cpu: o.cpu ?? '4', memory: o.memory ?? '8Gi', pods: o.pods ?? '110', ...(o.extra ?? {}) };
  return {
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...(o.labels ?? {}) } },
    spec: { ...(o.taints ? { taints: o.taints } : {}), ...(o.unschedulable ? { unschedulable: true } : {}) },
    status: { capacity: resources, allocatable: resources, conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

/** What `testPod` fills in; `spec` is merged over the rest. */
export interface TestPodOptions {
  namespace?: string;
  cpu?: string;
  memory?: string;
  /** Extended resource requests, e.g. `{ 'nvidia.com/gpu': '2' }`. */
  extra?: Record<string, string>;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  priority?: number;
  /** Bound to this node (for `existing`). */
  node?: string;
  spec?: Partial<PodInput['spec']>;
}

/** A one-container pod requesting 100m cpu unless told otherwise. */
export function testPod(name: string, o: TestPodOptions = {}): PodInput {
  const requests: Record<string, string> = { cpu: o.cpu ?? '100m', ...(o.memory ? { memory: o.memory } : {}), ...(o.extra ?? {}) };
  return {
    metadata: {
      name,
      ...(o.namespace ? { namespace: o.namespace } : {}),
      ...(o.labels ? { labels: o.labels } : {}),
      ...(o.annotations ? { annotations: o.annotations } : {}),
    },
    spec: {
      containers: [{ name: 'main', image: 'busybox', resources: { requests } }],
      ...(o.priority !== undefined ? { priority: o.priority } : {}),
      ...(o.node ? { nodeName: o.node } : {}),
      ...(o.spec ?? {}),
    },
  };
}
