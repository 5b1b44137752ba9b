// One scheduler: the pipeline every pending pod goes through, top to bottom.
//
//   queue ─▶ PreFilter ─▶ Filter ─▶ (none fit: PostFilter = preemption / gang release ─▶ parked)
//                              └─▶ PreScore/Score ─▶ Reserve (assume) ─▶ Permit ─▶ Bind (commit)
//
// Deciding is synchronous and reads the cache between watch events, so each decision sees one
// consistent state. Binding is asynchronous and batched (commit/committer.ts): while a batch is
// committing, the next pods are decided against the cache plus this scheduler's assumptions.
// Batches go to a Planner (commit/planner.ts): the API server, or an in-memory ledger in tests.
// A commit that loses a race (409) forgets its assumption and the pod goes straight back to the
// queue to be decided again on fresh state; the conflict is counted.
import { performance } from 'node:perf_hooks';
import type { ApiClient } from '../shared/client/http-client.js';
import { errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logging.js';
import { SchedulerCache } from './cache/cache.js';
import type { NodeInfo } from './cache/node-info.js';
import { groupKeyOf } from './cache/pod-info.js';
import { ApiPlanner } from './commit/api-planner.js';
import { Committer } from './commit/committer.js';
import { commitGuard } from './commit/guard.js';
import { conflictReason, type CommitOutcome, type Decision, type Planner } from './commit/planner.js';
import { CycleContext } from './framework/cycle.js';
import { Diagnosis } from './framework/diagnosis.js';
import { Framework, type FilterPlan } from './framework/framework.js';
import { isRejection, type PluginHandle, type PostFilterResult, type Rejection } from './framework/plugin.js';
import { NodeCursor, numFeasibleNodesToFind } from './framework/sampling.js';
import { WaitingGroups } from './framework/waiting.js';
import type { DecisionTime } from './experiment/decision-time.js';
import type { SchedulerMetrics } from './metrics.js';
import { createPlugins, type LoadedProfile } from './profile/profile.js';
import { SchedulingQueue, type QueuedPodInfo } from './queue/scheduling-queue.js';
import type { EventSink } from './report/events.js';
import { PodStatusWriter } from './report/pod-status.js';

export interface SchedulerOptions {
  client: ApiClient;
  schedulerName: string;
  profile: LoadedProfile;
  /** Overrides the profile's conflict mode (--conflict-mode). */
  conflictMode?: 'fine' | 'coarse';
  log: Logger;
  metrics: SchedulerMetrics;
  events: EventSink;
  now?: () => number;
  /** Where decided pods are committed; default the API server (tests: an in-memory ledger). */
  planner?: Planner;
  /** Experiments only: simulated decision time per job and per task (experiment/decision-time.ts). */
  decisionTime?: DecisionTime;
}

/** A FailedScheduling message is repeated at most this often while it stays the same. */
const REPEAT_REPORT_MS = 60_000;

export class Scheduler {
  readonly cache: SchedulerCache;
  readonly conflictMode: 'fine' | 'coarse';
  private queue!: SchedulingQueue;
  private framework!: Framework;
  private readonly committer: Committer;
  private readonly waiting: WaitingGroups;
  private readonly status: PodStatusWriter;
  private readonly cursor = new NodeCursor();
  private readonly profileName: string;
  private readonly now: () => number;
  private running = false;
  private loopDone: Promise<void> | undefined;
  /** Settles once the last stopScheduling() has finished draining. */
  private stopped: Promise<void> = Promise.resolve();

  static async create(opts: SchedulerOptions): Promise<Scheduler> {
    const s = new Scheduler(opts);
    await s.init();
    return s;
  }

  private constructor(private readonly opts: SchedulerOptions) {
    const profile = opts.profile.profile;
    this.profileName = profile.name;
    this.conflictMode = opts.conflictMode ?? profile.conflictMode;
    this.now = opts.now ?? Date.now;
    this.status = new PodStatusWriter(opts.client, opts.log);
    this.cache = new SchedulerCache({
      client: opts.client,
      schedulerName: opts.schedulerName,
      log: opts.log,
      now: this.now,
      coarse: this.conflictMode === 'coarse',
      listener: {
        pendingPodAdded: (p) => this.queue.add(p),
        pendingPodUpdated: (p, relevant) => this.queue.update(p, relevant),
        pendingPodDeleted: (key) => this.queue.delete(key),
        clusterChanged: (ev) => {
          if (ev.kind === 'GroupChanged') return this.queue.moveGroup(ev.group);
          // QueueingHints: wake only the parked pods this kind of change may help.
          const skipped = this.queue.moveAllToActiveOrBackoff((q) => this.framework.mayHelp(q.rejectedBy, ev.kind));
          if (skipped > 0) opts.metrics.queueHintSkips.inc({ event: ev.kind }, skipped);
        },
      },
    });
    this.waiting = new WaitingGroups((d, message) => {
      this.undo(d, message);
      this.unschedulable(d.ctx, message);
      // The room it held is free again: pods parked for want of room may fit now (Kubernetes too
      // moves them when an assumed pod's binding cycle fails). Not the gang's own members, which
      // go through their back-off instead of straight back to holding the same room.
      const group = groupKeyOf(d.ctx.pod);
      this.queue.moveAllToActiveOrBackoff((q) => groupKeyOf(q.podInfo) !== group && this.framework.mayHelp(q.rejectedBy, 'RoomReleased'));
    });
    this.committer = new Committer({
      planner: opts.planner ?? new ApiPlanner(opts.client, this.conflictMode),
      batchSize: profile.batchSize,
      maxInFlight: profile.maxInFlightCommits,
      metrics: opts.metrics,
      log: opts.log,
      onSent: (d) => this.cache.markSent(d.ctx.pod.uid),
      onResult: (d, r) => this.committed(d, r),
    });
  }

  private async init(): Promise<void> {
    const { opts } = this;
    const handle: PluginHandle = {
      schedulerName: opts.schedulerName,
      profileName: this.profileName,
      cluster: this.cache,
      client: opts.client,
      events: opts.events,
      waiting: this.waiting,
      log: opts.log,
      now: this.now,
      filter: (ctx, node) => this.framework.runFilters(ctx, node),
    };
    this.framework = new Framework(await createPlugins(opts.profile, handle), commitGuard(this.conflictMode, this.cache));
    const profile = opts.profile.profile;
    this.queue = new SchedulingQueue({
      less: this.framework.less,
      initialBackoffMs: profile.podInitialBackoffSeconds * 1000,
      maxBackoffMs: profile.podMaxBackoffSeconds * 1000,
      now: this.now,
    });
    opts.metrics.observeQueue(() => this.queue.counts());
  }

  /** Fill the cache (informers listed); pending pods queue up but are not scheduled yet. */
  async start(): Promise<void> {
    await this.cache.start();
  }

  /** Begin taking pods off the queue (at start, or on becoming leader). */
  startScheduling(): void {
    if (this.running) return;
    this.running = true;
    this.loopDone = this.loop();
  }

  /** Stop deciding; pods held at permit go back to the queue, commits in flight finish. */
  stopScheduling(): Promise<void> {
    if (this.running) {
      this.running = false;
      this.queue.interrupt();
      this.stopped = (async () => {
        await this.loopDone;
        this.waiting.rejectAll('the scheduler stopped scheduling');
        await this.committer.drain();
      })();
    }
    return this.stopped;
  }

  async stop(): Promise<void> {
    await this.stopScheduling();
    this.queue.close();
    await this.cache.stop();
    await this.framework.close();
  }

  get scheduling(): boolean {
    return this.running;
  }

  private async loop(): Promise<void> {
    const batch = this.opts.profile.profile.batchSize;
    let decided = 0;
    while (this.running) {
      let q = this.queue.tryPop();
      if (!q) {
        // Nothing ready: send what is batched now rather than wait for a full batch.
        this.committer.flush();
        q = await this.queue.pop();
        if (!q) continue;
      }
      if (!this.running) {
        this.queue.requeue(q, 'active');
        break;
      }
      const began = performance.now();
      const think = this.opts.decisionTime?.costOf(q.podInfo.pod) ?? 0;
      if (think > 0) {
        // Decide on the cache as it is now; commit only once the simulated decision time has passed.
        this.committer.hold();
        this.scheduleOne(q);
        // Waited against the clock, not one timer: Node can fire a timer a millisecond early
        // (its loop clock is read once per turn), and the decision time is a figure experiments rely on.
        const decided = began + think;
        while (performance.now() < decided) {
          await new Promise<void>((resolve) => setTimeout(resolve, Math.ceil(decided - performance.now())));
        }
        this.committer.release();
        this.opts.metrics.busy.inc({ profile: this.profileName }, (performance.now() - began) / 1000);
        continue;
      }
      this.scheduleOne(q);
      this.opts.metrics.busy.inc({ profile: this.profileName }, (performance.now() - began) / 1000);
      if (++decided >= batch || this.committer.saturated) {
        decided = 0;
        this.committer.flush();
        await this.committer.waitForRoom();
        // Let watch events and commit outcomes in between batches of decisions.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The scheduling cycle

  private scheduleOne(q: QueuedPodInfo): void {
    const startedAt = performance.now();
    // The pod may have been bound, deleted or re-created since it was queued.
    const latest = this.cache.latestPod(q.podInfo.key);
    if (!latest || latest.metadata.uid !== q.podInfo.uid || !this.cache.isMine(latest)) {
      this.queue.done(q.podInfo.key);
      return;
    }
    const ctx = new CycleContext(q.podInfo, q, q.cycle);
    try {
      this.decide(ctx, startedAt);
    } catch (err) {
      // A plugin bug, or an object the plugins cannot read: try again later, say why in the log.
      this.opts.log.error('scheduling attempt failed', { pod: q.podInfo.key, error: errorMessage(err) });
      this.cache.forget(q.podInfo.uid);
      this.opts.metrics.attempts.inc({ result: 'error', profile: this.profileName });
      this.opts.metrics.retries.inc({ profile: this.profileName, reason: 'error' });
      this.queue.requeue(q, 'backoff');
    }
  }

  private decide(ctx: CycleContext, startedAt: number): void {
    const nodes = this.cache.nodes();
    const diagnosis = new Diagnosis(nodes.length);

    // 1. PreFilter: per-pod work; may reject the pod outright or narrow the nodes.
    const plan = this.framework.preFilter(ctx, diagnosis);

    // 2. Filter: the nodes the pod may go to (a sample of them in a big cluster).
    const feasible = plan ? this.findFeasible(ctx, plan, nodes, diagnosis) : [];

    // 3. PostFilter: it fits nowhere. Preemption may make room; gang siblings held are released.
    if (feasible.length === 0) {
      // Its first verdict (the event users read, a preemption) must not rest on a node view older
      // than the pod: the node watch may still owe nodes written before it.
      if (ctx.queued.lastMessage === undefined && !this.cache.nodesCurrentAt(ctx.pod.pod.metadata.resourceVersion)) {
        this.awaitNodeView(ctx.queued);
        return;
      }
      const post = plan ? this.framework.postFilter(ctx, diagnosis) : undefined;
      if (post?.nominatedNodeName) this.nominate(ctx, post);
      this.unschedulable(ctx, post?.message ? `${diagnosis.message()} ${post.message}` : diagnosis.message(), startedAt, diagnosis.plugins);
      return;
    }

    // 4. PreScore + Score: the best of them.
    const node = this.framework.selectHost(ctx, feasible);

    // 5. Reserve: from now on the room is this pod's, in this scheduler's eyes.
    const decision: Decision = { ctx, nodeName: node.name, allocationResourceVersion: node.allocationResourceVersion, startedAt };
    this.cache.assume(ctx.pod, node.name);
    const refused = this.framework.reserve(ctx, node);
    if (refused) {
      this.cache.forget(ctx.pod.uid);
      this.unschedulable(ctx, refused.reasons.join(', '), startedAt);
      return;
    }

    // 6. Permit: allow, reject, hold for the rest of a gang, or release a complete gang.
    const permit = this.framework.permit(ctx, node);
    this.opts.metrics.algorithmDuration.observe((performance.now() - startedAt) / 1000);
    if (permit === undefined) {
      // 7. Bind: batched into the next commit.
      this.committer.add(decision);
    } else if (isRejection(permit)) {
      this.undo(decision, permit.reasons.join(', '));
      this.unschedulable(ctx, permit.reasons.join(', '), startedAt);
    } else if ('wait' in permit) {
      this.waiting.hold(permit.wait.group, decision, permit.wait.timeoutMs);
      this.queue.activateGroup(permit.wait.group);
    } else {
      // 7. Bind, all or nothing.
      this.committer.commitGroup([...this.waiting.take(permit.releaseGroup), decision]);
    }
  }

  /** Filter, Kubernetes-style: the nominated node first; then nodes from a rotating offset until enough fit. */
  private findFeasible(ctx: CycleContext, plan: FilterPlan, nodes: readonly NodeInfo[], diagnosis: Diagnosis): NodeInfo[] {
    const nominated = this.cache.nominatedNode(ctx.pod.uid);
    if (nominated !== undefined) {
      const node = this.cache.node(nominated);
      if (node && this.framework.filterNode(ctx, node, plan.filters, new Diagnosis(1))) return [node];
    }
    let candidates = nodes;
    if (plan.nodeNames) {
      const names = plan.nodeNames;
      candidates = nodes.filter((n) => names.has(n.name));
    }
    const total = candidates.length;
    const want = numFeasibleNodesToFind(total, this.opts.profile.profile.percentageOfNodesToScore);
    const start = this.cursor.start(total);
    const feasible: NodeInfo[] = [];
    // framework.filterNode, inlined: this loop runs for hundreds of nodes per decision.
    const { filters, filterFns } = plan;
    const m = filterFns.length;
    let i = 0;
    for (let at = start; i < total && feasible.length < want; i++) {
      const node = candidates[at]!;
      if (++at === total) at = 0;
      let j = 0;
      let r: Rejection | undefined;
      while (j < m && (r = filterFns[j]!(ctx, node)) === undefined) j++;
      if (j === m) feasible.push(node);
      else diagnosis.record(node.name, r!, filters[j]!.name);
    }
    this.cursor.advance(start, i, total);
    if (feasible.length === 0 && plan.nodeNames && plan.narrowedBy) {
      const outside = { reasons: [`node(s) didn't satisfy plugin(s) [${plan.narrowedBy}]`], unresolvable: true };
      for (const n of nodes) if (!plan.nodeNames.has(n.name)) diagnosis.record(n.name, outside, plan.narrowedBy);
    }
    return feasible;
  }

  // ---------------------------------------------------------------------------------------------
  // Outcomes

  /**
   * Decide `q` again once a node list shows the cache current; when it does not, after a back-off
   * in which the node watch catches up. The pod stays in flight meanwhile.
   */
  private awaitNodeView(q: QueuedPodInfo): void {
    this.cache.verifyNodes().then(
      (current) => {
        if (!current) this.opts.log.debug('node cache behind the pod; deciding again after a back-off', { pod: q.podInfo.key });
        this.queue.requeue(q, current ? 'active' : 'backoff');
      },
      (err: unknown) => {
        this.opts.log.warn('could not list nodes to check the node cache', { pod: q.podInfo.key, error: errorMessage(err) });
        this.queue.requeue(q, 'backoff');
      },
    );
  }

  /** Preemption made room somewhere: remember the node for this pod, on the pod too. */
  private nominate(ctx: CycleContext, post: PostFilterResult): void {
    const node = post.nominatedNodeName!;
    if (post.victims) {
      this.opts.metrics.preemptionAttempts.inc();
      this.opts.metrics.preemptionVictims.observe(post.victims);
    }
    if (this.cache.nominatedNode(ctx.pod.uid) === node && ctx.pod.pod.status.nominatedNodeName === node) return;
    this.cache.nominate(ctx.pod, node);
    void this.status.nominate(ctx.pod, node);
  }

  /** It fits nowhere: say so (event + PodScheduled=False), park it until the cluster changes. */
  private unschedulable(ctx: CycleContext, message: string, startedAt?: number, rejectedBy?: ReadonlySet<string>): void {
    const q = ctx.queued;
    // QueueingHints: which changes wake it. Without a diagnosis (a reserve, permit or ledger
    // refusal) the rejecter is unknown, and any change may help.
    q.rejectedBy = rejectedBy;
    const { metrics } = this.opts;
    metrics.attempts.inc({ result: 'unschedulable', profile: this.profileName });
    if (startedAt !== undefined) metrics.e2eDuration.observe({ result: 'unschedulable', profile: this.profileName }, (performance.now() - startedAt) / 1000);
    metrics.retries.inc({ profile: this.profileName, reason: 'unschedulable' });
    const now = this.now();
    if (message !== q.lastMessage || now - q.lastMessageAt >= REPEAT_REPORT_MS) {
      q.lastMessage = message;
      q.lastMessageAt = now;
      const pod = ctx.pod;
      this.opts.events.record({ kind: 'Pod', namespace: pod.namespace, name: pod.name, uid: pod.uid }, 'Warning', 'FailedScheduling', message);
      void this.status.unschedulable(pod, message);
    }
    this.opts.log.debug('unschedulable', { pod: ctx.pod.key, why: message });
    this.queue.requeue(q, 'unschedulable');
  }

  /** Undo Reserve: the room goes back, plugins unreserve. */
  private undo(d: Decision, why: string): void {
    this.cache.forget(d.ctx.pod.uid);
    this.framework.unreserve(d.ctx, d.nodeName, why);
  }

  /** A commit's outcome for one pod. */
  private committed(d: Decision, r: CommitOutcome): void {
    const { metrics } = this.opts;
    const { ctx } = d;
    const q = ctx.queued;
    const pod = ctx.pod;
    const profile = this.profileName;
    switch (r.outcome) {
      case 'Bound': {
        this.cache.markBound(pod.uid);
        this.queue.done(pod.key);
        metrics.attempts.inc({ result: 'scheduled', profile });
        metrics.e2eDuration.observe({ result: 'scheduled', profile }, (performance.now() - d.startedAt) / 1000);
        metrics.podSchedulingDuration.observe(Math.max(0, this.now() - q.initialTimestamp) / 1000);
        metrics.bound.inc({ profile });
        this.opts.events.record({ kind: 'Pod', namespace: pod.namespace, name: pod.name, uid: pod.uid }, 'Normal', 'Scheduled', `Successfully assigned ${pod.key} to ${d.nodeName}`);
        this.framework.postBind(ctx, d.nodeName);
        if (pod.pod.status.nominatedNodeName) void this.status.nominate(pod, '');
        return;
      }
      case 'Conflict':
        metrics.conflicts.inc({ profile, reason: conflictReason(r.reason), mode: this.conflictMode });
        this.undo(d, r.message);
        this.opts.log.debug('commit conflict', { pod: pod.key, node: d.nodeName, reason: r.reason, why: r.message });
        if (r.reason === 'PodTaken' || r.reason === 'PodChanged') {
          // Another replica bound it, or it is going away: nothing left to do for this pod.
          this.queue.done(pod.key);
          return;
        }
        if (r.allocationResourceVersion !== undefined && r.allocationResourceVersion === d.allocationResourceVersion) {
          // Refused on the very ledger this decision read: the view was not stale, the server's
          // fit rule is stricter than this profile's (e.g. NodeResourcesFit ignoredResources).
          // The node stays trusted for other pods; this one waits for the cluster to change, and
          // its FailedScheduling event says why.
          this.unschedulable(ctx, `node ${d.nodeName} refused it on the ledger this scheduler read: ${r.message}`, d.startedAt);
          return;
        }
        // Lost a race for the node: its ledger moved under us. Decide again against fresh state.
        this.cache.markStale(d.nodeName, d.allocationResourceVersion);
        metrics.retries.inc({ profile, reason: 'conflict' });
        this.queue.requeue(q, 'active');
        return;
      case 'NotFound':
      case 'Skipped':
        // The pod or node is gone, or a gang sibling failed: decide again (a gone pod is dropped).
        this.undo(d, r.message);
        metrics.retries.inc({ profile, reason: r.outcome === 'Skipped' ? 'gang' : 'not-found' });
        this.queue.requeue(q, 'active');
        return;
      case 'Invalid':
      case 'Error':
        this.undo(d, r.message);
        metrics.attempts.inc({ result: 'error', profile });
        metrics.retries.inc({ profile, reason: 'error' });
        this.opts.log.warn('commit failed', { pod: pod.key, node: d.nodeName, outcome: r.outcome, why: r.message });
        this.queue.requeue(q, 'backoff');
        return;
    }
  }
}
