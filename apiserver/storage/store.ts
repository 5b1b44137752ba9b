// The versioned store the API server keeps cluster state in (DESIGN §6). Two backends implement it:
// etcd (the real one) and memory (embedded default, fast unit tests). Both give etcd's MVCC model:
// one global revision that every write bumps, per-key create/mod revisions, history for watches
// until compaction. Keys are relative to the backend's prefix (e.g. `/pods/default/web-1`).

import type { CellError } from '../../shared/errors.js';

/** etcd's default `--max-txn-ops`. */
export const MAX_TXN_OPS = 128;
/** etcd's default `--max-request-bytes` (1.5 MiB). */
export const MAX_REQUEST_BYTES = 1.5 * 1024 * 1024;

export interface StoredValue {
  key: string;
  value: string;
  /** Revision of the last write to this key: the object's resourceVersion. */
  modRevision: number;
  /** Revision at which the key was created. */
  createRevision: number;
  /** The write's resourceVersion: modRevision and its position in that revision (resource-version.ts). */
  version: number;
}

/**
 * A guard of a transaction. `modRevision: 0` means "the key must not exist" (etcd compares a
 * missing key's mod_revision as 0).
 */
export interface Compare {
  key: string;
  modRevision: number;
}

export type TxnOp =
  /**
   * `ttlSeconds`: the key is deleted (a watch sees the delete) at least that long after this
   * write, unless written again; etcd does it with a lease. Events expire this way.
   */
  | { type: 'put'; key: string; value: string; ttlSeconds?: number }
  | { type: 'delete'; key: string }
  | { type: 'get'; key: string };

export interface TxnRequest {
  compares: Compare[];
  /** Run when every compare holds. */
  success: TxnOp[];
  /** Run when any compare fails — typically `get`s, so the caller sees fresh state in the same round trip. */
  failure?: TxnOp[];
}

export interface TxnResult {
  succeeded: boolean;
  /** Store revision after the txn (the revision of its writes when it wrote anything). */
  revision: number;
  /** Results of the `get` ops of the branch that ran, in op order (undefined = key absent). */
  reads: (StoredValue | undefined)[];
  /** The resourceVersion of each op of the branch that ran, by op index (undefined for gets). */
  versions: (number | undefined)[];
}

export interface ListOptions {
  /** Read at this revision (a consistent snapshot); default: current. Compacted → CompactedError. */
  revision?: number;
  /** At most this many items; `more` says whether others remain. 0/undefined = no limit. */
  limit?: number;
  /** Start at this key (inclusive) — used to continue a paginated list. */
  startKey?: string;
}

export interface ListResult {
  items: StoredValue[];
  /** The revision the list was read at. */
  revision: number;
  more: boolean;
  /** Items after this page, when known. */
  remaining: number;
}

export interface WatchEvent {
  type: 'put' | 'delete';
  key: string;
  /** Revision of this change. */
  modRevision: number;
  /** resourceVersion of this change (for a delete, derived in the stream: resource-version.ts). */
  version: number;
  /** Value after the change (put only). */
  value?: string;
  /** For puts: the revision the key was created at. */
  createRevision?: number;
  /** Value before the change, when the key existed. */
  prevValue?: string;
  /** Previous mod revision, when the key existed. */
  prevModRevision?: number;
  /** Previous resourceVersion, when the key existed. */
  prevVersion?: number;
}

export interface WatchHandlers {
  /** Events in revision order, each exactly once; a batch may span several revisions. */
  onEvents(events: WatchEvent[]): void;
  /**
   * The watch ended and will deliver nothing more: CompactedError when history was compacted past
   * the next undelivered revision (caller re-lists), UnavailableError when the store is gone.
   */
  onError(err: CellError): void;
}

export interface WatchOptions {
  /**
   * Whether events carry the value before each change (prevValue, prevModRevision, prevVersion);
   * default true. A watcher that keeps the current state itself (the watch cache) says false:
   * etcd then neither reads the previous revision of every changed key nor sends it, which
   * halves what each API server replica receives for following the store.
   */
  prevValues?: boolean;
}

export interface StoreWatch {
  cancel(): void;
}

export interface Store {
  get(key: string): Promise<StoredValue | undefined>;
  /** Create-if-absent. AlreadyExistsError when the key exists. */
  create(key: string, value: string): Promise<StoredValue>;
  /** Write guarded by the key's mod revision. NotFoundError / ConflictError. */
  update(key: string, value: string, expectedModRevision: number): Promise<StoredValue>;
  /** Delete, guarded by the mod revision when given. Returns the delete's revision. NotFoundError / ConflictError. */
  delete(key: string, expectedModRevision?: number): Promise<number>;
  /** Multi-key compare-and-swap. TxnTooLargeError past MAX_TXN_OPS / MAX_REQUEST_BYTES. */
  txn(req: TxnRequest): Promise<TxnResult>;
  /** Keys starting with `prefix`, in key order. */
  list(prefix: string, opts?: ListOptions): Promise<ListResult>;
  /**
   * Changes to keys under `prefix` with revision > `afterRevision`. Watch a resource's whole
   * prefix: delete versions are derived from the other events of the stream.
   */
  watch(prefix: string, afterRevision: number, handlers: WatchHandlers, opts?: WatchOptions): StoreWatch;
  /** Discard history before `revision`. */
  compact(revision: number): Promise<void>;
  currentRevision(): Promise<number>;
  /**
   * Resolves when the service behind the store answers a quorum read within `timeoutMs` (the API
   * server's readiness check); absent for a store in this process, which cannot be unreachable.
   */
  ping?(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
  /** How many transactions and point reads were asked for and how many requests carried them (batching backends). */
  batchingStats?(): BatchingStats;
}

export interface BatchingStats {
  txns: number;
  txnCalls: number;
  reads: number;
  readCalls: number;
}
