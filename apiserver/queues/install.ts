// Wires Kueue's queues into the API server: the ClusterQueue ledger hook on Workload writes
// (admission.ts) and the guard that keeps a ClusterQueue holding reservations from being deleted
// under them. The audit's declaration of the ledger is audit.ts (clusterQueueLedger).
import type { ServedResource } from '../http/resources.js';
import { clusterQueueDeleteGuard, workloadLedgerHook } from './admission.js';

export const CLUSTER_QUEUE_RESOURCE = 'clusterqueues';
export const WORKLOAD_RESOURCE = 'workloads';

export function installQueues(resources: ReadonlyMap<string, ServedResource>): void {
  const queues = resources.get(CLUSTER_QUEUE_RESOURCE)?.rest.objects;
  const workloads = resources.get(WORKLOAD_RESOURCE)?.rest.objects;
  if (!queues || !workloads) return;
  workloads.addWriteHook(workloadLedgerHook(queues));
  queues.addWriteHook(clusterQueueDeleteGuard);
}
