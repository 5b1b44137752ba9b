// The pod garbage collector (Kubernetes' PodGC, the parts this cluster needs):
//   - orphaned pods: bound, unfinished pods whose node no longer exists are failed (NodeLost),
//     which releases their allocation. Deleting a node through the API already does this first
//     (placement/routes.ts); this catches whatever that missed, e.g. a crash half-way.
//   - terminating pods that nobody will confirm: a pod being gracefully deleted that has finished
//     (e.g. failed by the node lifecycle controller) on a node that is gone or unreachable would
//     wait for its agent forever; its deletion is completed here.
// A node that looks missing in the watch cache is confirmed against the store before any pod is
// touched, so a node created a moment ago is never mistaken for a deleted one.
import type { Node, Pod } from '../../shared/api/core.js';
import { NotFoundError, errorMessage } from '../../shared/errors.js';
import type { Logger } from '../../shared/logging.js';
import { holdsResources } from '../../shared/node-ledger.js';
import { failPodsOnNode } from '../placement/release.js';
import type { ResourceStore } from '../registry/resource-store.js';
import { isTerminalPod } from '../registry/strategy.js';
import type { KubeObject } from '../registry/object.js';
import { hasUnreachableTaint } from './node-lifecycle.js';

export interface PodGcDeps {
  pods: ResourceStore;
  nodes: ResourceStore;
  log: Logger;
}

export class PodGarbageCollector {
  private timer: NodeJS.Timeout | undefined;
  private busy: Promise<void> | undefined;

  constructor(
    private readonly d: PodGcDeps,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.collect(), this.intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.busy;
  }

  /** One pass (skipped when the previous one is still running). */
  collect(): Promise<void> {
    if (this.busy) return this.busy;
    const run = this.pass()
      .catch((err: unknown) => {
        this.d.log.warn('pod GC pass failed; will retry', { error: errorMessage(err) });
      })
      .finally(() => {
        this.busy = undefined;
      });
    this.busy = run;
    return run;
  }

  private async pass(): Promise<void> {
    const pods = (await this.d.pods.cache.list('/pods/')).items as unknown as Pod[];
    const nodes = new Map(((await this.d.nodes.cache.list('/nodes/')).items as unknown as Node[]).map((n) => [n.metadata.name ?? '', n]));
    const orphanedOn = new Set<string>();
    const stuck: Pod[] = [];
    for (const pod of pods) {
      const node = pod.spec.nodeName;
      if (!node) continue;
      if (holdsResources(pod) && !nodes.has(node)) orphanedOn.add(node);
      if (pod.metadata.deletionTimestamp !== undefined && isTerminalPod(pod as unknown as KubeObject)) {
        const n = nodes.get(node);
        if (!n || hasUnreachableTaint(n)) stuck.push(pod);
      }
    }
    for (const node of orphanedOn) {
      if (await this.d.nodes.tryGet(undefined, node)) continue;
      const n = await failPodsOnNode(this.d.pods, node, 'NodeLost', `node ${node} no longer exists`);
      if (n > 0) this.d.log.warn('failed pods bound to a node that no longer exists', { node, pods: n });
    }
    for (const pod of stuck) {
      const uid = pod.metadata.uid;
      const name = pod.metadata.name ?? '';
      try {
        await this.d.pods.delete(pod.metadata.namespace, name, (cur) => {
          // Only the very pod that was seen: not one re-created under the same name.
          if (cur.metadata.uid !== uid) throw this.d.pods.notFound(name);
        });
        this.d.log.info('completed the deletion of a finished pod on a lost node', { pod: `${pod.metadata.namespace ?? ''}/${name}`, node: pod.spec.nodeName });
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
      }
    }
  }
}
