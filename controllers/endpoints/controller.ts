// The endpoints controller (Kubernetes' of the same name): every Service with a selector has an
// Endpoints object of the same name listing its pods' addresses — ready ones in `addresses`, the
// others in `notReadyAddresses` (all in `addresses` with publishNotReadyAddresses) — grouped into
// subsets by the ports they serve, each Service port's targetPort resolved against the pod's
// container ports when it is a name. A Service without a selector keeps Endpoints written by hand;
// the Endpoints of a deleted Service go with it. Written only when they change.
import { isDeepStrictEqual } from 'node:util';
import type { Pod } from '../../shared/api/core.js';
import { serviceType, targetPortOf, type EndpointAddress, type EndpointPort, type Endpoints, type EndpointSubset, type Service } from '../../shared/api/service.js';
import type { ApiClient, ResourceRef } from '../../shared/client/http-client.js';
import type { Informer } from '../../shared/client/informer.js';
import { AlreadyExistsError, NotFoundError } from '../../shared/errors.js';
import { labelSelectorFromSpec } from '../../shared/labels.js';
import type { Controller, ControllerContext, ControllerDefinition } from '../controller.js';
import { BY_NAMESPACE, indexByNamespace } from '../informers.js';
import { isPodReady } from '../replicaset/pods.js';
import { WorkQueue } from '../work-queue.js';

export const ENDPOINTS_CONTROLLER = 'endpoint';
const SERVICES: ResourceRef = { version: 'v1', resource: 'services' };
const ENDPOINTS: ResourceRef = { version: 'v1', resource: 'endpoints' };
const PODS: ResourceRef = { version: 'v1', resource: 'pods' };

function keyOf(o: { metadata: { namespace?: string; name?: string } }): string {
  return `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;
}

function selects(svc: Service, pod: Pod): boolean {
  const selector = svc.spec.selector;
  return selector !== undefined && labelSelectorFromSpec({ matchLabels: selector }).matches(pod.metadata.labels ?? {});
}

/** The pod's port for one Service port: the number itself, or the container port of that name. */
function podPort(pod: Pod, target: number | string): number | undefined {
  if (typeof target === 'number') return target;
  for (const c of pod.spec.containers) for (const p of c.ports ?? []) if (p.name === target) return p.containerPort;
  return undefined;
}

/** Kubernetes' ShouldPodBeInEndpoints: an address, not finished, not going (unless not-ready ones are published). */
function listed(pod: Pod, publishNotReady: boolean): boolean {
  if (!pod.status.podIP) return false;
  if (pod.status.phase === 'Succeeded' || pod.status.phase === 'Failed') return false;
  return publishNotReady || pod.metadata.deletionTimestamp === undefined;
}

function byAddress(a: EndpointAddress, b: EndpointAddress): number {
  return a.ip.localeCompare(b.ip) || (a.targetRef?.name ?? '').localeCompare(b.targetRef?.name ?? '');
}

/** The subsets the Service's pods make. */
export function desiredSubsets(svc: Service, pods: readonly Pod[]): EndpointSubset[] {
  const publishNotReady = svc.spec.publishNotReadyAddresses === true;
  const groups = new Map<string, { ports: EndpointPort[]; ready: EndpointAddress[]; notReady: EndpointAddress[] }>();
  for (const pod of pods) {
    if (!listed(pod, publishNotReady) || !selects(svc, pod)) continue;
    const ports: EndpointPort[] = [];
    for (const sp of svc.spec.ports ?? []) {
      const port = podPort(pod, targetPortOf(sp));
      if (port === undefined) continue;
      ports.push({ ...(sp.name ? { name: sp.name } : {}), port, protocol: sp.protocol, ...(sp.appProtocol ? { appProtocol: sp.appProtocol } : {}) });
    }
    // A pod with none of the Service's ports serves nothing through it.
    if ((svc.spec.ports ?? []).length > 0 && ports.length === 0) continue;
    const address: EndpointAddress = {
      ip: pod.status.podIP!,
      ...(pod.spec.nodeName ? { nodeName: pod.spec.nodeName } : {}),
      targetRef: { kind: 'Pod', namespace: pod.metadata.namespace ?? '', name: pod.metadata.name ?? '', uid: pod.metadata.uid ?? '' },
    };
    const key = JSON.stringify(ports);
    const group = groups.get(key) ?? { ports, ready: [], notReady: [] };
    groups.set(key, group);
    (publishNotReady || isPodReady(pod) ? group.ready : group.notReady).push(address);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([, g]) => ({
      ...(g.ready.length ? { addresses: g.ready.sort(byAddress) } : {}),
      ...(g.notReady.length ? { notReadyAddresses: g.notReady.sort(byAddress) } : {}),
      ...(g.ports.length ? { ports: g.ports } : {}),
    }));
}

export class EndpointsController implements Controller {
  readonly name = ENDPOINTS_CONTROLLER;
  private readonly client: ApiClient;
  private readonly services: Informer<Service>;
  private readonly endpoints: Informer<Endpoints>;
  private readonly pods: Informer<Pod>;
  private readonly queue: WorkQueue;
  private running = false;

  constructor(ctx: ControllerContext) {
    this.client = ctx.client;
    this.services = ctx.informers.get<Service>(SERVICES);
    this.endpoints = ctx.informers.get<Endpoints>(ENDPOINTS);
    this.pods = ctx.informers.get<Pod>(PODS);
    indexByNamespace(this.services);
    indexByNamespace(this.pods);
    this.queue = new WorkQueue({ name: ENDPOINTS_CONTROLLER, sync: (key) => this.sync(key), log: ctx.log, workers: 4, metrics: ctx.queueMetrics });
  }

  start(): void {
    this.running = true;
    const service = (s: Service) => this.queue.add(keyOf(s));
    this.services.addHandlers({ add: service, update: (_old, s) => service(s), delete: service });
    // Someone else's write to (or delete of) a Service's Endpoints is put right; one this
    // controller made while its informer was behind is checked once the informer has it.
    const endpoints = (e: Endpoints) => this.queue.add(keyOf(e));
    this.endpoints.addHandlers({ add: endpoints, update: (_old, e) => endpoints(e), delete: endpoints });
    this.pods.addHandlers({
      add: (p) => this.podChanged(p),
      update: (old, p) => this.podChanged(p, old),
      delete: (p) => this.podChanged(p),
    });
    void Promise.all([this.services.hasSynced(), this.endpoints.hasSynced(), this.pods.hasSynced()]).then(() => {
      if (this.running) this.queue.start();
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.queue.stop();
  }

  /** Every Service that selects the pod now or selected it before. */
  private podChanged(pod: Pod, old?: Pod): void {
    for (const svc of this.services.byIndex(BY_NAMESPACE, pod.metadata.namespace ?? '')) {
      if (selects(svc, pod) || (old !== undefined && selects(svc, old))) this.queue.add(keyOf(svc));
    }
  }

  private async sync(key: string): Promise<void> {
    const slash = key.indexOf('/');
    const namespace = key.slice(0, slash);
    const name = key.slice(slash + 1);
    const svc = this.services.get(namespace, name);
    const current = this.endpoints.get(namespace, name);
    const ref = { ...ENDPOINTS, namespace, name };
    if (!svc) {
      if (current) await this.client.delete(ref).catch((err: unknown) => ignore(err, NotFoundError));
      return;
    }
    if (svc.spec.selector === undefined || serviceType(svc) === 'ExternalName') return;
    const subsets = desiredSubsets(svc, this.pods.byIndex(BY_NAMESPACE, namespace));
    const labels = svc.metadata.labels ?? {};
    if (current && isDeepStrictEqual(current.subsets ?? [], subsets) && isDeepStrictEqual(current.metadata.labels ?? {}, labels)) return;
    const body: Endpoints = { apiVersion: 'v1', kind: 'Endpoints', metadata: { name, namespace, labels }, subsets };
    if (!current) {
      // Made meanwhile (this informer is behind): synced again when the informer's add comes.
      await this.client.create({ ...ENDPOINTS, namespace }, body).catch((err: unknown) => ignore(err, AlreadyExistsError));
      return;
    }
    // A stale resourceVersion is a 409: the queue retries once the informer has the newer one.
    await this.client.update(ref, { ...body, metadata: { ...current.metadata, labels } });
  }
}

function ignore(err: unknown, kind: new (...args: never[]) => Error): void {
  if (!(err instanceof kind)) throw err;
}

export const endpointsControllerDefinition: ControllerDefinition = {
  name: ENDPOINTS_CONTROLLER,
  create: (ctx) => new EndpointsController(ctx),
};
