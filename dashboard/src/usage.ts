// Measured use from the metrics API (metrics.k8s.io, what `kubectl top` reads). It cannot be
// watched — the agents sample every few seconds — so a view that shows it asks again every
// REFRESH_MS, or sooner while a running pod it shows has no figure yet (usage-asks.ts). Nodes
// without samples (hollow nodes) and users RBAC does not let read it simply get no figures.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { NodeMetrics, PodMetrics } from '../../shared/api/metrics.js';
import { ApiError, getJson } from './api.js';
import { qty } from './cluster.js';
import { lacksFigure, nextAskDelay, podUsageKey } from './usage-asks.js';

const BASE = '/apis/metrics.k8s.io/v1beta1';

/** CPU in cores and memory in bytes. */
export interface Used {
  cpu: number;
  memory: number;
}

function used(u: { cpu: string; memory: string }): Used {
  return { cpu: qty(u.cpu), memory: qty(u.memory) };
}

/** One answer of the metrics API, and for which path: a node's page may be swapped for another's. */
interface Answer<T> {
  path: string;
  /** undefined: no figure to give (404, 403, or the ask failed). */
  value: T | undefined;
  /** Date.now() when it came: the next ask is timed from here. */
  at: number;
}

/**
 * Polls `path` while mounted; undefined until an answer, and when there is none to give. After
 * each answer the next ask is timed by nextAskDelay, `waitingFor(value)` saying whether the
 * answer lacks a figure the view shows.
 *
 * The request and the timer are kept apart on purpose: the request belongs to the path (aborted
 * only when the path changes or the view goes), the timer to the latest answer and `waiting`.
 * What `waiting` depends on (the pods shown) changes on every pod event; were it in the request's
 * effect, each change would abort the ask in flight and the page could go without an answer.
 */
function usePolled<T>(path: string, pick: (body: unknown) => T | undefined, waitingFor: (value: T) => boolean = () => false): T | undefined {
  const [answer, setAnswer] = useState<Answer<T> | undefined>(undefined);
  const current = answer?.path === path ? answer : undefined;
  const waiting = current?.value !== undefined && waitingFor(current.value);
  /** Asks for the path now mounted; unset once it is left. */
  const ask = useRef<(() => void) | undefined>(undefined);
  /** Asks made while waiting, this visit: nextAskDelay's count. */
  const soonAsks = useRef(0);
  /** The answer after which the timer last fired: no second ask until the next answer comes. */
  const askedAfter = useRef<Answer<T> | undefined>(undefined);

  useEffect(() => {
    const abort = new AbortController();
    soonAsks.current = 0;
    const run = async () => {
      let value: T | undefined;
      try {
        value = pick(await getJson<unknown>(path, abort.signal));
      } catch (err) {
        if (abort.signal.aborted) return;
        // 404: no sample for it (yet); 403: not this user's to read. Anything else is worth a note.
        if (!(err instanceof ApiError && (err.code === 404 || err.code === 403))) console.info('metrics API', path, err);
        value = undefined;
      }
      if (!abort.signal.aborted) setAnswer({ path, value, at: Date.now() });
    };
    ask.current = () => void run();
    void run();
    return () => {
      abort.abort();
      ask.current = undefined;
    };
  }, [path]);

  // Re-armed on each answer and whenever `waiting` flips (the pods shown arrive after the first
  // answer, or a pod starts running), always timed from the latest answer.
  useEffect(() => {
    if (!current || askedAfter.current === current) return;
    const timer = setTimeout(
      () => {
        askedAfter.current = current;
        if (waiting) soonAsks.current++;
        ask.current?.();
      },
      Math.max(0, current.at + nextAskDelay(waiting, soonAsks.current) - Date.now()),
    );
    return () => clearTimeout(timer);
  }, [current, waiting]);

  return current?.value;
}

/** What a node uses, or undefined. */
export function useNodeUsage(name: string): Used | undefined {
  return usePolled(`${BASE}/nodes/${encodeURIComponent(name)}`, (body) => used((body as NodeMetrics).usage));
}

/**
 * What each pod on a node uses (its containers summed), by podUsageKey. `running`: the keys of the
 * Running pods the view shows, asked for again soon while any of them has no figure.
 */
export function usePodUsageOn(node: string, running: readonly string[]): Map<string, Used> | undefined {
  return usePolled(
    `${BASE}/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${node}`)}`,
    (body) => {
      const out = new Map<string, Used>();
      for (const m of (body as { items: PodMetrics[] }).items) {
        const sum = m.containers.map((c) => used(c.usage)).reduce((a, b) => ({ cpu: a.cpu + b.cpu, memory: a.memory + b.memory }), { cpu: 0, memory: 0 });
        out.set(podUsageKey(m.metadata), sum);
      }
      return out;
    },
    (figures) => lacksFigure(running, figures),
  );
}
