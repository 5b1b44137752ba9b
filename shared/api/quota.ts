// v1 ResourceQuota, with Kubernetes' field names and meanings: hard limits on what a namespace's
// objects may use in total, optionally only for the pods a scope selects. status.used is a ledger
// the API server keeps exact in the transaction of every admitted write (apiserver/quota/).
import { z } from 'zod';
import type { FieldCause } from '../errors.js';
import { qualifiedNameErrors } from '../names.js';
import { Quantity } from '../quantity.js';
import { ResourceListSchema } from './core.js';
import { cause, childPath } from './field-errors.js';
import { ObjectMetaSchema } from './meta.js';

export const QUOTA_SCOPES = ['BestEffort', 'NotBestEffort', 'Terminating', 'NotTerminating', 'PriorityClass'] as const;
export const ResourceQuotaScopeSchema = z.enum(QUOTA_SCOPES);
export type ResourceQuotaScope = z.infer<typeof ResourceQuotaScopeSchema>;

export const ScopeSelectorOperatorSchema = z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']);
export type ScopeSelectorOperator = z.infer<typeof ScopeSelectorOperatorSchema>;

export const ScopedResourceSelectorRequirementSchema = z.object({
  scopeName: ResourceQuotaScopeSchema.describe('The scope the requirement applies to.'),
  operator: ScopeSelectorOperatorSchema.describe('In, NotIn, Exists or DoesNotExist (only Exists for scopes other than PriorityClass).'),
  values: z.array(z.string()).optional().describe('Priority class names, for In and NotIn.'),
});
export type ScopedResourceSelectorRequirement = z.infer<typeof ScopedResourceSelectorRequirementSchema>;

export const ResourceQuotaSpecSchema = z.object({
  hard: ResourceListSchema.optional().describe('The most of each named resource the namespace may use in total.'),
  scopes: z.array(ResourceQuotaScopeSchema).optional().describe('Only objects matching every scope are counted.'),
  scopeSelector: z
    .object({ matchExpressions: z.array(ScopedResourceSelectorRequirementSchema).optional() })
    .optional()
    .describe('Like scopes, with operators: only objects matching every expression are counted.'),
}).describe('The limits, and which objects they apply to.');
export type ResourceQuotaSpec = z.infer<typeof ResourceQuotaSpecSchema>;

export const ResourceQuotaStatusSchema = z.object({
  hard: ResourceListSchema.optional().describe('The limits enforced: spec.hard as the quota controller last saw it.'),
  used: ResourceListSchema.optional().describe("The namespace's current use of each resource in hard."),
}).describe('What is enforced and what is used: kept by the API server at every admitted write and by the quota controller.');
export type ResourceQuotaStatus = z.infer<typeof ResourceQuotaStatusSchema>;

export const ResourceQuotaSchema = z
  .object({
    apiVersion: z.literal('v1').default('v1'),
    kind: z.literal('ResourceQuota').default('ResourceQuota'),
    metadata: ObjectMetaSchema.prefault({}),
    spec: ResourceQuotaSpecSchema.prefault({}),
    status: ResourceQuotaStatusSchema.prefault({}),
  })
  .describe('Hard limits on the total resources a namespace may use, kept exact at every write.');
export type ResourceQuota = z.infer<typeof ResourceQuotaSchema>;

/** Resource names a quota may limit besides `count/…` and extended `requests.<name>`. */
const STANDARD_QUOTA_RESOURCES = new Set([
  'pods',
  'cpu',
  'memory',
  'ephemeral-storage',
  'requests.cpu',
  'requests.memory',
  'requests.ephemeral-storage',
  'limits.cpu',
  'limits.memory',
  'limits.ephemeral-storage',
  'services',
  'services.nodeports',
  'services.loadbalancers',
  'replicationcontrollers',
  'resourcequotas',
  'secrets',
  'configmaps',
  'persistentvolumeclaims',
  'requests.storage',
]);

/** Resources a scope may limit (Kubernetes: BestEffort pods use no compute, so only pod counts). */
const POD_COUNT_RESOURCES = new Set(['pods', 'count/pods']);

function validQuotaResourceName(name: string): boolean {
  if (STANDARD_QUOTA_RESOURCES.has(name) || name.startsWith('count/')) return true;
  if (name.startsWith('requests.') && name.slice('requests.'.length).includes('/')) return true;
  if (name.startsWith('hugepages-') || name.startsWith('requests.hugepages-') || name.startsWith('limits.hugepages-')) return true;
  // Kubernetes accepts any fully-qualified name (extended resources are only counted as requests.<name>).
  return name.includes('/');
}

/** Semantic rules beyond the schema: resource names, non-negative amounts, scope/selector consistency. */
export function resourceQuotaCauses(q: ResourceQuota): FieldCause[] {
  const out: FieldCause[] = [];
  for (const [name, value] of Object.entries(q.spec.hard ?? {})) {
    const field = childPath('spec.hard', name);
    const errs = qualifiedNameErrors(name.startsWith('count/') ? name.slice('count/'.length) : name);
    if (errs.length > 0 || !validQuotaResourceName(name)) {
      out.push(cause.invalid(field, name, errs[0] ?? 'must be a standard resource for quota'));
      continue;
    }
    if (Quantity.parse(value).isNegative()) out.push(cause.invalid(field, value, 'must be greater than or equal to 0'));
  }
  for (const part of ['hard', 'used'] as const) {
    for (const [name, value] of Object.entries(q.status[part] ?? {})) {
      if (Quantity.parse(value).isNegative()) out.push(cause.invalid(childPath(`status.${part}`, name), value, 'must be greater than or equal to 0'));
    }
  }
  const scopes = [...(q.spec.scopes ?? []), ...(q.spec.scopeSelector?.matchExpressions ?? []).map((e) => e.scopeName)];
  const seen = new Set<string>();
  (q.spec.scopes ?? []).forEach((s, i) => {
    if (seen.has(s)) out.push(cause.duplicate(`spec.scopes[${i}]`, s));
    seen.add(s);
  });
  const has = (s: ResourceQuotaScope) => scopes.includes(s);
  if (has('BestEffort') && has('NotBestEffort')) out.push(cause.invalid('spec.scopes', scopes, 'conflicting scopes'));
  if (has('Terminating') && has('NotTerminating')) out.push(cause.invalid('spec.scopes', scopes, 'conflicting scopes'));
  if (has('BestEffort')) {
    for (const name of Object.keys(q.spec.hard ?? {})) {
      if (!POD_COUNT_RESOURCES.has(name)) out.push(cause.invalid(childPath('spec.hard', name), name, 'unsupported scope applied to resource'));
    }
  }
  (q.spec.scopeSelector?.matchExpressions ?? []).forEach((e, i) => {
    const p = `spec.scopeSelector.matchExpressions[${i}]`;
    const values = e.values ?? [];
    if (e.scopeName !== 'PriorityClass' && e.operator !== 'Exists') {
      out.push(cause.invalid(`${p}.operator`, e.operator, 'must be \'Exist\' when scope is any of ResourceQuotaScopeTerminating, ResourceQuotaScopeNotTerminating, ResourceQuotaScopeBestEffort or ResourceQuotaScopeNotBestEffort'));
    } else if (e.operator === 'In' || e.operator === 'NotIn') {
      if (values.length === 0) out.push(cause.required(`${p}.values`, 'must be at least one value when `operator` is \'In\' or \'NotIn\' for scope selector'));
    } else if (values.length > 0) {
      out.push(cause.invalid(`${p}.values`, values, 'must be no value when `operator` is \'Exist\' or \'DoesNotExist\' for scope selector'));
    }
  });
  return out;
}
