// `kubectl get` columns of Kueue's kinds, as Kueue's printer columns define them, and for
// ClusterQueues what is reserved against quota (`default: cpu 3/5, memory 1Gi/36Gi`).
import type { ClusterQueue, LocalQueue, Workload } from '../../shared/api/kueue.js';
import { conditionTrue } from '../../shared/api/kueue.js';
import { age } from '../../shared/duration.js';
import { amountOf, quotaEntry, recordedUsage } from '../../shared/queue-fit.js';
import { Quantity } from '../../shared/quantity.js';
import type { ColumnDefinition } from '../http/table.js';
import type { KubeObject } from '../registry/object.js';

export interface QueueColumn extends ColumnDefinition {
  cell(obj: KubeObject): string | number;
}

function col(name: string, cell: QueueColumn['cell'], extra: Partial<ColumnDefinition> = {}): QueueColumn {
  return { name, type: 'string', format: '', description: name, priority: 0, cell, ...extra };
}

const nameCol = col('Name', (o) => o.metadata.name ?? '', { format: 'name', description: 'Name of the object' });
const ageCol = col('Age', (o) => age(o.metadata.creationTimestamp), { description: 'Time since creation' });

const cq = (o: KubeObject) => o as unknown as Partial<Pick<ClusterQueue, 'spec' | 'status'>>;
const lq = (o: KubeObject) => o as unknown as Partial<Pick<LocalQueue, 'spec' | 'status'>>;
const wl = (o: KubeObject) => o as unknown as Partial<Pick<Workload, 'spec' | 'status'>>;

/** Each flavor's reserved/nominal per resource, in the spec's order. */
export function reservedText(obj: KubeObject): string {
  const q = cq(obj);
  if (!q.spec) return '';
  const spec = q.spec;
  const usage = recordedUsage({ status: q.status ?? {} });
  const parts: string[] = [];
  for (const g of spec.resourceGroups ?? []) {
    for (const f of g.flavors) {
      const resources = f.resources.map((r) => {
        const nominal = Quantity.parse(quotaEntry({ spec }, f.name, r.name)?.nominalQuota ?? '0');
        const used = Quantity.fromMilli(amountOf(usage, f.name, r.name), nominal.format);
        return `${r.name} ${used.toString()}/${nominal.toString()}`;
      });
      parts.push(`${f.name}: ${resources.join(', ')}`);
    }
  }
  return parts.join('; ');
}

const conditionStatus = (o: KubeObject, type: string): string => {
  const c = (wl(o).status?.conditions ?? []).find((x) => x.type === type);
  return c?.status ?? '';
};

export const QUEUE_COLUMNS: Record<string, QueueColumn[]> = {
  resourceflavors: [nameCol, ageCol],
  clusterqueues: [
    nameCol,
    col('Cohort', (o) => cq(o).spec?.cohort ?? '', { description: 'Cohort that this ClusterQueue belongs to' }),
    col('Strategy', (o) => cq(o).spec?.queueingStrategy ?? '', { priority: 1, description: 'The queueing strategy used to prioritize workloads' }),
    col('Pending Workloads', (o) => cq(o).status?.pendingWorkloads ?? 0, { type: 'integer', description: 'Number of pending workloads' }),
    col('Admitted Workloads', (o) => cq(o).status?.admittedWorkloads ?? 0, { type: 'integer', description: "Number of admitted workloads that haven't finished yet" }),
    col('Active', (o) => (conditionTrue({ status: { conditions: cq(o).status?.conditions ?? [] } }, 'Active') ? 'True' : 'False'), { priority: 1, description: 'Whether the queue can admit workloads' }),
    col('Reserved', reservedText, { description: 'Quota reserved by workloads against nominalQuota, per flavor' }),
  ],
  localqueues: [
    nameCol,
    col('ClusterQueue', (o) => lq(o).spec?.clusterQueue ?? '', { description: 'Backing ClusterQueue' }),
    col('Pending Workloads', (o) => lq(o).status?.pendingWorkloads ?? 0, { type: 'integer', description: 'Number of pending workloads' }),
    col('Admitted Workloads', (o) => lq(o).status?.admittedWorkloads ?? 0, { type: 'integer', description: "Number of admitted workloads that haven't finished yet" }),
  ],
  workloads: [
    nameCol,
    col('Queue', (o) => wl(o).spec?.queueName ?? '', { description: 'Name of the queue this workload was submitted to' }),
    col('Reserved in', (o) => wl(o).status?.admission?.clusterQueue ?? '', { description: 'Name of the ClusterQueue where the workload is reserving quota' }),
    col('Admitted', (o) => conditionStatus(o, 'Admitted'), { description: 'Admission status' }),
    col('Finished', (o) => conditionStatus(o, 'Finished'), { description: 'Workload finished' }),
    ageCol,
  ],
};
