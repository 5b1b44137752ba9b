// The scheduler's Prometheus metrics: Kubernetes' names where they exist (scheduler_*), cell's own
// for the optimistic commit (cell_scheduler_*). Every series carries `scheduler` (the scheduler
// name), so replicas and policies can be told apart on one dashboard. One registry per instance.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { QueueCounts } from './queue/scheduling-queue.js';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Why a commit lost: the node no longer fits (fine), its allocation moved (coarse), the pod was taken or changed. */
export type ConflictReason = 'insufficient' | 'allocation-changed' | 'pod-taken' | 'pod-changed';

export class SchedulerMetrics {
  readonly registry = new Registry();

  readonly attempts = new Counter({
    name: 'scheduler_schedule_attempts_total',
    help: 'Scheduling attempts by result (scheduled, unschedulable, error) and profile.',
    labelNames: ['result', 'profile'] as const,
    registers: [this.registry],
  });
  readonly e2eDuration = new Histogram({
    name: 'scheduler_e2e_scheduling_duration_seconds',
    help: 'One attempt, from leaving the queue to the commit outcome (algorithm + binding), by result and profile.',
    labelNames: ['result', 'profile'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly algorithmDuration = new Histogram({
    name: 'scheduler_scheduling_algorithm_duration_seconds',
    help: 'Time to decide one pod (preFilter to permit), excluding the commit.',
    buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
    registers: [this.registry],
  });
  /** Omega's "scheduler busyness": time spent deciding (simulated decision time included), per profile. */
  readonly busy = new Counter({
    name: 'cell_scheduler_busy_seconds_total',
    help: 'Seconds this scheduler spent deciding pods, simulated decision time included (busyness = its rate).',
    labelNames: ['profile'] as const,
    registers: [this.registry],
  });
  readonly podSchedulingDuration = new Histogram({
    name: 'scheduler_pod_scheduling_duration_seconds',
    help: 'From the pod entering the queue to it being bound, over all its attempts.',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  /** Sampled from the queue at scrape time rather than maintained on every queue operation. */
  readonly pending: Gauge<'queue'>;
  readonly preemptionAttempts = new Counter({
    name: 'scheduler_preemption_attempts_total',
    help: 'Preemptions that evicted pods.',
    registers: [this.registry],
  });
  readonly preemptionVictims = new Histogram({
    name: 'scheduler_preemption_victims',
    help: 'Pods evicted per preemption.',
    buckets: [1, 2, 4, 8, 16, 32, 64],
    registers: [this.registry],
  });
  readonly queueHintSkips = new Counter({
    name: 'cell_scheduler_queue_hint_skips_total',
    help: 'Parked pods a cluster change left parked, because no plugin that rejected them registered that kind of change (QueueingHints).',
    labelNames: ['event'] as const,
    registers: [this.registry],
  });
  readonly conflicts = new Counter({
    name: 'cell_scheduler_conflicts_total',
    help: 'Bindings the API server refused with Conflict (another commit got there first), by reason and conflict mode.',
    labelNames: ['profile', 'reason', 'mode'] as const,
    registers: [this.registry],
  });
  readonly retries = new Counter({
    name: 'cell_scheduler_retries_total',
    help: 'Pods re-queued for another attempt, by why (conflict, error, unschedulable).',
    labelNames: ['profile', 'reason'] as const,
    registers: [this.registry],
  });
  readonly bound = new Counter({
    name: 'cell_scheduler_bound_pods_total',
    help: 'Pods this scheduler bound (successful commits, one per pod).',
    labelNames: ['profile'] as const,
    registers: [this.registry],
  });
  readonly commits = new Counter({
    name: 'cell_scheduler_commits_total',
    help: 'Commit requests sent: binding (one pod), placement (Incremental batch), gang (AllOrNothing), by outcome.',
    labelNames: ['kind', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly commitDuration = new Histogram({
    name: 'cell_scheduler_commit_duration_seconds',
    help: 'Latency of one commit request.',
    labelNames: ['kind'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly commitBatchSize = new Histogram({
    name: 'cell_scheduler_commit_batch_pods',
    help: 'Pods per commit request.',
    buckets: [1, 2, 5, 10, 20, 50, 100],
    registers: [this.registry],
  });
  readonly eventsDropped = new Counter({
    name: 'cell_scheduler_events_dropped_total',
    help: 'Events not recorded because the event rate limit was exceeded.',
    registers: [this.registry],
  });
  readonly leader = new Gauge({
    name: 'cell_scheduler_leader',
    help: '1 while this replica schedules (leader, or leader election off), else 0.',
    registers: [this.registry],
  });

  private queueCounts: (() => QueueCounts) | undefined;

  constructor(schedulerName: string, opts: { processMetrics?: boolean } = {}) {
    this.registry.setDefaultLabels({ scheduler: schedulerName });
    if (opts.processMetrics) collectDefaultMetrics({ register: this.registry });
    const source = () => this.queueCounts?.();
    this.pending = new Gauge({
      name: 'scheduler_pending_pods',
      help: 'Pending pods by queue (active, backoff, unschedulable, inflight).',
      labelNames: ['queue'] as const,
      registers: [this.registry],
      collect() {
        const c = source();
        if (!c) return;
        this.set({ queue: 'active' }, c.active);
        this.set({ queue: 'backoff' }, c.backoff);
        this.set({ queue: 'unschedulable' }, c.unschedulable);
        this.set({ queue: 'inflight' }, c.inFlight);
      },
    });
  }

  /** Where scheduler_pending_pods reads its values. */
  observeQueue(counts: () => QueueCounts): void {
    this.queueCounts = counts;
  }
}
