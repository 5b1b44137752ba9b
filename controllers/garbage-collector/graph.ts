// The garbage collector's picture of ownership: every object the informers hold, by uid, with the
// owners its ownerReferences name and, the other way round, the dependents that name each uid. An
// owner need not be observed to have dependents here: a dependent naming an owner that is gone (or
// never existed) is exactly what the collector looks for. Pure bookkeeping, no I/O.
import type { OwnerReference } from '../../shared/api/meta.js';

/** Where an object lives in the API: enough to GET, update or delete it. */
export interface ObjectIdentity {
  uid: string;
  group: string;
  version: string;
  /** Plural resource name, as in URLs. */
  resource: string;
  kind: string;
  namespace: string | undefined;
  name: string;
}

export interface GraphNode {
  identity: ObjectIdentity;
  owners: readonly OwnerReference[];
  /** Has a deletionTimestamp. */
  beingDeleted: boolean;
  /** Being deleted in the foreground: waits for its blocking dependents. */
  deletingDependents: boolean;
  /** Being deleted with the orphan finalizer: its dependents lose their reference to it first. */
  orphaningDependents: boolean;
}

/** What observing a node changed, so the caller knows what to queue. */
export interface GraphChange {
  /** First time this uid is seen. */
  added: boolean;
  ownersAdded: OwnerReference[];
  ownersRemoved: OwnerReference[];
  /** Entered foreground deletion with this observation. */
  startedDeletingDependents: boolean;
  /** Entered orphaning with this observation. */
  startedOrphaning: boolean;
}

export class OwnershipGraph {
  private readonly nodes = new Map<string, GraphNode>();
  /** owner uid → uids of the observed objects whose ownerReferences name it. */
  private readonly dependentsByOwner = new Map<string, Set<string>>();

  get size(): number {
    return this.nodes.size;
  }

  get(uid: string): GraphNode | undefined {
    return this.nodes.get(uid);
  }

  /** Record an object as last seen (added or updated). */
  observe(node: GraphNode): GraphChange {
    const uid = node.identity.uid;
    const prev = this.nodes.get(uid);
    const before = new Map((prev?.owners ?? []).map((o) => [o.uid, o]));
    const after = new Map(node.owners.map((o) => [o.uid, o]));
    const ownersAdded = [...after.values()].filter((o) => !before.has(o.uid));
    const ownersRemoved = [...before.values()].filter((o) => !after.has(o.uid));
    for (const o of ownersRemoved) this.unlink(o.uid, uid);
    for (const o of ownersAdded) {
      let deps = this.dependentsByOwner.get(o.uid);
      if (!deps) this.dependentsByOwner.set(o.uid, (deps = new Set()));
      deps.add(uid);
    }
    this.nodes.set(uid, node);
    return {
      added: prev === undefined,
      ownersAdded,
      ownersRemoved,
      startedDeletingDependents: node.deletingDependents && !(prev?.deletingDependents ?? false),
      startedOrphaning: node.orphaningDependents && !(prev?.orphaningDependents ?? false),
    };
  }

  /** The object is gone: drop it (its dependents keep naming its uid, now an absent owner). */
  forget(uid: string): GraphNode | undefined {
    const node = this.nodes.get(uid);
    if (!node) return undefined;
    for (const o of node.owners) this.unlink(o.uid, uid);
    this.nodes.delete(uid);
    return node;
  }

  /** Observed objects whose ownerReferences name `ownerUid`. */
  dependents(ownerUid: string): GraphNode[] {
    const out: GraphNode[] = [];
    for (const uid of this.dependentsByOwner.get(ownerUid) ?? []) {
      const n = this.nodes.get(uid);
      if (n) out.push(n);
    }
    return out;
  }

  /** Dependents that hold `ownerUid`'s foreground deletion: their reference has blockOwnerDeletion. */
  blockingDependents(ownerUid: string): GraphNode[] {
    return this.dependents(ownerUid).filter((d) => d.owners.some((o) => o.uid === ownerUid && o.blockOwnerDeletion === true));
  }

  /**
   * The observed object `ref` names, seen from a dependent in `namespace`: same uid, group, kind and
   * name, and (when namespaced) the dependent's namespace, the only one an owner reference can
   * point into. A reference whose coordinates disagree with the uid's object is not trusted.
   */
  resolves(ref: OwnerReference, namespace: string | undefined): GraphNode | undefined {
    const n = this.nodes.get(ref.uid);
    if (!n) return undefined;
    const id = n.identity;
    const group = ref.apiVersion.includes('/') ? ref.apiVersion.slice(0, ref.apiVersion.indexOf('/')) : '';
    if (id.kind !== ref.kind || id.name !== ref.name || id.group !== group) return undefined;
    if (id.namespace !== undefined && id.namespace !== namespace) return undefined;
    return n;
  }

  private unlink(ownerUid: string, dependentUid: string): void {
    const deps = this.dependentsByOwner.get(ownerUid);
    if (!deps) return;
    deps.delete(dependentUid);
    if (deps.size === 0) this.dependentsByOwner.delete(ownerUid);
  }
}
