// autoscaling/v2 HorizontalPodAutoscaler, as Kubernetes defines it (field names, defaults,
// validation), and its autoscaling/v1 form, which `kubectl autoscale` writes: one object stored as
// v2 and served in both versions. The v1 form holds only a CPU target; what it cannot say (other
// metrics, behavior, conditions) travels in annotations, as in Kubernetes, so a v1 client that
// reads, edits and writes back an object loses none of it.
import { z } from 'zod';
import type { FieldCause } from '../errors.js';
import { Quantity } from '../quantity.js';
import { QuantitySchema } from './core.js';
import { cause } from './field-errors.js';
import { ConditionSchema, LabelSelectorSchema, ObjectMetaSchema, TimeSchema } from './meta.js';
import { labelSelectorCauses, nonNegative } from './rules.js';
import { SOURCE_FIELDS } from './autoscaling-display.js';

// How an autoscaler reads (kubectl's TARGETS, the condition names) lives in a module of its own,
// free of zod and the schemas, so the dashboard can bundle it; it is exported from here too.
export { HPA_CONDITIONS, metricsSummary } from './autoscaling-display.js';

export const AUTOSCALING_GROUP = 'autoscaling';
export const HPA_V2_API_VERSION = 'autoscaling/v2';
export const HPA_V1_API_VERSION = 'autoscaling/v1';

/** The target a HorizontalPodAutoscaler gets when it names none: 80% of the pods' CPU requests. */
export const DEFAULT_CPU_UTILIZATION = 80;

export const CrossVersionObjectReferenceSchema = z.object({
  kind: z.string().default('').describe('Kind of the scaled object: Deployment, ReplicaSet, StatefulSet.'),
  name: z.string().default('').describe('Name of the scaled object, in the autoscaler\'s namespace.'),
  apiVersion: z.string().optional().describe('API version of the scaled object (apps/v1).'),
});
export type CrossVersionObjectReference = z.infer<typeof CrossVersionObjectReferenceSchema>;

export const MetricTargetTypeSchema = z.enum(['Utilization', 'Value', 'AverageValue']);

export const MetricTargetSchema = z.object({
  type: MetricTargetTypeSchema.describe('Utilization (percent of the pods\' requests), Value or AverageValue.'),
  value: QuantitySchema.optional().describe('The target value of the metric (Value).'),
  averageValue: QuantitySchema.optional().describe('The target value of the metric averaged over the pods (AverageValue).'),
  averageUtilization: z.number().int().optional().describe('The target average of the resource as a percentage of the pods\' requests (Utilization).'),
});
export type MetricTarget = z.infer<typeof MetricTargetSchema>;

export const MetricValueStatusSchema = z.object({
  value: QuantitySchema.optional(),
  averageValue: QuantitySchema.optional(),
  averageUtilization: z.number().int().optional(),
});
export type MetricValueStatus = z.infer<typeof MetricValueStatusSchema>;

const MetricIdentifierSchema = z.object({ name: z.string().default(''), selector: LabelSelectorSchema.optional() });

const resourceSource = { name: z.string().default('').describe('The resource: cpu or memory.') };
const containerSource = { ...resourceSource, container: z.string().default('').describe('The container of each pod whose usage counts.') };

export const MetricSourceTypeSchema = z.enum(['Object', 'Pods', 'Resource', 'ContainerResource', 'External']);
export type MetricSourceType = z.infer<typeof MetricSourceTypeSchema>;

export const MetricSpecSchema = z.object({
  type: MetricSourceTypeSchema.describe('Which of the sources below this metric is.'),
  resource: z.object({ ...resourceSource, target: MetricTargetSchema }).optional().describe('A resource of the pods (what the metrics API reports), averaged over them.'),
  containerResource: z.object({ ...containerSource, target: MetricTargetSchema }).optional().describe('A resource of one container of each pod.'),
  pods: z.object({ metric: MetricIdentifierSchema, target: MetricTargetSchema }).optional().describe('A custom per-pod metric (not served by cell).'),
  object: z
    .object({ describedObject: CrossVersionObjectReferenceSchema, metric: MetricIdentifierSchema, target: MetricTargetSchema })
    .optional()
    .describe('A custom metric of another object (not served by cell).'),
  external: z.object({ metric: MetricIdentifierSchema, target: MetricTargetSchema }).optional().describe('A metric from outside the cluster (not served by cell).'),
});
export type MetricSpec = z.infer<typeof MetricSpecSchema>;

export const MetricStatusSchema = z.object({
  type: MetricSourceTypeSchema,
  resource: z.object({ ...resourceSource, current: MetricValueStatusSchema }).optional(),
  containerResource: z.object({ ...containerSource, current: MetricValueStatusSchema }).optional(),
  pods: z.object({ metric: MetricIdentifierSchema, current: MetricValueStatusSchema }).optional(),
  object: z.object({ describedObject: CrossVersionObjectReferenceSchema, metric: MetricIdentifierSchema, current: MetricValueStatusSchema }).optional(),
  external: z.object({ metric: MetricIdentifierSchema, current: MetricValueStatusSchema }).optional(),
});
export type MetricStatus = z.infer<typeof MetricStatusSchema>;

export const ScalingPolicySchema = z.object({
  type: z.enum(['Pods', 'Percent']).describe('Pods: at most `value` pods; Percent: at most `value` percent of the pods at the period\'s start.'),
  value: z.number().int().describe('How much may change in one period; greater than 0.'),
  periodSeconds: z.number().int().describe('The period the policy holds over: 1 to 1800 seconds.'),
});
export type ScalingPolicy = z.infer<typeof ScalingPolicySchema>;

export const SelectPolicySchema = z.enum(['Max', 'Min', 'Disabled']);

export const ScalingRulesSchema = z.object({
  stabilizationWindowSeconds: z
    .number()
    .int()
    .optional()
    .describe('How far back recommendations count: scaling down takes the highest of the window, scaling up the lowest (0 to 3600 s).'),
  selectPolicy: SelectPolicySchema.optional().describe('Max (the policy allowing the most change, the default), Min, or Disabled (no scaling this way).'),
  policies: z.array(ScalingPolicySchema).optional().describe('How fast the replica count may change.'),
  tolerance: QuantitySchema.optional().describe('Usage within this fraction of the target does not scale this way (default: the controller\'s, 0.1).'),
});
export type ScalingRules = z.infer<typeof ScalingRulesSchema>;

export const BehaviorSchema = z.object({
  scaleUp: ScalingRulesSchema.optional(),
  scaleDown: ScalingRulesSchema.optional(),
});
export type Behavior = z.infer<typeof BehaviorSchema>;

/** Kubernetes' default rules: up by 4 pods or 100% every 15 s, whichever is more, right away. */
export function scaleUpRules(rules: ScalingRules | undefined): ScalingRules {
  return {
    stabilizationWindowSeconds: rules?.stabilizationWindowSeconds ?? 0,
    selectPolicy: rules?.selectPolicy ?? 'Max',
    policies: rules?.policies ?? [
      { type: 'Pods', value: 4, periodSeconds: 15 },
      { type: 'Percent', value: 100, periodSeconds: 15 },
    ],
    ...(rules?.tolerance !== undefined ? { tolerance: rules.tolerance } : {}),
  };
}

/** Down by up to 100% every 15 s; the window, unset, is the controller's (5 minutes by default). */
export function scaleDownRules(rules: ScalingRules | undefined): ScalingRules {
  return {
    ...(rules?.stabilizationWindowSeconds !== undefined ? { stabilizationWindowSeconds: rules.stabilizationWindowSeconds } : {}),
    selectPolicy: rules?.selectPolicy ?? 'Max',
    policies: rules?.policies ?? [{ type: 'Percent', value: 100, periodSeconds: 15 }],
    ...(rules?.tolerance !== undefined ? { tolerance: rules.tolerance } : {}),
  };
}

const defaultCpuMetric = (utilization = DEFAULT_CPU_UTILIZATION): MetricSpec => ({
  type: 'Resource',
  resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: utilization } },
});

export const HorizontalPodAutoscalerSpecSchema = z
  .object({
    scaleTargetRef: CrossVersionObjectReferenceSchema.prefault({}).describe('The object whose scale subresource the autoscaler sets.'),
    minReplicas: z.number().int().default(1).describe('The fewest replicas it scales down to (at least 1).'),
    maxReplicas: z.number().int().default(0).describe('The most replicas it scales up to; at least minReplicas.'),
    metrics: z.array(MetricSpecSchema).optional().describe('What the replica count follows; the highest count any metric asks for wins. Default: 80% CPU utilization.'),
    behavior: BehaviorSchema.optional().describe('How fast it scales up and down; unset fields take Kubernetes\' defaults.'),
  })
  // Kubernetes' defaulting: no metrics means CPU at 80%; a behavior given is completed.
  .transform((spec) => ({
    ...spec,
    metrics: spec.metrics === undefined || spec.metrics.length === 0 ? [defaultCpuMetric()] : spec.metrics,
    ...(spec.behavior !== undefined ? { behavior: { scaleUp: scaleUpRules(spec.behavior.scaleUp), scaleDown: scaleDownRules(spec.behavior.scaleDown) } } : {}),
  }));
export type HorizontalPodAutoscalerSpec = z.infer<typeof HorizontalPodAutoscalerSpecSchema>;

export const HorizontalPodAutoscalerStatusSchema = z.object({
  observedGeneration: z.number().int().optional().describe('The metadata.generation the controller last acted on.'),
  lastScaleTime: TimeSchema.optional().describe('When it last changed the replica count.'),
  currentReplicas: z.number().int().default(0).describe('Replicas of the target when last looked at.'),
  desiredReplicas: z.number().int().default(0).describe('Replicas it last asked for.'),
  currentMetrics: z.array(MetricStatusSchema).optional().describe('The metrics as last measured, in the order of spec.metrics.'),
  conditions: z.array(ConditionSchema).optional().describe('AbleToScale, ScalingActive and ScalingLimited.'),
});
export type HorizontalPodAutoscalerStatus = z.infer<typeof HorizontalPodAutoscalerStatusSchema>;

export const HorizontalPodAutoscalerSchema = z
  .object({
    apiVersion: z.literal(HPA_V2_API_VERSION).default(HPA_V2_API_VERSION),
    kind: z.literal('HorizontalPodAutoscaler').default('HorizontalPodAutoscaler'),
    metadata: ObjectMetaSchema.prefault({}),
    spec: HorizontalPodAutoscalerSpecSchema.prefault({}),
    status: HorizontalPodAutoscalerStatusSchema.prefault({}),
  })
  .describe('Scales a Deployment, ReplicaSet or StatefulSet to keep the measured usage of its pods near a target.');
export type HorizontalPodAutoscaler = z.infer<typeof HorizontalPodAutoscalerSchema>;


// ---------------------------------------------------------------------------------------------
// Validation (Kubernetes' ValidateHorizontalPodAutoscaler)

const MAX_STABILIZATION_SECONDS = 3600;
const MAX_PERIOD_SECONDS = 1800;

function positiveQuantity(field: string, value: string | undefined): FieldCause[] {
  if (value === undefined) return [cause.required(field)];
  const q = Quantity.parse(value);
  return q.isZero() || q.isNegative() ? [cause.invalid(field, value, 'must be positive')] : [];
}

function targetCauses(field: string, target: MetricTarget, resource: boolean): FieldCause[] {
  const out: FieldCause[] = [];
  if (resource && target.type === 'Value') out.push(cause.notSupported(`${field}.type`, target.type, ['Utilization', 'AverageValue']));
  if (target.type === 'Utilization') {
    if (target.averageUtilization === undefined) out.push(cause.required(`${field}.averageUtilization`, 'must set averageUtilization for a Utilization target'));
    else if (target.averageUtilization < 1) out.push(cause.invalid(`${field}.averageUtilization`, target.averageUtilization, 'must be greater than 0'));
  }
  if (target.type === 'AverageValue') out.push(...positiveQuantity(`${field}.averageValue`, target.averageValue));
  if (target.type === 'Value') out.push(...positiveQuantity(`${field}.value`, target.value));
  return out;
}

function metricCauses(field: string, m: MetricSpec): FieldCause[] {
  const out: FieldCause[] = [];
  const own = SOURCE_FIELDS[m.type];
  for (const other of Object.values(SOURCE_FIELDS)) {
    if (other !== own && m[other] !== undefined) out.push(cause.forbidden(`${field}.${other}`, 'must populate the given metric source only'));
  }
  const source = m[own];
  if (source === undefined) return [...out, cause.required(`${field}.${own}`, 'must populate information for the given metric source')];
  if ('name' in source && source.name === '') out.push(cause.required(`${field}.${own}.name`, 'must specify a resource name'));
  if ('container' in source && source.container === '') out.push(cause.required(`${field}.${own}.container`, 'must specify a container'));
  if ('metric' in source && source.metric.name === '') out.push(cause.required(`${field}.${own}.metric.name`, 'must specify a metric name'));
  if ('metric' in source) out.push(...labelSelectorCauses(source.metric.selector, `${field}.${own}.metric.selector`));
  out.push(...targetCauses(`${field}.${own}.target`, source.target, m.type === 'Resource' || m.type === 'ContainerResource'));
  return out;
}

function rulesCauses(field: string, rules: ScalingRules | undefined): FieldCause[] {
  if (rules === undefined) return [];
  const out: FieldCause[] = [];
  const window = rules.stabilizationWindowSeconds;
  out.push(...nonNegative(`${field}.stabilizationWindowSeconds`, window));
  if (window !== undefined && window > MAX_STABILIZATION_SECONDS) {
    out.push(cause.invalid(`${field}.stabilizationWindowSeconds`, window, `must be less than or equal to ${MAX_STABILIZATION_SECONDS}`));
  }
  if (rules.tolerance !== undefined && Quantity.parse(rules.tolerance).isNegative()) out.push(cause.invalid(`${field}.tolerance`, rules.tolerance, 'must be greater than or equal to 0'));
  const policies = rules.policies ?? [];
  if (policies.length === 0) out.push(cause.required(`${field}.policies`, 'must specify at least one Policy'));
  policies.forEach((p, i) => {
    if (p.value <= 0) out.push(cause.invalid(`${field}.policies[${i}].value`, p.value, 'must be greater than zero'));
    if (p.periodSeconds <= 0) out.push(cause.invalid(`${field}.policies[${i}].periodSeconds`, p.periodSeconds, 'must be greater than zero'));
    else if (p.periodSeconds > MAX_PERIOD_SECONDS) out.push(cause.invalid(`${field}.policies[${i}].periodSeconds`, p.periodSeconds, `must be less than or equal to ${MAX_PERIOD_SECONDS}`));
  });
  return out;
}

export function horizontalPodAutoscalerCauses(hpa: HorizontalPodAutoscaler): FieldCause[] {
  const { spec, status } = hpa;
  const out: FieldCause[] = [];
  if (spec.scaleTargetRef.kind === '') out.push(cause.required('spec.scaleTargetRef.kind'));
  else if (/[/%]/.test(spec.scaleTargetRef.kind)) out.push(cause.invalid('spec.scaleTargetRef.kind', spec.scaleTargetRef.kind, 'may not contain \'/\' or \'%\''));
  if (spec.scaleTargetRef.name === '') out.push(cause.required('spec.scaleTargetRef.name'));
  else if (/[/%]/.test(spec.scaleTargetRef.name) || spec.scaleTargetRef.name === '.' || spec.scaleTargetRef.name === '..') {
    out.push(cause.invalid('spec.scaleTargetRef.name', spec.scaleTargetRef.name, 'may not be \'.\' or \'..\' nor contain \'/\' or \'%\''));
  }
  if (spec.minReplicas < 1) out.push(cause.invalid('spec.minReplicas', spec.minReplicas, 'must be greater than or equal to 1'));
  if (spec.maxReplicas < 1) out.push(cause.invalid('spec.maxReplicas', spec.maxReplicas, 'must be greater than 0'));
  else if (spec.maxReplicas < spec.minReplicas) out.push(cause.invalid('spec.maxReplicas', spec.maxReplicas, 'must be greater than or equal to `minReplicas`'));
  spec.metrics.forEach((m, i) => out.push(...metricCauses(`spec.metrics[${i}]`, m)));
  out.push(...rulesCauses('spec.behavior.scaleUp', spec.behavior?.scaleUp), ...rulesCauses('spec.behavior.scaleDown', spec.behavior?.scaleDown));
  out.push(...nonNegative('status.currentReplicas', status.currentReplicas), ...nonNegative('status.desiredReplicas', status.desiredReplicas));
  return out;
}

// ---------------------------------------------------------------------------------------------
// autoscaling/v1: a CPU target only, the rest in annotations.

export const HorizontalPodAutoscalerV1Schema = z
  .object({
    apiVersion: z.literal(HPA_V1_API_VERSION).default(HPA_V1_API_VERSION),
    kind: z.literal('HorizontalPodAutoscaler').default('HorizontalPodAutoscaler'),
    metadata: ObjectMetaSchema.prefault({}),
    spec: z
      .object({
        scaleTargetRef: CrossVersionObjectReferenceSchema.prefault({}).describe('The object whose scale subresource the autoscaler sets.'),
        minReplicas: z.number().int().default(1).describe('The fewest replicas it scales down to (at least 1).'),
        maxReplicas: z.number().int().default(0).describe('The most replicas it scales up to; at least minReplicas.'),
        targetCPUUtilizationPercentage: z.number().int().optional().describe('The target average CPU usage as a percentage of the pods\' requests (default 80).'),
      })
      .prefault({}),
    status: z
      .object({
        observedGeneration: z.number().int().optional(),
        lastScaleTime: TimeSchema.optional(),
        currentReplicas: z.number().int().default(0),
        desiredReplicas: z.number().int().default(0),
        currentCPUUtilizationPercentage: z.number().int().optional().describe('The pods\' average CPU usage as a percentage of their requests, as last measured.'),
      })
      .prefault({}),
  })
  .describe('The autoscaling/v1 form of a HorizontalPodAutoscaler: a CPU target only.');
export type HorizontalPodAutoscalerV1 = z.infer<typeof HorizontalPodAutoscalerV1Schema>;

export function horizontalPodAutoscalerV1Causes(hpa: HorizontalPodAutoscalerV1): FieldCause[] {
  const t = hpa.spec.targetCPUUtilizationPercentage;
  return t !== undefined && t < 1 ? [cause.invalid('spec.targetCPUUtilizationPercentage', t, 'must be greater than 0')] : [];
}

/** Where the v1 form keeps what only v2 can say (Kubernetes' annotation names). */
export const V1_ANNOTATIONS = {
  metrics: 'autoscaling.alpha.kubernetes.io/metrics',
  behavior: 'autoscaling.alpha.kubernetes.io/behavior',
  conditions: 'autoscaling.alpha.kubernetes.io/conditions',
  currentMetrics: 'autoscaling.alpha.kubernetes.io/current-metrics',
} as const;

function isCpuUtilization(m: MetricSpec): boolean {
  return m.type === 'Resource' && m.resource?.name === 'cpu' && m.resource.target.type === 'Utilization';
}

/** The v1 form of a stored (v2) autoscaler. */
export function horizontalPodAutoscalerToV1(hpa: HorizontalPodAutoscaler): HorizontalPodAutoscalerV1 {
  const { spec, status } = hpa;
  const cpu = spec.metrics.find(isCpuUtilization);
  const others = spec.metrics.filter((m) => m !== cpu);
  const cpuNow = status.currentMetrics?.find((m) => m.type === 'Resource' && m.resource?.name === 'cpu');
  const otherNow = (status.currentMetrics ?? []).filter((m) => m !== cpuNow);
  const annotations: Record<string, string> = { ...(hpa.metadata.annotations ?? {}) };
  if (others.length > 0) annotations[V1_ANNOTATIONS.metrics] = JSON.stringify(others);
  if (spec.behavior !== undefined) annotations[V1_ANNOTATIONS.behavior] = JSON.stringify(spec.behavior);
  if (status.conditions !== undefined && status.conditions.length > 0) annotations[V1_ANNOTATIONS.conditions] = JSON.stringify(status.conditions);
  if (otherNow.length > 0) annotations[V1_ANNOTATIONS.currentMetrics] = JSON.stringify(otherNow);
  const cpuUtilization = cpuNow?.resource?.current.averageUtilization;
  return {
    apiVersion: HPA_V1_API_VERSION,
    kind: 'HorizontalPodAutoscaler',
    metadata: { ...hpa.metadata, ...(Object.keys(annotations).length > 0 ? { annotations } : {}) },
    spec: {
      scaleTargetRef: spec.scaleTargetRef,
      minReplicas: spec.minReplicas,
      maxReplicas: spec.maxReplicas,
      ...(cpu?.resource?.target.averageUtilization !== undefined ? { targetCPUUtilizationPercentage: cpu.resource.target.averageUtilization } : {}),
    },
    status: {
      ...(status.observedGeneration !== undefined ? { observedGeneration: status.observedGeneration } : {}),
      ...(status.lastScaleTime !== undefined ? { lastScaleTime: status.lastScaleTime } : {}),
      currentReplicas: status.currentReplicas,
      desiredReplicas: status.desiredReplicas,
      ...(cpuUtilization !== undefined ? { currentCPUUtilizationPercentage: cpuUtilization } : {}),
    },
  };
}

/** A v1 annotation's JSON list, or a field error naming the annotation. */
function annotationList(annotations: Record<string, string>, key: string, causes: FieldCause[]): unknown[] {
  const text = annotations[key];
  delete annotations[key];
  if (text === undefined) return [];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
  }
  if (Array.isArray(value)) return value;
  causes.push(cause.invalid(`metadata.annotations[${key}]`, text, 'must be a JSON list'));
  return [];
}

/**
 * The stored (v2) form of a v1 autoscaler, undecoded (the v2 schema then defaults and validates
 * it), and the errors in its annotations.
 */
export function horizontalPodAutoscalerFromV1(hpa: HorizontalPodAutoscalerV1): { object: unknown; causes: FieldCause[] } {
  const causes: FieldCause[] = [];
  const annotations = { ...(hpa.metadata.annotations ?? {}) };
  const others = annotationList(annotations, V1_ANNOTATIONS.metrics, causes);
  const conditions = annotationList(annotations, V1_ANNOTATIONS.conditions, causes);
  const otherNow = annotationList(annotations, V1_ANNOTATIONS.currentMetrics, causes);
  const behaviorText = annotations[V1_ANNOTATIONS.behavior];
  delete annotations[V1_ANNOTATIONS.behavior];
  let behavior: unknown;
  if (behaviorText !== undefined) {
    try {
      behavior = JSON.parse(behaviorText);
    } catch (err) {
      if (!(err instanceof SyntaxError)) throw err;
      causes.push(cause.invalid(`metadata.annotations[${V1_ANNOTATIONS.behavior}]`, behaviorText, 'must be a JSON object'));
    }
  }
  const { spec, status } = hpa;
  const target = spec.targetCPUUtilizationPercentage;
  const metrics = [...(target !== undefined ? [defaultCpuMetric(target)] : []), ...others];
  const cpuNow = status.currentCPUUtilizationPercentage;
  const currentMetrics = [...(cpuNow !== undefined ? [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: cpuNow } } }] : []), ...otherNow];
  const { annotations: _dropped, ...meta } = hpa.metadata;
  const object = {
    apiVersion: HPA_V2_API_VERSION,
    kind: 'HorizontalPodAutoscaler',
    metadata: { ...meta, ...(Object.keys(annotations).length > 0 ? { annotations } : {}) },
    spec: {
      scaleTargetRef: spec.scaleTargetRef,
      minReplicas: spec.minReplicas,
      maxReplicas: spec.maxReplicas,
      ...(metrics.length > 0 ? { metrics } : {}),
      ...(behavior !== undefined ? { behavior } : {}),
    },
    status: {
      ...(status.observedGeneration !== undefined ? { observedGeneration: status.observedGeneration } : {}),
      ...(status.lastScaleTime !== undefined ? { lastScaleTime: status.lastScaleTime } : {}),
      currentReplicas: status.currentReplicas,
      desiredReplicas: status.desiredReplicas,
      ...(currentMetrics.length > 0 ? { currentMetrics } : {}),
      ...(conditions.length > 0 ? { conditions } : {}),
    },
  };
  return { object, causes };
}
