// Kubernetes resource URLs → what they address:
//   /api/v1/{resource}[/{name}[/{subresource}]]
//   /api/v1/namespaces/{ns}/{resource}[/{name}[/{subresource}]]
//   /apis/{group}/{version}/... (the same shapes)
import { BadRequestError, NotFoundError } from '../../shared/errors.js';

export interface ResourcePath {
  group: string;
  version: string;
  resource: string;
  namespace?: string;
  name?: string;
  subresource?: string;
}

/** Subresources of the namespace object itself (`/api/v1/namespaces/{name}/status`). */
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

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

/** Parse a resource path; undefined when it is not one (discovery and others are routed elsewhere). */
export function parseResourcePath(pathname: string): ResourcePath | undefined {
  const raw = pathname.split('/').slice(1);
  if (raw.length > 0 && raw[raw.length - 1] === '') raw.pop(); // tolerate a trailing slash
  let group: string;
  let version: string;
  let rest: string[];
  if (raw[0] === 'api' && raw.length >= 3) {
    group = '';
    version = raw[1]!;
    rest = raw.slice(2);
  } else if (raw[0] === 'apis' && raw.length >= 4) {
    group = raw[1]!;
    version = raw[2]!;
    rest = raw.slice(3);
  } else {
    return undefined;
  }
  const segs = rest.map(decodeSegment);
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
