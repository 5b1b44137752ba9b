// Who may call the server and what they may do: the authenticators the options turn on, and
// RBAC — its watch-cached view with the default roles in it, the authorizer, escalation prevention.
import type { IncomingMessage } from 'node:http';
import type { Logger } from '../../shared/logging.js';
import { Authorizer } from '../auth/authorizer.js';
import { EscalationCheck } from '../auth/escalation.js';
import { RbacAuthorizer } from '../auth/rbac.js';
import { reconcileDefaults } from '../auth/rbac-defaults.js';
import type { BoundKind, ServiceAccountTokens, TokenIdentity, TokenSubjects } from '../auth/service-account-tokens.js';
import { ANONYMOUS_ADMIN, TokenAuthenticator, type UserInfo } from '../auth/tokens.js';
import { authenticateRequest, X509Authenticator, type RequestAuthenticators } from '../auth/x509.js';
import type { ResourceTable } from './resource-table.js';

export interface Authentication {
  /** Who sent the request; throws UnauthorizedError for missing or bad credentials. */
  authenticate(req: IncomingMessage): UserInfo;
  /** Whose a bearer token is, as a TokenReview asks it: undefined when no authenticator knows it. */
  reviewToken(token: string, audiences: readonly string[]): TokenIdentity | undefined;
  /** The kinds turned on (`x509`, `token`, `serviceaccount`), for the startup log; empty = none. */
  kinds: string[];
}

function isLoopback(address: string): boolean {
  return address === 'localhost' || address === '::1' || address.startsWith('127.');
}

interface AuthenticationOptions {
  tokenCsv?: string | undefined;
  clientCa?: string | undefined;
  bindAddress: string;
}

/** An unauthenticated server may only listen on loopback: checked before anything starts. */
export function refuseOpenPublicAddress(opts: AuthenticationOptions): void {
  if (opts.tokenCsv === undefined && opts.clientCa === undefined && !isLoopback(opts.bindAddress)) {
    throw new Error(`refusing to bind ${opts.bindAddress} without --token-auth-file or --client-ca-file: unauthenticated access is only allowed on loopback`);
  }
}

/**
 * Static tokens (`tokenCsv`), X.509 client certificates (`clientCa`) and, with either, service
 * account tokens; with neither, every request is system:admin — allowed on loopback only.
 */
export function authentication(opts: AuthenticationOptions & { serviceAccounts: ServiceAccountTokens }, log: Logger): Authentication {
  refuseOpenPublicAddress(opts);
  const tokens = opts.tokenCsv !== undefined ? TokenAuthenticator.fromCsv(opts.tokenCsv) : undefined;
  // A TokenReview is answered whether or not requests are authenticated.
  const reviewToken = (token: string, audiences: readonly string[]): TokenIdentity | undefined => {
    const user = tokens?.lookup(token);
    return user ? { user, audiences: [...audiences] } : opts.serviceAccounts.authenticate(token, audiences);
  };
  if (opts.tokenCsv === undefined && opts.clientCa === undefined) {
    log.warn('no --token-auth-file or --client-ca-file: every request is allowed as system:admin; listening on loopback only', { bindAddress: opts.bindAddress });
    return { authenticate: () => ANONYMOUS_ADMIN, reviewToken, kinds: [] };
  }
  const authenticators: RequestAuthenticators = {
    ...(tokens !== undefined ? { tokens } : {}),
    ...(opts.clientCa !== undefined ? { certificates: new X509Authenticator() } : {}),
    serviceAccounts: opts.serviceAccounts,
  };
  return {
    authenticate: (req) => authenticateRequest(req, authenticators),
    reviewToken,
    kinds: [opts.clientCa !== undefined ? 'x509' : '', tokens !== undefined ? 'token' : '', 'serviceaccount'].filter((k) => k !== ''),
  };
}

/** Where service account tokens find their accounts and bound objects: this server's newest view. */
export function tokenSubjects(table: ResourceTable): TokenSubjects {
  const held = (resource: string, namespace: string | undefined, name: string) => {
    const objects = table.served(resource).rest.objects;
    return objects.peekHeld(objects.key(namespace, name))?.obj;
  };
  const boundResource: Record<BoundKind, string> = { Pod: 'pods', Secret: 'secrets', Node: 'nodes' };
  return {
    serviceAccount: (namespace, name) => held('serviceaccounts', namespace, name),
    bound: (kind, namespace, name) => held(boundResource[kind], kind === 'Node' ? undefined : namespace, name),
  };
}

export interface Authorization {
  rbac: RbacAuthorizer;
  authorizer: Authorizer;
  escalation: EscalationCheck;
}

/** Starts the RBAC view; returns once it holds the default roles (the first request may be anyone's discovery). */
export async function startAuthorization(table: ResourceTable, log: Logger): Promise<Authorization> {
  const rbac = new RbacAuthorizer(log);
  await rbac.start({
    roles: table.served('roles').rest.objects,
    clusterroles: table.served('clusterroles').rest.objects,
    rolebindings: table.served('rolebindings').rest.objects,
    clusterrolebindings: table.served('clusterrolebindings').rest.objects,
  });
  await reconcileDefaults({ clusterroles: table.served('clusterroles').rest, clusterrolebindings: table.served('clusterrolebindings').rest }, log);
  const authorizer = new Authorizer(rbac);
  return { rbac, authorizer, escalation: new EscalationCheck(authorizer, rbac) };
}
