// The StatefulSet controller: numbered pods with stable names from one template (identity.ts),
// made, removed and updated in order as Kubernetes' does (plan.ts), the templates kept as
// ControllerRevisions (controller-history.ts) so a rolling update knows old pods from new ones, a
// partition holds the lower ordinals on the old template, and `kubectl rollout undo` works. Pods
// are placed by a scheduler like any other. Fixed names replace the expectations the ReplicaSet
// controller needs: a sync that runs on a stale cache and creates a pod again gets AlreadyExists.
import { templateOfRevision, type ControllerRevision, type StatefulSet, type StatefulSetStatus } from '../../shared/api/apps.js';
import type { Pod } from '../../shared/api/core.js';
import type { EventRecorder } from '../../shared/client/events.js';
import type { ApiClient, ResourceRef } from '../../shared/client/http-client.js';
import { objectKey, type Informer } from '../../shared/client/informer.js';
import { AlreadyExistsError, ConflictError, NotFoundError, ParseError, errorMessage } from '../../shared/errors.js';
import { labelSelectorFromSpec, type LabelSelector } from '../../shared/labels.js';
import type { Logger } from '../../shared/logging.js';
import { CONTROLLER_REVISIONS, currentRevision, hashOf, pruneHistory, RevisionCollisionError, type CurrentRevision } from '../controller-history.js';
import type { Controller, ControllerContext, ControllerDefinition } from '../controller.js';
import { BY_NAMESPACE, indexByNamespace } from '../informers.js';
import { claim, controllerRefOf } from '../replicaset/controller-ref.js';
import { isPodReady } from '../replicaset/pods.js';
import { WorkQueue } from '../work-queue.js';
import { ordinalOf, revisionOf, statefulPod } from './identity.js';
import { isHealthy, statefulSetPlan } from './plan.js';
import { countStatus } from './status.js';

export const STATEFULSETS = { group: 'apps', version: 'v1', resource: 'statefulsets' } as const;
const PODS: ResourceRef = { resource: 'pods' };

function selectorOf(sts: StatefulSet): LabelSelector | undefined {
  try {
    return labelSelectorFromSpec(sts.spec.selector);
  } catch (err) {
    // Validation refuses bad selectors; an unparsable one here selects nothing, as in Kubernetes.
    if (!(err instanceof ParseError)) throw err;
    return undefined;
  }
}

export class StatefulSetController implements Controller {
  readonly name = 'statefulset';
  private readonly client: ApiClient;
  private readonly log: Logger;
  private readonly events: EventRecorder;
  private readonly sets: Informer<StatefulSet>;
  private readonly pods: Informer<Pod>;
  private readonly revisions: Informer<ControllerRevision>;
  private readonly queue: WorkQueue;
  private stopped = false;

  constructor(ctx: ControllerContext, opts: { workers?: number } = {}) {
    this.client = ctx.client;
    this.log = ctx.log;
    this.events = ctx.events('statefulset-controller');
    this.sets = ctx.informers.get<StatefulSet>(STATEFULSETS);
    this.pods = ctx.informers.get<Pod>(PODS);
    this.revisions = ctx.informers.get<ControllerRevision>(CONTROLLER_REVISIONS);
    this.queue = new WorkQueue({ sync: (key) => this.sync(key), workers: opts.workers ?? 5, log: this.log, name: 'statefulset', metrics: ctx.queueMetrics });
  }

  start(): void {
    indexByNamespace(this.pods);
    indexByNamespace(this.sets);
    indexByNamespace(this.revisions);
    this.sets.addHandlers({
      add: (s) => this.queue.add(objectKey(s)),
      update: (_old, s) => this.queue.add(objectKey(s)),
      delete: (s) => this.queue.add(objectKey(s)),
    });
    this.pods.addHandlers({
      add: (p) => this.podChanged(p),
      update: (old, p) => {
        if (controllerRefOf(old)?.uid !== controllerRefOf(p)?.uid) this.podChanged(old);
        this.podChanged(p);
        const sts = this.ownerOf(p);
        // A pod that just turned ready becomes available minReadySeconds later: look again then.
        if (sts && !isPodReady(old) && isPodReady(p) && sts.spec.minReadySeconds > 0) this.queue.addAfter(objectKey(sts), sts.spec.minReadySeconds * 1000 + 100);
      },
      delete: (p) => this.podChanged(p),
    });
    this.revisions.addHandlers({ delete: (r) => this.enqueueOwner(r) });
    void Promise.all([this.sets.hasSynced(), this.pods.hasSynced(), this.revisions.hasSynced()]).then(() => {
      if (!this.stopped) this.queue.start();
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.queue.stop();
  }

  private ownerOf(obj: Pod | ControllerRevision): StatefulSet | undefined {
    const ref = controllerRefOf(obj);
    if (ref?.kind !== 'StatefulSet') return undefined;
    const sts = this.sets.get(obj.metadata.namespace, ref.name);
    return sts?.metadata.uid === ref.uid ? sts : undefined;
  }

  private enqueueOwner(obj: Pod | ControllerRevision): void {
    const sts = this.ownerOf(obj);
    if (sts) this.queue.add(objectKey(sts));
  }

  /** An owned pod wakes its StatefulSet; an orphan every StatefulSet that may adopt it. */
  private podChanged(pod: Pod): void {
    if (controllerRefOf(pod)) {
      this.enqueueOwner(pod);
      return;
    }
    for (const sts of this.sets.byIndex(BY_NAMESPACE, pod.metadata.namespace ?? '')) {
      if (ordinalOf(sts, pod) !== undefined && selectorOf(sts)?.matches(pod.metadata.labels)) this.queue.add(objectKey(sts));
    }
  }

  private async sync(key: string): Promise<void> {
    const slash = key.indexOf('/');
    const ns = key.slice(0, slash);
    const name = key.slice(slash + 1);
    const sts = this.sets.get(ns, name);
    if (!sts) return;
    const selector = selectorOf(sts);
    // Being deleted: the garbage collector removes its pods and revisions.
    if (!selector || sts.metadata.deletionTimestamp !== undefined) return;

    const owned = this.revisions.byIndex(BY_NAMESPACE, ns).filter((r) => controllerRefOf(r)?.uid === sts.metadata.uid);
    let update: CurrentRevision;
    try {
      update = await currentRevision(this.client, sts, owned);
    } catch (err) {
      if (err instanceof RevisionCollisionError) await this.writeStatus(sts, { ...sts.status, collisionCount: (sts.status.collisionCount ?? 0) + 1 });
      throw err;
    }
    const updateName = update.revision.metadata.name ?? '';
    // The revision the pods ran before this update: the one the status names, if it is still kept.
    const before = owned.find((r) => r.metadata.name === sts.status.currentRevision);
    const currentName = before ? (before.metadata.name ?? '') : updateName;
    const currentTemplate = before && currentName !== updateName ? templateOfRevision(before) : sts.spec.template;

    const pods = await claim({
      client: this.client,
      owner: sts,
      selector,
      ref: PODS,
      // Only pods named as its members are adopted (Kubernetes' isMemberOf).
      candidates: this.pods.byIndex(BY_NAMESPACE, ns).filter((p) => ordinalOf(sts, p) !== undefined || controllerRefOf(p)?.uid === sts.metadata.uid),
      recheck: async () => {
        try {
          const fresh = await this.client.get<StatefulSet>({ ...STATEFULSETS, namespace: ns, name });
          return fresh.metadata.uid === sts.metadata.uid && fresh.metadata.deletionTimestamp === undefined;
        } catch (err) {
          if (err instanceof NotFoundError) return false;
          throw err;
        }
      },
    });

    const now = Date.now();
    const plan = statefulSetPlan(sts, pods, updateName, now);
    let failure: unknown;
    for (const p of plan.remove) {
      try {
        await this.client.delete({ ...PODS, namespace: ns, name: p.metadata.name ?? '' }, { preconditions: { uid: p.metadata.uid ?? '' } });
        void this.events.record(this.involved(sts), 'Normal', 'SuccessfulDelete', `delete Pod ${p.metadata.name ?? ''} in StatefulSet ${name} successful`);
      } catch (err) {
        if (err instanceof NotFoundError) continue;
        void this.events.record(this.involved(sts), 'Warning', 'FailedDelete', `delete Pod ${p.metadata.name ?? ''} in StatefulSet ${name} failed error: ${errorMessage(err)}`);
        failure ??= err;
      }
    }
    for (const c of plan.create) {
      const body = c.revision === 'current' ? statefulPod(sts, c.ordinal, currentTemplate, currentName) : statefulPod(sts, c.ordinal, sts.spec.template, updateName);
      const podName = (body['metadata'] as { name: string }).name;
      try {
        await this.client.create({ ...PODS, namespace: ns }, body);
        void this.events.record(this.involved(sts), 'Normal', 'SuccessfulCreate', `create Pod ${podName} in StatefulSet ${name} successful`);
      } catch (err) {
        // Made by an earlier sync whose pod the cache has not shown yet.
        if (err instanceof AlreadyExistsError) continue;
        void this.events.record(this.involved(sts), 'Warning', 'FailedCreate', `create Pod ${podName} in StatefulSet ${name} failed error: ${errorMessage(err)}`);
        failure ??= err;
        break;
      }
    }

    const used = new Set([currentName, updateName, ...pods.map(revisionOf)]);
    const live = new Set(owned.filter((r) => used.has(r.metadata.name ?? '')).map(hashOf));
    await pruneHistory(this.client, sts, owned, update.revision, live);

    const status = countStatus(sts, pods, currentName, updateName, now);
    await this.updateStatus(sts, status);
    if (failure !== undefined) throw failure;
    // Ready but not yet available pods hold an ordered rollout: look again when they may be.
    if (sts.spec.minReadySeconds > 0 && pods.some((p) => isPodReady(p) && !isHealthy(p, sts.spec.minReadySeconds, now))) this.queue.addAfter(key, sts.spec.minReadySeconds * 1000);
  }

  private involved(sts: StatefulSet) {
    return { kind: 'StatefulSet', apiVersion: 'apps/v1', name: sts.metadata.name ?? '', namespace: sts.metadata.namespace ?? '', uid: sts.metadata.uid ?? '' };
  }

  private async updateStatus(sts: StatefulSet, next: StatefulSetStatus): Promise<void> {
    if (JSON.stringify(canonicalStatus(sts.status)) === JSON.stringify(canonicalStatus(next))) return;
    await this.writeStatus(sts, next);
  }

  private async writeStatus(sts: StatefulSet, next: StatefulSetStatus): Promise<void> {
    const ref = { ...STATEFULSETS, namespace: sts.metadata.namespace, name: sts.metadata.name ?? '' };
    let current: StatefulSet = sts;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.client.update<StatefulSet>({ ...ref, subresource: 'status' }, { ...current, status: next });
        return;
      } catch (err) {
        if (err instanceof NotFoundError) return;
        if (!(err instanceof ConflictError) || attempt >= 1) throw err;
        // The spec or metadata changed meanwhile: write the counts on the fresh object (the next sync recounts).
        current = await this.client.get<StatefulSet>(ref);
        if (current.metadata.uid !== sts.metadata.uid) return;
      }
    }
  }
}

function canonicalStatus(s: StatefulSetStatus): unknown {
  return [
    s.observedGeneration ?? 0,
    s.replicas,
    s.readyReplicas ?? 0,
    s.currentReplicas ?? 0,
    s.updatedReplicas ?? 0,
    s.availableReplicas ?? 0,
    s.currentRevision ?? '',
    s.updateRevision ?? '',
    s.collisionCount ?? 0,
    s.conditions ?? [],
  ];
}

export const statefulSetControllerDefinition: ControllerDefinition = {
  name: 'statefulset',
  create: (ctx) => new StatefulSetController(ctx, { ...(ctx.config?.concurrentStatefulSetSyncs !== undefined ? { workers: ctx.config.concurrentStatefulSetSyncs } : {}) }),
};
