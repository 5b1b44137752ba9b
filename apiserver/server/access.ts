// Who may call the server and what they may do: the authenticators the options turn on, and
// RBAC — its watch-cached view with the default roles in it, the authorizer, escalation prevention.
import type { IncomingMessage } from 'node:http';
import type { Logger } from '../../shared/logging.js';
import { Authorizer } from '../auth/authorizer.js';
import { EscalationCheck } from '../auth/escalation.js';
import { RbacAuthorizer } from '../auth/rbac.js';
import { reconcileDefaults } from '../auth/rbac-defaults.js';
import { ANONYMOUS_ADMIN, TokenAuthenticator, type UserInfo } from '../auth/tokens.js';
import { authenticateRequest, X509Authenticator, type RequestAuthenticators } from '../auth/x509.js';
import type { ResourceTable } from './resource-table.js';

export interface Authentication {
  /** Who sent the request; throws UnauthorizedError for missing or bad credentials. */
  authenticate(req: IncomingMessage): UserInfo;
  /** The kinds turned on (`x509`, `token`), for the startup log; empty = none. */
  kinds: string[];
}

function isLoopback(address: string): boolean {
  return address === 'localhost' || address === '::1' || address.startsWith('127.');
}

/**
 * Static tokens (`tokenCsv`) and X.509 client certificates (`clientCa`); with neither, every
 * request is system:admin — allowed on loopback only.
 */
export function authentication(opts: { tokenCsv?: string | undefined; clientCa?: string | undefined; bindAddress: string }, log: Logger): Authentication {
  if (opts.tokenCsv === undefined && opts.clientCa === undefined) {
    if (!isLoopback(opts.bindAddress)) {
      throw new Error(`refusing to bind ${opts.bindAddress} without --token-auth-file or --client-ca-file: unauthenticated access is only allowed on loopback`);
    }
    log.warn('no --token-auth-file or --client-ca-file: every request is allowed as system:admin; listening on loopback only', { bindAddress: opts.bindAddress });
    return { authenticate: () => ANONYMOUS_ADMIN, kinds: [] };
  }
  const authenticators: RequestAuthenticators = {
    ...(opts.tokenCsv !== undefined ? { tokens: TokenAuthenticator.fromCsv(opts.tokenCsv) } : {}),
    ...(opts.clientCa !== undefined ? { certificates: new X509Authenticator() } : {}),
  };
  return {
    authenticate: (req) => authenticateRequest(req, authenticators),
    kinds: [opts.clientCa !== undefined ? 'x509' : '', opts.tokenCsv !== undefined ? 'token' : ''].filter((k) => k !== ''),
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
