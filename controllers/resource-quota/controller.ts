// The resource quota controller (Kubernetes' resourcequota controller, for cell's ledger): it counts
// what a quota governs when the quota is new or its limits changed, and re-counts every quota each
// sync period (--resource-quota-sync-period, 5 min). Between counts the API server keeps status.used
// exact in the transaction of every admitted write (apiserver/quota/admission.ts).
//
// A count is exact because it is a compare-and-swap on the quota: read the quota (resourceVersion Q),
// list the objects from etcd (a consistent list, resourceVersion R ≥ Q), compute, and write the
// status with precondition Q. An admission or release in between moved the quota, so the write is
// a 409 and the count starts again from fresh state; otherwise nothing changed the ledger between
// Q and the write, and the objects at R are exactly what it must hold.
import type { CustomResourceDefinition } from '../../shared/api/apiextensions.js';
import type { ResourceQuota } from '../../shared/api/quota.js';
import { RESOURCES } from '../../shared/api/registry.js';
import type { ApiClient } from '../../shared/client/http-client.js';
import type { Informer } from '../../shared/client/informer.js';
import { ConflictError, NotFoundError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logging.js';
import { governedNames, isComputed, sameAmounts, usageOf, usedList, type CountedKind } from '../../shared/quota-usage.js';
import { add, parseResourceList, ResourceAmounts } from '../../shared/resources.js';
import type { Controller, ControllerContext, ControllerDefinition } from '../controller.js';
import { WorkQueue } from '../work-queue.js';
import { CUSTOM_RESOURCE_DEFINITIONS, customKindOf, type CustomKind } from '../custom-kinds.js';

export const RESOURCE_QUOTA_CONTROLLER = 'resourcequota';
/** Kubernetes' --resource-quota-sync-period default. */
export const RESOURCE_QUOTA_SYNC_PERIOD_MS = 5 * 60_000;
/** Counts tried in one sync before the key is handed back to the queue's back-off. */
const ATTEMPTS_PER_SYNC = 5;

interface ObjectList {
  metadata: { resourceVersion?: string };
  items: { metadata: { namespace?: string; name?: string } }[];
}

/** A namespaced kind the API serves, as a quota counts it and as the client addresses it. */
interface ServedKind extends CountedKind {
  version: string;
}

const NAMESPACED_KINDS: ServedKind[] = RESOURCES.filter((r) => r.namespaced && r.resource !== 'resourcequotas' && r.verbs.includes('list')).map((r) => ({
  group: r.group,
  version: r.version,
  resource: r.resource,
}));

export interface ResourceQuotaControllerOptions {
  syncPeriodMs?: number;
  workers?: number;
}

export class ResourceQuotaController implements Controller {
  readonly name = RESOURCE_QUOTA_CONTROLLER;
  private readonly quotas: Informer<ResourceQuota>;
  /** CustomResourceDefinitions: the custom kinds a quota may count (`count/<resource>.<group>`). */
  private readonly definitions: Informer<CustomResourceDefinition>;
  private readonly client: ApiClient;
  private readonly log: Logger;
  private readonly queue: WorkQueue;
  private readonly syncPeriodMs: number;
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(ctx: ControllerContext, opts: ResourceQuotaControllerOptions = {}) {
    this.client = ctx.client;
    this.log = ctx.log;
    this.syncPeriodMs = opts.syncPeriodMs ?? RESOURCE_QUOTA_SYNC_PERIOD_MS;
    this.quotas = ctx.informers.get<ResourceQuota>({ version: 'v1', resource: 'resourcequotas' });
    this.definitions = ctx.informers.get<CustomResourceDefinition>(CUSTOM_RESOURCE_DEFINITIONS);
    this.queue = new WorkQueue({ name: RESOURCE_QUOTA_CONTROLLER, sync: (key) => this.sync(key), log: this.log, workers: opts.workers ?? 5 , metrics: ctx.queueMetrics });
  }

  start(): void {
    this.running = true;
    // A new quota, or one whose limits changed, is counted at once; others wait for the resync.
    const maybe = (q: ResourceQuota) => {
      if (!isComputed(q)) this.queue.add(keyOf(q));
    };
    this.quotas.addHandlers({ add: maybe, update: (_old, q) => maybe(q) });
    void Promise.all([this.quotas.hasSynced(), this.definitions.hasSynced()]).then(() => {
      if (!this.running) return;
      this.queue.start();
      this.timer = setInterval(() => {
        for (const q of this.quotas.list()) this.queue.add(keyOf(q));
      }, this.syncPeriodMs);
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.queue.stop();
  }

  /** The namespaced custom kinds served now. */
  private customKinds(): ServedKind[] {
    return this.definitions
      .list()
      .map((crd) => customKindOf(crd))
      .filter((k): k is CustomKind => k !== undefined && k.namespaced)
      .map((k) => ({ group: k.group, version: k.version, resource: k.resource }));
  }

  /** Count one quota; a count overtaken by an admission is taken again on fresh state. */
  async sync(key: string): Promise<void> {
    const [namespace, name] = key.split('/') as [string, string];
    for (let attempt = 1; ; attempt++) {
      try {
        await this.countOnce(namespace, name);
        return;
      } catch (err) {
        if (err instanceof NotFoundError) return; // quota deleted: nothing to count
        if (!(err instanceof ConflictError) || attempt >= ATTEMPTS_PER_SYNC) throw err;
      }
    }
  }

  /** Count the quota's usage and store it, guarded by the quota's resourceVersion. */
  private async countOnce(namespace: string, name: string): Promise<void> {
    const ref = { version: 'v1', resource: 'resourcequotas', namespace, name };
    // Read from etcd (resourceVersion unset), never a cache: the count is guarded by this version.
    const quota = await this.client.get<ResourceQuota>(ref);
    const kinds = [...NAMESPACED_KINDS, ...this.customKinds()].filter((k) => governedNames(quota.spec.hard, k).length > 0);
    let total = new ResourceAmounts();
    for (const kind of kinds) {
      const list = await this.client.list<ObjectList>({ group: kind.group, version: kind.version, resource: kind.resource, namespace });
      for (const obj of list.items) total = add(total, usageOf(quota, kind, obj));
    }
    const used = usedList(quota.spec.hard, total);
    const hard = { ...(quota.spec.hard ?? {}) };
    const computed = isComputed(quota);
    if (computed && sameAmounts(parseResourceList(used), parseResourceList(quota.status.used))) return;
    const next: ResourceQuota = { ...quota, status: { hard, used } };
    // metadata.resourceVersion is Q: any admission or release since the read is a 409.
    await this.client.update({ ...ref, subresource: 'status' }, next);
    if (computed) this.log.warn('quota recount corrected the ledger', { namespace, name, recorded: quota.status.used, used });
    else this.log.debug('counted quota', { namespace, name, used });
  }
}

function keyOf(q: ResourceQuota): string {
  return `${q.metadata.namespace ?? ''}/${q.metadata.name ?? ''}`;
}

export const resourceQuotaController: ControllerDefinition = {
  name: RESOURCE_QUOTA_CONTROLLER,
  create: (ctx) => new ResourceQuotaController(ctx),
};
