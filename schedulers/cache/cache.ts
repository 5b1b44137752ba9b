// The scheduler's view of the cluster: list+watch informers on pods, nodes, node allocations, pod
// groups and disruption budgets, folded into one NodeInfo per node, plus this scheduler's own assumptions and the
// nominations of preempting pods. Pending pods of this scheduler are handed to the listener (the
// queue); changes that may let a parked pod fit are reported as cluster events.
//
// Decisions read this cache synchronously, between watch events: a scheduling cycle sees one
// consistent state without copying it, the way Kubernetes' per-cycle snapshot does.
import type { Node, Pod } from '../../shared/api/core.js';
import type { PodDisruptionBudget } from '../../shared/api/policy.js';
import type { NodeAllocation, PodGroup } from '../../shared/api/scheduling.js';
import type { ApiClient } from '../../shared/client/http-client.js';
import { Informer } from '../../shared/client/informer.js';
import type { Logger } from '../../shared/logging.js';
import type { ClusterEventKind, ClusterView, NodeCounts } from '../framework/plugin.js';
import { parseLedgerWatchLine } from './ledger-line.js';
import { FIT_STRIDE, NodeInfo } from './node-info.js';
import { groupKeyOf, isTerminal, podInfoOf, podKey, type PodInfo } from './pod-info.js';

export type ClusterEvent =
  | { readonly kind: ClusterEventKind }
  | { readonly kind: 'GroupChanged'; readonly group: string };

export interface CacheListener {
  pendingPodAdded(pod: PodInfo): void;
  /** `relevant`: its spec or labels changed, not only its status. */
  pendingPodUpdated(pod: PodInfo, relevant: boolean): void;
  pendingPodDeleted(key: string): void;
  clusterChanged(event: ClusterEvent): void;
}

export interface CacheOptions {
  client: ApiClient;
  schedulerName: string;
  log: Logger;
  listener: CacheListener;
  /** Coarse conflict mode: a node whose in-flight commits all landed is usable again (a cluster event). */
  coarse?: boolean;
  now?: () => number;
}

/** How long an assumption whose commit returned Bound may wait for the watch to show it. */
const BOUND_ASSUMPTION_TTL_MS = 30_000;

const NODE_INDEX = 'node';
const GROUP_INDEX = 'group';
const NAMESPACE_INDEX = 'namespace';

export class SchedulerCache implements ClusterView {
  private readonly pods: Informer<Pod>;
  private readonly nodeInformer: Informer<Node>;
  private readonly allocations: Informer<NodeAllocation>;
  private readonly podGroups: Informer<PodGroup>;
  private readonly budgets: Informer<PodDisruptionBudget>;
  private readonly nodeMap = new Map<string, NodeInfo>();
  private nodeList: NodeInfo[] = [];
  /** Node of each assumption whose commit outcome is not known yet. */
  private readonly assumedOn = new Map<string, string>();
  private readonly nominatedOn = new Map<string, string>();
  private readonly antiAffinity = new Map<string, { pod: PodInfo; nodeName: string }>();
  /** Nodes markStale() has marked; pruned lazily once a newer ledger clears the mark. */
  private readonly staleNodes = new Set<NodeInfo>();
  /** Kept as nodes come, change and go (nodeCounts()). */
  private readonly counts = { tainted: 0, cordoned: 0 };
  /** Every node's fit row, in node order (NodeInfo.fit); rows of deleted nodes are reused. */
  private fitTable = new Float64Array(FIT_STRIDE * 1024);
  private fitRows = 0;
  private readonly freeFitRows: number[] = [];
  private sweeper: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  /** A node list matched the cache at this resourceVersion (nodesCurrentAt). */
  private nodesVerifiedAt = 0;
  /** The node list in progress, shared by every caller of verifyNodes(). */
  private verifying: Promise<boolean> | undefined;

  constructor(private readonly opts: CacheOptions) {
    this.now = opts.now ?? Date.now;
    const { client, log } = opts;
    // Finished pods hold nothing and never need scheduling: the server drops them from the watch.
    this.pods = new Informer<Pod>({ client, log, ref: { resource: 'pods' }, fieldSelector: 'status.phase!=Succeeded,status.phase!=Failed' });
    this.nodeInformer = new Informer<Node>({ client, log, ref: { resource: 'nodes' } });
    this.allocations = new Informer<NodeAllocation>({
      client,
      log,
      ref: { group: 'scheduling.cell.dev', version: 'v1alpha1', resource: 'nodeallocations' },
      parseWatchLine: parseLedgerWatchLine,
    });
    this.podGroups = new Informer<PodGroup>({ client, log, ref: { group: 'scheduling.x-k8s.io', version: 'v1alpha1', resource: 'podgroups' } });
    this.budgets = new Informer<PodDisruptionBudget>({ client, log, ref: { group: 'policy', version: 'v1', resource: 'poddisruptionbudgets' } });
    this.budgets.addIndex(NAMESPACE_INDEX, (b) => [b.metadata.namespace ?? '']);

    this.pods.addIndex(NODE_INDEX, (p) => (p.spec.nodeName ? [p.spec.nodeName] : []));
    this.pods.addIndex(GROUP_INDEX, (p) => {
      const k = groupKeyOf({ namespace: p.metadata.namespace ?? 'default', group: p.metadata.labels?.['scheduling.x-k8s.io/pod-group'] });
      return k === undefined ? [] : [k];
    });
    this.pods.addHandlers({
      add: (p) => this.podAdded(p),
      update: (old, p) => this.podUpdated(old, p),
      delete: (p) => this.podDeleted(p),
    });
    this.nodeInformer.addHandlers({
      add: (n) => this.nodeAdded(n),
      update: (_old, n) => this.nodeUpdated(n),
      delete: (n) => this.nodeDeleted(n),
    });
    this.allocations.addHandlers({
      add: (a) => this.ledgerChanged(a),
      update: (_old, a) => this.ledgerChanged(a),
    });
    const groupChanged = (g: PodGroup) => {
      opts.listener.clusterChanged({ kind: 'GroupChanged', group: `${g.metadata.namespace ?? 'default'}/${g.metadata.name ?? ''}` });
    };
    this.podGroups.addHandlers({ add: groupChanged, update: (_o, g) => groupChanged(g), delete: groupChanged });
  }

  /** Start every informer; resolves once all have listed. */
  async start(): Promise<void> {
    // Nodes and ledgers first, so bound pods and ledgers find their NodeInfo as they arrive.
    await Promise.all([this.nodeInformer.start(), this.allocations.start(), this.podGroups.start()]);
    // Not awaited: budgets only make preemption prefer some victims over others, so a server that
    // does not serve them (or a scheduler not allowed to read them) must not keep the scheduler from starting.
    void this.budgets.start();
    await this.pods.start();
    this.sweeper = setInterval(() => this.expireAssumptions(), 10_000);
    this.sweeper.unref();
  }

  async stop(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    await Promise.all([this.pods.stop(), this.nodeInformer.stop(), this.allocations.stop(), this.podGroups.stop(), this.budgets.stop()]);
  }

  // ---------------------------------------------------------------------------------------------
  // ClusterView

  nodes(): readonly NodeInfo[] {
    return this.nodeList;
  }

  node(name: string): NodeInfo | undefined {
    return this.nodeMap.get(name);
  }

  podGroup(namespace: string, name: string): PodGroup | undefined {
    return this.podGroups.get(namespace, name);
  }

  disruptionBudgets(namespace: string): readonly PodDisruptionBudget[] {
    return this.budgets.byIndex(NAMESPACE_INDEX, namespace);
  }

  groupMembers(namespace: string, group: string): readonly Pod[] {
    return this.pods.byIndex(GROUP_INDEX, `${namespace}/${group}`).filter((p) => !p.metadata.deletionTimestamp);
  }

  nodeCounts(): NodeCounts {
    return this.counts;
  }

  podsWithRequiredAntiAffinity(): Iterable<{ readonly pod: PodInfo; readonly nodeName: string }> {
    return this.antiAffinity.values();
  }

  /**
   * Whether the node view holds every node write up to `resourceVersion` (a pod's): the node watch
   * has passed it, or a node list at or after it matched the cache. The pod and node watches are
   * separate streams, so a pod can arrive before nodes written ahead of it.
   */
  nodesCurrentAt(resourceVersion: string | undefined): boolean {
    const rv = Number(resourceVersion ?? 0);
    return rv <= this.nodesVerifiedAt || rv <= Number(this.nodeInformer.lastResourceVersion || 0);
  }

  /**
   * Lists the nodes (a consistent read) and checks the cache against the list: true when the cache
   * holds all of it, and nodesCurrentAt() then covers everything up to the list. Concurrent callers
   * share one list.
   */
  verifyNodes(): Promise<boolean> {
    this.verifying ??= this.compareWithNodeList().finally(() => (this.verifying = undefined));
    return this.verifying;
  }

  private async compareWithNodeList(): Promise<boolean> {
    const listed = new Map<string, number>();
    let at = 0;
    let cont: string | undefined;
    do {
      const page = await this.opts.client.list<{ metadata: { resourceVersion?: string; continue?: string }; items: Node[] }>(
        { resource: 'nodes' },
        { limit: 500, ...(cont ? { continue: cont } : {}) },
      );
      for (const n of page.items) listed.set(n.metadata.name ?? '', Number(n.metadata.resourceVersion ?? 0));
      // Every page of one list is read at its first page's version.
      at ||= Number(page.metadata.resourceVersion ?? 0);
      cont = page.metadata.continue || undefined;
    } while (cont);
    const rvOf = (n: Node | undefined) => Number(n?.metadata.resourceVersion ?? 0);
    // The watch has passed the list (events come in order), or the cache has each listed node at
    // that version or newer and no node the list lacks unless that node came after the list.
    const current =
      Number(this.nodeInformer.lastResourceVersion || 0) >= at ||
      ([...listed].every(([name, rv]) => rvOf(this.nodeInformer.get(undefined, name)) >= rv) &&
        this.nodeInformer.list().every((n) => listed.has(n.metadata.name ?? '') || rvOf(n) > at));
    if (current) this.nodesVerifiedAt = Math.max(this.nodesVerifiedAt, at);
    return current;
  }

  /** The newest version of a pod the watch has shown. */
  latestPod(key: string): Pod | undefined {
    const slash = key.indexOf('/');
    return this.pods.get(key.slice(0, slash), key.slice(slash + 1));
  }

  isMine(pod: Pod): boolean {
    return (
      pod.spec.schedulerName === this.opts.schedulerName &&
      !pod.spec.nodeName &&
      !pod.metadata.deletionTimestamp &&
      !isTerminal(pod)
    );
  }

  // ---------------------------------------------------------------------------------------------
  // Assumptions and nominations

  /** Reserve: count `pod` on `nodeName` until the ledger shows it or the commit fails. */
  assume(pod: PodInfo, nodeName: string): void {
    const node = this.nodeMap.get(nodeName);
    if (!node) return;
    node.assume(pod);
    this.assumedOn.set(pod.uid, nodeName);
    if (pod.pod.spec.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.length) {
      this.antiAffinity.set(pod.uid, { pod, nodeName });
    }
    this.clearNomination(pod.uid);
  }

  markSent(uid: string): void {
    const name = this.assumedOn.get(uid);
    if (name) this.nodeMap.get(name)?.markSent(uid);
  }

  /** The commit succeeded: the assumption now only waits for the watch to show the ledger. */
  markBound(uid: string): void {
    const name = this.assumedOn.get(uid);
    if (!name) return;
    this.assumedOn.delete(uid);
    this.nodeMap.get(name)?.markBound(uid, this.now());
  }

  /** The commit failed: the room is free again. */
  forget(uid: string): void {
    const name = this.assumedOn.get(uid);
    if (!name) return;
    this.assumedOn.delete(uid);
    const node = this.nodeMap.get(name);
    node?.forget(uid);
    if (!node?.hasObserved(uid)) this.antiAffinity.delete(uid);
  }

  /**
   * A 409 showed that the ledger version a decision read (`decidedOn`) is outdated: distrust the
   * node until the watch delivers a newer one (unless it already has).
   */
  markStale(nodeName: string, decidedOn: string | undefined): void {
    const node = this.nodeMap.get(nodeName);
    if (node && decidedOn !== undefined && node.allocationResourceVersion === decidedOn) {
      node.staleVersion = decidedOn;
      this.staleNodes.add(node);
    }
  }

  /** Whether some node is still marked stale (the commit guard has nothing to check otherwise). */
  hasStaleNodes(): boolean {
    for (const node of this.staleNodes) {
      if (node.staleVersion !== undefined && this.nodeMap.get(node.name) === node) return true;
      this.staleNodes.delete(node);
    }
    return false;
  }

  nominate(pod: PodInfo, nodeName: string): void {
    this.clearNomination(pod.uid);
    const node = this.nodeMap.get(nodeName);
    if (!node) return;
    node.addNominated(pod);
    this.nominatedOn.set(pod.uid, nodeName);
  }

  clearNomination(uid: string): void {
    const name = this.nominatedOn.get(uid);
    if (name === undefined) return;
    this.nominatedOn.delete(uid);
    this.nodeMap.get(name)?.removeNominated(uid);
  }

  nominatedNode(uid: string): string | undefined {
    return this.nominatedOn.get(uid);
  }

  private expireAssumptions(): void {
    const cutoff = this.now() - BOUND_ASSUMPTION_TTL_MS;
    for (const node of this.nodeList) {
      if (node.assumed.size === 0) continue;
      const n = node.expireBound(cutoff);
      if (n > 0) this.opts.log.debug('expired bound assumptions the watch never settled', { node: node.name, pods: n });
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Informer handlers

  private podAdded(pod: Pod): void {
    const { listener } = this.opts;
    if (pod.spec.nodeName) this.boundPodSeen(pod);
    else {
      if (this.isMine(pod)) listener.pendingPodAdded(podInfoOf(pod));
      if (pod.status.nominatedNodeName) this.nominate(podInfoOf(pod), pod.status.nominatedNodeName);
    }
    const group = pod.metadata.labels?.['scheduling.x-k8s.io/pod-group'];
    if (group !== undefined) listener.clusterChanged({ kind: 'GroupChanged', group: `${pod.metadata.namespace ?? 'default'}/${group}` });
  }

  private podUpdated(old: Pod, pod: Pod): void {
    const { listener } = this.opts;
    if (pod.spec.nodeName) {
      if (!old.spec.nodeName) {
        if (this.isMine(old)) listener.pendingPodDeleted(podKey(pod));
        this.clearNomination(pod.metadata.uid ?? '');
      }
      this.boundPodSeen(pod);
      return;
    }
    const wasMine = this.isMine(old);
    if (this.isMine(pod)) {
      const info = podInfoOf(pod);
      if (wasMine) listener.pendingPodUpdated(info, JSON.stringify(old.spec) !== JSON.stringify(pod.spec) || JSON.stringify(old.metadata.labels) !== JSON.stringify(pod.metadata.labels));
      else listener.pendingPodAdded(info);
    } else if (wasMine) listener.pendingPodDeleted(podKey(pod));
    if (pod.status.nominatedNodeName !== old.status.nominatedNodeName) {
      if (pod.status.nominatedNodeName) this.nominate(podInfoOf(pod), pod.status.nominatedNodeName);
      else this.clearNomination(pod.metadata.uid ?? '');
    }
  }

  private podDeleted(pod: Pod): void {
    const uid = pod.metadata.uid ?? '';
    const { listener } = this.opts;
    this.clearNomination(uid);
    this.forget(uid);
    this.antiAffinity.delete(uid);
    const bound = pod.spec.nodeName ? this.nodeMap.get(pod.spec.nodeName) : undefined;
    if (bound) {
      bound.removeBoundPod(uid, Number(pod.metadata.resourceVersion ?? 0));
      listener.clusterChanged({ kind: 'PodGone' });
    }
    if (!pod.spec.nodeName) listener.pendingPodDeleted(podKey(pod));
  }

  private boundPodSeen(pod: Pod): void {
    const uid = pod.metadata.uid ?? '';
    const nodeName = pod.spec.nodeName!;
    // Another replica (or scheduler) won this pod elsewhere: our assumption there is void.
    const assumedNode = this.assumedOn.get(uid);
    if (assumedNode !== undefined && assumedNode !== nodeName) this.forget(uid);
    const node = this.nodeMap.get(nodeName);
    if (!node) return; // picked up from the index when the node appears
    const info = podInfoOf(pod, node.pods.get(uid));
    // The first version that shows the pod bound carries the bind's revision (the node keeps the first).
    node.addBoundPod(info, Number(pod.metadata.resourceVersion ?? 0));
    if (pod.spec.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.length) {
      this.antiAffinity.set(uid, { pod: info, nodeName });
    }
  }

  private nodeAdded(n: Node): void {
    const name = n.metadata.name ?? '';
    const info = new NodeInfo(name, n);
    const ledger = this.allocations.get(undefined, name);
    if (ledger) info.setLedger(ledger, this.opts.coarse);
    for (const p of this.pods.byIndex(NODE_INDEX, name)) {
      const pod = podInfoOf(p);
      info.addBoundPod(pod, Number(p.metadata.resourceVersion ?? 0));
      if (p.spec.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.length) this.antiAffinity.set(pod.uid, { pod, nodeName: name });
    }
    this.nodeMap.set(name, info);
    this.nodeList.push(info);
    this.count(info, 1);
    this.placeFitRow(info);
    this.opts.listener.clusterChanged({ kind: 'NodeAdded' });
  }

  private nodeUpdated(n: Node): void {
    const info = this.nodeMap.get(n.metadata.name ?? '');
    if (!info) return this.nodeAdded(n);
    this.count(info, -1);
    const changed = info.setNode(n);
    this.count(info, 1);
    if (changed) this.opts.listener.clusterChanged({ kind: 'NodeChanged' });
  }

  private placeFitRow(info: NodeInfo): void {
    let at = this.freeFitRows.pop();
    if (at === undefined) {
      at = this.fitRows++ * FIT_STRIDE;
      if (at >= this.fitTable.length) {
        const grown = new Float64Array(this.fitTable.length * 2);
        grown.set(this.fitTable);
        this.fitTable = grown;
        for (const n of this.nodeList) if (n !== info) n.moveFit(grown, n.fitAt);
      }
    }
    info.moveFit(this.fitTable, at);
  }

  private count(info: NodeInfo, sign: 1 | -1): void {
    if (info.taints.some((t) => t.effect !== 'PreferNoSchedule')) this.counts.tainted += sign;
    if (info.unschedulable) this.counts.cordoned += sign;
  }

  private nodeDeleted(n: Node): void {
    const name = n.metadata.name ?? '';
    const info = this.nodeMap.get(name);
    if (!info) return;
    this.nodeMap.delete(name);
    this.nodeList = this.nodeList.filter((x) => x !== info);
    this.count(info, -1);
    // The row goes to the next node; anything still holding this NodeInfo keeps a private copy.
    this.freeFitRows.push(info.fitAt);
    info.moveFit(undefined);
    for (const uid of info.nominated.keys()) this.nominatedOn.delete(uid);
  }

  private ledgerChanged(alloc: NodeAllocation): void {
    const node = this.nodeMap.get(alloc.metadata.name ?? '');
    if (!node) return; // applied when the node appears
    if (node.setLedger(alloc, this.opts.coarse)) this.opts.listener.clusterChanged({ kind: 'RoomReleased' });
  }
}
