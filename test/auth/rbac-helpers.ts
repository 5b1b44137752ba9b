// Shared by the RBAC tests: a token file with the built-in groups' users plus tenants, raw HTTP
// requests as one of them, and polling until an RBAC change has reached the server's view.
import { expect } from 'chai';
import { TEST_TOKEN_CSV, TEST_TOKENS } from '../harness/apiserver.js';
import { sendAs, type Call, type RawResponse } from '../apiserver/helpers.js';

/** Tenants have no group but system:authenticated: they get what RoleBindings give them. */
export const TENANT_TOKENS = {
  tAdmin: 't-admin-token',
  tEdit: 't-edit-token',
  tView: 't-view-token',
  esc: 'esc-token',
  binder: 'binder-token',
  dave: 'dave-token',
  tenant: 'tenant-token',
};

export const TOKENS = { ...TEST_TOKENS, ...TENANT_TOKENS };
export type Who = keyof typeof TOKENS;

export const RBAC_TEST_TOKEN_CSV = [
  TEST_TOKEN_CSV,
  `${TENANT_TOKENS.tAdmin},t-admin,101`,
  `${TENANT_TOKENS.tEdit},t-edit,102`,
  `${TENANT_TOKENS.tView},t-view,103`,
  `${TENANT_TOKENS.esc},esc,104`,
  `${TENANT_TOKENS.binder},binder,105`,
  `${TENANT_TOKENS.dave},dave,106`,
  `${TENANT_TOKENS.tenant},tenant,107,"team-members"`,
].join('\n');

export type { Call };

/** One request on its own connection, as `who` (undefined: no token). */
export function send(base: string, who: Who | undefined, call: Call, ca?: string): Promise<RawResponse> {
  return sendAs(base, who === undefined ? undefined : TOKENS[who], call, ca);
}

export interface AccessQuestion {
  verb: string;
  resource: string;
  group?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

/** `kubectl auth can-i` over HTTP: a SelfSubjectAccessReview's status. */
export async function canI(base: string, who: Who, q: AccessQuestion): Promise<{ allowed: boolean; reason?: string }> {
  const res = await send(base, who, {
    method: 'POST',
    path: '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
    body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { group: '', ...q } } },
  });
  expect(res.status, res.text).to.equal(201);
  return (res.body as { status: { allowed: boolean; reason?: string } }).status;
}

/** Polls until the server's RBAC view (a watch cache) says `who` may (or may not) do `q`. */
export async function untilCan(base: string, who: Who, q: AccessQuestion, want = true, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ((await canI(base, who, q)).allowed === want) return;
    if (Date.now() > deadline) throw new Error(`${who} still ${want ? 'cannot' : 'can'} ${JSON.stringify(q)} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function roleBody(name: string, rules: unknown[], kind: 'Role' | 'ClusterRole' = 'Role'): Record<string, unknown> {
  return { apiVersion: 'rbac.authorization.k8s.io/v1', kind, metadata: { name }, rules };
}

export function bindingBody(
  name: string,
  roleRef: { kind: string; name: string },
  subjects: { kind: string; name: string; namespace?: string }[],
  kind: 'RoleBinding' | 'ClusterRoleBinding' = 'RoleBinding',
): Record<string, unknown> {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind,
    metadata: { name },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', ...roleRef },
    subjects: subjects.map((s) => (s.kind === 'ServiceAccount' ? s : { apiGroup: 'rbac.authorization.k8s.io', ...s })),
  };
}

export const RBAC_V1 = '/apis/rbac.authorization.k8s.io/v1';
