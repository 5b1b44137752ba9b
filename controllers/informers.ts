// Shared informers for the controller manager: every controller asking for the same resource (and
// selector) gets the same Informer, so the process lists and watches each resource once.
import type { ApiClient, ResourceRef } from '../shared/client/http-client.js';
import { Informer, type ObjectLike } from '../shared/client/informer.js';
import type { Logger } from '../shared/logging.js';

/**
 * The by-namespace index, shared: every controller that looks objects up by namespace asks for
 * this one, so a pod informer holding a million pods keeps one namespace entry per pod, not one
 * per controller.
 */
export const BY_NAMESPACE = 'namespace';

export function indexByNamespace<T extends ObjectLike>(informer: Informer<T>): void {
  if (!informer.hasIndex(BY_NAMESPACE)) informer.addIndex(BY_NAMESPACE, (o) => [o.metadata.namespace ?? '']);
}

export class SharedInformers {
  private readonly informers = new Map<string, Informer<ObjectLike>>();
  private started = false;

  constructor(
    private readonly client: ApiClient,
    private readonly log?: Logger,
  ) {}

  /** The informer for `ref` (all namespaces unless `ref.namespace`), created on first use. */
  get<T extends ObjectLike>(ref: ResourceRef, selectors: { labelSelector?: string; fieldSelector?: string } = {}): Informer<T> {
    const key = JSON.stringify([ref.group ?? '', ref.version, ref.resource, ref.namespace ?? '', selectors.labelSelector ?? '', selectors.fieldSelector ?? '']);
    let inf = this.informers.get(key);
    if (!inf) {
      inf = new Informer<ObjectLike>({
        client: this.client,
        ref,
        ...(selectors.labelSelector ? { labelSelector: selectors.labelSelector } : {}),
        ...(selectors.fieldSelector ? { fieldSelector: selectors.fieldSelector } : {}),
        ...(this.log ? { log: this.log } : {}),
      });
      this.informers.set(key, inf);
      if (this.started) void inf.start();
    }
    // One informer per key, whatever type the callers view it as: the objects are the API's.
    return inf as unknown as Informer<T>;
  }

  /** Start every informer asked for so far (and any asked for later). */
  async start(): Promise<void> {
    this.started = true;
    await Promise.all([...this.informers.values()].map((i) => i.start()));
  }

  /** Resolves when every informer asked for so far has listed once. */
  async synced(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.hasSynced()));
  }

  async stop(): Promise<void> {
    this.started = false;
    await Promise.all([...this.informers.values()].map((i) => i.stop()));
  }
}
