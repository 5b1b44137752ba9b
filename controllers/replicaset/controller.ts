// The ReplicaSet controller: keeps `spec.replicas` active pods matching each ReplicaSet's selector,
// as Kubernetes' does. It adopts matching orphans and releases pods that stopped matching, creates
// missing pods in slow-start batches and deletes surplus ones cheapest first, holds off while its
// own creates and deletes are not yet seen (expectations), and reports replicas, ready and
// available counts in the status.
import type { ReplicaSet, ReplicaSetCondition, ReplicaSetStatus } from '../../shared/api/apps.js';
import { REPLICA_FAILURE, REASON } from '../../shared/api/apps.js';
import type { Pod } from '../../shared/api/core.js';
import { formatTime } from '../../shared/api/meta.js';
import type { EventRecorder } from '../../shared/client/events.js';
import type { ApiClient } from '../../shared/client/http-client.js';
import { objectKey, type Informer } from '../../shared/client/informer.js';
import { ConflictError, NotFoundError, ParseError, errorMessage, mayHaveTakenEffect } from '../../shared/errors.js';
import { labelSelectorFromSpec, type LabelSelector } from '../../shared/labels.js';
import type { Logger } from '../../shared/logging.js';
import type { Controller, ControllerContext, ControllerDefinition } from '../controller.js';
import { BY_NAMESPACE, indexByNamespace } from '../informers.js';
import { Expectations, EXPECTATIONS_TIMEOUT_MS, OUTCOME_UNKNOWN_WAIT_MS, slowStartBatch } from '../pod-creation.js';
import { WorkQueue } from '../work-queue.js';
import { claim, controllerRefOf, controllerRefTo } from './controller-ref.js';
import { isPodActive, isPodAvailable, isPodReady, podsToDelete } from './pods.js';

export const REPLICASETS = { group: 'apps', version: 'v1', resource: 'replicasets' } as const;
export const PODS = { resource: 'pods' } as const;

/** Kubernetes' BurstReplicas: at most this many creates or deletes per sync. */
export const BURST_REPLICAS = 500;


/** Why the last create or delete of pods failed: the ReplicaFailure condition's reason and message. */
interface ReplicaFailure {
  reason: string;
  message: string;
  error: unknown;
}

/** The pod a ReplicaSet creates from its template (Kubernetes' GetPodFromTemplate). */
export function podFromTemplate(rs: ReplicaSet, ownerRef = controllerRefTo(rs)): Record<string, unknown> {
  const t = rs.spec.template;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: `${rs.metadata.name ?? ''}-`,
      namespace: rs.metadata.namespace,
      ...(t.metadata.labels ? { labels: { ...t.metadata.labels } } : {}),
      ...(t.metadata.annotations ? { annotations: { ...t.metadata.annotations } } : {}),
      ...(t.metadata.finalizers ? { finalizers: [...t.metadata.finalizers] } : {}),
      ownerReferences: [ownerRef],
    },
    spec: structuredClone(t.spec),
  };
}

function selectorOf(rs: ReplicaSet): LabelSelector | undefined {
  try {
    return labelSelectorFromSpec(rs.spec.selector);
  } catch (err) {
    // Validation refuses bad selectors; an unparsable one here selects nothing, as in Kubernetes.
    if (!(err instanceof ParseError)) throw err;
    return undefined;
  }
}

export interface ReplicaSetControllerOptions {
  workers?: number;
  /** How long pods whose create or delete lost its answer are waited for (OUTCOME_UNKNOWN_WAIT_MS). */
  outcomeUnknownWaitMs?: number;
}

export class ReplicaSetController implements Controller {
  readonly name = 'replicaset';
  private readonly client: ApiClient;
  private readonly log: Logger;
  private readonly events: EventRecorder;
  private readonly sets: Informer<ReplicaSet>;
  private readonly pods: Informer<Pod>;
  private readonly queue: WorkQueue;
  private stopped = false;
  readonly expectations: Expectations;
  /** Uids of pods this controller asked to delete, per ReplicaSet: each deletion is observed once. */
  private readonly deleting = new Map<string, Set<string>>();

  constructor(ctx: ControllerContext, opts: ReplicaSetControllerOptions = {}) {
    this.expectations = new Expectations(EXPECTATIONS_TIMEOUT_MS, Date.now, opts.outcomeUnknownWaitMs ?? OUTCOME_UNKNOWN_WAIT_MS);
    this.client = ctx.client;
    this.log = ctx.log;
    this.events = ctx.events('replicaset-controller');
    this.sets = ctx.informers.get<ReplicaSet>(REPLICASETS);
    this.pods = ctx.informers.get<Pod>(PODS);
    this.queue = new WorkQueue({ sync: (key) => this.sync(key), workers: opts.workers ?? 5, log: this.log, name: 'replicaset' , metrics: ctx.queueMetrics });
  }

  start(): void {
    indexByNamespace(this.pods);
    indexByNamespace(this.sets);
    this.sets.addHandlers({
      add: (rs) => this.queue.add(objectKey(rs)),
      update: (_old, rs) => this.queue.add(objectKey(rs)),
      delete: (rs) => {
        const key = objectKey(rs);
        this.expectations.forget(key);
        this.deleting.delete(key);
        this.queue.add(key);
      },
    });
    this.pods.addHandlers({
      add: (pod) => this.podAdded(pod),
      update: (old, pod) => this.podUpdated(old, pod),
      delete: (pod) => this.podDeleted(pod),
    });
    // Workers start once every cache has listed: a sync against a half-filled pod cache would
    // count too few pods and create more (Kubernetes' WaitForCacheSync).
    void Promise.all([this.sets.hasSynced(), this.pods.hasSynced()]).then(() => {
      if (!this.stopped) this.queue.start();
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.queue.stop();
  }

  /** The ReplicaSet a controllerRef names, if it is the one in the cache (same uid). */
  private ownerOf(pod: Pod): ReplicaSet | undefined {
    const ref = controllerRefOf(pod);
    if (ref?.kind !== 'ReplicaSet') return undefined;
    const rs = this.sets.get(pod.metadata.namespace, ref.name);
    return rs?.metadata.uid === ref.uid ? rs : undefined;
  }

  /** Orphans wake every ReplicaSet that may adopt them. */
  private enqueueSelecting(pod: Pod): void {
    for (const rs of this.sets.byIndex(BY_NAMESPACE, pod.metadata.namespace ?? '')) {
      if (selectorOf(rs)?.matches(pod.metadata.labels)) this.queue.add(objectKey(rs));
    }
  }

  private podAdded(pod: Pod): void {
    if (pod.metadata.deletionTimestamp !== undefined) {
      // Seen first already being deleted (a restart of the controller): count it as a deletion.
      this.podDeleted(pod);
      return;
    }
    if (controllerRefOf(pod)) {
      const rs = this.ownerOf(pod);
      if (!rs) return;
      const key = objectKey(rs);
      this.expectations.creationObserved(key);
      this.queue.add(key);
      return;
    }
    this.enqueueSelecting(pod);
  }

  private podUpdated(old: Pod, pod: Pod): void {
    if (pod.metadata.deletionTimestamp !== undefined && old.metadata.deletionTimestamp === undefined) {
      // A graceful delete has begun: for the counts, the pod is gone now.
      this.podDeleted(pod);
      return;
    }
    const oldRef = controllerRefOf(old);
    const ref = controllerRefOf(pod);
    if (oldRef && oldRef.uid !== ref?.uid) {
      const rs = this.ownerOf(old);
      if (rs) this.queue.add(objectKey(rs));
    }
    if (ref) {
      const rs = this.ownerOf(pod);
      if (!rs) return;
      const key = objectKey(rs);
      this.queue.add(key);
      // A pod that just turned ready becomes available minReadySeconds later: look again then.
      if (!isPodReady(old) && isPodReady(pod) && rs.spec.minReadySeconds > 0) this.queue.addAfter(key, rs.spec.minReadySeconds * 1000 + 100);
      return;
    }
    if (oldRef !== undefined || JSON.stringify(old.metadata.labels) !== JSON.stringify(pod.metadata.labels)) this.enqueueSelecting(pod);
  }

  private podDeleted(pod: Pod): void {
    const ref = controllerRefOf(pod);
    if (!ref) return;
    const rs = this.ownerOf(pod);
    if (!rs) return;
    const key = objectKey(rs);
    const uids = this.deleting.get(key);
    if (uids?.delete(pod.metadata.uid ?? '')) this.expectations.deletionObserved(key);
    this.queue.add(key);
  }

  private async sync(key: string): Promise<void> {
    const slash = key.indexOf('/');
    const ns = key.slice(0, slash);
    const name = key.slice(slash + 1);
    const cached = this.sets.get(ns, name);
    if (!cached) {
      this.expectations.forget(key);
      this.deleting.delete(key);
      return;
    }
    const rs = cached;
    const selector = selectorOf(rs);
    if (!selector) return;
    const needsSync = this.expectations.satisfied(key);
    // Pods whose create or delete lost its answer are waited for until a deadline: look again then.
    const unsure = needsSync ? undefined : this.expectations.unsureFor(key);
    if (unsure !== undefined) this.queue.addAfter(key, unsure + 1);

    const candidates = this.pods.byIndex(BY_NAMESPACE, ns).filter(isPodActive);
    const pods = await claim({
      client: this.client,
      owner: rs,
      selector,
      ref: PODS,
      candidates,
      recheck: async () => {
        try {
          const fresh = await this.client.get<ReplicaSet>({ ...REPLICASETS, namespace: ns, name });
          return fresh.metadata.uid === rs.metadata.uid && fresh.metadata.deletionTimestamp === undefined;
        } catch (err) {
          if (err instanceof NotFoundError) return false;
          throw err;
        }
      },
    });

    const failure = needsSync && rs.metadata.deletionTimestamp === undefined ? await this.manageReplicas(key, rs, pods) : undefined;
    const status = await this.updateStatus(rs, pods, failure);
    // Retried with back-off; the condition already tells the user why.
    if (failure) throw failure.error;
    // Pods ready but not yet available: look again when the first of them becomes available.
    if (rs.spec.minReadySeconds > 0 && status && (status.readyReplicas ?? 0) !== (status.availableReplicas ?? 0)) {
      this.queue.addAfter(key, rs.spec.minReadySeconds * 1000);
    }
  }

  /** Creates or deletes pods towards spec.replicas; returns the failure, if any, for the status. */
  private async manageReplicas(key: string, rs: ReplicaSet, pods: Pod[]): Promise<ReplicaFailure | undefined> {
    const diff = pods.length - rs.spec.replicas;
    if (diff < 0) {
      const want = Math.min(-diff, BURST_REPLICAS);
      this.expectations.expect(key, want, 0);
      const body = podFromTemplate(rs);
      const ref = { ...PODS, namespace: rs.metadata.namespace };
      const result = await slowStartBatch(want, (batch) => this.client.createMany(ref, batch.map(() => body)));
      // Creates that failed or never ran will never be observed: stop waiting for them. Those
      // whose answer was lost may be: wait for them, then look again.
      this.expectations.failed(key, want - result.succeeded - result.unsure, 0, result.unsure);
      if (result.error !== undefined) {
        const message = errorMessage(result.error);
        void this.events.record(this.involved(rs), 'Warning', REASON.failedCreate, `Error creating: ${message}`);
        return { reason: REASON.failedCreate, message, error: result.error };
      }
      if (result.succeeded > 0) {
        this.log.debug('created pods', { replicaset: key, count: result.succeeded });
        void this.events.record(this.involved(rs), 'Normal', 'SuccessfulCreate', `Created ${result.succeeded} pod${result.succeeded === 1 ? '' : 's'}`);
      }
      return undefined;
    }
    if (diff > 0) {
      const victims = podsToDelete(pods, Math.min(diff, BURST_REPLICAS));
      const uids = this.deleting.get(key) ?? new Set<string>();
      this.deleting.set(key, uids);
      for (const p of victims) uids.add(p.metadata.uid ?? '');
      this.expectations.expect(key, 0, victims.length);
      const results = await Promise.allSettled(
        victims.map((p) =>
          this.client.delete({ ...PODS, namespace: p.metadata.namespace, name: p.metadata.name ?? '' }, { preconditions: { uid: p.metadata.uid ?? '' } }),
        ),
      );
      let firstError: unknown;
      results.forEach((r, i) => {
        if (r.status === 'fulfilled') return;
        const uid = victims[i]?.metadata.uid ?? '';
        if (mayHaveTakenEffect(r.reason)) {
          // Its answer was lost: the pod may be going; wait to see it, for a while.
          this.expectations.failed(key, 0, 0, 1);
        } else if (uids.delete(uid)) {
          // A delete that failed will not be observed (a pod already gone will not either).
          this.expectations.deletionObserved(key);
        }
        if (!(r.reason instanceof NotFoundError) && firstError === undefined) firstError = r.reason;
      });
      const deleted = results.filter((r) => r.status === 'fulfilled').length;
      if (deleted > 0) void this.events.record(this.involved(rs), 'Normal', 'SuccessfulDelete', `Deleted ${deleted} pod${deleted === 1 ? '' : 's'}`);
      if (firstError !== undefined) {
        const message = errorMessage(firstError);
        void this.events.record(this.involved(rs), 'Warning', REASON.failedDelete, `Error deleting: ${message}`);
        return { reason: REASON.failedDelete, message, error: firstError };
      }
    }
    return undefined;
  }

  private involved(rs: ReplicaSet) {
    return { kind: 'ReplicaSet', apiVersion: 'apps/v1', name: rs.metadata.name ?? '', namespace: rs.metadata.namespace ?? '', uid: rs.metadata.uid ?? '' };
  }

  /** The status the pods give, written when it differs from the stored one; returns what is stored. */
  private async updateStatus(rs: ReplicaSet, pods: Pod[], failure: ReplicaFailure | undefined): Promise<ReplicaSetStatus | undefined> {
    const now = Date.now();
    const templateLabels = rs.spec.template.metadata.labels ?? {};
    const fullyLabeled = pods.filter((p) => Object.entries(templateLabels).every(([k, v]) => p.metadata.labels?.[k] === v)).length;
    const ready = pods.filter(isPodReady).length;
    const available = pods.filter((p) => isPodAvailable(p, rs.spec.minReadySeconds, now)).length;
    const conditions = replicaFailureConditions(rs.status.conditions, failure, now);
    const next: ReplicaSetStatus = {
      replicas: pods.length,
      fullyLabeledReplicas: fullyLabeled,
      readyReplicas: ready,
      availableReplicas: available,
      observedGeneration: rs.metadata.generation ?? 1,
      ...(conditions.length > 0 ? { conditions } : {}),
    };
    if (JSON.stringify(canonicalStatus(rs.status)) === JSON.stringify(canonicalStatus(next))) return rs.status;
    let current: ReplicaSet = rs;
    for (let attempt = 0; ; attempt++) {
      try {
        const updated = await this.client.update<ReplicaSet>(
          { ...REPLICASETS, namespace: rs.metadata.namespace, name: rs.metadata.name ?? '', subresource: 'status' },
          { ...current, status: next },
        );
        return updated.status;
      } catch (err) {
        if (err instanceof NotFoundError) return undefined;
        if (!(err instanceof ConflictError) || attempt >= 1) throw err;
        // Someone changed the spec or metadata meanwhile: the counts still hold; write them on the fresh object.
        current = await this.client.get<ReplicaSet>({ ...REPLICASETS, namespace: rs.metadata.namespace, name: rs.metadata.name ?? '' });
        if (current.metadata.uid !== rs.metadata.uid) return undefined;
      }
    }
  }
}

/** The ReplicaFailure condition: set while creating or deleting pods fails, removed once it works. */
function replicaFailureConditions(current: ReplicaSetCondition[] | undefined, failure: ReplicaFailure | undefined, now: number): ReplicaSetCondition[] {
  const others = (current ?? []).filter((c) => c.type !== REPLICA_FAILURE);
  if (!failure) return others;
  const existing = (current ?? []).find((c) => c.type === REPLICA_FAILURE);
  if (existing && existing.reason === failure.reason && existing.message === failure.message) return [...others, existing];
  return [...others, { type: REPLICA_FAILURE, status: 'True', reason: failure.reason, message: failure.message, lastTransitionTime: existing?.lastTransitionTime ?? formatTime(new Date(now)) }];
}

function canonicalStatus(s: ReplicaSetStatus): unknown {
  return {
    replicas: s.replicas,
    fullyLabeledReplicas: s.fullyLabeledReplicas ?? 0,
    readyReplicas: s.readyReplicas ?? 0,
    availableReplicas: s.availableReplicas ?? 0,
    observedGeneration: s.observedGeneration ?? 0,
    conditions: s.conditions ?? [],
  };
}

export const replicaSetControllerDefinition: ControllerDefinition = {
  name: 'replicaset',
  create: (ctx) => new ReplicaSetController(ctx, { ...(ctx.config?.concurrentReplicaSetSyncs !== undefined ? { workers: ctx.config.concurrentReplicaSetSyncs } : {}) }),
};
