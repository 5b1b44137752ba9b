// How many replicas one resource metric asks for (Kubernetes' replica calculator, for the metrics
// cell serves: a resource of the pods or of one container of each, as a utilization of the
// requests or as an average value). Pure: the pods and their measured usage in, a count out.
//
// desired = ceil(current usage / target × pods measured). Pods whose usage cannot count yet are
// set aside and then assumed to use the least (when scaling up) or the most (when scaling down)
// they could, so a scale is never driven by pods just starting or not yet measured; if that flips
// the direction, or brings the ratio within the tolerance, nothing changes.
import type { Pod } from '../../shared/api/core.js';
import { Quantity } from '../../shared/quantity.js';

/** One pod's measured usage (the metrics API's PodMetrics), per container, in base units (cores, bytes). */
export interface PodUsage {
  /** End of the sample window (ms since the epoch). */
  timestamp: number;
  /** Length of the window (ms). */
  windowMs: number;
  containers: ReadonlyMap<string, { cpu: number; memory: number }>;
}

export interface ResourceMetricInput {
  resource: string;
  /** Only this container of each pod counts (a ContainerResource metric). */
  container?: string;
  /** Exactly one: a utilization in percent of the requests, or an average value per pod (base units). */
  targetUtilization?: number;
  targetAverageValue?: number;
}

export interface CalculatorSettings {
  /**
   * Within this fraction of the target, nothing changes: above it (`up`) and below it (`down`)
   * (--horizontal-pod-autoscaler-tolerance, 0.1, unless the behavior sets its own).
   */
  tolerance: { up: number; down: number };
  /** A pod this young may still be warming up: its CPU counts only once it is ready and measured since (5 min). */
  cpuInitializationPeriodMs: number;
  /** A pod that turned ready within this of its start counts as ready from the start (30 s). */
  initialReadinessDelayMs: number;
}

export interface Recommendation {
  replicas: number;
  /** The pods' average usage as a percentage of their requests (utilization targets). */
  utilization?: number;
  /** The pods' average usage, base units. */
  averageValue: number;
}

/** Why no count could be made; the reason is the condition's and the event's (Kubernetes' wording). */
export class MetricUnavailableError extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'MetricUnavailableError';
  }
}

const FAILED_GET = 'FailedGetResourceMetric';

function readyCondition(pod: Pod) {
  return pod.status.conditions?.find((c) => c.type === 'Ready');
}

/** Pods that count, pods that are not ready (or still warming up), and pods with no sample yet. */
function groupPods(pods: readonly Pod[], usage: ReadonlyMap<string, PodUsage>, resource: string, s: CalculatorSettings, now: number) {
  let ready = 0;
  const unready = new Set<string>();
  const missing = new Set<string>();
  const ignored = new Set<string>();
  for (const pod of pods) {
    const name = pod.metadata.name ?? '';
    if (pod.metadata.deletionTimestamp !== undefined || pod.status.phase === 'Failed' || pod.status.phase === 'Succeeded') {
      ignored.add(name);
      continue;
    }
    if (pod.status.phase === 'Pending') {
      unready.add(name);
      continue;
    }
    const sample = usage.get(name);
    if (sample === undefined) {
      missing.add(name);
      continue;
    }
    if (resource === 'cpu') {
      const cond = readyCondition(pod);
      const started = pod.status.startTime !== undefined ? Date.parse(pod.status.startTime) : NaN;
      const transition = Date.parse(cond?.lastTransitionTime ?? '');
      let notReady: boolean;
      if (cond === undefined || Number.isNaN(started)) notReady = true;
      // Young: counts once ready and measured over a window that began after it turned ready.
      else if (started + s.cpuInitializationPeriodMs > now) notReady = cond.status !== 'True' || sample.timestamp < transition + sample.windowMs;
      // Older: unready only if it never was ready past its start-up delay.
      else notReady = cond.status !== 'True' && started + s.initialReadinessDelayMs > transition;
      if (notReady) {
        unready.add(name);
        continue;
      }
    }
    ready++;
  }
  return { ready, unready, missing, ignored };
}

/** What each pod requests of the resource (the named container's, or all its containers'). */
function podRequests(pods: readonly Pod[], resource: string, container: string | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const pod of pods) {
    let total = 0;
    for (const c of pod.spec.containers) {
      if (container !== undefined && c.name !== container) continue;
      const request = c.resources?.requests?.[resource];
      if (request === undefined) throw new MetricUnavailableError(FAILED_GET, `missing request for ${resource} in container ${c.name} of Pod ${pod.metadata.name ?? ''}`);
      total += Quantity.parse(request).toNumber();
    }
    out.set(pod.metadata.name ?? '', total);
  }
  return out;
}

function usageOf(sample: PodUsage, resource: string, container: string | undefined): number {
  let total = 0;
  for (const [name, u] of sample.containers) {
    if (container !== undefined && name !== container) continue;
    total += resource === 'cpu' ? u.cpu : resource === 'memory' ? u.memory : 0;
  }
  return total;
}

/** Whether `ratio` (usage ÷ target) is close enough to 1 to change nothing. */
function withinTolerance(ratio: number, s: CalculatorSettings): boolean {
  return ratio >= 1 ? ratio - 1 <= s.tolerance.up : 1 - ratio <= s.tolerance.down;
}

interface Ratio {
  ratio: number;
  utilization?: number;
  averageValue: number;
}

function ratioOf(values: ReadonlyMap<string, number>, requests: ReadonlyMap<string, number>, m: ResourceMetricInput): Ratio {
  let used = 0;
  let requested = 0;
  for (const [pod, value] of values) {
    used += value;
    requested += requests.get(pod) ?? 0;
  }
  const averageValue = values.size > 0 ? used / values.size : 0;
  if (m.targetUtilization !== undefined) {
    if (requested <= 0) throw new MetricUnavailableError(FAILED_GET, `no metrics returned matched known pods`);
    // Kubernetes' integer percentage.
    const utilization = Math.trunc((used * 100) / requested);
    return { ratio: (used * 100) / requested / m.targetUtilization, utilization, averageValue };
  }
  return { ratio: used / ((m.targetAverageValue ?? 1) * values.size), averageValue };
}

/** The replica count one resource metric asks for, from `currentReplicas` and the target's pods. */
export function resourceReplicas(
  m: ResourceMetricInput,
  currentReplicas: number,
  pods: readonly Pod[],
  usage: ReadonlyMap<string, PodUsage>,
  s: CalculatorSettings,
  now: number,
): Recommendation {
  if (pods.length === 0) throw new MetricUnavailableError(FAILED_GET, 'no pods returned by selector while calculating replica count');
  const groups = groupPods(pods, usage, m.resource, s, now);
  const values = new Map<string, number>();
  for (const pod of pods) {
    const name = pod.metadata.name ?? '';
    const sample = usage.get(name);
    if (sample === undefined || groups.unready.has(name) || groups.ignored.has(name) || groups.missing.has(name)) continue;
    values.set(name, usageOf(sample, m.resource, m.container));
  }
  if (values.size === 0) throw new MetricUnavailableError(FAILED_GET, `did not receive metrics for targeted pods (pods might be unready)`);
  const requests = m.targetUtilization !== undefined ? podRequests(pods, m.resource, m.container) : new Map<string, number>();
  const first = ratioOf(values, requests, m);
  const shown = { ...(first.utilization !== undefined ? { utilization: first.utilization } : {}), averageValue: first.averageValue };
  const scaleUpWithUnready = groups.unready.size > 0 && first.ratio > 1;
  if (!scaleUpWithUnready && groups.missing.size === 0) {
    if (withinTolerance(first.ratio, s)) return { replicas: currentReplicas, ...shown };
    return { replicas: Math.ceil(first.ratio * groups.ready), ...shown };
  }
  // Fill in the pods set aside with what favours no change: a pod not yet measured uses its full
  // request (or the target, if higher) when scaling down, nothing when scaling up; a pod not yet
  // ready uses nothing when scaling up.
  for (const name of groups.missing) {
    if (first.ratio < 1) {
      const fallback =
        m.targetUtilization !== undefined ? ((requests.get(name) ?? 0) * Math.max(100, m.targetUtilization)) / 100 : (m.targetAverageValue ?? 0);
      values.set(name, fallback);
    } else if (first.ratio > 1) values.set(name, 0);
  }
  if (scaleUpWithUnready) for (const name of groups.unready) values.set(name, 0);
  const next = ratioOf(values, requests, m);
  if (withinTolerance(next.ratio, s) || (first.ratio < 1 && next.ratio > 1) || (first.ratio > 1 && next.ratio < 1)) {
    return { replicas: currentReplicas, ...shown };
  }
  const replicas = Math.ceil(next.ratio * values.size);
  if ((next.ratio < 1 && replicas > currentReplicas) || (next.ratio > 1 && replicas < currentReplicas)) return { replicas: currentReplicas, ...shown };
  return { replicas, ...shown };
}
