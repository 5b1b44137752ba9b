// A pod workload that makes multi-object etcd revisions on purpose, for watch and resourceVersion
// tests: concurrent writers, each round creating five pods at once (group-committed with the
// other writers' creates), binding them with one Placement (one transaction), patching two and
// force-deleting three. Over plain HTTP, as every client does.

export interface PodChurnOptions {
  /** API server URL (straight to the server, not through a test proxy). */
  url: string;
  namespace: string;
  /** Nodes that exist and have room for 5 × 1m CPU pods per round. */
  nodes: string[];
  writers: number;
  rounds: number;
  /** Name prefix, so several churns can share a namespace. */
  prefix?: string;
}

/** Pod writes (watch events) one round of one writer makes. */
export const WRITES_PER_ROUND = 15;

async function send(url: string, method: string, path: string, body: unknown, contentType = 'application/json'): Promise<void> {
  const res = await fetch(`${url}${path}`, { method, headers: { 'content-type': contentType }, body: body === undefined ? null : JSON.stringify(body) });
  const text = await res.text();
  if (res.status !== 200 && res.status !== 201) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
  if (path.includes('/placements')) {
    const bound = (JSON.parse(text) as { status?: { bound?: number } }).status?.bound;
    if (bound !== 5) throw new Error(`placement bound ${bound ?? 'nothing'} of 5: ${text.slice(0, 300)}`);
  }
}

function pod(name: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: { containers: [{ name: 'main', image: 'busybox', command: ['sleep', '3600'], resources: { requests: { cpu: '1m', memory: '1Mi' } } }] },
  };
}

/** Runs the churn; resolves with the number of pod writes made (writers × rounds × WRITES_PER_ROUND). */
export async function podChurn(o: PodChurnOptions): Promise<number> {
  const base = `/api/v1/namespaces/${o.namespace}/pods`;
  const writer = async (id: number): Promise<number> => {
    let writes = 0;
    for (let r = 0; r < o.rounds; r++) {
      const names = Array.from({ length: 5 }, (_, i) => `${o.prefix ?? ''}w${id}-r${r}-p${i}`);
      await Promise.all(names.map((n) => send(o.url, 'POST', base, pod(n))));
      await send(o.url, 'POST', '/apis/scheduling.cell.dev/v1alpha1/placements', {
        apiVersion: 'scheduling.cell.dev/v1alpha1',
        kind: 'Placement',
        metadata: {},
        spec: {
          mode: r % 2 === 0 ? 'AllOrNothing' : 'Incremental',
          bindings: names.map((podName) => ({ podNamespace: o.namespace, podName, nodeName: o.nodes[(id + r) % o.nodes.length]! })),
        },
      });
      await Promise.all(names.slice(0, 2).map((n) => send(o.url, 'PATCH', `${base}/${n}`, { metadata: { labels: { round: String(r) } } }, 'application/merge-patch+json')));
      // Bound pods are deleted gracefully (they would stay, marked): force them out at once.
      await Promise.all(names.slice(2).map((n) => send(o.url, 'DELETE', `${base}/${n}?gracePeriodSeconds=0`, undefined)));
      writes += WRITES_PER_ROUND;
    }
    return writes;
  };
  const counts = await Promise.all(Array.from({ length: o.writers }, (_, i) => writer(i)));
  return counts.reduce((a, b) => a + b, 0);
}
