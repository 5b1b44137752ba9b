// Typed access to one resource's objects in the store: keys, (de)serialisation, resourceVersion,
// writes (each a caller of the guarded-transaction core, with the resource's write hooks joining
// the object's transaction), this server's own writes (own-writes.ts), paginated lists, and the
// resource's watch cache. Kubernetes verb semantics (defaulting, status split, graceful delete)
// live one layer up, in rest.ts.
import {
  AlreadyExistsError,
  BadRequestError,
  CompactedError,
  ConflictError,
  ExpiredError,
  InternalError,
  NotFoundError,
  TooLargeResourceVersionError,
  TooManyRequestsError,
} from '../../shared/errors.js';
import type { Logger } from '../../shared/logging.js';
import { revisionOf, versionAfter } from '../storage/resource-version.js';
import type { Compare, Store, StoredValue, TxnOp } from '../storage/store.js';
import { GuardedTransactions, type Decision, type HeldWrite, type Reading, type Snapshot } from './guarded-txn.js';
import type { KubeObject } from './object.js';
import { InFlightWrites } from './in-flight-writes.js';
import { OWN_WRITES_CAPACITY, OWN_WRITES_LAG_LIMIT, OwnWrites } from './own-writes.js';
import { rememberStoredForm } from './served-json.js';
import { WatchCache, withRevision, type WatchFilter, type WatcherSink } from './watch-cache.js';

/**
 * A list that asks for everything (the audit's, an informer's from the store) is read from etcd in
 * pages of about this many bytes, each at the first page's revision: a million pods in one range —
 * or 10,000 full node ledgers, 100 MB — would not come back within a request's deadline. The first
 * page is STORE_LIST_FIRST_PAGE objects; later ones are sized from the bytes per object seen so far.
 */
export const STORE_LIST_PAGE_BYTES = 8 * 2 ** 20;
export const STORE_LIST_FIRST_PAGE = 500;
/** etcd 3.4 walks its whole index from the page's first key to count what remains: not too many pages. */
const STORE_LIST_MAX_PAGE = 50_000;

/** How long a read or watch waits for this server to reach a resourceVersion ahead of it. */
const TOO_LARGE_WAIT_MS = 3_000;

/**
 * How long a create waits for a lagging watch cache (createRoom) before it is refused with 429. A
 * cache that is merely behind catches up within milliseconds of the first event it applies; one
 * that applies nothing this long is stalled (its etcd watch broken), and creates should fail fast.
 */
export const CREATE_LAG_WAIT_MS = 10_000;

export interface ResourceIdentity {
  group: string;
  kind: string;
  /** Plural, e.g. `pods`. */
  resource: string;
  namespaced: boolean;
  /**
   * The key segment objects are kept under: the resource name for built-in kinds (DESIGN's
   * layout), `<group>/<plural>` for custom resources, as Kubernetes keeps them.
   */
  storagePath?: string;
}

/** Extra guards and writes that must commit atomically with an object's own write. */
export interface WriteEffects {
  compares: Compare[];
  ops: TxnOp[];
  /**
   * Objects of other resources written with it (a node's ledger), guarded by the mod revision
   * they were read at: unlike `ops`, this server's own writes (read-your-writes until its watch
   * cache has them, and their watch events reuse the objects).
   */
  writes?: HeldWrite[];
}

/** What a write hook returns when the write needs nothing else: shared, so never changed. */
export const NO_EFFECTS: WriteEffects = Object.freeze({ compares: Object.freeze([]) as unknown as Compare[], ops: Object.freeze([]) as unknown as TxnOp[] });

/**
 * Called inside every CAS attempt with the object's state before and after the write (undefined
 * = absent). Its compares make the combined txn safe whatever it read. `retry` says that the write
 * is decided on the store's state — what the hooks answered before did not commit (its transaction
 * failed, or the write was refused on cached state and is being confirmed), or it is a dry run: a
 * hook that decides on cached state reads the store now (a cache that lags would fail the same
 * compare again).
 */
export type WriteHook = (prev: KubeObject | undefined, next: KubeObject | undefined, retry: boolean) => Promise<WriteEffects>;

/** The decision that writes `next` over `prev`, the hooks asked (see ResourceStore.write). */
type Writing = (
  prev: KubeObject | undefined,
  next: KubeObject | undefined,
  finish: (versions: readonly number[] | undefined, values?: readonly (string | undefined)[]) => KubeObject,
) => Promise<Decision<KubeObject>>;

/** `obj` as written at `version`, the answer to its write: served from the string it was stored as. */
function written(obj: KubeObject, versions: readonly number[], values: readonly (string | undefined)[] | undefined): KubeObject {
  const version = versions[0]!;
  const value = values?.[0];
  const at = withRevision(obj, version);
  return value === undefined ? at : rememberStoredForm(at, { value, version });
}

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

/** Where a watch begins (ResourceStore.watchStart). */
export type WatchStart =
  /** The changes after this resourceVersion. */
  | { kind: 'after'; version: number }
  /** The watch cache's current state as ADDED events, then the changes after it. */
  | { kind: 'cached' }
  /** The state a consistent read of the store returns, as ADDED events, then the changes after it. */
  | { kind: 'consistent' };

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

/**
 * A resource's own way between objects and their stored strings (placement/ledger-encoding.ts):
 * `encode` gives the same JSON as serialising the object (without its resourceVersion), made
 * faster from what the codec remembers of the key's last string; `decode` the same object as
 * parsing the string, remembering what helps the next encode of the key.
 */
export interface StoredCodec {
  encode(key: string, obj: KubeObject): string;
  decode(key: string, value: string): KubeObject;
}

/** An object as a guarded write depends on it: the object and the etcd revision it was written at. */
export interface Held {
  obj: KubeObject;
  modRevision: number;
}

export class ResourceStore {
  /** Objects expire this long after their last write (an etcd lease); undefined = never. */
  readonly ttlSeconds: number | undefined;
  readonly cache: WatchCache;
  private readonly hooks: WriteHook[] = [];
  /** This server's writes until the watch cache has them: reuse of its objects, read-your-writes. */
  private readonly own: OwnWrites;
  /** This server's writes to the resource on their way to etcd (guarded-txn.ts waits for them). */
  readonly inFlight = new InFlightWrites();
  private readonly txns: GuardedTransactions;
  private readonly onCreateWait: ((outcome: 'waited' | 'refused') => void) | undefined;
  private readonly cacheLagWaitMs: number;
  private readonly codec: StoredCodec | undefined;
  private readonly listPageBytes: number;
  private readonly listFirstPage: number;

  constructor(
    readonly store: Store,
    readonly id: ResourceIdentity,
    log: Logger,
    opts: {
      watchCacheCapacity: number;
      onWatcherDropped?: (reason: 'slow' | 'expired') => void;
      /** Every object expires this long after its last write (Events: kube-apiserver's --event-ttl). */
      ttlSeconds?: number;
      /** Commits of this server the watch cache may lag behind before creates wait (OWN_WRITES_LAG_LIMIT; 0 = no limit). */
      maxCacheLag?: number;
      /** How long a create waits for a lagging watch cache before 429 (CREATE_LAG_WAIT_MS). */
      cacheLagWaitMs?: number;
      /** A create waited for the watch cache to catch up, and got room or was refused. */
      onCreateWait?: (outcome: 'waited' | 'refused') => void;
      /** How objects are encoded and decoded, when not by serialising and parsing each whole. */
      codec?: StoredCodec;
      /** Decoded objects the watch cache keeps (DECODED_CACHE_SIZE by default). */
      decodedCapacity?: number;
      /** Bytes per store read of a list that asked for no limit (STORE_LIST_PAGE_BYTES), and objects in the first. */
      listPageBytes?: number;
      listFirstPage?: number;
    },
  ) {
    this.listPageBytes = opts.listPageBytes ?? STORE_LIST_PAGE_BYTES;
    this.listFirstPage = opts.listFirstPage ?? STORE_LIST_FIRST_PAGE;
    this.codec = opts.codec;
    this.ttlSeconds = opts.ttlSeconds;
    this.onCreateWait = opts.onCreateWait;
    this.cacheLagWaitMs = opts.cacheLagWaitMs ?? CREATE_LAG_WAIT_MS;
    const lagLimit = opts.maxCacheLag ?? OWN_WRITES_LAG_LIMIT;
    this.own = new OwnWrites(() => this.cache.currentRevision, Math.max(OWN_WRITES_CAPACITY, 2 * lagLimit), lagLimit);
    this.cache = new WatchCache(store, `/${id.storagePath ?? id.resource}/`, log, {
      capacity: opts.watchCacheCapacity,
      decode: (key, value, rev) => this.decode(value, rev, key),
      ...(opts.decodedCapacity !== undefined ? { decodedCapacity: opts.decodedCapacity } : {}),
      ownWrites: this.own,
      ...(opts.onWatcherDropped ? { onWatcherDropped: opts.onWatcherDropped } : {}),
    });
    this.txns = new GuardedTransactions(store);
  }

  /** This server's commits to the resource that its watch cache has not applied yet (what creates wait on). */
  get cacheLag(): number {
    return this.own.lag;
  }

  /** The etcd revision the resource's watch cache has applied everything up to. */
  get cacheRevision(): number {
    return this.cache.currentRevision;
  }

  /** Register atomic side effects of writes to this resource (e.g. pods ↔ node allocations). */
  addWriteHook(hook: WriteHook): void {
    this.hooks.push(hook);
  }

  key(namespace: string | undefined, name: string): string {
    const root = this.id.storagePath ?? this.id.resource;
    return this.id.namespaced ? `/${root}/${namespace ?? ''}/${name}` : `/${root}/${name}`;
  }

  keyPrefix(namespace: string | undefined): string {
    const root = this.id.storagePath ?? this.id.resource;
    return this.id.namespaced && namespace ? `/${root}/${namespace}/` : `/${root}/`;
  }

  /**
   * The stored object with its resourceVersion (`version`, see storage/resource-version.ts); read
   * through the resource's codec when the caller says which key it was stored at.
   */
  decode(value: string, version: number, key?: string): KubeObject {
    const obj = (key !== undefined && this.codec !== undefined ? this.codec.decode(key, value) : JSON.parse(value)) as KubeObject;
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
    const value = this.codec?.encode(key, obj) ?? this.encode(obj);
    this.own.sending(key, value, obj);
    return value;
  }

  /**
   * Backpressure before a create: undefined when it may go now. Otherwise the watch cache lags too
   * far behind this server's commits (OwnWrites.room): resolves once it has caught up, or rejects
   * with 429 when it has not within CREATE_LAG_WAIT_MS (the client retries after Retry-After):
   * nothing is written then.
   */
  private createRoom(): Promise<void> | undefined {
    const room = this.own.room(this.cacheLagWaitMs);
    if (room === undefined) return undefined;
    return room.then((ok) => {
      this.onCreateWait?.(ok ? 'waited' : 'refused');
      if (!ok) throw new TooManyRequestsError(`the ${this.id.resource} watch cache is ${this.own.lag} writes behind this server's commits; try again`, 1);
    });
  }

  forgetWrite(key: string, value: string): void {
    this.own.notCommitted(key, value);
  }

  /** A committed write of `obj` (undefined: a delete) to `key` at `version`, for peekFresh and peekHeld. */
  rememberWrite(key: string, obj: KubeObject | undefined, version: number): void {
    this.own.committed(key, obj, version);
  }

  /**
   * The watch cache's object for `key`, unless this server committed a write to it that the cache
   * has not applied yet; then undefined, and the caller reads the store. Read-your-writes for checks
   * that run on cached state (a namespace marked Terminating must refuse the very next create).
   */
  peekFresh(key: string): KubeObject | undefined {
    return this.own.unapplied(key) ? undefined : this.cache.peek(key);
  }

  /**
   * The newest this server knows of `key` without a store read: the watch cache's object, or this
   * server's own later write the cache has not applied yet. Undefined when neither has it, or the
   * newest is this server's own delete.
   */
  peekHeld(key: string): Held | undefined {
    const own = this.own.unapplied(key);
    if (own) return own.obj && { obj: own.obj, modRevision: own.modRevision };
    const obj = this.cache.peek(key);
    return obj && { obj, modRevision: revisionOf(Number(obj.metadata.resourceVersion)) };
  }

  notFound(name: string): NotFoundError {
    return new NotFoundError(`${this.id.resource}${this.id.group ? `.${this.id.group}` : ''} "${name}" not found`, {
      name,
      group: this.id.group,
      kind: this.id.resource,
    });
  }

  private fromStored(sv: StoredValue): KubeObject {
    return this.decode(sv.value, sv.version, sv.key);
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

  /** Create if absent (with the hooks' effects in the same txn). The caller hands `obj` over. */
  async create(obj: KubeObject, opts: WriteOptions = {}): Promise<KubeObject> {
    // Backpressure on new work only: updates, bindings and deletes work the backlog down and go on.
    if (!opts.dryRun) {
      const room = this.createRoom();
      if (room !== undefined) await room;
    }
    const name = obj.metadata.name ?? '';
    const key = this.key(obj.metadata.namespace, name);
    return this.write(key, opts, async (state, _reading, hooks) => {
      // An existing name is the answer that comes first, as in Kubernetes, where the name is
      // checked before anything else (a hook that refuses, e.g. a pod naming a full node, after).
      if (state.get(key)) throw this.alreadyExists(name);
      return hooks(undefined, obj, (versions, values) => (versions ? written(obj, versions, values) : obj));
    });
  }

  /**
   * Read-modify-write with compare-and-swap. `mutate` gets the current object and returns the
   * next one (or the same object to write nothing). When `expectedResourceVersion` is given, a
   * concurrent change is a 409; otherwise the write is decided again on fresh state until it
   * commits, as Kubernetes' GuaranteedUpdate does. It starts from the watch cache (with this
   * server's own later writes): a stale start only fails the compare, which reads the fresh state
   * in the same round trip; a 404, a 409 or a refusal by `mutate` is never answered from it.
   */
  async update(
    namespace: string | undefined,
    name: string,
    mutate: (current: KubeObject) => KubeObject | Promise<KubeObject>,
    expectedResourceVersion?: string,
    opts: UpdateOptions = {},
  ): Promise<KubeObject> {
    const key = this.key(namespace, name);
    return this.write(key, opts, async (state, { fresh }, hooks) => {
      const held = state.get(key);
      if (!held) throw this.notFound(name);
      if (expectedResourceVersion !== undefined && expectedResourceVersion !== held.obj.metadata.resourceVersion) throw this.conflict(name);
      // Cached objects are shared with watchers and lists: a mutator that may change what it is
      // given gets its own copy.
      const current = fresh || opts.keepsCurrent ? held.obj : structuredClone(held.obj);
      const next = await mutate(current);
      if (next === current) return { writes: [], refused: false, finish: () => current };
      return hooks(current, next, (versions, values) => (versions ? written(next, versions, values) : next));
    });
  }

  /** Delete (with preconditions checked by `check` against the current object). Returns the last state. */
  async delete(
    namespace: string | undefined,
    name: string,
    check?: (current: KubeObject) => void,
    opts: WriteOptions = {},
  ): Promise<KubeObject> {
    const key = this.key(namespace, name);
    return this.write(key, opts, async (state, _reading, hooks) => {
      const current = state.get(key)?.obj;
      if (!current) throw this.notFound(name);
      check?.(current);
      // The last state, at the delete's resourceVersion (as its watch event carries it).
      return hooks(current, undefined, (versions) => (versions ? withRevision(current, versions[0]!) : current));
    });
  }

  /**
   * One object's write through the guarded-transaction core. `decide` ends in `hooks(prev, next,
   * finish)`: `key` becoming `next` (undefined: deleted), with the write hooks' guards and writes.
   */
  private async write(key: string, opts: WriteOptions, decide: (state: Snapshot, reading: Reading, hooks: Writing) => Promise<Decision<KubeObject>>): Promise<KubeObject> {
    let asked = false;
    let fresh = false;
    const hooks: Writing = async (prev, next, finish) => {
      // Decided on the store's state (a dry run, a confirmation, a retry): the hooks read it too.
      const retry = asked || fresh;
      asked = true;
      const also: WriteEffects = { compares: [], ops: [], writes: [] };
      for (const hook of this.hooks) {
        const e = await hook(prev, next, retry);
        also.compares.push(...e.compares);
        also.ops.push(...e.ops);
        if (e.writes) also.writes!.push(...e.writes);
      }
      return { writes: [{ objects: this, key, obj: next }], also, refused: false, finish };
    };
    const outcome = await this.txns.run(
      [{ objects: this, key }],
      (state, reading) => {
        fresh = reading.fresh;
        return decide(state, reading, hooks);
      },
      opts.dryRun ? { dryRun: true } : {},
    );
    // No attempt or byte bound is given, so it commits or throws (the store refuses what is too large).
    if (outcome.kind !== 'done') throw new InternalError(`a write to ${key} ended as ${outcome.kind}`);
    return outcome.result;
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
    // Pages even when the client asked for everything (STORE_LIST_PAGE_BYTES), all at one revision.
    let pageSize = limit > 0 ? Math.max(limit, 50) : this.listFirstPage;
    let readObjects = 0;
    let readBytes = 0;
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
      if (limit === 0) {
        readObjects += page.items.length;
        for (const sv of page.items) readBytes += sv.value.length;
        const perObject = readObjects > 0 ? Math.max(1, readBytes / readObjects) : 1;
        pageSize = Math.min(STORE_LIST_MAX_PAGE, Math.max(this.listFirstPage, Math.floor(this.listPageBytes / perObject)));
      }
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

  /**
   * Where a watch of `resourceVersion` begins, as Kubernetes defines it (resolved before the stream
   * opens, so that a version this server cannot reach is a 504 and not a broken stream):
   * - without sendInitialEvents (the legacy default): "" is the current state, read consistently,
   *   as ADDED events; "0" the cached state, possibly a moment old; N the changes after N;
   * - sendInitialEvents=true (watch-list): the state as ADDED events — "" consistent, "0" cached,
   *   N a state at least as new as N (the cache's when it has reached N, else the store's);
   * - sendInitialEvents=false: no initial state; the changes after N, or after now for "" and "0".
   */
  async watchStart(resourceVersion: string, sendInitialEvents: boolean | undefined): Promise<WatchStart> {
    const unset = resourceVersion === '' || resourceVersion === '0';
    if (sendInitialEvents === false && unset) {
      const now = resourceVersion === '0' ? this.cache.currentRevision : await this.store.currentRevision();
      return { kind: 'after', version: versionAfter(now) };
    }
    if (sendInitialEvents !== true && !unset) return { kind: 'after', version: await this.reached(resourceVersion) };
    if (resourceVersion === '0') return { kind: 'cached' };
    if (resourceVersion === '') return { kind: 'consistent' };
    const version = await this.reached(resourceVersion);
    return this.cache.currentRevision >= revisionOf(version) ? { kind: 'cached' } : { kind: 'consistent' };
  }

  /** Watch through the cache, from a start `watchStart` resolved. */
  watch(start: WatchStart, filter: WatchFilter, sink: WatcherSink): Promise<() => void> {
    switch (start.kind) {
      case 'after':
        return this.cache.watch(start.version, filter, sink);
      case 'cached':
        return this.cache.watch(undefined, filter, sink);
      case 'consistent':
        return this.cache.watchConsistent(filter, sink);
    }
  }
}
