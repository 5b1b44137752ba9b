// The API server's Prometheus metrics, in Kubernetes' names where they exist. One registry per
// server instance, so several servers in one test process do not collide.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BatchingStats } from './storage/store.js';

/** One resource's watch cache, as /metrics reports it. */
export interface WatchCacheFigures {
  resource: string;
  /** This server's commits it has not applied. */
  lag: number;
  /** The etcd revision it has applied. */
  revision: number;
}

export class ApiServerMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'apiserver_request_total',
    help: 'Requests by verb, resource, subresource and HTTP code.',
    labelNames: ['verb', 'resource', 'subresource', 'code'] as const,
    registers: [this.registry],
  });
  readonly requestDuration = new Histogram({
    name: 'apiserver_request_duration_seconds',
    help: 'Request latency by verb and resource (watches excluded).',
    labelNames: ['verb', 'resource'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly watchers = new Gauge({
    name: 'apiserver_registered_watchers',
    help: 'Open watches by resource.',
    labelNames: ['resource'] as const,
    registers: [this.registry],
  });
  readonly terminatedWatchers = new Counter({
    name: 'apiserver_terminated_watchers_total',
    help: 'Watches the server ended because the client could not keep up, or history expired.',
    labelNames: ['resource', 'reason'] as const,
    registers: [this.registry],
  });
  readonly createLagWaits = new Counter({
    name: 'apiserver_create_lag_waits_total',
    help: 'Creates that waited for a watch cache lagging behind this server\'s commits: given room, or refused with 429.',
    labelNames: ['resource', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly requestAborts = new Counter({
    name: 'cell_apiserver_request_aborts_total',
    help: 'Requests whose client went away before sending its whole body.',
    registers: [this.registry],
  });
  readonly inflight = new Gauge({
    name: 'apiserver_current_inflight_requests',
    help: 'Requests being served (watches excluded).',
    registers: [this.registry],
  });
  readonly requestTimeouts = new Counter({
    name: 'cell_apiserver_request_timeouts_total',
    help: 'Requests answered 504 because they passed their deadline (--request-timeout or ?timeout=).',
    registers: [this.registry],
  });
  readonly storeDuration = new Histogram({
    name: 'etcd_request_duration_seconds',
    help: 'Store operation latency by operation and resource.',
    labelNames: ['operation', 'type'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly bindings = new Counter({
    name: 'cell_bindings_total',
    help: 'Pods bound through bindings and placements.',
    registers: [this.registry],
  });
  readonly bindingConflicts = new Counter({
    name: 'cell_binding_conflicts_total',
    help: 'Bindings refused with Conflict, by conflict detection mode (fine or coarse).',
    labelNames: ['mode'] as const,
    registers: [this.registry],
  });
  readonly bindingRetries = new Counter({
    name: 'cell_binding_retries_total',
    help: 'Placement transactions retried server-side after another commit moved an allocation.',
    registers: [this.registry],
  });
  readonly compactions = new Counter({
    name: 'cell_store_compactions_total',
    help: 'Store compactions run by this server.',
    registers: [this.registry],
  });

  /** Where the watch caches' figures come from, read at scrape time. */
  private caches: (() => Iterable<WatchCacheFigures>) | undefined;
  readonly watchCacheLag = new Gauge({
    name: 'cell_apiserver_watch_cache_lag_commits',
    help: "This server's commits a resource's watch cache has not applied yet (creates wait past --max-watch-cache-lag).",
    labelNames: ['resource'] as const,
    registers: [this.registry],
    collect: () => this.collectCaches(),
  });
  readonly watchCacheRevision = new Gauge({
    name: 'cell_apiserver_watch_cache_revision',
    help: "The etcd revision a resource's watch cache has applied: it moves with the resource's own events, so behind etcd's revision by what its watch has yet to read, or by other resources' writes since its last one.",
    labelNames: ['resource'] as const,
    registers: [this.registry],
  });

  /** Report the watch caches' lag and revision on /metrics. */
  trackCaches(source: () => Iterable<WatchCacheFigures>): void {
    this.caches = source;
  }

  private collectCaches(): void {
    for (const c of this.caches?.() ?? []) {
      this.watchCacheLag.set({ resource: c.resource }, c.lag);
      this.watchCacheRevision.set({ resource: c.resource }, c.revision);
    }
  }

  /** Where the etcd batching counters come from (the store), read at scrape time. */
  private batching: (() => BatchingStats | undefined) | undefined;
  private batchingSeen: BatchingStats = { txns: 0, txnCalls: 0, reads: 0, readCalls: 0 };
  readonly etcdOperations = new Counter({
    name: 'cell_etcd_operations_total',
    help: 'Transactions and point reads the API server asked of etcd, by kind (txn, read).',
    labelNames: ['kind'] as const,
    registers: [this.registry],
    collect: () => this.collectBatching(),
  });
  readonly etcdRequests = new Counter({
    name: 'cell_etcd_requests_total',
    help: 'etcd requests that carried them, by kind: fewer than operations when concurrent ones shared a request.',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  /** Report the store's batching counters (group commit, shared point reads) on /metrics. */
  trackBatching(source: () => BatchingStats | undefined): void {
    this.batching = source;
  }

  private collectBatching(): void {
    const now = this.batching?.();
    if (!now) return;
    const seen = this.batchingSeen;
    this.etcdOperations.inc({ kind: 'txn' }, now.txns - seen.txns);
    this.etcdOperations.inc({ kind: 'read' }, now.reads - seen.reads);
    this.etcdRequests.inc({ kind: 'txn' }, now.txnCalls - seen.txnCalls);
    this.etcdRequests.inc({ kind: 'read' }, now.readCalls - seen.readCalls);
    this.batchingSeen = { ...now };
  }

  constructor(opts: { processMetrics?: boolean } = {}) {
    if (opts.processMetrics) collectDefaultMetrics({ register: this.registry });
  }
}
