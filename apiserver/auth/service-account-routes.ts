// The endpoints of service account tokens: `POST .../serviceaccounts/{name}/token` issues one
// (`kubectl create token`; the router has authorized `create` on serviceaccounts/token), a
// TokenReview says whose a token is, and OpenID Connect discovery serves the public key.
import type { Express } from 'express';
import { formatTime } from '../../shared/api/meta.js';
import { tokenRequestKind, tokenReviewsResource } from '../../shared/api/registry.js';
import { DEFAULT_SERVICE_ACCOUNT, DEFAULT_TOKEN_EXPIRATION_SECONDS, type BoundObjectReference } from '../../shared/api/serviceaccount.js';
import { validateObject } from '../../shared/api/validation.js';
import { BadRequestError, ConflictError, UnauthorizedError } from '../../shared/errors.js';
import { readObjectBody } from '../http/body.js';
import type { CustomHandler, ServedResource } from '../http/resources.js';
import type { KubeObject } from '../registry/object.js';
import { OIDC_DISCOVERY_PATH, OIDC_JWKS_PATH, type BoundKind, type ServiceAccountTokens, type TokenIdentity } from './service-account-tokens.js';

export interface ServiceAccountRouteDeps {
  served(resource: string): ServedResource;
  maxRequestBytes: number;
  addCustomHandler(key: string, handler: CustomHandler): void;
  app: Express;
  serviceAccountTokens: ServiceAccountTokens;
  /** Whose a bearer token is (any authenticator's), for TokenReview. */
  reviewToken(token: string, audiences: readonly string[]): TokenIdentity | undefined;
}

const BOUND_RESOURCES: Record<BoundKind, string> = { Pod: 'pods', Secret: 'secrets', Node: 'nodes' };

/** The object a token is to be bound to, read from the store: it must exist, be that uid, and not be going. */
async function boundObject(d: ServiceAccountRouteDeps, namespace: string, account: string, ref: BoundObjectReference): Promise<{ kind: BoundKind; obj: KubeObject }> {
  const kind = ref.kind as BoundKind;
  const name = ref.name ?? '';
  const obj = await d.served(BOUND_RESOURCES[kind]).rest.get(kind === 'Node' ? undefined : namespace, name);
  if (ref.uid && obj.metadata.uid !== ref.uid) {
    throw new ConflictError(
      `the UID in the bound object reference (${ref.uid}) does not match the UID in record (${obj.metadata.uid ?? ''}). The object might have been deleted and then recreated`,
      { name, kind: BOUND_RESOURCES[kind] },
    );
  }
  if (obj.metadata.deletionTimestamp !== undefined) {
    throw new BadRequestError(`cannot bind token for serviceaccount "${account}" to ${kind.toLowerCase()} "${name}" as it is being deleted`);
  }
  if (kind === 'Pod') {
    const runsAs = (obj as { spec?: { serviceAccountName?: string } }).spec?.serviceAccountName ?? DEFAULT_SERVICE_ACCOUNT;
    if (runsAs !== account) throw new BadRequestError(`cannot bind token for serviceaccount "${account}" to pod "${name}" running with serviceaccount "${runsAs}"`);
  }
  return { kind, obj };
}

export function installServiceAccountRoutes(d: ServiceAccountRouteDeps): void {
  const tokens = d.serviceAccountTokens;

  d.addCustomHandler('serviceaccounts/token:POST', async ({ req, path }) => {
    const request = validateObject(tokenRequestKind, await readObjectBody(req, d.maxRequestBytes));
    const namespace = path.namespace ?? '';
    const account = path.name ?? '';
    const sa = await d.served('serviceaccounts').rest.get(namespace, account);
    const ref = request.spec.boundObjectRef;
    const bound = ref ? await boundObject(d, namespace, account, ref) : undefined;
    const audiences = (request.spec.audiences ?? []).length > 0 ? request.spec.audiences! : [...tokens.apiAudiences];
    const expirationSeconds = request.spec.expirationSeconds ?? DEFAULT_TOKEN_EXPIRATION_SECONDS;
    const issued = tokens.issue(sa, { audiences, expirationSeconds, bound });
    return {
      status: 201,
      body: {
        apiVersion: tokenRequestKind.apiVersion,
        kind: tokenRequestKind.kind,
        metadata: { name: account, namespace, creationTimestamp: formatTime(new Date()) },
        spec: { audiences, expirationSeconds: issued.expirationSeconds, ...(bound ? { boundObjectRef: { ...ref, uid: bound.obj.metadata.uid } } : {}) },
        status: issued.status,
      },
    };
  });

  d.addCustomHandler('tokenreviews:POST', async ({ req }) => {
    const review = validateObject(tokenReviewsResource, await readObjectBody(req, d.maxRequestBytes));
    const audiences = (review.spec.audiences ?? []).length > 0 ? review.spec.audiences! : [...tokens.apiAudiences];
    let status: NonNullable<typeof review.status>;
    try {
      const id = d.reviewToken(review.spec.token ?? '', audiences);
      status = id
        ? {
            authenticated: true,
            user: { username: id.user.name, ...(id.user.uid ? { uid: id.user.uid } : {}), groups: id.user.groups, ...(id.user.extra ? { extra: id.user.extra } : {}) },
            audiences: id.audiences,
          }
        : { authenticated: false, error: 'invalid bearer token' };
    } catch (err) {
      // A token of this cluster that is no longer good: the review's answer, not the request's failure.
      if (!(err instanceof UnauthorizedError)) throw err;
      status = { authenticated: false, error: err.message.replace(/^Unauthorized: /, '') };
    }
    return { status: 201, body: { ...review, status } };
  });

  d.app.get(OIDC_DISCOVERY_PATH, (_req, res) => {
    res.json(tokens.discovery());
  });
  d.app.get(OIDC_JWKS_PATH, (_req, res) => {
    res.type('application/jwk-set+json').send(JSON.stringify(tokens.jwks()));
  });
}
