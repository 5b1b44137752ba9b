// The one rule for whether a pod's requests fit a node, used by the API server's ledger (the
// placement commit and node updates), the agent's admission, and — for which resources count — the
// scheduler's NodeResourcesFit (whose packed fast path computes the same comparisons).
import { Quantity } from './quantity.js';
import { PODS_RESOURCE } from './pod-resources.js';
import type { ResourceAmounts } from './resources.js';

/**
 * Whether a request for `name` is limited on a node whose capacity lists the resources for which
 * `listed` is true: cpu, memory, pods and extended (`domain/name`) resources always are — a node
 * without them has none — and any other only when the node lists it (ephemeral-storage on a node
 * that does not account for it is not limited).
 */
export function isLimitedResource(name: string, listed: (name: string) => boolean): boolean {
  return name === 'cpu' || name === 'memory' || name === PODS_RESOURCE || name.includes('/') || listed(name);
}

/** The first resource a request does not fit in. */
export interface Shortfall {
  resource: string;
  requested: Quantity;
  /** Already taken on the node. */
  used: Quantity;
  capacity: Quantity;
  /** capacity − used: may be negative on a node that shrank below what it holds. */
  free: Quantity;
}

/**
 * The first limited resource (in name order, so messages are stable) where used + requested
 * exceeds capacity, or undefined when the request fits. A zero request always fits.
 */
export function firstShortfall(requests: ResourceAmounts, used: ResourceAmounts, capacity: ResourceAmounts): Shortfall | undefined {
  const listed = (name: string) => capacity.has(name);
  for (const name of requests.names().sort()) {
    const want = requests.get(name);
    if (want <= 0n || !isLimitedResource(name, listed)) continue;
    if (used.get(name) + want <= capacity.get(name)) continue;
    const requested = requests.quantity(name);
    const free = capacity.has(name) || used.has(name) ? capacity.quantity(name).sub(used.quantity(name)) : Quantity.fromMilli(0n, requested.format);
    return { resource: name, requested, used: used.quantity(name), capacity: capacity.quantity(name), free };
  }
  return undefined;
}

/** "insufficient cpu: requested 500m, free 200m" — the wording of the API server's refusals. */
export function describeShortfall(s: Shortfall): string {
  return `insufficient ${s.resource}: requested ${s.requested.toString()}, free ${s.free.toString()}`;
}
