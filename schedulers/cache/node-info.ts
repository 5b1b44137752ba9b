// One node as the scheduler sees it: the Node (labels, taints, cordon), its NodeAllocation ledger
// (what the API server has committed there, and at which resourceVersion), the pods bound there,
// and this scheduler's own assumptions — pods it has decided to place there whose commit the
// ledger does not show yet. `requested` is always ledger + assumptions, so the scheduler never
// hands out the same room twice while its commits are in flight.
import type { Node, Taint } from '../../shared/api/core.js';
import type { HostPortUse, NodeAllocation } from '../../shared/api/scheduling.js';
import { ledgerPods, type LedgerPodSet } from './ledger-line.js';
import type { PodInfo } from './pod-info.js';
import { ResourceVector } from './resources.js';

export interface Assumption {
  readonly pod: PodInfo;
  /** The commit carrying it has been sent (coarse mode cannot decide against this node meanwhile). */
  sent: boolean;
  /** The mod revision of the bind, once the pod informer shows the pod bound here. */
  boundRevision: number | undefined;
  /** When the commit came back Bound (the ledger should show it within moments). */
  boundAt: number | undefined;
}

const NO_TAINTS: readonly Taint[] = Object.freeze([]);

// A node's fit row (NodeInfo.fit, from fitAt): the numbers the resource fit check reads on
// hundreds of nodes per decision, side by side. The cache keeps every node's row in one shared
// table in node order, so a sampled run of nodes reads one contiguous block instead of chasing
// two vectors and their boxed numbers per node (cache misses dominated that check).
export const FIT_REQUESTED_CPU = 0;
export const FIT_REQUESTED_MEMORY = 1;
export const FIT_REQUESTED_PODS = 2;
export const FIT_ALLOCATABLE_CPU = 3;
export const FIT_ALLOCATABLE_MEMORY = 4;
export const FIT_ALLOCATABLE_PODS = 5;
/** How many pods are nominated here (0: nominatedRequestsFor() has nothing to add). */
export const FIT_NOMINATED = 6;
export const FIT_STRIDE = 8;

export class NodeInfo {
  /** Where this node's fit row lives: its own array, or the cache's shared table (see FIT_*). */
  fit: Float64Array = new Float64Array(FIT_STRIDE);
  fitAt = 0;
  node: Node;
  labels: Readonly<Record<string, string>> = {};
  taints: readonly Taint[] = NO_TAINTS;
  unschedulable = false;
  /** What the ledger checks against (its copy of allocatable), or the Node's until the ledger is seen. */
  allocatable = new ResourceVector();
  /** Ledger + assumptions. */
  requested = new ResourceVector();
  /** Host ports in use: ledger + assumptions. */
  usedPorts: HostPortUse[] = [];
  /** Pods bound here (as the pod informer shows them) and pods assumed here. */
  readonly pods = new Map<string, PodInfo>();
  /** Higher-priority pods that preempted here and wait for the room (status.nominatedNodeName). */
  readonly nominated: ReadonlyMap<string, PodInfo> = new Map<string, PodInfo>();
  readonly assumed = new Map<string, Assumption>();
  /** The NodeAllocation's resourceVersion: the node's allocation sequence number (§3). */
  allocationResourceVersion: string | undefined;
  /** Set after a 409 on this node: its view is stale until the ledger's version moves past this. */
  staleVersion: string | undefined;
  /** Bumped on every change, for plugins that cache per-node results. */
  generation = 0;

  private ledgerRequested = new ResourceVector();
  private ledgerPorts: HostPortUse[] = [];
  private ledgerListed: LedgerPodSet = new Set<string>();
  private allocationRevision = 0;
  private ledgerAllocatable: ResourceVector | undefined;
  /** Pods the pod informer shows bound here (pods also holds assumed ones). */
  private readonly observed = new Set<string>();
  /**
   * Pods seen deleted (or finished) whose release the ledger's watch has not shown yet. The API
   * server releases a pod in the same transaction that deletes it, so the room is free already.
   */
  private readonly releasing = new Map<string, { pod: PodInfo; revision: number }>();

  constructor(
    readonly name: string,
    node: Node,
  ) {
    this.node = node;
    this.setNode(node);
  }

  /** Sent assumptions not yet in the ledger: in coarse mode the allocation version is unknown. */
  get commitsInFlight(): number {
    let n = 0;
    for (const a of this.assumed.values()) if (a.sent) n++;
    return n;
  }

  /** Returns whether anything a pending pod may care about changed. */
  setNode(node: Node): boolean {
    const prev = this.node;
    this.node = node;
    // Without a prototype: a plugin's labels[topologyKey] for a key such as `constructor` must
    // find the node's own label or nothing, never Object.prototype's member.
    this.labels = Object.assign(Object.create(null) as Record<string, string>, node.metadata.labels ?? {});
    this.taints = node.spec.taints ?? NO_TAINTS;
    this.unschedulable = node.spec.unschedulable === true;
    if (!this.ledgerAllocatable) this.allocatable = ResourceVector.parse(node.status.allocatable ?? node.status.capacity);
    this.writeFit();
    this.generation++;
    return (
      prev === node ||
      JSON.stringify(prev.metadata.labels) !== JSON.stringify(node.metadata.labels) ||
      JSON.stringify(prev.spec) !== JSON.stringify(node.spec) ||
      JSON.stringify(prev.status.allocatable) !== JSON.stringify(node.status.allocatable)
    );
  }

  /**
   * Take a new ledger version. Assumptions it accounts for are dropped (the ledger now carries
   * them). Returns whether the node may now take a pod it could not before: room was released
   * (a pod left, allocatable grew), or a view marked stale after a 409 is fresh again, or (with
   * `coarse`) this scheduler's last in-flight commit there has landed.
   */
  setLedger(alloc: NodeAllocation, coarse = false): boolean {
    const before = this.ledgerRequested;
    const beforeAllocatable = this.allocatable;
    const wasStale = this.staleVersion !== undefined;
    const wasInFlight = coarse && this.commitsInFlight > 0;
    this.ledgerRequested = ResourceVector.parse(alloc.spec.allocated);
    this.ledgerAllocatable = ResourceVector.parse(alloc.spec.allocatable);
    this.allocatable = this.ledgerAllocatable;
    this.ledgerPorts = alloc.spec.hostPorts;
    this.ledgerListed = ledgerPods(alloc);
    this.allocationResourceVersion = alloc.metadata.resourceVersion;
    this.allocationRevision = Number(alloc.metadata.resourceVersion ?? 0);
    if (this.staleVersion !== undefined && this.staleVersion !== this.allocationResourceVersion) this.staleVersion = undefined;
    for (const [uid, a] of this.assumed) if (this.settled(uid, a)) this.assumed.delete(uid);
    for (const [uid, r] of this.releasing) {
      if (!this.ledgerListed.has(uid) || this.allocationRevision >= r.revision) this.releasing.delete(uid);
    }
    this.recompute();
    return (
      this.ledgerRequested.anyBelow(before) ||
      beforeAllocatable.anyBelow(this.allocatable) ||
      (wasStale && this.staleVersion === undefined) ||
      (wasInFlight && this.commitsInFlight === 0)
    );
  }

  /** The ledger accounts for an assumption: it lists the pod, or it is at or past the bind (and already released it). */
  private settled(uid: string, a: Assumption): boolean {
    return this.ledgerListed.has(uid) || (a.boundRevision !== undefined && this.allocationRevision >= a.boundRevision);
  }

  /** This scheduler decided to place `pod` here. */
  assume(pod: PodInfo): void {
    this.assumed.set(pod.uid, { pod, sent: false, boundRevision: undefined, boundAt: undefined });
    this.pods.set(pod.uid, pod);
    this.recompute();
  }

  markSent(uid: string): void {
    const a = this.assumed.get(uid);
    if (a) a.sent = true;
  }

  /** The commit came back Bound at `now`. */
  markBound(uid: string, now: number): void {
    const a = this.assumed.get(uid);
    if (a) a.boundAt = now;
  }

  /**
   * Drop assumptions whose commit came back Bound before `cutoff` and that no watch event has
   * settled since (the pod was deleted while the watches were re-listing): a safety net.
   */
  expireBound(cutoff: number): number {
    let n = 0;
    for (const [uid, a] of this.assumed) {
      if (a.boundAt !== undefined && a.boundAt < cutoff) {
        this.assumed.delete(uid);
        if (!this.observed.has(uid)) this.pods.delete(uid);
        n++;
      }
    }
    if (n > 0) this.recompute();
    return n;
  }

  /** Drop an assumption whose commit failed. */
  forget(uid: string): void {
    if (!this.assumed.delete(uid)) return;
    if (!this.observed.has(uid)) this.pods.delete(uid);
    this.recompute();
  }

  /** The pod informer shows `pod` bound here (bind committed at `revision`). */
  addBoundPod(pod: PodInfo, revision: number): void {
    this.pods.set(pod.uid, pod);
    this.observed.add(pod.uid);
    const a = this.assumed.get(pod.uid);
    if (a) {
      a.boundRevision ??= revision;
      if (this.settled(pod.uid, a)) {
        this.assumed.delete(pod.uid);
        this.recompute();
        return;
      }
    }
    this.generation++;
  }

  /** A bound pod is gone (deleted, or finished) at `revision`: its room is free from that revision on. */
  removeBoundPod(uid: string, revision: number): void {
    const pod = this.pods.get(uid);
    this.observed.delete(uid);
    this.pods.delete(uid);
    this.assumed.delete(uid);
    if (pod && this.ledgerListed.has(uid) && revision > this.allocationRevision) this.releasing.set(uid, { pod, revision });
    this.recompute();
  }

  hasObserved(uid: string): boolean {
    return this.observed.has(uid);
  }

  private recompute(): void {
    const requested = this.ledgerRequested.clone();
    let ports = this.ledgerPorts;
    for (const r of this.releasing.values()) {
      requested.subtract(r.pod.requests);
      if (r.pod.hostPorts.length > 0) ports = ports.filter((p) => p.podUID !== r.pod.uid);
    }
    for (const a of this.assumed.values()) {
      requested.add(a.pod.requests);
      if (a.pod.hostPorts.length > 0) {
        if (ports === this.ledgerPorts) ports = [...ports];
        for (const p of a.pod.hostPorts) ports.push({ ...p, podUID: a.pod.uid });
      }
    }
    this.requested = requested;
    this.usedPorts = ports;
    this.writeFit();
    this.generation++;
  }

  /** Bring the fit row in step with requested, allocatable and nominated. */
  private writeFit(): void {
    const f = this.fit;
    const o = this.fitAt;
    f[o + FIT_REQUESTED_CPU] = this.requested.cpu;
    f[o + FIT_REQUESTED_MEMORY] = this.requested.memory;
    f[o + FIT_REQUESTED_PODS] = this.requested.pods;
    f[o + FIT_ALLOCATABLE_CPU] = this.allocatable.cpu;
    f[o + FIT_ALLOCATABLE_MEMORY] = this.allocatable.memory;
    f[o + FIT_ALLOCATABLE_PODS] = this.allocatable.pods;
    f[o + FIT_NOMINATED] = this.nominated.size;
  }

  /** Keep the fit row at `at` in `table` (the cache's shared table), or in an array of its own. */
  moveFit(table: Float64Array | undefined, at = 0): void {
    this.fit = table ?? new Float64Array(FIT_STRIDE);
    this.fitAt = table ? at : 0;
    this.writeFit();
  }

  /** A preempting pod waits for room here. */
  addNominated(pod: PodInfo): void {
    (this.nominated as Map<string, PodInfo>).set(pod.uid, pod);
    this.writeFit();
  }

  removeNominated(uid: string): void {
    if ((this.nominated as Map<string, PodInfo>).delete(uid)) this.writeFit();
  }

  /**
   * Requests of pods nominated here that `pod` must leave room for: those of at least its
   * priority, other than itself (Kubernetes' nominated-pods rule). Undefined when there are none.
   */
  nominatedRequestsFor(pod: PodInfo): ResourceVector | undefined {
    if (this.nominated.size === 0) return undefined;
    let sum: ResourceVector | undefined;
    for (const n of this.nominated.values()) {
      if (n.uid === pod.uid || n.priority < pod.priority || this.pods.has(n.uid)) continue;
      (sum ??= new ResourceVector()).add(n.requests);
    }
    return sum;
  }

  /** A copy for "what if" questions (preemption): removing pods from it leaves the cache alone. */
  clone(): NodeInfo {
    const c = Object.create(NodeInfo.prototype) as NodeInfo;
    Object.assign(c, this);
    c.requested = this.requested.clone();
    c.usedPorts = [...this.usedPorts];
    (c as { pods: Map<string, PodInfo> }).pods = new Map(this.pods);
    // Its own fit row: simulations must not write into the cache's table.
    c.moveFit(undefined);
    return c;
  }

  /** On a clone: the node as if `pod` were gone. */
  removeForSimulation(pod: PodInfo): void {
    if (!this.pods.delete(pod.uid)) return;
    this.requested.subtract(pod.requests);
    if (pod.hostPorts.length > 0) this.usedPorts = this.usedPorts.filter((p) => p.podUID !== pod.uid);
    this.writeFit();
    this.generation++;
  }

  /** On a clone: the node as if `pod` were added. */
  addForSimulation(pod: PodInfo): void {
    this.pods.set(pod.uid, pod);
    this.requested.add(pod.requests);
    for (const p of pod.hostPorts) this.usedPorts.push({ ...p, podUID: pod.uid });
    this.writeFit();
    this.generation++;
  }
}
