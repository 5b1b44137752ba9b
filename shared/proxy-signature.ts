// How a node agent knows that a request comes from an API server of its own cluster, for what it
// must not do for anyone else (running a command in a container: pods/exec). A kubelet checks
// kube-apiserver's client certificate; here every API server signs what it forwards with the
// cluster's Ed25519 key (apiserver/auth/agent-proxy-key.ts keeps it in storage, shared by all
// replicas) and an agent verifies with the public half, which it reads from the API server
// (PROXY_KEYS_PATH). The signature covers the node, the method, the path with its query, the user
// the API server acts for, a time and a nonce: it is good for one request to one node, once, within
// SIGNATURE_MAX_AGE_MS — a node's agent, even a hostile one, can forge nothing for another node.
import { createPrivateKey, createPublicKey, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { z } from 'zod';
import { UnauthorizedError } from './errors.js';

/** The non-resource path serving the public keys (a JSON Web Key Set). */
export const PROXY_KEYS_PATH = '/agentproxy/keys';

/** How far a signature's time may be from the agent's clock, either way. */
export const SIGNATURE_MAX_AGE_MS = 2 * 60_000;

export const PROXY_HEADERS = {
  keyId: 'x-cell-proxy-key-id',
  node: 'x-cell-proxy-node',
  user: 'x-cell-proxy-user',
  time: 'x-cell-proxy-time',
  nonce: 'x-cell-proxy-nonce',
  signature: 'x-cell-proxy-signature',
} as const;

const PublicKeySchema = z.object({
  kty: z.literal('OKP'),
  crv: z.literal('Ed25519'),
  kid: z.string().min(1).max(128),
  x: z.string().min(1).max(128),
  use: z.literal('sig').optional(),
  alg: z.literal('EdDSA').optional(),
});
export const ProxyKeySetSchema = z.object({ keys: z.array(PublicKeySchema).max(16) });
export type ProxyKeySet = z.infer<typeof ProxyKeySetSchema>;

/** What one signature vouches for. */
export interface ProxiedRequest {
  node: string;
  method: string;
  /** Path and query exactly as sent to the agent. */
  path: string;
  /** The user the API server authorized the request for. */
  user: string;
}

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
}

function signedBytes(kid: string, r: ProxiedRequest, time: string, nonce: string): Buffer {
  return Buffer.from(['cell-agent-proxy-v1', kid, r.node, r.method.toUpperCase(), r.path, r.user, time, nonce].join('\n'), 'utf8');
}

/** The headers that carry a signature of `r` (the user name is URI-encoded: headers are not UTF-8). */
export function proxySignatureHeaders(key: SigningKey, r: ProxiedRequest, now = Date.now()): Record<string, string> {
  const time = String(now);
  const nonce = randomBytes(16).toString('base64url');
  const signature = sign(null, signedBytes(key.kid, r, time, nonce), key.privateKey).toString('base64url');
  return {
    [PROXY_HEADERS.keyId]: key.kid,
    [PROXY_HEADERS.node]: r.node,
    [PROXY_HEADERS.user]: encodeURIComponent(r.user),
    [PROXY_HEADERS.time]: time,
    [PROXY_HEADERS.nonce]: nonce,
    [PROXY_HEADERS.signature]: signature,
  };
}

/** The public half of a key as a JSON Web Key. */
export function publicJwk(key: SigningKey): ProxyKeySet['keys'][number] {
  const jwk = createPublicKey(key.privateKey).export({ format: 'jwk' });
  return { kty: 'OKP', crv: 'Ed25519', kid: key.kid, x: String(jwk.x), use: 'sig', alg: 'EdDSA' };
}

/** A JSON Web Key back as a key to verify with. */
export function publicKeyOf(jwk: ProxyKeySet['keys'][number]): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' });
}

/** A PKCS#8 PEM private key as a signing key; the key id names its public half. */
export function signingKeyOf(kid: string, pem: string): SigningKey {
  const privateKey = createPrivateKey(pem);
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`the agent proxy signing key ${kid} is not an Ed25519 key`);
  return { kid, privateKey };
}

function header(headers: IncomingHttpHeaders, name: string): string {
  const v = headers[name];
  if (typeof v !== 'string' || v === '') throw new UnauthorizedError(`the request carries no ${name} header: only an API server of this cluster may ask for this`);
  return v;
}

export interface VerifiedProxyRequest {
  user: string;
  nonce: string;
  /** When it was signed (ms since the epoch). */
  time: number;
}

/**
 * Checks the signature on a request this agent received: made with one of `keys`, for this node,
 * method and path, within SIGNATURE_MAX_AGE_MS of `now`. UnauthorizedError otherwise. The caller
 * must still refuse a nonce it has seen.
 */
export function checkProxySignature(
  headers: IncomingHttpHeaders,
  expected: Omit<ProxiedRequest, 'user'>,
  keyFor: (kid: string) => KeyObject | undefined,
  now = Date.now(),
): VerifiedProxyRequest {
  const kid = header(headers, PROXY_HEADERS.keyId);
  const key = keyFor(kid);
  if (!key) throw new UnauthorizedError(`the request is signed with key ${JSON.stringify(kid.slice(0, 64))}, which no API server of this cluster holds`);
  const node = header(headers, PROXY_HEADERS.node);
  if (node !== expected.node) throw new UnauthorizedError(`the request is signed for node ${JSON.stringify(node.slice(0, 253))}, not this one (${expected.node})`);
  const time = header(headers, PROXY_HEADERS.time);
  const nonce = header(headers, PROXY_HEADERS.nonce);
  let user: string;
  try {
    user = decodeURIComponent(header(headers, PROXY_HEADERS.user));
  } catch (err) {
    if (err instanceof URIError) throw new UnauthorizedError(`the ${PROXY_HEADERS.user} header is not URI-encoded`);
    throw err;
  }
  const signature = Buffer.from(header(headers, PROXY_HEADERS.signature), 'base64url');
  if (!verify(null, signedBytes(kid, { ...expected, user }, time, nonce), key, signature)) {
    throw new UnauthorizedError('the request signature does not match the request');
  }
  const at = Number(time);
  if (!/^\d{1,16}$/.test(time) || Math.abs(now - at) > SIGNATURE_MAX_AGE_MS) {
    throw new UnauthorizedError(`the request was signed at ${time}, more than ${SIGNATURE_MAX_AGE_MS / 1000} s from this node's clock`);
  }
  return { user, nonce, time: at };
}
