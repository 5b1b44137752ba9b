// Keeping the ledger exact on every write that is not a binding: these hooks run inside the
// compare-and-swap of pod and node writes, so the ledger change commits in the same transaction.
//   pods:  a bound pod finishing (Succeeded/Failed) or deleted leaves its node's allocation;
//          a pod created already bound (spec.nodeName set) enters it, or is refused if it does not fit.
//   nodes: creating a node creates its allocation; changing allocatable updates the copy in it;
//          deleting a node deletes its allocation and fails the pods it still lists, all in the
//          node's own delete transaction — so a delete that is refused changes nothing.
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { Node, Pod } from '../../shared/api/core.js';
import type { NodeAllocation } from '../../shared/api/scheduling.js';
import { ConflictError, InvalidError } from '../../shared/errors.js';
import type { KubeObject } from '../registry/object.js';
import { NO_EFFECTS, type ResourceStore, type WriteEffects, type WriteHook } from '../registry/resource-store.js';
import { MAX_TXN_OPS, type Compare, type TxnOp } from '../storage/store.js';
import { allocatedMisfit, emptyAllocation, holdsResources, misfit, withoutPod, withPod } from '../../shared/node-ledger.js';
import { failedPod } from '../../shared/pod-failure.js';
import { readLedgerPods } from './ledger-pods.js';

/** Pods a node's delete transaction can fail together with it (the node and its ledger take two ops). */
export const PODS_FAILED_WITH_NODE = MAX_TXN_OPS - 2;


function asPod(obj: KubeObject | undefined): Pod | undefined {
  return obj as unknown as Pod | undefined;
}

/** A node's ledger and the mod revision it was read at; `cached` when from this server's memory. */
interface ReadLedger {
  alloc: NodeAllocation;
  modRevision: number;
  cached: boolean;
}

/**
 * The ledger at `key` as this server knows it (watch cache, with its own newer writes over it) or,
 * `fromStore`, as stored. An absent ledger is always confirmed against the store.
 */
async function readLedger(allocations: ResourceStore, key: string, fromStore: boolean): Promise<ReadLedger | undefined> {
  if (!fromStore) {
    const held = allocations.peekHeld(key);
    if (held) return { alloc: held.obj as unknown as NodeAllocation, modRevision: held.modRevision, cached: true };
  }
  const sv = await allocations.store.get(key);
  return sv ? { alloc: allocations.decode(sv.value, sv.version, sv.key) as unknown as NodeAllocation, modRevision: sv.modRevision, cached: false } : undefined;
}

/** The ledger write of a hook: guarded by what it was read at, and this server's own write. */
function ledgerWrite(allocations: ResourceStore, key: string, alloc: NodeAllocation, modRevision: number): WriteEffects {
  return { compares: [], ops: [], writes: [{ objects: allocations, key, obj: alloc as unknown as KubeObject, modRevision }] };
}

export function podLedgerHook(allocations: ResourceStore): WriteHook {
  return async (prevObj, nextObj, fromStore) => {
    const prev = asPod(prevObj);
    const next = asPod(nextObj);
    const before = holdsResources(prev);
    const after = holdsResources(next);
    if (before === after) return NO_EFFECTS;
    // (A finished pod never holds resources again: its phase is final, which the pod strategy's
    // validateStatusUpdate enforces before any hook runs.)
    const pod = (before ? prev : next)!;
    const node = pod.spec.nodeName!;
    const key = allocations.key(undefined, node);
    // Decided on this server's view of the ledger first (a pod finishing costs no store read); the
    // write's compare refuses a stale one, and the retry reads the store.
    let ledger = await readLedger(allocations, key, fromStore);
    if (before) {
      const uid = pod.metadata.uid ?? '';
      // Not in a ledger read from memory: confirmed against the store, since writing nothing would
      // guard nothing — a binding this server has not seen yet would keep holding the pod's share.
      if (ledger?.cached && !ledger.alloc.spec.pods.some((p) => p.uid === uid)) ledger = await readLedger(allocations, key, true);
      // Release. No ledger (node deleted) or not in it: nothing holds resources any more.
      const released = ledger && withoutPod(ledger.alloc, uid);
      if (!ledger || !released) return NO_EFFECTS;
      return ledgerWrite(allocations, key, released, ledger.modRevision);
    }
    // A pod that arrives bound (created with spec.nodeName) is admitted like a binding; a refusal
    // decided on memory is decided again on the store's state (the guarded transaction's rule).
    if (!ledger) throw new ConflictError(`cannot place pod ${pod.metadata.namespace ?? ''}/${pod.metadata.name ?? ''}: nodes "${node}" not found`, { kind: 'pods', name: pod.metadata.name });
    const alloc = ledger.alloc;
    const why = misfit(alloc, pod);
    if (why) {
      throw new ConflictError(`cannot place pod ${pod.metadata.namespace ?? ''}/${pod.metadata.name ?? ''}: ${why.message}`, { kind: 'pods', name: pod.metadata.name }, [
        { reason: why.reason, field: 'spec.nodeName', message: why.message },
      ]);
    }
    return ledgerWrite(allocations, key, withPod(alloc, pod), ledger.modRevision);
  };
}

/** What a node offers to pods: allocatable, or capacity when allocatable is not reported. */
export function nodeAllocatable(node: Node): Record<string, string> {
  const s = node.status;
  return { ...(s?.allocatable ?? s?.capacity ?? {}) } as Record<string, string>;
}

export function nodeLedgerHook(allocations: ResourceStore, pods: ResourceStore): WriteHook {
  return async (prevObj, nextObj) => {
    const prev = prevObj as unknown as Node | undefined;
    const next = nextObj as unknown as Node | undefined;
    const name = (next ?? prev)!.metadata.name ?? '';
    const key = allocations.key(undefined, name);
    if (next && prev && isDeepStrictEqual(nodeAllocatable(prev), nodeAllocatable(next))) return NO_EFFECTS;
    // Node writes are rare: the store's ledger, always.
    const read = await readLedger(allocations, key, true);
    if (!next) {
      if (!read) return NO_EFFECTS;
      return failWithNode(pods, name, read.alloc, { key, modRevision: read.modRevision });
    }
    const allocatable = nodeAllocatable(next);
    const current = read ? read.alloc : emptyAllocation(name, allocatable);
    // The ledger's promise is that what is bound fits: a node cannot shrink below it (drain it first).
    const shrunk = read ? allocatedMisfit(current, allocatable) : undefined;
    if (shrunk) {
      throw new InvalidError(`Node "${name}" is invalid: status.allocatable: ${shrunk}; drain the node before shrinking it`, { kind: 'Node', name }, [
        { reason: 'FieldValueInvalid', field: 'status.allocatable', message: `${shrunk}; drain the node first` },
      ]);
    }
    const updated: NodeAllocation = {
      ...current,
      metadata: {
        name,
        uid: current.metadata.uid ?? randomUUID(),
        creationTimestamp: current.metadata.creationTimestamp ?? next.metadata.creationTimestamp,
      },
      spec: { ...current.spec, allocatable },
    };
    return ledgerWrite(allocations, key, updated, read?.modRevision ?? 0);
  };
}

/**
 * A node's delete takes its ledger with it, and every pod the ledger still lists becomes Failed
 * (NodeLost) in the same transaction, guarded by the pods' own revisions.
 */
async function failWithNode(pods: ResourceStore, node: string, alloc: NodeAllocation, ledger: Compare): Promise<WriteEffects> {
  const entries = alloc.spec.pods;
  if (entries.length > PODS_FAILED_WITH_NODE) {
    throw new ConflictError(`node ${node} still has ${entries.length} bound pods, more than one transaction can fail with it; they must be released first`, { kind: 'nodes', name: node });
  }
  const compares: Compare[] = [ledger];
  const ops: TxnOp[] = [{ type: 'delete', key: ledger.key }];
  for (const { key, modRevision, holding } of await readLedgerPods(pods, node, alloc, ledger.modRevision)) {
    compares.push({ key, modRevision });
    // The ledger lists exactly the pods that hold the node's resources; anything else is left as it is.
    if (holding) ops.push({ type: 'put', key, value: pods.encode(failedPod(holding, 'NodeLost', `node ${node} was deleted`) as unknown as KubeObject) });
  }
  return { compares, ops };
}
