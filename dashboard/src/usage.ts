// Measured use from the metrics API (metrics.k8s.io, what `kubectl top` reads). It cannot be
// watched — the agents sample every few seconds — so a view that shows it asks again every
// REFRESH_MS. Nodes without samples (hollow nodes) and users RBAC does not let read it simply
// get no figures.
import { useEffect, useState } from 'preact/hooks';
import type { NodeMetrics, PodMetrics } from '../../shared/api/metrics.js';
import { ApiError, getJson } from './api.js';
import { qty } from './cluster.js';

const REFRESH_MS = 10_000;
const BASE = '/apis/metrics.k8s.io/v1beta1';

/** CPU in cores and memory in bytes. */
export interface Used {
  cpu: number;
  memory: number;
}

function used(u: { cpu: string; memory: string }): Used {
  return { cpu: qty(u.cpu), memory: qty(u.memory) };
}

/** Polls `path` while mounted; undefined until an answer, and when there is none to give. */
function usePolled<T>(path: string, pick: (body: unknown) => T | undefined): T | undefined {
  const [value, setValue] = useState<T | undefined>(undefined);
  useEffect(() => {
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        setValue(pick(await getJson<unknown>(path, abort.signal)));
      } catch (err) {
        if (abort.signal.aborted) return;
        // 404: no sample for it (yet); 403: not this user's to read. Anything else is worth a note.
        if (!(err instanceof ApiError && (err.code === 404 || err.code === 403))) console.info('metrics API', path, err);
        setValue(undefined);
      }
      if (!abort.signal.aborted) timer = setTimeout(() => void poll(), REFRESH_MS);
    };
    void poll();
    return () => {
      abort.abort();
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [path]);
  return value;
}

/** What a node uses, or undefined. */
export function useNodeUsage(name: string): Used | undefined {
  return usePolled(`${BASE}/nodes/${encodeURIComponent(name)}`, (body) => used((body as NodeMetrics).usage));
}

/** What each pod on a node uses (its containers summed), by namespace/name. */
export function usePodUsageOn(node: string): Map<string, Used> | undefined {
  return usePolled(`${BASE}/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${node}`)}`, (body) => {
    const out = new Map<string, Used>();
    for (const m of (body as { items: PodMetrics[] }).items) {
      const sum = m.containers.map((c) => used(c.usage)).reduce((a, b) => ({ cpu: a.cpu + b.cpu, memory: a.memory + b.memory }), { cpu: 0, memory: 0 });
      out.set(`${m.metadata.namespace ?? ''}/${m.metadata.name ?? ''}`, sum);
    }
    return out;
  });
}
