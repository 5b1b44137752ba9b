// A Store that forwards everything to a real one, but can run an action just before a chosen
// transaction is sent: a deterministic way to make another writer get there first (a race that
// otherwise needs luck), for tests of what the API server does when its compare-and-swap fails.
import type { ListOptions, Store, TxnRequest, WatchHandlers, WatchOptions } from '../../apiserver/storage/store.js';

export class InterceptingStore implements Store {
  private hooks: { match: (req: TxnRequest) => boolean; action: () => Promise<void> }[] = [];

  constructor(private readonly inner: Store) {}

  /** Before the next transaction that `match`es is sent, run `action` (once). */
  beforeNextTxn(match: (req: TxnRequest) => boolean, action: () => Promise<void>): void {
    this.hooks.push({ match, action });
  }

  /** Whether a transaction writes `key` (a put or a delete in its success branch). */
  static writes(req: TxnRequest, key: string, type?: 'put' | 'delete'): boolean {
    return req.success.some((op) => op.key === key && op.type !== 'get' && (type === undefined || op.type === type));
  }

  async txn(req: TxnRequest) {
    const i = this.hooks.findIndex((h) => h.match(req));
    if (i >= 0) {
      const [hook] = this.hooks.splice(i, 1);
      await hook!.action();
    }
    return this.inner.txn(req);
  }

  get(key: string) {
    return this.inner.get(key);
  }
  create(key: string, value: string) {
    return this.inner.create(key, value);
  }
  update(key: string, value: string, rev: number) {
    return this.inner.update(key, value, rev);
  }
  delete(key: string, rev?: number) {
    return this.inner.delete(key, rev);
  }
  list(prefix: string, opts?: ListOptions) {
    return this.inner.list(prefix, opts);
  }
  watch(prefix: string, after: number, handlers: WatchHandlers, opts?: WatchOptions) {
    return this.inner.watch(prefix, after, handlers, opts);
  }
  compact(revision: number) {
    return this.inner.compact(revision);
  }
  currentRevision() {
    return this.inner.currentRevision();
  }
  close() {
    return this.inner.close();
  }
}
