// What the endpoints and endpointslice controllers share: a work queue of Services (`ns/name`),
// filled when a Service changes, when a pod it selects (or selected) changes, and when what the
// controller publishes for it changes under it; each sync gets the Service (undefined once it is
// gone) and the pods of its namespace.
import type { Pod } from '../../shared/api/core.js';
import type { Service } from '../../shared/api/service.js';
import type { ApiClient, ResourceRef } from '../../shared/client/http-client.js';
import type { Informer, ObjectLike } from '../../shared/client/informer.js';
import type { Controller, ControllerContext } from '../controller.js';
import { BY_NAMESPACE, indexByNamespace } from '../informers.js';
import { WorkQueue } from '../work-queue.js';
import { NotFoundError } from '../../shared/errors.js';
import { selects, serviceKeyOf } from './service-pods.js';

const SERVICES: ResourceRef = { version: 'v1', resource: 'services' };

export abstract class ServiceBackendsController<T extends ObjectLike> implements Controller {
  protected readonly client: ApiClient;
  private readonly services: Informer<Service>;
  private readonly pods: Informer<Pod>;
  protected readonly published: Informer<T>;
  private readonly queue: WorkQueue;
  private running = false;

  constructor(
    readonly name: string,
    ctx: ControllerContext,
    publishedRef: ResourceRef,
  ) {
    this.client = ctx.client;
    this.services = ctx.informers.get<Service>(SERVICES);
    this.pods = ctx.informers.get<Pod>({ version: 'v1', resource: 'pods' });
    this.published = ctx.informers.get<T>(publishedRef);
    indexByNamespace(this.services);
    indexByNamespace(this.pods);
    this.queue = new WorkQueue({ name, sync: (key) => this.syncKey(key), log: ctx.log, workers: 4, metrics: ctx.queueMetrics });
  }

  /** The Service (`ns/name`) a published object belongs to, if any. */
  protected abstract serviceOf(obj: T): string | undefined;

  /** Make what is published for the Service match it (`svc` undefined: the Service is gone). */
  protected abstract sync(namespace: string, name: string, svc: Service | undefined, pods: readonly Pod[]): Promise<void>;

  start(): void {
    this.running = true;
    const service = (s: Service) => this.queue.add(serviceKeyOf(s));
    this.services.addHandlers({ add: service, update: (_old, s) => service(s), delete: service });
    // Someone else's write to (or delete of) what is published is put right; what this controller
    // made while its informer was behind is checked once the informer has it.
    const published = (o: T) => {
      const key = this.serviceOf(o);
      if (key !== undefined) this.queue.add(key);
    };
    this.published.addHandlers({ add: published, update: (_old, o) => published(o), delete: published });
    this.pods.addHandlers({
      add: (p) => this.podChanged(p),
      update: (old, p) => this.podChanged(p, old),
      delete: (p) => this.podChanged(p),
    });
    void Promise.all([this.services.hasSynced(), this.published.hasSynced(), this.pods.hasSynced()]).then(() => {
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
      if (selects(svc, pod) || (old !== undefined && selects(svc, old))) this.queue.add(serviceKeyOf(svc));
    }
  }

  private async syncKey(key: string): Promise<void> {
    const slash = key.indexOf('/');
    const namespace = key.slice(0, slash);
    const name = key.slice(slash + 1);
    // Informers are not ordered with each other: Endpoints written beside a new Service can reach
    // this controller before the Service does. What is published is deleted only once the API
    // says the Service is gone, never because the Service informer is behind.
    const svc =
      this.services.get(namespace, name) ??
      (await this.client.get<Service>({ ...SERVICES, namespace, name }).catch((err: unknown): undefined => {
        ignoreOnly(err, NotFoundError);
        return undefined;
      }));
    await this.sync(namespace, name, svc, this.pods.byIndex(BY_NAMESPACE, namespace));
  }
}

/** Rethrows anything but `kind` (an outcome the sync may take as done). */
export function ignoreOnly(err: unknown, kind: new (...args: never[]) => Error): void {
  if (!(err instanceof kind)) throw err;
}
