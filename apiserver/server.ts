// Assembles the API server, in order: the store → the resource table (a typed store with a watch
// cache and a REST layer per resource) → the default namespaces and RBAC → the handlers (the
// resource router, the non-resource endpoints, and what each kind installs into them) → the request
// pipeline (http/pipeline.ts: the one way every request goes) → the listener → background loops.
// `startApiServer` is what main.ts and the tests call; it returns once the server listens.
import { ClusterIPRange, DEFAULT_SERVICE_RANGES, type ServiceRanges } from './services/ranges.js';
import { KubernetesServiceReconciler } from './services/kubernetes-service.js';
import { hostIPv4 } from '../shared/host-address.js';
import { BOOKMARK_INTERVAL_MS } from '../shared/api/meta.js';
import { createLogger, type Logger } from '../shared/logging.js';
import { AgentProxyKey } from './auth/agent-proxy-key.js';
import { AgentAddressAllowList } from './controllers/agent-endpoint.js';
import { METRICS_DISCOVERY, ResourceMetricsApi } from './controllers/resource-metrics.js';
import { METRICS_GROUP } from '../shared/api/metrics.js';
import { createDashboardHandler, defaultDashboardDir } from './http/dashboard.js';
import { DEFAULT_REQUEST_TIMEOUT_MS } from './http/deadline.js';
import { createNonResourceEndpoints } from './http/non-resource.js';
import { healthChecks } from './server/health-checks.js';
import { createRequestPipeline } from './http/pipeline.js';
import { ResourceRouter, type CustomHandler, type ServedResource } from './http/resources.js';
import { ApiServerMetrics } from './metrics.js';
import { authentication, refuseOpenPublicAddress, startAuthorization, tokenSubjects } from './server/access.js';
import { DEFAULT_SERVICE_ACCOUNT_ISSUER, ServiceAccountTokens } from './auth/service-account-tokens.js';
import { startBackgroundLoops } from './server/background.js';
import { createDefaultNamespaces, createSystemPriorityClasses } from './server/bootstrap.js';
import { installKinds } from './server/kind-installs.js';
import { listen } from './server/listener.js';
import { buildResourceTable } from './server/resource-table.js';
import { CustomResourceDefinitionController } from './customresources/controller.js';
import { InstrumentedStore } from './storage/instrumented.js';
import type { Store } from './storage/store.js';

export interface ApiServerOptions {
  store: Store;
  bindAddress?: string;
  /** 0 = any free port. */
  port?: number;
  /** Static token CSV contents; undefined = no authentication (loopback only). */
  tokenCsv?: string;
  maxRequestBytes?: number;
  /** ms between compactions; 0 disables. */
  compactionIntervalMs?: number;
  /** ms between watch bookmarks (default BOOKMARK_INTERVAL_MS, which clients count on). */
  bookmarkIntervalMs?: number;
  watchCacheCapacity?: number;
  /** This server's commits a watch cache may lag behind before creates wait for it (OWN_WRITES_LAG_LIMIT); 0 = no limit. */
  maxWatchCacheLag?: number;
  /** Seconds an Event is kept after its last write (--event-ttl); 0 = forever. Default one hour. */
  eventTtlSeconds?: number;
  /** Bytes that may queue for one watch before the client is cut off as too slow. */
  watchMaxQueuedBytes?: number;
  /** Non-watch requests served at once; more are refused with 429 (0 = no limit). */
  maxRequestsInflight?: number;
  /** How long /readyz waits for etcd to answer a quorum read (--etcd-readycheck-timeout). */
  storeReadyTimeoutMs?: number;
  /** Deadline of every request that is not a watch or a followed log (--request-timeout); 0 = none. */
  requestTimeoutMs?: number;
  /**
   * Serve HTTPS with this certificate and key (PEM). kubectl sends bearer tokens only over TLS.
   * `clientCa` (PEM, --client-ca-file) turns on X.509 client certificate authentication.
   */
  tls?: { cert: string; key: string; clientCa?: string };
  /**
   * Networks (CIDRs) the pods/log proxy may connect to agents in; undefined = the default
   * (AgentAddressAllowList.default(): loopback, private networks, this host's addresses).
   */
  agentAddressAllow?: readonly string[];
  /** Service account tokens' `iss` (--service-account-issuer); default DEFAULT_SERVICE_ACCOUNT_ISSUER. */
  serviceAccountIssuer?: string;
  /** Services' cluster IP range and node port range (default: Kubernetes' 10.96.0.0/12 and 30000-32767). */
  serviceRanges?: ServiceRanges;
  /**
   * The `kubernetes` Service of the default namespace and its Endpoints (services/kubernetes-service.ts):
   * `advertiseAddress` is the IP clients reach this server at (default: the bind address, or the
   * host's first IPv4 when that is every interface); false leaves both alone
   * (--endpoint-reconciler-type=none). Intervals are for tests.
   */
  kubernetesService?: false | { advertiseAddress?: string; ttlSeconds?: number; intervalMs?: number };
  /** What requests' service account tokens must be for (--api-audiences); default the issuer. */
  apiAudiences?: string[];
  /** Longest lifetime of an issued token, seconds (--service-account-max-token-expiration); undefined = as requested. */
  serviceAccountMaxTokenExpirationSeconds?: number;
  log?: Logger;
}

export interface ApiServer {
  url: string;
  port: number;
  metrics: ApiServerMetrics;
  log: Logger;
  resources: Map<string, ServedResource>;
  /** Register a custom verb handler (`pods/binding:POST`, `placements:POST`, …). */
  addCustomHandler(key: string, handler: CustomHandler): void;
  served(resource: string): ServedResource;
  close(): Promise<void>;
}

/** The address a server bound to `bindAddress` is reached at: itself, unless it is every interface. */
function advertisedAddress(bindAddress: string): string {
  return bindAddress === '0.0.0.0' || bindAddress === '::' || bindAddress === '' ? hostIPv4() : bindAddress;
}

export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const log = opts.log ?? createLogger('apiserver');
  const metrics = new ApiServerMetrics({ processMetrics: true });
  const store = new InstrumentedStore(opts.store, metrics.storeDuration);
  metrics.trackBatching(() => opts.store.batchingStats?.());
  const bindAddress = opts.bindAddress ?? '127.0.0.1';
  const maxRequestBytes = opts.maxRequestBytes ?? 3 * 1024 * 1024;
  // First: an unauthenticated server on a public address is refused before anything starts.
  const authnOptions = { tokenCsv: opts.tokenCsv, clientCa: opts.tls?.clientCa, bindAddress };
  refuseOpenPublicAddress(authnOptions);

  // State: the served resources, the namespaces every cluster has, warm watch caches, then RBAC.
  const table = buildResourceTable(store, log, metrics, {
    watchCacheCapacity: opts.watchCacheCapacity ?? 20_000,
    eventTtlSeconds: opts.eventTtlSeconds ?? 3600,
    ...(opts.maxWatchCacheLag !== undefined ? { maxWatchCacheLag: opts.maxWatchCacheLag } : {}),
  });
  const { resources, served } = table;
  await createDefaultNamespaces(table, log);
  await createSystemPriorityClasses(table, log);
  await Promise.all([...resources.values()].map((r) => r.rest.objects.cache.ready()));
  const access = await startAuthorization(table, log);
  // Custom resources: the kinds CustomResourceDefinitions add, served before the server listens.
  const customResources = new CustomResourceDefinitionController(table, log, maxRequestBytes);
  await customResources.start();
  const issuer = opts.serviceAccountIssuer ?? DEFAULT_SERVICE_ACCOUNT_ISSUER;
  const serviceAccountTokens = await ServiceAccountTokens.load(
    store,
    log,
    { issuer, apiAudiences: opts.apiAudiences ?? [issuer], maxExpirationSeconds: opts.serviceAccountMaxTokenExpirationSeconds },
    tokenSubjects(table),
  );
  const authn = authentication({ ...authnOptions, serviceAccounts: serviceAccountTokens }, log);

  // Handlers: the resource router with the kinds' custom verbs, and the non-resource endpoints.
  const custom = new Map<string, CustomHandler>();
  const addCustomHandler = (key: string, handler: CustomHandler): void => {
    custom.set(key, handler);
  };
  const agentAddressAllow = opts.agentAddressAllow !== undefined ? new AgentAddressAllowList(opts.agentAddressAllow) : AgentAddressAllowList.default();
  // The cluster's key for what API servers ask of agents (they serve nothing unsigned).
  const agentProxyKey = await AgentProxyKey.load(store, log);
  const resourceMetrics = new ResourceMetricsApi({ served, authorizer: access.authorizer, agentAddressAllow, signer: agentProxyKey, log });
  const router = new ResourceRouter({
    log,
    metrics,
    maxRequestBytes,
    watchMaxQueuedBytes: opts.watchMaxQueuedBytes ?? 8 * 1024 * 1024,
    resolve: table.resolve,
    custom,
    groups: new Map([[METRICS_GROUP, (req, user, path, query) => resourceMetrics.serve(req, user, path, query)]]),
    authorizer: access.authorizer,
    escalation: access.escalation,
  });
  let ready = true;
  let starting = true;
  const health = healthChecks({
    store,
    resources,
    shuttingDown: () => !ready,
    starting: () => starting,
    ...(opts.storeReadyTimeoutMs !== undefined ? { storeTimeoutMs: opts.storeReadyTimeoutMs } : {}),
  });
  const endpoints = createNonResourceEndpoints({
    log,
    metrics,
    discovered: table.discovered,
    health,
    handledGroups: [METRICS_DISCOVERY],
    customResources: () => customResources.described(),
  });
  const installs = installKinds({
    store,
    log,
    metrics,
    maxRequestBytes,
    served,
    resources,
    addCustomHandler,
    app: endpoints.app,
    authorize: (user, a) => access.authorizer.authorize(user, a),
    access,
    agentAddressAllow,
    agentProxyKey,
    serviceRanges: opts.serviceRanges ?? DEFAULT_SERVICE_RANGES,
    serviceAccountTokens,
    reviewToken: authn.reviewToken,
  });
  endpoints.finish();
  // Custom kinds served from now on get what the installs gave the kinds served so far.
  customResources.onNewStore(installs.admitCustomKind);

  const pipeline = createRequestPipeline({
    log,
    metrics,
    maxRequestsInflight: opts.maxRequestsInflight ?? 400,
    requestTimeoutMs: opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    authenticate: authn.authenticate,
    authorizer: access.authorizer,
    router,
    nonResource: endpoints.app,
    dashboard: createDashboardHandler(defaultDashboardDir(), log),
  });
  const listener = await listen({ bindAddress, port: opts.port ?? 0, tls: opts.tls }, pipeline.handle, log);
  log.info('API server listening', { url: listener.url, auth: authn.kinds.length > 0 ? authn.kinds.join(',') : 'none' });

  // Clients inside the cluster find this server through the kubernetes Service.
  let kubernetesService: KubernetesServiceReconciler | undefined;
  if (opts.kubernetesService !== false) {
    const k = opts.kubernetesService ?? {};
    kubernetesService = new KubernetesServiceReconciler({
      served,
      store,
      address: { ip: k.advertiseAddress ?? advertisedAddress(bindAddress), port: listener.port },
      tls: opts.tls !== undefined,
      clusterIP: new ClusterIPRange((opts.serviceRanges ?? DEFAULT_SERVICE_RANGES).clusterIPRange).at(0),
      ...(k.ttlSeconds !== undefined ? { ttlSeconds: k.ttlSeconds } : {}),
      ...(k.intervalMs !== undefined ? { intervalMs: k.intervalMs } : {}),
      log,
    });
    await kubernetesService.start();
  }

  const loops = startBackgroundLoops({
    store,
    resources,
    metrics,
    log,
    bookmarkIntervalMs: opts.bookmarkIntervalMs ?? BOOKMARK_INTERVAL_MS,
    compactionIntervalMs: opts.compactionIntervalMs ?? 5 * 60_000,
  });
  starting = false;

  return {
    url: listener.url,
    port: listener.port,
    metrics,
    log,
    resources,
    served,
    addCustomHandler,
    async close() {
      ready = false;
      await kubernetesService?.stop();
      loops.stop();
      customResources.stop();
      access.rbac.stop();
      pipeline.stop();
      // Ends every watch, so the listener's close waits for nothing long-running.
      for (const r of resources.values()) r.rest.objects.cache.stop();
      await listener.close();
    },
  };
}
