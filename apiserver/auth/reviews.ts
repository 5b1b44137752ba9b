// The review endpoints: create-only, never stored, the answer in `status`. The router has already
// authorized the `create` on the review resource itself (system:basic-user grants the self
// reviews to every authenticated user; SubjectAccessReview is for those granted it, e.g. admins).
import {
  type NonResourceRule,
  type ResourceAttributes,
  type ResourceRule,
  type SubjectAccessReviewStatus,
  type NonResourceAttributes,
} from '../../shared/api/authorization.js';
import {
  selfSubjectAccessReviewsResource,
  selfSubjectReviewsResource,
  selfSubjectRulesReviewsResource,
  subjectAccessReviewsResource,
} from '../../shared/api/registry.js';
import { validateObject } from '../../shared/api/validation.js';
import { readObjectBody } from '../http/body.js';
import type { CustomHandler } from '../http/resources.js';
import type { Authorizer } from './authorizer.js';
import { AUTHENTICATED_GROUP, appliesIn, type RbacAuthorizer } from './rbac.js';
import type { UserInfo } from './tokens.js';

interface ReviewSpec {
  resourceAttributes?: ResourceAttributes | undefined;
  nonResourceAttributes?: NonResourceAttributes | undefined;
}

/** An empty string in a review means "not given", as Kubernetes reads these fields. */
function given(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

function accessStatus(authorizer: Authorizer, user: UserInfo, spec: ReviewSpec, implicitAuthenticated: boolean): SubjectAccessReviewStatus {
  const ra = spec.resourceAttributes;
  const decision = ra
    ? authorizer.decide(
        user,
        {
          verb: ra.verb ?? '',
          group: ra.group ?? '',
          resource: ra.resource ?? '',
          subresource: given(ra.subresource),
          namespace: given(ra.namespace),
          name: given(ra.name),
        },
        implicitAuthenticated,
      )
    : authorizer.decideNonResource(user, spec.nonResourceAttributes?.verb ?? '', spec.nonResourceAttributes?.path ?? '', implicitAuthenticated);
  return { allowed: decision.allowed, ...(decision.reason ? { reason: decision.reason } : {}) };
}

/** The rules `user` holds in `namespace`, as SelfSubjectRulesReview lists them. */
function rulesIn(rbac: RbacAuthorizer, user: UserInfo, namespace: string | undefined): { resourceRules: ResourceRule[]; nonResourceRules: NonResourceRule[] } {
  const resourceRules: ResourceRule[] = [];
  const nonResourceRules: NonResourceRule[] = [];
  for (const g of rbac.grantsOf(user)) {
    if (!appliesIn(g, namespace)) continue;
    for (const r of g.rules) {
      if ((r.nonResourceURLs ?? []).length > 0) {
        if (g.namespace === undefined) nonResourceRules.push({ verbs: r.verbs, nonResourceURLs: r.nonResourceURLs });
        continue;
      }
      resourceRules.push({
        verbs: r.verbs,
        apiGroups: r.apiGroups ?? [],
        resources: r.resources ?? [],
        ...(r.resourceNames && r.resourceNames.length > 0 ? { resourceNames: r.resourceNames } : {}),
      });
    }
  }
  return { resourceRules, nonResourceRules };
}

/** Custom handlers keyed as the resource router looks them up (`<resource>:POST`). */
export function reviewHandlers(authorizer: Authorizer, rbac: RbacAuthorizer, maxRequestBytes: number): Record<string, CustomHandler> {
  return {
    'selfsubjectaccessreviews:POST': async ({ req, user }) => {
      const review = validateObject(selfSubjectAccessReviewsResource, await readObjectBody(req, maxRequestBytes));
      return { status: 201, body: { ...review, status: accessStatus(authorizer, user, review.spec, true) } };
    },
    'subjectaccessreviews:POST': async ({ req }) => {
      const review = validateObject(subjectAccessReviewsResource, await readObjectBody(req, maxRequestBytes));
      const subject: UserInfo = { name: review.spec.user ?? '', uid: review.spec.uid ?? '', groups: review.spec.groups ?? [] };
      return { status: 201, body: { ...review, status: accessStatus(authorizer, subject, review.spec, false) } };
    },
    'selfsubjectrulesreviews:POST': async ({ req, user }) => {
      const review = validateObject(selfSubjectRulesReviewsResource, await readObjectBody(req, maxRequestBytes));
      const rules = rulesIn(rbac, user, given(review.spec.namespace));
      return { status: 201, body: { ...review, status: { ...rules, incomplete: false } } };
    },
    'selfsubjectreviews:POST': async ({ req, user }) => {
      const review = validateObject(selfSubjectReviewsResource, await readObjectBody(req, maxRequestBytes));
      const groups = user.groups.includes(AUTHENTICATED_GROUP) ? user.groups : [...user.groups, AUTHENTICATED_GROUP];
      const userInfo = { username: user.name, ...(user.uid ? { uid: user.uid } : {}), groups, ...(user.extra && Object.keys(user.extra).length > 0 ? { extra: user.extra } : {}) };
      return { status: 201, body: { ...review, status: { userInfo } } };
    },
  };
}
