// The endpoints controller (Kubernetes' of the same name): every Service with a selector has an
// Endpoints object of the same name listing its pods' addresses — ready ones in `addresses`, the
// others in `notReadyAddresses` (all in `addresses` with publishNotReadyAddresses) — grouped into
// subsets by the ports they serve, each Service port's targetPort resolved against the pod's
// container ports when it is a name. A Service without a selector keeps Endpoints written by hand;
// the Endpoints of a deleted Service go with it. Written only when they change.
import { isDeepStrictEqual } from 'node:util';
import type { Pod } from '../../shared/api/core.js';
import { serviceType, type EndpointAddress, type Endpoints, type EndpointSubset, type Service } from '../../shared/api/service.js';
import type { ResourceRef } from '../../shared/client/http-client.js';
import { AlreadyExistsError, NotFoundError } from '../../shared/errors.js';
import type { ControllerContext, ControllerDefinition } from '../controller.js';
import { ignoreOnly, ServiceBackendsController } from './service-backends.js';
import { byPorts, serviceKeyOf, servingPods } from './service-pods.js';

export const ENDPOINTS_CONTROLLER = 'endpoint';
const ENDPOINTS: ResourceRef = { version: 'v1', resource: 'endpoints' };

function byAddress(a: EndpointAddress, b: EndpointAddress): number {
  return a.ip.localeCompare(b.ip) || (a.targetRef?.name ?? '').localeCompare(b.targetRef?.name ?? '');
}

/** The subsets the Service's pods make: terminating pods only when not-ready addresses are published. */
export function desiredSubsets(svc: Service, pods: readonly Pod[]): EndpointSubset[] {
  const publishNotReady = svc.spec.publishNotReadyAddresses === true;
  const listed = servingPods(svc, pods).filter((s) => publishNotReady || !s.terminating);
  return byPorts(listed).map(([, group]) => {
    const ready: EndpointAddress[] = [];
    const notReady: EndpointAddress[] = [];
    for (const s of group) {
      const address: EndpointAddress = {
        ip: s.ip,
        ...(s.pod.spec.nodeName ? { nodeName: s.pod.spec.nodeName } : {}),
        targetRef: { kind: 'Pod', namespace: s.pod.metadata.namespace ?? '', name: s.pod.metadata.name ?? '', uid: s.pod.metadata.uid ?? '' },
      };
      (publishNotReady || s.ready ? ready : notReady).push(address);
    }
    const ports = group[0]!.ports;
    return {
      ...(ready.length ? { addresses: ready.sort(byAddress) } : {}),
      ...(notReady.length ? { notReadyAddresses: notReady.sort(byAddress) } : {}),
      ...(ports.length ? { ports } : {}),
    };
  });
}

export class EndpointsController extends ServiceBackendsController<Endpoints> {
  constructor(ctx: ControllerContext) {
    super(ENDPOINTS_CONTROLLER, ctx, ENDPOINTS);
  }

  protected serviceOf(e: Endpoints): string {
    return serviceKeyOf(e);
  }

  protected async sync(namespace: string, name: string, svc: Service | undefined, pods: readonly Pod[]): Promise<void> {
    const current = this.published.get(namespace, name);
    const ref = { ...ENDPOINTS, namespace, name };
    if (!svc) {
      if (current) await this.client.delete(ref).catch((err: unknown) => ignoreOnly(err, NotFoundError));
      return;
    }
    if (svc.spec.selector === undefined || serviceType(svc) === 'ExternalName') return;
    const subsets = desiredSubsets(svc, pods);
    const labels = svc.metadata.labels ?? {};
    if (current && isDeepStrictEqual(current.subsets ?? [], subsets) && isDeepStrictEqual(current.metadata.labels ?? {}, labels)) return;
    const body: Endpoints = { apiVersion: 'v1', kind: 'Endpoints', metadata: { name, namespace, labels }, subsets };
    if (!current) {
      // Made meanwhile (this informer is behind): synced again when the informer's add comes.
      await this.client.create({ ...ENDPOINTS, namespace }, body).catch((err: unknown) => ignoreOnly(err, AlreadyExistsError));
      return;
    }
    // A stale resourceVersion is a 409: the queue retries once the informer has the newer one.
    await this.client.update(ref, { ...body, metadata: { ...current.metadata, labels } });
  }
}

export const endpointsControllerDefinition: ControllerDefinition = {
  name: ENDPOINTS_CONTROLLER,
  create: (ctx) => new EndpointsController(ctx),
};
