// Review kinds: questions a client asks the API server about access, answered in `status` and never
// stored. authorization.k8s.io/v1 SelfSubjectAccessReview (`kubectl auth can-i`),
// SelfSubjectRulesReview (`kubectl auth can-i --list`), SubjectAccessReview (asked about another
// user); authentication.k8s.io/v1 SelfSubjectReview (`kubectl auth whoami`).
import { z } from 'zod';
import type { FieldCause } from '../errors.js';
import { cause } from './field-errors.js';
import { ObjectMetaSchema } from './meta.js';

export const AUTHORIZATION_API_VERSION = 'authorization.k8s.io/v1';
export const AUTHENTICATION_API_VERSION = 'authentication.k8s.io/v1';

export const ResourceAttributesSchema = z.object({
  namespace: z.string().optional(),
  verb: z.string().optional(),
  group: z.string().optional(),
  version: z.string().optional(),
  resource: z.string().optional(),
  subresource: z.string().optional(),
  name: z.string().optional(),
});
export type ResourceAttributes = z.infer<typeof ResourceAttributesSchema>;

export const NonResourceAttributesSchema = z.object({
  path: z.string().optional(),
  verb: z.string().optional(),
});
export type NonResourceAttributes = z.infer<typeof NonResourceAttributesSchema>;

export const SubjectAccessReviewStatusSchema = z.object({
  allowed: z.boolean().default(false),
  denied: z.boolean().optional(),
  reason: z.string().optional(),
  evaluationError: z.string().optional(),
});
export type SubjectAccessReviewStatus = z.infer<typeof SubjectAccessReviewStatusSchema>;

const ExtraSchema = z.record(z.string(), z.array(z.string()));

export const SelfSubjectAccessReviewSchema = z.object({
  apiVersion: z.literal(AUTHORIZATION_API_VERSION).default(AUTHORIZATION_API_VERSION),
  kind: z.literal('SelfSubjectAccessReview').default('SelfSubjectAccessReview'),
  metadata: ObjectMetaSchema.prefault({}),
  spec: z.object({
    resourceAttributes: ResourceAttributesSchema.optional(),
    nonResourceAttributes: NonResourceAttributesSchema.optional(),
  }),
  status: SubjectAccessReviewStatusSchema.optional(),
});
export type SelfSubjectAccessReview = z.infer<typeof SelfSubjectAccessReviewSchema>;

export const SubjectAccessReviewSchema = z.object({
  apiVersion: z.literal(AUTHORIZATION_API_VERSION).default(AUTHORIZATION_API_VERSION),
  kind: z.literal('SubjectAccessReview').default('SubjectAccessReview'),
  metadata: ObjectMetaSchema.prefault({}),
  spec: z.object({
    resourceAttributes: ResourceAttributesSchema.optional(),
    nonResourceAttributes: NonResourceAttributesSchema.optional(),
    user: z.string().optional(),
    groups: z.array(z.string()).optional(),
    uid: z.string().optional(),
    extra: ExtraSchema.optional(),
  }),
  status: SubjectAccessReviewStatusSchema.optional(),
});
export type SubjectAccessReview = z.infer<typeof SubjectAccessReviewSchema>;

export const ResourceRuleSchema = z.object({
  verbs: z.array(z.string()),
  apiGroups: z.array(z.string()).optional(),
  resources: z.array(z.string()).optional(),
  resourceNames: z.array(z.string()).optional(),
});
export type ResourceRule = z.infer<typeof ResourceRuleSchema>;

export const NonResourceRuleSchema = z.object({
  verbs: z.array(z.string()),
  nonResourceURLs: z.array(z.string()).optional(),
});
export type NonResourceRule = z.infer<typeof NonResourceRuleSchema>;

export const SubjectRulesReviewStatusSchema = z.object({
  resourceRules: z.array(ResourceRuleSchema).default([]),
  nonResourceRules: z.array(NonResourceRuleSchema).default([]),
  incomplete: z.boolean().default(false),
  evaluationError: z.string().optional(),
});
export type SubjectRulesReviewStatus = z.infer<typeof SubjectRulesReviewStatusSchema>;

export const SelfSubjectRulesReviewSchema = z.object({
  apiVersion: z.literal(AUTHORIZATION_API_VERSION).default(AUTHORIZATION_API_VERSION),
  kind: z.literal('SelfSubjectRulesReview').default('SelfSubjectRulesReview'),
  metadata: ObjectMetaSchema.prefault({}),
  spec: z.object({ namespace: z.string().optional() }).prefault({}),
  status: SubjectRulesReviewStatusSchema.optional(),
});
export type SelfSubjectRulesReview = z.infer<typeof SelfSubjectRulesReviewSchema>;

export const UserInfoSchema = z.object({
  username: z.string().optional(),
  uid: z.string().optional(),
  groups: z.array(z.string()).optional(),
  extra: ExtraSchema.optional(),
});

export const SelfSubjectReviewSchema = z.object({
  apiVersion: z.literal(AUTHENTICATION_API_VERSION).default(AUTHENTICATION_API_VERSION),
  kind: z.literal('SelfSubjectReview').default('SelfSubjectReview'),
  metadata: ObjectMetaSchema.prefault({}),
  status: z.object({ userInfo: UserInfoSchema.optional() }).optional(),
});
export type SelfSubjectReview = z.infer<typeof SelfSubjectReviewSchema>;

// ---------------------------------------------------------------------------------------------
// Semantic rules (Kubernetes' pkg/apis/authorization/validation)

function attributesCauses(spec: { resourceAttributes?: ResourceAttributes | undefined; nonResourceAttributes?: NonResourceAttributes | undefined }): FieldCause[] {
  const both = spec.resourceAttributes !== undefined && spec.nonResourceAttributes !== undefined;
  const neither = spec.resourceAttributes === undefined && spec.nonResourceAttributes === undefined;
  if (both) return [cause.invalid('spec.nonResourceAttributes', spec.nonResourceAttributes, 'cannot be specified in combination with resourceAttributes')];
  if (neither) return [cause.required('spec.resourceAttributes', 'exactly one of nonResourceAttributes or resourceAttributes must be specified')];
  return [];
}

export function selfSubjectAccessReviewCauses(r: SelfSubjectAccessReview): FieldCause[] {
  return attributesCauses(r.spec);
}

export function subjectAccessReviewCauses(r: SubjectAccessReview): FieldCause[] {
  const out = attributesCauses(r.spec);
  if (!r.spec.user && (r.spec.groups ?? []).length === 0) out.push(cause.required('spec.user', 'at least one of user or group must be specified'));
  return out;
}

export function noCauses(): FieldCause[] {
  return [];
}
