// The cluster's key for signing what API servers forward to node agents (shared/proxy-signature.ts).
// One key for every replica (cluster-key.ts), so an agent trusts whichever replica forwards a request.
import { generateKeyPairSync } from 'node:crypto';
import type { Logger } from '../../shared/logging.js';
import { proxySignatureHeaders, publicJwk, signingKeyOf, type ProxiedRequest, type ProxyKeySet, type SigningKey } from '../../shared/proxy-signature.js';
import type { Store } from '../storage/store.js';
import { loadClusterKey } from './cluster-key.js';

/** Where the key is kept (relative to the store's prefix, /registry). */
export const AGENT_PROXY_KEY_STORAGE_KEY = '/cell.dev/agent-proxy-signing-key';

export class AgentProxyKey {
  private constructor(private readonly key: SigningKey) {}

  /** The stored key, made and stored first when there is none. */
  static async load(store: Store, log: Logger): Promise<AgentProxyKey> {
    const stored = await loadClusterKey(store, AGENT_PROXY_KEY_STORAGE_KEY, () => generateKeyPairSync('ed25519').privateKey, log, 'requests to node agents');
    return new AgentProxyKey(signingKeyOf(stored.kid, stored.privateKeyPem));
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
