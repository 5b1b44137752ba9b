// The endpointslice controller (Kubernetes' of the same name): every selector Service has
// EndpointSlices (discovery.k8s.io/v1) holding its pods, at most 100 to a slice, one set of slices
// per set of ports served — each endpoint with its conditions: ready, serving (ready whether
// terminating or not), terminating. Slices are named `<service>-<random>`, labelled with the
// Service's name and this controller as their keeper, and owned by the Service (the garbage
// collector removes them with it; this controller does too). Slices are reused in name order, so
// a change rewrites as few as it can; written only when they change.
import { isDeepStrictEqual } from 'node:util';
import type { Pod } from '../../shared/api/core.js';
import {
  MANAGED_BY_CONTROLLER,
  MANAGED_BY_LABEL,
  MAX_ENDPOINTS_PER_SLICE,
  SERVICE_NAME_LABEL,
  type Endpoint,
  type EndpointSlice,
  type EndpointSlicePort,
} from '../../shared/api/endpoint-slice.js';
import { serviceType, type Service } from '../../shared/api/service.js';
import type { ResourceRef } from '../../shared/client/http-client.js';
import { NotFoundError } from '../../shared/errors.js';
import type { ControllerContext, ControllerDefinition } from '../controller.js';
import { ignoreOnly, ServiceBackendsController } from '../endpoints/service-backends.js';
import { byPorts, servingPods, type ServingPod } from '../endpoints/service-pods.js';

export const ENDPOINT_SLICE_CONTROLLER = 'endpointslice';
const SLICES: ResourceRef = { group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices' };

function endpointOf(s: ServingPod, publishNotReady: boolean): Endpoint {
  return {
    addresses: [s.ip],
    conditions: { ready: (s.ready || publishNotReady) && !s.terminating, serving: s.ready || publishNotReady, terminating: s.terminating },
    ...(s.pod.spec.nodeName ? { nodeName: s.pod.spec.nodeName } : {}),
    targetRef: { kind: 'Pod', namespace: s.pod.metadata.namespace ?? '', name: s.pod.metadata.name ?? '', uid: s.pod.metadata.uid ?? '' },
  };
}

/** What each slice should hold: endpoints (sorted) and ports, in a stable order. */
export function desiredSlices(svc: Service, pods: readonly Pod[]): { endpoints: Endpoint[]; ports: EndpointSlicePort[] }[] {
  const publishNotReady = svc.spec.publishNotReadyAddresses === true;
  const out: { endpoints: Endpoint[]; ports: EndpointSlicePort[] }[] = [];
  for (const [, group] of byPorts(servingPods(svc, pods))) {
    const endpoints = group.map((s) => endpointOf(s, publishNotReady)).sort((a, b) => (a.targetRef?.name ?? '').localeCompare(b.targetRef?.name ?? ''));
    const ports = group[0]!.ports.map((p) => ({ ...p }));
    for (let i = 0; i < endpoints.length; i += MAX_ENDPOINTS_PER_SLICE) out.push({ endpoints: endpoints.slice(i, i + MAX_ENDPOINTS_PER_SLICE), ports });
  }
  // A Service with no endpoints still has one (empty) slice with its ports, as in Kubernetes.
  if (out.length === 0) out.push({ endpoints: [], ports: (svc.spec.ports ?? []).map((p) => ({ ...(p.name ? { name: p.name } : {}), protocol: p.protocol })) });
  return out;
}

export class EndpointSliceController extends ServiceBackendsController<EndpointSlice> {
  /**
   * Slices this controller made that its informer has not shown yet, by Service: until it has, a
   * sync would count too few and make another (their names are generated). The informer's add
   * queues the Service again.
   */
  private readonly unseen = new Map<string, Set<string>>();

  constructor(ctx: ControllerContext) {
    super(ENDPOINT_SLICE_CONTROLLER, ctx, SLICES);
  }

  protected serviceOf(s: EndpointSlice): string | undefined {
    const name = s.metadata.labels?.[SERVICE_NAME_LABEL];
    return name !== undefined && s.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_CONTROLLER ? `${s.metadata.namespace ?? ''}/${name}` : undefined;
  }

  protected async sync(namespace: string, name: string, svc: Service | undefined, pods: readonly Pod[]): Promise<void> {
    const key = `${namespace}/${name}`;
    const waiting = this.unseen.get(key);
    if (waiting) {
      for (const n of waiting) if (this.published.get(namespace, n)) waiting.delete(n);
      if (waiting.size > 0) return;
      this.unseen.delete(key);
    }
    const mine = this.published
      .list()
      .filter((s) => s.metadata.namespace === namespace && this.serviceOf(s) === key)
      .sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
    const unwanted = svc === undefined || svc.spec.selector === undefined || serviceType(svc) === 'ExternalName';
    const wanted = unwanted ? [] : desiredSlices(svc, pods);
    const labels = { ...(svc?.metadata.labels ?? {}), [SERVICE_NAME_LABEL]: name, [MANAGED_BY_LABEL]: MANAGED_BY_CONTROLLER };
    for (const [i, want] of wanted.entries()) {
      const current = mine[i];
      if (!current) {
        const owner = { apiVersion: 'v1', kind: 'Service', name, uid: svc!.metadata.uid ?? '', controller: true, blockOwnerDeletion: true };
        const body = { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { generateName: `${name}-`, namespace, labels, ownerReferences: [owner] }, addressType: 'IPv4', ...want };
        const made = await this.client.create<EndpointSlice>({ ...SLICES, namespace }, body);
        this.unseen.set(key, new Set([...(this.unseen.get(key) ?? []), made.metadata.name ?? '']));
        continue;
      }
      if (isDeepStrictEqual(current.endpoints, want.endpoints) && isDeepStrictEqual(current.ports ?? [], want.ports) && isDeepStrictEqual(current.metadata.labels ?? {}, labels)) continue;
      // A stale resourceVersion is a 409: the queue retries once the informer has the newer one.
      await this.client.update({ ...SLICES, namespace, name: current.metadata.name ?? '' }, { ...current, metadata: { ...current.metadata, labels }, ...want });
    }
    for (const extra of mine.slice(wanted.length)) {
      await this.client.delete({ ...SLICES, namespace, name: extra.metadata.name ?? '' }).catch((err: unknown) => ignoreOnly(err, NotFoundError));
    }
  }
}

export const endpointSliceControllerDefinition: ControllerDefinition = {
  name: ENDPOINT_SLICE_CONTROLLER,
  create: (ctx) => new EndpointSliceController(ctx),
};
