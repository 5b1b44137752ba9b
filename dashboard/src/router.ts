// Client-side routes under /ui/ (the API server answers any of them with index.html), on the
// History API so every view has a real, shareable URL.
import { useEffect, useState } from 'preact/hooks';

export const BASE = '/ui/';

export type Route =
  | { view: 'overview' }
  | { view: 'nodes'; node?: string }
  | { view: 'pods'; namespace?: string; name?: string }
  | { view: 'events' };

export function parseRoute(pathname: string): Route {
  const parts = pathname.startsWith(BASE) ? pathname.slice(BASE.length).split('/').filter((p) => p !== '').map(decodeURIComponent) : [];
  switch (parts[0]) {
    case 'nodes':
      return parts[1] ? { view: 'nodes', node: parts[1] } : { view: 'nodes' };
    case 'pods':
      return parts[1] && parts[2] ? { view: 'pods', namespace: parts[1], name: parts[2] } : { view: 'pods' };
    case 'events':
      return { view: 'events' };
    default:
      return { view: 'overview' };
  }
}

export function href(...parts: string[]): string {
  return BASE + parts.map(encodeURIComponent).join('/');
}

const listeners = new Set<() => void>();

export function navigate(to: string): void {
  if (to === location.pathname) return;
  history.pushState(null, '', to);
  for (const fn of listeners) fn();
}

export function useRoute(): Route {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const update = () => setPath(location.pathname);
    listeners.add(update);
    addEventListener('popstate', update);
    return () => {
      listeners.delete(update);
      removeEventListener('popstate', update);
    };
  }, []);
  return parseRoute(path);
}

/** Click handler for in-app links: route without a page load; modified clicks open tabs as usual. */
export function follow(e: MouseEvent): void {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = (e.currentTarget as HTMLAnchorElement | null);
  if (!a) return;
  e.preventDefault();
  navigate(a.pathname);
}
