// Service account tokens: JSON Web Tokens (ES256) signed with the cluster's service account key,
// which every replica shares (cluster-key.ts), so any replica accepts a token another issued.
// A token names its account by namespace, name and uid, and may be bound to a pod, Secret or Node:
// it is good until it expires, and only while the account — and the bound object — still exist
// as the very objects it was issued for (a namesake made since does not inherit it). Those checks
// read the watch caches, so a request never waits on the store to authenticate; a token issued
// a moment ago by another replica may be refused until this replica's cache has the account.
// The public keys are served as OpenID Connect discovery (`/.well-known/openid-configuration`,
// `/openid/v1/jwks`), so programs outside the cluster can verify tokens too.
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID, sign, verify, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { formatTime } from '../../shared/api/meta.js';
import { serviceAccountGroups, serviceAccountUser, type BOUND_OBJECT_KINDS } from '../../shared/api/serviceaccount.js';
import { UnauthorizedError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logging.js';
import type { KubeObject } from '../registry/object.js';
import type { Store } from '../storage/store.js';
import { loadClusterKey } from './cluster-key.js';
import { AUTHENTICATED_GROUP } from './rbac.js';
import type { UserInfo } from './tokens.js';

/** Where the key is kept (relative to the store's prefix, /registry). */
export const SERVICE_ACCOUNT_KEY_STORAGE_KEY = '/cell.dev/service-account-signing-key';
export const OIDC_DISCOVERY_PATH = '/.well-known/openid-configuration';
export const OIDC_JWKS_PATH = '/openid/v1/jwks';
/** `iss` of the tokens when --service-account-issuer is not given. */
export const DEFAULT_SERVICE_ACCOUNT_ISSUER = 'https://cell.cluster.local';
/** How far a token's not-before may be ahead of this server's clock (another replica's clock). */
const CLOCK_SKEW_SECONDS = 60;
/** Tokens whose signature was checked, kept so a client's every request is not an ECDSA verify. */
const VERIFIED_CACHE_SIZE = 4096;
const ALG = 'ES256';

export type BoundKind = (typeof BOUND_OBJECT_KINDS)[number];

export interface ServiceAccountTokenOptions {
  /** The tokens' `iss`; tokens of any other issuer are not this server's to judge. */
  issuer: string;
  /** What a request's token must be for (`aud`); the default audience of new tokens. */
  apiAudiences: string[];
  /** Longest lifetime a token is issued for; undefined = as requested. */
  maxExpirationSeconds?: number | undefined;
}

/** How the checks find an account and a bound object: the newest this server holds, or undefined. */
export interface TokenSubjects {
  serviceAccount(namespace: string, name: string): KubeObject | undefined;
  bound(kind: BoundKind, namespace: string, name: string): KubeObject | undefined;
}

const RefSchema = z.object({ name: z.string(), uid: z.string() });
const ClaimsSchema = z.object({
  iss: z.string(),
  sub: z.string(),
  aud: z.union([z.string(), z.array(z.string())]),
  exp: z.number(),
  nbf: z.number().optional(),
  iat: z.number().optional(),
  jti: z.string().optional(),
  'kubernetes.io': z.object({
    namespace: z.string(),
    serviceaccount: RefSchema,
    pod: RefSchema.optional(),
    secret: RefSchema.optional(),
    node: RefSchema.optional(),
  }),
});
type Claims = z.infer<typeof ClaimsSchema>;
const HeaderSchema = z.object({ alg: z.string(), kid: z.string().optional() });

/** What a token says about whose it is and for whom. */
export interface TokenIdentity {
  user: UserInfo;
  /** The audiences asked for that the token is for. */
  audiences: string[];
}

export interface IssuedToken {
  /** A TokenRequest's status. */
  status: { token: string; expirationTimestamp: string };
  /** The lifetime granted (the request's, or the server's maximum). */
  expirationSeconds: number;
}

function base64url(json: unknown): string {
  return Buffer.from(JSON.stringify(json), 'utf8').toString('base64url');
}

function decodePart(part: string): unknown {
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    // Not base64url JSON: not a JWT, so not a token of this issuer (another authenticator decides).
    return undefined;
  }
}

function refused(reason: string): UnauthorizedError {
  return new UnauthorizedError(`Unauthorized: ${reason}`);
}

const BOUND_CLAIMS: Record<BoundKind, 'pod' | 'secret' | 'node'> = { Pod: 'pod', Secret: 'secret', Node: 'node' };

export class ServiceAccountTokens {
  private readonly verified = new Map<string, Claims>();
  private readonly publicKey: KeyObject;

  private constructor(
    private readonly kid: string,
    private readonly privateKey: KeyObject,
    private readonly opts: ServiceAccountTokenOptions,
    private readonly subjects: TokenSubjects,
  ) {
    this.publicKey = createPublicKey(privateKey);
  }

  /** The cluster's key (made and stored by the first replica to start). */
  static async load(store: Store, log: Logger, opts: ServiceAccountTokenOptions, subjects: TokenSubjects): Promise<ServiceAccountTokens> {
    const stored = await loadClusterKey(store, SERVICE_ACCOUNT_KEY_STORAGE_KEY, () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, log, 'service account tokens');
    return new ServiceAccountTokens(stored.kid, createPrivateKey(stored.privateKeyPem), opts, subjects);
  }

  get apiAudiences(): readonly string[] {
    return this.opts.apiAudiences;
  }

  /**
   * A token of the account `sa` for `audiences` (the API's when empty), living `expirationSeconds`
   * (capped at the server's maximum), bound to `bound` when given.
   */
  issue(
    sa: KubeObject,
    request: { audiences: string[]; expirationSeconds: number; bound?: { kind: BoundKind; obj: KubeObject } | undefined },
    nowMs = Date.now(),
  ): IssuedToken {
    const now = Math.floor(nowMs / 1000);
    const lifetime = this.opts.maxExpirationSeconds !== undefined ? Math.min(request.expirationSeconds, this.opts.maxExpirationSeconds) : request.expirationSeconds;
    const namespace = sa.metadata.namespace ?? '';
    const name = sa.metadata.name ?? '';
    const ref = (o: KubeObject) => ({ name: o.metadata.name ?? '', uid: o.metadata.uid ?? '' });
    const claims: Claims = {
      iss: this.opts.issuer,
      sub: serviceAccountUser(namespace, name),
      aud: request.audiences.length > 0 ? request.audiences : [...this.opts.apiAudiences],
      exp: now + lifetime,
      iat: now,
      nbf: now,
      jti: randomUUID(),
      'kubernetes.io': {
        namespace,
        serviceaccount: ref(sa),
        ...(request.bound ? { [BOUND_CLAIMS[request.bound.kind]]: ref(request.bound.obj) } : {}),
      },
    };
    const signed = `${base64url({ alg: ALG, kid: this.kid })}.${base64url(claims)}`;
    const signature = sign('sha256', Buffer.from(signed, 'ascii'), { key: this.privateKey, dsaEncoding: 'ieee-p1363' });
    return { status: { token: `${signed}.${signature.toString('base64url')}`, expirationTimestamp: formatTime(new Date(claims.exp * 1000)) }, expirationSeconds: lifetime };
  }

  /**
   * Whose `token` is, for `audiences` (the API's by default). Undefined when it is not a token of
   * this issuer (another authenticator may know it); UnauthorizedError, with the reason, when it is
   * one but no longer good.
   */
  authenticate(token: string, audiences: readonly string[] = this.opts.apiAudiences, nowMs = Date.now()): TokenIdentity | undefined {
    const claims = this.verifiedClaims(token);
    if (claims === undefined) return undefined;
    const now = nowMs / 1000;
    if (now >= claims.exp) throw refused('token has expired');
    if (claims.nbf !== undefined && claims.nbf > now + CLOCK_SKEW_SECONDS) throw refused('token is not valid yet');
    const tokenAudiences = typeof claims.aud === 'string' ? [claims.aud] : claims.aud;
    const matched = audiences.filter((a) => tokenAudiences.includes(a));
    if (matched.length === 0) throw refused(`token audiences ${JSON.stringify(tokenAudiences)} are invalid for the target audiences ${JSON.stringify(audiences)}`);
    const k = claims['kubernetes.io'];
    const sa = this.subjects.serviceAccount(k.namespace, k.serviceaccount.name);
    const saName = `${k.namespace}/${k.serviceaccount.name}`;
    if (sa === undefined) throw refused(`service account ${saName} has been deleted`);
    if (sa.metadata.uid !== k.serviceaccount.uid) throw refused(`service account ${saName} has been deleted and made again since the token was issued`);
    const extra: Record<string, string[]> = {};
    for (const kind of Object.keys(BOUND_CLAIMS) as BoundKind[]) {
      const bound = k[BOUND_CLAIMS[kind]];
      if (bound === undefined) continue;
      const obj = this.subjects.bound(kind, kind === 'Node' ? '' : k.namespace, bound.name);
      const what = `${kind.toLowerCase()} "${bound.name}"`;
      if (obj === undefined) throw refused(`the token is bound to ${what}, which has been deleted`);
      if (obj.metadata.uid !== bound.uid) throw refused(`the token is bound to ${what}, which has been deleted and made again since`);
      extra[`authentication.kubernetes.io/${BOUND_CLAIMS[kind]}-name`] = [bound.name];
      extra[`authentication.kubernetes.io/${BOUND_CLAIMS[kind]}-uid`] = [bound.uid];
    }
    if (claims.jti !== undefined) extra['authentication.kubernetes.io/credential-id'] = [`JTI=${claims.jti}`];
    const user: UserInfo = {
      name: claims.sub,
      uid: k.serviceaccount.uid,
      groups: [...serviceAccountGroups(k.namespace), AUTHENTICATED_GROUP],
      extra,
    };
    return { user, audiences: matched };
  }

  /** The claims of a token this issuer signed (signature checked once per token), else undefined. */
  private verifiedClaims(token: string): Claims | undefined {
    const hit = this.verified.get(token);
    if (hit !== undefined) return hit;
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    const header = HeaderSchema.safeParse(decodePart(parts[0]!));
    const claims = ClaimsSchema.safeParse(decodePart(parts[1]!));
    if (!header.success || !claims.success || claims.data.iss !== this.opts.issuer) return undefined;
    if (header.data.alg !== ALG || (header.data.kid !== undefined && header.data.kid !== this.kid)) throw refused('token was not signed with this cluster\'s key');
    const good = verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`, 'ascii'), { key: this.publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(parts[2]!, 'base64url'));
    if (!good) throw refused('token signature is invalid');
    if (this.verified.size >= VERIFIED_CACHE_SIZE) {
      for (const oldest of this.verified.keys()) {
        this.verified.delete(oldest);
        break;
      }
    }
    this.verified.set(token, claims.data);
    return claims.data;
  }

  /** The public key as a JSON Web Key Set (OIDC_JWKS_PATH). */
  jwks(): { keys: Record<string, unknown>[] } {
    return { keys: [{ ...this.publicKey.export({ format: 'jwk' }), kid: this.kid, use: 'sig', alg: ALG }] };
  }

  /** The OpenID Connect discovery document (OIDC_DISCOVERY_PATH). */
  discovery(): Record<string, unknown> {
    return {
      issuer: this.opts.issuer,
      jwks_uri: `${this.opts.issuer}${OIDC_JWKS_PATH}`,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: [ALG],
    };
  }
}
