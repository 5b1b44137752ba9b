// v1 ServiceAccount: an identity for programs rather than people. Every namespace has one named
// `default` (the serviceaccount controller makes it), a pod runs as the one its
// `spec.serviceAccountName` names, and RBAC binds roles to them like users. A program proves it is
// one with a token the API server signs: authentication.k8s.io/v1 TokenRequest, the
// `serviceaccounts/token` subresource (`kubectl create token`), optionally bound to a pod, Secret
// or Node so it dies with that object. TokenReview asks the server whether a token is good.
import { z } from 'zod';
import type { FieldCause } from '../errors.js';
import { AUTHENTICATION_API_VERSION, UserInfoSchema } from './authorization.js';
import { ObjectReferenceSchema } from './core.js';
import { cause } from './field-errors.js';
import { ObjectMetaSchema } from './meta.js';

/** The account a pod runs as when it names none, and the one the controller keeps in each namespace. */
export const DEFAULT_SERVICE_ACCOUNT = 'default';
/** ServiceAccounts are users named `system:serviceaccount:<namespace>:<name>`. */
export const SERVICE_ACCOUNT_USER_PREFIX = 'system:serviceaccount:';
/** Every ServiceAccount is in this group, and in `system:serviceaccounts:<namespace>`. */
export const SERVICE_ACCOUNTS_GROUP = 'system:serviceaccounts';

/** Kubernetes' limits on a requested token's lifetime. */
export const MIN_TOKEN_EXPIRATION_SECONDS = 600;
export const MAX_TOKEN_EXPIRATION_SECONDS = 2 ** 32;
/** What a TokenRequest gets when it asks for no particular lifetime (kubectl create token's default too). */
export const DEFAULT_TOKEN_EXPIRATION_SECONDS = 3600;
/** The kinds a token may be bound to. */
export const BOUND_OBJECT_KINDS = ['Pod', 'Secret', 'Node'] as const;

export function serviceAccountUser(namespace: string, name: string): string {
  return `${SERVICE_ACCOUNT_USER_PREFIX}${namespace}:${name}`;
}

/** The groups of every ServiceAccount of `namespace`. */
export function serviceAccountGroups(namespace: string): string[] {
  return [SERVICE_ACCOUNTS_GROUP, `${SERVICE_ACCOUNTS_GROUP}:${namespace}`];
}

export const ServiceAccountSchema = z
  .object({
    apiVersion: z.literal('v1').default('v1'),
    kind: z.literal('ServiceAccount').default('ServiceAccount'),
    metadata: ObjectMetaSchema.prefault({}),
    secrets: z.array(ObjectReferenceSchema).optional().describe('Secrets pods running as this account may use (kept for older clients; cell mounts none).'),
    imagePullSecrets: z.array(z.object({ name: z.string().optional() })).optional().describe('Registry credentials for pods running as this account (kept; cell pulls no images).'),
    automountServiceAccountToken: z.boolean().optional().describe('Whether pods running as this account get a token mounted (kept for clients; cell mounts none).'),
  })
  .describe('An identity for processes in pods and programs: RBAC binds roles to it, and the serviceaccounts/token subresource issues tokens for it.');
export type ServiceAccount = z.infer<typeof ServiceAccountSchema>;

export const BoundObjectReferenceSchema = z.object({
  kind: z.string().optional().describe('Pod, Secret or Node: the token stops working when this object is gone.'),
  apiVersion: z.string().optional().describe('v1'),
  name: z.string().optional(),
  uid: z.string().optional().describe('When given, the object must be this very one (not a namesake made since).'),
});
export type BoundObjectReference = z.infer<typeof BoundObjectReferenceSchema>;

export const TokenRequestSchema = z
  .object({
    apiVersion: z.literal(AUTHENTICATION_API_VERSION).default(AUTHENTICATION_API_VERSION),
    kind: z.literal('TokenRequest').default('TokenRequest'),
    metadata: ObjectMetaSchema.prefault({}),
    spec: z
      .object({
        audiences: z.array(z.string()).optional().describe("Who the token is for; empty means the API server's own audiences."),
        expirationSeconds: z.number().int().optional().describe('Requested lifetime (at least 600 s; 3600 when unset); the server may shorten it.'),
        boundObjectRef: BoundObjectReferenceSchema.optional(),
      })
      .prefault({}),
    // Clients send an empty status (kubectl: `expirationTimestamp: null`); the server fills it.
    status: z.object({ token: z.string().optional(), expirationTimestamp: z.string().nullable().optional() }).optional(),
  })
  .describe('Asks for a signed token of a ServiceAccount (POST to its token subresource); the answer is in status.');
export type TokenRequest = z.infer<typeof TokenRequestSchema>;

export const TokenReviewSchema = z
  .object({
    apiVersion: z.literal(AUTHENTICATION_API_VERSION).default(AUTHENTICATION_API_VERSION),
    kind: z.literal('TokenReview').default('TokenReview'),
    metadata: ObjectMetaSchema.prefault({}),
    spec: z.object({
      token: z.string().optional().describe('The bearer token to check.'),
      audiences: z.array(z.string()).optional().describe("Audiences the token must be for; empty means the API server's own."),
    }),
    status: z
      .object({
        authenticated: z.boolean().optional(),
        user: UserInfoSchema.optional(),
        audiences: z.array(z.string()).optional(),
        error: z.string().optional(),
      })
      .optional(),
  })
  .describe('Asks whether a bearer token is good and whose it is; the answer is in status.');
export type TokenReview = z.infer<typeof TokenReviewSchema>;

// ---------------------------------------------------------------------------------------------
// Semantic rules (Kubernetes' pkg/apis/authentication/validation)

export function tokenRequestCauses(r: TokenRequest): FieldCause[] {
  const out: FieldCause[] = [];
  const seconds = r.spec.expirationSeconds;
  if (seconds !== undefined && seconds < MIN_TOKEN_EXPIRATION_SECONDS) {
    out.push(cause.invalid('spec.expirationSeconds', seconds, 'may not specify a duration less than 10 minutes'));
  }
  if (seconds !== undefined && seconds > MAX_TOKEN_EXPIRATION_SECONDS) {
    out.push(cause.invalid('spec.expirationSeconds', seconds, 'may not specify a duration larger than 2^32 seconds'));
  }
  (r.spec.audiences ?? []).forEach((a, i) => {
    if (a === '') out.push(cause.invalid(`spec.audiences[${i}]`, a, 'may not be empty'));
  });
  const ref = r.spec.boundObjectRef;
  if (ref !== undefined) {
    if (!(BOUND_OBJECT_KINDS as readonly string[]).includes(ref.kind ?? '')) out.push(cause.notSupported('spec.boundObjectRef.kind', ref.kind ?? '', BOUND_OBJECT_KINDS));
    if ((ref.apiVersion ?? '') !== 'v1') out.push(cause.notSupported('spec.boundObjectRef.apiVersion', ref.apiVersion ?? '', ['v1']));
    if (!ref.name) out.push(cause.required('spec.boundObjectRef.name'));
  }
  return out;
}

export function tokenReviewCauses(r: TokenReview): FieldCause[] {
  return r.spec.token ? [] : [cause.required('spec.token')];
}
