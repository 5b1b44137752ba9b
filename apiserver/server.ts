// Assembles the API server: store → resource stores (with watch caches) → REST layer → HTTP.
// `startApiServer` is what main.ts and the tests call; it returns once the server listens.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import express, { type Request, type Response } from 'express';
import { NotFoundError, TooManyRequestsError, UnauthorizedError, errorMessage } from '../shared/errors.js';
import { createLogger, type Logger } from '../shared/logging.js';
import { ANONYMOUS_ADMIN, TokenAuthenticator, type UserInfo } from './auth/tokens.js';
import { authenticateRequest, X509Authenticator, type RequestAuthenticators } from './auth/x509.js';
import { apiGroup, apiGroupList, apiResourceList, apiVersions, SERVER_VERSION } from './http/discovery.js';
import { ResourceRouter, type CustomHandler, type ServedResource } from './http/resources.js';
import { beginExchange, exchangeOf } from './http/exchange.js';
import { InflightLimiter } from './http/inflight.js';
import { sendError } from './http/status.js';
import { pairResponse, RequestAbortedError } from './http/body.js';
import { AgentAddressAllowList } from './controllers/pod-log-proxy.js';
import { ApiServerMetrics } from './metrics.js';
import { ResourceStore } from './registry/resource-store.js';
import { RestResource } from './registry/rest.js';
import { resourceDefinitions } from './registry/definitions.js';
import { InstrumentedStore } from './storage/instrumented.js';
import { installPlacement } from './placement/routes.js';
import { installDisruption } from './disruption/routes.js';
import { installQuota } from './quota/install.js';
import { installScale } from './apps/scale.js';
import { Authorizer } from './auth/authorizer.js';
import { EscalationCheck } from './auth/escalation.js';
import { RbacAuthorizer } from './auth/rbac.js';
import { reconcileDefaults } from './auth/rbac-defaults.js';
import { reviewHandlers } from './auth/reviews.js';
import { installOpenApi } from './openapi/routes.js';
import { RESOURCES } from '../shared/api/registry.js';
import { NamespaceLifecycle } from './controllers/namespace-lifecycle.js';
import { installAgentIntegration } from './controllers/install.js';
import type { Store } from './storage/store.js';
import { RequestDeadlines, DEFAULT_REQUEST_TIMEOUT_MS } from './http/deadline.js';
import { createDashboardHandler, defaultDashboardDir, isDashboardPath } from './http/dashboard.js';

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
  /** ms between watch bookmarks. */
  bookmarkIntervalMs?: number;
  watchCacheCapacity?: number;
  /** Bytes that may queue for one watch before the client is cut off as too slow. */
  watchMaxQueuedBytes?: number;
  /** Non-watch requests served at once; more are refused with 429 (0 = no limit). */
  maxRequestsInflight?: number;
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

const BOOTSTRAP_NAMESPACES = ['default', 'kube-system', 'kube-node-lease'];
const PUBLIC_PATHS = new Set(['/livez', '/readyz', '/healthz', '/version']);
/** Non-resource paths whose handlers authorize a resource verb instead (see the app's first middleware). */
const RESOURCE_AUTHORIZED_PATHS = new Set(['/audit']);

function isLoopback(address: string): boolean {
  return address === 'localhost' || address === '::1' || address.startsWith('127.');
}

export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const log = opts.log ?? createLogger('apiserver');
  const metrics = new ApiServerMetrics({ processMetrics: true });
  const store = new InstrumentedStore(opts.store, metrics.storeDuration);
  metrics.trackBatching(() => opts.store.batchingStats?.());
  const bindAddress = opts.bindAddress ?? '127.0.0.1';
  const maxRequestBytes = opts.maxRequestBytes ?? 3 * 1024 * 1024;

  let authenticator: RequestAuthenticators | undefined;
  if (opts.tokenCsv !== undefined || opts.tls?.clientCa !== undefined) {
    authenticator = {
      ...(opts.tokenCsv !== undefined ? { tokens: TokenAuthenticator.fromCsv(opts.tokenCsv) } : {}),
      ...(opts.tls?.clientCa !== undefined ? { certificates: new X509Authenticator() } : {}),
    };
  } else {
    if (!isLoopback(bindAddress)) {
      throw new Error(`refusing to bind ${bindAddress} without --token-auth-file or --client-ca-file: unauthenticated access is only allowed on loopback`);
    }
    log.warn('no --token-auth-file or --client-ca-file: every request is allowed as system:admin; listening on loopback only', { bindAddress });
  }

  // Resource stores and REST layers, one per served resource.
  const resources = new Map<string, ServedResource>();
  const byGvr = new Map<string, ServedResource>();
  const namespaceStore = new ResourceStore(store, { group: '', kind: 'Namespace', resource: 'namespaces', namespaced: false }, log, {
    watchCacheCapacity: opts.watchCacheCapacity ?? 20_000,
    onWatcherDropped: (reason) => metrics.terminatedWatchers.inc({ resource: 'namespaces', reason }),
  });
  // Namespace checks on every namespaced write: the watch cache answers; a miss (e.g. a namespace
  // created a moment ago) is confirmed against the store before it becomes a 404, and so is a
  // namespace this server changed (e.g. marked Terminating) that the cache has not caught up with.
  const lookupNamespace = async (name: string) =>
    namespaceStore.peekFresh(namespaceStore.key(undefined, name)) ?? namespaceStore.tryGet(undefined, name);
  for (const d of resourceDefinitions()) {
    const objects =
      d.def.resource === 'namespaces'
        ? namespaceStore
        : new ResourceStore(store, d.def, log, {
            watchCacheCapacity: opts.watchCacheCapacity ?? 20_000,
            onWatcherDropped: (reason) => metrics.terminatedWatchers.inc({ resource: d.def.resource, reason }),
          });
    const served: ServedResource = {
      rest: new RestResource(d.def, objects, lookupNamespace),
      fieldSelectors: d.fieldSelectors,
      fieldsOf: d.fieldsOf,
      subresources: d.subresources,
      verbs: d.verbs,
      singularName: d.singularName,
      shortNames: d.shortNames,
      categories: d.categories,
    };
    resources.set(d.def.resource, served);
    byGvr.set(`${d.def.group}/${d.def.version}/${d.def.resource}`, served);
  }
  const served = (resource: string): ServedResource => {
    const s = resources.get(resource);
    if (!s) throw new Error(`resource ${resource} is not served`);
    return s;
  };

  // The namespaces every cluster starts with.
  for (const name of BOOTSTRAP_NAMESPACES) {
    if (!(await namespaceStore.tryGet(undefined, name))) {
      try {
        await served('namespaces').rest.create(undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
      } catch (err) {
        // Another API server replica created it first.
        log.debug('bootstrap namespace exists', { name, error: errorMessage(err) });
      }
    }
  }
  await Promise.all([...resources.values()].map((r) => r.rest.objects.cache.ready()));

  // --- RBAC: the watch-cached view, the default roles, escalation prevention ---
  const rbac = new RbacAuthorizer(log);
  const rbacStores = {
    roles: served('roles').rest.objects,
    clusterroles: served('clusterroles').rest.objects,
    rolebindings: served('rolebindings').rest.objects,
    clusterrolebindings: served('clusterrolebindings').rest.objects,
  };
  await rbac.start(rbacStores);
  // Returns once the view holds the defaults: the first request may be anyone's discovery.
  await reconcileDefaults({ clusterroles: served('clusterroles').rest, clusterrolebindings: served('clusterrolebindings').rest }, log);
  const authorizer = new Authorizer(rbac);
  const escalation = new EscalationCheck(authorizer, rbac);
  // --- end RBAC ---

  const custom = new Map<string, CustomHandler>();
  const router = new ResourceRouter({
    log,
    metrics,
    maxRequestBytes,
    watchMaxQueuedBytes: opts.watchMaxQueuedBytes ?? 8 * 1024 * 1024,
    resolve: (g, v, r) => byGvr.get(`${g}/${v}/${r}`),
    custom,
    authorizer,
    escalation,
  });
  for (const [key, handler] of Object.entries(reviewHandlers(authorizer, rbac, maxRequestBytes))) custom.set(key, handler);

  const inflight = new InflightLimiter(opts.maxRequestsInflight ?? 400, metrics.inflight);
  const deadlines = new RequestDeadlines(opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS, log, () => metrics.requestTimeouts.inc());
  const dashboard = createDashboardHandler(defaultDashboardDir(), log);

  // Resource requests (the hot path) go straight from Node's server to the resource router; the
  // express app serves health, metrics, discovery and /audit, and whatever the router declines.
  const serveResource = async (req: http.IncomingMessage, res: http.ServerResponse, user: UserInfo): Promise<boolean> => {
    try {
      return await router.handle(req, res, user);
    } catch (err) {
      if (err instanceof RequestAbortedError) {
        // Any client can do this: counted, not logged as a server error.
        metrics.requestAborts.inc();
        if (log.isDebugEnabled()) log.debug('client aborted its request body', { requestId: exchangeOf(res).id, method: req.method, path: req.url, error: err.message });
      }
      sendError(res, err, log);
      return true;
    }
  };

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // Non-resource URLs (discovery, /openapi, /metrics, ...) are authorized by RBAC nonResourceURLs
  // rules; resource paths, and /audit (a read of nodeallocations), are authorized as resource
  // requests where they are served. Public paths arrive here without a user and are not checked.
  app.use((req, res, next) => {
    const user = exchangeOf(res).user;
    if (user && !isResourcePath(req.path) && !RESOURCE_AUTHORIZED_PATHS.has(req.path)) {
      try {
        // HEAD is a GET without the body.
        authorizer.authorizeNonResource(user, req.method === 'HEAD' ? 'get' : req.method.toLowerCase(), req.path);
      } catch (err) {
        sendError(res, err, log);
        return;
      }
    }
    next();
  });
  let ready = true;
  app.get(['/livez', '/healthz'], (_req, res) => res.type('text/plain').send('ok'));
  app.get('/readyz', (_req, res) => {
    if (ready) res.type('text/plain').send('ok');
    else res.status(503).type('text/plain').send('shutting down');
  });
  app.get('/version', (_req, res) => res.json(SERVER_VERSION));
  // Metrics are for operators and monitoring: admins, viewers and schedulers, not any token.
  app.get('/metrics', async (_req, res) => {
    const user = exchangeOf(res).user;
    if (!user) {
      sendError(res, new UnauthorizedError('Unauthorized'), log);
      return;
    }
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  const all = () => [...resources.values()];
  app.get(['/api', '/api/'], (_req, res) => res.json(apiVersions()));
  app.get(['/apis', '/apis/'], (_req, res) => res.json(apiGroupList(all())));
  app.get('/api/:version', (req, res) => {
    const list = apiResourceList(all(), '', String(req.params.version));
    if (list) res.json(list);
    else sendError(res, new NotFoundError('the server could not find the requested resource'), log);
  });
  app.get('/apis/:group', (req, res) => {
    const g = apiGroup(all(), String(req.params.group));
    if (g) res.json(g);
    else sendError(res, new NotFoundError('the server could not find the requested resource'), log);
  });
  app.get('/apis/:group/:version', (req, res) => {
    const list = apiResourceList(all(), String(req.params.group), String(req.params.version));
    if (list) res.json(list);
    else sendError(res, new NotFoundError('the server could not find the requested resource'), log);
  });
  // --- OpenAPI: /openapi/v2 and /openapi/v3, generated once from the resource table's schemas ---
  installOpenApi(app, RESOURCES, SERVER_VERSION.gitVersion, log);
  // --- end OpenAPI ---

  installPlacement({
    authorize: (user, a) => authorizer.authorize(user, a),
    app,
    store,
    log,
    metrics,
    maxRequestBytes,
    served,
    resources,
    addCustomHandler: (key, handler) => custom.set(key, handler),
  });

  // --- disruption budgets: the pods/eviction subresource ---
  installDisruption({ store, maxRequestBytes, served, addCustomHandler: (key, handler) => custom.set(key, handler) });
  // --- end disruption budgets ---

  // --- ResourceQuota: admission committed with the write it admits (every namespaced kind) ---
  installQuota(resources);
  // --- end ResourceQuota ---

  // --- apps/v1 workloads: the deployments/scale and replicasets/scale subresources ---
  installScale({ maxRequestBytes, served, addCustomHandler: (key, handler) => custom.set(key, handler) });
  // --- end apps/v1 workloads ---

  // --- node agents: the pods/log proxy (their control loops run in cell-controller-manager) ---
  installAgentIntegration({
    served,
    log,
    addCustomHandler: (key, handler) => custom.set(key, handler),
    ...(opts.agentAddressAllow !== undefined ? { agentAddressAllow: new AgentAddressAllowList(opts.agentAddressAllow) } : {}),
  });
  // --- end node agents ---

  app.use(async (req: Request, res: Response) => {
    const user = exchangeOf(res).user;
    // Resource paths were offered to the router already.
    if (user && !isResourcePath(req.path) && (await serveResource(req, res, user))) return;
    sendError(res, new NotFoundError('the server could not find the requested resource'), log);
  });

  // Every request: an id, the request metrics and access log, the in-flight limit, authentication
  // (health and version are public, as in Kubernetes), then the resource router or the app.
  const handleRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const exchange = beginExchange(res, randomUUID());
    pairResponse(req, res);
    const start = process.hrtime.bigint();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q >= 0 ? url.slice(0, q) : url;
    const method = req.method ?? 'GET';
    res.setHeader('Audit-Id', exchange.id);
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const verb = exchange.verb ?? method.toLowerCase();
      const resource = exchange.resource ?? '';
      metrics.requests.inc({ verb, resource, subresource: exchange.subresource ?? '', code: String(res.statusCode) });
      if (!exchange.longRunning) metrics.requestDuration.observe({ verb, resource }, seconds);
      if (log.isDebugEnabled()) log.debug('request', { requestId: exchange.id, method, path, code: res.statusCode, ms: Math.round(seconds * 1000), user: exchange.user?.name });
    });
    // The dashboard's static files are public like /version; the API calls they make carry a token.
    if (isDashboardPath(path)) {
      void dashboard.handle(req, res, path);
      return;
    }
    if (PUBLIC_PATHS.has(path)) {
      app(req, res);
      return;
    }
    if (!inflight.admit(res)) {
      sendError(res, new TooManyRequestsError('Too many requests, please try again later.', 1), log);
      return;
    }
    if (!deadlines.arm(req, res)) return;
    try {
      exchange.user = authenticator ? authenticateRequest(req, authenticator) : ANONYMOUS_ADMIN;
    } catch (err) {
      sendError(res, err, log);
      return;
    }
    if (!isResourcePath(path)) {
      app(req, res);
      return;
    }
    void serveResource(req, res, exchange.user).then((handled) => {
      if (!handled) app(req, res);
    });
  };

  // With a client CA the handshake asks for a certificate but admits clients without one (token
  // users); auth/x509.ts reads each connection's verdict.
  const clientCerts = opts.tls?.clientCa !== undefined ? { requestCert: true, rejectUnauthorized: false, ca: opts.tls.clientCa } : {};
  const server = opts.tls ? https.createServer({ cert: opts.tls.cert, key: opts.tls.key, ...clientCerts }, handleRequest) : http.createServer(handleRequest);
  // Requests Node's parser refuses (header overflow, garbage) still get a Status body.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return socket.destroy();
    const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
    const code = tooLarge ? 431 : 400;
    const body = JSON.stringify({
      kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', code,
      reason: tooLarge ? 'RequestHeaderFieldsTooLarge' : 'BadRequest',
      message: tooLarge ? 'request header fields too large' : `malformed HTTP request: ${err.message}`,
    });
    socket.end(`HTTP/1.1 ${code} ${tooLarge ? 'Request Header Fields Too Large' : 'Bad Request'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  });
  // Watches are long-lived: no request timeout; keep-alive for clients that reuse connections.
  server.requestTimeout = 0;
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, bindAddress, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = bindAddress.includes(':') ? `[${bindAddress}]` : bindAddress;
  const url = `${opts.tls ? 'https' : 'http'}://${host}:${port}`;
  const authKinds = [authenticator?.certificates ? 'x509' : '', authenticator?.tokens ? 'token' : ''].filter((k) => k !== '');
  log.info('API server listening', { url, auth: authKinds.length > 0 ? authKinds.join(',') : 'none' });

  const namespaceLifecycle = new NamespaceLifecycle(resources, log);
  namespaceLifecycle.start();

  const timers: NodeJS.Timeout[] = [];
  const bookmarkMs = opts.bookmarkIntervalMs ?? 30_000;
  timers.push(setInterval(() => resources.forEach((r) => r.rest.objects.cache.sendBookmarks()), bookmarkMs));

  // Compaction keeps at least one interval of history, so a watch can resume after a short break.
  const compactMs = opts.compactionIntervalMs ?? 5 * 60_000;
  if (compactMs > 0) {
    let previous: number | undefined;
    timers.push(
      setInterval(() => {
        void (async () => {
          try {
            const current = await store.currentRevision();
            if (previous !== undefined && previous > 0) {
              await store.compact(previous);
              metrics.compactions.inc();
              log.info('compacted store history', { revision: previous });
            }
            previous = current;
          } catch (err) {
            log.warn('compaction failed', { error: errorMessage(err) });
          }
        })();
      }, compactMs),
    );
  }

  return {
    url,
    port,
    metrics,
    log,
    resources,
    served,
    addCustomHandler: (key, handler) => custom.set(key, handler),
    async close() {
      ready = false;
      namespaceLifecycle.stop();
      rbac.stop();
      timers.forEach((t) => clearInterval(t));
      deadlines.stop();
      for (const r of resources.values()) r.rest.objects.cache.stop();
      // Watches are ended above; connections a client opened but never used would otherwise
      // hold server.close() until the header timeout.
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** /api/v1/<resource>… or /apis/<group>/<version>/<resource>…: deeper than any discovery document. */
function isResourcePath(path: string): boolean {
  const segments = path.split('/').filter((p) => p !== '');
  return (segments[0] === 'api' && segments.length >= 3) || (segments[0] === 'apis' && segments.length >= 4);
}
