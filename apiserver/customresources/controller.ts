// Every API server replica follows the CustomResourceDefinitions in its watch cache and serves what
// they define, as kube-apiserver's apiextensions controllers do:
// - names: a definition whose kind, singular or short names another one of its group already
//   claimed is not served (NamesAccepted False) until that changes;
// - serving: an accepted definition's versions are installed in the resource table, and replaced
//   when its spec changes (Established True once served);
// - status: acceptedNames, conditions and storedVersions, written only when they differ (so
//   replicas agree without fighting: each computes the same status from the same object);
// - cleanup: a deleted definition refuses new objects, deletes every object it has, then drops
//   its finalizer and goes, and with it what it served.
import { isDeepStrictEqual } from 'node:util';
import {
  CUSTOM_RESOURCE_CLEANUP_FINALIZER,
  CustomResourceDefinitionSchema,
  type CustomResourceDefinition,
  type CustomResourceDefinitionCondition,
  type CustomResourceDefinitionNames,
} from '../../shared/api/apiextensions.js';
import { MethodNotAllowedError, NotFoundError, errorMessage } from '../../shared/errors.js';
import type { Logger } from '../../shared/logging.js';
import type { ResourceInfo } from '../../shared/api/registry.js';
import { nowTimestamp } from '../registry/rest.js';
import type { KubeObject } from '../registry/object.js';
import type { ResourceStore } from '../registry/resource-store.js';
import type { WatcherSink } from '../registry/watch-cache.js';
import type { ResourceTable } from '../server/resource-table.js';
import type { ServedResource } from '../http/resources.js';
import { customResourceKey, serveCustomResource, storeIdentity } from './resource.js';

/** How often work that failed (a status write, a cleanup still waiting on finalizers) is tried again. */
const RETRY_MS = 1000;

interface Installed {
  /** The spec served, as JSON: a definition whose spec is unchanged is not rebuilt. */
  spec: string;
  infos: readonly ResourceInfo[];
  objects: ResourceStore;
  identity: string;
}

/** The names a definition is served under, with Kubernetes' defaults filled in. */
function acceptedNames(crd: CustomResourceDefinition): CustomResourceDefinitionNames {
  const n = crd.spec.names;
  return {
    plural: n.plural,
    singular: n.singular || n.kind.toLowerCase(),
    kind: n.kind,
    listKind: n.listKind || `${n.kind}List`,
    ...(n.shortNames?.length ? { shortNames: n.shortNames } : {}),
    ...(n.categories?.length ? { categories: n.categories } : {}),
  };
}

/** Why a definition's names cannot be served, or undefined: what an older definition of the group claimed first. */
function nameConflict(crd: CustomResourceDefinition, claimed: Map<string, string>): string | undefined {
  const n = acceptedNames(crd);
  const group = crd.spec.group;
  const wanted: [string, string][] = [
    [`kind/${n.kind}`, `kind ${n.kind}`],
    [`name/${n.singular}`, `singular name ${n.singular}`],
    [`name/${n.plural}`, `plural name ${n.plural}`],
    ...(n.shortNames ?? []).map((s): [string, string] => [`name/${s}`, `short name ${s}`]),
  ];
  const own = crd.metadata.name ?? '';
  for (const [key, what] of wanted) {
    const holder = claimed.get(`${group}/${key}`);
    if (holder !== undefined && holder !== own) return `${what} is already in use by ${holder}`;
  }
  for (const [key] of wanted) claimed.set(`${group}/${key}`, own);
  return undefined;
}

function condition(type: string, status: 'True' | 'False', reason: string, message: string, before: CustomResourceDefinition): CustomResourceDefinitionCondition {
  const old = before.status?.conditions?.find((c) => c.type === type);
  // The transition time moves only when the status does.
  const lastTransitionTime = old?.status === status && old.lastTransitionTime ? old.lastTransitionTime : nowTimestamp();
  return { type, status, lastTransitionTime, reason, message };
}

/** The status this server wants `crd` to have, from `crd` itself (so every replica computes the same). */
function desiredStatus(crd: CustomResourceDefinition, conflict: string | undefined, failed: string | undefined): CustomResourceDefinition['status'] {
  const conditions: CustomResourceDefinitionCondition[] = [];
  if (conflict) {
    conditions.push(condition('NamesAccepted', 'False', 'NameConflict', conflict, crd));
    conditions.push(condition('Established', 'False', 'NotAccepted', 'not all names are accepted', crd));
  } else {
    conditions.push(condition('NamesAccepted', 'True', 'NoConflicts', 'no conflicts found', crd));
    if (failed) conditions.push(condition('Established', 'False', 'InstallationFailed', failed, crd));
    else conditions.push(condition('Established', 'True', 'InitialNamesAccepted', 'the initial names have been accepted', crd));
  }
  if (crd.metadata.deletionTimestamp) conditions.push(condition('Terminating', 'True', 'InstanceDeletionInProgress', 'CustomResource deletion is in progress', crd));
  const storage = crd.spec.versions.find((v) => v.storage)?.name;
  const stored = [...(crd.status?.storedVersions ?? [])];
  if (!conflict && !failed && storage !== undefined && !stored.includes(storage)) stored.push(storage);
  return {
    conditions,
    ...(conflict ? (crd.status?.acceptedNames ? { acceptedNames: crd.status.acceptedNames } : {}) : { acceptedNames: acceptedNames(crd) }),
    ...(stored.length > 0 ? { storedVersions: stored } : {}),
  };
}

export class CustomResourceDefinitionController {
  private readonly definitions = new Map<string, CustomResourceDefinition>();
  private readonly installed = new Map<string, Installed>();
  /** Names of definitions being deleted: their kinds refuse new objects. */
  private readonly terminating = new Set<string>();
  private chain: Promise<void> = Promise.resolve();
  private scheduled = false;
  private retry = false;
  private timer: NodeJS.Timeout | undefined;
  private stopWatch: (() => void) | undefined;
  private stopped = false;
  /** Called with the stored version of each custom kind given a new store (quota admission). */
  private readonly newStoreHooks: ((stored: ServedResource) => void)[] = [];
  /** What described() answers: a new array only when what is served changes. */
  private describedNow: readonly ResourceInfo[] = [];

  constructor(
    private readonly table: ResourceTable,
    private readonly log: Logger,
    /** The largest body a custom resource's scale subresource reads. */
    private readonly maxRequestBytes: number,
  ) {}

  private get crds() {
    return this.table.served('customresourcedefinitions').rest;
  }

  /** `hook` runs for every custom kind whose store is made from now on (not for those served already). */
  onNewStore(hook: (stored: ServedResource) => void): void {
    this.newStoreHooks.push(hook);
  }

  /** Every custom resource version served now (the same array until that changes). */
  described(): readonly ResourceInfo[] {
    return this.describedNow;
  }

  private describedChanged(): void {
    this.describedNow = [...this.installed.values()].flatMap((i) => i.infos);
  }

  /** Follows the definitions; resolves once those that exist are served. */
  async start(): Promise<void> {
    await this.follow();
    await this.reconcileNow();
    // As with the built-in kinds: the server is ready once each cache holds its list.
    await Promise.all([...this.installed.values()].map((i) => i.objects.cache.ready()));
    this.timer = setInterval(() => {
      if (this.retry) this.schedule();
    }, RETRY_MS);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.stopWatch?.();
  }

  private async follow(): Promise<void> {
    const objects = this.crds.objects;
    this.definitions.clear();
    const sink: WatcherSink = {
      send: (type, watched) => {
        const obj = watched.object();
        const name = obj.metadata.name ?? '';
        const parsed = type === 'DELETED' ? undefined : CustomResourceDefinitionSchema.safeParse(obj);
        if (parsed?.success) this.definitions.set(name, parsed.data);
        else {
          // Stored objects were validated on write; one that no longer decodes is not served.
          if (parsed) this.log.error('custom resource definition does not decode; not served', { name, error: parsed.error.message });
          this.definitions.delete(name);
        }
        this.schedule();
        return true;
      },
      bookmark: () => undefined,
      close: (err) => {
        if (this.stopped || err === undefined) return;
        // The cache re-listed (its store watch broke): start over from its fresh state.
        this.log.warn('custom resource definitions: watch lost; reloading', { error: err.message });
        void this.follow().catch((e: unknown) => this.log.error('custom resource definitions could not reload', { error: errorMessage(e) }));
      },
    };
    this.stopWatch = await objects.cache.watch(undefined, { keyPrefix: objects.keyPrefix(undefined) }, sink);
  }

  private schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.reconcileNow().catch((err: unknown) => {
        this.retry = true;
        this.log.error('custom resource definitions: reconcile failed; will retry', { error: errorMessage(err) });
      });
    });
  }

  /** One pass, after any pass under way (passes never overlap). */
  private reconcileNow(): Promise<void> {
    this.chain = this.chain.then(
      () => this.reconcile(),
      () => this.reconcile(),
    );
    return this.chain;
  }

  private async reconcile(): Promise<void> {
    this.retry = false;
    // A definition whose names were accepted keeps them; among the others the oldest claims first
    // (then by name: timestamps have whole seconds). Every replica orders the same state alike.
    const accepted = (c: CustomResourceDefinition) => (c.status?.conditions ?? []).some((x) => x.type === 'NamesAccepted' && x.status === 'True');
    const ordered = [...this.definitions.values()].sort(
      (a, b) =>
        Number(accepted(b)) - Number(accepted(a)) ||
        (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') ||
        (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''),
    );
    const claimed = new Map<string, string>();
    const serving = new Set<string>();
    const work: Promise<void>[] = [];
    for (const crd of ordered) {
      const conflict = nameConflict(crd, claimed);
      const name = crd.metadata.name ?? '';
      if (crd.metadata.deletionTimestamp) this.terminating.add(name);
      else this.terminating.delete(name);
      let failed: string | undefined;
      if (!conflict) {
        try {
          this.install(crd);
          serving.add(customResourceKey(crd));
        } catch (err) {
          // One definition that cannot be served must not stop the others (nor the server).
          failed = errorMessage(err);
          this.log.error('custom resource definition cannot be served', { name, error: failed });
        }
      }
      work.push(this.writeStatus(crd, conflict, failed));
      if (crd.metadata.deletionTimestamp) work.push(this.cleanUp(crd, conflict !== undefined));
    }
    for (const key of [...this.installed.keys()]) {
      if (serving.has(key)) continue;
      this.table.uninstall(key);
      this.installed.delete(key);
      this.describedChanged();
      this.log.info('custom resource no longer served', { resource: key });
    }
    for (const name of [...this.terminating]) if (!this.definitions.has(name)) this.terminating.delete(name);
    await Promise.all(work);
  }

  private install(crd: CustomResourceDefinition): void {
    const key = customResourceKey(crd);
    const spec = JSON.stringify(crd.spec);
    const before = this.installed.get(key);
    if (before?.spec === spec) return;
    const id = storeIdentity(crd);
    const identity = JSON.stringify(id);
    // A new schema keeps the store (and its open watches); a new kind or scope needs a new one.
    const objects = before?.identity === identity ? before.objects : this.table.newStore(id);
    // The cache lists now, not at the first request: /readyz waits for every cache.
    if (objects !== before?.objects) void objects.cache.ready();
    const name = crd.metadata.name ?? '';
    const admitCreate = async () => {
      if (this.terminating.has(name)) throw new MethodNotAllowedError(`create not allowed while custom resource definition is terminating`);
    };
    const { stored, versions, infos } = serveCustomResource(crd, objects, this.table.lookupNamespace, admitCreate, this.maxRequestBytes);
    // Write hooks belong to the store: a store kept across a schema change keeps them.
    if (objects !== before?.objects) for (const hook of this.newStoreHooks) hook(stored);
    this.table.install(key, stored, versions);
    this.installed.set(key, { spec, infos, objects, identity });
    this.describedChanged();
    this.log.info(before ? 'custom resource updated' : 'custom resource served', { resource: key, versions: versions.map((v) => v.rest.def.version) });
  }

  private async writeStatus(crd: CustomResourceDefinition, conflict: string | undefined, failed: string | undefined): Promise<void> {
    if (isDeepStrictEqual(crd.status ?? {}, desiredStatus(crd, conflict, failed))) return;
    try {
      await this.crds.objects.update(undefined, crd.metadata.name ?? '', (cur) => {
        const fresh = CustomResourceDefinitionSchema.parse(cur);
        const status = desiredStatus(fresh, conflict, failed);
        return isDeepStrictEqual(fresh.status ?? {}, status) ? cur : ({ ...cur, status } as KubeObject);
      });
    } catch (err) {
      this.retry = true;
      this.log.warn('custom resource definition status not written; will retry', { name: crd.metadata.name, error: errorMessage(err) });
    }
  }

  /** Deletes every object of a deleted definition; once none is left, lets the definition go. */
  private async cleanUp(crd: CustomResourceDefinition, neverServed: boolean): Promise<void> {
    const key = customResourceKey(crd);
    const name = crd.metadata.name ?? '';
    try {
      const stored = this.table.resources.get(key);
      if (!neverServed && stored) {
        const left = await stored.rest.deleteCollection({}, {});
        if (left.some((o) => o.metadata.deletionTimestamp !== undefined)) {
          // Objects finishing their own finalizers: try again shortly.
          this.retry = true;
          return;
        }
      }
      await this.crds.objects.update(undefined, name, (cur) => {
        const finalizers = cur.metadata.finalizers ?? [];
        if (!finalizers.includes(CUSTOM_RESOURCE_CLEANUP_FINALIZER)) return cur;
        return { ...cur, metadata: { ...cur.metadata, finalizers: finalizers.filter((f) => f !== CUSTOM_RESOURCE_CLEANUP_FINALIZER) } };
      });
      await this.crds.delete(undefined, name, {});
      this.log.info('custom resource definition deleted with its objects', { name });
    } catch (err) {
      // Another replica finished first.
      if (err instanceof NotFoundError) return;
      this.retry = true;
      this.log.warn('custom resource cleanup not finished; will retry', { name, error: errorMessage(err) });
    }
  }
}
