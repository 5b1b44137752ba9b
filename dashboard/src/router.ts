// Client-side routes under /ui/ (the API server answers any of them with index.html), on the
// History API so every view has a real, shareable URL (filters ride in the query string).
import { useEffect, useState } from 'preact/hooks';
import { SCALABLE_KINDS, type ScalableKind } from './autoscaler-summary.js';

export const BASE = '/ui/';

export type Route =
  | { view: 'overview' }
  | { view: 'nodes'; node?: string }
  | { view: 'pods'; namespace?: string; name?: string; selector?: string }
  | { view: 'workloads'; workload?: WorkloadRef }
  | { view: 'services' }
  | { view: 'events' };

/**
 * One workload with a detail view: the kinds an autoscaler can scale, whose detail shows the
 * autoscaler that scales it.
 */
export interface WorkloadRef {
  kind: ScalableKind;
  namespace: string;
  name: string;
}

/** Each detail kind's path segment: its resource, as in the API's paths. */
const WORKLOAD_SEGMENTS: Record<ScalableKind, string> = { Deployment: 'deployments', StatefulSet: 'statefulsets', ReplicaSet: 'replicasets' };

/** A workload's detail view: /ui/workloads/deployments/shop/web. */
export function workloadHref(w: WorkloadRef): string {
  return href('workloads', WORKLOAD_SEGMENTS[w.kind], w.namespace, w.name);
}

function workloadRoute(segment: string | undefined, namespace: string | undefined, name: string | undefined): Route {
  const kind = SCALABLE_KINDS.find((k) => WORKLOAD_SEGMENTS[k] === segment);
  return kind && namespace && name ? { view: 'workloads', workload: { kind, namespace, name } } : { view: 'workloads' };
}

/** The Pods view narrowed to one namespace and a label selector (a workload's pods). */
export function podsHref(filter: { namespace?: string; selector?: string }): string {
  const q = new URLSearchParams();
  if (filter.namespace) q.set('namespace', filter.namespace);
  if (filter.selector) q.set('selector', filter.selector);
  const query = q.toString();
  return href('pods') + (query ? `?${query}` : '');
}

export function parseRoute(pathname: string, search = ''): Route {
  const parts = pathname.startsWith(BASE) ? pathname.slice(BASE.length).split('/').filter((p) => p !== '').map(decodeURIComponent) : [];
  switch (parts[0]) {
    case 'nodes':
      return parts[1] ? { view: 'nodes', node: parts[1] } : { view: 'nodes' };
    case 'pods':
      if (parts[1] && parts[2]) return { view: 'pods', namespace: parts[1], name: parts[2] };
      return podsFilter(new URLSearchParams(search));
    case 'workloads':
      return workloadRoute(parts[1], parts[2], parts[3]);
    case 'services':
      return { view: 'services' };
    case 'events':
      return { view: 'events' };
    default:
      return { view: 'overview' };
  }
}

function podsFilter(q: URLSearchParams): Route {
  const namespace = q.get('namespace');
  const selector = q.get('selector');
  return { view: 'pods', ...(namespace ? { namespace } : {}), ...(selector ? { selector } : {}) };
}

export function href(...parts: string[]): string {
  return BASE + parts.map(encodeURIComponent).join('/');
}

const listeners = new Set<() => void>();

function here(): string {
  return location.pathname + location.search;
}

export function navigate(to: string): void {
  if (to === here()) return;
  history.pushState(null, '', to);
  for (const fn of listeners) fn();
}

/** Like navigate, without a new history entry: a view's filters kept in its URL as they change. */
export function replace(to: string): void {
  if (to === here()) return;
  history.replaceState(null, '', to);
  for (const fn of listeners) fn();
}

export function useRoute(): Route {
  const [path, setPath] = useState(here());
  useEffect(() => {
    const update = () => setPath(here());
    listeners.add(update);
    addEventListener('popstate', update);
    return () => {
      listeners.delete(update);
      removeEventListener('popstate', update);
    };
  }, []);
  const q = path.indexOf('?');
  return q < 0 ? parseRoute(path) : parseRoute(path.slice(0, q), path.slice(q));
}

/** Click handler for in-app links: route without a page load; modified clicks open tabs as usual. */
export function follow(e: MouseEvent): void {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = (e.currentTarget as HTMLAnchorElement | null);
  if (!a) return;
  e.preventDefault();
  navigate(a.pathname + a.search);
}
