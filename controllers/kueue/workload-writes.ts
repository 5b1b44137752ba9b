// Every write the controller makes to a Workload's status goes through here: against the
// resourceVersion it was decided on (a 409 means someone — another admitter, the ledger — got
// there first, and the caller decides again on fresh state), remembered in the view until the
// informer shows it, with the Event Kueue records for it.
import { JOB_UID_LABEL, WORKLOAD_QUOTA_RESERVED, type Workload, type WorkloadStatus } from '../../shared/api/kueue.js';
import type { EventRecorder } from '../../shared/client/events.js';
import type { ApiClient } from '../../shared/client/http-client.js';
import { workloadRef } from './api-refs.js';
import type { KueueMetrics } from './metrics.js';
import { conditionIs, evictedStatus, isEvicted, pendingStatus, type PreemptionReason } from './workload-status.js';
import type { WorkloadView } from './workload-view.js';

export class WorkloadWrites {
  constructor(
    private readonly client: ApiClient,
    private readonly view: WorkloadView,
    private readonly events: EventRecorder,
    private readonly metrics: KueueMetrics,
  ) {}

  /** PUT the status, guarded by wl's resourceVersion; the stored object is returned and remembered. */
  async writeStatus(wl: Workload, status: WorkloadStatus): Promise<Workload> {
    const updated = await this.client.update<Workload>(workloadRef(wl, 'status'), { ...wl, status });
    this.view.wrote(updated);
    return updated;
  }

  event(wl: Workload, type: 'Normal' | 'Warning', reason: string, message: string): void {
    void this.events.record({ kind: 'Workload', apiVersion: wl.apiVersion, name: wl.metadata.name ?? '', namespace: wl.metadata.namespace ?? 'default', uid: wl.metadata.uid ?? '' }, type, reason, message);
  }

  /** QuotaReserved=False saying why, written (and an Event recorded) only when it says something new. */
  async setPending(wl: Workload, reason: string, message: string, now: Date): Promise<Workload> {
    if (conditionIs(wl, WORKLOAD_QUOTA_RESERVED, 'False', reason, message)) return wl;
    const updated = await this.writeStatus(wl, pendingStatus(wl, reason, message, now));
    this.event(wl, reason === 'Pending' ? 'Normal' : 'Warning', reason, message);
    return updated;
  }

  /**
   * Evicted (Preempted too when `preemption` says by whom): the Job is stopped next, and the quota
   * stays reserved until it has. A workload already evicted is left as it is.
   */
  async evict(wl: Workload, reason: string, message: string, now: Date, preemption?: { reason: PreemptionReason; by: string }): Promise<boolean> {
    if (isEvicted(wl)) return false;
    await this.writeStatus(wl, evictedStatus(wl, reason, message, now, preemption?.reason));
    const cq = wl.status.admission?.clusterQueue ?? '';
    this.metrics.evictedWorkloads.inc({ cluster_queue: cq, reason });
    if (preemption) {
      this.metrics.preemptedWorkloads.inc({ preempting_cluster_queue: preemption.by, reason: preemption.reason });
      this.event(wl, 'Normal', 'Preempted', message);
    } else {
      this.event(wl, 'Normal', 'Evicted', message);
    }
    return true;
  }
}

/** Kueue's preemption message: who was let in, and why. */
export function preemptionMessage(preemptor: Workload, clusterQueue: string, reason: PreemptionReason): string {
  const why = reason === 'InClusterQueue' ? 'prioritization in the ClusterQueue' : 'reclamation within the cohort';
  const jobUid = preemptor.metadata.labels?.[JOB_UID_LABEL] ?? 'UNKNOWN';
  return `Preempted to accommodate a workload (UID: ${preemptor.metadata.uid ?? ''}, JobUID: ${jobUid}) due to ${why}; preemptor: ${preemptor.metadata.namespace ?? ''}/${preemptor.metadata.name ?? ''} in ClusterQueue ${clusterQueue}`;
}
