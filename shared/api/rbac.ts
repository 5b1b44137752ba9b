// rbac.authorization.k8s.io/v1: Role, ClusterRole, RoleBinding, ClusterRoleBinding, as Kubernetes
// defines them, and the semantic rules kube-apiserver applies to them (a rule needs verbs, a
// roleRef names a Role or ClusterRole of this group, subjects are User/Group/ServiceAccount).
import { z } from 'zod';
import type { FieldCause } from '../errors.js';
import { pathSegmentNameErrors } from '../names.js';
import { cause } from './field-errors.js';
import { LabelSelectorSchema, ObjectMetaSchema } from './meta.js';
import { labelSelectorCauses } from './rules.js';

export const RBAC_GROUP = 'rbac.authorization.k8s.io';
export const RBAC_API_VERSION = 'rbac.authorization.k8s.io/v1';

export const PolicyRuleSchema = z.object({
  verbs: z.array(z.string()).default([]),
  apiGroups: z.array(z.string()).optional(),
  resources: z.array(z.string()).optional(),
  resourceNames: z.array(z.string()).optional(),
  nonResourceURLs: z.array(z.string()).optional(),
});
export type PolicyRule = z.infer<typeof PolicyRuleSchema>;

export const RoleRefSchema = z.object({
  apiGroup: z.string().default(RBAC_GROUP),
  kind: z.string(),
  name: z.string(),
});
export type RoleRef = z.infer<typeof RoleRefSchema>;

export const SubjectSchema = z.object({
  kind: z.string(),
  apiGroup: z.string().optional(),
  name: z.string(),
  namespace: z.string().optional(),
});
export type Subject = z.infer<typeof SubjectSchema>;

export const RoleSchema = z.object({
  apiVersion: z.literal(RBAC_API_VERSION).default(RBAC_API_VERSION),
  kind: z.literal('Role').default('Role'),
  metadata: ObjectMetaSchema.prefault({}),
  rules: z.array(PolicyRuleSchema).default([]),
});
export type Role = z.infer<typeof RoleSchema>;

/** Labels by which a ClusterRole's rules join the default roles' (Kubernetes' aggregation labels). */
export const AGGREGATE_TO_LABEL = {
  admin: 'rbac.authorization.k8s.io/aggregate-to-admin',
  edit: 'rbac.authorization.k8s.io/aggregate-to-edit',
  view: 'rbac.authorization.k8s.io/aggregate-to-view',
} as const;

export const AggregationRuleSchema = z.object({
  clusterRoleSelectors: z.array(LabelSelectorSchema).optional().describe('The ClusterRoles whose rules this one also grants.'),
});
export type AggregationRule = z.infer<typeof AggregationRuleSchema>;

export const ClusterRoleSchema = z.object({
  apiVersion: z.literal(RBAC_API_VERSION).default(RBAC_API_VERSION),
  kind: z.literal('ClusterRole').default('ClusterRole'),
  metadata: ObjectMetaSchema.prefault({}),
  rules: z.array(PolicyRuleSchema).default([]),
  aggregationRule: AggregationRuleSchema.optional(),
});
export type ClusterRole = z.infer<typeof ClusterRoleSchema>;

export const RoleBindingSchema = z.object({
  apiVersion: z.literal(RBAC_API_VERSION).default(RBAC_API_VERSION),
  kind: z.literal('RoleBinding').default('RoleBinding'),
  metadata: ObjectMetaSchema.prefault({}),
  subjects: z.array(SubjectSchema).optional(),
  roleRef: RoleRefSchema,
});
export type RoleBinding = z.infer<typeof RoleBindingSchema>;

export const ClusterRoleBindingSchema = z.object({
  apiVersion: z.literal(RBAC_API_VERSION).default(RBAC_API_VERSION),
  kind: z.literal('ClusterRoleBinding').default('ClusterRoleBinding'),
  metadata: ObjectMetaSchema.prefault({}),
  subjects: z.array(SubjectSchema).optional(),
  roleRef: RoleRefSchema,
});
export type ClusterRoleBinding = z.infer<typeof ClusterRoleBindingSchema>;

// ---------------------------------------------------------------------------------------------
// Semantic rules (Kubernetes' pkg/apis/rbac/validation)

type Causes = FieldCause[];

function ruleCauses(rule: PolicyRule, field: string, namespaced: boolean): Causes {
  const out: Causes = [];
  if (rule.verbs.length === 0) out.push(cause.required(`${field}.verbs`, 'verbs must contain at least one value'));
  const urls = rule.nonResourceURLs ?? [];
  if (urls.length > 0) {
    if (namespaced) {
      out.push(cause.invalid(`${field}.nonResourceURLs`, urls, 'namespaced rules cannot apply to non-resource URLs'));
    } else if ((rule.apiGroups ?? []).length > 0 || (rule.resources ?? []).length > 0) {
      out.push(cause.invalid(`${field}.nonResourceURLs`, urls, 'rules cannot apply to both regular resources and non-resource URLs'));
    }
    return out;
  }
  if ((rule.apiGroups ?? []).length === 0) out.push(cause.required(`${field}.apiGroups`, 'resource rules must supply at least one api group'));
  if ((rule.resources ?? []).length === 0) out.push(cause.required(`${field}.resources`, 'resource rules must supply at least one resource'));
  return out;
}

function rulesCauses(rules: PolicyRule[], namespaced: boolean): Causes {
  return rules.flatMap((r, i) => ruleCauses(r, `rules[${i}]`, namespaced));
}

export function roleCauses(role: Role): Causes {
  return rulesCauses(role.rules, true);
}

export function clusterRoleCauses(role: ClusterRole): Causes {
  const selectors = role.aggregationRule?.clusterRoleSelectors ?? [];
  return [...rulesCauses(role.rules, false), ...selectors.flatMap((sel, i) => labelSelectorCauses(sel, `aggregationRule.clusterRoleSelectors[${i}]`))];
}

function roleRefCauses(ref: RoleRef, kinds: readonly string[]): Causes {
  const out: Causes = [];
  if (ref.apiGroup !== RBAC_GROUP) out.push(cause.notSupported('roleRef.apiGroup', ref.apiGroup, [RBAC_GROUP]));
  if (!kinds.includes(ref.kind)) out.push(cause.notSupported('roleRef.kind', ref.kind, kinds));
  if (ref.name === '') out.push(cause.required('roleRef.name'));
  else for (const m of pathSegmentNameErrors(ref.name)) out.push(cause.invalid('roleRef.name', ref.name, m));
  return out;
}

const SUBJECT_KINDS = ['ServiceAccount', 'User', 'Group'] as const;

function subjectCauses(s: Subject, field: string, clusterScoped: boolean): Causes {
  const out: Causes = [];
  if (s.name === '') out.push(cause.required(`${field}.name`));
  switch (s.kind) {
    case 'ServiceAccount':
      if (s.apiGroup !== undefined && s.apiGroup !== '') out.push(cause.notSupported(`${field}.apiGroup`, s.apiGroup, ['']));
      if (clusterScoped && !s.namespace) out.push(cause.required(`${field}.namespace`));
      break;
    case 'User':
    case 'Group':
      if (s.apiGroup !== RBAC_GROUP) out.push(cause.notSupported(`${field}.apiGroup`, s.apiGroup ?? '', [RBAC_GROUP]));
      break;
    default:
      out.push(cause.notSupported(`${field}.kind`, s.kind, SUBJECT_KINDS));
  }
  return out;
}

export function roleBindingCauses(b: RoleBinding): Causes {
  return [
    ...roleRefCauses(b.roleRef, ['Role', 'ClusterRole']),
    ...(b.subjects ?? []).flatMap((s, i) => subjectCauses(s, `subjects[${i}]`, false)),
  ];
}

export function clusterRoleBindingCauses(b: ClusterRoleBinding): Causes {
  return [
    ...roleRefCauses(b.roleRef, ['ClusterRole']),
    ...(b.subjects ?? []).flatMap((s, i) => subjectCauses(s, `subjects[${i}]`, true)),
  ];
}
