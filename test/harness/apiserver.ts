// An API server for a test: in-process, over real etcd (a fresh key prefix of the shared test etcd)
// or the memory store, listening on a free loopback port.
import { randomUUID } from 'node:crypto';
import { startApiServer, type ApiServer, type ApiServerOptions } from '../../apiserver/server.js';
import { EtcdStore } from '../../apiserver/storage/etcd.js';
import { MemoryStore } from '../../apiserver/storage/memory.js';
import type { Store } from '../../apiserver/storage/store.js';
import { ApiClient } from '../../shared/client/http-client.js';
import { createLogger } from '../../shared/logging.js';

export function etcdEndpoints(): string[] {
  const eps = process.env.ETCD_ENDPOINTS;
  if (!eps) throw new Error('ETCD_ENDPOINTS is not set: run tests through test/harness/run-with-etcd.ts (npm test does)');
  return eps.split(',').map((e) => e.trim()).filter(Boolean);
}

export interface TestApiServer {
  server: ApiServer;
  store: Store;
  url: string;
  prefix: string;
  /** A client with the given token (or none). */
  client(token?: string): ApiClient;
  close(): Promise<void>;
}

/** Tokens every auth-enabled test server knows. */
export const TEST_TOKENS = {
  admin: 'admin-token',
  scheduler: 'scheduler-token',
  node1: 'node1-token',
  node2: 'node2-token',
  viewer: 'viewer-token',
  nobody: 'nobody-token',
};

export const TEST_TOKEN_CSV = [
  `${TEST_TOKENS.admin},admin,1,"system:masters"`,
  `${TEST_TOKENS.scheduler},system:scheduler,2,"system:schedulers"`,
  `${TEST_TOKENS.node1},system:node:node-1,3,"system:nodes"`,
  `${TEST_TOKENS.node2},system:node:node-2,4,"system:nodes"`,
  `${TEST_TOKENS.viewer},viewer,5,"system:viewers"`,
  `${TEST_TOKENS.nobody},nobody,6,""`,
].join('\n');

export async function startTestApiServer(
  opts: { backend?: 'etcd' | 'memory'; prefix?: string; auth?: boolean } & Partial<Omit<ApiServerOptions, 'store'>> = {},
): Promise<TestApiServer> {
  const prefix = opts.prefix ?? `/cell-test-${randomUUID()}`;
  const store: Store =
    (opts.backend ?? 'etcd') === 'etcd' ? new EtcdStore({ endpoints: etcdEndpoints(), prefix }) : new MemoryStore();
  const { backend: _b, prefix: _p, auth, ...rest } = opts;
  const server = await startApiServer({
    log: createLogger('apiserver', 'error'),
    compactionIntervalMs: 0,
    ...rest,
    ...(auth ? { tokenCsv: TEST_TOKEN_CSV } : {}),
    store,
  });
  return {
    server,
    store,
    url: server.url,
    prefix,
    client: (token?: string) =>
      new ApiClient({ servers: [server.url], ...(token ? { token } : {}), retries: 0, ...(opts.tls ? { tls: { ca: opts.tls.cert } } : {}) }),
    async close() {
      await server.close();
      await store.close();
    },
  };
}
