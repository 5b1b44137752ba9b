// The queue controller's Prometheus metrics, under Kueue's own names and labels, so dashboards and
// alerts written for Kueue read cell's unchanged. They live in the controller manager's registry.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** One metric per name in a registry: a controller started again in the same process reuses them. */
function existing<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

export interface KueueMetrics {
  /** Pending workloads per ClusterQueue: status active (waiting their turn) or inadmissible (tried, did not fit). */
  pendingWorkloads: Gauge<'cluster_queue' | 'status'>;
  admittedWorkloads: Counter<'cluster_queue'>;
  quotaReservedWorkloads: Counter<'cluster_queue'>;
  /** From queued (created, or requeued after an eviction) to admitted. */
  admissionWaitTime: Histogram<'cluster_queue'>;
  quotaReservedWaitTime: Histogram<'cluster_queue'>;
  admissionAttempts: Counter<'result'>;
  resourceUsage: Gauge<'cohort' | 'cluster_queue' | 'flavor' | 'resource'>;
  resourceReservation: Gauge<'cohort' | 'cluster_queue' | 'flavor' | 'resource'>;
  nominalQuota: Gauge<'cohort' | 'cluster_queue' | 'flavor' | 'resource'>;
  weightedShare: Gauge<'cluster_queue'>;
  evictedWorkloads: Counter<'cluster_queue' | 'reason'>;
  preemptedWorkloads: Counter<'preempting_cluster_queue' | 'reason'>;
  clusterQueueStatus: Gauge<'cluster_queue' | 'status'>;
}

const WAIT_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

export function kueueMetrics(registry: Registry): KueueMetrics {
  const registers = [registry];
  const perResource = ['cohort', 'cluster_queue', 'flavor', 'resource'] as const;
  return {
    pendingWorkloads: existing(registry, 'kueue_pending_workloads', () => new Gauge({ name: 'kueue_pending_workloads', help: 'Pending workloads per ClusterQueue and status (active: waiting their turn; inadmissible: tried and did not fit).', labelNames: ['cluster_queue', 'status'] as const, registers })),
    admittedWorkloads: existing(registry, 'kueue_admitted_workloads_total', () => new Counter({ name: 'kueue_admitted_workloads_total', help: 'Workloads admitted, per ClusterQueue.', labelNames: ['cluster_queue'] as const, registers })),
    quotaReservedWorkloads: existing(registry, 'kueue_quota_reserved_workloads_total', () => new Counter({ name: 'kueue_quota_reserved_workloads_total', help: 'Workloads that reserved quota, per ClusterQueue.', labelNames: ['cluster_queue'] as const, registers })),
    admissionWaitTime: existing(registry, 'kueue_admission_wait_time_seconds', () => new Histogram({ name: 'kueue_admission_wait_time_seconds', help: 'Seconds from a workload being queued (created or requeued) to its admission.', labelNames: ['cluster_queue'] as const, buckets: WAIT_BUCKETS, registers })),
    quotaReservedWaitTime: existing(registry, 'kueue_quota_reserved_wait_time_seconds', () => new Histogram({ name: 'kueue_quota_reserved_wait_time_seconds', help: 'Seconds from a workload being queued to its quota reservation.', labelNames: ['cluster_queue'] as const, buckets: WAIT_BUCKETS, registers })),
    admissionAttempts: existing(registry, 'kueue_admission_attempts_total', () => new Counter({ name: 'kueue_admission_attempts_total', help: 'Admission attempts by result: success (committed), inadmissible (did not fit), conflict (the API server refused the commit).', labelNames: ['result'] as const, registers })),
    resourceUsage: existing(registry, 'kueue_cluster_queue_resource_usage', () => new Gauge({ name: 'kueue_cluster_queue_resource_usage', help: 'Quota used by admitted workloads, per ClusterQueue, flavor and resource.', labelNames: perResource, registers })),
    resourceReservation: existing(registry, 'kueue_cluster_queue_resource_reservation', () => new Gauge({ name: 'kueue_cluster_queue_resource_reservation', help: 'Quota reserved by workloads, per ClusterQueue, flavor and resource.', labelNames: perResource, registers })),
    nominalQuota: existing(registry, 'kueue_cluster_queue_nominal_quota', () => new Gauge({ name: 'kueue_cluster_queue_nominal_quota', help: 'Nominal quota per ClusterQueue, flavor and resource.', labelNames: perResource, registers })),
    weightedShare: existing(registry, 'kueue_cluster_queue_weighted_share', () => new Gauge({ name: 'kueue_cluster_queue_weighted_share', help: "The ClusterQueue's dominant-resource share of what its cohort lends, divided by its fair-sharing weight (0-1000 scale, as Kueue).", labelNames: ['cluster_queue'] as const, registers })),
    evictedWorkloads: existing(registry, 'kueue_evicted_workloads_total', () => new Counter({ name: 'kueue_evicted_workloads_total', help: 'Workloads evicted, per ClusterQueue and reason.', labelNames: ['cluster_queue', 'reason'] as const, registers })),
    preemptedWorkloads: existing(registry, 'kueue_preempted_workloads_total', () => new Counter({ name: 'kueue_preempted_workloads_total', help: 'Workloads preempted, per preempting ClusterQueue and reason.', labelNames: ['preempting_cluster_queue', 'reason'] as const, registers })),
    clusterQueueStatus: existing(registry, 'kueue_cluster_queue_status', () => new Gauge({ name: 'kueue_cluster_queue_status', help: '1 for the status each ClusterQueue is in (pending: inactive; active).', labelNames: ['cluster_queue', 'status'] as const, registers })),
  };
}
