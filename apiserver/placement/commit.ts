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
import { MAX_REQUEST_BYTES, MAX_TXN_OPS, type Compare, type Store, type StoredValue, type TxnOp, type TxnResult } from '../storage/store.js';
import { misfit, withPod } from './ledger.js';
import { revisionOf } from '../storage/resource-version.js';

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
/** Room left in a request for etcd's own framing. */
const BYTES_HEADROOM = 64 * 1024;

/** Pod and allocation objects with the mod revision the commit compares against (undefined = absent). */
/** Each key's object and the etcd revision it was written at (what a compare guards). */
type State = Map<string, { obj: KubeObject; modRevision: number } | undefined>;

interface Decision {
  result?: BindResult;
  /** The pod as it will be written. */
  next?: KubeObject;
}

/** Objects this server wrote recently, kept until its watch cache has caught up with them. */
const RECENT_LIMIT = 20_000;

export class PlacementCommitter {
  private readonly recent = new Map<string, { obj: KubeObject; modRevision: number }>();

  constructor(
    private readonly store: Store,
    private readonly pods: ResourceStore,
    private readonly allocations: ResourceStore,
    private readonly metrics: CommitMetrics,
  ) {}

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

  private decodeState(keys: string[], reads: (StoredValue | undefined)[]): State {
    return new Map(
      keys.map((k, i) => {
        const sv = reads[i];
        const store = k.startsWith(this.allocations.keyPrefix(undefined)) ? this.allocations : this.pods;
        return [k, sv ? { obj: store.decode(sv.value, sv.version), modRevision: sv.modRevision } : undefined];
      }),
    );
  }

  private async readState(keys: string[]): Promise<State> {
    const res = await this.store.txn({ compares: [], success: keys.map((key) => ({ type: 'get', key })) });
    return this.decodeState(keys, res.reads);
  }

  /**
   * State from the watch caches, as Omega schedulers decide on their cached cell state: no store
   * round trip. Undefined when a key is not cached (maybe just created): then read the store.
   * Stale state is safe — the transaction's compares refuse it, and refusals are re-checked fresh.
   */
  private cachedState(keys: string[]): State | undefined {
    const state: State = new Map();
    for (const key of keys) {
      const cache = key.startsWith(this.allocations.keyPrefix(undefined)) ? this.allocations.cache : this.pods.cache;
      const obj = cache.peek(key);
      const mine = this.recent.get(key);
      const cachedRev = obj ? revisionOf(Number(obj.metadata.resourceVersion)) : 0;
      // Our own last commit may not have reached the watch cache yet; the newer one wins.
      if (mine && mine.modRevision > cachedRev) {
        state.set(key, mine);
        continue;
      }
      if (mine) this.recent.delete(key);
      if (!obj) return undefined;
      state.set(key, { obj, modRevision: cachedRev });
    }
    return state;
  }

  private remember(key: string, obj: KubeObject, version: number): void {
    if (this.recent.size >= RECENT_LIMIT) this.recent.clear();
    this.recent.set(key, { obj: withRevision(obj, version), modRevision: revisionOf(version) });
  }

  private decide(b: BindRequest, state: State, working: Map<string, NodeAllocation>): Decision {
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

  private async commitChunk(items: BindRequest[], chunk: number[], allOrNothing: boolean, opts: CommitOptions): Promise<Map<number, BindResult>> {
    const out = new Map<number, BindResult>();
    const nodes = [...new Set(chunk.map((i) => items[i]!.nodeName))];
    const keys = [...chunk.map((i) => this.podKey(items[i]!)), ...nodes.map((n) => this.allocKey(n))];
    // A dry run decides on the store's state, as the real commit's transaction would.
    const cached = opts.dryRun ? undefined : this.cachedState(keys);
    let fresh = cached === undefined;
    let state = cached ?? (await this.readState(keys));
    let pending = chunk;
    for (let attempt = 1; pending.length > 0; attempt++) {
      const working = new Map<string, NodeAllocation>();
      for (const n of nodes) {
        const entry = state.get(this.allocKey(n));
        if (entry) working.set(n, entry.obj as unknown as NodeAllocation);
      }
      const writes: { i: number; next: KubeObject }[] = [];
      for (const i of pending) {
        const d = this.decide(items[i]!, state, working);
        if (d.result) out.set(i, d.result);
        else writes.push({ i, next: d.next! });
      }
      if (!fresh && writes.length < pending.length) {
        // A refusal decided on cached state is only trusted once confirmed against the store.
        for (const i of pending) out.delete(i);
        state = await this.readState(keys);
        fresh = true;
        attempt--;
        continue;
      }
      if (allOrNothing && writes.length < pending.length) {
        for (const w of writes) out.set(w.i, { outcome: 'Skipped', reason: 'NotAttempted', message: 'placement not committed: another binding cannot be placed' });
        return out;
      }
      if (writes.length === 0) return out;

      const compares: Compare[] = [];
      const success: TxnOp[] = [];
      const touched = new Set<string>();
      // Written objects are handed to the resource stores (encodeWrite): their watch events reuse
      // them. Never mutated after this point; forgotten again unless the txn commits.
      const written: { objects: ResourceStore; key: string; value: string }[] = [];
      const write = (objects: ResourceStore, key: string, obj: KubeObject): number => {
        const value = objects.encodeWrite(key, obj);
        written.push({ objects, key, value });
        success.push({ type: 'put', key, value });
        return key.length + value.length;
      };
      const forget = () => written.forEach((w) => w.objects.forgetWrite(w.key, w.value));
      let bytes = 0;
      for (const w of writes) {
        const b = items[w.i]!;
        const key = this.podKey(b);
        compares.push({ key, modRevision: state.get(key)!.modRevision });
        bytes += write(this.pods, key, w.next);
        touched.add(b.nodeName);
      }
      for (const n of touched) {
        const key = this.allocKey(n);
        compares.push({ key, modRevision: state.get(key)!.modRevision });
        bytes += write(this.allocations, key, working.get(n)! as unknown as KubeObject);
      }
      if (bytes > MAX_REQUEST_BYTES - BYTES_HEADROOM) {
        forget();
        if (allOrNothing) {
          throw new TxnTooLargeError(`an AllOrNothing placement must fit one store request: ${bytes} bytes exceed ${MAX_REQUEST_BYTES - BYTES_HEADROOM}`, { kind: 'Placement' });
        }
        // Rare (huge pods): halve and commit the halves separately.
        const half = Math.ceil(pending.length / 2);
        for (const part of [pending.slice(0, half), pending.slice(half)]) {
          for (const [i, r] of await this.commitChunk(items, part, false, opts)) out.set(i, r);
        }
        return out;
      }
      if (opts.dryRun) {
        forget();
        for (const w of writes) out.set(w.i, { outcome: 'Bound', pod: w.next });
        return out;
      }
      let res: TxnResult;
      try {
        res = await this.store.txn({ compares, success, failure: keys.map((key) => ({ type: 'get', key })) });
      } catch (err) {
        forget();
        throw err;
      }
      if (res.succeeded) {
        // Ops are the pods in `writes` order, then the allocations in `touched` order.
        let op = 0;
        for (const w of writes) {
          const version = res.versions[op++]!;
          this.remember(this.podKey(items[w.i]!), w.next, version);
          out.set(w.i, { outcome: 'Bound', pod: withRevision(w.next, version) });
        }
        for (const n of touched) this.remember(this.allocKey(n), working.get(n)! as unknown as KubeObject, res.versions[op++]!);
        this.metrics.bound(writes.length);
        return out;
      }
      forget();
      // Someone else committed first (or the cache was stale): decide every binding of this
      // attempt again against the state the failed txn read — the refused ones too, since what
      // refused them (a full node) may have moved as well.
      this.metrics.retry();
      state = this.decodeState(keys, res.reads);
      fresh = true;
      for (const i of pending) out.delete(i);
      if (attempt >= MAX_ATTEMPTS) {
        for (const i of pending) {
          out.set(i, { outcome: 'Conflict', reason: 'LedgerMoved', message: `gave up after ${MAX_ATTEMPTS} attempts: the node's allocation kept changing` });
        }
        return out;
      }
    }
    return out;
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
