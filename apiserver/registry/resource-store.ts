// Typed access to one resource's objects in the store: keys, (de)serialisation, resourceVersion,
// compare-and-swap loops, paginated lists, and the resource's watch cache. Kubernetes verb
// semantics (defaulting, status split, graceful delete) live one layer up, in rest.ts.
import {
  AlreadyExistsError,
  BadRequestError,
  CompactedError,
  ConflictError,
  ExpiredError,
  NotFoundError,
  TooLargeResourceVersionError,
} from '../../shared/errors.js';
import type { Logger } from '../../shared/logging.js';
import { revisionOf, versionAfter } from '../storage/resource-version.js';
import type { Compare, Store, StoredValue, TxnOp, TxnResult } from '../storage/store.js';
import type { KubeObject } from './object.js';
import { WatchCache, withRevision, type WatchFilter, type WatcherSink } from './watch-cache.js';

/** How long a read or watch waits for this server to reach a resourceVersion ahead of it. */
const TOO_LARGE_WAIT_MS = 3_000;

/** Bound on remembered writes: a watch cache that re-lists never sees some events come back. */
const MAX_REMEMBERED_WRITES = 10_000;

export interface ResourceIdentity {
  group: string;
  kind: string;
  /** Plural, e.g. `pods`. */
  resource: string;
  namespaced: boolean;
}

/** Extra guards and writes that must commit atomically with an object's own write. */
export interface WriteEffects {
  compares: Compare[];
  ops: TxnOp[];
}

/**
 * Called inside every CAS attempt with the object's state before and after the write (undefined
 * = absent). Its compares make the combined txn safe whatever it read. `retry` says that the
 * previous attempt's transaction failed: a hook that decided on cached state reads the store now
 * (a cache that lags would fail the same compare again).
 */
export type WriteHook = (prev: KubeObject | undefined, next: KubeObject | undefined, retry: boolean) => Promise<WriteEffects>;

export interface WriteOptions {
  /** dryRun=All: every check runs, the hooks' included (capacity, ledger rules), and nothing is written. */
  dryRun?: boolean;
}

export interface UpdateOptions extends WriteOptions {
  /** The mutator never modifies the object it is given (it builds a new one): no defensive copy. */
  keepsCurrent?: boolean;
}

export interface ListQuery {
  namespace?: string;
  matches?: (obj: KubeObject) => boolean;
  limit?: number;
  continueToken?: string;
  /** '' = consistent read from the store; '0' = any (served from the watch cache); N = at least N. */
  resourceVersion?: string;
  resourceVersionMatch?: 'Exact' | 'NotOlderThan';
}

export interface ListPage {
  items: KubeObject[];
  resourceVersion: string;
  continueToken?: string;
  remainingItemCount?: number;
}

interface ContinueState {
  /** The etcd revision every page is read at. */
  rv: number;
  start: string;
}

function encodeContinue(state: ContinueState): string {
  return Buffer.from(JSON.stringify(state)).toString('base64url');
}

function decodeContinue(token: string): ContinueState {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (
      typeof parsed === 'object' && parsed !== null &&
      Number.isSafeInteger((parsed as ContinueState).rv) && (parsed as ContinueState).rv > 0 &&
      typeof (parsed as ContinueState).start === 'string'
    ) {
      return parsed as ContinueState;
    }
  } catch {
    // fall through to the typed error below
  }
  throw new BadRequestError('continue key is not valid: the token is malformed');
}

export function parseResourceVersion(rv: string, what = 'resourceVersion'): number {
  if (!/^\d+$/.test(rv) || rv.length > 16) throw new BadRequestError(`invalid ${what}: "${rv}" is not a valid resource version`);
  return Number(rv);
}

/** An object as a guarded write depends on it: the object and the etcd revision it was written at. */
export interface Held {
  obj: KubeObject;
  modRevision: number;
}

/** The object a read-modify-write starts from, and whether it came from the watch cache. */
interface Starting {
  current: KubeObject | undefined;
  cached: boolean;
}

export class ResourceStore {
  readonly cache: WatchCache;
  private readonly hooks: WriteHook[] = [];
  /**
   * This server's committed writes per key (the object; undefined for a delete), until the watch
   * cache has applied them: read-your-writes for checks and commits that run on cached state.
   */
  private readonly ownWrites = new Map<string, { obj: KubeObject | undefined; modRevision: number }>();
  /** Writes in flight whose watch events may reuse the written object (encodeWrite). */
  private readonly writes = new Map<string, { value: string; obj: KubeObject }>();

  constructor(
    readonly store: Store,
    readonly id: ResourceIdentity,
    log: Logger,
    opts: { watchCacheCapacity: number; onWatcherDropped?: (reason: 'slow' | 'expired') => void },
  ) {
    this.cache = new WatchCache(store, `/${id.resource}/`, log, {
      capacity: opts.watchCacheCapacity,
      decode: (_key, value, rev) => this.decode(value, rev),
      decodeLive: (key, value, rev) => this.decodeWatched(key, value, rev),
      ...(opts.onWatcherDropped ? { onWatcherDropped: opts.onWatcherDropped } : {}),
    });
  }

  /** Register atomic side effects of writes to this resource (e.g. pods ↔ node allocations). */
  addWriteHook(hook: WriteHook): void {
    this.hooks.push(hook);
  }

  key(namespace: string | undefined, name: string): string {
    return this.id.namespaced ? `/${this.id.resource}/${namespace ?? ''}/${name}` : `/${this.id.resource}/${name}`;
  }

  keyPrefix(namespace: string | undefined): string {
    return this.id.namespaced && namespace ? `/${this.id.resource}/${namespace}/` : `/${this.id.resource}/`;
  }

  /** The stored object with its resourceVersion (`version`, see storage/resource-version.ts). */
  decode(value: string, version: number): KubeObject {
    const obj = JSON.parse(value) as KubeObject;
    obj.metadata.resourceVersion = String(version);
    return obj;
  }

  encode(obj: KubeObject): string {
    const { resourceVersion: _rv, ...metadata } = obj.metadata;
    return JSON.stringify({ ...obj, metadata });
  }

  /**
   * `obj` encoded for a write to `key`, remembered so that when the write's watch event comes
   * back the cache takes `obj` instead of parsing the same bytes again (a bound pod's node ledger
   * is re-read on every binding). The caller hands `obj` over: nothing may mutate it afterwards.
   * A write that did not commit must be forgotten (forgetWrite).
   */
  encodeWrite(key: string, obj: KubeObject): string {
    const value = this.encode(obj);
    if (this.writes.size >= MAX_REMEMBERED_WRITES) this.writes.clear();
    this.writes.set(key, { value, obj });
    return value;
  }

  /**
   * The watch cache's object for `key`, unless this server committed a write to it that the cache
   * has not applied yet; then undefined, and the caller reads the store. Read-your-writes for checks
   * that run on cached state (a namespace marked Terminating must refuse the very next create).
   */
  peekFresh(key: string): KubeObject | undefined {
    const own = this.ownWrites.get(key);
    if (own !== undefined) {
      if (this.cache.currentRevision < own.modRevision) return undefined;
      this.ownWrites.delete(key);
    }
    return this.cache.peek(key);
  }

  /**
   * The newest this server knows of `key` without a store read: the watch cache's object, or this
   * server's own later write the cache has not applied yet. Undefined when neither has it (or the
   * newest is this server's own delete): the caller reads the store.
   */
  peekHeld(key: string): Held | undefined {
    const obj = this.cache.peek(key);
    const cachedRev = obj ? revisionOf(Number(obj.metadata.resourceVersion)) : 0;
    const own = this.ownWrites.get(key);
    if (own !== undefined) {
      if (own.modRevision > cachedRev) return own.obj ? { obj: own.obj, modRevision: own.modRevision } : undefined;
      this.ownWrites.delete(key);
    }
    return obj ? { obj, modRevision: cachedRev } : undefined;
  }

  /** A committed write of `obj` (undefined: a delete) to `key` at `version`, for peekFresh and peekHeld. */
  rememberWrite(key: string, obj: KubeObject | undefined, version: number): void {
    if (this.ownWrites.size >= MAX_REMEMBERED_WRITES) this.pruneOwnWrites();
    this.ownWrites.delete(key); // re-inserted last: the map stays in commit order
    this.ownWrites.set(key, { obj: obj && withRevision(obj, version), modRevision: revisionOf(version) });
  }

  /** Drop the writes the watch cache has applied; if it lags that far, the oldest tenth too. */
  private pruneOwnWrites(): void {
    const applied = this.cache.currentRevision;
    for (const [key, own] of this.ownWrites) if (own.modRevision <= applied) this.ownWrites.delete(key);
    if (this.ownWrites.size < MAX_REMEMBERED_WRITES) return;
    let drop = MAX_REMEMBERED_WRITES / 10;
    for (const key of this.ownWrites.keys()) {
      if (drop-- <= 0) break;
      this.ownWrites.delete(key);
    }
  }

  /** A put of `obj` to `key` committed as the txn's first op: remembered; the object at its resourceVersion. */
  private committed(key: string, obj: KubeObject, res: TxnResult): KubeObject {
    this.rememberWrite(key, obj, res.versions[0]!);
    return withRevision(obj, res.versions[0]!);
  }

  forgetWrite(key: string, value: string): void {
    if (this.writes.get(key)?.value === value) this.writes.delete(key);
  }

  private decodeWatched(key: string, value: string, version: number): KubeObject {
    const mine = this.writes.get(key);
    if (mine !== undefined) {
      this.writes.delete(key);
      // Equal bytes are an equal object, whoever wrote them.
      if (mine.value === value) return withRevision(mine.obj, version);
    }
    return this.decode(value, version);
  }

  notFound(name: string): NotFoundError {
    return new NotFoundError(`${this.id.resource}${this.id.group ? `.${this.id.group}` : ''} "${name}" not found`, {
      name,
      group: this.id.group,
      kind: this.id.resource,
    });
  }

  private fromStored(sv: StoredValue): KubeObject {
    return this.decode(sv.value, sv.version);
  }

  async get(namespace: string | undefined, name: string): Promise<KubeObject> {
    const sv = await this.store.get(this.key(namespace, name));
    if (!sv) throw this.notFound(name);
    return this.fromStored(sv);
  }

  async tryGet(namespace: string | undefined, name: string): Promise<KubeObject | undefined> {
    const sv = await this.store.get(this.key(namespace, name));
    return sv ? this.fromStored(sv) : undefined;
  }

  private async effects(prev: KubeObject | undefined, next: KubeObject | undefined, retry = false): Promise<WriteEffects> {
    const all: WriteEffects = { compares: [], ops: [] };
    for (const hook of this.hooks) {
      const e = await hook(prev, next, retry);
      all.compares.push(...e.compares);
      all.ops.push(...e.ops);
    }
    return all;
  }

  /** Create if absent (with the hooks' effects in the same txn). The caller hands `obj` over. */
  async create(obj: KubeObject, opts: WriteOptions = {}): Promise<KubeObject> {
    const name = obj.metadata.name ?? '';
    const key = this.key(obj.metadata.namespace, name);
    if (opts.dryRun) {
      if (await this.store.get(key)) throw this.alreadyExists(name);
      await this.effects(undefined, obj);
      return obj;
    }
    for (let retry = false; ; retry = true) {
      let fx: WriteEffects;
      try {
        fx = await this.effects(undefined, obj, retry);
      } catch (err) {
        // A hook refused (e.g. the pod names a full node); an existing name is the answer that
        // comes first, as in Kubernetes, where the name is checked before anything else.
        if (await this.store.get(key)) throw this.alreadyExists(name);
        throw err;
      }
      const value = this.encodeWrite(key, obj);
      let res: TxnResult;
      try {
        res = await this.store.txn({
          compares: [{ key, modRevision: 0 }, ...fx.compares],
          success: [{ type: 'put', key, value }, ...fx.ops],
          failure: [{ type: 'get', key }],
        });
      } catch (err) {
        this.forgetWrite(key, value);
        throw err;
      }
      if (res.succeeded) return this.committed(key, obj, res);
      this.forgetWrite(key, value);
      if (res.reads[0]) throw this.alreadyExists(name);
      // A hook's guard moved (e.g. an allocation changed): recompute and try again.
    }
  }

  /**
   * Read-modify-write with compare-and-swap. `mutate` gets the current object and returns the
   * next one (or the same object to write nothing). When `expectedResourceVersion` is given, a
   * concurrent change is a 409; otherwise the loop retries against fresh state, as Kubernetes'
   * GuaranteedUpdate does.
   */
  async update(
    namespace: string | undefined,
    name: string,
    mutate: (current: KubeObject) => KubeObject | Promise<KubeObject>,
    expectedResourceVersion?: string,
    opts: UpdateOptions = {},
  ): Promise<KubeObject> {
    const key = this.key(namespace, name);
    let { current, cached } = await this.startingPoint(key, expectedResourceVersion, opts.keepsCurrent === true);
    for (let retry = false; ; retry = true) {
      if (!current) throw this.notFound(name);
      if (expectedResourceVersion !== undefined && expectedResourceVersion !== current.metadata.resourceVersion) {
        throw this.conflict(name);
      }
      let next: KubeObject;
      try {
        next = await mutate(current);
      } catch (err) {
        if (!cached) throw err;
        // Refused on cached state, which may be stale: decide again on the store's.
        ({ current, cached } = await this.fromStore(key));
        continue;
      }
      if (next === current) return current;
      const fx = await this.effects(current, next, retry);
      if (opts.dryRun) return next;
      const res = await this.store.txn({
        compares: [{ key, modRevision: revisionOf(Number(current.metadata.resourceVersion)) }, ...fx.compares],
        success: [{ type: 'put', key, value: this.encode(next) }, ...fx.ops],
        failure: [{ type: 'get', key }],
      });
      if (res.succeeded) return this.committed(key, next, res);
      const fresh = res.reads[0];
      current = fresh ? this.fromStored(fresh) : undefined;
      cached = false;
    }
  }

  /**
   * Where a read-modify-write starts: the watch cache's copy when it can only be right or
   * harmlessly stale (a stale one fails the CAS, which returns the fresh value in the same round
   * trip), else a read from the store. Saves a store round trip per write in the common case.
   * A 409 or 404 is never decided on cached state: a cache that lags would turn into a false one.
   */
  private async startingPoint(key: string, expectedResourceVersion: string | undefined, keepsCurrent: boolean): Promise<Starting> {
    const hit = this.cache.peek(key);
    if (hit && (expectedResourceVersion === undefined || expectedResourceVersion === hit.metadata.resourceVersion)) {
      // The cache's objects are shared with watchers and lists: a mutator that may change what it
      // is given gets its own copy.
      return { current: keepsCurrent ? hit : structuredClone(hit), cached: true };
    }
    return this.fromStore(key);
  }

  private async fromStore(key: string): Promise<Starting> {
    const sv = await this.store.get(key);
    return { current: sv ? this.fromStored(sv) : undefined, cached: false };
  }

  /** Delete (with preconditions checked by `check` against the current object). Returns the last state. */
  async delete(
    namespace: string | undefined,
    name: string,
    check?: (current: KubeObject) => void,
    opts: WriteOptions = {},
  ): Promise<KubeObject> {
    const key = this.key(namespace, name);
    let { current, cached } = await this.startingPoint(key, undefined, false);
    for (let retry = false; ; retry = true) {
      if (!current) throw this.notFound(name);
      try {
        check?.(current);
      } catch (err) {
        if (!cached) throw err;
        ({ current, cached } = await this.fromStore(key));
        continue;
      }
      const fx = await this.effects(current, undefined, retry);
      if (opts.dryRun) return current;
      const res = await this.store.txn({
        compares: [{ key, modRevision: revisionOf(Number(current.metadata.resourceVersion)) }, ...fx.compares],
        success: [{ type: 'delete', key }, ...fx.ops],
        failure: [{ type: 'get', key }],
      });
      // The last state, at the delete's resourceVersion (as its watch event carries it).
      if (res.succeeded) {
        this.rememberWrite(key, undefined, res.versions[0]!);
        return withRevision(current, res.versions[0]!);
      }
      const fresh = res.reads[0];
      current = fresh ? this.fromStored(fresh) : undefined;
      cached = false;
    }
  }

  alreadyExists(name: string): AlreadyExistsError {
    return new AlreadyExistsError(`${this.id.resource}${this.id.group ? `.${this.id.group}` : ''} "${name}" already exists`, {
      name,
      group: this.id.group,
      kind: this.id.resource,
    });
  }

  conflict(name: string): ConflictError {
    return new ConflictError(
      `Operation cannot be fulfilled on ${this.id.resource}${this.id.group ? `.${this.id.group}` : ''} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      { name, group: this.id.group, kind: this.id.resource },
    );
  }

  /** A page of matching objects, read at one revision across pages. */
  async list(q: ListQuery): Promise<ListPage> {
    const prefix = this.keyPrefix(q.namespace);
    const matches = q.matches ?? (() => true);
    const limit = q.limit && q.limit > 0 ? q.limit : 0;

    if (!q.continueToken && q.resourceVersion === '0' && q.resourceVersionMatch !== 'Exact') {
      // Served from the watch cache: cheap, possibly slightly stale, as in Kubernetes.
      const { items, revision } = await this.cache.list(prefix);
      const selected = items.filter(matches);
      return { items: selected, resourceVersion: String(versionAfter(revision)) };
    }

    let revision: number | undefined;
    let start = prefix;
    if (q.continueToken) {
      const state = decodeContinue(q.continueToken);
      if (!state.start.startsWith(prefix)) throw new BadRequestError('continue key is not valid: it belongs to another list');
      revision = state.rv;
      start = state.start;
    } else if (q.resourceVersion && q.resourceVersionMatch === 'Exact') {
      // A snapshot holds whole etcd revisions: the one the version was written in.
      revision = revisionOf(await this.reached(q.resourceVersion));
    } else if (q.resourceVersion) {
      await this.reached(q.resourceVersion); // the latest state is never older
    }

    const items: KubeObject[] = [];
    const pageSize = limit > 0 ? Math.max(limit, 50) : 0;
    for (;;) {
      let page;
      try {
        page = await this.store.list(prefix, {
          ...(revision !== undefined ? { revision } : {}),
          ...(pageSize > 0 ? { limit: pageSize } : {}),
          startKey: start,
        });
      } catch (err) {
        if (err instanceof CompactedError && q.continueToken) {
          throw new ExpiredError(
            'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.',
          );
        }
        throw err;
      }
      revision = page.revision;
      for (let i = 0; i < page.items.length; i++) {
        const sv = page.items[i]!;
        const obj = this.fromStored(sv);
        if (!matches(obj)) continue;
        items.push(obj);
        if (limit > 0 && items.length === limit) {
          const more = i < page.items.length - 1 || page.more;
          if (!more) return { items, resourceVersion: String(versionAfter(revision)) };
          const result: ListPage = {
            items,
            resourceVersion: String(versionAfter(revision)),
            continueToken: encodeContinue({ rv: revision, start: `${sv.key}\u0000` }),
          };
          if (!q.matches) result.remainingItemCount = page.remaining + (page.items.length - 1 - i);
          return result;
        }
      }
      if (!page.more || page.items.length === 0) return { items, resourceVersion: String(versionAfter(revision)) };
      start = `${page.items[page.items.length - 1]!.key}\u0000`;
    }
  }

  /**
   * `resourceVersion`, parsed, once this server has caught up with it: a version it has not
   * reached within a few seconds (ahead of its watch, or never written) is a 504 that tells the
   * client to retry, as kube-apiserver answers.
   */
  async reached(resourceVersion: string): Promise<number> {
    const version = parseResourceVersion(resourceVersion);
    const revision = revisionOf(version);
    // The cache moves only with this resource's writes; the store knows every revision.
    if (this.cache.currentRevision >= revision) return version;
    const deadline = Date.now() + TOO_LARGE_WAIT_MS;
    for (;;) {
      const current = await this.store.currentRevision();
      if (current >= revision) return version;
      const left = deadline - Date.now();
      if (left <= 0) throw new TooLargeResourceVersionError(resourceVersion, String(versionAfter(current)));
      await this.cache.waitForRevision(revision, Math.min(left, 250));
    }
  }

  /** Watch through the cache, from `after` (a resourceVersion this server has `reached`). */
  watch(after: number | undefined, filter: WatchFilter, sink: WatcherSink): Promise<() => void> {
    return this.cache.watch(after, filter, sink);
  }
}
