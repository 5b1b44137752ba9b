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

export interface InformerSelectors {
  labelSelector?: string;
  fieldSelector?: string;
}

function informerKey(ref: ResourceRef, selectors: InformerSelectors): string {
  return JSON.stringify([ref.group ?? '', ref.version, ref.resource, ref.namespace ?? '', selectors.labelSelector ?? '', selectors.fieldSelector ?? '']);
}

/** One shared informer, and what resolves when it is removed (so no wait on its sync hangs). */
interface Entry {
  informer: Informer<ObjectLike>;
  removed: Promise<void>;
  markRemoved: () => void;
}

export class SharedInformers {
  private readonly entries = new Map<string, Entry>();
  private started = false;

  constructor(
    private readonly client: ApiClient,
    private readonly log?: Logger,
  ) {}

  /** The informer for `ref` (all namespaces unless `ref.namespace`), created on first use. */
  get<T extends ObjectLike>(ref: ResourceRef, selectors: InformerSelectors = {}): Informer<T> {
    const key = informerKey(ref, selectors);
    let entry = this.entries.get(key);
    if (!entry) {
      const informer = new Informer<ObjectLike>({
        client: this.client,
        ref,
        ...(selectors.labelSelector ? { labelSelector: selectors.labelSelector } : {}),
        ...(selectors.fieldSelector ? { fieldSelector: selectors.fieldSelector } : {}),
        ...(this.log ? { log: this.log } : {}),
      });
      let markRemoved = (): void => undefined;
      const removed = new Promise<void>((resolve) => (markRemoved = resolve));
      entry = { informer, removed, markRemoved };
      this.entries.set(key, entry);
      if (this.started) void informer.start();
    }
    // One informer per key, whatever type the callers view it as: the objects are the API's.
    return entry.informer as unknown as Informer<T>;
  }

  /**
   * Stop the informer for `ref` and forget it, for a resource that is no longer served (a custom
   * kind whose definition went): every holder loses its events, and a later `get` makes a fresh one.
   */
  async remove(ref: ResourceRef, selectors: InformerSelectors = {}): Promise<void> {
    const key = informerKey(ref, selectors);
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    entry.markRemoved();
    await entry.informer.stop();
  }

  /** Start every informer asked for so far (and any asked for later). */
  async start(): Promise<void> {
    this.started = true;
    await Promise.all([...this.entries.values()].map((e) => e.informer.start()));
  }

  /** Resolves when every informer asked for so far has listed once (or been removed: it never will). */
  async synced(): Promise<void> {
    await Promise.all([...this.entries.values()].map((e) => Promise.race([e.informer.hasSynced(), e.removed])));
  }

  async stop(): Promise<void> {
    this.started = false;
    await Promise.all([...this.entries.values()].map((e) => e.informer.stop()));
  }
}
