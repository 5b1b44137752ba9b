// The DaemonSet controller: one pod from each DaemonSet's template on every node that fits it
// (should-run.ts), as Kubernetes' does. Nodes coming, going or changing labels and taints add and
// remove pods; a template change rolls out node by node within maxUnavailable or maxSurge
// (plan.ts); the templates are kept as ControllerRevisions for history and rollback (history.ts).
// The pods are pinned to their node by node affinity and placed by a scheduler like any other pod,
// so a daemon pod that does not fit waits (or preempts, with a priority) instead of over-committing
// the node. Like the ReplicaSet controller it adopts and releases pods by selector and holds off
// while its own creates and deletes are not yet seen (expectations).
import { CONTROLLER_REVISION_HASH_LABEL, type ControllerRevision, type DaemonSet, type DaemonSetStatus } from '../../shared/api/apps.js';
import type { Node, Pod } from '../../shared/api/core.js';
import type { ApiClient, ResourceRef } from '../../shared/client/http-client.js';
import { objectKey, type Informer } from '../../shared/client/informer.js';
import type { EventRecorder } from '../../shared/client/events.js';
import { ConflictError, NotFoundError, ParseError, errorMessage, mayHaveTakenEffect } from '../../shared/errors.js';
import { labelSelectorFromSpec, type LabelSelector } from '../../shared/labels.js';
import type { Logger } from '../../shared/logging.js';
import type { Controller, ControllerContext, ControllerDefinition } from '../controller.js';
import { BY_NAMESPACE, indexByNamespace } from '../informers.js';
import { Expectations, EXPECTATIONS_TIMEOUT_MS, OUTCOME_UNKNOWN_WAIT_MS, slowStartBatch } from '../pod-creation.js';
import { claim, controllerRefOf } from '../replicaset/controller-ref.js';
import { isPodReady } from '../replicaset/pods.js';
import { WorkQueue } from '../work-queue.js';
import { daemonPodFor, targetNode } from './daemon-pod.js';
import { CONTROLLER_REVISIONS, currentRevision, pruneHistory, RevisionCollisionError, type CurrentRevision } from '../controller-history.js';
import { DaemonNodeFit, type NodeFit } from './should-run.js';
import { managePlan, podsByNode, rollingUpdatePlan, type Plan } from './plan.js';
import { countStatus } from './status.js';

export const DAEMONSETS = { group: 'apps', version: 'v1', resource: 'daemonsets' } as const;
const PODS: ResourceRef = { resource: 'pods' };
const NODES: ResourceRef = { version: 'v1', resource: 'nodes' };

/** Kubernetes' daemon controller BurstReplicas: at most this many pod creates per sync. */
export const DAEMON_BURST = 250;

/** A node whose daemon pod keeps failing is given one again after 1 s, doubling to 15 min (Kubernetes' failedPodsBackoff). */
const FAILED_BACKOFF_INITIAL_MS = 1000;
const FAILED_BACKOFF_MAX_MS = 15 * 60_000;


function selectorOf(ds: DaemonSet): LabelSelector | undefined {
  try {
    return labelSelectorFromSpec(ds.spec.selector);
  } catch (err) {
    // Validation refuses bad selectors; an unparsable one here selects nothing, as in Kubernetes.
    if (!(err instanceof ParseError)) throw err;
    return undefined;
  }
}

/** What a node offers a DaemonSet's pod changed: its labels, taints or name (affinity). */
function fitMayDiffer(a: Node, b: Node): boolean {
  return JSON.stringify(a.metadata.labels) !== JSON.stringify(b.metadata.labels) || JSON.stringify(a.spec.taints) !== JSON.stringify(b.spec.taints);
}

export interface DaemonSetControllerOptions {
  workers?: number;
  outcomeUnknownWaitMs?: number;
}

export class DaemonSetController implements Controller {
  readonly name = 'daemonset';
  private readonly client: ApiClient;
  private readonly log: Logger;
  private readonly events: EventRecorder;
  private readonly sets: Informer<DaemonSet>;
  private readonly pods: Informer<Pod>;
  private readonly nodes: Informer<Node>;
  private readonly revisions: Informer<ControllerRevision>;
  private readonly queue: WorkQueue;
  private stopped = false;
  readonly expectations: Expectations;
  /** Uids of pods this controller asked to delete, per DaemonSet: each deletion is observed once. */
  private readonly deleting = new Map<string, Set<string>>();
  /** Per DaemonSet uid and node: when a failed pod may next be replaced, and the delay after that. */
  private readonly failedBackoff = new Map<string, { until: number; delayMs: number }>();

  constructor(ctx: ControllerContext, opts: DaemonSetControllerOptions = {}) {
    this.expectations = new Expectations(EXPECTATIONS_TIMEOUT_MS, Date.now, opts.outcomeUnknownWaitMs ?? OUTCOME_UNKNOWN_WAIT_MS);
    this.client = ctx.client;
    this.log = ctx.log;
    this.events = ctx.events('daemonset-controller');
    this.sets = ctx.informers.get<DaemonSet>(DAEMONSETS);
    this.pods = ctx.informers.get<Pod>(PODS);
    this.nodes = ctx.informers.get<Node>(NODES);
    this.revisions = ctx.informers.get<ControllerRevision>(CONTROLLER_REVISIONS);
    this.queue = new WorkQueue({ sync: (key) => this.sync(key), workers: opts.workers ?? 2, log: this.log, name: 'daemonset', metrics: ctx.queueMetrics });
  }

  start(): void {
    indexByNamespace(this.pods);
    indexByNamespace(this.sets);
    indexByNamespace(this.revisions);
    this.sets.addHandlers({
      add: (ds) => this.queue.add(objectKey(ds)),
      update: (_old, ds) => this.queue.add(objectKey(ds)),
      delete: (ds) => {
        const key = objectKey(ds);
        this.expectations.forget(key);
        this.deleting.delete(key);
        for (const k of this.failedBackoff.keys()) if (k.startsWith(`${ds.metadata.uid ?? ''}/`)) this.failedBackoff.delete(k);
        this.queue.add(key);
      },
    });
    this.pods.addHandlers({
      add: (pod) => this.podAdded(pod),
      update: (old, pod) => this.podUpdated(old, pod),
      delete: (pod) => this.podDeleted(pod),
    });
    this.nodes.addHandlers({
      add: () => this.enqueueAll(),
      update: (old, node) => {
        if (fitMayDiffer(old, node)) this.enqueueAll();
      },
      delete: () => this.enqueueAll(),
    });
    this.revisions.addHandlers({
      // Someone else's change to a revision (a delete, a rollback's renumbering) is looked at again.
      delete: (r) => this.enqueueOwner(r),
    });
    void Promise.all([this.sets.hasSynced(), this.pods.hasSynced(), this.nodes.hasSynced(), this.revisions.hasSynced()]).then(() => {
      if (!this.stopped) this.queue.start();
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.queue.stop();
  }

  private enqueueAll(): void {
    for (const ds of this.sets.list()) this.queue.add(objectKey(ds));
  }

  private enqueueOwner(obj: Pod | ControllerRevision): DaemonSet | undefined {
    const ds = this.ownerOf(obj);
    if (ds) this.queue.add(objectKey(ds));
    return ds;
  }

  /** The DaemonSet a controllerRef names, if it is the one in the cache (same uid). */
  private ownerOf(obj: Pod | ControllerRevision): DaemonSet | undefined {
    const ref = controllerRefOf(obj);
    if (ref?.kind !== 'DaemonSet') return undefined;
    const ds = this.sets.get(obj.metadata.namespace, ref.name);
    return ds?.metadata.uid === ref.uid ? ds : undefined;
  }

  /** Orphans wake every DaemonSet that may adopt them. */
  private enqueueSelecting(pod: Pod): void {
    for (const ds of this.sets.byIndex(BY_NAMESPACE, pod.metadata.namespace ?? '')) {
      if (selectorOf(ds)?.matches(pod.metadata.labels)) this.queue.add(objectKey(ds));
    }
  }

  private podAdded(pod: Pod): void {
    if (pod.metadata.deletionTimestamp !== undefined) {
      this.podDeleted(pod);
      return;
    }
    if (controllerRefOf(pod)) {
      const ds = this.enqueueOwner(pod);
      if (ds) this.expectations.creationObserved(objectKey(ds));
      return;
    }
    this.enqueueSelecting(pod);
  }

  private podUpdated(old: Pod, pod: Pod): void {
    if (pod.metadata.deletionTimestamp !== undefined && old.metadata.deletionTimestamp === undefined) {
      this.podDeleted(pod);
      return;
    }
    const oldRef = controllerRefOf(old);
    const ref = controllerRefOf(pod);
    if (oldRef && oldRef.uid !== ref?.uid) this.enqueueOwner(old);
    if (ref) {
      const ds = this.enqueueOwner(pod);
      // A pod that just turned ready becomes available minReadySeconds later: look again then.
      if (ds && !isPodReady(old) && isPodReady(pod) && ds.spec.minReadySeconds > 0) this.queue.addAfter(objectKey(ds), ds.spec.minReadySeconds * 1000 + 100);
      return;
    }
    if (oldRef !== undefined || JSON.stringify(old.metadata.labels) !== JSON.stringify(pod.metadata.labels)) this.enqueueSelecting(pod);
  }

  private podDeleted(pod: Pod): void {
    const ds = this.ownerOf(pod);
    if (!ds) return;
    const key = objectKey(ds);
    if (this.deleting.get(key)?.delete(pod.metadata.uid ?? '')) this.expectations.deletionObserved(key);
    this.queue.add(key);
  }

  private async sync(key: string): Promise<void> {
    const slash = key.indexOf('/');
    const ns = key.slice(0, slash);
    const name = key.slice(slash + 1);
    const ds = this.sets.get(ns, name);
    if (!ds) {
      this.expectations.forget(key);
      this.deleting.delete(key);
      return;
    }
    const selector = selectorOf(ds);
    if (!selector) return;
    // Being deleted: the garbage collector removes its pods and revisions; nothing new is made.
    if (ds.metadata.deletionTimestamp !== undefined) return;

    const owned = this.revisions.byIndex(BY_NAMESPACE, ns).filter((r) => controllerRefOf(r)?.uid === ds.metadata.uid);
    let current: CurrentRevision;
    try {
      current = await currentRevision(this.client, ds, owned);
    } catch (err) {
      if (err instanceof RevisionCollisionError) await this.bumpCollisionCount(ds);
      throw err;
    }

    const pods = await claim({
      client: this.client,
      owner: ds,
      selector,
      ref: PODS,
      candidates: this.pods.byIndex(BY_NAMESPACE, ns),
      recheck: async () => {
        try {
          const fresh = await this.client.get<DaemonSet>({ ...DAEMONSETS, namespace: ns, name });
          return fresh.metadata.uid === ds.metadata.uid && fresh.metadata.deletionTimestamp === undefined;
        } catch (err) {
          if (err instanceof NotFoundError) return false;
          throw err;
        }
      },
    });
    const byNode = podsByNode(pods, targetNode);
    // A node whose pod runs ready again starts its next failure's back-off from the beginning.
    if (this.failedBackoff.size > 0) {
      for (const [node, here] of byNode) if (here.failed.length === 0 && here.live.some(isPodReady)) this.failedBackoff.delete(`${ds.metadata.uid ?? ''}/${node}`);
    }
    const fit = new DaemonNodeFit(ds);
    const fits = new Map<string, NodeFit>();
    for (const node of this.nodes.list()) fits.set(node.metadata.name ?? '', fit.of(node));

    let failure: unknown;
    if (this.expectations.satisfied(key)) {
      let plan = managePlan(ds, fits, byNode, current.hash);
      const idle = plan.create.length === 0 && plan.remove.length === 0 && plan.failed.length === 0;
      // The update takes its next step only once every node is as the template wants it.
      if (idle) plan = rollingUpdatePlan(ds, fits, byNode, current.hash, Date.now());
      failure = await this.carryOut(key, ds, plan, current.hash);
    } else {
      const unsure = this.expectations.unsureFor(key);
      if (unsure !== undefined) this.queue.addAfter(key, unsure + 1);
    }

    const live = new Set<string>();
    for (const p of pods) live.add(p.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL] ?? '');
    await pruneHistory(this.client, ds, owned, current.revision, live);

    const status = await this.updateStatus(ds, countStatus(ds, fits, byNode, current.hash, Date.now()));
    if (failure !== undefined) throw failure;
    // Pods ready but not yet available: look again when the first of them may be.
    if (ds.spec.minReadySeconds > 0 && status && status.numberReady !== (status.numberAvailable ?? 0)) this.queue.addAfter(key, ds.spec.minReadySeconds * 1000);
  }

  /** Creates and deletes pods as planned; returns the first failure (the sync is then retried). */
  private async carryOut(key: string, ds: DaemonSet, plan: Plan, hash: string): Promise<unknown> {
    const now = Date.now();
    const failed: Pod[] = [];
    for (const pod of plan.failed) {
      const backoffKey = `${ds.metadata.uid ?? ''}/${targetNode(pod) ?? ''}`;
      const b = this.failedBackoff.get(backoffKey);
      if (b && now < b.until) {
        // Still backing off: look again when it ends rather than replace a crashing pod at once.
        this.queue.addAfter(key, b.until - now + 10);
        continue;
      }
      const delayMs = b ? Math.min(b.delayMs * 2, FAILED_BACKOFF_MAX_MS) : FAILED_BACKOFF_INITIAL_MS;
      this.failedBackoff.set(backoffKey, { until: now + delayMs, delayMs });
      failed.push(pod);
      const msg = `Found failed daemon pod ${pod.metadata.namespace}/${pod.metadata.name} on node ${targetNode(pod) ?? ''}, will try to kill it`;
      void this.events.record(this.involved(ds), 'Warning', 'FailedDaemonPod', msg);
    }
    const victims = [...plan.remove, ...failed];
    const creates = plan.create.slice(0, DAEMON_BURST);
    if (plan.create.length > creates.length) this.queue.addAfter(key, 0);
    this.expectations.expect(key, creates.length, victims.length);
    // Deletes first: a surge's old pod is on its way out before the next node's new pod appears.
    const deleteError = await this.deletePods(key, ds, victims);
    const createError = await this.createPods(key, ds, creates, hash);
    return deleteError ?? createError;
  }

  private async createPods(key: string, ds: DaemonSet, nodes: string[], hash: string): Promise<unknown> {
    if (nodes.length === 0) return undefined;
    const ref = { ...PODS, namespace: ds.metadata.namespace };
    const result = await slowStartBatch(nodes.length, async (indexes) => {
      const outcomes = await this.client.createMany<Pod>(ref, indexes.map((i) => daemonPodFor(ds, nodes[i]!, hash)));
      outcomes.forEach((o, k) => {
        if (o.ok) void this.events.record(this.involved(ds), 'Normal', 'SuccessfulCreate', `Created pod: ${o.object.metadata.name ?? ''}`);
        else this.log.debug('daemon pod create failed', { daemonset: key, node: nodes[indexes[k]!], error: errorMessage(o.error) });
      });
      return outcomes;
    });
    // Creates that failed or never ran will never be observed; those whose answer was lost may be.
    this.expectations.failed(key, nodes.length - result.succeeded - result.unsure, 0, result.unsure);
    if (result.error === undefined) return undefined;
    void this.events.record(this.involved(ds), 'Warning', 'FailedCreate', `Error creating: ${errorMessage(result.error)}`);
    return result.error;
  }

  private async deletePods(key: string, ds: DaemonSet, victims: Pod[]): Promise<unknown> {
    if (victims.length === 0) return undefined;
    const uids = this.deleting.get(key) ?? new Set<string>();
    this.deleting.set(key, uids);
    for (const p of victims) uids.add(p.metadata.uid ?? '');
    const results = await Promise.allSettled(
      victims.map((p) => this.client.delete({ ...PODS, namespace: p.metadata.namespace, name: p.metadata.name ?? '' }, { preconditions: { uid: p.metadata.uid ?? '' } })),
    );
    let firstError: unknown;
    results.forEach((r, i) => {
      const pod = victims[i]!;
      if (r.status === 'fulfilled') {
        void this.events.record(this.involved(ds), 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name ?? ''}`);
        return;
      }
      if (mayHaveTakenEffect(r.reason)) this.expectations.failed(key, 0, 0, 1);
      else if (uids.delete(pod.metadata.uid ?? '')) this.expectations.deletionObserved(key);
      if (!(r.reason instanceof NotFoundError) && firstError === undefined) firstError = r.reason;
    });
    if (firstError !== undefined) void this.events.record(this.involved(ds), 'Warning', 'FailedDelete', `Error deleting: ${errorMessage(firstError)}`);
    return firstError;
  }

  private involved(ds: DaemonSet) {
    return { kind: 'DaemonSet', apiVersion: 'apps/v1', name: ds.metadata.name ?? '', namespace: ds.metadata.namespace ?? '', uid: ds.metadata.uid ?? '' };
  }

  /** A revision name collision: the next hash differs once collisionCount is one higher. */
  private async bumpCollisionCount(ds: DaemonSet): Promise<void> {
    const status: DaemonSetStatus = { ...ds.status, collisionCount: (ds.status.collisionCount ?? 0) + 1 };
    await this.writeStatus(ds, status);
  }

  /** Writes the counted status when it differs from the stored one; returns what is stored. */
  private async updateStatus(ds: DaemonSet, next: DaemonSetStatus): Promise<DaemonSetStatus | undefined> {
    if (JSON.stringify(canonicalStatus(ds.status)) === JSON.stringify(canonicalStatus(next))) return ds.status;
    return this.writeStatus(ds, next);
  }

  private async writeStatus(ds: DaemonSet, next: DaemonSetStatus): Promise<DaemonSetStatus | undefined> {
    const ref = { ...DAEMONSETS, namespace: ds.metadata.namespace, name: ds.metadata.name ?? '' };
    let current: DaemonSet = ds;
    for (let attempt = 0; ; attempt++) {
      try {
        return (await this.client.update<DaemonSet>({ ...ref, subresource: 'status' }, { ...current, status: next })).status;
      } catch (err) {
        if (err instanceof NotFoundError) return undefined;
        if (!(err instanceof ConflictError) || attempt >= 1) throw err;
        // The spec or metadata changed meanwhile: write the counts on the fresh object (the next sync recounts).
        current = await this.client.get<DaemonSet>(ref);
        if (current.metadata.uid !== ds.metadata.uid) return undefined;
      }
    }
  }
}

function canonicalStatus(s: DaemonSetStatus): unknown {
  return [
    s.currentNumberScheduled,
    s.numberMisscheduled,
    s.desiredNumberScheduled,
    s.numberReady,
    s.observedGeneration ?? 0,
    s.updatedNumberScheduled ?? 0,
    s.numberAvailable ?? 0,
    s.numberUnavailable ?? 0,
    s.collisionCount ?? 0,
    s.conditions ?? [],
  ];
}

export const daemonSetControllerDefinition: ControllerDefinition = {
  name: 'daemonset',
  create: (ctx) => new DaemonSetController(ctx, { ...(ctx.config?.concurrentDaemonSetSyncs !== undefined ? { workers: ctx.config.concurrentDaemonSetSyncs } : {}) }),
};
