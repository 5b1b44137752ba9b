// The resources this server serves: one typed store (with its watch cache) and one REST layer per
// resource the API defines, over the server's store.
import type { Logger } from '../../shared/logging.js';
import type { ServedResource } from '../http/resources.js';
import type { ApiServerMetrics } from '../metrics.js';
import { resourceDefinitions } from '../registry/definitions.js';
import { CONVERTED_VERSIONS, nodeAllocationsResource } from '../../shared/api/registry.js';
import { LEDGER_ENCODINGS_CAPACITY, LedgerEncoder } from '../placement/ledger-encoding.js';
import { ResourceStore, type ResourceIdentity } from '../registry/resource-store.js';
import { RestResource } from '../registry/rest.js';
import type { KubeObject } from '../registry/object.js';
import type { KubeObject as TypedObject } from '../../shared/api/meta.js';
import type { Store } from '../storage/store.js';

export interface ResourceTable {
  /**
   * By resource name (`pods`, `deployments`, …), each in the version it is stored in; custom
   * resources by `<plural>.<group>` (a custom group always has a dot, so the two never meet).
   */
  resources: Map<string, ServedResource>;
  /** Every group/version/resource served now, in discovery order (a resource's stored version first). */
  discovered(): readonly ServedResource[];
  /** The resource a URL's group, version and resource name address; undefined when none. */
  resolve(group: string, version: string, resource: string): ServedResource | undefined;
  /** A resource every server serves; throws for a name it does not. */
  served(resource: string): ServedResource;
  /** A typed store with its watch cache, for a resource added while the server runs (a custom resource). */
  newStore(id: ResourceIdentity): ResourceStore;
  /** The namespace existence check every namespaced resource's REST layer uses. */
  lookupNamespace(name: string): Promise<KubeObject | undefined>;
  /**
   * Serves a custom resource until `uninstall(key)`: `stored` is the version its objects are kept
   * in, `versions` every version served (stored one included). Replaces what `key` served before.
   */
  install(key: string, stored: ServedResource, versions: readonly ServedResource[]): void;
  /** Stops serving `key`; its watch cache stops and its open watches end. */
  uninstall(key: string): void;
}

export function buildResourceTable(
  store: Store,
  log: Logger,
  metrics: ApiServerMetrics,
  opts: { watchCacheCapacity: number; eventTtlSeconds: number; maxWatchCacheLag?: number },
): ResourceTable {
  const resources = new Map<string, ServedResource>();
  const byGvr = new Map<string, ServedResource>();
  const storeFor = (id: ResourceIdentity) =>
    new ResourceStore(store, id, log, {
      watchCacheCapacity: opts.watchCacheCapacity,
      onWatcherDropped: (reason) => metrics.terminatedWatchers.inc({ resource: id.resource, reason }),
      onCreateWait: (outcome) => metrics.createLagWaits.inc({ resource: id.resource, outcome }),
      ...(opts.maxWatchCacheLag !== undefined ? { maxCacheLag: opts.maxWatchCacheLag } : {}),
      // Events expire, as in Kubernetes: routine ones (Scheduled, Started, …) would otherwise cost
      // as much storage as the pods they are about, forever.
      ...(id.resource === 'events' && id.group === '' && opts.eventTtlSeconds > 0 ? { ttlSeconds: opts.eventTtlSeconds } : {}),
      // Every binding rewrites its node's whole ledger: made from the last one written or read, not
      // serialised whole. Every binding also reads it: the decoded ledgers kept cover as many nodes
      // as the encoder remembers (their pod lists are the same objects, so this costs little).
      ...(id.resource === nodeAllocationsResource.resource && id.group === nodeAllocationsResource.group
        ? { codec: new LedgerEncoder(), decodedCapacity: LEDGER_ENCODINGS_CAPACITY }
        : {}),
    });
  const namespaceStore = storeFor({ group: '', kind: 'Namespace', resource: 'namespaces', namespaced: false });
  // Namespace checks on every namespaced write: the watch cache answers; a miss (e.g. a namespace
  // created a moment ago) is confirmed against the store before it becomes a 404, and so is a
  // namespace this server changed (e.g. marked Terminating) that the cache has not caught up with.
  const lookupNamespace = async (name: string) =>
    namespaceStore.peekFresh(namespaceStore.key(undefined, name)) ?? namespaceStore.tryGet(undefined, name);
  for (const d of resourceDefinitions()) {
    const objects = d.def.resource === 'namespaces' ? namespaceStore : storeFor(d.def);
    const { info: _info, def: _def, ...definition } = d;
    const served: ServedResource = { ...definition, rest: new RestResource(d.def, objects, lookupNamespace) };
    resources.set(d.def.resource, served);
    byGvr.set(`${d.def.group}/${d.def.version}/${d.def.resource}`, served);
  }
  // Older versions of stored resources: the stored resource's store, converted at the edges.
  for (const c of CONVERTED_VERSIONS) {
    const d = resourceDefinitions([c.served])[0]!;
    const stored = resources.get(c.stored.resource)!;
    const { info: _info, def: _def, ...definition } = d;
    // The store holds only objects its schema decoded, which have their apiVersion and kind.
    const toServed = (obj: KubeObject): KubeObject => c.toServed(obj as TypedObject);
    const toStored = (obj: KubeObject) => c.toStored(obj as TypedObject);
    const conversion = { stored: stored.rest.def, toStored, toServed };
    const served: ServedResource = { ...definition, rest: new RestResource(d.def, stored.rest.objects, lookupNamespace, conversion), toServed };
    byGvr.set(`${d.def.group}/${d.def.version}/${d.def.resource}`, served);
  }
  metrics.trackCaches(function* () {
    for (const [resource, s] of resources) yield { resource, lag: s.rest.objects.cacheLag, revision: s.rest.objects.cacheRevision };
  });
  const gvr = (s: ServedResource) => `${s.rest.def.group}/${s.rest.def.version}/${s.rest.def.resource}`;
  const custom = new Map<string, readonly ServedResource[]>();
  const uninstall = (key: string) => {
    for (const v of custom.get(key) ?? []) byGvr.delete(gvr(v));
    custom.delete(key);
    const stored = resources.get(key);
    resources.delete(key);
    stored?.rest.objects.cache.stop();
  };
  return {
    resources,
    discovered: () => [...byGvr.values()],
    resolve: (group, version, resource) => byGvr.get(`${group}/${version}/${resource}`),
    newStore: storeFor,
    lookupNamespace,
    install: (key, stored, versions) => {
      const before = resources.get(key);
      for (const v of custom.get(key) ?? []) byGvr.delete(gvr(v));
      custom.set(key, versions);
      resources.set(key, stored);
      for (const v of versions) byGvr.set(gvr(v), v);
      // A new store replaces the old one (a changed scope or storage version): the old cache stops.
      if (before !== undefined && before.rest.objects !== stored.rest.objects) before.rest.objects.cache.stop();
    },
    uninstall,
    served: (resource) => {
      const s = resources.get(resource);
      if (!s) throw new Error(`resource ${resource} is not served`);
      return s;
    },
  };
}
