// The pod garbage collector (Kubernetes' PodGC, the parts this cluster needs), every interval:
//   - orphaned pods: bound, unfinished pods whose node no longer exists are failed (NodeLost)
//     through pods/{name}/status, which releases their allocation in the same transaction.
//     Deleting a node through the API already does this (placement/routes.ts); this catches
//     whatever that missed, e.g. a crash half-way.
//   - terminating pods that nobody will confirm: a pod being gracefully deleted that has finished
//     (e.g. failed by the node lifecycle controller) on a node that is gone or unreachable would
//     wait for its agent forever; it is deleted at once (grace 0, only that very uid).
// A node missing from the informer is confirmed with a GET before any pod is touched, so a node
// created a moment ago is never mistaken for a deleted one.
import type { Node, Pod } from '../../shared/api/core.js';
import type { ApiClient } from '../../shared/client/http-client.js';
import type { Informer } from '../../shared/client/informer.js';
import { NotFoundError, errorMessage } from '../../shared/errors.js';
import type { Logger } from '../../shared/logging.js';
import { holdsResources } from '../../shared/node-ledger.js';
import { failedPod } from '../../shared/pod-failure.js';
import type { Controller, ControllerContext, ControllerDefinition } from '../controller.js';
import { hasUnreachableTaint } from '../node-lifecycle/unreachable.js';
import { WorkQueue } from '../work-queue.js';

export const POD_GC_CONTROLLER = 'podgc';
/** Kubernetes' gcCheckPeriod. */
export const POD_GC_INTERVAL_MS = 20_000;
/** The one key of the queue: a pass is one sync, so passes never overlap and a failed one is retried. */
const PASS = 'pass';

function isFinished(pod: Pod): boolean {
  return pod.status.phase === 'Succeeded' || pod.status.phase === 'Failed';
}

export class PodGarbageCollector implements Controller {
  readonly name = POD_GC_CONTROLLER;
  private readonly pods: Informer<Pod>;
  private readonly nodes: Informer<Node>;
  private readonly client: ApiClient;
  private readonly log: Logger;
  private readonly queue: WorkQueue;
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    ctx: ControllerContext,
    private readonly intervalMs: number,
  ) {
    this.client = ctx.client;
    this.log = ctx.log;
    this.pods = ctx.informers.get<Pod>({ version: 'v1', resource: 'pods' });
    this.nodes = ctx.informers.get<Node>({ version: 'v1', resource: 'nodes' });
    this.queue = new WorkQueue({ name: POD_GC_CONTROLLER, sync: () => this.pass(), log: this.log, workers: 1 , metrics: ctx.queueMetrics });
  }

  start(): void {
    this.running = true;
    void Promise.all([this.pods.hasSynced(), this.nodes.hasSynced()]).then(() => {
      if (!this.running) return;
      this.queue.start();
      this.timer = setInterval(() => this.queue.add(PASS), this.intervalMs);
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.queue.stop();
  }

  private async pass(): Promise<void> {
    const orphanedOn = new Map<string, Pod[]>();
    const stuck: Pod[] = [];
    for (const pod of this.pods.list()) {
      const nodeName = pod.spec.nodeName;
      if (!nodeName) continue;
      const node = this.nodes.get(undefined, nodeName);
      if (holdsResources(pod) && !node) orphanedOn.set(nodeName, [...(orphanedOn.get(nodeName) ?? []), pod]);
      if (pod.metadata.deletionTimestamp !== undefined && isFinished(pod) && (!node || hasUnreachableTaint(node))) stuck.push(pod);
    }
    let firstError: unknown;
    const attempt = async (what: () => Promise<void>) => {
      try {
        await what();
      } catch (err) {
        if (err instanceof NotFoundError) return;
        this.log.debug('pod GC write failed', { error: errorMessage(err) });
        firstError ??= err;
      }
    };
    for (const [nodeName, pods] of orphanedOn) {
      if (await this.nodeExists(nodeName)) continue;
      let failed = 0;
      for (const pod of pods) {
        await attempt(async () => {
          await this.client.update(
            { resource: 'pods', namespace: pod.metadata.namespace ?? 'default', name: pod.metadata.name ?? '', subresource: 'status' },
            failedPod(pod, 'NodeLost', `node ${nodeName} no longer exists`),
          );
          failed++;
        });
      }
      if (failed > 0) this.log.warn('failed pods bound to a node that no longer exists', { node: nodeName, pods: failed });
    }
    for (const pod of stuck) {
      await attempt(async () => {
        const ns = pod.metadata.namespace ?? 'default';
        const name = pod.metadata.name ?? '';
        // Only the very pod that was seen: not one re-created under the same name.
        await this.client.delete({ resource: 'pods', namespace: ns, name }, { gracePeriodSeconds: 0, ...(pod.metadata.uid ? { preconditions: { uid: pod.metadata.uid } } : {}) });
        this.log.info('completed the deletion of a finished pod on a lost node', { pod: `${ns}/${name}`, node: pod.spec.nodeName });
      });
    }
    if (firstError !== undefined) throw firstError;
  }

  private async nodeExists(name: string): Promise<boolean> {
    try {
      await this.client.get({ resource: 'nodes', name });
      return true;
    } catch (err) {
      if (err instanceof NotFoundError) return false;
      throw err;
    }
  }
}

export const podGcController: ControllerDefinition = {
  name: POD_GC_CONTROLLER,
  create: (ctx) => new PodGarbageCollector(ctx, ctx.config?.podGcIntervalMs ?? POD_GC_INTERVAL_MS),
};
