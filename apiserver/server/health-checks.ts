// What the API server's /livez and /readyz check (http/health.ts serves them). Ready means able to
// serve: not shutting down, etcd answering a quorum read, every watch cache holding a list.
import { UnavailableError } from '../../shared/errors.js';
import { PING_CHECK, sharedCheck, type HealthCheck, type HealthEndpoints } from '../http/health.js';
import type { ServedResource } from '../http/resources.js';
import type { Store } from '../storage/store.js';

/** How long /readyz waits for etcd's answer (kube-apiserver's --etcd-readycheck-timeout default). */
export const DEFAULT_STORE_READY_TIMEOUT_MS = 2_000;

export interface HealthCheckDeps {
  store: Store;
  resources: ReadonlyMap<string, ServedResource>;
  shuttingDown(): boolean;
  /** Whether the work the server does once listening (the kubernetes Service) is still under way. */
  starting(): boolean;
  /** ms the etcd check waits for an answer. */
  storeTimeoutMs?: number;
}

export function healthChecks(d: HealthCheckDeps): HealthEndpoints {
  const readyz: HealthCheck[] = [PING_CHECK];
  const ping = d.store.ping?.bind(d.store);
  if (ping) {
    const timeoutMs = d.storeTimeoutMs ?? DEFAULT_STORE_READY_TIMEOUT_MS;
    readyz.push(sharedCheck('etcd', () => ping(timeoutMs)));
  }
  readyz.push({
    name: 'watch-cache',
    run: async () => {
      const loading = [...d.resources].filter(([, r]) => !r.rest.objects.cache.synced).map(([name]) => name);
      if (loading.length > 0) throw new UnavailableError(`watch caches still listing: ${loading.join(', ')}`);
    },
  });
  readyz.push({
    // Not ready until it is fully up: a client that waits for /readyz may then stop it cleanly.
    name: 'poststarthook/bootstrap-controller',
    run: async () => {
      if (d.starting()) throw new UnavailableError('the server is still starting: the kubernetes Service is not reconciled yet');
    },
  });
  readyz.push({
    name: 'shutdown',
    run: async () => {
      if (d.shuttingDown()) throw new UnavailableError('the server is shutting down');
    },
  });
  return { livez: [PING_CHECK], readyz };
}
