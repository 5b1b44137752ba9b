// The serviceaccount controller (Kubernetes' of the same name): every namespace has a
// ServiceAccount named `default`, the account its pods run as when they name none. It is made
// when the namespace appears, and made again if someone deletes it; a namespace being deleted
// gets none (its contents are on their way out).
import type { Namespace } from '../../shared/api/core.js';
import { DEFAULT_SERVICE_ACCOUNT, type ServiceAccount } from '../../shared/api/serviceaccount.js';
import type { ApiClient, ResourceRef } from '../../shared/client/http-client.js';
import type { Informer } from '../../shared/client/informer.js';
import { AlreadyExistsError, ForbiddenError, NotFoundError } from '../../shared/errors.js';
import type { Controller, ControllerContext, ControllerDefinition } from '../controller.js';
import { WorkQueue } from '../work-queue.js';

export const SERVICE_ACCOUNT_CONTROLLER = 'serviceaccount';
const NAMESPACES: ResourceRef = { version: 'v1', resource: 'namespaces' };
const SERVICE_ACCOUNTS: ResourceRef = { version: 'v1', resource: 'serviceaccounts' };

function isGoing(ns: Namespace): boolean {
  return ns.metadata.deletionTimestamp !== undefined || ns.status.phase === 'Terminating';
}

export class ServiceAccountController implements Controller {
  readonly name = SERVICE_ACCOUNT_CONTROLLER;
  private readonly client: ApiClient;
  private readonly namespaces: Informer<Namespace>;
  private readonly accounts: Informer<ServiceAccount>;
  private readonly queue: WorkQueue;
  private running = false;

  constructor(ctx: ControllerContext) {
    this.client = ctx.client;
    this.namespaces = ctx.informers.get<Namespace>(NAMESPACES);
    this.accounts = ctx.informers.get<ServiceAccount>(SERVICE_ACCOUNTS);
    // The queue's key is a namespace's name.
    this.queue = new WorkQueue({ name: SERVICE_ACCOUNT_CONTROLLER, sync: (ns) => this.sync(ns), log: ctx.log, workers: 2, metrics: ctx.queueMetrics });
  }

  start(): void {
    this.running = true;
    this.namespaces.addHandlers({
      add: (ns) => this.queue.add(ns.metadata.name ?? ''),
      update: (_old, ns) => this.queue.add(ns.metadata.name ?? ''),
    });
    this.accounts.addHandlers({
      delete: (sa) => {
        if (sa.metadata.name === DEFAULT_SERVICE_ACCOUNT) this.queue.add(sa.metadata.namespace ?? '');
      },
    });
    void Promise.all([this.namespaces.hasSynced(), this.accounts.hasSynced()]).then(() => {
      if (this.running) this.queue.start();
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.queue.stop();
  }

  private async sync(namespace: string): Promise<void> {
    const ns = this.namespaces.get(undefined, namespace);
    if (!ns || isGoing(ns) || this.accounts.get(namespace, DEFAULT_SERVICE_ACCOUNT)) return;
    try {
      await this.client.create({ ...SERVICE_ACCOUNTS, namespace }, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: DEFAULT_SERVICE_ACCOUNT, namespace } });
    } catch (err) {
      // Already made (another leader, or the informer is behind), or the namespace went meanwhile.
      if (err instanceof AlreadyExistsError || err instanceof NotFoundError || err instanceof ForbiddenError) return;
      throw err;
    }
  }
}

export const serviceAccountControllerDefinition: ControllerDefinition = {
  name: SERVICE_ACCOUNT_CONTROLLER,
  create: (ctx) => new ServiceAccountController(ctx),
};
