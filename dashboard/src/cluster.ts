// The session's live collections (nodes, their allocations, pods, events, and the workloads:
// deployments, their replica sets, daemon sets, stateful sets, jobs, resource quotas; services and their endpoints), made on sign-in, run while the current view holds them and
// stopped on sign-out, and the arithmetic the views share: quantities, usage fractions, conditions.
import { useEffect, useState } from 'preact/hooks';
import type { DaemonSet, Deployment, ReplicaSet, StatefulSet } from '../../shared/api/apps.js';
import type { Job } from '../../shared/api/batch.js';
import type { Event, Node, Pod } from '../../shared/api/core.js';
import type { ResourceQuota } from '../../shared/api/quota.js';
import type { Endpoints, Service } from '../../shared/api/service.js';
import type { NodeAllocation } from '../../shared/api/scheduling.js';
import { Quantity } from '../../shared/quantity.js';
import { LiveList } from './live.js';

export interface Cluster {
  nodes: LiveList<Node>;
  allocations: LiveList<NodeAllocation>;
  pods: LiveList<Pod>;
  events: LiveList<Event>;
  deployments: LiveList<Deployment>;
  /** Held only by a Deployment's and a ReplicaSet's detail: the Workloads page has no watch to spare. */
  replicaSets: LiveList<ReplicaSet>;
  daemonSets: LiveList<DaemonSet>;
  statefulSets: LiveList<StatefulSet>;
  jobs: LiveList<Job>;
  quotas: LiveList<ResourceQuota>;
  services: LiveList<Service>;
  endpoints: LiveList<Endpoints>;
}

/** Events are many and only the recent ones matter: the page keeps this many. */
export const EVENTS_KEPT = 2000;

/** The collections, idle: each runs while a view holds it (LiveList.hold). */
export function startCluster(): Cluster {
  const c: Cluster = {
    nodes: new LiveList<Node>('/api/v1/nodes'),
    allocations: new LiveList<NodeAllocation>('/apis/scheduling.cell.dev/v1alpha1/nodeallocations'),
    pods: new LiveList<Pod>('/api/v1/pods'),
    events: new LiveList<Event>('/api/v1/events', { cap: EVENTS_KEPT }),
    deployments: new LiveList<Deployment>('/apis/apps/v1/deployments'),
    replicaSets: new LiveList<ReplicaSet>('/apis/apps/v1/replicasets'),
    daemonSets: new LiveList<DaemonSet>('/apis/apps/v1/daemonsets'),
    statefulSets: new LiveList<StatefulSet>('/apis/apps/v1/statefulsets'),
    jobs: new LiveList<Job>('/apis/batch/v1/jobs'),
    quotas: new LiveList<ResourceQuota>('/api/v1/resourcequotas'),
    services: new LiveList<Service>('/api/v1/services'),
    endpoints: new LiveList<Endpoints>('/api/v1/endpoints'),
  };
  return c;
}

export function stopCluster(c: Cluster): void {
  for (const l of Object.values(c)) l.stop();
}

/** Re-renders the calling component whenever any of `lists` changes. */
export function useLive(...lists: { subscribe(fn: () => void): () => void }[]): void {
  const [, setTick] = useState(0);
  useEffect(() => {
    const offs = lists.map((l) => l.subscribe(() => setTick((t) => t + 1)));
    return () => offs.forEach((off) => off());
  }, lists);
}

/** Natural order for names (node-2 before node-10); one collator, far faster than localeCompare. */
export const byName = new Intl.Collator(undefined, { numeric: true }).compare;

const parsed = new Map<string, number>();

/** A quantity as a number (cpu in cores, memory in bytes); memoized, the same strings recur. */
export function qty(v: string | number | undefined): number {
  if (v === undefined) return 0;
  if (typeof v === 'number') return v;
  let n = parsed.get(v);
  if (n === undefined) {
    try {
      n = Number(Quantity.parse(v).milliValue()) / 1000;
    } catch (err) {
      console.warn('unparseable quantity', v, err);
      n = 0;
    }
    if (parsed.size > 10_000) parsed.clear();
    parsed.set(v, n);
  }
  return n;
}

export type Resource = 'cpu' | 'memory';

/** allocated / allocatable of one node's ledger (0 when it has none). */
export function usage(a: NodeAllocation | undefined, r: Resource): number {
  if (!a) return 0;
  const total = qty(a.spec.allocatable[r]);
  return total > 0 ? qty(a.spec.allocated[r]) / total : 0;
}

export type NodeHealth = 'Ready' | 'NotReady' | 'Unknown';

export function nodeHealth(n: Node): NodeHealth {
  const ready = n.status.conditions?.find((c) => c.type === 'Ready');
  if (!ready || ready.status === 'Unknown') return 'Unknown';
  return ready.status === 'True' ? 'Ready' : 'NotReady';
}

export function formatCpu(cores: number): string {
  return cores >= 10 ? `${Math.round(cores)}` : `${Math.round(cores * 100) / 100}`;
}

export function formatBytes(b: number): string {
  const units = ['B', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi'];
  let i = 0;
  while (b >= 1024 && i < units.length - 1) {
    b /= 1024;
    i++;
  }
  return `${Math.round(b * 10) / 10}${units[i]}`;
}

export function percent(f: number): string {
  return `${Math.round(f * 1000) / 10}%`;
}

let reasonsVersion = -1;
let reasonsOf: LiveList<Event> | undefined;
let reasons = new Map<string, { at: string; message: string }>();

/** The latest FailedScheduling message per pod uid, rebuilt only when the events changed. */
function failedScheduling(events: LiveList<Event>): Map<string, { at: string; message: string }> {
  if (reasonsOf === events && reasonsVersion === events.version) return reasons;
  const m = new Map<string, { at: string; message: string }>();
  for (const e of events.items.values()) {
    const uid = e.involvedObject.uid;
    if (e.reason !== 'FailedScheduling' || !uid) continue;
    const at = e.lastTimestamp ?? e.eventTime ?? '';
    const prev = m.get(uid);
    if (!prev || at >= prev.at) m.set(uid, { at, message: e.message ?? '' });
  }
  reasons = m;
  reasonsOf = events;
  reasonsVersion = events.version;
  return m;
}

/** Why a pending pod waits: its PodScheduled=False condition, else the latest FailedScheduling event. */
export function pendingReason(p: Pod, events: LiveList<Event>): string | undefined {
  if (p.status.phase !== 'Pending') return undefined;
  const cond = p.status.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
  if (cond?.message) return cond.message;
  return p.metadata.uid ? failedScheduling(events).get(p.metadata.uid)?.message : undefined;
}

export function ago(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 90) return `${s}s`;
  if (s < 5400) return `${Math.round(s / 60)}m`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}
