// The garbage collector (Kubernetes' garbagecollector controller): deletes dependents whose owners
// are gone, carries out foreground deletion (dependents first, the owner last) and orphaning
// (dependents lose their reference, then the owner goes). The API server only records the policy
// as a finalizer (shared/api/propagation.ts); everything else happens here, through the API.
//
// Two queues of uids, as in Kubernetes: `attemptToDelete` decides about one object (a dependent
// whose owners may be gone, or an owner deleting in the foreground), `attemptToOrphan` orphans the
// dependents of one owner. A sync that fails (a conflict, the API unreachable) is retried with the
// queue's back-off; every decision that an owner is gone is confirmed by a live GET and uid match.
//
// Besides the built-in kinds it follows the custom ones (custom-kinds.ts): each Established
// CustomResourceDefinition's objects are watched with the same handlers, and watched no longer
// once the definition goes.
import type { CustomResourceDefinition } from '../../shared/api/apiextensions.js';
import type { OwnerReference } from '../../shared/api/meta.js';
import { FOREGROUND_FINALIZER, ORPHAN_FINALIZER, type DeletionPropagation } from '../../shared/api/propagation.js';
import { resourceUrlPath, type ResourceRef } from '../../shared/client/http-client.js';
import type { EventRecorder } from '../../shared/client/events.js';
import type { Informer } from '../../shared/client/informer.js';
import { ConflictError, NotFoundError, errorMessage } from '../../shared/errors.js';
import type { Controller, ControllerContext, ControllerDefinition } from '../controller.js';
import { WorkQueue } from '../work-queue.js';
import { CustomKinds } from './custom-kinds.js';
import { CUSTOM_RESOURCE_DEFINITIONS } from '../custom-kinds.js';
import { OwnershipGraph, type GraphNode, type ObjectIdentity } from './graph.js';
import { collectableResources, groupOf, resourceOfReference, type CollectedKind } from './kinds.js';
import { garbageCollectorMetrics, type GarbageCollectorMetrics } from './metrics.js';

export const GARBAGE_COLLECTOR_NAME = 'garbagecollector';
const COMPONENT = 'garbage-collector-controller';

/** What the collector reads of any object. */
interface GcObject {
  metadata: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    deletionTimestamp?: string;
    finalizers?: string[];
    ownerReferences?: OwnerReference[];
  };
}

/** How an owner reference stands, from a dependent's point of view. */
type OwnerState = 'solid' | 'dangling' | 'waiting' | 'unresolvable';

/** Updates retried in place on a conflict before the sync gives up and is queued again. */
const CONFLICT_RETRIES = 5;

/**
 * How long the start waits for the custom kinds established then to be listed, and how long a
 * decision that an owner has no dependents waits for a newly followed kind. Bounded: decisions
 * stay confirmed by a live GET without it, and a kind that cannot be listed must not hold up every
 * other; the wait only keeps a foreground or orphaning owner from missing dependents not listed yet.
 */
const CUSTOM_KINDS_SYNC_TIMEOUT_MS = 30_000;

/** A 404 that says the resource is not served (a custom kind whose definition went or is not established), not that the object is gone. */
class KindNotServedError extends Error {
  constructor(id: Pick<ObjectIdentity, 'group' | 'resource'>) {
    super(`the server does not serve ${id.resource}${id.group ? `.${id.group}` : ''} now`);
    this.name = 'KindNotServedError';
  }
}

/** A watched kind: its informer, and whether its events still count. */
interface Monitor {
  kind: CollectedKind;
  informer: Informer<GcObject>;
  /** Cleared when the kind is followed no longer: events still on their way are ignored. */
  live: boolean;
}

/** A custom kind's monitor, which may not have listed its objects yet. */
interface CustomMonitor extends Monitor {
  /** Whether its first list is in the graph. */
  listed: boolean;
  /** Resolves once it is listed, or followed no longer. */
  settled: Promise<void>;
  /** Settles it when the kind is followed no longer (its list may never come). */
  end: () => void;
}

function kindKey(group: string, kind: string): string {
  return `${group}/${kind}`;
}

function kindRef(kind: CollectedKind): ResourceRef {
  return { group: kind.group, version: kind.version, resource: kind.resource };
}

function identityOf(info: CollectedKind, obj: GcObject): ObjectIdentity | undefined {
  const uid = obj.metadata.uid;
  const name = obj.metadata.name;
  if (!uid || !name) return undefined;
  return { uid, group: info.group, version: info.version, resource: info.resource, kind: info.kind, namespace: info.namespaced ? obj.metadata.namespace : undefined, name };
}

function nodeOf(identity: ObjectIdentity, obj: GcObject): GraphNode {
  const deleting = obj.metadata.deletionTimestamp !== undefined;
  const finalizers = obj.metadata.finalizers ?? [];
  return {
    identity,
    owners: obj.metadata.ownerReferences ?? [],
    beingDeleted: deleting,
    deletingDependents: deleting && finalizers.includes(FOREGROUND_FINALIZER),
    orphaningDependents: deleting && finalizers.includes(ORPHAN_FINALIZER),
  };
}

function refOf(id: Pick<ObjectIdentity, 'group' | 'version' | 'resource' | 'namespace' | 'name'>): ResourceRef {
  return { group: id.group, version: id.version, resource: id.resource, ...(id.namespace !== undefined ? { namespace: id.namespace } : {}), name: id.name };
}

function describeObject(id: ObjectIdentity): string {
  return `${id.resource}/${id.namespace ? `${id.namespace}/` : ''}${id.name}`;
}

export interface GarbageCollectorOptions {
  /** Workers per queue (Kubernetes' --concurrent-gc-syncs). */
  workers?: number;
  /** The built-in kinds to watch; the resource table's collectable kinds by default (custom kinds are always followed). */
  resources?: readonly CollectedKind[];
}

export class GarbageCollector implements Controller {
  readonly name = GARBAGE_COLLECTOR_NAME;
  readonly graph = new OwnershipGraph();
  private readonly attemptToDelete: WorkQueue;
  private readonly attemptToOrphan: WorkQueue;
  private readonly resources: readonly CollectedKind[];
  /** The custom kinds followed, from their definitions. */
  private readonly custom: CustomKinds;
  /** The custom kinds' informers, by definition name. */
  private readonly monitors = new Map<string, CustomMonitor>();
  /** Dependents whose owner's kind was not known, by the owner's group/kind: judged again if it comes. */
  private readonly unresolved = new Map<string, Set<string>>();
  private readonly events: EventRecorder;
  private readonly metrics: GarbageCollectorMetrics;
  private stopped = false;

  constructor(
    private readonly ctx: ControllerContext,
    opts: GarbageCollectorOptions = {},
  ) {
    this.resources = opts.resources ?? collectableResources();
    this.custom = new CustomKinds({ follow: (kind) => this.follow(kind), unfollow: (kind, deleted) => this.unfollow(kind, deleted) });
    this.events = ctx.events(COMPONENT);
    this.metrics = garbageCollectorMetrics(ctx.registry);
    const workers = opts.workers ?? 5;
    // Kubernetes' queue names, so workqueue_* metrics read the same.
    this.attemptToDelete = new WorkQueue({ name: 'garbage_collector_attempt_to_delete', workers, log: ctx.log, metrics: ctx.queueMetrics, sync: (uid) => this.attemptToDeleteItem(uid) });
    this.attemptToOrphan = new WorkQueue({ name: 'garbage_collector_attempt_to_orphan', workers, log: ctx.log, metrics: ctx.queueMetrics, sync: (uid) => this.orphanDependentsOf(uid) });
  }

  start(): void {
    for (const kind of this.resources) this.watch({ kind, informer: this.ctx.informers.get<GcObject>(kindRef(kind)), live: true });
    const definitions = this.ctx.informers.get<CustomResourceDefinition>(CUSTOM_RESOURCE_DEFINITIONS);
    definitions.addHandlers({
      add: (crd) => {
        if (!this.stopped) this.custom.observed(crd);
      },
      update: (oldCrd, crd) => {
        if (this.stopped) return;
        // Deleted and made again under the same name: the old one's objects went with it.
        if (oldCrd.metadata.uid !== crd.metadata.uid) this.custom.deleted(oldCrd);
        this.custom.observed(crd);
      },
      delete: (crd) => {
        if (!this.stopped) this.custom.deleted(crd);
      },
    });
    // Decide nothing before every informer has listed once: an owner not yet listed would look
    // gone. The definitions listed, the custom kinds they establish are asked for: wait for those.
    void this.ctx.informers
      .synced()
      .then(() => this.customKindsSynced())
      .then(() => {
        if (this.stopped) return;
        this.attemptToDelete.start();
        this.attemptToOrphan.start();
        this.ctx.log.info('garbage collector synced', { resources: this.resources.length, customResources: this.custom.size, objects: this.graph.size });
      });
  }

  private async customKindsSynced(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), CUSTOM_KINDS_SYNC_TIMEOUT_MS)));
    const late = await Promise.race([this.ctx.informers.synced().then(() => false), timedOut]);
    clearTimeout(timer);
    if (late) this.ctx.log.warn('custom resources not all listed in time; starting anyway', { waitedMs: CUSTOM_KINDS_SYNC_TIMEOUT_MS });
  }

  /** The collector's handlers on one kind's informer. */
  private watch(monitor: Monitor): void {
    const kind = monitor.kind;
    monitor.informer.addHandlers({
      add: (obj) => {
        if (monitor.live) this.observed(kind, obj);
      },
      update: (oldObj, newObj) => {
        if (!monitor.live) return;
        // A relist can show a name re-created under a new uid as an update: two objects.
        if (oldObj.metadata.uid !== newObj.metadata.uid) this.gone(kind, oldObj);
        this.observed(kind, newObj);
      },
      delete: (obj) => {
        if (monitor.live) this.gone(kind, obj);
      },
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Following custom kinds

  private follow(kind: CollectedKind): void {
    const informer = this.ctx.informers.get<GcObject>(kindRef(kind));
    let end = () => {};
    const ended = new Promise<void>((resolve) => (end = resolve));
    // Bounded, as at the start: a kind that cannot be listed must not hold up every owner's deletion.
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.ctx.log.warn('custom resource not listed in time; deciding without it', { resource: `${kind.resource}.${kind.group}`, waitedMs: CUSTOM_KINDS_SYNC_TIMEOUT_MS });
        resolve();
      }, CUSTOM_KINDS_SYNC_TIMEOUT_MS);
    });
    const settled = Promise.race([informer.hasSynced(), ended, late]).then(() => {
      clearTimeout(timer);
      monitor.listed = true;
    });
    const monitor: CustomMonitor = { kind, informer, live: true, listed: false, settled, end };
    this.monitors.set(kind.definition ?? '', monitor);
    this.watch(monitor);
    // A fresh informer holds nothing yet; one another controller shares may have listed already.
    for (const obj of monitor.informer.list()) this.observed(kind, obj);
    // Dependents left alone because this kind was not known yet are judged now.
    const key = kindKey(kind.group, kind.kind);
    for (const uid of this.unresolved.get(key) ?? []) this.attemptToDelete.add(uid);
    this.unresolved.delete(key);
    this.ctx.log.info('following custom resource', { resource: `${kind.resource}.${kind.group}`, version: kind.version });
  }

  private unfollow(kind: CollectedKind, definitionDeleted: boolean): void {
    const name = kind.definition ?? '';
    const monitor = this.monitors.get(name);
    if (!monitor) return;
    this.monitors.delete(name);
    monitor.live = false;
    monitor.end();
    const objects = monitor.informer.list();
    void this.ctx.informers.remove(kindRef(kind)).catch((err: unknown) => this.ctx.log.error('custom resource informer did not stop', { resource: `${kind.resource}.${kind.group}`, error: errorMessage(err) }));
    for (const obj of objects) {
      // A deleted definition went after every object of it: those still here are gone, and their
      // dependents are judged (their owners' deletions may not have reached the informer). Otherwise
      // they may still exist, only unseen: they leave the graph and nothing is decided about them.
      if (definitionDeleted) this.gone(kind, obj);
      else this.forget(kind, obj);
    }
    this.ctx.log.info('no longer following custom resource', { resource: `${kind.resource}.${kind.group}`, definitionDeleted, objects: objects.length });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const m of this.monitors.values()) m.end();
    await Promise.all([this.attemptToDelete.stop(), this.attemptToOrphan.stop()]);
  }

  // ---------------------------------------------------------------------------------------------
  // Keeping the graph

  private observed(info: CollectedKind, obj: GcObject): void {
    const identity = identityOf(info, obj);
    if (!identity) return;
    const node = nodeOf(identity, obj);
    const change = this.graph.observe(node);
    this.metrics.graphNodes.set(this.graph.size);
    // A new object, or new owners: are they there? (Cheap when the graph already holds them.)
    if (node.owners.length > 0 && (change.added || change.ownersAdded.length > 0)) this.attemptToDelete.add(identity.uid);
    if (node.deletingDependents) {
      this.attemptToDelete.add(identity.uid);
      if (change.startedDeletingDependents) for (const dep of this.graph.dependents(identity.uid)) this.attemptToDelete.add(dep.identity.uid);
    }
    if (node.orphaningDependents) this.attemptToOrphan.add(identity.uid);
    // An owner waiting for its dependents may be waiting for this one no longer.
    for (const o of change.ownersRemoved) this.ownerMayBeDone(o.uid);
  }

  private forget(info: CollectedKind, obj: GcObject): void {
    const identity = identityOf(info, obj);
    if (!identity) return;
    this.graph.forget(identity.uid);
    this.unpark(identity.uid);
    this.metrics.graphNodes.set(this.graph.size);
  }

  /** An object left the graph: it waits for no owner kind any more. */
  private unpark(uid: string): void {
    for (const [key, parked] of this.unresolved) if (parked.delete(uid) && parked.size === 0) this.unresolved.delete(key);
  }

  private gone(info: CollectedKind, obj: GcObject): void {
    const identity = identityOf(info, obj);
    if (!identity) return;
    const node = this.graph.forget(identity.uid);
    this.unpark(identity.uid);
    this.metrics.graphNodes.set(this.graph.size);
    // Its dependents now name an absent owner.
    for (const dep of this.graph.dependents(identity.uid)) this.attemptToDelete.add(dep.identity.uid);
    for (const o of node?.owners ?? []) this.ownerMayBeDone(o.uid);
  }

  private ownerMayBeDone(ownerUid: string): void {
    if (this.graph.get(ownerUid)?.deletingDependents) this.attemptToDelete.add(ownerUid);
  }

  // ---------------------------------------------------------------------------------------------
  // attemptToDelete: one object, as a dependent or as an owner deleting in the foreground

  private async attemptToDeleteItem(uid: string): Promise<void> {
    const node = this.graph.get(uid);
    if (!node) return;
    if (node.deletingDependents) return this.processDeletingDependents(node);
    // Already going (graceful, or finalizers of its own): nothing to decide.
    if (node.beingDeleted || node.owners.length === 0) return;

    // Fast path: every owner is in the graph, alive and not deleting in the foreground.
    if (node.owners.every((o) => this.ownerStateFromGraph(node, o) === 'solid')) return;

    // Decide on the object as it is now, not as the informer last showed it.
    const latest = await this.getLive(node.identity);
    if (!latest) return;
    const owners = latest.metadata.ownerReferences ?? [];
    if (owners.length === 0 || latest.metadata.deletionTimestamp !== undefined) return;
    const states = await Promise.all(owners.map(async (o) => ({ ref: o, state: await this.ownerState(node, o) })));
    const solid = states.filter((s) => s.state === 'solid' || s.state === 'unresolvable');
    const dangling = states.filter((s) => s.state === 'dangling');
    const waiting = states.filter((s) => s.state === 'waiting');

    if (solid.length > 0) {
      // Someone still owns it: it stays, without the references that no longer hold it.
      const drop = new Set([...dangling, ...waiting].map((s) => s.ref.uid));
      if (drop.size > 0) await this.removeOwnerReferences(node.identity, drop);
      return;
    }
    let policy: DeletionPropagation;
    if (waiting.length > 0 && this.graph.dependents(uid).length > 0) {
      // An owner waits for it and it has dependents of its own: foreground again, so the chain
      // is deleted bottom-up.
      policy = 'Foreground';
    } else {
      const finalizers = latest.metadata.finalizers ?? [];
      policy = finalizers.includes(ORPHAN_FINALIZER) ? 'Orphan' : finalizers.includes(FOREGROUND_FINALIZER) ? 'Foreground' : 'Background';
    }
    await this.deleteObject(node.identity, policy);
  }

  /** An owner's state as far as the graph knows; 'dangling' here means "not known, ask the API". */
  private ownerStateFromGraph(dependent: GraphNode, ref: OwnerReference): OwnerState {
    const owner = this.graph.resolves(ref, dependent.identity.namespace);
    if (!owner) return 'dangling';
    return owner.deletingDependents ? 'waiting' : 'solid';
  }

  private async ownerState(dependent: GraphNode, ref: OwnerReference): Promise<OwnerState> {
    const info = resourceOfReference(ref, this.resources) ?? resourceOfReference(ref, this.custom.kinds());
    if (!info) {
      // A kind this server does not serve: nothing can confirm the owner is gone, so keep it,
      // until a definition of that kind is followed (the definitions' informer may lag).
      const key = kindKey(groupOf(ref.apiVersion), ref.kind);
      let parked = this.unresolved.get(key);
      if (!parked) this.unresolved.set(key, (parked = new Set()));
      parked.add(dependent.identity.uid);
      this.ctx.log.warn('owner reference names a kind that is not served; leaving the dependent alone', { dependent: describeObject(dependent.identity), owner: `${ref.apiVersion}/${ref.kind} ${ref.name}` });
      return 'unresolvable';
    }
    const namespace = dependent.identity.namespace;
    if (info.namespaced && namespace === undefined) {
      // A cluster-scoped object cannot be owned by a namespaced one; Kubernetes leaves it and says so.
      void this.events.record(
        { kind: dependent.identity.kind, name: dependent.identity.name, uid: dependent.identity.uid, apiVersion: apiVersionOfIdentity(dependent.identity) },
        'Warning',
        'OwnerRefInvalidNamespace',
        `ownerRef [${ref.apiVersion}/${ref.kind}, namespace: , name: ${ref.name}, uid: ${ref.uid}] does not exist in namespace ""`,
      );
      return 'unresolvable';
    }
    const fromGraph = this.ownerStateFromGraph(dependent, ref);
    if (fromGraph !== 'dangling') return fromGraph;
    // Absent from the graph: the informer may lag. Only the API can say it is gone.
    let owner: GcObject | undefined;
    try {
      owner = await this.getLive({ uid: ref.uid, group: info.group, version: info.version, resource: info.resource, kind: info.kind, namespace: info.namespaced ? namespace : undefined, name: ref.name });
    } catch (err) {
      // A custom kind not served: gone with its definition (which goes only after every object of
      // it), or not established now (its objects kept): only the first says the owner is gone.
      if (err instanceof KindNotServedError && info.definition !== undefined && (await this.definitionGone(info.definition))) return 'dangling';
      throw err;
    }
    if (!owner) return 'dangling';
    const deleting = owner.metadata.deletionTimestamp !== undefined && (owner.metadata.finalizers ?? []).includes(FOREGROUND_FINALIZER);
    return deleting ? 'waiting' : 'solid';
  }

  /**
   * A decision that an owner has no (more) dependents rests on the graph holding every kind: while
   * a custom kind followed since the start has not listed its objects yet, its objects are not in
   * the graph, and such a decision is put off until they are (Kubernetes pauses its workers while
   * new kinds sync). Returns whether it had to wait; `uid` is queued again once they are listed.
   */
  private putOffUntilListed(queue: WorkQueue, uid: string): boolean {
    const unlisted = [...this.monitors.values()].filter((m) => !m.listed);
    if (unlisted.length === 0) return false;
    void Promise.all(unlisted.map((m) => m.settled)).then(() => queue.add(uid));
    return true;
  }

  /** Foreground: delete the dependents; once none blocks any more, drop the finalizer. */
  private async processDeletingDependents(owner: GraphNode): Promise<void> {
    const blocking = this.graph.blockingDependents(owner.identity.uid);
    if (blocking.length === 0) {
      if (this.putOffUntilListed(this.attemptToDelete, owner.identity.uid)) return;
      await this.removeFinalizer(owner.identity, FOREGROUND_FINALIZER);
      return;
    }
    for (const dep of blocking) if (!dep.deletingDependents) this.attemptToDelete.add(dep.identity.uid);
  }

  // ---------------------------------------------------------------------------------------------
  // attemptToOrphan

  private async orphanDependentsOf(uid: string): Promise<void> {
    const owner = this.graph.get(uid);
    if (!owner?.orphaningDependents) return;
    for (const dep of this.graph.dependents(uid)) {
      if (await this.removeOwnerReferences(dep.identity, new Set([uid]))) this.metrics.orphanings.inc({ resource: dep.identity.resource });
    }
    // Dependents of a kind not listed yet would be collected, not orphaned, once the owner is gone.
    if (this.putOffUntilListed(this.attemptToOrphan, uid)) return;
    await this.removeFinalizer(owner.identity, ORPHAN_FINALIZER);
  }

  // ---------------------------------------------------------------------------------------------
  // Talking to the API

  /**
   * The object as stored now, or undefined when it is gone or its name is another object's. A 404
   * that names no object is the resource itself not served (KindNotServedError): that says
   * nothing about the object, and the sync is tried again.
   */
  private async getLive(id: ObjectIdentity): Promise<GcObject | undefined> {
    try {
      const obj = await this.ctx.client.get<GcObject>(refOf(id));
      return obj.metadata.uid === id.uid ? obj : undefined;
    } catch (err) {
      if (err instanceof NotFoundError && err.subject.name === undefined) throw new KindNotServedError(id);
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  }

  /** Whether the definition named `name` is gone, as the API says now. */
  private async definitionGone(name: string): Promise<boolean> {
    try {
      await this.ctx.client.get<GcObject>({ ...CUSTOM_RESOURCE_DEFINITIONS, name });
      return false;
    } catch (err) {
      if (err instanceof NotFoundError && err.subject.name !== undefined) return true;
      throw err;
    }
  }

  /**
   * Read-modify-write of one object, retried on conflicts; `change` returns false for "nothing to
   * do". Resolves whether it wrote.
   */
  private async modify(id: ObjectIdentity, change: (obj: GcObject) => boolean): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      const obj = await this.getLive(id);
      if (!obj || !change(obj)) return false;
      try {
        await this.ctx.client.update(refOf(id), obj);
        return true;
      } catch (err) {
        if (err instanceof NotFoundError) return false;
        if (!(err instanceof ConflictError) || attempt >= CONFLICT_RETRIES) throw err;
      }
    }
  }

  private async removeOwnerReferences(id: ObjectIdentity, ownerUids: ReadonlySet<string>): Promise<boolean> {
    return this.modify(id, (obj) => {
      const refs = obj.metadata.ownerReferences ?? [];
      const kept = refs.filter((r) => !ownerUids.has(r.uid));
      if (kept.length === refs.length) return false;
      if (kept.length > 0) obj.metadata.ownerReferences = kept;
      else delete obj.metadata.ownerReferences;
      return true;
    });
  }

  private async removeFinalizer(id: ObjectIdentity, finalizer: string): Promise<void> {
    const removed = await this.modify(id, (obj) => {
      const finalizers = obj.metadata.finalizers ?? [];
      if (!finalizers.includes(finalizer)) return false;
      obj.metadata.finalizers = finalizers.filter((f) => f !== finalizer);
      return true;
    });
    if (removed) {
      this.metrics.finalizerRemovals.inc({ finalizer });
      this.ctx.log.info('removed finalizer', { object: describeObject(id), finalizer });
    }
  }

  /** Delete exactly this object (uid precondition) with `policy`; gone already is fine. */
  private async deleteObject(id: ObjectIdentity, policy: DeletionPropagation): Promise<void> {
    try {
      await this.ctx.client.request('DELETE', resourceUrlPath(refOf(id)), {
        body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: policy, preconditions: { uid: id.uid } },
      });
    } catch (err) {
      // Gone, or its name now holds another object (the uid precondition failed): nothing to do.
      if (err instanceof NotFoundError || err instanceof ConflictError) return;
      throw err;
    }
    this.metrics.deletions.inc({ resource: id.resource, policy });
    this.ctx.log.info('deleted dependent', { object: describeObject(id), policy });
  }
}

function apiVersionOfIdentity(id: ObjectIdentity): string {
  return id.group ? `${id.group}/${id.version}` : id.version;
}

export const garbageCollectorDefinition: ControllerDefinition = {
  name: GARBAGE_COLLECTOR_NAME,
  create: (ctx) => new GarbageCollector(ctx, { ...(ctx.config?.concurrentGcSyncs !== undefined ? { workers: ctx.config.concurrentGcSyncs } : {}) }),
};
