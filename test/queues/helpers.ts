// Shared by the queue tests: references and manifests of Kueue's kinds, admitting and releasing a
// workload as an admitter does (a status write), reading a ClusterQueue's ledger, and the
// ClusterQueue ledger audit at one revision.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { ClusterQueue, Workload } from '../../shared/api/kueue.js';
import type { ApiClient } from '../../shared/client/http-client.js';
import { flattenFlavorAmounts, recordedUsage } from '../../shared/queue-fit.js';
import { auditAt, type AuditReport } from '../../apiserver/ledgers/audit.js';
import { clusterQueueLedger } from '../../apiserver/queues/audit.js';
import type { TestApiServer } from '../harness/apiserver.js';

export { sleep, waitFor } from '../clients/helpers.js';

const KUEUE = { group: 'kueue.x-k8s.io', version: 'v1beta1' };
export const rfRef = (name?: string) => ({ ...KUEUE, resource: 'resourceflavors', ...(name ? { name } : {}) });
export const cqRef = (name?: string) => ({ ...KUEUE, resource: 'clusterqueues', ...(name ? { name } : {}) });
export const lqRef = (namespace: string, name?: string) => ({ ...KUEUE, resource: 'localqueues', namespace, ...(name ? { name } : {}) });
export const wlRef = (namespace: string, name?: string) => ({ ...KUEUE, resource: 'workloads', namespace, ...(name ? { name } : {}) });

export function unique(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

export async function createNamespace(api: ApiClient, prefix: string): Promise<string> {
  const name = unique(prefix);
  await api.create({ version: 'v1', resource: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  return name;
}

export interface QuotaSpec {
  nominalQuota: string;
  borrowingLimit?: string;
  lendingLimit?: string;
}

/** A ClusterQueue with one resource group per flavor: `{ default: { cpu: { nominalQuota: '5' } } }`. */
export function clusterQueueManifest(name: string, flavors: Record<string, Record<string, QuotaSpec>>, spec: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'kueue.x-k8s.io/v1beta1',
    kind: 'ClusterQueue',
    metadata: { name },
    spec: {
      namespaceSelector: {},
      resourceGroups: Object.entries(flavors).map(([flavor, resources]) => ({
        coveredResources: Object.keys(resources),
        flavors: [{ name: flavor, resources: Object.entries(resources).map(([r, q]) => ({ name: r, ...q })) }],
      })),
      ...spec,
    },
  };
}

export function workloadManifest(name: string, queueName = 'user-queue', count = 1, requests: Record<string, string> = { cpu: '1' }): Record<string, unknown> {
  return {
    apiVersion: 'kueue.x-k8s.io/v1beta1',
    kind: 'Workload',
    metadata: { name },
    spec: {
      queueName,
      podSets: [{ name: 'main', count, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox', resources: { requests } }] } } }],
    },
  };
}

const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

/** The status an admitter writes to admit `main` to `cq`: flavors per resource, and the pod set's total usage. */
export function admittedStatus(cq: string, flavors: Record<string, string>, resourceUsage: Record<string, string>, count = 1): Record<string, unknown> {
  return {
    admission: { clusterQueue: cq, podSetAssignments: [{ name: 'main', flavors, resourceUsage, count }] },
    conditions: [
      { type: 'QuotaReserved', status: 'True', reason: 'QuotaReserved', message: `Quota reserved in ClusterQueue ${cq}`, lastTransitionTime: now() },
      { type: 'Admitted', status: 'True', reason: 'Admitted', message: 'The workload is admitted', lastTransitionTime: now() },
    ],
  };
}

/** Admits a workload as an admitter does: a merge patch of its status. */
export function admit(api: ApiClient, namespace: string, name: string, cq: string, resourceUsage: Record<string, string> = { cpu: '1' }, flavor = 'default'): Promise<Workload> {
  const flavors = Object.fromEntries(Object.keys(resourceUsage).map((r) => [r, flavor]));
  return api.patch<Workload>({ ...wlRef(namespace, name), subresource: 'status' }, { status: admittedStatus(cq, flavors, resourceUsage) });
}

/** Clears a workload's admission (an eviction's last step). */
export function unadmit(api: ApiClient, namespace: string, name: string): Promise<Workload> {
  return api.patch<Workload>({ ...wlRef(namespace, name), subresource: 'status' }, { status: { admission: null, conditions: [{ type: 'QuotaReserved', status: 'False', reason: 'Pending', message: 'evicted', lastTransitionTime: now() }] } });
}

export function finish(api: ApiClient, namespace: string, name: string): Promise<Workload> {
  return api.patch<Workload>({ ...wlRef(namespace, name), subresource: 'status' }, {
    status: { conditions: [{ type: 'Finished', status: 'True', reason: 'Succeeded', message: 'done', lastTransitionTime: now() }] },
  });
}

/** A ClusterQueue's recorded reservation, `flavor/resource` → quantity, zeros left out. */
export async function reservedOf(api: ApiClient, cq: string, which: 'reservation' | 'usage' = 'reservation'): Promise<Record<string, string>> {
  const q = await api.get<ClusterQueue>(cqRef(cq));
  const flat = flattenFlavorAmounts(recordedUsage(q, which));
  return Object.fromEntries(flat.names().filter((n) => flat.get(n) !== 0n).map((n) => [n, flat.quantity(n).toString()]));
}

export { refusal } from '../harness/refusal.js';

/** The ClusterQueue ledger audited at the store's current revision, as GET /audit audits every ledger kind. */
export async function auditQueues(srv: TestApiServer): Promise<AuditReport> {
  return auditAt(srv.store, srv.server.resources, [clusterQueueLedger(srv.server.resources)]);
}

export async function expectQueuesAuditOk(srv: TestApiServer): Promise<AuditReport> {
  const report = await auditQueues(srv);
  expect(report.violations, JSON.stringify(report.violations)).to.deep.equal([]);
  expect(report.ledgers['ClusterQueue']).to.be.greaterThan(0);
  return report;
}
