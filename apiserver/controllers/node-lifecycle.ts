// The node lifecycle controller (DESIGN §5), as Kubernetes' node lifecycle controller works with
// node leases: every monitor period it looks at each Node and its Lease in `kube-node-lease`.
//   - A node whose Lease this controller has not seen change for the grace period gets its
//     conditions set to Unknown (reason NodeStatusUnknown) and the `node.kubernetes.io/unreachable`
//     taint (NoSchedule, so schedulers stop placing there; NoExecute, as Kubernetes marks it).
//   - After the pod eviction timeout it fails the node's pods (NodeLost), which releases their
//     allocation in the same transaction (placement/release.ts), so the capacity is usable again.
//   - When the Lease moves again and the agent reports Ready, the taint is removed.
// Staleness is judged by when *this* process saw the Lease change, never by the agent's clock, and
// a node seen for the first time (or after a leader change) gets a full grace period.
import { NODE_LEASE_NAMESPACE } from '../../shared/api/coordination.js';
import type { Node, NodeCondition, Taint } from '../../shared/api/core.js';
import { formatTime } from '../../shared/api/meta.js';
import type { NodeAllocation } from '../../shared/api/scheduling.js';
import { NotFoundError, errorMessage } from '../../shared/errors.js';
import type { Logger } from '../../shared/logging.js';
import { failPodsOnNode } from '../placement/release.js';
import type { KubeObject } from '../registry/object.js';
import type { ResourceStore } from '../registry/resource-store.js';
import type { RecordEvent } from './events.js';

export const UNREACHABLE_TAINT_KEY = 'node.kubernetes.io/unreachable';
const UNREACHABLE_EFFECTS = ['NoSchedule', 'NoExecute'] as const;

export interface NodeLifecycleOptions {
  /** A Lease unchanged this long makes the node Unknown (Kubernetes' --node-monitor-grace-period, 40 s). */
  gracePeriodMs: number;
  /** How long a node stays Unknown before its pods are failed (--pod-eviction-timeout, 5 min). */
  podEvictionTimeoutMs: number;
  /** How often nodes are checked (--node-monitor-period, 5 s). */
  monitorPeriodMs: number;
}

export interface NodeLifecycleDeps {
  nodes: ResourceStore;
  leases: ResourceStore;
  pods: ResourceStore;
  allocations: ResourceStore;
  log: Logger;
  event: RecordEvent;
}

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

export function hasUnreachableTaint(node: Pick<Node, 'spec'>, effect?: string): boolean {
  return (node.spec?.taints ?? []).some((t) => t.key === UNREACHABLE_TAINT_KEY && (effect === undefined || t.effect === effect));
}

/** The node with every condition Unknown and the unreachable taints, or undefined when it is so already. */
export function markedUnknown(node: Node, now: number): Node | undefined {
  const at = formatTime(new Date(now));
  const conditions = node.status?.conditions ?? [];
  let changed = false;
  const next: Node = structuredClone(node);
  next.status.conditions = conditions.map((c) => {
    if (c.status === 'Unknown') return c;
    changed = true;
    return { ...c, status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.', lastTransitionTime: at };
  });
  if (!conditions.some((c) => c.type === 'Ready')) {
    changed = true;
    next.status.conditions.push({ type: 'Ready', status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet never posted node status.', lastTransitionTime: at });
  }
  const taints: Taint[] = [...(node.spec?.taints ?? [])];
  for (const effect of UNREACHABLE_EFFECTS) {
    if (!hasUnreachableTaint(node, effect)) {
      taints.push({ key: UNREACHABLE_TAINT_KEY, effect, timeAdded: at });
      changed = true;
    }
  }
  if (!changed) return undefined;
  if (taints.length !== (node.spec?.taints ?? []).length) {
    next.spec = { ...next.spec, taints };
    next.metadata.generation = (node.metadata.generation ?? 1) + 1;
  }
  return next;
}

/** The node without the unreachable taints. */
export function untainted(node: Node): Node | undefined {
  if (!hasUnreachableTaint(node)) return undefined;
  const next: Node = structuredClone(node);
  const taints = (node.spec.taints ?? []).filter((t) => t.key !== UNREACHABLE_TAINT_KEY);
  if (taints.length > 0) next.spec.taints = taints;
  else delete next.spec.taints;
  next.metadata.generation = (node.metadata.generation ?? 1) + 1;
  return next;
}

export class NodeLifecycleController {
  private readonly health = new Map<string, NodeHealth>();
  private timer: NodeJS.Timeout | undefined;
  private busy: Promise<void> | undefined;

  constructor(
    private readonly d: NodeLifecycleDeps,
    private readonly o: NodeLifecycleOptions,
  ) {}

  start(): void {
    // A new leader knows nothing about when leases last moved: every node gets a full grace period.
    this.health.clear();
    this.timer = setInterval(() => void this.monitor(), this.o.monitorPeriodMs);
    void this.monitor();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.busy;
  }

  /** One pass over all nodes (skipped when the previous one is still running). */
  monitor(): Promise<void> {
    if (this.busy) return this.busy;
    const run = this.pass()
      .catch((err: unknown) => {
        this.d.log.warn('node lifecycle pass failed; will retry', { error: errorMessage(err) });
      })
      .finally(() => {
        this.busy = undefined;
      });
    this.busy = run;
    return run;
  }

  private async pass(): Promise<void> {
    const nodes = (await this.d.nodes.cache.list('/nodes/')).items as unknown as Node[];
    const leases = new Map((await this.d.leases.cache.list(`/leases/${NODE_LEASE_NAMESPACE}/`)).items.map((l) => [l.metadata.name ?? '', l]));
    const now = Date.now();
    const seen = new Set<string>();
    for (const node of nodes) {
      const name = node.metadata.name ?? '';
      seen.add(name);
      const leaseVersion = leases.get(name)?.metadata.resourceVersion;
      let h = this.health.get(name);
      if (!h) {
        h = { probeAt: now, leaseVersion, unknownSince: undefined };
        this.health.set(name, h);
      } else if (leaseVersion !== h.leaseVersion) {
        h.leaseVersion = leaseVersion;
        h.probeAt = now;
      }
      try {
        await this.check(node, h, now);
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
      }
    }
    for (const name of [...this.health.keys()]) if (!seen.has(name)) this.health.delete(name);
  }

  private async check(node: Node, h: NodeHealth, now: number): Promise<void> {
    const name = node.metadata.name ?? '';
    const ready = readyOf(node);
    if (now - h.probeAt > this.o.gracePeriodMs) {
      if (ready?.status !== 'Unknown' || !hasUnreachableTaint(node, 'NoSchedule') || !hasUnreachableTaint(node, 'NoExecute')) {
        let marked = false;
        await this.d.nodes.update(undefined, name, (cur) => {
          const next = markedUnknown(cur as unknown as Node, now);
          marked = next !== undefined;
          return next ? (next as unknown as KubeObject) : cur;
        });
        if (marked) {
          h.unknownSince ??= now;
          const seconds = Math.round((now - h.probeAt) / 1000);
          this.d.log.warn('node is unreachable: lease not renewed', { node: name, sinceSeconds: seconds });
          this.d.event({ kind: 'Node', apiVersion: 'v1', name, uid: node.metadata.uid ?? '' }, 'Normal', 'NodeNotReady', `Node ${name} status is now: NodeNotReady (lease not renewed for ${seconds}s)`);
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
      await this.d.nodes.update(undefined, name, (cur) => {
        const next = untainted(cur as unknown as Node);
        return next ? (next as unknown as KubeObject) : cur;
      });
      this.d.log.info('node is reachable again: taint removed', { node: name });
      this.d.event({ kind: 'Node', apiVersion: 'v1', name, uid: node.metadata.uid ?? '' }, 'Normal', 'NodeReady', `Node ${name} status is now: NodeReady`);
    }
  }

  /** Fail the lost node's pods, if its ledger still holds any. */
  private async evict(name: string, silentMs: number): Promise<void> {
    const alloc = this.d.allocations.cache.peek(this.d.allocations.key(undefined, name)) as unknown as NodeAllocation | undefined;
    if (alloc && alloc.spec.pods.length === 0) return;
    const n = await failPodsOnNode(this.d.pods, name, 'NodeLost', `Node ${name} which was running the pod is unresponsive (no heartbeat for ${Math.round(silentMs / 1000)}s)`);
    if (n > 0) {
      this.d.log.warn('failed the pods of an unreachable node', { node: name, pods: n });
      this.d.event({ kind: 'Node', apiVersion: 'v1', name }, 'Warning', 'NodeControllerEviction', `Marked ${n} pod(s) of unreachable node ${name} Failed (NodeLost)`);
    }
  }
}
