// scheduling.k8s.io/v1 PriorityClass: how Kubernetes users give pods a priority. A pod names a
// class (`spec.priorityClassName`) and the API server writes the class's value into
// `spec.priority` (and its preemptionPolicy) when the pod is created — the number the scheduler's
// queue order and preemption read. One class may be the cluster's `globalDefault`, taken by pods
// that name none. Two classes always exist for the system's own pods.
import { z } from 'zod';
import type { FieldCause } from '../errors.js';
import { cause } from './field-errors.js';
import { ObjectMetaSchema } from './meta.js';

export const SCHEDULING_GROUP = 'scheduling.k8s.io';
/** The highest value a class made by users may have; above it are the system classes. */
export const HIGHEST_USER_DEFINABLE_PRIORITY = 1_000_000_000;
export const SYSTEM_PRIORITY_CLASS_PREFIX = 'system-';
/** The classes every cluster has, for the pods that keep it running. */
export const SYSTEM_PRIORITY_CLASSES: Readonly<Record<string, number>> = {
  'system-node-critical': 2_000_001_000,
  'system-cluster-critical': 2_000_000_000,
};
export const PREEMPTION_POLICIES = ['PreemptLowerPriority', 'Never'] as const;

export const PriorityClassSchema = z
  .object({
    apiVersion: z.literal(`${SCHEDULING_GROUP}/v1`).default(`${SCHEDULING_GROUP}/v1`),
    kind: z.literal('PriorityClass').default('PriorityClass'),
    metadata: ObjectMetaSchema.prefault({}),
    value: z.number().int().min(-2_147_483_648).max(2_147_483_647).describe("The priority of the pods that name this class (higher goes first, and may preempt lower); at most 1000000000 for classes made by users."),
    globalDefault: z.boolean().optional().describe('Whether pods that name no class take this one; at most one class may be the default.'),
    description: z.string().optional().describe('When to use this class.'),
    preemptionPolicy: z.enum(PREEMPTION_POLICIES).default('PreemptLowerPriority').describe("Whether this class's pods may preempt lower-priority pods (PreemptLowerPriority) or only wait (Never)."),
  })
  .describe('A named priority for pods: the scheduler orders pending pods by it, and a pod may preempt pods of lower priority to fit.');
export type PriorityClass = z.infer<typeof PriorityClassSchema>;

export function isSystemPriorityClass(name: string): boolean {
  return Object.hasOwn(SYSTEM_PRIORITY_CLASSES, name);
}

export function priorityClassCauses(pc: PriorityClass): FieldCause[] {
  const out: FieldCause[] = [];
  const name = pc.metadata.name ?? '';
  if (isSystemPriorityClass(name)) {
    if (pc.value !== SYSTEM_PRIORITY_CLASSES[name]) out.push(cause.forbidden('value', `the value of the system priority class ${name} is ${SYSTEM_PRIORITY_CLASSES[name]}`));
  } else if (name.startsWith(SYSTEM_PRIORITY_CLASS_PREFIX)) {
    out.push(cause.forbidden('metadata.name', "priority class names with 'system-' prefix are reserved"));
  } else if (pc.value > HIGHEST_USER_DEFINABLE_PRIORITY) {
    out.push(cause.forbidden('value', `maximum allowed value of a user defined priority is ${HIGHEST_USER_DEFINABLE_PRIORITY}`));
  }
  return out;
}
