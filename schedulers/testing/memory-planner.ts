// The Planner of a scheduler run in memory: its commits go to a MemoryCluster's ledgers, under the
// API server's rule (MemoryCluster.place), and come back with the server's structured reasons.
// `beforeCommit` runs as each commit arrives, before it is applied — where a test lets "another
// scheduler" commit first, so a conflict happens exactly when the test wants it.
import type { PlacementResult } from '../../shared/api/scheduling.js';
import type { CommitKind, CommitOutcome, Decision, Planner } from '../commit/planner.js';
import type { MemoryCluster } from './memory-cluster.js';

export interface MemoryPlannerOptions {
  /** Coarse conflict detection: each binding names the ledger version it was decided on. */
  conflictMode?: 'fine' | 'coarse';
  /** Called as each commit arrives, before it is applied (e.g. to commit another scheduler's pods). */
  beforeCommit?(decisions: readonly Decision[], kind: CommitKind): void;
}

/** One commit the scheduler made, and its results. */
export interface CommitRecord {
  readonly kind: CommitKind;
  /** Per binding, the ledger version its decision read (NodeInfo.allocationResourceVersion). */
  readonly decidedOn: readonly (string | undefined)[];
  readonly results: readonly PlacementResult[];
}

export class MemoryPlanner implements Planner {
  /** Every commit, in the order they were applied. */
  readonly commits: CommitRecord[] = [];

  constructor(
    private readonly cluster: MemoryCluster,
    private readonly opts: MemoryPlannerOptions = {},
  ) {}

  async commit(decisions: readonly Decision[], kind: CommitKind): Promise<CommitOutcome[]> {
    // A round trip: the scheduler goes on deciding, and watch events may come in, meanwhile.
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.opts.beforeCommit?.(decisions, kind);
    const coarse = this.opts.conflictMode === 'coarse';
    const results = this.cluster.place(
      decisions.map((d) => ({
        namespace: d.ctx.pod.namespace,
        podName: d.ctx.pod.name,
        podUid: d.ctx.pod.uid,
        nodeName: d.nodeName,
        ...(coarse && d.allocationResourceVersion !== undefined ? { allocationResourceVersion: d.allocationResourceVersion } : {}),
      })),
      kind === 'gang' ? 'AllOrNothing' : 'Incremental',
    );
    this.commits.push({ kind, decidedOn: decisions.map((d) => d.allocationResourceVersion), results });
    return results.map((r): CommitOutcome => {
      const message = r.message ?? '';
      if (r.outcome === 'Bound') return { outcome: 'Bound' };
      if (r.outcome === 'Conflict') return { outcome: 'Conflict', reason: r.reason, message, allocationResourceVersion: r.allocationResourceVersion };
      return { outcome: r.outcome, message };
    });
  }
}
