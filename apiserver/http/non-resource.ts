// The non-resource endpoints, on a small express app: health (/livez, /healthz, /readyz: health.ts),
// /version, /metrics, discovery (/api, /apis, /api/v1, /apis/{group}[/{version}]) and the OpenAPI
// documents. Resource kinds may add their own (placement adds /audit); `finish()` adds the 404
// for every path none of them serves. The request pipeline has authenticated and authorized each
// request before it arrives here (public paths need neither).
import express, { type Express, type Request, type Response } from 'express';
import { NotFoundError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logging.js';
import { DESCRIBED_RESOURCES, type ResourceInfo } from '../../shared/api/registry.js';
import type { ApiServerMetrics } from '../metrics.js';
import { installOpenApi } from '../openapi/routes.js';
import { apiGroup, apiGroupList, apiResourceList, apiVersions, SERVER_VERSION, type HandledGroup } from './discovery.js';
import { installHealthEndpoints, type HealthEndpoints } from './health.js';
import type { ServedResource } from './resources.js';
import { sendError } from './status.js';

export interface NonResourceDeps {
  log: Logger;
  metrics: ApiServerMetrics;
  /** The resources discovery lists: every group/version/resource served (ResourceTable.discovered). */
  discovered(): readonly ServedResource[];
  /** The checks behind /livez and /readyz. */
  health: HealthEndpoints;
  /** Groups served by handlers of their own (the metrics API), listed by discovery too. */
  handledGroups: readonly HandledGroup[];
  /** The custom resources served now, for the OpenAPI documents (the same array until they change). */
  customResources(): readonly ResourceInfo[];
}

export interface NonResourceEndpoints {
  /** The express app: routes added here are served (after the pipeline authorized the request). */
  readonly app: Express;
  /** Adds the 404 for paths no route serves; call once every route is in. */
  finish(): void;
}

export function createNonResourceEndpoints(d: NonResourceDeps): NonResourceEndpoints {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const notFound = (res: Response) => sendError(res, new NotFoundError('the server could not find the requested resource'), d.log);

  installHealthEndpoints(app, d.health, d.log);
  app.get('/version', (_req, res) => res.json(SERVER_VERSION));
  // For operators and monitoring (RBAC grants it to admins, viewers and schedulers, not any token).
  app.get('/metrics', async (_req, res) => {
    res.type(d.metrics.registry.contentType).send(await d.metrics.registry.metrics());
  });

  const all = () => [...d.discovered()];
  app.get(['/api', '/api/'], (_req, res) => res.json(apiVersions()));
  app.get(['/apis', '/apis/'], (_req, res) => res.json(apiGroupList(all(), d.handledGroups)));
  app.get('/api/:version', (req: Request, res) => {
    const list = apiResourceList(all(), '', String(req.params.version));
    if (list) res.json(list);
    else notFound(res);
  });
  app.get('/apis/:group', (req: Request, res) => {
    const g = apiGroup(all(), String(req.params.group), d.handledGroups);
    if (g) res.json(g);
    else notFound(res);
  });
  app.get('/apis/:group/:version', (req: Request, res) => {
    const list = apiResourceList(all(), String(req.params.group), String(req.params.version), d.handledGroups);
    if (list) res.json(list);
    else notFound(res);
  });
  // /openapi/v2 and /openapi/v3, from the resource table's schemas (and the metrics API's, served
  // from the agents' samples), and the custom resources' own.
  let described: readonly ResourceInfo[] = DESCRIBED_RESOURCES;
  let describedCustom: readonly ResourceInfo[] = [];
  installOpenApi(
    app,
    () => {
      const custom = d.customResources();
      if (custom !== describedCustom) {
        describedCustom = custom;
        described = [...DESCRIBED_RESOURCES, ...custom];
      }
      return described;
    },
    SERVER_VERSION.gitVersion,
    d.log,
  );

  return {
    app,
    finish: () => {
      app.use((_req: Request, res: Response) => notFound(res));
    },
  };
}
