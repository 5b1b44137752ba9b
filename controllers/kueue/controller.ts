// The queue controller (`kueue` in --controllers): Kueue's job integration, admission cycles,
// preemption and queue status, for the kueue.x-k8s.io/v1beta1 kinds cell serves. One work queue,
// keys by concern:
//   job:<ns>/<name>   a queued Job and its Workload (jobs.ts)
//   wl:<ns>/<name>    a Workload that cannot queue (no LocalQueue, no or inactive ClusterQueue,
//                     namespace not selected) says why; a deactivated one is evicted
//   admit:<cohort>    one admission cycle of a cohort, or `admit:/<cq>` of a queue in none (admission.ts)
//   cq:<name>, lq:<ns>/<name>   queue status and metrics (status.ts, metrics.ts)
// Correctness never rests on being the only instance: admissions are refused by the API server's
// ledger when they no longer fit, and every other write is guarded by the resourceVersion read.
import { isDeepStrictEqual } from 'node:util';
import type { Job } from '../../shared/api/batch.js';
import type { Namespace, Pod } from '../../shared/api/core.js';
import { hasQuotaReservation, type ClusterQueue, type LocalQueue, type ResourceFlavor, type Workload } from '../../shared/api/kueue.js';
import type { PodDisruptionBudget } from '../../shared/api/policy.js';
import type { EventRecorder } from '../../shared/client/events.js';
import type { ApiClient } from '../../shared/client/http-client.js';
import type { Informer } from '../../shared/client/informer.js';
import { selects } from '../../shared/disruption-budget.js';
import { ConflictError, NotFoundError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logging.js';
import { Quantity } from '../../shared/quantity.js';
import { addFlavorAmounts, amountOf, recordedUsage, workloadCharge, type FlavorAmounts } from '../../shared/queue-fit.js';
import type { Controller, ControllerContext, ControllerDefinition } from '../controller.js';
import { WorkQueue } from '../work-queue.js';
import { AdmissionCycle } from './admission.js';
import { CLUSTER_QUEUES, JOBS, LOCAL_QUEUES, NAMESPACES, PDBS, PODS, RESOURCE_FLAVORS, WORKLOADS } from './api-refs.js';
import { weightedShare } from './fair-sharing.js';
import { JobIntegration, POD_BY_JOB_UID, WORKLOAD_BY_JOB_UID, jobUidOfPod, jobUidOfWorkload } from './jobs.js';
import { kueueMetrics, type KueueMetrics } from './metrics.js';
import { cycleKeyOf, isPending, QueueManager } from './queue-manager.js';
import { clusterQueueStatusPatch, localQueueStatusPatch, type LocalQueueTarget, type QueueCounts } from './status.js';
import { controllerRef, isJobRef, isTerminal } from '../job/pods.js';
import { queueNameOf } from './workload-from-job.js';
import { EVICTED_BY_DEACTIVATION, isEvicted } from './workload-status.js';
import { WorkloadView } from './workload-view.js';
import { WorkloadWrites } from './workload-writes.js';

export const KUEUE_CONTROLLER = 'kueue';

export interface KueueControllerOptions {
  workers?: number;
  /** Every admission cycle and queue status is revisited this often, whatever the events (default 30 s). */
  resyncMs?: number;
  /** Coalescing of status work after a burst of events (default 100 ms). */
  statusDelayMs?: number;
}

function nsKey(obj: { metadata: { namespace?: string; name?: string } }): string {
  return `${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}`;
}

function split(key: string): [string, string] {
  const slash = key.indexOf('/');
  return [key.slice(0, slash), key.slice(slash + 1)];
}

export class KueueController implements Controller {
  readonly name = KUEUE_CONTROLLER;
  private readonly client: ApiClient;
  private readonly log: Logger;
  private readonly jobs: Informer<Job>;
  private readonly pods: Informer<Pod>;
  private readonly workloads: Informer<Workload>;
  private readonly clusterQueues: Informer<ClusterQueue>;
  private readonly localQueues: Informer<LocalQueue>;
  private readonly flavors: Informer<ResourceFlavor>;
  private readonly namespaces: Informer<Namespace>;
  private readonly pdbs: Informer<PodDisruptionBudget>;
  private readonly view: WorkloadView;
  private readonly queues: QueueManager;
  private readonly writes: WorkloadWrites;
  private readonly cycle: AdmissionCycle;
  private readonly integration: JobIntegration;
  private readonly metrics: KueueMetrics;
  private readonly queue: WorkQueue;
  private readonly conflicts = new Map<string, number>();
  /** Per ClusterQueue, the per-resource metric series last reported (to remove those that go). */
  private readonly resourceSeries = new Map<string, ResourceSeries[]>();
  private readonly resyncMs: number;
  private readonly statusDelayMs: number;
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(ctx: ControllerContext, opts: KueueControllerOptions = {}) {
    this.client = ctx.client;
    this.log = ctx.log;
    this.resyncMs = opts.resyncMs ?? 30_000;
    this.statusDelayMs = opts.statusDelayMs ?? 100;
    this.jobs = ctx.informers.get<Job>(JOBS);
    this.pods = ctx.informers.get<Pod>(PODS);
    this.workloads = ctx.informers.get<Workload>(WORKLOADS);
    this.clusterQueues = ctx.informers.get<ClusterQueue>(CLUSTER_QUEUES);
    this.localQueues = ctx.informers.get<LocalQueue>(LOCAL_QUEUES);
    this.flavors = ctx.informers.get<ResourceFlavor>(RESOURCE_FLAVORS);
    this.namespaces = ctx.informers.get<Namespace>(NAMESPACES);
    this.pdbs = ctx.informers.get<PodDisruptionBudget>(PDBS);
    this.metrics = kueueMetrics(ctx.registry);
    this.view = new WorkloadView(this.workloads);
    this.queues = new QueueManager(this.localQueues, this.clusterQueues, this.flavors, this.namespaces);
    const admissionEvents: EventRecorder = ctx.events('kueue-admission');
    this.writes = new WorkloadWrites(this.client, this.view, admissionEvents, this.metrics);
    const now = () => new Date();
    this.cycle = new AdmissionCycle({ view: this.view, queues: this.queues, writes: this.writes, metrics: this.metrics, log: this.log, disruptable: (wl) => this.disruptable(wl), now });
    this.integration = new JobIntegration({
      client: this.client,
      jobs: this.jobs,
      pods: this.pods,
      view: this.view,
      writes: this.writes,
      events: ctx.events('kueue-job-controller'),
      flavors: () => this.queues.flavorMap(),
      log: this.log,
      now,
    });
    this.queue = new WorkQueue({ name: KUEUE_CONTROLLER, sync: (key) => this.sync(key), log: this.log, workers: opts.workers ?? 5, metrics: ctx.queueMetrics });
  }

  start(): void {
    this.running = true;
    this.workloads.addIndex(WORKLOAD_BY_JOB_UID, jobUidOfWorkload);
    this.pods.addIndex(POD_BY_JOB_UID, jobUidOfPod);
    this.jobs.addHandlers({
      add: (job) => this.onJob(job),
      update: (_old, job) => this.onJob(job),
    });
    this.pods.addHandlers({
      update: (old, pod) => {
        if (!isTerminal(old) && isTerminal(pod)) this.onPodGone(pod);
      },
      delete: (pod) => this.onPodGone(pod),
    });
    this.workloads.addHandlers({
      add: (wl) => this.onWorkload(undefined, wl),
      update: (old, wl) => this.onWorkload(old, wl),
      delete: (wl) => {
        this.view.deleted(wl);
        this.onWorkload(wl, undefined);
      },
    });
    this.clusterQueues.addHandlers({
      add: (cq) => this.onClusterQueue(undefined, cq),
      update: (old, cq) => this.onClusterQueue(old, cq),
      delete: (cq) => this.onClusterQueue(cq, undefined),
    });
    this.localQueues.addHandlers({
      add: (lq) => this.onLocalQueue(lq),
      update: (old, lq) => {
        this.onLocalQueue(old);
        this.onLocalQueue(lq);
      },
      delete: (lq) => this.onLocalQueue(lq),
    });
    const everything = () => this.requeueEverything();
    this.flavors.addHandlers({ add: everything, update: everything, delete: everything });
    this.namespaces.addHandlers({
      add: (ns) => this.onNamespace(ns),
      update: (old, ns) => {
        if (!isDeepStrictEqual(old.metadata.labels, ns.metadata.labels)) this.onNamespace(ns);
      },
    });
    const informers = [this.jobs, this.pods, this.workloads, this.clusterQueues, this.localQueues, this.flavors, this.namespaces, this.pdbs];
    // Deciding on half-listed caches would admit against quota not yet seen.
    void Promise.all(informers.map((i) => i.hasSynced())).then(() => {
      if (!this.running) return;
      this.queue.start();
      this.requeueEverything();
      for (const job of this.jobs.list()) this.onJob(job);
      this.timer = setInterval(() => this.resync(), this.resyncMs);
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.queue.stop();
  }

  // -------------------------------------------------------------------------------------------
  // Events → keys

  private onJob(job: Job): void {
    if (queueNameOf(job) !== undefined) this.queue.add(`job:${nsKey(job)}`);
  }

  private onPodGone(pod: Pod): void {
    const ref = controllerRef(pod);
    if (!isJobRef(ref)) return;
    const job = this.jobs.get(pod.metadata.namespace, ref.name);
    if (job && job.metadata.uid === ref.uid && queueNameOf(job) !== undefined) this.queue.addAfter(`job:${nsKey(job)}`, this.statusDelayMs);
  }

  private onWorkload(old: Workload | undefined, wl: Workload | undefined): void {
    if (wl) this.view.observed(wl);
    const obj = wl ?? old!;
    this.queue.add(`wl:${nsKey(obj)}`);
    for (const ref of obj.metadata.ownerReferences ?? []) {
      if (ref.controller === true && isJobRef(ref)) this.queue.add(`job:${obj.metadata.namespace ?? ''}/${ref.name}`);
    }
    const cqs = new Set<string>();
    for (const w of [old, wl]) {
      if (!w) continue;
      const cq = this.queues.clusterQueueName(w);
      if (cq) cqs.add(cq);
      if (w.spec.queueName) this.statusLater(`lq:${w.metadata.namespace ?? ''}/${w.spec.queueName}`);
    }
    // Quota released (finished, evicted and cleared, deleted): what was set aside may fit now.
    // Quota reserved: queues that may preempt have new candidate victims.
    const held = (w: Workload | undefined) => w !== undefined && hasQuotaReservation(w);
    const released = held(old) && !held(wl);
    const reserved = !held(old) && held(wl);
    for (const name of cqs) {
      const cq = this.clusterQueues.get(undefined, name);
      this.statusLater(`cq:${name}`);
      if (!cq) continue;
      const members = this.queues.membersOf(cycleKeyOf(cq));
      if (released) this.queues.requeueInadmissible(members.map((q) => q.metadata.name ?? ''));
      else if (reserved) this.queues.requeueInadmissible(members.filter(mayPreempt).map((q) => q.metadata.name ?? ''));
      if ((wl && isPending(wl)) || released || reserved) this.queue.add(`admit:${cycleKeyOf(cq)}`);
    }
  }

  private onClusterQueue(old: ClusterQueue | undefined, cq: ClusterQueue | undefined): void {
    const specChanged = !old || !cq || !isDeepStrictEqual(old.spec, cq.spec) || old.metadata.deletionTimestamp !== cq.metadata.deletionTimestamp;
    const ledgerChanged = old !== undefined && cq !== undefined && !isDeepStrictEqual(old.status.flavorsReservation, cq.status.flavorsReservation);
    // The ledger can trail the Workloads this controller sees: a decision taken before it showed
    // a release is taken again once it does.
    const ledgerFell = ledgerChanged && decreased(recordedUsage(old!), recordedUsage(cq!));
    for (const q of [old, cq]) {
      if (!q) continue;
      const cycleKey = cycleKeyOf(q);
      if (ledgerFell) this.queues.requeueInadmissible(this.queues.membersOf(cycleKey).map((m) => m.metadata.name ?? ''));
      if (specChanged) {
        this.queues.requeueInadmissible(this.queues.membersOf(cycleKey).map((m) => m.metadata.name ?? ''));
        this.queues.requeueInadmissible([q.metadata.name ?? '']);
        this.statusLater(`cq:${q.metadata.name ?? ''}`);
      }
      if (specChanged || ledgerChanged) this.queue.add(`admit:${cycleKey}`);
    }
    if (!specChanged) return;
    const name = (cq ?? old)!.metadata.name ?? '';
    for (const lq of this.localQueues.list()) if (lq.spec.clusterQueue === name) this.onLocalQueue(lq);
    // A stopPolicy of HoldAndDrain evicts what the queue holds.
    for (const wl of this.workloads.list()) if (wl.status.admission?.clusterQueue === name) this.queue.add(`wl:${nsKey(wl)}`);
  }

  private onLocalQueue(lq: LocalQueue): void {
    this.statusLater(`lq:${nsKey(lq)}`);
    this.statusLater(`cq:${lq.spec.clusterQueue}`);
    for (const wl of this.workloads.list()) {
      if (wl.metadata.namespace === lq.metadata.namespace && wl.spec.queueName === lq.metadata.name) this.queue.add(`wl:${nsKey(wl)}`);
    }
    const cq = this.clusterQueues.get(undefined, lq.spec.clusterQueue);
    if (cq) this.queue.add(`admit:${cycleKeyOf(cq)}`);
  }

  private onNamespace(ns: Namespace): void {
    for (const wl of this.workloads.list()) if (wl.metadata.namespace === ns.metadata.name && isPending(wl)) this.queue.add(`wl:${nsKey(wl)}`);
    for (const cq of this.clusterQueues.list()) this.queue.add(`admit:${cycleKeyOf(cq)}`);
  }

  private requeueEverything(): void {
    const all = this.clusterQueues.list();
    this.queues.requeueInadmissible(all.map((q) => q.metadata.name ?? ''));
    for (const cq of all) {
      this.queue.add(`admit:${cycleKeyOf(cq)}`);
      this.statusLater(`cq:${cq.metadata.name ?? ''}`);
    }
    for (const lq of this.localQueues.list()) this.statusLater(`lq:${nsKey(lq)}`);
    for (const wl of this.workloads.list()) if (isPending(wl) || hasQuotaReservation(wl)) this.queue.add(`wl:${nsKey(wl)}`);
  }

  private resync(): void {
    // A safety net under the event-driven requeues: what was set aside is tried again now and then.
    this.queues.requeueInadmissible(this.clusterQueues.list().map((q) => q.metadata.name ?? ''));
    for (const cq of this.clusterQueues.list()) {
      this.queue.add(`admit:${cycleKeyOf(cq)}`);
      this.statusLater(`cq:${cq.metadata.name ?? ''}`);
    }
    for (const lq of this.localQueues.list()) this.statusLater(`lq:${nsKey(lq)}`);
    // Evicted workloads whose Jobs may have stopped without an event this process saw.
    for (const wl of this.workloads.list()) {
      if (!hasQuotaReservation(wl) || !isEvicted(wl)) continue;
      const owner = wl.metadata.ownerReferences?.find((r) => r.controller === true && isJobRef(r));
      if (owner) this.queue.add(`job:${wl.metadata.namespace ?? ''}/${owner.name}`);
    }
  }

  private statusLater(key: string): void {
    this.queue.addAfter(key, this.statusDelayMs);
  }

  // -------------------------------------------------------------------------------------------
  // Sync

  private async sync(key: string): Promise<void> {
    const colon = key.indexOf(':');
    const kind = key.slice(0, colon);
    const rest = key.slice(colon + 1);
    switch (kind) {
      case 'job':
        return this.quietOnConflict(key, () => this.integration.sync(...split(rest)));
      case 'wl':
        return this.quietOnConflict(key, () => this.syncWorkload(...split(rest)));
      case 'admit':
        return this.syncCycle(key, rest);
      case 'cq':
        return this.syncClusterQueueStatus(rest);
      case 'lq':
        return this.syncLocalQueueStatus(...split(rest));
      default:
        this.log.warn('unknown work queue key', { key });
    }
  }

  /**
   * A 409 means the object changed since the cache showed it: the informer delivers that change,
   * which queues the key again (the work queue runs a key added during its sync once more), so
   * the sync is redone on fresh state without a back-off or a warning.
   */
  private async quietOnConflict(key: string, sync: () => Promise<void>): Promise<void> {
    try {
      await sync();
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      this.log.debug('conflict; waiting for the cache to catch up', { key, error: err.message });
    }
  }

  private async syncCycle(key: string, cycleKey: string): Promise<void> {
    const result = await this.cycle.run(cycleKey);
    if (!result.conflicted) {
      this.conflicts.delete(key);
      return;
    }
    // Another admitter (or the ledger) moved first: try again once the caches have caught up,
    // backing off while it keeps happening.
    const n = (this.conflicts.get(key) ?? 0) + 1;
    this.conflicts.set(key, n);
    if (this.running) this.queue.addAfter(key, Math.min(2000, 25 * 2 ** Math.min(n, 7)));
  }

  private async syncWorkload(namespace: string, name: string): Promise<void> {
    const wl = this.view.get(namespace, name);
    if (!wl) return;
    const now = new Date();
    if (hasQuotaReservation(wl) && !isEvicted(wl)) {
      const drain = this.drainReason(wl);
      if (drain) await this.writes.evict(wl, drain.reason, drain.message, now);
      return;
    }
    if (!isPending(wl)) return;
    const r = this.queues.resolve(wl);
    if (!r.ok) {
      await this.writes.setPending(wl, r.reason, r.message, now);
      return;
    }
    this.queue.add(`admit:${cycleKeyOf(r.clusterQueue)}`);
  }

  /** Why an admitted workload must give its quota back now (Kueue's eviction reasons), if it must. */
  private drainReason(wl: Workload): { reason: string; message: string } | undefined {
    if (wl.spec.active === false) return { reason: EVICTED_BY_DEACTIVATION, message: 'The workload is deactivated' };
    const cq = this.clusterQueues.get(undefined, wl.status.admission?.clusterQueue ?? '');
    if (cq?.spec.stopPolicy === 'HoldAndDrain') return { reason: 'ClusterQueueStopped', message: 'The ClusterQueue is stopped' };
    const lq = this.localQueues.get(wl.metadata.namespace, wl.spec.queueName ?? '');
    if (lq?.spec.stopPolicy === 'HoldAndDrain') return { reason: 'LocalQueueStopped', message: 'The LocalQueue is stopped' };
    return undefined;
  }

  /** Counts of a queue's workloads, and what its LocalQueue-level reservation and usage are. */
  private tally(filter: (wl: Workload) => 'pending' | 'held' | undefined): { counts: QueueCounts; reservation: FlavorAmounts; usage: FlavorAmounts; pending: Workload[] } {
    const counts: QueueCounts = { pending: 0, reserving: 0, admitted: 0 };
    let reservation: FlavorAmounts = new Map();
    let usage: FlavorAmounts = new Map();
    const pending: Workload[] = [];
    for (const wl of this.view.list()) {
      const what = filter(wl);
      if (what === 'pending') {
        counts.pending++;
        pending.push(wl);
      } else if (what === 'held') {
        counts.reserving++;
        const charge = workloadCharge(wl);
        if (charge) reservation = addFlavorAmounts(reservation, charge.amounts);
        const used = workloadCharge(wl, 'usage');
        if (used) {
          counts.admitted++;
          usage = addFlavorAmounts(usage, used.amounts);
        }
      }
    }
    return { counts, reservation, usage, pending };
  }

  private async syncClusterQueueStatus(name: string): Promise<void> {
    const cq = this.clusterQueues.get(undefined, name);
    if (!cq) {
      this.forgetQueueMetrics(name);
      return;
    }
    const { counts, reservation, usage, pending } = this.tally((wl) => {
      if (hasQuotaReservation(wl)) return wl.status.admission?.clusterQueue === name ? 'held' : undefined;
      if (!isPending(wl)) return undefined;
      return this.queues.clusterQueueName(wl) === name ? 'pending' : undefined;
    });
    const inactive = this.queues.inactiveReason(cq);
    const members = this.queues.membersOf(cycleKeyOf(cq));
    const states = members.map((q) => ({ name: q.metadata.name ?? '', spec: q.spec, usage: recordedUsage(q) }));
    const self = states.find((s) => s.name === name) ?? { name, spec: cq.spec, usage: recordedUsage(cq) };
    const share = weightedShare(self, states.length > 0 ? states : [self]);
    this.reportQueueMetrics(cq, pending, reservation, usage, share, inactive !== undefined);
    const patch = clusterQueueStatusPatch(cq, counts, inactive, share, new Date());
    if (!patch) return;
    try {
      await this.client.patch({ ...CLUSTER_QUEUES, name, subresource: 'status' }, { status: patch }, 'merge');
    } catch (err) {
      // Deleted meanwhile: its delete event clears its metrics.
      if (!(err instanceof NotFoundError)) throw err;
    }
  }

  private async syncLocalQueueStatus(namespace: string, name: string): Promise<void> {
    const lq = this.localQueues.get(namespace, name);
    if (!lq) return;
    const { counts, reservation, usage } = this.tally((wl) => {
      if (wl.metadata.namespace !== namespace || wl.spec.queueName !== name) return undefined;
      if (hasQuotaReservation(wl)) return 'held';
      return isPending(wl) ? 'pending' : undefined;
    });
    const cq = this.clusterQueues.get(undefined, lq.spec.clusterQueue);
    const target: LocalQueueTarget = !cq ? 'missing' : this.queues.inactiveReason(cq) ? 'inactive' : 'ready';
    const patch = localQueueStatusPatch(lq, counts, target, reservation, usage, new Date());
    if (!patch) return;
    try {
      await this.client.patch({ ...LOCAL_QUEUES, namespace, name, subresource: 'status' }, { status: patch }, 'merge');
    } catch (err) {
      // Deleted meanwhile: nothing to report on.
      if (!(err instanceof NotFoundError)) throw err;
    }
  }

  private reportQueueMetrics(cq: ClusterQueue, pending: readonly Workload[], reservation: FlavorAmounts, usage: FlavorAmounts, share: number, inactive: boolean): void {
    const name = cq.metadata.name ?? '';
    const cohort = cq.spec.cohort ?? '';
    const m = this.metrics;
    const inadmissible = this.queues.inadmissibleCount(name, pending);
    m.pendingWorkloads.set({ cluster_queue: name, status: 'active' }, pending.length - inadmissible);
    m.pendingWorkloads.set({ cluster_queue: name, status: 'inadmissible' }, inadmissible);
    m.weightedShare.set({ cluster_queue: name }, share);
    m.clusterQueueStatus.set({ cluster_queue: name, status: 'active' }, inactive ? 0 : 1);
    m.clusterQueueStatus.set({ cluster_queue: name, status: 'pending' }, inactive ? 1 : 0);
    const series: ResourceSeries[] = [];
    for (const g of cq.spec.resourceGroups ?? []) {
      for (const f of g.flavors) {
        for (const r of f.resources) {
          const labels = { cohort, cluster_queue: name, flavor: f.name, resource: r.name };
          series.push(labels);
          m.nominalQuota.set(labels, Quantity.parse(r.nominalQuota).toNumber());
          m.resourceReservation.set(labels, Number(amountOf(reservation, f.name, r.name)) / 1000);
          m.resourceUsage.set(labels, Number(amountOf(usage, f.name, r.name)) / 1000);
        }
      }
    }
    // Series of flavors or resources the queue no longer has (or a cohort it left) go.
    const kept = new Set(series.map((l) => JSON.stringify(l)));
    for (const old of this.resourceSeries.get(name) ?? []) if (!kept.has(JSON.stringify(old))) this.removeResourceSeries(old);
    this.resourceSeries.set(name, series);
  }

  private removeResourceSeries(labels: ResourceSeries): void {
    this.metrics.nominalQuota.remove(labels);
    this.metrics.resourceReservation.remove(labels);
    this.metrics.resourceUsage.remove(labels);
  }

  private forgetQueueMetrics(name: string): void {
    const m = this.metrics;
    for (const status of ['active', 'inadmissible']) m.pendingWorkloads.remove({ cluster_queue: name, status });
    for (const status of ['active', 'pending']) m.clusterQueueStatus.remove({ cluster_queue: name, status });
    m.weightedShare.remove({ cluster_queue: name });
    for (const labels of this.resourceSeries.get(name) ?? []) this.removeResourceSeries(labels);
    this.resourceSeries.delete(name);
  }

  /**
   * Whether a workload may be preempted now: every PodDisruptionBudget selecting pods of its Job
   * allows disrupting all of them (the Job controller deletes a suspended Job's pods at once).
   */
  private disruptable(wl: Workload): boolean {
    const uids = jobUidOfWorkload(wl);
    if (uids.length === 0) return true;
    const pods = this.pods.byIndex(POD_BY_JOB_UID, uids[0]!).filter((p) => !isTerminal(p));
    if (pods.length === 0) return true;
    for (const pdb of this.pdbs.list()) {
      if (pdb.metadata.namespace !== wl.metadata.namespace) continue;
      const covered = pods.filter((p) => selects(pdb, p)).length;
      if (covered > 0 && (pdb.status.disruptionsAllowed ?? 0) < covered) return false;
    }
    return true;
  }
}

/** Whether the queue may preempt (its own lower-priority workloads, or borrowers in its cohort). */
function mayPreempt(cq: ClusterQueue): boolean {
  return cq.spec.preemption.withinClusterQueue !== 'Never' || (Boolean(cq.spec.cohort) && cq.spec.preemption.reclaimWithinCohort !== 'Never');
}

/** Whether any flavor and resource holds less in `after` than in `before`. */
function decreased(before: FlavorAmounts, after: FlavorAmounts): boolean {
  for (const [flavor, amounts] of before) for (const r of amounts.names()) if (amountOf(after, flavor, r) < amounts.get(r)) return true;
  return false;
}

/** The labels of one per-flavor, per-resource series. */
interface ResourceSeries {
  cohort: string;
  cluster_queue: string;
  flavor: string;
  resource: string;
}

export const kueueControllerDefinition: ControllerDefinition = {
  name: KUEUE_CONTROLLER,
  create: (ctx) => new KueueController(ctx),
};
