// What the Workloads view says about a Deployment (and its ReplicaSets), a DaemonSet, a StatefulSet, a Job and a
// ResourceQuota: the counts and the one-line status a person reads first, worked out from status
// and conditions the way kubectl (`get`, `rollout status`, `describe quota`) words them. Pure
// functions: no DOM, no Preact.
import type { DaemonSet, Deployment, ReplicaSet, StatefulSet } from '../../shared/api/apps.js';
import type { Job } from '../../shared/api/batch.js';
import type { ResourceQuota } from '../../shared/api/quota.js';
import { labelSelectorFromSpec } from '../../shared/labels.js';
import { Quantity } from '../../shared/quantity.js';

export type Tone = 'ok' | 'progress' | 'bad';

/** A DaemonSet's or StatefulSet's counts (nodes for a DaemonSet, replicas for a StatefulSet) and status. */
export interface SetSummary {
  desired: number;
  ready: number;
  upToDate: number;
  available: number;
  status: string;
  tone: Tone;
}

export interface DeploymentSummary extends SetSummary {
  /** The Progressing/Available conditions in words, for a tooltip. */
  detail: string;
}

function condition<C extends { type: string; status: string }>(cs: C[] | undefined, type: string): C | undefined {
  return cs?.find((c) => c.type === type);
}

export function deploymentSummary(d: Deployment): DeploymentSummary {
  const s = d.status;
  const desired = d.spec.replicas;
  const upToDate = s.updatedReplicas ?? 0;
  const available = s.availableReplicas ?? 0;
  const total = s.replicas ?? 0;
  const conds = s.conditions;
  const detail = conds?.map((c) => `${c.type}=${c.status}${c.reason ? ` (${c.reason})` : ''}${c.message ? `: ${c.message}` : ''}`).join('\n') ?? '';
  const base = { desired, ready: s.readyReplicas ?? 0, upToDate, available, detail };
  const failure = condition(conds, 'ReplicaFailure');
  if (failure?.status === 'True') return { ...base, status: `ReplicaFailure: ${failure.reason ?? 'unknown'}`, tone: 'bad' };
  const progressing = condition(conds, 'Progressing');
  if (progressing?.status === 'False') return { ...base, status: progressing.reason ?? 'not progressing', tone: 'bad' };
  if (d.spec.paused) return { ...base, status: 'paused', tone: 'progress' };
  // The checks of `kubectl rollout status`, in its order.
  if ((s.observedGeneration ?? 0) < (d.metadata.generation ?? 0)) return { ...base, status: 'rolling out (not yet observed)', tone: 'progress' };
  if (upToDate < desired) return { ...base, status: `rolling out: ${upToDate} of ${desired} updated`, tone: 'progress' };
  if (total > upToDate) return { ...base, status: `rolling out: ${total - upToDate} old pending termination`, tone: 'progress' };
  if (available < upToDate) return { ...base, status: `rolling out: ${available} of ${upToDate} available`, tone: 'progress' };
  const avail = condition(conds, 'Available');
  if (avail?.status === 'False') return { ...base, status: `unavailable: ${avail.reason ?? ''}`, tone: 'bad' };
  return { ...base, status: 'available', tone: 'ok' };
}

/** `kubectl rollout status daemonset`'s checks, in its order. */
export function daemonSetSummary(ds: DaemonSet): SetSummary {
  const s = ds.status;
  const base = { desired: s.desiredNumberScheduled, ready: s.numberReady, upToDate: s.updatedNumberScheduled ?? 0, available: s.numberAvailable ?? 0 };
  if ((s.observedGeneration ?? 0) < (ds.metadata.generation ?? 0)) return { ...base, status: 'rolling out (not yet observed)', tone: 'progress' };
  if (base.desired === 0) return { ...base, status: 'no node fits', tone: 'progress' };
  if (base.upToDate < base.desired) {
    const onDelete = ds.spec.updateStrategy.type === 'OnDelete';
    return { ...base, status: `${onDelete ? 'on delete' : 'rolling out'}: ${base.upToDate} of ${base.desired} updated`, tone: 'progress' };
  }
  if (base.available < base.desired) return { ...base, status: `rolling out: ${base.available} of ${base.desired} available`, tone: 'progress' };
  if (s.numberMisscheduled > 0) return { ...base, status: `${s.numberMisscheduled} misscheduled`, tone: 'progress' };
  return { ...base, status: 'available', tone: 'ok' };
}

/** `kubectl rollout status statefulset`'s checks, in its order (a partition holds the lower ordinals back). */
export function statefulSetSummary(sts: StatefulSet): SetSummary {
  const s = sts.status;
  const desired = sts.spec.replicas;
  const base = { desired, ready: s.readyReplicas ?? 0, upToDate: s.updatedReplicas ?? 0, available: s.availableReplicas ?? 0 };
  if ((s.observedGeneration ?? 0) < (sts.metadata.generation ?? 0)) return { ...base, status: 'rolling out (not yet observed)', tone: 'progress' };
  if (base.ready < desired) return { ...base, status: `rolling out: ${base.ready} of ${desired} ready`, tone: 'progress' };
  const partition = sts.spec.updateStrategy.type === 'RollingUpdate' ? (sts.spec.updateStrategy.rollingUpdate?.partition ?? 0) : 0;
  if (partition > 0) {
    const want = desired - partition;
    if (base.upToDate < want) return { ...base, status: `rolling out: ${base.upToDate} of ${want} above the partition updated`, tone: 'progress' };
    return { ...base, status: `partitioned at ${partition}: ${base.upToDate} updated`, tone: 'ok' };
  }
  if (s.updateRevision !== s.currentRevision) return { ...base, status: `rolling out: ${base.upToDate} of ${desired} updated`, tone: 'progress' };
  return { ...base, status: 'available', tone: 'ok' };
}

/** A ReplicaSet's counts, as `kubectl get rs` gives them (DESIRED, CURRENT, READY), and its state. */
export interface ReplicaSetSummary {
  desired: number;
  current: number;
  ready: number;
  available: number;
  status: string;
  tone: Tone;
}

export function replicaSetSummary(rs: ReplicaSet): ReplicaSetSummary {
  const s = rs.status;
  const desired = rs.spec.replicas;
  const base = { desired, current: s.replicas, ready: s.readyReplicas ?? 0, available: s.availableReplicas ?? 0 };
  const failure = condition(s.conditions, 'ReplicaFailure');
  if (failure?.status === 'True') return { ...base, status: `ReplicaFailure: ${failure.reason ?? 'unknown'}`, tone: 'bad' };
  if ((s.observedGeneration ?? 0) < (rs.metadata.generation ?? 0)) return { ...base, status: 'not yet observed', tone: 'progress' };
  if (desired === 0) return { ...base, status: base.current > 0 ? `scaling down: ${base.current} left` : 'scaled down', tone: base.current > 0 ? 'progress' : 'ok' };
  if (base.current !== desired) return { ...base, status: `scaling: ${base.current} of ${desired}`, tone: 'progress' };
  if (base.available < desired) return { ...base, status: `${base.available} of ${desired} available`, tone: 'progress' };
  return { ...base, status: 'available', tone: 'ok' };
}

/** A Deployment's ReplicaSets (those it controls, by uid), newest first, as `kubectl describe` orders them. */
export function replicaSetsOf(d: Deployment, sets: Iterable<ReplicaSet>): ReplicaSet[] {
  const uid = d.metadata.uid;
  if (uid === undefined) return [];
  return [...sets]
    .filter((rs) => rs.metadata.namespace === d.metadata.namespace && rs.metadata.ownerReferences?.some((o) => o.controller === true && o.uid === uid))
    .sort((a, b) => (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? '') || (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
}

/**
 * Failing and Completing: the Job's outcome is decided (FailureTarget, SuccessCriteriaMet) and its
 * remaining pods are being stopped; Failed or Complete follows once none is left.
 */
export type JobPhase = 'Running' | 'Complete' | 'Failed' | 'Suspended' | 'Failing' | 'Completing';

export interface JobSummary {
  phase: JobPhase;
  reason: string;
  /** kubectl's COMPLETIONS column: "2/3", or "1/1 of 4" for a Job with parallelism and no completions. */
  completions: string;
  succeeded: number;
  active: number;
  failed: number;
  /** Milliseconds from start to the end (or to `now` while it runs); undefined before it starts. */
  durationMs: number | undefined;
}

function trueCondition(j: Job, type: string) {
  return j.status.conditions?.find((c) => c.type === type && c.status === 'True');
}

/** How a Job's phase reads: done well, going wrong or done badly, or still under way. */
export function jobTone(phase: JobPhase): Tone {
  if (phase === 'Complete' || phase === 'Completing') return 'ok';
  if (phase === 'Failed' || phase === 'Failing') return 'bad';
  return 'progress';
}

export function jobSummary(j: Job, now = Date.now()): JobSummary {
  const s = j.status;
  const succeeded = s.succeeded ?? 0;
  const completions = j.spec.completions !== undefined ? `${succeeded}/${j.spec.completions}` : j.spec.parallelism > 1 ? `${succeeded}/1 of ${j.spec.parallelism}` : `${succeeded}/1`;
  const failedCond = trueCondition(j, 'Failed');
  const complete = trueCondition(j, 'Complete');
  const suspended = trueCondition(j, 'Suspended');
  const target = trueCondition(j, 'FailureTarget');
  const criteriaMet = trueCondition(j, 'SuccessCriteriaMet');
  // A decided Job finishes even when suspended meanwhile: the controller only stops its pods.
  const [phase, cond]: [JobPhase, { reason?: string; lastTransitionTime?: string } | undefined] = failedCond
    ? ['Failed', failedCond]
    : complete
      ? ['Complete', complete]
      : target
        ? ['Failing', target]
        : criteriaMet
          ? ['Completing', criteriaMet]
          : suspended || j.spec.suspend
            ? ['Suspended', suspended]
            : ['Running', undefined];
  const start = s.startTime ? Date.parse(s.startTime) : undefined;
  const endIso = phase === 'Complete' ? (s.completionTime ?? cond?.lastTransitionTime) : phase === 'Failed' ? cond?.lastTransitionTime : undefined;
  const end = endIso ? Date.parse(endIso) : now;
  return {
    phase,
    reason: cond?.reason ?? '',
    completions,
    succeeded,
    active: s.active ?? 0,
    failed: s.failed ?? 0,
    durationMs: start === undefined || Number.isNaN(start) ? undefined : Math.max(0, end - start),
  };
}

/** kubectl's short durations: 45s, 3m12s, 2h5m, 3d4h. */
export function formatDuration(ms: number | undefined): string {
  if (ms === undefined) return '';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m}m${s % 60}s` : `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h}h${m % 60}m` : `${h}h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d}d${h % 24}h` : `${d}d`;
}

export interface QuotaLine {
  resource: string;
  used: string;
  hard: string;
  /** used / hard, 0 when hard is 0 and nothing is used (1 when something is). */
  fraction: number;
}

function amount(v: string | undefined): number {
  if (v === undefined) return 0;
  try {
    return Number(Quantity.parse(v).milliValue()) / 1000;
  } catch (err) {
    console.warn('unparseable quota quantity', v, err);
    return 0;
  }
}

/** One line per limited resource, by name; the enforced `status.hard` first, else the spec's. */
export function quotaLines(q: ResourceQuota): QuotaLine[] {
  const hard = q.status.hard ?? q.spec.hard ?? {};
  const used = q.status.used ?? {};
  return Object.keys(hard)
    .sort()
    .map((resource) => {
      const h = hard[resource] ?? '0';
      const u = used[resource] ?? '0';
      const hn = amount(h);
      const un = amount(u);
      return { resource, used: u, hard: h, fraction: hn > 0 ? un / hn : un > 0 ? 1 : 0 };
    });
}

const selectors = new WeakMap<object, string | null>();

/**
 * The label selector (string form) of a workload's pods: its spec.selector, else `fallback`.
 * Cached per object (watch updates replace objects, so a stale entry is never read); null when
 * the selector cannot be read.
 */
export function podSelector(w: { spec: { selector?: Parameters<typeof labelSelectorFromSpec>[0] } }, fallback?: string): string | null {
  const cached = selectors.get(w);
  if (cached !== undefined) return cached;
  let out: string | null = fallback ?? null;
  if (w.spec.selector) {
    try {
      out = labelSelectorFromSpec(w.spec.selector).toString();
    } catch (err) {
      console.warn('unreadable selector', w.spec.selector, err);
    }
  }
  selectors.set(w, out);
  return out;
}
