// policy/v1 PodDisruptionBudget and the Eviction body of `POST .../pods/{name}/eviction`, with
// Kubernetes' field names and meanings. A budget limits how many of the pods it selects voluntary
// disruptions (evictions, drains) may take down at once; the disruption controller keeps its status.
import { z } from 'zod';
import type { FieldCause } from '../errors.js';
import { cause } from './field-errors.js';
import { ConditionSchema, DeleteOptionsSchema, LabelSelectorSchema, ObjectMetaSchema, TimeSchema } from './meta.js';
import { labelSelectorCauses, nonNegative } from './rules.js';

export const POLICY_GROUP = 'policy';
export const POLICY_API_VERSION = 'policy/v1';

/** intstr.IntOrString: a count (`2`) or a percentage of the selected pods (`"50%"`). */
export const IntOrStringSchema = z.union([z.number().int(), z.string()]);
export type IntOrString = z.infer<typeof IntOrStringSchema>;

export const UnhealthyPodEvictionPolicySchema = z.enum(['IfHealthyBudget', 'AlwaysAllow']);
export type UnhealthyPodEvictionPolicy = z.infer<typeof UnhealthyPodEvictionPolicySchema>;

export const PodDisruptionBudgetSpecSchema = z.object({
  minAvailable: IntOrStringSchema.optional().describe(
    'How many selected pods must stay available after an eviction: a number, or a percentage of the selected pods (rounded up).',
  ),
  maxUnavailable: IntOrStringSchema.optional().describe(
    'How many selected pods may be unavailable after an eviction: a number, or a percentage of the selected pods (rounded up).',
  ),
  selector: LabelSelectorSchema.optional().describe(
    "The pods the budget covers, in the budget's namespace. An empty selector selects every pod; an absent one selects none.",
  ),
  unhealthyPodEvictionPolicy: UnhealthyPodEvictionPolicySchema.optional().describe(
    'When a not-ready pod may be evicted: IfHealthyBudget (the default) only while the budget is met; AlwaysAllow regardless.',
  ),
});
export type PodDisruptionBudgetSpec = z.infer<typeof PodDisruptionBudgetSpecSchema>;

export const PodDisruptionBudgetStatusSchema = z.object({
  observedGeneration: z.number().int().optional().describe('The metadata.generation this status was computed for.'),
  disruptedPods: z
    .record(z.string(), TimeSchema)
    .optional()
    .describe('Pods whose eviction was granted but not yet seen done, by name, with the time it was granted.'),
  disruptionsAllowed: z.number().int().default(0).describe('How many more pod disruptions the budget allows now.'),
  currentHealthy: z.number().int().default(0).describe('Selected pods that are running and ready.'),
  desiredHealthy: z.number().int().default(0).describe('Selected pods that must stay healthy.'),
  expectedPods: z.number().int().default(0).describe('Selected pods that have not finished.'),
  conditions: z.array(ConditionSchema).optional().describe('DisruptionAllowed: True (SufficientPods) or False (InsufficientPods).'),
});
export type PodDisruptionBudgetStatus = z.infer<typeof PodDisruptionBudgetStatusSchema>;

export const PodDisruptionBudgetSchema = z
  .object({
    apiVersion: z.literal(POLICY_API_VERSION).default(POLICY_API_VERSION),
    kind: z.literal('PodDisruptionBudget').default('PodDisruptionBudget'),
    metadata: ObjectMetaSchema.prefault({}),
    spec: PodDisruptionBudgetSpecSchema.prefault({}),
    status: PodDisruptionBudgetStatusSchema.prefault({}),
  })
  .describe('A disruption budget: how many of the pods it selects voluntary evictions may take down at once.');
export type PodDisruptionBudget = z.infer<typeof PodDisruptionBudgetSchema>;

/** The condition the disruption controller and the eviction subresource keep on a budget. */
export const DISRUPTION_ALLOWED_CONDITION = 'DisruptionAllowed';
export const SUFFICIENT_PODS_REASON = 'SufficientPods';
export const INSUFFICIENT_PODS_REASON = 'InsufficientPods';

/** The `details.causes[].reason` of an eviction refused by a budget. */
export const DISRUPTION_BUDGET_CAUSE = 'DisruptionBudget';

// ---------------------------------------------------------------------------------------------
// Eviction: the body of the pods/eviction subresource. policy/v1beta1 is accepted too (older clients).

export const EVICTION_API_VERSIONS = ['policy/v1', 'policy/v1beta1'] as const;

export const EvictionSchema = z
  .object({
    apiVersion: z.enum(EVICTION_API_VERSIONS).default('policy/v1'),
    kind: z.literal('Eviction').default('Eviction'),
    metadata: ObjectMetaSchema.prefault({}),
    deleteOptions: DeleteOptionsSchema.optional().describe('How the pod is deleted once the eviction is allowed.'),
  })
  .describe("A request to evict a pod: a graceful delete that first checks the pod's disruption budget.");
export type Eviction = z.infer<typeof EvictionSchema>;

// ---------------------------------------------------------------------------------------------
// Validation (Kubernetes' ValidatePodDisruptionBudget*)

const PERCENT = /^[0-9]+%$/;

/** A non-negative count or a `N%` percentage of at most 100%. */
function intOrPercentCauses(field: string, value: IntOrString | undefined): FieldCause[] {
  if (value === undefined) return [];
  if (typeof value === 'number') return value < 0 ? [cause.invalid(field, value, 'must be greater than or equal to 0')] : [];
  if (!PERCENT.test(value)) {
    return [cause.invalid(field, value, "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%', or '93%', regex used for validation is '[0-9]+%')")];
  }
  return Number(value.slice(0, -1)) > 100 ? [cause.invalid(field, value, 'must not be greater than 100%')] : [];
}


export function podDisruptionBudgetCauses(pdb: PodDisruptionBudget): FieldCause[] {
  const { spec, status } = pdb;
  const out: FieldCause[] = [];
  if (spec.minAvailable !== undefined && spec.maxUnavailable !== undefined) {
    out.push(cause.invalid('spec', { minAvailable: spec.minAvailable, maxUnavailable: spec.maxUnavailable }, 'minAvailable and maxUnavailable cannot be both set'));
  } else if (spec.minAvailable === undefined && spec.maxUnavailable === undefined) {
    // Kubernetes leaves such a budget meaningless; cell asks for one of the two.
    out.push(cause.required('spec.minAvailable', 'one of spec.minAvailable or spec.maxUnavailable must be set'));
  }
  out.push(...intOrPercentCauses('spec.minAvailable', spec.minAvailable));
  out.push(...intOrPercentCauses('spec.maxUnavailable', spec.maxUnavailable));
  out.push(...labelSelectorCauses(spec.selector, 'spec.selector'));
  for (const key of ['disruptionsAllowed', 'currentHealthy', 'desiredHealthy', 'expectedPods'] as const) {
    out.push(...nonNegative(`status.${key}`, status[key]));
  }
  return out;
}

export function evictionCauses(ev: Eviction): FieldCause[] {
  return nonNegative('deleteOptions.gracePeriodSeconds', ev.deleteOptions?.gracePeriodSeconds);
}
