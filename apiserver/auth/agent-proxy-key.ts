// The cluster's key for signing what API servers forward to node agents (shared/proxy-signature.ts).
// One key for every replica, so an agent trusts whichever replica forwards a request: the first
// server to start makes it and stores it (create-if-absent, so racing replicas keep one); the
// others read it. Stored beside the resources but outside every resource prefix, so no API
// request, watch or list ever returns it.
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { z } from 'zod';
import { AlreadyExistsError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logging.js';
import { proxySignatureHeaders, publicJwk, signingKeyOf, type ProxiedRequest, type ProxyKeySet, type SigningKey } from '../../shared/proxy-signature.js';
import type { Store } from '../storage/store.js';

/** Where the key is kept (relative to the store's prefix, /registry). */
export const AGENT_PROXY_KEY_STORAGE_KEY = '/cell.dev/agent-proxy-signing-key';

const StoredKeySchema = z.object({ kid: z.string().min(1), privateKeyPem: z.string().min(1), createdAt: z.string() });

/** Names a key by its public half (base64url of a SHA-256 prefix), so every replica derives the same id. */
function keyId(privatePem: string): string {
  const der = createPublicKey(privatePem).export({ format: 'der', type: 'spki' });
  return createHash('sha256').update(der).digest('base64url').slice(0, 22);
}

export class AgentProxyKey {
  private constructor(private readonly key: SigningKey) {}

  /** The stored key, made and stored first when there is none. */
  static async load(store: Store, log: Logger): Promise<AgentProxyKey> {
    const existing = await store.get(AGENT_PROXY_KEY_STORAGE_KEY);
    if (existing) return AgentProxyKey.fromStored(existing.value);
    const { privateKey } = generateKeyPairSync('ed25519');
    const privateKeyPem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const stored = JSON.stringify({ kid: keyId(privateKeyPem), privateKeyPem, createdAt: new Date().toISOString() });
    try {
      await store.create(AGENT_PROXY_KEY_STORAGE_KEY, stored);
      log.info('made the cluster key for requests to node agents', { kid: keyId(privateKeyPem) });
      return AgentProxyKey.fromStored(stored);
    } catch (err) {
      // Another replica stored one first: that one is the cluster's.
      if (!(err instanceof AlreadyExistsError)) throw err;
      const winner = await store.get(AGENT_PROXY_KEY_STORAGE_KEY);
      if (!winner) throw err;
      return AgentProxyKey.fromStored(winner.value);
    }
  }

  private static fromStored(value: string): AgentProxyKey {
    const s = StoredKeySchema.parse(JSON.parse(value));
    return new AgentProxyKey(signingKeyOf(s.kid, s.privateKeyPem));
  }

  get kid(): string {
    return this.key.kid;
  }

  /** Headers signing one request to a node's agent. */
  sign(r: ProxiedRequest): Record<string, string> {
    return proxySignatureHeaders(this.key, r);
  }

  /** What agents verify with (served at PROXY_KEYS_PATH). */
  keySet(): ProxyKeySet {
    return { keys: [publicJwk(this.key)] };
  }
}
