// A Store decorator that times every operation into the API server's store-latency histogram.
import type { Histogram } from 'prom-client';
import type { ListOptions, Store, TxnRequest, WatchHandlers, WatchOptions } from './store.js';

function resourceOf(key: string): string {
  return key.split('/')[1] ?? '';
}

export class InstrumentedStore implements Store {
  readonly ping?: (timeoutMs: number) => Promise<void>;
  constructor(
    private readonly inner: Store,
    private readonly histogram: Histogram<'operation' | 'type'>,
  ) {
    const ping = inner.ping?.bind(inner);
    if (ping) this.ping = ping;
  }

  private async time<T>(operation: string, key: string, fn: () => Promise<T>): Promise<T> {
    const end = this.histogram.startTimer({ operation, type: resourceOf(key) });
    try {
      return await fn();
    } finally {
      end();
    }
  }

  get(key: string) {
    return this.time('get', key, () => this.inner.get(key));
  }
  create(key: string, value: string) {
    return this.time('create', key, () => this.inner.create(key, value));
  }
  update(key: string, value: string, rev: number) {
    return this.time('update', key, () => this.inner.update(key, value, rev));
  }
  delete(key: string, rev?: number) {
    return this.time('delete', key, () => this.inner.delete(key, rev));
  }
  txn(req: TxnRequest) {
    return this.time('txn', req.compares[0]?.key ?? req.success[0]?.key ?? '', () => this.inner.txn(req));
  }
  list(prefix: string, opts?: ListOptions) {
    return this.time('list', prefix, () => this.inner.list(prefix, opts));
  }
  watch(prefix: string, after: number, handlers: WatchHandlers, opts?: WatchOptions) {
    return this.inner.watch(prefix, after, handlers, opts);
  }
  compact(revision: number) {
    return this.time('compact', '', () => this.inner.compact(revision));
  }
  currentRevision() {
    return this.time('revision', '', () => this.inner.currentRevision());
  }
  close() {
    return this.inner.close();
  }
}
