// The Deployment controller, as Kubernetes' own: each Deployment owns one ReplicaSet per pod
// template (named `<deployment>-<pod-template-hash>`), and a rollout moves pods from the old ones
// to the new one — RollingUpdate within maxSurge/maxUnavailable, Recreate by stopping every old
// pod first. It also applies scaling (proportionally, mid-rollout), pauses, rollbacks (a template
// equal to an old ReplicaSet's reuses it under a new revision), the revision history limit and
// the progress deadline, and keeps status and conditions. It writes ReplicaSets only; their
// controller creates and deletes the pods.
import {
  DEPLOYMENT_PROGRESSING,
  POD_TEMPLATE_HASH_LABEL,
  REASON,
  REVISION_ANNOTATION,
  type Deployment,
  type DeploymentStatus,
  type ReplicaSet,
} from '../../shared/api/apps.js';
import type { Pod } from '../../shared/api/core.js';
import type { EventRecorder } from '../../shared/client/events.js';
import type { ApiClient } from '../../shared/client/http-client.js';
import { objectKey, type Informer } from '../../shared/client/informer.js';
import { AlreadyExistsError, NotFoundError, ParseError } from '../../shared/errors.js';
import { labelSelectorFromSpec, type LabelSelector } from '../../shared/labels.js';
import type { Logger } from '../../shared/logging.js';
import type { Controller, ControllerContext, ControllerDefinition } from '../controller.js';
import { BY_NAMESPACE, indexByNamespace } from '../informers.js';
import { claim, controllerRefOf, controllerRefTo } from '../replicaset/controller-ref.js';
import { PODS, REPLICASETS } from '../replicaset/controller.js';
import { WorkQueue } from '../work-queue.js';
import { desiredReplicasAnnotation, maxRevision, revisionOf, setNewReplicaSetAnnotations, setReplicasAnnotations } from './revisions.js';
import {
  activeOrLatest,
  availableReplicas,
  byCreation,
  isRollingUpdate,
  isSaturated,
  maxSurge,
  maxUnavailable,
  newReplicaSetReplicas,
  proportionalSizes,
  specReplicas,
} from './rollout.js';
import { calculateStatus, condition, deploymentComplete, hasProgressDeadline, msUntilDeadline, newCondition, rolloutStatus, sameStatus, setCondition } from './status.js';
import { equalIgnoringHash, templateHash } from './template-hash.js';

export const DEPLOYMENTS = { group: 'apps', version: 'v1', resource: 'deployments' } as const;

const POD_OWNER_INDEX = 'deployment:pod-controller-uid';

function selectorOf(d: { spec: { selector: Deployment['spec']['selector'] } }): LabelSelector | undefined {
  try {
    return labelSelectorFromSpec(d.spec.selector);
  } catch (err) {
    // Validation refuses bad selectors; one that cannot parse selects nothing.
    if (!(err instanceof ParseError)) throw err;
    return undefined;
  }
}

function isEmptySelector(d: Deployment): boolean {
  return Object.keys(d.spec.selector.matchLabels ?? {}).length === 0 && (d.spec.selector.matchExpressions ?? []).length === 0;
}

/** One sync's view of a Deployment: the latest object written, so later writes build on it. */
interface Working {
  d: Deployment;
}

export class DeploymentController implements Controller {
  readonly name = 'deployment';
  private readonly client: ApiClient;
  private readonly log: Logger;
  private readonly events: EventRecorder;
  private readonly deployments: Informer<Deployment>;
  private readonly sets: Informer<ReplicaSet>;
  private readonly pods: Informer<Pod>;
  private readonly queue: WorkQueue;
  private stopped = false;

  constructor(ctx: ControllerContext, opts: { workers?: number } = {}) {
    this.client = ctx.client;
    this.log = ctx.log;
    this.events = ctx.events('deployment-controller');
    this.deployments = ctx.informers.get<Deployment>(DEPLOYMENTS);
    this.sets = ctx.informers.get<ReplicaSet>(REPLICASETS);
    this.pods = ctx.informers.get<Pod>(PODS);
    this.queue = new WorkQueue({ sync: (key) => this.sync(key), workers: opts.workers ?? 5, log: this.log, name: 'deployment' , metrics: ctx.queueMetrics });
  }

  start(): void {
    indexByNamespace(this.deployments);
    indexByNamespace(this.sets);
    this.pods.addIndex(POD_OWNER_INDEX, (p) => {
      const ref = controllerRefOf(p);
      return ref ? [ref.uid] : [];
    });
    this.deployments.addHandlers({
      add: (d) => this.queue.add(objectKey(d)),
      update: (_old, d) => this.queue.add(objectKey(d)),
      delete: (d) => this.queue.add(objectKey(d)),
    });
    this.sets.addHandlers({
      add: (rs) => this.replicaSetChanged(undefined, rs),
      update: (old, rs) => this.replicaSetChanged(old, rs),
      delete: (rs) => this.replicaSetChanged(undefined, rs),
    });
    // Recreate waits for the old pods to be gone: their deletion wakes the Deployment.
    this.pods.addHandlers({ delete: (pod) => this.podDeleted(pod) });
    // Workers start once every cache has listed: a sync against a half-filled pod cache would
    // count too few pods and create more (Kubernetes' WaitForCacheSync).
    void Promise.all([this.deployments.hasSynced(), this.sets.hasSynced(), this.pods.hasSynced()]).then(() => {
      if (!this.stopped) this.queue.start();
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.queue.stop();
  }

  private ownerOf(rs: ReplicaSet): Deployment | undefined {
    const ref = controllerRefOf(rs);
    if (ref?.kind !== 'Deployment') return undefined;
    const d = this.deployments.get(rs.metadata.namespace, ref.name);
    return d?.metadata.uid === ref.uid ? d : undefined;
  }

  private replicaSetChanged(old: ReplicaSet | undefined, rs: ReplicaSet): void {
    if (old && controllerRefOf(old)?.uid !== controllerRefOf(rs)?.uid) {
      const previous = this.ownerOf(old);
      if (previous) this.queue.add(objectKey(previous));
    }
    if (controllerRefOf(rs)) {
      const d = this.ownerOf(rs);
      if (d) this.queue.add(objectKey(d));
      return;
    }
    // An orphan: every Deployment that may adopt it.
    for (const d of this.deployments.byIndex(BY_NAMESPACE, rs.metadata.namespace ?? '')) {
      if (selectorOf(d)?.matches(rs.metadata.labels)) this.queue.add(objectKey(d));
    }
  }

  private podDeleted(pod: Pod): void {
    const ref = controllerRefOf(pod);
    if (ref?.kind !== 'ReplicaSet') return;
    const rs = this.sets.get(pod.metadata.namespace, ref.name);
    const d = rs ? this.ownerOf(rs) : undefined;
    if (d && d.spec.strategy.type === 'Recreate') this.queue.add(objectKey(d));
  }

  private involved(d: Deployment) {
    return { kind: 'Deployment', apiVersion: 'apps/v1', name: d.metadata.name ?? '', namespace: d.metadata.namespace ?? '', uid: d.metadata.uid ?? '' };
  }

  private async sync(key: string): Promise<void> {
    const slash = key.indexOf('/');
    const ns = key.slice(0, slash);
    const name = key.slice(slash + 1);
    const cached = this.deployments.get(ns, name);
    if (!cached) return;
    const w: Working = { d: cached };
    const d = cached;
    if (isEmptySelector(d)) {
      // Validation forbids it; an old object with one would select every pod of the namespace.
      void this.events.record(this.involved(d), 'Warning', 'SelectingAll', 'This deployment is selecting all pods. A non-empty selector is required.');
      return;
    }
    const sets = await this.claimReplicaSets(d);
    if (d.metadata.deletionTimestamp !== undefined) {
      await this.syncStatusOnly(w, sets);
      return;
    }
    await this.checkPausedCondition(w);
    const { newRS, olds } = await this.newAndOld(w, sets);
    if (w.d.spec.paused === true || this.isScalingEvent(w, newRS, olds)) {
      await this.syncScale(w, newRS, olds);
      return;
    }
    if (w.d.spec.strategy.type === 'Recreate') await this.rolloutRecreate(w, newRS, olds);
    else await this.rolloutRolling(w, newRS ?? (await this.createNewReplicaSet(w, olds)), olds);
  }

  private async claimReplicaSets(d: Deployment): Promise<ReplicaSet[]> {
    const selector = selectorOf(d);
    if (!selector) return [];
    const ns = d.metadata.namespace ?? '';
    return claim({
      client: this.client,
      owner: d,
      selector,
      ref: REPLICASETS,
      candidates: this.sets.byIndex(BY_NAMESPACE, ns),
      recheck: async () => {
        try {
          const fresh = await this.client.get<Deployment>({ ...DEPLOYMENTS, namespace: ns, name: d.metadata.name ?? '' });
          return fresh.metadata.uid === d.metadata.uid && fresh.metadata.deletionTimestamp === undefined;
        } catch (err) {
          if (err instanceof NotFoundError) return false;
          throw err;
        }
      },
    });
  }

  /** Progressing=Unknown with DeploymentPaused / DeploymentResumed as the pause flag flips. */
  private async checkPausedCondition(w: Working): Promise<void> {
    const d = w.d;
    if (!hasProgressDeadline(d)) return;
    const cond = condition(d.status, DEPLOYMENT_PROGRESSING);
    if (cond?.reason === REASON.progressDeadlineExceeded) return;
    const pausedNow = d.spec.paused === true;
    const status: DeploymentStatus = structuredClone(d.status);
    if (pausedNow && cond?.reason !== REASON.deploymentPaused) {
      setCondition(status, newCondition(DEPLOYMENT_PROGRESSING, 'Unknown', REASON.deploymentPaused, 'Deployment is paused'));
    } else if (!pausedNow && cond?.reason === REASON.deploymentPaused) {
      setCondition(status, newCondition(DEPLOYMENT_PROGRESSING, 'Unknown', REASON.deploymentResumed, 'Deployment is resumed'));
    } else {
      return;
    }
    await this.writeStatus(w, status);
  }

  /** A change of spec.replicas not yet applied to the active ReplicaSets' desired-replicas annotation. */
  private isScalingEvent(w: Working, newRS: ReplicaSet | undefined, olds: ReplicaSet[]): boolean {
    const all = [...olds, ...(newRS ? [newRS] : [])];
    for (const rs of all.filter((r) => r.spec.replicas > 0)) {
      const desired = desiredReplicasAnnotation(rs);
      if (desired !== undefined && desired !== w.d.spec.replicas) return true;
    }
    return false;
  }

  // ---------------------------------------------------------------------------------------------
  // The new ReplicaSet and the revision

  /**
   * The ReplicaSet of the current template, if there is one (the oldest, should there be two), with
   * its revision brought up to date, and all the others.
   */
  private async newAndOld(w: Working, sets: ReplicaSet[]): Promise<{ newRS: ReplicaSet | undefined; olds: ReplicaSet[] }> {
    const sorted = [...sets].sort(byCreation);
    const existing = sorted.find((rs) => equalIgnoringHash(rs.spec.template, w.d.spec.template));
    const olds = sorted.filter((rs) => rs !== existing);
    const newRS = existing ? await this.syncNewReplicaSet(w, existing, olds) : undefined;
    return { newRS, olds };
  }

  /** Kubernetes' getNewReplicaSet for an existing one: annotations (a rollback's new revision), minReadySeconds, the Deployment's revision. */
  private async syncNewReplicaSet(w: Working, existing: ReplicaSet, olds: ReplicaSet[]): Promise<ReplicaSet> {
    const d = w.d;
    const newRevision = maxRevision(olds) + 1;
    let rs = existing;
    const annotations = { ...existing.metadata.annotations };
    const changed = setNewReplicaSetAnnotations(d, annotations, newRevision, true, maxSurge(d));
    if (changed || existing.spec.minReadySeconds !== d.spec.minReadySeconds) {
      rs = await this.client.update<ReplicaSet>(
        { ...REPLICASETS, namespace: existing.metadata.namespace, name: existing.metadata.name ?? '' },
        { ...existing, metadata: { ...existing.metadata, annotations }, spec: { ...existing.spec, minReadySeconds: d.spec.minReadySeconds } },
      );
    }
    await this.setDeploymentRevision(w, rs.metadata.annotations?.[REVISION_ANNOTATION] ?? '');
    if (hasProgressDeadline(w.d) && !condition(w.d.status, DEPLOYMENT_PROGRESSING)) {
      const status = structuredClone(w.d.status);
      setCondition(status, newCondition(DEPLOYMENT_PROGRESSING, 'True', REASON.foundNewReplicaSet, `Found new replica set "${rs.metadata.name ?? ''}"`));
      await this.writeStatus(w, status);
    }
    return rs;
  }

  /** Creates the ReplicaSet of the current template, named after its hash, at the size the strategy allows now. */
  private async createNewReplicaSet(w: Working, olds: ReplicaSet[]): Promise<ReplicaSet> {
    const d = w.d;
    const newRevision = maxRevision(olds) + 1;
    const hash = templateHash(d.spec.template, d.status.collisionCount);
    const template = structuredClone(d.spec.template);
    template.metadata.labels = { ...template.metadata.labels, [POD_TEMPLATE_HASH_LABEL]: hash };
    const selector = structuredClone(d.spec.selector);
    selector.matchLabels = { ...selector.matchLabels, [POD_TEMPLATE_HASH_LABEL]: hash };
    const annotations: Record<string, string> = {};
    setNewReplicaSetAnnotations(d, annotations, newRevision, false, maxSurge(d));
    const draft: ReplicaSet = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: `${d.metadata.name ?? ''}-${hash}`,
        namespace: d.metadata.namespace,
        labels: { ...template.metadata.labels },
        annotations,
        ownerReferences: [controllerRefTo(d)],
      },
      spec: { replicas: 0, minReadySeconds: d.spec.minReadySeconds, selector, template },
      status: { replicas: 0 },
    };
    draft.spec.replicas = newReplicaSetReplicas(d, olds, undefined);
    let created: ReplicaSet;
    try {
      created = await this.client.create<ReplicaSet>({ ...REPLICASETS, namespace: d.metadata.namespace }, draft);
    } catch (err) {
      if (!(err instanceof AlreadyExistsError)) throw err;
      const found = await this.client.get<ReplicaSet>({ ...REPLICASETS, namespace: d.metadata.namespace, name: draft.metadata.name ?? '' });
      // Ours already (an earlier sync created it and the cache has not caught up): use it.
      if (controllerRefOf(found)?.uid === d.metadata.uid && equalIgnoringHash(found.spec.template, d.spec.template)) return found;
      // Another template hashed to the same name: count the collision, which changes the hash, and retry.
      const status = structuredClone(w.d.status);
      status.collisionCount = (status.collisionCount ?? 0) + 1;
      await this.writeStatus(w, status);
      throw err;
    }
    if (draft.spec.replicas > 0) {
      void this.events.record(this.involved(d), 'Normal', 'ScalingReplicaSet', `Scaled up replica set ${created.metadata.name ?? ''} from 0 to ${draft.spec.replicas}`);
    }
    await this.setDeploymentRevision(w, String(newRevision));
    if (hasProgressDeadline(w.d)) {
      const status = structuredClone(w.d.status);
      setCondition(status, newCondition(DEPLOYMENT_PROGRESSING, 'True', REASON.newReplicaSetCreated, `Created new replica set "${created.metadata.name ?? ''}"`));
      await this.writeStatus(w, status);
    }
    return created;
  }

  /** The Deployment carries the revision of its current ReplicaSet, as kubectl expects. */
  private async setDeploymentRevision(w: Working, revision: string): Promise<void> {
    if (revision === '' || w.d.metadata.annotations?.[REVISION_ANNOTATION] === revision) return;
    w.d = await this.client.patch<Deployment>(
      { ...DEPLOYMENTS, namespace: w.d.metadata.namespace, name: w.d.metadata.name ?? '' },
      { metadata: { annotations: { [REVISION_ANNOTATION]: revision }, resourceVersion: w.d.metadata.resourceVersion } },
      'merge',
    );
  }

  private async writeStatus(w: Working, status: DeploymentStatus): Promise<void> {
    if (sameStatus(w.d.status, status)) return;
    w.d = await this.client.update<Deployment>(
      { ...DEPLOYMENTS, namespace: w.d.metadata.namespace, name: w.d.metadata.name ?? '', subresource: 'status' },
      { ...w.d, status },
    );
  }

  // ---------------------------------------------------------------------------------------------
  // Scaling ReplicaSets

  /** Resize one ReplicaSet (and stamp the Deployment's sizes on it); true when its size changed. */
  private async scaleReplicaSet(w: Working, rs: ReplicaSet, replicas: number): Promise<{ rs: ReplicaSet; scaled: boolean }> {
    const d = w.d;
    const annotations = { ...rs.metadata.annotations };
    const annotationsChanged = setReplicasAnnotations(annotations, d.spec.replicas, d.spec.replicas + maxSurge(d));
    const sizeChanged = rs.spec.replicas !== replicas;
    if (!sizeChanged && !annotationsChanged) return { rs, scaled: false };
    const updated = await this.client.update<ReplicaSet>(
      { ...REPLICASETS, namespace: rs.metadata.namespace, name: rs.metadata.name ?? '' },
      { ...rs, metadata: { ...rs.metadata, annotations }, spec: { ...rs.spec, replicas } },
    );
    if (sizeChanged) {
      const direction = replicas > rs.spec.replicas ? 'up' : 'down';
      void this.events.record(this.involved(d), 'Normal', 'ScalingReplicaSet', `Scaled ${direction} replica set ${rs.metadata.name ?? ''} from ${rs.spec.replicas} to ${replicas}`);
    }
    return { rs: updated, scaled: sizeChanged };
  }

  /** Scaling without a rollout (Kubernetes' scale): one active ReplicaSet takes the count; several share it in proportion. */
  private async scale(w: Working, newRS: ReplicaSet | undefined, olds: ReplicaSet[]): Promise<void> {
    const d = w.d;
    const target = activeOrLatest(newRS, olds);
    if (target) {
      if (target.spec.replicas !== d.spec.replicas) await this.scaleReplicaSet(w, target, d.spec.replicas);
      return;
    }
    if (isSaturated(d, newRS)) {
      for (const rs of olds.filter((r) => r.spec.replicas > 0)) await this.scaleReplicaSet(w, rs, 0);
      return;
    }
    if (!isRollingUpdate(d)) return;
    const active = [...olds, ...(newRS ? [newRS] : [])].filter((rs) => rs.spec.replicas > 0);
    const sizes = proportionalSizes(d, active);
    for (const rs of active) await this.scaleReplicaSet(w, rs, sizes.get(rs.metadata.name ?? '') ?? rs.spec.replicas);
  }

  private async syncScale(w: Working, newRS: ReplicaSet | undefined, olds: ReplicaSet[]): Promise<void> {
    await this.scale(w, newRS, olds);
    if (w.d.spec.paused === true) await this.cleanup(w, olds);
    const fresh = this.refreshed([...olds, ...(newRS ? [newRS] : [])]);
    const freshNew = newRS ? this.refreshed([newRS])[0] : undefined;
    await this.writeStatus(w, calculateStatus(w.d, fresh, freshNew));
  }

  private async syncStatusOnly(w: Working, sets: ReplicaSet[]): Promise<void> {
    const { newRS, olds } = await this.newAndOld(w, sets);
    await this.writeStatus(w, calculateStatus(w.d, [...olds, ...(newRS ? [newRS] : [])], newRS));
  }

  /** The cached versions of `sets` (statuses the ReplicaSet controller wrote since), by uid. */
  private refreshed(sets: ReplicaSet[]): ReplicaSet[] {
    return sets.map((rs) => {
      const cached = this.sets.get(rs.metadata.namespace, rs.metadata.name ?? '');
      return cached && cached.metadata.uid === rs.metadata.uid && BigInt(cached.metadata.resourceVersion ?? '0') > BigInt(rs.metadata.resourceVersion ?? '0') ? cached : rs;
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Rollouts

  private async rolloutRolling(w: Working, current: ReplicaSet, olds: ReplicaSet[]): Promise<void> {
    let newRS = current;
    const d = w.d;
    const all = () => [...olds, ...(newRS ? [newRS] : [])];

    // Scale the new ReplicaSet up within the surge.
    if (newRS.spec.replicas !== d.spec.replicas) {
      const target = newRS.spec.replicas > d.spec.replicas ? d.spec.replicas : newReplicaSetReplicas(d, all(), newRS);
      const r = await this.scaleReplicaSet(w, newRS, target);
      newRS = r.rs;
      if (r.scaled) return this.finishRollout(w, all(), newRS);
    }

    // Scale old ReplicaSets down within the unavailability budget.
    if (await this.reconcileOld(w, olds, newRS)) return this.finishRollout(w, all(), newRS);
    if (deploymentComplete(w.d, w.d.status)) await this.cleanup(w, olds);
    return this.finishRollout(w, all(), newRS);
  }

  /** Kubernetes' reconcileOldReplicaSets: first unhealthy old pods, then old pods while enough stay available. */
  private async reconcileOld(w: Working, olds: ReplicaSet[], newRS: ReplicaSet): Promise<boolean> {
    const d = w.d;
    const oldCount = specReplicas(olds);
    if (oldCount === 0) return false;
    const allCount = oldCount + newRS.spec.replicas;
    const minAvailable = d.spec.replicas - maxUnavailable(d);
    const newUnavailable = newRS.spec.replicas - (newRS.status.availableReplicas ?? 0);
    const maxScaledDown = allCount - minAvailable - newUnavailable;
    if (maxScaledDown <= 0) return false;

    // Old pods that are not available cost no availability to remove.
    let cleaned = 0;
    const sortedOld = [...olds].sort(byCreation);
    for (let i = 0; i < sortedOld.length; i++) {
      const rs = sortedOld[i]!;
      if (cleaned >= maxScaledDown) break;
      if (rs.spec.replicas === 0) continue;
      const unavailable = rs.spec.replicas - (rs.status.availableReplicas ?? 0);
      if (unavailable <= 0) continue;
      const down = Math.min(maxScaledDown - cleaned, unavailable);
      sortedOld[i] = (await this.scaleReplicaSet(w, rs, rs.spec.replicas - down)).rs;
      cleaned += down;
    }

    // Then available old pods, as long as minAvailable stay available across all ReplicaSets.
    const available = availableReplicas([...sortedOld, newRS]);
    let scaledDown = 0;
    if (available > minAvailable) {
      const budget = available - minAvailable;
      for (let i = 0; i < sortedOld.length && scaledDown < budget; i++) {
        const rs = sortedOld[i]!;
        if (rs.spec.replicas === 0) continue;
        const down = Math.min(rs.spec.replicas, budget - scaledDown);
        sortedOld[i] = (await this.scaleReplicaSet(w, rs, rs.spec.replicas - down)).rs;
        scaledDown += down;
      }
    }
    for (let i = 0; i < olds.length; i++) {
      const replaced = sortedOld.find((rs) => rs.metadata.uid === olds[i]!.metadata.uid);
      if (replaced) olds[i] = replaced;
    }
    return cleaned + scaledDown > 0;
  }

  private async rolloutRecreate(w: Working, found: ReplicaSet | undefined, olds: ReplicaSet[]): Promise<void> {
    let newRS = found;
    const all = () => [...olds, ...(newRS ? [newRS] : [])];
    let scaledDown = false;
    for (let i = 0; i < olds.length; i++) {
      const rs = olds[i]!;
      if (rs.spec.replicas === 0) continue;
      const r = await this.scaleReplicaSet(w, rs, 0);
      olds[i] = r.rs;
      scaledDown ||= r.scaled;
    }
    if (scaledDown) return this.finishRollout(w, all(), newRS);
    // The new pods start only once no old pod is left running.
    if (this.oldPodsRunning(newRS, olds)) return this.finishRollout(w, all(), newRS);
    newRS ??= await this.createNewReplicaSet(w, olds);
    if (newRS.spec.replicas !== w.d.spec.replicas) newRS = (await this.scaleReplicaSet(w, newRS, w.d.spec.replicas)).rs;
    if (deploymentComplete(w.d, w.d.status)) await this.cleanup(w, olds);
    return this.finishRollout(w, all(), newRS);
  }

  private oldPodsRunning(newRS: ReplicaSet | undefined, olds: ReplicaSet[]): boolean {
    if (olds.some((rs) => this.refreshed([rs])[0]!.status.replicas > 0)) return true;
    for (const rs of olds) {
      if (rs.metadata.uid === newRS?.metadata.uid) continue;
      const pods = this.pods.byIndex(POD_OWNER_INDEX, rs.metadata.uid ?? '');
      if (pods.some((p) => p.status.phase !== 'Succeeded' && p.status.phase !== 'Failed')) return true;
    }
    return false;
  }

  /** Writes the rollout's status, and looks again when the progress deadline would pass. */
  private async finishRollout(w: Working, all: ReplicaSet[], newRS: ReplicaSet | undefined): Promise<void> {
    const sets = this.refreshed(all);
    const freshNew = newRS ? this.refreshed([newRS])[0] : undefined;
    const status = rolloutStatus(w.d, sets, freshNew);
    await this.writeStatus(w, status);
    const left = msUntilDeadline(w.d, status);
    if (left !== undefined) this.queue.addAfter(objectKey(w.d), Math.max(1000, left + 100));
  }

  /** Old ReplicaSets beyond revisionHistoryLimit, scaled to zero and settled, are deleted oldest revision first. */
  private async cleanup(w: Working, olds: ReplicaSet[]): Promise<void> {
    const limit = w.d.spec.revisionHistoryLimit;
    const alive = olds.filter((rs) => rs.metadata.deletionTimestamp === undefined);
    const excess = alive.length - limit;
    if (excess <= 0) return;
    const byRevision = [...alive].sort((a, b) => revisionOf(a) - revisionOf(b) || byCreation(a, b));
    for (const rs of byRevision.slice(0, excess)) {
      if (rs.status.replicas !== 0 || rs.spec.replicas !== 0 || (rs.metadata.generation ?? 1) > (rs.status.observedGeneration ?? 0)) continue;
      try {
        await this.client.delete({ ...REPLICASETS, namespace: rs.metadata.namespace, name: rs.metadata.name ?? '' }, { preconditions: { uid: rs.metadata.uid ?? '' } });
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
      }
    }
  }
}

export const deploymentControllerDefinition: ControllerDefinition = {
  name: 'deployment',
  create: (ctx) => new DeploymentController(ctx, { ...(ctx.config?.concurrentDeploymentSyncs !== undefined ? { workers: ctx.config.concurrentDeploymentSyncs } : {}) }),
};
