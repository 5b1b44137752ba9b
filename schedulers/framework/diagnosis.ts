// Why a pod fits nowhere, node by node, and the FailedScheduling message Kubernetes users know:
//   "0/50 nodes are available: 38 Insufficient cpu, 12 node(s) had untolerated taint {dedicated: gpu}."
// Each reason is counted once per node it applies to; reasons are listed by count, largest first.
import type { Rejection } from './plugin.js';

export class Diagnosis {
  /** The rejection of every node that failed a filter, by node name. */
  readonly nodeStatus = new Map<string, Rejection>();
  /** Plugins that rejected the pod somewhere: the queue retries it when what they look at changes. */
  readonly plugins = new Set<string>();
  /** Set when preFilter rejected the pod outright (no node was looked at). */
  preFilterRejection: Rejection | undefined;
  preFilterPlugin: string | undefined;

  constructor(readonly totalNodes: number) {}

  record(nodeName: string, rejection: Rejection, plugin: string): void {
    this.nodeStatus.set(nodeName, rejection);
    this.plugins.add(plugin);
  }

  rejectAll(rejection: Rejection, plugin: string): void {
    this.preFilterRejection = rejection;
    this.preFilterPlugin = plugin;
    this.plugins.add(plugin);
  }

  /** Whether every failure is one preemption cannot cure. */
  get unresolvable(): boolean {
    if (this.preFilterRejection) return true;
    for (const r of this.nodeStatus.values()) if (!r.unresolvable) return false;
    return true;
  }

  /** "0/N nodes are available: …." */
  message(): string {
    if (this.preFilterRejection) {
      return `0/${this.totalNodes} nodes are available: ${this.preFilterRejection.reasons.join(', ')}.`;
    }
    if (this.totalNodes === 0) return '0/0 nodes are available: no nodes registered.';
    return `0/${this.totalNodes} nodes are available: ${histogram(this.nodeStatus.values())}.`;
  }
}

/** "38 Insufficient cpu, 12 node(s) had untolerated taint {dedicated: gpu}" */
export function histogram(rejections: Iterable<Rejection>): string {
  const counts = new Map<string, number>();
  for (const r of rejections) for (const reason of r.reasons) counts.set(reason, (counts.get(reason) ?? 0) + 1);
  return [...counts]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([reason, n]) => `${n} ${reason}`)
    .join(', ');
}
