// The seam between deciding and committing (Nomad's Planner): the scheduler hands decided pods to a
// Planner and gets back, per pod, what became of it. The daemon's Planner is the API server
// (api-planner.ts); tests plug in an in-memory ledger (schedulers/testing/memory-planner.ts), so the
// whole cycle — conflicts, preemption, gangs — runs without a server. Batching and the in-flight
// limit stay in the Committer, in front of whichever Planner it is given.
import type { PlacementOutcome, PlacementReason } from '../../shared/api/scheduling.js';
import type { CycleContext } from '../framework/cycle.js';
import type { ConflictReason } from '../metrics.js';

/** A pod decided onto a node (assumed there), waiting for its commit. */
export interface Decision {
  readonly ctx: CycleContext;
  readonly nodeName: string;
  /** The ledger version the decision read (sent in coarse mode). */
  readonly allocationResourceVersion: string | undefined;
  /** performance.now() when the attempt began. */
  readonly startedAt: number;
}

/** What became of one decision; `reason` is the server's structured PlacementReason, never its wording. */
export type CommitOutcome =
  | { readonly outcome: 'Bound' }
  | {
      readonly outcome: 'Conflict';
      readonly reason: PlacementReason | undefined;
      readonly message: string;
      /** The ledger version the refusal was decided on, when the planner says (shared/api/scheduling.ts). */
      readonly allocationResourceVersion: string | undefined;
    }
  | { readonly outcome: Exclude<PlacementOutcome, 'Bound' | 'Conflict'> | 'Error'; readonly message: string };

/**
 * How decisions travel: `binding` one pod, `placement` several that commit independently
 * (Incremental), `gang` several that commit all together or not at all (AllOrNothing).
 */
export type CommitKind = 'binding' | 'placement' | 'gang';

export interface Planner {
  /**
   * Commit `decisions` as `kind` says; one outcome per decision, in order. A rejection means the
   * whole request failed (every decision gets outcome Error).
   */
  commit(decisions: readonly Decision[], kind: CommitKind): Promise<CommitOutcome[]>;
}

/** The metrics label of a conflict, from its PlacementReason. */
export function conflictReason(reason: PlacementReason | undefined): ConflictReason {
  switch (reason) {
    case 'PodTaken':
      return 'pod-taken';
    case 'PodChanged':
      return 'pod-changed';
    case 'LedgerMoved':
      return 'allocation-changed';
    default:
      return 'insufficient';
  }
}
