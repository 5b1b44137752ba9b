// The controller manager's Prometheus metrics, under Kubernetes' names where kube-controller-manager
// has them: leader_election_master_status (client-go's leader election) and the workqueue_* family
// (client-go's workqueue metrics, by queue name = controller name); cell adds
// cell_controller_syncs_total, the outcome of each sync. One registry per manager.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { WorkQueueMetrics } from './work-queue.js';

export class ControllerManagerMetrics implements WorkQueueMetrics {
  readonly registry = new Registry();

  readonly leader = new Gauge({
    name: 'leader_election_master_status',
    help: '1 while this replica holds the lease and runs the controllers, else 0.',
    labelNames: ['name'] as const,
    registers: [this.registry],
  });
  readonly running = new Gauge({
    name: 'cell_controller_running',
    help: '1 for each controller this replica runs now.',
    labelNames: ['controller'] as const,
    registers: [this.registry],
  });
  private readonly adds = new Counter({
    name: 'workqueue_adds_total',
    help: 'Keys added to the queue (deduplicated adds are not counted).',
    labelNames: ['name'] as const,
    registers: [this.registry],
  });
  private readonly depthGauge = new Gauge({
    name: 'workqueue_depth',
    help: 'Keys waiting in the queue.',
    labelNames: ['name'] as const,
    registers: [this.registry],
  });
  private readonly workDuration = new Histogram({
    name: 'workqueue_work_duration_seconds',
    help: 'How long one sync of a key takes.',
    labelNames: ['name'] as const,
    buckets: [0.0001, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  private readonly retries = new Counter({
    name: 'workqueue_retries_total',
    help: 'Keys re-queued with back-off after a failed sync.',
    labelNames: ['name'] as const,
    registers: [this.registry],
  });
  private readonly syncs = new Counter({
    name: 'cell_controller_syncs_total',
    help: 'Syncs by controller and result (success, error).',
    labelNames: ['controller', 'result'] as const,
    registers: [this.registry],
  });

  constructor(opts: { processMetrics?: boolean } = {}) {
    if (opts.processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  added(queue: string): void {
    this.adds.inc({ name: queue });
  }

  depth(queue: string, keys: number): void {
    this.depthGauge.set({ name: queue }, keys);
  }

  synced(queue: string, seconds: number, ok: boolean): void {
    this.workDuration.observe({ name: queue }, seconds);
    this.syncs.inc({ controller: queue, result: ok ? 'success' : 'error' });
  }

  retried(queue: string): void {
    this.retries.inc({ name: queue });
  }
}
