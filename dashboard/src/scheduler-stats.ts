// Per-scheduler health for the Overview, from what the API shows every user: bind rate from pods'
// PodScheduled=True transitions in the last minute, and failed attempts from FailedScheduling
// events. Schedulers' own /metrics are on their hosts, out of the browser's reach; what is
// reachable is the API server's /metrics (for users RBAC lets read it), whose binding counters
// give the cluster-wide conflict fraction.
import type { Event, Pod } from '../../shared/api/core.js';
import { call } from './api.js';

export interface SchedulerStats {
  name: string;
  pending: number;
  boundLastMinute: number;
  failedLastMinute: number;
}

export const WINDOW_MS = 60_000;

export function schedulerStats(pods: Iterable<Pod>, events: Iterable<Event>, now = Date.now()): SchedulerStats[] {
  const by = new Map<string, SchedulerStats>();
  const get = (name: string) => {
    let s = by.get(name);
    if (!s) by.set(name, (s = { name, pending: 0, boundLastMinute: 0, failedLastMinute: 0 }));
    return s;
  };
  for (const p of pods) {
    const s = get(p.spec.schedulerName ?? 'default-scheduler');
    if (p.status.phase === 'Pending' && !p.spec.nodeName) s.pending++;
    const scheduled = p.status.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'True');
    if (scheduled?.lastTransitionTime && now - Date.parse(scheduled.lastTransitionTime) <= WINDOW_MS) s.boundLastMinute++;
  }
  for (const e of events) {
    if (e.reason !== 'FailedScheduling') continue;
    const at = e.lastTimestamp ?? e.eventTime;
    if (!at || now - Date.parse(at) > WINDOW_MS) continue;
    get(e.source?.component ?? e.reportingComponent ?? 'default-scheduler').failedLastMinute += e.count ?? 1;
  }
  return [...by.values()].sort((a, b) => a.name.localeCompare(b.name));
}

export interface CommitCounters {
  bindings: number;
  conflicts: number;
}

/** The API server's binding counters, or undefined when this user may not read /metrics. */
export async function commitCounters(): Promise<CommitCounters | undefined> {
  try {
    const res = await call('GET', '/metrics');
    const text = await res.text();
    const sum = (name: string) =>
      text
        .split('\n')
        .filter((l) => l.startsWith(name) && (l[name.length] === ' ' || l[name.length] === '{'))
        .reduce((acc, l) => acc + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    return { bindings: sum('cell_bindings_total'), conflicts: sum('cell_binding_conflicts_total') };
  } catch (err) {
    console.info('API server metrics not readable; no conflict fraction', err);
    return undefined;
  }
}

