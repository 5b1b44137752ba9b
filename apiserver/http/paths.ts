// Request paths → what serves them. `classifyPath` is the one place a path is classified: the
// request pipeline dispatches on its answer, and non-resource authorization follows it too.
//
// Kubernetes resource URLs:
//   /api/v1/{resource}[/{name}[/{subresource}]]
//   /api/v1/namespaces/{ns}/{resource}[/{name}[/{subresource}]]
//   /apis/{group}/{version}/... (the same shapes)
// Anything shallower (/api, /api/v1, /apis/{group}/{version}) is discovery, a non-resource path.
import { BadRequestError, CellError, NotFoundError } from '../../shared/errors.js';
import { isDashboardPath } from './dashboard.js';

export interface ResourcePath {
  group: string;
  version: string;
  resource: string;
  namespace?: string;
  name?: string;
  subresource?: string;
}

/**
 * How a non-resource path is authorized: `public` ones need no credentials (health and version,
 * as in Kubernetes), `handler` ones are authorized by their handler as a resource verb (/audit is
 * a read of nodeallocations), the rest by RBAC `nonResourceURLs` rules.
 */
export type NonResourceAccess = 'public' | 'handler' | 'nonResourceURL';

export type PathClass =
  /** The dashboard's static files: public, they hold no cluster data. */
  | { kind: 'dashboard' }
  /** A resource URL, for the resource router. */
  | { kind: 'resource'; path: ResourcePath }
  /** A resource URL whose segments address nothing (`..`, a bad escape): answered with `error` once authenticated. */
  | { kind: 'malformedResource'; error: CellError }
  /** Health, version, metrics, discovery, OpenAPI, /audit — or nothing (404). */
  | { kind: 'nonResource'; access: NonResourceAccess };

const PUBLIC_PATHS = new Set(['/livez', '/readyz', '/healthz', '/version']);
const HANDLER_AUTHORIZED_PATHS = new Set(['/audit']);

/** Subresources of the namespace object itself (`/api/v1/namespaces/{name}/status`). */
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

/**
 * Classifies a path exactly as sent (before `?`, not normalized: resolving `..` or `%2e%2e` would
 * let a request address another scope than the one it names, so such segments are refused here).
 */
export function classifyPath(pathname: string): PathClass {
  if (isDashboardPath(pathname)) return { kind: 'dashboard' };
  const raw = pathname.split('/').slice(1);
  if (raw.length > 0 && raw[raw.length - 1] === '') raw.pop(); // tolerate a trailing slash
  if (raw[0] === 'api' && raw.length >= 3) return resourceClass('', raw[1]!, raw.slice(2));
  if (raw[0] === 'apis' && raw.length >= 4) return resourceClass(raw[1]!, raw[2]!, raw.slice(3));
  if (PUBLIC_PATHS.has(pathname)) return { kind: 'nonResource', access: 'public' };
  if (HANDLER_AUTHORIZED_PATHS.has(pathname)) return { kind: 'nonResource', access: 'handler' };
  return { kind: 'nonResource', access: 'nonResourceURL' };
}

function resourceClass(group: string, version: string, rest: string[]): PathClass {
  try {
    return { kind: 'resource', path: resourcePath(group, version, rest.map(decodeSegment)) };
  } catch (err) {
    if (err instanceof CellError) return { kind: 'malformedResource', error: err };
    throw err;
  }
}

function decodeSegment(seg: string): string {
  let s: string;
  try {
    s = decodeURIComponent(seg);
  } catch {
    throw new BadRequestError(`malformed path segment "${seg}"`);
  }
  if (s === '' || s === '.' || s === '..' || s.includes('/') || s.includes('\0')) {
    throw new NotFoundError(`the server could not find the requested resource`);
  }
  return s;
}

function resourcePath(group: string, version: string, segs: string[]): ResourcePath {
  if (segs.length > 5) throw new NotFoundError('the server could not find the requested resource');
  if (segs[0] === 'namespaces' && segs.length >= 3 && !(segs.length === 3 && NAMESPACE_SUBRESOURCES.has(segs[2]!))) {
    const [, namespace, resource, name, subresource] = segs;
    const p: ResourcePath = { group, version, resource: resource!, namespace: namespace! };
    if (name !== undefined) p.name = name;
    if (subresource !== undefined) p.subresource = subresource;
    return p;
  }
  if (segs.length > 3) throw new NotFoundError('the server could not find the requested resource');
  const [resource, name, subresource] = segs;
  const p: ResourcePath = { group, version, resource: resource! };
  if (name !== undefined) p.name = name;
  if (subresource !== undefined) p.subresource = subresource;
  return p;
}
