// Authentication by X.509 client certificate (`--client-ca-file`), as kube-apiserver does it: a
// certificate that chains to the client CA names the user by its subject CN and the groups by its
// subject O values (what kubeadm's admin.conf carries: CN=kubernetes-admin, O=system:masters).
//
// The TLS handshake does the chain check: the HTTPS server asks for a certificate
// (`requestCert`) but lets the handshake finish without one (`rejectUnauthorized: false`), so
// token users still connect; each request then reads the socket's verdict here.
//
// Order, as in Kubernetes' union authenticator (client certificate first, then tokens — the
// static token file's, then service account tokens): a verified certificate decides the user even
// when a bearer token is sent too; a certificate that does not verify is an error only if no token
// authenticates the request either; a request with neither is 401.
import type { IncomingMessage } from 'node:http';
import { TLSSocket } from 'node:tls';
import { z } from 'zod';
import { UnauthorizedError } from '../../shared/errors.js';
import type { ServiceAccountTokens } from './service-account-tokens.js';
import { bearerToken, type TokenAuthenticator, type UserInfo } from './tokens.js';

/** Node gives a repeated subject attribute (several O) as an array, a single one as a string. */
const attribute = z.union([z.string(), z.array(z.string())]).optional();
const subjectSchema = z.object({ CN: attribute, O: attribute });

function values(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).filter((s) => s !== '');
}

export class X509Authenticator {
  /**
   * The user named by the client certificate on `socket`; undefined when none was presented
   * (or the connection is not TLS). UnauthorizedError when one was presented but does not verify
   * against the client CA, is outside its validity period, or names no user.
   */
  authenticate(socket: IncomingMessage['socket'], now: Date = new Date()): UserInfo | undefined {
    if (!(socket instanceof TLSSocket)) return undefined;
    const cert = socket.getPeerCertificate();
    // An empty object when the client sent no certificate.
    if (!cert || !cert.raw) return undefined;
    if (!socket.authorized) {
      throw new UnauthorizedError(`Unauthorized: client certificate rejected: ${String(socket.authorizationError ?? 'not verified')}`);
    }
    // The handshake checked the dates once; a kept-alive connection can outlive the certificate.
    if (now.getTime() < new Date(cert.valid_from).getTime() || now.getTime() > new Date(cert.valid_to).getTime()) {
      throw new UnauthorizedError('Unauthorized: client certificate has expired or is not yet valid');
    }
    const subject = subjectSchema.safeParse(cert.subject);
    if (!subject.success) throw new UnauthorizedError('Unauthorized: client certificate subject is not readable');
    const [name] = values(subject.data.CN);
    if (name === undefined) throw new UnauthorizedError('Unauthorized: client certificate has no common name');
    const groups = values(subject.data.O);
    // Every authenticated user is in system:authenticated, as token users are (tokens.ts).
    return { name, uid: '', groups: groups.includes('system:authenticated') ? groups : [...groups, 'system:authenticated'] };
  }
}

/** The credentials a server accepts; an absent authenticator is a credential kind not configured. */
export interface RequestAuthenticators {
  certificates?: X509Authenticator;
  tokens?: TokenAuthenticator;
  /** Service account tokens (JWTs this cluster signed). */
  serviceAccounts?: ServiceAccountTokens;
}

/** Whose bearer token `token` is: the static token file's user, else a service account's. */
export function authenticateToken(token: string, auth: RequestAuthenticators): UserInfo | undefined {
  return auth.tokens?.lookup(token) ?? auth.serviceAccounts?.authenticate(token)?.user;
}

/** Who sent `req`, in the union order described at the top of this file. */
export function authenticateRequest(req: IncomingMessage, auth: RequestAuthenticators): UserInfo {
  let certError: unknown;
  if (auth.certificates) {
    try {
      const user = auth.certificates.authenticate(req.socket);
      if (user) return user;
    } catch (err) {
      // Kept for the answer: a valid token may still authenticate the request.
      certError = err;
    }
  }
  const header = req.headers.authorization;
  if (header !== undefined) {
    const user = authenticateToken(bearerToken(header), auth);
    if (user) return user;
    throw new UnauthorizedError('Unauthorized');
  }
  throw certError ?? new UnauthorizedError('Unauthorized');
}
