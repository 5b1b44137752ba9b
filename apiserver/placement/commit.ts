// Optimistic placement commits (DESIGN §3): each binding writes the pod AND its node's allocation
// in one etcd transaction guarded by both mod revisions, so no node is ever over-committed however
// many schedulers race. Bindings of one request are batched into as few transactions as etcd's
// limits allow (Omega transactions, Nomad plans).
//
// Conflict detection is per binding: one that names the allocation resourceVersion the scheduler
// decided on is coarse-grained (any change to that allocation → Conflict); one that does not is
// fine-grained (the allocation is re-read and the binding retried while the pod still fits).
import { ConflictError, NotFoundError, TxnTooLargeError } from '../../shared/errors.js';
import type { Pod } from '../../shared/api/core.js';
import { ALLOCATION_VERSION_CAUSE, type NodeAllocation, type PlacementOutcome, type PlacementReason } from '../../shared/api/scheduling.js';
import type { ResourceStore } from '../registry/resource-store.js';
import type { KubeObject } from '../registry/object.js';
import { withRevision } from '../registry/watch-cache.js';
import { nowTimestamp } from '../registry/rest.js';
import { MAX_TXN_OPS, type Store } from '../storage/store.js';
import { GuardedTransactions, MAX_GUARDED_BYTES, type Decision, type GuardedWrite, type Slot, type Snapshot } from '../registry/guarded-txn.js';
import { misfit, withPod } from '../../shared/node-ledger.js';

export interface BindRequest {
  namespace: string;
  podName: string;
  podUid?: string;
  nodeName: string;
  /** Coarse-grained: the allocation resourceVersion the decision was made against. */
  allocationResourceVersion?: string;
}

export interface BindResult {
  outcome: PlacementOutcome;
  reason?: PlacementReason;
  message?: string;
  /** The ledger version the refusal was decided on (Insufficient, HostPortInUse, LedgerMoved). */
  allocationResourceVersion?: string;
  /** The bound pod (outcome Bound). */
  pod?: KubeObject;
}

export interface CommitMetrics {
  conflict(mode: 'fine' | 'coarse'): void;
  retry(): void;
  bound(n: number): void;
}

export interface CommitOptions {
  /** dryRun=All: decide every binding as for real (on fresh state), write nothing. */
  dryRun?: boolean;
}

/** Attempts per transaction before a binding is reported as a conflict (fine mode under churn). */
const MAX_ATTEMPTS = 25;

interface Decided {
  result?: BindResult;
  /** The pod as it will be written. */
  next?: KubeObject;
}

export class PlacementCommitter {
  private readonly txns: GuardedTransactions;

  constructor(
    store: Store,
    private readonly pods: ResourceStore,
    private readonly allocations: ResourceStore,
    private readonly metrics: CommitMetrics,
  ) {
    this.txns = new GuardedTransactions(store);
  }

  private podKey(b: BindRequest): string {
    return this.pods.key(b.namespace, b.podName);
  }

  private allocKey(node: string): string {
    return this.allocations.key(undefined, node);
  }

  /**
   * Commit bindings. Incremental: every binding that fits commits; the rest report why.
   * AllOrNothing: all commit in one transaction, or none do.
   */
  async commit(items: BindRequest[], mode: 'Incremental' | 'AllOrNothing', opts: CommitOptions = {}): Promise<BindResult[]> {
    const results: (BindResult | undefined)[] = new Array(items.length).fill(undefined);
    // The same pod twice in one request is a client error for the later copies.
    const seen = new Map<string, number>();
    items.forEach((b, i) => {
      const k = this.podKey(b);
      if (seen.has(k)) {
        results[i] = { outcome: 'Invalid', reason: 'Duplicate', message: `pod ${b.namespace}/${b.podName} appears more than once (first at bindings[${seen.get(k)}])` };
      } else seen.set(k, i);
    });
    const live = items.map((_, i) => i).filter((i) => results[i] === undefined);

    if (mode === 'AllOrNothing') {
      if (live.length < items.length) {
        return items.map((_, i) => results[i] ?? { outcome: 'Skipped', reason: 'NotAttempted', message: 'placement not committed: another binding is invalid' });
      }
      const ops = live.length + new Set(live.map((i) => items[i]!.nodeName)).size;
      if (ops > MAX_TXN_OPS) {
        throw new TxnTooLargeError(
          `an AllOrNothing placement must fit one store transaction: ${live.length} pods on ${ops - live.length} nodes need ${ops} operations, the limit is ${MAX_TXN_OPS}`,
          { kind: 'Placement' },
          [{ reason: 'FieldValueTooLong', field: 'spec.bindings', message: `at most ${MAX_TXN_OPS} pods plus distinct nodes` }],
        );
      }
      const out = await this.commitChunk(items, live, true, opts);
      const all = items.map((_, i) => out.get(i)!);
      return opts.dryRun ? all : this.counted(items, all);
    }

    // One transaction per node, all at once: a conflict on one node (another scheduler got there
    // first) then retries that node's bindings only, not every binding of the Placement. The etcd
    // store's group commit sends these transactions together, as one request.
    await Promise.all(
      this.chunksPerNode(items, live).map(async (chunks) => {
        // A node with more bindings than one transaction holds: its chunks go one after another.
        for (const chunk of chunks) {
          const out = await this.commitChunk(items, chunk, false, opts);
          for (const [i, r] of out) results[i] = r;
        }
      }),
    );
    const all = results.map((r) => r!);
    return opts.dryRun ? all : this.counted(items, all);
  }

  /** Final outcomes only are counted (a refusal re-checked and overturned is not a conflict). */
  private counted(items: BindRequest[], results: BindResult[]): BindResult[] {
    results.forEach((r, i) => {
      if (r.outcome === 'Conflict') this.metrics.conflict(items[i]!.allocationResourceVersion !== undefined ? 'coarse' : 'fine');
    });
    return results;
  }

  /** Bindings by node, each node's split into transactions within etcd's op limit (pods + its allocation). */
  private chunksPerNode(items: BindRequest[], indices: number[]): number[][][] {
    const byNode = new Map<string, number[]>();
    for (const i of indices) {
      const n = items[i]!.nodeName;
      let group = byNode.get(n);
      if (!group) byNode.set(n, (group = []));
      group.push(i);
    }
    const perTxn = MAX_TXN_OPS - 1;
    return [...byNode.values()].map((group) => {
      const chunks: number[][] = [];
      for (let start = 0; start < group.length; start += perTxn) chunks.push(group.slice(start, start + perTxn));
      return chunks;
    });
  }

  private decide(b: BindRequest, state: Snapshot, working: Map<string, NodeAllocation>): Decided {
    const podEntry = state.get(this.podKey(b));
    if (!podEntry) return { result: { outcome: 'NotFound', reason: 'PodNotFound', message: `pods "${b.podName}" not found in namespace "${b.namespace}"` } };
    // Never mutated: the entry may be the watch cache's own object.
    const pod = podEntry.obj as unknown as Pod;
    const name = `${b.namespace}/${b.podName}`;
    if (b.podUid && pod.metadata.uid !== b.podUid) {
      return { result: { outcome: 'Conflict', reason: 'PodChanged', message: `pod ${name} was replaced: uid ${pod.metadata.uid ?? ''}, binding names ${b.podUid}` } };
    }
    if (pod.spec.nodeName) return { result: { outcome: 'Conflict', reason: 'PodTaken', message: `pod ${name} is already assigned to node "${pod.spec.nodeName}"` } };
    if (pod.metadata.deletionTimestamp) return { result: { outcome: 'Conflict', reason: 'PodChanged', message: `pod ${name} is being deleted` } };
    if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') {
      return { result: { outcome: 'Conflict', reason: 'PodChanged', message: `pod ${name} has already finished (${pod.status.phase})` } };
    }
    const allocEntry = state.get(this.allocKey(b.nodeName));
    const alloc = working.get(b.nodeName);
    if (!allocEntry || !alloc) return { result: { outcome: 'NotFound', reason: 'NodeNotFound', message: `nodes "${b.nodeName}" not found` } };
    const allocVersion = allocEntry.obj.metadata.resourceVersion ?? '';
    if (b.allocationResourceVersion !== undefined && b.allocationResourceVersion !== allocVersion) {
      return {
        result: {
          outcome: 'Conflict',
          reason: 'LedgerMoved',
          allocationResourceVersion: allocVersion,
          message: `node ${b.nodeName}: allocation changed since the decision (resourceVersion ${allocVersion}, decided on ${b.allocationResourceVersion})`,
        },
      };
    }
    const why = misfit(alloc, pod);
    if (why) return { result: { outcome: 'Conflict', reason: why.reason, message: why.message, allocationResourceVersion: allocVersion } };
    working.set(b.nodeName, withPod(alloc, pod));
    // A new top and the two changed branches; the rest is shared with the (immutable) cached pod,
    // where a deep copy per binding cost more than the rest of the decision.
    const conditions = (pod.status.conditions ?? []).filter((c) => c.type !== 'PodScheduled');
    conditions.push({ type: 'PodScheduled', status: 'True', lastTransitionTime: nowTimestamp() });
    const bound: Pod = { ...pod, spec: { ...pod.spec, nodeName: b.nodeName }, status: { ...pod.status, conditions } };
    return { next: bound as unknown as KubeObject };
  }

  /**
   * One transaction's bindings (one node's, or an AllOrNothing gang's), through the guarded
   * transaction core: decided on cached state, refusals confirmed on the store's, each pod and
   * each touched node ledger written guarded by the revision it was decided on.
   */
  private async commitChunk(items: BindRequest[], chunk: number[], allOrNothing: boolean, opts: CommitOptions): Promise<Map<number, BindResult>> {
    const nodes = [...new Set(chunk.map((i) => items[i]!.nodeName))];
    const slots: Slot[] = [
      ...chunk.map((i) => ({ objects: this.pods, key: this.podKey(items[i]!) })),
      ...nodes.map((n) => ({ objects: this.allocations, key: this.allocKey(n) })),
    ];
    const decide = (state: Snapshot): Decision<Map<number, BindResult>> => {
      const out = new Map<number, BindResult>();
      const working = new Map<string, NodeAllocation>();
      for (const n of nodes) {
        const entry = state.get(this.allocKey(n));
        if (entry) working.set(n, entry.obj as unknown as NodeAllocation);
      }
      const bound: { i: number; next: KubeObject }[] = [];
      for (const i of chunk) {
        const d = this.decide(items[i]!, state, working);
        if (d.result) out.set(i, d.result);
        else bound.push({ i, next: d.next! });
      }
      const refused = bound.length < chunk.length;
      if (allOrNothing && refused) {
        for (const w of bound) out.set(w.i, { outcome: 'Skipped', reason: 'NotAttempted', message: 'placement not committed: another binding cannot be placed' });
        return { writes: [], refused, finish: () => out };
      }
      // The pods, then each touched node's ledger once.
      const writes: GuardedWrite[] = bound.map((w) => ({ objects: this.pods, key: this.podKey(items[w.i]!), obj: w.next }));
      for (const n of new Set(bound.map((w) => items[w.i]!.nodeName))) {
        writes.push({ objects: this.allocations, key: this.allocKey(n), obj: working.get(n)! as unknown as KubeObject });
      }
      return {
        writes,
        refused,
        finish: (versions) => {
          bound.forEach((w, k) => out.set(w.i, { outcome: 'Bound', pod: versions ? withRevision(w.next, versions[k]!) : w.next }));
          if (versions) this.metrics.bound(bound.length);
          return out;
        },
      };
    };
    const outcome = await this.txns.run(slots, decide, {
      maxAttempts: MAX_ATTEMPTS,
      maxBytes: MAX_GUARDED_BYTES,
      onRetry: () => this.metrics.retry(),
      ...(opts.dryRun ? { dryRun: true } : {}),
    });
    switch (outcome.kind) {
      case 'done':
        return outcome.result;
      case 'gaveUp':
        return new Map(chunk.map((i) => [i, { outcome: 'Conflict', reason: 'LedgerMoved', message: `gave up after ${outcome.attempts} attempts: the node's allocation kept changing` }]));
      case 'tooLarge': {
        if (allOrNothing) {
          throw new TxnTooLargeError(`an AllOrNothing placement must fit one store request: ${outcome.bytes} bytes exceed ${MAX_GUARDED_BYTES}`, { kind: 'Placement' });
        }
        // Rare (huge pods): halve and commit the halves separately.
        const out = new Map<number, BindResult>();
        const half = Math.ceil(chunk.length / 2);
        for (const part of [chunk.slice(0, half), chunk.slice(half)]) {
          for (const [i, r] of await this.commitChunk(items, part, false, opts)) out.set(i, r);
        }
        return out;
      }
    }
  }

  /** One binding (POST pods/{name}/binding): the bound pod, or a typed error. */
  async bindOne(b: BindRequest, opts: CommitOptions = {}): Promise<KubeObject> {
    const [r] = await this.commit([b], 'Incremental', opts);
    if (r!.outcome === 'Bound') return r!.pod!;
    if (r!.outcome === 'NotFound') {
      throw r!.reason === 'NodeNotFound' ? new NotFoundError(`nodes "${b.nodeName}" not found`, { name: b.nodeName, kind: 'nodes' }) : this.pods.notFound(b.podName);
    }
    // The reason (and the ledger version it was decided on) travel as causes, for programs.
    const causes = [{ reason: r!.reason ?? 'Conflict', field: 'target.name', message: r!.message ?? '' }];
    if (r!.allocationResourceVersion !== undefined) {
      causes.push({ reason: ALLOCATION_VERSION_CAUSE, field: 'target.name', message: r!.allocationResourceVersion });
    }
    throw new ConflictError(`Operation cannot be fulfilled on pods/binding "${b.podName}": ${r!.message ?? 'conflict'}`, { name: b.podName, kind: 'pods' }, causes);
  }
}
