// Shared by the quota tests: an API server on real etcd with the resource quota controller running
// in-process (a client of the API like in cell-controller-manager), pod and quota manifests, and
// waiting for a quota to be counted.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { ResourceQuota } from '../../shared/api/quota.js';
import type { AuditReport } from '../../apiserver/ledgers/audit.js';
import type { ApiClient } from '../../shared/client/http-client.js';
import { createLogger } from '../../shared/logging.js';
import { isComputed } from '../../shared/quota-usage.js';
import { SharedInformers } from '../../controllers/informers.js';
import { ResourceQuotaController } from '../../controllers/resource-quota/controller.js';
import { waitFor } from '../clients/helpers.js';
import { testControllerContext } from '../controllers/helpers.js';

export { sleep, waitFor } from '../clients/helpers.js';

export const quotaRef = (namespace: string, name?: string) => ({ version: 'v1', resource: 'resourcequotas', namespace, ...(name ? { name } : {}) });
export const podRef = (namespace: string, name?: string) => ({ version: 'v1', resource: 'pods', namespace, ...(name ? { name } : {}) });

/** The quota controller in-process against `api`, as the controller manager runs it. */
export class InProcessQuotaController {
  private informers: SharedInformers | undefined;
  controller: ResourceQuotaController | undefined;

  constructor(
    private readonly api: ApiClient,
    private readonly syncPeriodMs?: number,
  ) {}

  get running(): boolean {
    return this.controller !== undefined;
  }

  async start(): Promise<void> {
    if (this.controller) return;
    const log = createLogger('resource-quota', 'error');
    this.informers = new SharedInformers(this.api, log);
    this.controller = new ResourceQuotaController(
      testControllerContext(this.api, log, this.informers),
      this.syncPeriodMs !== undefined ? { syncPeriodMs: this.syncPeriodMs } : {},
    );
    await this.controller.start();
    await this.informers.start();
  }

  async stop(): Promise<void> {
    await this.controller?.stop();
    await this.informers?.stop();
    this.controller = undefined;
    this.informers = undefined;
  }
}

export async function createNamespace(api: ApiClient, prefix: string): Promise<string> {
  const name = `${prefix}-${randomUUID().slice(0, 8)}`;
  await api.create({ version: 'v1', resource: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  return name;
}

type Resources = { requests?: Record<string, string>; limits?: Record<string, string> };

export function podManifest(name: string, resources: Resources = { requests: { cpu: '100m', memory: '16Mi' } }, spec: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: {
      // No scheduler owns these: they stay Pending, holding their quota until released.
      schedulerName: 'quota-test-nobody',
      containers: [{ name: 'main', image: 'busybox', command: ['sleep', '3600'], resources }],
      ...spec,
    },
  };
}

export async function createQuota(api: ApiClient, namespace: string, name: string, spec: ResourceQuota['spec']): Promise<ResourceQuota> {
  return api.create<ResourceQuota>(quotaRef(namespace), { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name }, spec });
}

/** The quota once the controller has counted it (status.hard = spec.hard, every used name set). */
export async function counted(api: ApiClient, namespace: string, name: string): Promise<ResourceQuota> {
  let last: ResourceQuota | undefined;
  await waitFor(async () => {
    last = await api.get<ResourceQuota>(quotaRef(namespace, name));
    return isComputed(last);
  }, `quota ${namespace}/${name} counted`, 15_000, 20);
  return last!;
}

export async function usedOf(api: ApiClient, namespace: string, name: string): Promise<Record<string, string>> {
  const q = await api.get<ResourceQuota>(quotaRef(namespace, name));
  return { ...(q.status.used ?? {}) };
}

export { refusal } from '../harness/refusal.js';

export async function audit(api: ApiClient): Promise<AuditReport> {
  return api.request<AuditReport>('GET', '/audit');
}

export async function expectAuditOk(api: ApiClient): Promise<AuditReport> {
  const report = await audit(api);
  expect(report.violations, JSON.stringify(report.violations)).to.deep.equal([]);
  expect(report.ok).to.equal(true);
  return report;
}
