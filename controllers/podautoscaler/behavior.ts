// From the count the metrics ask for to the count the autoscaler sets (Kubernetes' scaling
// behavior): stabilized over recent recommendations (scaling down takes the highest of the
// down-window, scaling up the lowest of the up-window, so one dip or spike does not flap the
// workload), limited by the policies' rates, and kept within minReplicas..maxReplicas. Pure: the
// history in, the count and the ScalingLimited condition's reason out; the controller keeps the
// history per autoscaler.
import type { Behavior, ScalingPolicy, ScalingRules } from '../../shared/api/autoscaling.js';
import { scaleDownRules, scaleUpRules } from '../../shared/api/autoscaling.js';

export interface TimedRecommendation {
  replicas: number;
  at: number;
}

/** A rescale the controller made: by how many replicas, when. */
export interface ScaleEvent {
  change: number;
  at: number;
}

export interface ScalingHistory {
  recommendations: TimedRecommendation[];
  scaleUps: ScaleEvent[];
  scaleDowns: ScaleEvent[];
}

export interface BehaviorInput {
  current: number;
  /** What the metrics ask for. */
  desired: number;
  minReplicas: number;
  maxReplicas: number;
  behavior: Behavior | undefined;
  /** The scale-down window when the autoscaler sets none (--horizontal-pod-autoscaler-downscale-stabilization, 5 min). */
  defaultDownWindowMs: number;
  now: number;
}

export interface BehaviorOutcome {
  replicas: number;
  /** ScaleUpStabilized / ScaleDownStabilized when the window held the count back, with its message. */
  stabilized?: { reason: string; message: string };
  /** The ScalingLimited condition: True with TooManyReplicas, TooFewReplicas, ScaleUpLimit or ScaleDownLimit; False DesiredWithinRange. */
  limited: { status: 'True' | 'False'; reason: string; message: string };
}

const LONGEST_PERIOD_MS = 1_800_000;

/** History older than any window or period is of no use again. */
export function pruneHistory(h: ScalingHistory, now: number, keepMs: number): void {
  const cutoff = now - Math.max(keepMs, LONGEST_PERIOD_MS);
  h.recommendations = h.recommendations.filter((r) => r.at >= cutoff);
  h.scaleUps = h.scaleUps.filter((e) => e.at >= now - LONGEST_PERIOD_MS);
  h.scaleDowns = h.scaleDowns.filter((e) => e.at >= now - LONGEST_PERIOD_MS);
}

function changedWithin(events: readonly ScaleEvent[], periodSeconds: number, now: number): number {
  const since = now - periodSeconds * 1000;
  return events.reduce((sum, e) => (e.at > since ? sum + e.change : sum), 0);
}

/** The most (scaling up) or fewest (scaling down) replicas the rules allow now, from the count at each policy's period start. */
function rateLimit(rules: ScalingRules, direction: 'up' | 'down', current: number, h: ScalingHistory, now: number): number {
  if (rules.selectPolicy === 'Disabled') return current;
  const proposals = (rules.policies ?? []).map((p: ScalingPolicy) => {
    const periodStart = current - changedWithin(h.scaleUps, p.periodSeconds, now) + changedWithin(h.scaleDowns, p.periodSeconds, now);
    if (direction === 'up') return p.type === 'Pods' ? periodStart + p.value : Math.ceil(periodStart * (1 + p.value / 100));
    return p.type === 'Pods' ? periodStart - p.value : Math.floor(periodStart * (1 - p.value / 100));
  });
  if (proposals.length === 0) return current;
  // Max: the policy that allows the most change; Min: the least.
  const most = rules.selectPolicy !== 'Min';
  return direction === 'up' === most ? Math.max(...proposals) : Math.min(...proposals);
}

/** The count to set, and why; records the recommendation in the history. */
export function applyBehavior(input: BehaviorInput, h: ScalingHistory): BehaviorOutcome {
  const { current, desired, minReplicas, maxReplicas, now } = input;
  const up = scaleUpRules(input.behavior?.scaleUp);
  const down = scaleDownRules(input.behavior?.scaleDown);
  const upWindowMs = (up.stabilizationWindowSeconds ?? 0) * 1000;
  const downWindowMs = down.stabilizationWindowSeconds !== undefined ? down.stabilizationWindowSeconds * 1000 : input.defaultDownWindowMs;

  // Stabilization: the lowest recommendation of the up-window bounds a rise, the highest of the
  // down-window bounds a fall.
  let upBound = desired;
  let downBound = desired;
  for (const r of h.recommendations) {
    if (r.at > now - upWindowMs) upBound = Math.min(upBound, r.replicas);
    if (r.at > now - downWindowMs) downBound = Math.max(downBound, r.replicas);
  }
  h.recommendations.push({ replicas: desired, at: now });
  pruneHistory(h, now, Math.max(upWindowMs, downWindowMs));
  let replicas = Math.min(Math.max(current, upBound), downBound);
  let stabilized: BehaviorOutcome['stabilized'];
  if (replicas !== desired) {
    stabilized =
      desired < replicas
        ? { reason: 'ScaleDownStabilized', message: 'recent recommendations were higher than current one, applying the highest recent recommendation' }
        : { reason: 'ScaleUpStabilized', message: 'recent recommendations were lower than current one, applying the lowest recent recommendation' };
  }

  let limited: BehaviorOutcome['limited'] = { status: 'False', reason: 'DesiredWithinRange', message: 'the desired count is within the acceptable range' };
  if (replicas > current) {
    const rate = Math.max(rateLimit(up, 'up', current, h, now), current);
    const ceiling = Math.min(maxReplicas, rate);
    if (replicas > ceiling) {
      limited =
        rate < maxReplicas
          ? { status: 'True', reason: 'ScaleUpLimit', message: 'the desired replica count is increasing faster than the maximum scale rate' }
          : { status: 'True', reason: 'TooManyReplicas', message: 'the desired replica count is more than the maximum replica count' };
      replicas = ceiling;
    }
  } else if (replicas < current) {
    const rate = Math.min(rateLimit(down, 'down', current, h, now), current);
    const floor = Math.max(minReplicas, rate);
    if (replicas < floor) {
      limited =
        rate > minReplicas
          ? { status: 'True', reason: 'ScaleDownLimit', message: 'the desired replica count is decreasing faster than the maximum scale rate' }
          : { status: 'True', reason: 'TooFewReplicas', message: 'the desired replica count is less than the minimum replica count' };
      replicas = floor;
    }
  }
  // Whatever the history says, the count stays within the autoscaler's bounds.
  if (replicas > maxReplicas) {
    limited = { status: 'True', reason: 'TooManyReplicas', message: 'the desired replica count is more than the maximum replica count' };
    replicas = maxReplicas;
  } else if (replicas < minReplicas) {
    limited = { status: 'True', reason: 'TooFewReplicas', message: 'the desired replica count is less than the minimum replica count' };
    replicas = minReplicas;
  }
  return { replicas, ...(stabilized !== undefined ? { stabilized } : {}), limited };
}

/** Records a rescale, so the policies' periods count it. */
export function recordScale(h: ScalingHistory, from: number, to: number, now: number): void {
  if (to > from) h.scaleUps.push({ change: to - from, at: now });
  else if (to < from) h.scaleDowns.push({ change: from - to, at: now });
}
