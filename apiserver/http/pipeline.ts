// Every request's way through the server, top to bottom:
//   1. an id (the Audit-Id header), the request metrics and the access log, on its response;
//   2. ONE classification of its path (paths.ts): dashboard, resource, or non-resource;
//   3. public paths (the dashboard's files, health, version) are served at once;
//   4. the in-flight limit (429) and the request's deadline (504);
//   5. authentication (401);
//   6. its handler: the resource router (which authorizes the resource verb), or — authorized by
//      RBAC nonResourceURLs unless its handler authorizes it — a non-resource endpoint, or 404.
// Resource requests, the hot path, run on Node's own request and response objects.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TooManyRequestsError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logging.js';
import type { Authorizer } from '../auth/authorizer.js';
import type { UserInfo } from '../auth/tokens.js';
import type { ApiServerMetrics } from '../metrics.js';
import { pairResponse } from './body.js';
import type { DashboardHandler } from './dashboard.js';
import { RequestDeadlines } from './deadline.js';
import { beginExchange, type Exchange } from './exchange.js';
import { InflightLimiter } from './inflight.js';
import { classifyPath } from './paths.js';
import type { ResourceRouter } from './resources.js';
import { sendError } from './status.js';

export interface RequestPipelineDeps {
  log: Logger;
  metrics: ApiServerMetrics;
  /** Non-watch requests served at once; more are refused with 429 (0 = no limit). */
  maxRequestsInflight: number;
  /** Deadline of every request that is not long-running; 0 = none. */
  requestTimeoutMs: number;
  /** Who sent the request; throws UnauthorizedError for bad credentials. */
  authenticate(req: IncomingMessage): UserInfo;
  authorizer: Authorizer;
  router: ResourceRouter;
  /** The non-resource endpoints (non-resource.ts); they answer 404 for paths they do not serve. */
  nonResource(req: IncomingMessage, res: ServerResponse): void;
  dashboard: DashboardHandler;
}

export interface RequestPipeline {
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** Stops the deadline sweep (at shutdown). */
  stop(): void;
}

export function createRequestPipeline(d: RequestPipelineDeps): RequestPipeline {
  const { log, metrics } = d;
  const inflight = new InflightLimiter(d.maxRequestsInflight, metrics.inflight);
  const deadlines = new RequestDeadlines(d.requestTimeoutMs, log, () => metrics.requestTimeouts.inc());

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const exchange = beginExchange(res, randomUUID());
    pairResponse(req, res);
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q >= 0 ? url.slice(0, q) : url;
    observe(req, res, exchange, path, metrics, log);

    const target = classifyPath(path);
    if (target.kind === 'dashboard') {
      void d.dashboard.handle(req, res, path);
      return;
    }
    if (target.kind === 'nonResource' && target.access === 'public') {
      d.nonResource(req, res);
      return;
    }

    if (!inflight.admit(res)) {
      sendError(res, new TooManyRequestsError('Too many requests, please try again later.', 1), log);
      return;
    }
    if (!deadlines.arm(req, res)) return;
    let user: UserInfo;
    try {
      user = d.authenticate(req);
    } catch (err) {
      sendError(res, err, log);
      return;
    }
    exchange.user = user;

    switch (target.kind) {
      case 'resource':
        void d.router.serve(req, res, user, target.path);
        return;
      case 'malformedResource':
        sendError(res, target.error, log);
        return;
      case 'nonResource':
        if (target.access === 'nonResourceURL') {
          try {
            // HEAD is a GET without the body.
            d.authorizer.authorizeNonResource(user, req.method === 'HEAD' ? 'get' : (req.method ?? 'GET').toLowerCase(), path);
          } catch (err) {
            sendError(res, err, log);
            return;
          }
        }
        d.nonResource(req, res);
        return;
    }
  };

  return { handle, stop: () => deadlines.stop() };
}

/** The request metrics and the access log, once the response is out. */
function observe(req: IncomingMessage, res: ServerResponse, exchange: Exchange, path: string, metrics: ApiServerMetrics, log: Logger): void {
  const start = process.hrtime.bigint();
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
}
