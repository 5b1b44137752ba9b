// Which ClusterQueue a workload waits in, and in what order. A workload names a LocalQueue of its
// namespace; the LocalQueue names a ClusterQueue, which must exist, be active and select the
// namespace. Each ClusterQueue's pending workloads are ordered by priority (highest first), then
// by when they were queued (creation, or the last eviction), as Kueue's queues are.
//
// BestEffortFIFO: a workload found not to fit is set aside as inadmissible and not tried again
// until quota is freed in its cohort (a reservation released, a queue or flavor changed) — so a
// big head does not block the queue. StrictFIFO: the head is tried every cycle and blocks the rest.
// Those marks are this process's memory only: a new instance starts with every workload active.
import type { Namespace } from '../../shared/api/core.js';
import { hasQuotaReservation, isFinished, type ClusterQueue, type LocalQueue, type ResourceFlavor, type Workload } from '../../shared/api/kueue.js';
import type { Informer } from '../../shared/client/informer.js';
import { objectKey } from '../../shared/client/informer.js';
import { labelSelectorFromSpec } from '../../shared/labels.js';
import { queueInactiveReason, type InactiveReason } from '../../shared/queue-fit.js';
import { INADMISSIBLE_REASON, queuedAt, workloadPriority } from './workload-status.js';

export type Resolution =
  | { ok: true; localQueue: LocalQueue; clusterQueue: ClusterQueue }
  | { ok: false; reason: string; message: string };

/** The work queue key of an admission cycle: a cohort, or `/<name>` for a queue in none (cohort names have no `/`). */
export function cycleKeyOf(cq: Pick<ClusterQueue, 'metadata' | 'spec'>): string {
  return cq.spec.cohort ? cq.spec.cohort : `/${cq.metadata.name ?? ''}`;
}

/** Kueue's namespaceSelector rule: unset selects no namespace, `{}` selects all. */
export function selectsNamespace(cq: ClusterQueue, ns: Namespace | undefined): boolean {
  const sel = cq.spec.namespaceSelector;
  if (sel === undefined) return false;
  return labelSelectorFromSpec(sel).matches(ns?.metadata.labels);
}

/** Waiting to be admitted: not reserved, not finished, active, and in a queue. */
export function isPending(wl: Workload): boolean {
  return !hasQuotaReservation(wl) && !isFinished(wl) && wl.spec.active !== false && wl.status.admission === undefined && (wl.spec.queueName ?? '') !== '';
}

export function compareQueueOrder(a: Workload, b: Workload): number {
  return (
    workloadPriority(b) - workloadPriority(a) ||
    queuedAt(a) - queuedAt(b) ||
    (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') ||
    objectKey(a).localeCompare(objectKey(b))
  );
}

export class QueueManager {
  /** Per ClusterQueue, uids of pending workloads found not to fit (BestEffortFIFO only). */
  private readonly inadmissible = new Map<string, Set<string>>();

  constructor(
    private readonly localQueues: Informer<LocalQueue>,
    private readonly clusterQueues: Informer<ClusterQueue>,
    private readonly flavors: Informer<ResourceFlavor>,
    private readonly namespaces: Informer<Namespace>,
  ) {}

  flavorMap(): Map<string, ResourceFlavor> {
    return new Map(this.flavors.list().map((f) => [f.metadata.name ?? '', f]));
  }

  /** Why the queue cannot admit now, if it cannot. */
  inactiveReason(cq: ClusterQueue): InactiveReason | undefined {
    return queueInactiveReason(cq, this.flavors.list().map((f) => f.metadata.name ?? ''));
  }

  /** The ClusterQueue the workload waits in, or why it cannot wait in one (Kueue's messages). */
  resolve(wl: Workload): Resolution {
    const lqName = wl.spec.queueName ?? '';
    const lq = this.localQueues.get(wl.metadata.namespace, lqName);
    if (!lq) return { ok: false, reason: INADMISSIBLE_REASON, message: `LocalQueue ${lqName} doesn't exist` };
    const cq = this.clusterQueues.get(undefined, lq.spec.clusterQueue);
    if (!cq) return { ok: false, reason: INADMISSIBLE_REASON, message: `ClusterQueue ${lq.spec.clusterQueue} doesn't exist` };
    if (lq.spec.stopPolicy !== undefined && lq.spec.stopPolicy !== 'None') return { ok: false, reason: INADMISSIBLE_REASON, message: `LocalQueue ${lqName} is stopped` };
    if (this.inactiveReason(cq)) return { ok: false, reason: INADMISSIBLE_REASON, message: `ClusterQueue ${lq.spec.clusterQueue} is inactive` };
    if (!selectsNamespace(cq, this.namespaces.get(undefined, wl.metadata.namespace ?? ''))) {
      return { ok: false, reason: INADMISSIBLE_REASON, message: "Workload namespace doesn't match ClusterQueue selector" };
    }
    return { ok: true, localQueue: lq, clusterQueue: cq };
  }

  /** The ClusterQueue a workload names through its LocalQueue (whether or not it may wait there). */
  clusterQueueName(wl: Workload): string | undefined {
    return wl.status.admission?.clusterQueue ?? this.localQueues.get(wl.metadata.namespace, wl.spec.queueName ?? '')?.spec.clusterQueue;
  }

  /** The cohort members of a cycle key (one queue for `/<name>`). */
  membersOf(cycleKey: string): ClusterQueue[] {
    if (cycleKey.startsWith('/')) {
      const cq = this.clusterQueues.get(undefined, cycleKey.slice(1));
      return cq && !cq.spec.cohort ? [cq] : [];
    }
    return this.clusterQueues.list().filter((q) => q.spec.cohort === cycleKey);
  }

  /** Pending workloads per member queue, each list in queue order. */
  pendingByQueue(members: readonly ClusterQueue[], workloads: readonly Workload[]): Map<string, Workload[]> {
    const names = new Set(members.map((q) => q.metadata.name ?? ''));
    const out = new Map<string, Workload[]>([...names].map((n) => [n, []]));
    for (const wl of workloads) {
      if (!isPending(wl)) continue;
      const r = this.resolve(wl);
      if (!r.ok) continue;
      const name = r.clusterQueue.metadata.name ?? '';
      if (names.has(name)) out.get(name)!.push(wl);
    }
    for (const list of out.values()) list.sort(compareQueueOrder);
    return out;
  }

  isInadmissible(cq: string, wl: Workload): boolean {
    return this.inadmissible.get(cq)?.has(wl.metadata.uid ?? '') ?? false;
  }

  markInadmissible(cq: string, wl: Workload): void {
    let set = this.inadmissible.get(cq);
    if (!set) this.inadmissible.set(cq, (set = new Set()));
    set.add(wl.metadata.uid ?? '');
  }

  /** Quota was freed (or the queues changed) for these queues: every workload is worth trying again. */
  requeueInadmissible(clusterQueues: Iterable<string>): void {
    for (const cq of clusterQueues) this.inadmissible.delete(cq);
  }

  /** How many of a queue's pending workloads are set aside now. */
  inadmissibleCount(cq: string, pending: readonly Workload[]): number {
    const set = this.inadmissible.get(cq);
    if (!set) return 0;
    return pending.filter((wl) => set.has(wl.metadata.uid ?? '')).length;
  }
}
