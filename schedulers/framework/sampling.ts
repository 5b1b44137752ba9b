// How many feasible nodes to look for before scoring, as Kubernetes' percentageOfNodesToScore:
// every node in a small cluster; in a large one a share that shrinks as the cluster grows
// (50% minus 1% per 125 nodes, never under 5%, never fewer than 100 nodes). Each search starts
// where the previous one stopped, from a random first offset, so replicas and successive pods
// do not all converge on the same best-looking nodes.

const MIN_FEASIBLE_NODES = 100;
const MIN_PERCENTAGE = 5;
const BASE_PERCENTAGE = 50;

/** `percentage` 0 = adaptive; 1..100 = fixed share. */
export function numFeasibleNodesToFind(totalNodes: number, percentage: number): number {
  if (totalNodes < MIN_FEASIBLE_NODES || percentage >= 100) return totalNodes;
  let pct = percentage;
  if (pct <= 0) pct = Math.max(MIN_PERCENTAGE, BASE_PERCENTAGE - Math.floor(totalNodes / 125));
  return Math.max(MIN_FEASIBLE_NODES, Math.floor((totalNodes * pct) / 100));
}

/** A rotating start index over the node list. */
export class NodeCursor {
  private next: number;

  constructor(random: () => number = Math.random) {
    this.next = Math.floor(random() * 1_000_000_007);
  }

  /** Where this search starts among `total` nodes. */
  start(total: number): number {
    return total === 0 ? 0 : this.next % total;
  }

  /** The search looked at `evaluated` nodes from `start`. */
  advance(start: number, evaluated: number, total: number): void {
    this.next = total === 0 ? 0 : (start + evaluated) % total;
  }
}
