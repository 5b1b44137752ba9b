// The node lifecycle controller (DESIGN §5), as Kubernetes' node lifecycle controller works with
// node leases: every monitor period it looks at each Node and its Lease in `kube-node-lease`.
//   - A node whose Lease this controller has not seen change for the grace period gets its
//     conditions set to Unknown (nodes/{name}/status) and the `node.kubernetes.io/unreachable`
//     taints (nodes/{name}), so schedulers stop placing there.
//   - After the pod eviction timeout it fails the node's pods (NodeLost) through
//     pods/{name}/status; the API server's pod write hook releases each pod's allocation in the
//     same transaction, so the capacity is usable again.
//   - When the Lease moves again and the agent reports Ready, the taint is removed.
// Staleness is judged by when *this* process saw the Lease change, never by the agent's clock, and
// a node seen for the first time (or after a leader change: a new controller) gets a full grace
// period. Every write carries the resourceVersion it was computed from; a conflict fails the
// node's sync and the work queue retries it with back-off.
import { isDeepStrictEqual } from 'node:util';
import { NODE_LEASE_NAMESPACE, type Lease } from '../../shared/api/coordination.js';
import type { Node, NodeCondition, Pod } from '../../shared/api/core.js';
import type { EventRecorder } from '../../shared/client/events.js';
import type { ApiClient } from '../../shared/client/http-client.js';
import type { Informer } from '../../shared/client/informer.js';
import { NotFoundError, errorMessage } from '../../shared/errors.js';
import type { Logger } from '../../shared/logging.js';
import { holdsResources } from '../../shared/node-ledger.js';
import { failedPod } from '../../shared/pod-failure.js';
import type { Controller, ControllerContext, ControllerDefinition } from '../controller.js';
import { WorkQueue } from '../work-queue.js';
import { hasUnreachableTaint, markedUnknown, untainted } from './unreachable.js';

export const NODE_LIFECYCLE_CONTROLLER = 'nodelifecycle';
/** The pods informer index this controller adds: bound pods by node name. */
const BY_NODE = 'nodelifecycle:node';

export interface NodeLifecycleOptions {
  gracePeriodMs: number;
  podEvictionTimeoutMs: number;
  monitorPeriodMs: number;
}

export const NODE_LIFECYCLE_DEFAULTS: NodeLifecycleOptions = { gracePeriodMs: 40_000, podEvictionTimeoutMs: 5 * 60_000, monitorPeriodMs: 5_000 };

interface NodeHealth {
  /** When this controller last saw the node's Lease change (or first saw the node). */
  probeAt: number;
  leaseVersion: string | undefined;
  /** When the node became Unknown, for the eviction timeout. */
  unknownSince: number | undefined;
}

function readyOf(node: Node): NodeCondition | undefined {
  return node.status?.conditions?.find((c) => c.type === 'Ready');
}

export class NodeLifecycleController implements Controller {
  readonly name = NODE_LIFECYCLE_CONTROLLER;
  private readonly health = new Map<string, NodeHealth>();
  private readonly queue: WorkQueue;
  private readonly nodes: Informer<Node>;
  private readonly leases: Informer<Lease>;
  private readonly pods: Informer<Pod>;
  private readonly client: ApiClient;
  private readonly log: Logger;
  private readonly events: EventRecorder;
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    ctx: ControllerContext,
    private readonly o: NodeLifecycleOptions,
  ) {
    this.client = ctx.client;
    this.log = ctx.log;
    this.events = ctx.events('node-controller');
    this.nodes = ctx.informers.get<Node>({ version: 'v1', resource: 'nodes' });
    this.leases = ctx.informers.get<Lease>({ group: 'coordination.k8s.io', version: 'v1', resource: 'leases', namespace: NODE_LEASE_NAMESPACE });
    this.pods = ctx.informers.get<Pod>({ version: 'v1', resource: 'pods' });
    this.queue = new WorkQueue({ name: NODE_LIFECYCLE_CONTROLLER, sync: (name) => this.sync(name), log: this.log, workers: 4 , metrics: ctx.queueMetrics });
  }

  start(): void {
    this.running = true;
    this.pods.addIndex(BY_NODE, (p) => (p.spec.nodeName ? [p.spec.nodeName] : []));
    // Judging leases before both caches are filled would see every node as new (harmless) or
    // every lease as missing (not): wait for them.
    void Promise.all([this.nodes.hasSynced(), this.leases.hasSynced(), this.pods.hasSynced()]).then(() => {
      if (!this.running) return;
      this.queue.start();
      this.timer = setInterval(() => this.monitor(), this.o.monitorPeriodMs);
      this.monitor();
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.queue.stop();
  }

  /** One look at every node: note lease movements, queue each node for a check. */
  private monitor(): void {
    const now = Date.now();
    const seen = new Set<string>();
    for (const node of this.nodes.list()) {
      const name = node.metadata.name ?? '';
      seen.add(name);
      const leaseVersion = this.leases.get(NODE_LEASE_NAMESPACE, name)?.metadata.resourceVersion;
      const h = this.health.get(name);
      if (!h) this.health.set(name, { probeAt: now, leaseVersion, unknownSince: undefined });
      else if (leaseVersion !== h.leaseVersion) {
        h.leaseVersion = leaseVersion;
        h.probeAt = now;
      }
      this.queue.add(name);
    }
    for (const name of [...this.health.keys()]) if (!seen.has(name)) this.health.delete(name);
  }

  private async sync(name: string): Promise<void> {
    const node = this.nodes.get(undefined, name);
    const h = this.health.get(name);
    if (!node || !h) return;
    try {
      await this.check(node, h, Date.now());
    } catch (err) {
      // Deleted meanwhile: the next monitor pass forgets it.
      if (!(err instanceof NotFoundError)) throw err;
    }
  }

  private async check(node: Node, h: NodeHealth, now: number): Promise<void> {
    const name = node.metadata.name ?? '';
    const ready = readyOf(node);
    if (now - h.probeAt > this.o.gracePeriodMs) {
      const marked = markedUnknown(node, now);
      if (marked) {
        const statusChanged = !isDeepStrictEqual(marked.status.conditions, node.status.conditions);
        let current = node;
        if (statusChanged) {
          current = await this.client.update<Node>({ resource: 'nodes', name, subresource: 'status' }, { ...node, status: marked.status });
        }
        if (!isDeepStrictEqual(marked.spec.taints, node.spec.taints)) {
          await this.client.update<Node>({ resource: 'nodes', name }, { ...current, spec: { ...current.spec, taints: marked.spec.taints } });
        }
        if (statusChanged && ready?.status !== 'Unknown') {
          h.unknownSince ??= now;
          const seconds = Math.round((now - h.probeAt) / 1000);
          this.log.warn('node is unreachable: lease not renewed', { node: name, sinceSeconds: seconds });
          void this.events.record({ kind: 'Node', apiVersion: 'v1', name, uid: node.metadata.uid ?? '' }, 'Normal', 'NodeNotReady', `Node ${name} status is now: NodeNotReady (lease not renewed for ${seconds}s)`);
        }
      }
      // Unknown already when this controller first saw it (e.g. marked by a previous leader).
      if (h.unknownSince === undefined) {
        const since = ready?.status === 'Unknown' && ready.lastTransitionTime ? Date.parse(ready.lastTransitionTime) : NaN;
        h.unknownSince = Number.isFinite(since) ? Math.min(since, now) : now;
      }
      if (now - h.unknownSince >= this.o.podEvictionTimeoutMs) await this.evict(name, now - h.probeAt);
      return;
    }
    h.unknownSince = undefined;
    // Healthy again: the taint goes once the agent reports Ready (it does on seeing Unknown).
    if (ready?.status === 'True' && hasUnreachableTaint(node)) {
      const next = untainted(node);
      if (next) await this.client.update<Node>({ resource: 'nodes', name }, next);
      this.log.info('node is reachable again: taint removed', { node: name });
      void this.events.record({ kind: 'Node', apiVersion: 'v1', name, uid: node.metadata.uid ?? '' }, 'Normal', 'NodeReady', `Node ${name} status is now: NodeReady`);
    }
  }

  /** Fail the lost node's pods that still hold resources; any refused write fails the sync (retried). */
  private async evict(name: string, silentMs: number): Promise<void> {
    const message = `Node ${name} which was running the pod is unresponsive (no heartbeat for ${Math.round(silentMs / 1000)}s)`;
    let failed = 0;
    let firstError: unknown;
    for (const pod of this.pods.byIndex(BY_NODE, name)) {
      if (!holdsResources(pod)) continue;
      try {
        await this.client.update({ resource: 'pods', namespace: pod.metadata.namespace ?? 'default', name: pod.metadata.name ?? '', subresource: 'status' }, failedPod(pod, 'NodeLost', message));
        failed++;
      } catch (err) {
        // Deleted meanwhile: its allocation left with it.
        if (err instanceof NotFoundError) continue;
        this.log.debug('could not fail a pod of a lost node', { node: name, pod: pod.metadata.name, error: errorMessage(err) });
        firstError ??= err;
      }
    }
    if (failed > 0) {
      this.log.warn('failed the pods of an unreachable node', { node: name, pods: failed });
      void this.events.record({ kind: 'Node', apiVersion: 'v1', name }, 'Warning', 'NodeControllerEviction', `Marked ${failed} pod(s) of unreachable node ${name} Failed (NodeLost)`);
    }
    if (firstError !== undefined) throw firstError;
  }
}

export const nodeLifecycleController: ControllerDefinition = {
  name: NODE_LIFECYCLE_CONTROLLER,
  create(ctx) {
    const c = ctx.config ?? {};
    return new NodeLifecycleController(ctx, {
      gracePeriodMs: c.nodeMonitorGracePeriodMs ?? NODE_LIFECYCLE_DEFAULTS.gracePeriodMs,
      podEvictionTimeoutMs: c.podEvictionTimeoutMs ?? NODE_LIFECYCLE_DEFAULTS.podEvictionTimeoutMs,
      monitorPeriodMs: c.nodeMonitorPeriodMs ?? NODE_LIFECYCLE_DEFAULTS.monitorPeriodMs,
    });
  },
};
