// The cluster's HorizontalPodAutoscalers (or one namespace's), listed again every
// AUTOSCALER_POLL_MS while a view shows them and the tab is visible: a poll, not a watch, on
// purpose. The page speaks HTTP/1.1, where Chromium opens at most six connections to an origin, and
// each watch keeps one for as long as it runs (live.ts). The Workloads page already holds five
// watches; a sixth would take the last connection, and every other request — this list, the
// metrics API, a pod's log — would queue behind watches that never end. A list borrows a
// connection for a few milliseconds and gives it back. An autoscaler's status changes at most once
// per sync period (15 s by default), so a list every 5 s misses nothing a watch would show; while
// the tab is hidden nobody reads it, so the asking pauses, and resumes at once when it is shown.
import { useEffect, useState } from 'preact/hooks';
import type { HorizontalPodAutoscaler } from '../../shared/api/autoscaling.js';
import { ApiError, getJson } from './api.js';
import { AUTOSCALER_POLL_MS, sameAutoscalers } from './autoscaler-summary.js';
import { byName } from './cluster.js';

/**
 * live: the latest list answered; retrying: the latest ask failed (items are the last list seen,
 * asked again in AUTOSCALER_POLL_MS); failed: not allowed, or not served — asking again will not
 * change the answer.
 */
export type AutoscalersState = 'loading' | 'live' | 'retrying' | 'failed';

export interface Autoscalers {
  /** By namespace/name; undefined until a list has come. */
  items: HorizontalPodAutoscaler[] | undefined;
  state: AutoscalersState;
  error: string | undefined;
}

const BASE = '/apis/autoscaling/v2';

function collectionPath(namespace: string | undefined): string {
  return namespace === undefined ? `${BASE}/horizontalpodautoscalers` : `${BASE}/namespaces/${encodeURIComponent(namespace)}/horizontalpodautoscalers`;
}

function keyOf(h: HorizontalPodAutoscaler): string {
  return `${h.metadata.namespace ?? ''}/${h.metadata.name ?? ''}`;
}

const LOADING: Autoscalers = { items: undefined, state: 'loading', error: undefined };

/** The autoscalers of `namespace` (all of them when undefined), listed while the calling view is mounted. */
export function useAutoscalers(namespace?: string): Autoscalers {
  const path = collectionPath(namespace);
  const [shown, setShown] = useState<{ path: string; value: Autoscalers }>({ path, value: LOADING });

  useEffect(() => {
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let items: HorizontalPodAutoscaler[] | undefined;
    let answeredAt = 0;
    let asking = false;
    let done = false;

    // The next ask, timed from the latest answer; none while the tab is hidden (onVisibility asks
    // once it is shown), while an ask is out, or once asking is pointless.
    const schedule = () => {
      if (done || asking || timer !== undefined || abort.signal.aborted || document.hidden) return;
      timer = setTimeout(() => void ask(), Math.max(0, answeredAt + AUTOSCALER_POLL_MS - Date.now()));
    };

    const ask = async () => {
      timer = undefined;
      asking = true;
      let next: Autoscalers;
      try {
        // Unpaged: autoscalers are one per scaled workload, a few hundred at the very most.
        const body = await getJson<{ items?: HorizontalPodAutoscaler[] }>(path, abort.signal);
        const fresh = (body.items ?? []).sort((a, b) => byName(keyOf(a), keyOf(b)));
        // The same autoscalers at the same revisions: keep the old array, so nothing re-renders.
        if (!sameAutoscalers(items, fresh)) items = fresh;
        next = { items, state: 'live', error: undefined };
      } catch (err) {
        if (abort.signal.aborted) return;
        const message = err instanceof Error ? err.message : String(err);
        // 403: RBAC does not let this user list them; 404: this server does not serve them.
        // (A 401 has already ended the session, in api.ts.)
        done = err instanceof ApiError && (err.code === 401 || err.code === 403 || err.code === 404);
        next = { items, state: done ? 'failed' : 'retrying', error: message };
      }
      asking = false;
      answeredAt = Date.now();
      // Handing Preact the state it holds skips the render: a list that changed nothing costs none.
      setShown((prev) => (prev.path === path && prev.value.items === next.items && prev.value.state === next.state && prev.value.error === next.error ? prev : { path, value: next }));
      schedule();
    };

    const onVisibility = () => {
      if (!document.hidden) {
        schedule();
        return;
      }
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    };

    document.addEventListener('visibilitychange', onVisibility);
    void ask();
    return () => {
      abort.abort();
      if (timer !== undefined) clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }, [path]);

  return shown.path === path ? shown.value : LOADING;
}
