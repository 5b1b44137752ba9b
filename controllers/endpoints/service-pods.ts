// Which pods stand behind a Service and on which ports — what both the endpoints and the
// endpointslice controllers publish, each in its own shape.
import type { Pod } from '../../shared/api/core.js';
import { targetPortOf, type EndpointPort, type Service } from '../../shared/api/service.js';
import { labelSelectorFromSpec } from '../../shared/labels.js';
import { isPodReady } from '../replicaset/pods.js';

export function selects(svc: Service, pod: Pod): boolean {
  const selector = svc.spec.selector;
  return selector !== undefined && labelSelectorFromSpec({ matchLabels: selector }).matches(pod.metadata.labels ?? {});
}

/** The pod's port for one Service port: the number itself, or the container port of that name. */
function podPort(pod: Pod, target: number | string): number | undefined {
  if (typeof target === 'number') return target;
  for (const c of pod.spec.containers) for (const p of c.ports ?? []) if (p.name === target) return p.containerPort;
  return undefined;
}

/** One pod behind a Service. */
export interface ServingPod {
  pod: Pod;
  ip: string;
  /** The Service's ports as this pod serves them (a named targetPort resolved against its containers). */
  ports: EndpointPort[];
  ready: boolean;
  terminating: boolean;
}

/**
 * The Service's selected pods with an address that have not finished, terminating ones included
 * (the endpoints controller leaves those out unless not-ready addresses are published), and each
 * one's ports; a pod serving none of the Service's ports is left out.
 */
export function servingPods(svc: Service, pods: readonly Pod[]): ServingPod[] {
  const out: ServingPod[] = [];
  for (const pod of pods) {
    if (!pod.status.podIP || pod.status.phase === 'Succeeded' || pod.status.phase === 'Failed' || !selects(svc, pod)) continue;
    const ports: EndpointPort[] = [];
    for (const sp of svc.spec.ports ?? []) {
      const port = podPort(pod, targetPortOf(sp));
      if (port === undefined) continue;
      ports.push({ ...(sp.name ? { name: sp.name } : {}), port, protocol: sp.protocol, ...(sp.appProtocol ? { appProtocol: sp.appProtocol } : {}) });
    }
    if ((svc.spec.ports ?? []).length > 0 && ports.length === 0) continue;
    out.push({ pod, ip: pod.status.podIP, ports, ready: isPodReady(pod), terminating: pod.metadata.deletionTimestamp !== undefined });
  }
  return out;
}

/** Groups by the ports served, in a stable order (the key is the ports' JSON). */
export function byPorts(serving: readonly ServingPod[]): [string, ServingPod[]][] {
  const groups = new Map<string, ServingPod[]>();
  for (const s of serving) {
    const key = JSON.stringify(s.ports);
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  return [...groups.entries()].sort(([a], [b]) => a.localeCompare(b));
}

export function serviceKeyOf(o: { metadata: { namespace?: string; name?: string } }): string {
  return `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;
}
