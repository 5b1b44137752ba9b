// The garbage collector (Kubernetes' garbagecollector controller): deletes dependents whose owners
// are gone, carries out foreground deletion (dependents first, the owner last) and orphaning
// (dependents lose their reference, then the owner goes). The API server only records the policy
// as a finalizer (shared/api/propagation.ts); everything else happens here, through the API.
//
// Two queues of uids, as in Kubernetes: `attemptToDelete` decides about one object (a dependent
// whose owners may be gone, or an owner deleting in the foreground), `attemptToOrphan` orphans the
// dependents of one owner. A sync that fails (a conflict, the API unreachable) is retried with the
// queue's back-off; every decision that an owner is gone is confirmed by a live GET and uid match.
import type { OwnerReference } from '../../shared/api/meta.js';
import { FOREGROUND_FINALIZER, ORPHAN_FINALIZER, type DeletionPropagation } from '../../shared/api/propagation.js';
import type { ResourceInfo } from '../../shared/api/registry.js';
import { resourceUrlPath, type ResourceRef } from '../../shared/client/http-client.js';
import type { EventRecorder } from '../../shared/client/events.js';
import { ConflictError, NotFoundError } from '../../shared/errors.js';
import type { Controller, ControllerContext, ControllerDefinition } from '../controller.js';
import { WorkQueue } from '../work-queue.js';
import { OwnershipGraph, type GraphNode, type ObjectIdentity } from './graph.js';
import { collectableResources, resourceOfReference } from './kinds.js';
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

function identityOf(info: ResourceInfo, obj: GcObject): ObjectIdentity | undefined {
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
  /** The kinds to watch; the resource table's collectable kinds by default. */
  resources?: readonly ResourceInfo[];
}

export class GarbageCollector implements Controller {
  readonly name = GARBAGE_COLLECTOR_NAME;
  readonly graph = new OwnershipGraph();
  private readonly attemptToDelete: WorkQueue;
  private readonly attemptToOrphan: WorkQueue;
  private readonly resources: readonly ResourceInfo[];
  private readonly events: EventRecorder;
  private readonly metrics: GarbageCollectorMetrics;
  private stopped = false;

  constructor(
    private readonly ctx: ControllerContext,
    opts: GarbageCollectorOptions = {},
  ) {
    this.resources = opts.resources ?? collectableResources();
    this.events = ctx.events(COMPONENT);
    this.metrics = garbageCollectorMetrics(ctx.registry);
    const workers = opts.workers ?? 5;
    // Kubernetes' queue names, so workqueue_* metrics read the same.
    this.attemptToDelete = new WorkQueue({ name: 'garbage_collector_attempt_to_delete', workers, log: ctx.log, metrics: ctx.queueMetrics, sync: (uid) => this.attemptToDeleteItem(uid) });
    this.attemptToOrphan = new WorkQueue({ name: 'garbage_collector_attempt_to_orphan', workers, log: ctx.log, metrics: ctx.queueMetrics, sync: (uid) => this.orphanDependentsOf(uid) });
  }

  start(): void {
    for (const info of this.resources) {
      const inf = this.ctx.informers.get<GcObject>({ group: info.group, version: info.version, resource: info.resource });
      inf.addHandlers({
        add: (obj) => this.observed(info, obj),
        update: (oldObj, newObj) => {
          // A relist can show a name re-created under a new uid as an update: two objects.
          if (oldObj.metadata.uid !== newObj.metadata.uid) this.gone(info, oldObj);
          this.observed(info, newObj);
        },
        delete: (obj) => this.gone(info, obj),
      });
    }
    // Decide nothing before every informer has listed once: an owner not yet listed would look gone.
    void this.ctx.informers.synced().then(() => {
      if (this.stopped) return;
      this.attemptToDelete.start();
      this.attemptToOrphan.start();
      this.ctx.log.info('garbage collector synced', { resources: this.resources.length, objects: this.graph.size });
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([this.attemptToDelete.stop(), this.attemptToOrphan.stop()]);
  }

  // ---------------------------------------------------------------------------------------------
  // Keeping the graph

  private observed(info: ResourceInfo, obj: GcObject): void {
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

  private gone(info: ResourceInfo, obj: GcObject): void {
    const identity = identityOf(info, obj);
    if (!identity) return;
    const node = this.graph.forget(identity.uid);
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
    const info = resourceOfReference(ref, this.resources);
    if (!info) {
      // A kind this server does not serve: nothing can confirm the owner is gone, so keep it.
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
    const owner = await this.getLive({ uid: ref.uid, group: info.group, version: info.version, resource: info.resource, kind: info.kind, namespace: info.namespaced ? namespace : undefined, name: ref.name });
    if (!owner) return 'dangling';
    const deleting = owner.metadata.deletionTimestamp !== undefined && (owner.metadata.finalizers ?? []).includes(FOREGROUND_FINALIZER);
    return deleting ? 'waiting' : 'solid';
  }

  /** Foreground: delete the dependents; once none blocks any more, drop the finalizer. */
  private async processDeletingDependents(owner: GraphNode): Promise<void> {
    const blocking = this.graph.blockingDependents(owner.identity.uid);
    if (blocking.length === 0) {
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
    await this.removeFinalizer(owner.identity, ORPHAN_FINALIZER);
  }

  // ---------------------------------------------------------------------------------------------
  // Talking to the API

  /** The object as stored now, or undefined when it is gone or its name is another object's. */
  private async getLive(id: ObjectIdentity): Promise<GcObject | undefined> {
    try {
      const obj = await this.ctx.client.get<GcObject>(refOf(id));
      return obj.metadata.uid === id.uid ? obj : undefined;
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
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
