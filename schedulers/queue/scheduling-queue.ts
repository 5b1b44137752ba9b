// The scheduling queue, as Kubernetes' PriorityQueue:
//   active         ready to be tried, ordered by the profile's QueueSort (priority, then age)
//   backoff        failed recently; waits 1 s, 2 s, 4 s … up to 10 s per attempt before it is ready
//   unschedulable  fits nowhere; parked until the cluster changes in a way that may help (a node
//                  appears or changes, room is released, a pod goes away, its PodGroup changes),
//                  and retried at least every 60 s regardless
// A popped pod is "in flight" until the scheduler requeues it or calls done(); updates and deletes
// that arrive meanwhile are remembered so a requeue uses the newest version, or is dropped.
import { backoffMs } from '../../shared/backoff.js';
import type { PodInfo } from '../cache/pod-info.js';
import { groupKeyOf } from '../cache/pod-info.js';
import { KeyedHeap } from './heap.js';

export interface QueuedPodInfo {
  podInfo: PodInfo;
  /** When it last entered the active queue; QueueSort's tie-breaker (FIFO within a priority). */
  timestamp: number;
  /** When the queue first saw it: end-to-end scheduling latency starts here. */
  readonly initialTimestamp: number;
  /** Scheduling attempts so far (each pop is one). */
  attempts: number;
  /** The queue's cycle number when it was last popped. */
  cycle: number;
  backoffExpiry: number;
  unschedulableSince: number;
  /** Last FailedScheduling message reported for it, and when (to report changes, not repeats). */
  lastMessage: string | undefined;
  lastMessageAt: number;
  /**
   * The plugins that rejected it in its last attempt (QueueingHints: only a change one of them
   * registered wakes it); undefined when unknown.
   */
  rejectedBy: ReadonlySet<string> | undefined;
}

export type RequeueKind = 'active' | 'backoff' | 'unschedulable';

export interface QueueOptions {
  less(a: QueuedPodInfo, b: QueuedPodInfo): boolean;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Longest a pod stays parked as unschedulable without a retry. */
  maxUnschedulableMs?: number;
  now?: () => number;
  /** How often backoff expiries are checked. */
  flushIntervalMs?: number;
}

export interface QueueCounts {
  active: number;
  backoff: number;
  unschedulable: number;
  inFlight: number;
}

interface InFlight {
  info: QueuedPodInfo;
  deleted: boolean;
}

export class SchedulingQueue {
  private readonly active: KeyedHeap<QueuedPodInfo>;
  private readonly backoff = new KeyedHeap<QueuedPodInfo>((a, b) => a.backoffExpiry < b.backoffExpiry);
  private readonly unschedulable = new Map<string, QueuedPodInfo>();
  private readonly inFlight = new Map<string, InFlight>();
  private readonly now: () => number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly maxUnschedulableMs: number;
  private cycle = 0;
  /** The cycle of the last "cluster changed" move: pods that failed during it must not be parked. */
  private moveRequestCycle = -1;
  private waiter: (() => void) | undefined;
  private closed = false;
  private interrupted = false;
  private timer: NodeJS.Timeout | undefined;
  private lastUnschedulableFlush = 0;

  constructor(opts: QueueOptions) {
    this.active = new KeyedHeap(opts.less);
    this.now = opts.now ?? Date.now;
    this.initialBackoffMs = opts.initialBackoffMs ?? 1000;
    this.maxBackoffMs = opts.maxBackoffMs ?? 10_000;
    this.maxUnschedulableMs = opts.maxUnschedulableMs ?? 60_000;
    if ((opts.flushIntervalMs ?? 200) > 0) {
      this.timer = setInterval(() => this.flush(), opts.flushIntervalMs ?? 200);
      this.timer.unref();
    }
  }

  /** A new pending pod (or one seen again after a relist). */
  add(pod: PodInfo): void {
    const flying = this.inFlight.get(pod.key);
    if (flying) {
      flying.info.podInfo = pod;
      flying.deleted = false;
      return;
    }
    const existing = this.find(pod.key);
    if (existing) {
      existing.podInfo = pod;
      this.reposition(existing);
      return;
    }
    const now = this.now();
    this.pushActive({
      podInfo: pod,
      timestamp: now,
      initialTimestamp: now,
      attempts: 0,
      cycle: 0,
      backoffExpiry: 0,
      unschedulableSince: 0,
      lastMessage: undefined,
      lastMessageAt: 0,
      rejectedBy: undefined,
    });
  }

  /** A pending pod changed; `relevant` = its spec or labels changed (not just its status). */
  update(pod: PodInfo, relevant: boolean): void {
    const parked = this.unschedulable.get(pod.key);
    if (parked && relevant) {
      this.unschedulable.delete(pod.key);
      parked.podInfo = pod;
      this.activeOrBackoff(parked);
      return;
    }
    this.add(pod);
  }

  delete(key: string): void {
    const flying = this.inFlight.get(key);
    if (flying) flying.deleted = true;
    this.active.delete(key);
    this.backoff.delete(key);
    this.unschedulable.delete(key);
  }

  has(key: string): boolean {
    return this.inFlight.has(key) || this.find(key) !== undefined;
  }

  /** The next pod to try; undefined once closed, or when interrupt() is called while waiting. */
  async pop(): Promise<QueuedPodInfo | undefined> {
    for (;;) {
      const q = this.tryPop();
      if (q) return q;
      if (this.closed) return undefined;
      await new Promise<void>((resolve) => (this.waiter = resolve));
      if (this.interrupted) {
        this.interrupted = false;
        return undefined;
      }
    }
  }

  /** Make a waiting pop() return undefined (the scheduler stops scheduling but keeps its queue). */
  interrupt(): void {
    if (!this.waiter) return;
    this.interrupted = true;
    this.wake();
  }

  tryPop(): QueuedPodInfo | undefined {
    const q = this.active.pop();
    if (!q) return undefined;
    q.attempts++;
    q.cycle = ++this.cycle;
    this.inFlight.set(q.podInfo.key, { info: q, deleted: false });
    return q;
  }

  get activeCount(): number {
    return this.active.size;
  }

  /** The pod was bound, or is no longer ours: forget it. */
  done(key: string): void {
    this.inFlight.delete(key);
  }

  /**
   * Put a popped pod back: 'active' to retry at once (a lost commit race: fresh state will differ),
   * 'backoff' after an error, 'unschedulable' when it fits nowhere. Returns false when the pod was
   * deleted meanwhile (nothing to requeue).
   */
  requeue(q: QueuedPodInfo, kind: RequeueKind): boolean {
    const flying = this.inFlight.get(q.podInfo.key);
    this.inFlight.delete(q.podInfo.key);
    if (flying?.deleted) return false;
    if (flying) q.podInfo = flying.info.podInfo;
    if (this.find(q.podInfo.key)) return true;
    const now = this.now();
    if (kind === 'active') {
      q.timestamp = now;
      this.pushActive(q);
    } else if (kind === 'backoff') {
      q.backoffExpiry = now + this.backoffDuration(q.attempts);
      this.backoff.push(q.podInfo.key, q);
    } else if (this.moveRequestCycle >= q.cycle) {
      // The cluster changed while this pod was being tried: what it failed on may be gone already.
      q.backoffExpiry = now + this.backoffDuration(q.attempts);
      this.backoff.push(q.podInfo.key, q);
    } else {
      q.backoffExpiry = now + this.backoffDuration(q.attempts);
      q.unschedulableSince = now;
      this.unschedulable.set(q.podInfo.key, q);
    }
    return true;
  }

  /**
   * The cluster changed in a way that may help parked pods (all of them, or those `which` picks);
   * returns how many were left parked.
   */
  moveAllToActiveOrBackoff(which?: (q: QueuedPodInfo) => boolean): number {
    this.moveRequestCycle = this.cycle;
    let skipped = 0;
    for (const [key, q] of this.unschedulable) {
      if (which && !which(q)) {
        skipped++;
        continue;
      }
      this.unschedulable.delete(key);
      this.activeOrBackoff(q);
    }
    return skipped;
  }

  /** Parked pods of one PodGroup (`namespace/name`): a member or the group itself changed. */
  moveGroup(groupKey: string): void {
    this.moveAllToActiveOrBackoff((q) => groupKeyOf(q.podInfo) === groupKey);
  }

  /**
   * A gang member is being held for its siblings: bring the parked and backing-off ones to the
   * front now, or their separate backoffs could keep them from ever meeting in one permit window.
   */
  activateGroup(groupKey: string): void {
    const now = this.now();
    for (const [key, q] of this.unschedulable) {
      if (groupKeyOf(q.podInfo) !== groupKey) continue;
      this.unschedulable.delete(key);
      q.timestamp = now;
      this.pushActive(q);
    }
    for (const q of [...this.backoff.values()]) {
      if (groupKeyOf(q.podInfo) !== groupKey) continue;
      this.backoff.delete(q.podInfo.key);
      q.timestamp = now;
      this.pushActive(q);
    }
  }

  counts(): QueueCounts {
    return { active: this.active.size, backoff: this.backoff.size, unschedulable: this.unschedulable.size, inFlight: this.inFlight.size };
  }

  /** Move pods whose backoff is over to active, and long-parked ones back into play. */
  flush(): void {
    const now = this.now();
    for (let top = this.backoff.peek(); top && top.backoffExpiry <= now; top = this.backoff.peek()) {
      this.backoff.pop();
      top.timestamp = now;
      this.pushActive(top);
    }
    if (now - this.lastUnschedulableFlush >= 1000) {
      this.lastUnschedulableFlush = now;
      for (const [key, q] of this.unschedulable) {
        if (now - q.unschedulableSince < this.maxUnschedulableMs) continue;
        this.unschedulable.delete(key);
        this.activeOrBackoff(q);
      }
    }
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.wake();
  }

  /** Kubernetes' pod back-off: the initial duration doubled per attempt after the first, capped; no jitter. */
  backoffDuration(attempts: number): number {
    return backoffMs(attempts - 1, { initialMs: this.initialBackoffMs, maxMs: this.maxBackoffMs, jitter: 0 });
  }

  private find(key: string): QueuedPodInfo | undefined {
    return this.active.get(key) ?? this.backoff.get(key) ?? this.unschedulable.get(key);
  }

  private reposition(q: QueuedPodInfo): void {
    const key = q.podInfo.key;
    if (this.active.has(key)) this.active.push(key, q);
    else if (this.backoff.has(key)) this.backoff.push(key, q);
  }

  private activeOrBackoff(q: QueuedPodInfo): void {
    if (q.backoffExpiry > this.now()) this.backoff.push(q.podInfo.key, q);
    else {
      q.timestamp = this.now();
      this.pushActive(q);
    }
  }

  private pushActive(q: QueuedPodInfo): void {
    this.active.push(q.podInfo.key, q);
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }
}
