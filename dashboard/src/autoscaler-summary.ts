// What the dashboard says about a HorizontalPodAutoscaler: `kubectl get hpa`'s columns (REFERENCE,
// TARGETS, MINPODS, MAXPODS, REPLICAS), the replicas it last saw and asked for, and its conditions
// the way `kubectl describe hpa` lists them; which autoscalers scale a given workload; and how often
// the page lists them again (autoscalers.ts does the asking). Pure functions: no DOM, no Preact
// (unit-tested in test/dashboard/).
// autoscaling-display.ts, not autoscaling.ts: the same functions without the schemas and zod, which
// would grow the page's script eightfold.
import { HPA_CONDITIONS, metricsSummary } from '../../shared/api/autoscaling-display.js';
import type { HorizontalPodAutoscaler } from '../../shared/api/autoscaling.js';
import type { Tone } from './workloads.js';

/**
 * How often the page lists autoscalers again. The controller writes an autoscaler's status once per
 * sync period (15 s by default), so a list every 5 s shows each change within a third of a period.
 */
export const AUTOSCALER_POLL_MS = 5_000;

/** The kinds an autoscaler scales on cell: those with a scale subresource, all apps/v1. */
export const SCALABLE_KINDS = ['Deployment', 'StatefulSet', 'ReplicaSet'] as const;
export type ScalableKind = (typeof SCALABLE_KINDS)[number];

export interface AutoscalerCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  tone: Tone;
}

export interface AutoscalerSummary {
  /** kubectl's REFERENCE: `Deployment/web`. */
  reference: string;
  /** kubectl's TARGETS: `cpu: 45%/80%` (metricsSummary, kubectl's own wording). */
  targets: string;
  minPods: number;
  maxPods: number;
  /** kubectl's REPLICAS: the target's replicas when the controller last looked. */
  currentReplicas: number;
  /** The replicas it last asked for. */
  desiredReplicas: number;
  /** AbleToScale, ScalingActive and ScalingLimited first, in that order, then any other. */
  conditions: AutoscalerCondition[];
}

const CONDITION_ORDER: readonly string[] = [HPA_CONDITIONS.ableToScale, HPA_CONDITIONS.scalingActive, HPA_CONDITIONS.scalingLimited];

/**
 * Whether a condition is good news. ScalingLimited=True is no fault but says the count is held at a
 * bound or a rate; ScalingActive=False because the target was scaled to zero (ScalingDisabled) is
 * someone's choice, not a failure.
 */
function conditionTone(type: string, status: string, reason: string): Tone {
  if (status === 'Unknown') return 'progress';
  if (type === HPA_CONDITIONS.scalingLimited) return status === 'True' ? 'progress' : 'ok';
  if (status === 'True') return 'ok';
  if (type === HPA_CONDITIONS.scalingActive && reason === 'ScalingDisabled') return 'progress';
  return type === HPA_CONDITIONS.ableToScale || type === HPA_CONDITIONS.scalingActive ? 'bad' : 'progress';
}

function rank(type: string): number {
  const i = CONDITION_ORDER.indexOf(type);
  return i < 0 ? CONDITION_ORDER.length : i;
}

export function autoscalerSummary(hpa: HorizontalPodAutoscaler): AutoscalerSummary {
  const { spec, status } = hpa;
  const conditions = (status.conditions ?? [])
    .map((c) => ({ type: c.type, status: c.status, reason: c.reason ?? '', message: c.message ?? '', tone: conditionTone(c.type, c.status, c.reason ?? '') }))
    // A stable sort: conditions of one rank keep the controller's order.
    .sort((a, b) => rank(a.type) - rank(b.type));
  return {
    reference: `${spec.scaleTargetRef.kind}/${spec.scaleTargetRef.name}`,
    targets: metricsSummary(hpa),
    minPods: spec.minReplicas,
    maxPods: spec.maxReplicas,
    currentReplicas: status.currentReplicas,
    desiredReplicas: status.desiredReplicas,
    conditions,
  };
}

/**
 * The workload an autoscaler scales, when it is one the dashboard shows: a Deployment, StatefulSet
 * or ReplicaSet of the apps group (a scaleTargetRef without apiVersion means apps, as the
 * controller reads it). Always in the autoscaler's own namespace.
 */
export function scaleTarget(hpa: HorizontalPodAutoscaler): { kind: ScalableKind; namespace: string; name: string } | undefined {
  const ref = hpa.spec.scaleTargetRef;
  const kind = SCALABLE_KINDS.find((k) => k === ref.kind);
  const group = ref.apiVersion === undefined ? 'apps' : ref.apiVersion.includes('/') ? ref.apiVersion.split('/')[0] : '';
  if (kind === undefined || group !== 'apps' || ref.name === '') return undefined;
  return { kind, namespace: hpa.metadata.namespace ?? 'default', name: ref.name };
}

/**
 * The autoscalers that scale one workload, by name. Usually none or one; two or more fight over its
 * count, and the controller then reports AmbiguousSelector on each — so all are shown.
 */
export function autoscalersOf(hpas: readonly HorizontalPodAutoscaler[], kind: ScalableKind, namespace: string, name: string): HorizontalPodAutoscaler[] {
  return hpas
    .filter((h) => {
      const t = scaleTarget(h);
      return t !== undefined && t.kind === kind && t.namespace === namespace && t.name === name;
    })
    .sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
}

/**
 * Whether two lists hold the same autoscalers at the same revisions, in the same order: a list the
 * same as the last one need not re-render the page (most lists every 5 s change nothing).
 */
export function sameAutoscalers(a: readonly HorizontalPodAutoscaler[] | undefined, b: readonly HorizontalPodAutoscaler[]): boolean {
  if (a === undefined || a.length !== b.length) return false;
  return a.every((h, i) => h.metadata.uid === b[i]?.metadata.uid && h.metadata.resourceVersion === b[i]?.metadata.resourceVersion);
}
