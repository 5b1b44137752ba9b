// The agent's check that a request comes from an API server of its cluster (shared/proxy-signature.ts):
// the signature must be made with a key the API servers publish (read through this agent's own
// authenticated client, so a man in the middle cannot hand it another), for this node and for the
// exact request, recently, and its nonce must not have been seen before.
import type { KeyObject } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { ApiClient } from '../shared/client/http-client.js';
import { errorMessage, UnauthorizedError, UnavailableError } from '../shared/errors.js';
import type { Logger } from '../shared/logging.js';
import type { AgentMetrics } from './metrics.js';
import {
  checkProxySignature,
  PROXY_HEADERS,
  PROXY_KEYS_PATH,
  ProxyKeySetSchema,
  publicKeyOf,
  SIGNATURE_MAX_AGE_MS,
  type VerifiedProxyRequest,
} from '../shared/proxy-signature.js';

/** A key id the agent does not know makes it ask again, at most this often. */
const REFRESH_MIN_INTERVAL_MS = 10_000;

export class ApiServerSignatures {
  private keys = new Map<string, KeyObject>();
  private fetchedAt = -Infinity;
  private fetching: Promise<void> | undefined;
  /** Nonces taken, with when each may be forgotten (its signature has expired by then). */
  private readonly nonces = new Map<string, number>();

  constructor(
    private readonly client: ApiClient,
    private readonly nodeName: string,
    private readonly metrics: AgentMetrics,
    private readonly log: Logger,
  ) {}

  /**
   * The caller of `req` (path and query as received) when an API server signed it for this node;
   * UnauthorizedError otherwise, UnavailableError when the keys cannot be read.
   */
  async verify(req: IncomingMessage, pathAndQuery: string): Promise<VerifiedProxyRequest> {
    try {
      const verified = await this.check(req, pathAndQuery);
      this.metrics.signatureChecks.inc({ result: 'accepted' });
      return verified;
    } catch (err) {
      if (err instanceof UnauthorizedError) {
        this.metrics.signatureChecks.inc({ result: 'refused' });
        this.log.debug('refused a request an API server did not sign', { path: pathAndQuery.split('?')[0], error: err.message });
      }
      throw err;
    }
  }

  private async check(req: IncomingMessage, pathAndQuery: string): Promise<VerifiedProxyRequest> {
    const kid = req.headers[PROXY_HEADERS.keyId];
    if (typeof kid === 'string' && !this.keys.has(kid) && Date.now() - this.fetchedAt >= REFRESH_MIN_INTERVAL_MS) await this.refresh();
    const now = Date.now();
    const verified = checkProxySignature(req.headers, { node: this.nodeName, method: req.method ?? 'GET', path: pathAndQuery }, (k) => this.keys.get(k), now);
    for (const [nonce, forgetAt] of this.nonces) {
      // Insertion order is roughly signing order: stop at the first one still needed.
      if (forgetAt > now) break;
      this.nonces.delete(nonce);
    }
    if (this.nonces.has(verified.nonce)) throw new UnauthorizedError('this signed request was used already: each is good for one request');
    this.nonces.set(verified.nonce, Math.max(now, verified.time) + SIGNATURE_MAX_AGE_MS + 1000);
    return verified;
  }

  private refresh(): Promise<void> {
    this.fetching ??= (async () => {
      try {
        const body = await this.client.request<unknown>('GET', PROXY_KEYS_PATH);
        const set = ProxyKeySetSchema.parse(body);
        this.keys = new Map(set.keys.map((k) => [k.kid, publicKeyOf(k)]));
        this.fetchedAt = Date.now();
        this.log.info('read the API servers\u2019 signing keys', { keys: [...this.keys.keys()] });
      } catch (err) {
        this.log.warn('cannot read the API servers\u2019 signing keys', { error: errorMessage(err) });
        throw new UnavailableError(`this node cannot read the API servers' signing keys to check the request: ${errorMessage(err)}`);
      } finally {
        this.fetching = undefined;
      }
    })();
    return this.fetching;
  }
}
