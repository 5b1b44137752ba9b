// An API server in memory, for running the real Scheduler (cache, queue, framework, committer) in
// a test without etcd or HTTP: nodes, pods, pod groups and one NodeAllocation ledger per node,
// each write with the next resourceVersion, served to the scheduler's informers through an
// ApiClient that lists and watches this store. Watch events arrive on a later turn of the event
// loop, as they would over a connection, so the scheduler decides on what it has seen so far.
//
// Commits go through `place()`, the API server's placement rule on the same pure ledger functions
// (shared/node-ledger.ts): a binding commits only if its pod still fits the node's ledger,
// else it is refused with the server's structured reason. MemoryPlanner (memory-planner.ts) feeds
// the scheduler's commits to it; a test calls it directly to play another scheduler.
import { NodeSchema, PodSchema, type Node, type Pod, type PodInput } from '../../shared/api/core.js';
import { PodGroupSchema, type NodeAllocation, type PlacementResult, type PodGroup } from '../../shared/api/scheduling.js';
import { ApiClient, type RequestOptions, type ResourceRef, type WatchEvent } from '../../shared/client/http-client.js';
import { ConflictError, NotFoundError, UnavailableError, errorMessage } from '../../shared/errors.js';
import { allocatedMisfit, emptyAllocation, misfit, withPod, withoutPod } from '../../shared/node-ledger.js';
import type { EventSink } from '../report/events.js';
import type { HarnessEvent, NodeInput, PodGroupInput } from './harness.js';

type Kind = 'pods' | 'nodes' | 'nodeallocations' | 'podgroups';
type Stored = Pod | Node | NodeAllocation | PodGroup;

interface LoggedEvent {
  readonly kind: Kind;
  readonly rv: number;
  readonly event: WatchEvent<Stored>;
}

interface Watcher {
  readonly kind: Kind;
  /** The next entry of the event log to look at. */
  at: number;
  deliver(ev: WatchEvent<Stored>): void;
  end(err?: unknown): void;
}

/** One binding of a placement, as the API server takes it. */
export interface MemoryBinding {
  readonly namespace?: string;
  readonly podName: string;
  /** The pod's incarnation (uid precondition). */
  readonly podUid?: string;
  readonly nodeName: string;
  /** Coarse conflict detection: the ledger version the decision was made on. */
  readonly allocationResourceVersion?: string;
}

const KIND_LIST: readonly Kind[] = ['pods', 'nodes', 'nodeallocations', 'podgroups'];
const KINDS: ReadonlySet<string> = new Set<string>(KIND_LIST);

function keyOf(obj: Stored): string {
  const ns = obj.metadata.namespace;
  return ns ? `${ns}/${obj.metadata.name ?? ''}` : (obj.metadata.name ?? '');
}

export class MemoryCluster {
  /** Events the scheduler and its plugins recorded. */
  readonly events: HarnessEvent[] = [];
  readonly eventSink: EventSink = {
    record: (involved, type, reason, message) => {
      this.events.push({ object: `${involved.kind}/${involved.namespace ? `${involved.namespace}/` : ''}${involved.name}`, type, reason, message });
    },
  };
  /** The client the scheduler is given: lists and watches this store. */
  readonly client: ApiClient;
  /** Requests the store does not serve (they failed), e.g. `POST /api/v1/namespaces/default/events`. */
  readonly unserved: string[] = [];
  private readonly objects = new Map<Kind, Map<string, Stored>>(KIND_LIST.map((k) => [k, new Map<string, Stored>()]));
  private readonly log: LoggedEvent[] = [];
  private readonly watchers = new Set<Watcher>();
  private delivering = false;
  private rv = 0;
  private uid = 0;
  private created = Date.UTC(2026, 0, 1);

  constructor() {
    this.client = new MemoryApiClient(this);
  }

  // ---------------------------------------------------------------------------------------------
  // Writes a test makes

  addNode(input: NodeInput): Node {
    const node = NodeSchema.parse(input);
    const name = node.metadata.name ?? '';
    if (this.objects.get('nodes')!.has(name)) throw new Error(`node ${name} exists already`);
    const written = this.write('nodes', node) as Node;
    this.write('nodeallocations', emptyAllocation(name, node.status.allocatable ?? node.status.capacity ?? {}));
    return written;
  }

  addPodGroup(input: PodGroupInput): PodGroup {
    const group = PodGroupSchema.parse(input);
    group.metadata.namespace ??= 'default';
    group.metadata.uid ??= `memory-uid-${++this.uid}`;
    group.metadata.creationTimestamp ??= new Date((this.created += 1000)).toISOString();
    return this.write('podgroups', group) as PodGroup;
  }

  /** A pod as the API server admits it; one with `spec.nodeName` is bound (it must fit the ledger). */
  addPod(input: PodInput): Pod {
    const pod = PodSchema.parse(input);
    pod.metadata.namespace ??= 'default';
    pod.metadata.uid ??= `memory-uid-${++this.uid}`;
    pod.metadata.creationTimestamp ??= new Date((this.created += 1000)).toISOString();
    const key = keyOf(pod);
    if (this.objects.get('pods')!.has(key)) throw new Error(`pod ${key} exists already`);
    const nodeName = pod.spec.nodeName;
    if (nodeName === undefined) return this.write('pods', pod) as Pod;
    const ledger = this.ledger(nodeName);
    if (!ledger) throw new Error(`pod ${key} is on node ${nodeName}, which does not exist`);
    const why = misfit(ledger, pod);
    if (why) throw new Error(`pod ${key} does not fit node ${nodeName}: ${why.message}`);
    const written = this.write('pods', pod) as Pod;
    this.write('nodeallocations', withPod(ledger, written));
    return written;
  }

  /** Delete a pod at once (no grace period); a bound pod's room goes back to its node's ledger. */
  deletePod(namespace: string, name: string, uid?: string): Pod {
    const pod = this.pod(namespace, name);
    if (!pod) throw new NotFoundError(`pods "${name}" not found`, { name, kind: 'pods' });
    if (uid !== undefined && pod.metadata.uid !== uid) {
      throw new ConflictError(`Precondition failed: UID in precondition: ${uid}, UID in object meta: ${pod.metadata.uid ?? ''}`, { name, kind: 'pods' });
    }
    const gone = this.remove('pods', pod) as Pod;
    const ledger = pod.spec.nodeName ? this.ledger(pod.spec.nodeName) : undefined;
    const released = ledger && withoutPod(ledger, pod.metadata.uid ?? '');
    if (released) this.write('nodeallocations', released);
    return gone;
  }

  /**
   * Commit bindings as the API server's Placement does: Incremental (each that fits commits) or
   * AllOrNothing (all commit, or none: the others are Skipped, NotAttempted). Results in order.
   */
  place(bindings: readonly MemoryBinding[], mode: 'Incremental' | 'AllOrNothing' = 'Incremental'): PlacementResult[] {
    const working = new Map<string, NodeAllocation>();
    const seen = new Set<string>();
    const bound: { pod: Pod; nodeName: string }[] = [];
    const results = bindings.map((b): PlacementResult => {
      const namespace = b.namespace ?? 'default';
      const head = { podNamespace: namespace, podName: b.podName, nodeName: b.nodeName };
      const key = `${namespace}/${b.podName}`;
      if (seen.has(key)) return { ...head, outcome: 'Invalid', reason: 'Duplicate', message: `pod ${key} appears more than once` };
      seen.add(key);
      const pod = this.pod(namespace, b.podName);
      if (!pod) return { ...head, outcome: 'NotFound', reason: 'PodNotFound', message: `pods "${b.podName}" not found in namespace "${namespace}"` };
      if (b.podUid !== undefined && pod.metadata.uid !== b.podUid) return { ...head, outcome: 'Conflict', reason: 'PodChanged', message: `pod ${key} was replaced` };
      if (pod.spec.nodeName) return { ...head, outcome: 'Conflict', reason: 'PodTaken', message: `pod ${key} is already assigned to node "${pod.spec.nodeName}"` };
      if (pod.metadata.deletionTimestamp) return { ...head, outcome: 'Conflict', reason: 'PodChanged', message: `pod ${key} is being deleted` };
      const stored = this.ledger(b.nodeName);
      if (!stored) return { ...head, outcome: 'NotFound', reason: 'NodeNotFound', message: `nodes "${b.nodeName}" not found` };
      // Refusals name the ledger version read, as the server's do (before this placement's writes).
      const version = stored.metadata.resourceVersion ?? '';
      if (b.allocationResourceVersion !== undefined && b.allocationResourceVersion !== version) {
        return { ...head, outcome: 'Conflict', reason: 'LedgerMoved', allocationResourceVersion: version, message: `node ${b.nodeName}: allocation changed since the decision (resourceVersion ${version}, decided on ${b.allocationResourceVersion})` };
      }
      const ledger = working.get(b.nodeName) ?? stored;
      const why = misfit(ledger, pod);
      if (why) return { ...head, outcome: 'Conflict', reason: why.reason, allocationResourceVersion: version, message: why.message };
      working.set(b.nodeName, withPod(ledger, pod));
      bound.push({ pod, nodeName: b.nodeName });
      return { ...head, outcome: 'Bound' };
    });
    if (mode === 'AllOrNothing' && bound.length < bindings.length) {
      return results.map((r) => (r.outcome === 'Bound' ? { ...r, outcome: 'Skipped', reason: 'NotAttempted', message: 'placement not committed: another binding cannot be placed' } : r));
    }
    // One transaction: every bound pod, then every ledger it changed.
    const scheduled = { type: 'PodScheduled', status: 'True' as const, lastTransitionTime: new Date().toISOString() };
    for (const { pod, nodeName } of bound) {
      const conditions = [...(pod.status.conditions ?? []).filter((c) => c.type !== 'PodScheduled'), scheduled];
      this.write('pods', { ...pod, spec: { ...pod.spec, nodeName }, status: { ...pod.status, conditions } });
    }
    for (const ledger of working.values()) this.write('nodeallocations', ledger);
    return results;
  }

  // ---------------------------------------------------------------------------------------------
  // Reads

  pod(namespace: string, name: string): Pod | undefined {
    return this.objects.get('pods')!.get(`${namespace}/${name}`) as Pod | undefined;
  }

  pods(): Pod[] {
    return [...this.objects.get('pods')!.values()] as Pod[];
  }

  /** `name` → node, for the pods bound (`namespace/name` for namespaces other than default). */
  placements(): Map<string, string> {
    const out = new Map<string, string>();
    for (const p of this.pods()) {
      if (!p.spec.nodeName) continue;
      const ns = p.metadata.namespace ?? 'default';
      out.set(ns === 'default' ? (p.metadata.name ?? '') : `${ns}/${p.metadata.name ?? ''}`, p.spec.nodeName);
    }
    return out;
  }

  ledger(nodeName: string): NodeAllocation | undefined {
    return this.objects.get('nodeallocations')!.get(nodeName) as NodeAllocation | undefined;
  }

  podGroup(namespace: string, name: string): PodGroup | undefined {
    return this.objects.get('podgroups')!.get(`${namespace}/${name}`) as PodGroup | undefined;
  }

  /**
   * What the API server's invariants forbid, as sentences (none: all is well): a ledger that is
   * not the sum of the pods bound to its node, a node holding more than it has, a host port twice.
   */
  audit(): string[] {
    const problems: string[] = [];
    for (const node of this.objects.get('nodes')!.values() as Iterable<Node>) {
      const name = node.metadata.name ?? '';
      const ledger = this.ledger(name);
      if (!ledger) {
        problems.push(`node ${name} has no ledger`);
        continue;
      }
      let recomputed = emptyAllocation(name, ledger.spec.allocatable);
      for (const p of this.pods()) {
        if (p.spec.nodeName !== name) continue;
        const why = misfit(recomputed, p);
        if (why) problems.push(`node ${name} over-committed: ${why.message}`);
        recomputed = withPod(recomputed, p);
      }
      const uids = (a: NodeAllocation) => a.spec.pods.map((p) => p.uid).sort().join(',');
      if (uids(recomputed) !== uids(ledger)) problems.push(`node ${name}: the ledger lists pods [${uids(ledger)}], bound are [${uids(recomputed)}]`);
      const short = allocatedMisfit(ledger, ledger.spec.allocatable);
      if (short) problems.push(`node ${name}: ${short}`);
    }
    return problems;
  }

  // ---------------------------------------------------------------------------------------------
  // The store, its event log and the watches on it

  private write(kind: Kind, obj: Stored): Stored {
    const rv = ++this.rv;
    const key = keyOf(obj);
    const old = this.objects.get(kind)!.get(key);
    const stored = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(rv) } } as Stored;
    this.objects.get(kind)!.set(key, stored);
    this.log.push({ kind, rv, event: { type: old ? 'MODIFIED' : 'ADDED', object: stored } });
    this.deliverSoon();
    return stored;
  }

  private remove(kind: Kind, obj: Stored): Stored {
    const rv = ++this.rv;
    this.objects.get(kind)!.delete(keyOf(obj));
    const gone = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(rv) } } as Stored;
    this.log.push({ kind, rv, event: { type: 'DELETED', object: gone } });
    this.deliverSoon();
    return gone;
  }

  /** Patch a status: conditions merge by type, `null` removes a field (strategic and merge patch alike, for what schedulers write). */
  patchStatus(kind: Kind, key: string, patch: Record<string, unknown>): Stored {
    const obj = this.objects.get(kind)!.get(key);
    if (!obj) throw new NotFoundError(`${kind} "${key}" not found`, { name: key, kind });
    const status: Record<string, unknown> = { ...((obj as { status?: Record<string, unknown> }).status ?? {}) };
    for (const [field, value] of Object.entries(patch)) {
      if (value === null) delete status[field];
      else if (field === 'conditions' && Array.isArray(value)) {
        const incoming = value as { type: string }[];
        const kept = ((status.conditions as { type: string }[] | undefined) ?? []).filter((c) => !incoming.some((n) => n.type === c.type));
        status.conditions = [...kept, ...incoming];
      } else status[field] = value;
    }
    return this.write(kind, { ...obj, status } as Stored);
  }

  list(kind: Kind): { metadata: { resourceVersion: string }; items: Stored[] } {
    return { metadata: { resourceVersion: String(this.rv) }, items: [...this.objects.get(kind)!.values()] };
  }

  get(kind: Kind, key: string): Stored {
    const obj = this.objects.get(kind)!.get(key);
    if (!obj) throw new NotFoundError(`${kind} "${key}" not found`, { name: key, kind });
    return obj;
  }

  watch(kind: Kind, fromRv: number, deliver: (ev: WatchEvent<Stored>) => void, signal: AbortSignal | undefined): Promise<void> {
    const first = this.log.findIndex((e) => e.rv > fromRv);
    return new Promise<void>((resolve, reject) => {
      const w: Watcher = {
        kind,
        at: first === -1 ? this.log.length : first,
        deliver,
        end: (err) => {
          this.watchers.delete(w);
          if (err === undefined) resolve();
          else reject(err instanceof Error ? err : new UnavailableError(errorMessage(err)));
        },
      };
      if (signal?.aborted) return resolve();
      signal?.addEventListener('abort', () => w.end(), { once: true });
      this.watchers.add(w);
      this.deliverSoon();
    });
  }

  private deliverSoon(): void {
    if (this.delivering) return;
    this.delivering = true;
    setImmediate(() => {
      this.delivering = false;
      for (const w of [...this.watchers]) {
        while (w.at < this.log.length && this.watchers.has(w)) {
          const e = this.log[w.at++]!;
          if (e.kind !== w.kind) continue;
          try {
            w.deliver(e.event);
          } catch (err) {
            // What the watcher's handler throws ends its watch, as over a connection.
            w.end(err);
          }
        }
      }
    });
  }
}

/** Splits an API path (`/apis/group/version/namespaces/ns/resource/name/sub`) into its parts. */
function parsePath(path: string): (ResourceRef & { kind: Kind }) | undefined {
  const parts = path.split('?')[0]!.split('/').filter((p) => p !== '').map(decodeURIComponent);
  let rest: string[];
  if (parts[0] === 'api') rest = parts.slice(2);
  else if (parts[0] === 'apis') rest = parts.slice(3);
  else return undefined;
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [resource, name, subresource] = rest;
  if (resource === undefined || !KINDS.has(resource)) return undefined;
  return { kind: resource as Kind, resource, ...(namespace !== undefined ? { namespace } : {}), ...(name !== undefined ? { name } : {}), ...(subresource !== undefined ? { subresource } : {}) };
}

/** The scheduler's ApiClient onto a MemoryCluster: list, get, watch, status patches, pod deletes. */
class MemoryApiClient extends ApiClient {
  constructor(private readonly cluster: MemoryCluster) {
    super({ servers: ['http://in-memory-cluster.invalid'], retries: 0 });
  }

  override async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    // A network round trip: the caller continues before the answer comes.
    await new Promise<void>((resolve) => setImmediate(resolve));
    const ref = parsePath(path);
    const key = ref?.namespace !== undefined ? `${ref.namespace}/${ref.name ?? ''}` : (ref?.name ?? '');
    if (ref && method === 'GET' && ref.name === undefined) {
      const list = this.cluster.list(ref.kind);
      const items = ref.namespace === undefined ? list.items : list.items.filter((o) => o.metadata.namespace === ref.namespace);
      return { ...list, items } as T;
    }
    if (ref && method === 'GET' && ref.subresource === undefined) return this.cluster.get(ref.kind, key) as T;
    if (ref && method === 'PATCH' && ref.subresource === 'status') {
      const body = opts.body as { status?: Record<string, unknown> } | undefined;
      return this.cluster.patchStatus(ref.kind, key, body?.status ?? {}) as T;
    }
    if (ref?.kind === 'pods' && method === 'DELETE' && ref.name !== undefined && ref.subresource === undefined) {
      const body = opts.body as { preconditions?: { uid?: string } } | undefined;
      return this.cluster.deletePod(ref.namespace ?? 'default', ref.name, body?.preconditions?.uid) as T;
    }
    this.cluster.unserved.push(`${method} ${path}`);
    throw new UnavailableError(`the in-memory cluster does not serve ${method} ${path}`);
  }

  override stream(path: string): Promise<ReadableStream<Uint8Array>> {
    this.cluster.unserved.push(`GET ${path} (stream)`);
    return Promise.reject(new UnavailableError(`the in-memory cluster does not stream ${path}`));
  }

  override watch<T>(ref: ResourceRef, query: RequestOptions['query'], onEvent: (ev: WatchEvent<T>) => void, signal?: AbortSignal): Promise<void> {
    if (!KINDS.has(ref.resource)) return Promise.reject(new UnavailableError(`the in-memory cluster does not watch ${ref.resource}`));
    const kind = ref.resource as Kind;
    const deliver = (ev: WatchEvent<Stored>) => onEvent(ev as unknown as WatchEvent<T>);
    // The store holds exactly the objects of this kind; the informer asked for them.
    if (query?.sendInitialEvents !== 'true') return this.cluster.watch(kind, Number(query?.resourceVersion ?? 0), deliver, signal);
    // A watch-list (how the informer gets the state): every object as ADDED, the bookmark that ends
    // them, then the changes after that state — taken together, so nothing falls between.
    const state = this.cluster.list(kind);
    for (const object of state.items) deliver({ type: 'ADDED', object });
    const end = { metadata: { resourceVersion: state.metadata.resourceVersion, annotations: { 'k8s.io/initial-events-end': 'true' } } };
    deliver({ type: 'BOOKMARK', object: end as unknown as Stored });
    return this.cluster.watch(kind, Number(state.metadata.resourceVersion), deliver, signal);
  }
}
