// An ApiClient whose watches of chosen resources can be held, as if that informer lagged: their
// events queue from `hold` until `release`, then are delivered in order. For tests of what a
// controller does when one of its caches runs behind another (or behind its own writes).
import { ApiClient, type RequestOptions, type ResourceRef, type WatchEvent, type WatchOptions } from '../../shared/client/http-client.js';

export class WatchHoldingClient extends ApiClient {
  /** Per resource (e.g. `pods`), the deliveries waiting while it is held. */
  private readonly held = new Map<string, (() => void)[]>();

  hold(resource: string): void {
    if (!this.held.has(resource)) this.held.set(resource, []);
  }

  holding(resource: string): boolean {
    return this.held.has(resource);
  }

  /** Deliver what `resource`'s watches queued (every held resource's when undefined), in order. */
  release(resource?: string): void {
    for (const r of resource === undefined ? [...this.held.keys()] : [resource]) {
      const queued = this.held.get(r) ?? [];
      this.held.delete(r);
      for (const deliver of queued) deliver();
    }
  }

  override watch<T>(ref: ResourceRef, query: RequestOptions['query'], onEvent: (ev: WatchEvent<T>) => void, signal?: AbortSignal, options?: WatchOptions<T>): Promise<void> {
    return super.watch<T>(
      ref,
      query,
      (ev) => {
        const queue = this.held.get(ref.resource);
        if (queue) queue.push(() => onEvent(ev));
        else onEvent(ev);
      },
      signal,
      options,
    );
  }
}
