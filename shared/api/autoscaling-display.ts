// How a HorizontalPodAutoscaler reads to a person: `kubectl get hpa`'s TARGETS column and the names
// of the conditions its controller keeps. Kept apart from the schemas in autoscaling.ts (which
// exports all of this too) and importing only their types, so the dashboard can bundle it without
// zod and every schema behind autoscaling.ts (half a megabyte of script).
import type { HorizontalPodAutoscaler } from './autoscaling.js';

/** The conditions the controller keeps, and their reasons (Kubernetes' wording). */
export const HPA_CONDITIONS = { ableToScale: 'AbleToScale', scalingActive: 'ScalingActive', scalingLimited: 'ScalingLimited' } as const;

/** The field of a metric (spec or status) that holds its source, by the metric's type. */
export const SOURCE_FIELDS = { Resource: 'resource', ContainerResource: 'containerResource', Pods: 'pods', Object: 'object', External: 'external' } as const;

/** `cpu: 45%/80%`, `memory: 120Mi/200Mi`; `<unknown>` before the first measurement; two at most, then `+ N more...`. */
export function metricsSummary(hpa: HorizontalPodAutoscaler): string {
  const { metrics } = hpa.spec;
  if (metrics.length === 0) return '<none>';
  const now = hpa.status.currentMetrics ?? [];
  const shown = metrics.slice(0, 2).map((m, i) => {
    const current = now[i];
    const own = SOURCE_FIELDS[m.type];
    const source = m[own];
    const reading = current?.[own]?.current;
    if (source === undefined) return '<unknown type>';
    const prefix = 'name' in source ? `${source.name}: ` : '';
    const { target } = source;
    if (target.type === 'Utilization') {
      const at = reading?.averageUtilization !== undefined ? `${reading.averageUtilization}%` : '<unknown>';
      return `${prefix}${at}/${target.averageUtilization ?? '<auto>'}${target.averageUtilization !== undefined ? '%' : ''}`;
    }
    if (target.type === 'AverageValue') {
      const avg = m.type === 'Resource' || m.type === 'ContainerResource' || m.type === 'Pods' ? '' : ' (avg)';
      return `${prefix}${reading?.averageValue ?? '<unknown>'}/${target.averageValue ?? ''}${avg}`;
    }
    return `${prefix}${reading?.value ?? '<unknown>'}/${target.value ?? ''}`;
  });
  const more = metrics.length > 2 ? ` + ${metrics.length - 2} more...` : '';
  return `${shown.join(', ')}${more}`;
}
