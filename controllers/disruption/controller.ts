// The disruption controller (Kubernetes' DisruptionController, for the pods cell has): keeps each
// PodDisruptionBudget's status current from the pods it selects in its namespace, so the eviction
// subresource can spend it (shared/disruption-budget.ts has the arithmetic both use).
//
// Event-driven over the shared pod and budget informers: a pod event queues the budgets of its
// namespace that select the pod before or after it; a budget event queues that budget. Granted
// evictions time out of status.disruptedPods after two minutes: the budget is queued again then.
// A status is written only when it changes, through poddisruptionbudgets/{name}/status with the
// resourceVersion of the budget it was computed from, so an eviction committed a moment ago (which
// wrote the budget) is never undone by a write based on an older view: that write gets 409 and the
// work queue retries the budget once the informer has the newer one.
import { isDeepStrictEqual } from 'node:util';
import type { Pod } from '../../shared/api/core.js';
import type { PodDisruptionBudget } from '../../shared/api/policy.js';
import type { ApiClient } from '../../shared/client/http-client.js';
import type { Informer } from '../../shared/client/informer.js';
import { computeStatus, isReady, nextExpiry, selects } from '../../shared/disruption-budget.js';
import { NotFoundError } from '../../shared/errors.js';
import type { Controller, ControllerContext, ControllerDefinition } from '../controller.js';
import { BY_NAMESPACE, indexByNamespace } from '../informers.js';
import { WorkQueue } from '../work-queue.js';

export const DISRUPTION_CONTROLLER = 'disruption';
/** The informer indexes this controller adds: pods and budgets by namespace. */

const budgetsRef = { group: 'policy', version: 'v1', resource: 'poddisruptionbudgets' };

/** What of a pod a budget's status depends on; other changes (container statuses, IPs) are ignored. */
function sameForBudgets(a: Pod, b: Pod): boolean {
  return (
    a.metadata.uid === b.metadata.uid &&
    a.status.phase === b.status.phase &&
    isReady(a) === isReady(b) &&
    a.metadata.deletionTimestamp === b.metadata.deletionTimestamp &&
    isDeepStrictEqual(a.metadata.labels ?? {}, b.metadata.labels ?? {})
  );
}

function keyOf(obj: { metadata: { namespace?: string; name?: string } }): string {
  return `${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}`;
}

export class DisruptionController implements Controller {
  readonly name = DISRUPTION_CONTROLLER;
  private readonly pods: Informer<Pod>;
  private readonly budgets: Informer<PodDisruptionBudget>;
  private readonly client: ApiClient;
  private readonly queue: WorkQueue;
  private running = false;

  constructor(ctx: ControllerContext) {
    this.client = ctx.client;
    this.pods = ctx.informers.get<Pod>({ version: 'v1', resource: 'pods' });
    this.budgets = ctx.informers.get<PodDisruptionBudget>(budgetsRef);
    this.queue = new WorkQueue({ name: DISRUPTION_CONTROLLER, sync: (key) => this.sync(key), log: ctx.log, workers: 4 , metrics: ctx.queueMetrics });
  }

  start(): void {
    this.running = true;
    indexByNamespace(this.pods);
    indexByNamespace(this.budgets);
    this.pods.addHandlers({
      add: (pod) => this.onPod(undefined, pod),
      update: (old, pod) => {
        if (!sameForBudgets(old, pod)) this.onPod(old, pod);
      },
      delete: (pod) => this.onPod(undefined, pod),
    });
    this.budgets.addHandlers({
      add: (b) => this.queue.add(keyOf(b)),
      update: (_old, b) => this.queue.add(keyOf(b)),
      // A deleted budget's key finds nothing in the informer and is dropped by sync.
      delete: (b) => this.queue.add(keyOf(b)),
    });
    // A budget computed on part of its pods would be wrong: no sync before both caches are full.
    void Promise.all([this.pods.hasSynced(), this.budgets.hasSynced()]).then(() => {
      if (this.running) this.queue.start();
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.queue.stop();
  }

  private onPod(old: Pod | undefined, pod: Pod): void {
    for (const budget of this.budgets.byIndex(BY_NAMESPACE, pod.metadata.namespace ?? '')) {
      if (selects(budget, pod) || (old !== undefined && selects(budget, old))) this.queue.add(keyOf(budget));
    }
  }

  /** Re-compute one budget's status and write it if it changed. */
  private async sync(key: string): Promise<void> {
    const slash = key.indexOf('/');
    const ns = key.slice(0, slash);
    const name = key.slice(slash + 1);
    const budget = this.budgets.get(ns, name);
    if (!budget) return;
    const pods = new Map(this.pods.byIndex(BY_NAMESPACE, ns).map((p) => [p.metadata.name ?? '', p]));
    const now = Date.now();
    const status = computeStatus(budget, pods, now);
    let written = budget;
    if (!isDeepStrictEqual(status, budget.status)) {
      try {
        written = await this.client.update<PodDisruptionBudget>({ ...budgetsRef, namespace: ns, name, subresource: 'status' }, { ...budget, status });
      } catch (err) {
        // Deleted meanwhile: its DELETED event drops it.
        if (err instanceof NotFoundError) return;
        throw err;
      }
    }
    const expiry = nextExpiry(written.status.disruptedPods);
    // Re-computed when its earliest granted eviction times out (a little after, so it has).
    if (expiry !== undefined) this.queue.addAfter(key, Math.max(0, expiry - now) + 50);
  }
}

export const disruptionController: ControllerDefinition = {
  name: DISRUPTION_CONTROLLER,
  create: (ctx) => new DisruptionController(ctx),
};
