// The pods a node's ledger lists. An entry carries only the pod's uid and requests: every binding
// rewrites the node's whole ledger, so each byte of an entry is paid again by every later binding
// to that node. The rare writes that act on a ledger's pods (a node's delete fails them) find them
// by uid among the pods this server's watch cache holds bound to the node.
import type { Pod } from '../../shared/api/core.js';
import type { NodeAllocation } from '../../shared/api/scheduling.js';
import { UnavailableError } from '../../shared/errors.js';
import { holdsResources } from '../../shared/node-ledger.js';
import type { ResourceStore } from '../registry/resource-store.js';

/**
 * How long a lookup waits for the watch cache to show pods the ledger already lists. A healthy
 * cache trails the store by well under a second; a write refused on cached state is decided again
 * on the store's, so a cache that does not catch up costs twice this before the 503.
 */
export const LEDGER_PODS_WAIT_MS = 3000;

/** The last lookup per pods store: the node, the ledger revision it answered for, and its keys. */
const lastLookup = new WeakMap<ResourceStore, { node: string; ledgerRevision: number; keys: Map<string, string> }>();

/**
 * The store key of each pod `alloc` lists, by uid, for those that still exist. The ledger was read
 * at etcd revision `ledgerRevision`, and every pod it lists was bound at or before it; so a pod the
 * cache lacks while it is behind that revision is only late, and is waited for. One it lacks after
 * is gone — and its going changed the ledger too, so the caller's compare on the ledger's revision
 * refuses what was decided on this stale ledger.
 */
async function ledgerPodKeys(pods: ResourceStore, node: string, alloc: NodeAllocation, ledgerRevision: number): Promise<Map<string, string>> {
  const wanted = new Set(alloc.spec.pods.map((e) => e.uid));
  const keys = new Map<string, string>();
  if (wanted.size === 0) return keys;
  // A node's delete asks twice for one ledger (its ledger hook and the quota release hook): the
  // second takes the first's answer. A uid's key never changes, so it cannot go stale.
  const last = lastLookup.get(pods);
  if (last?.node === node && last.ledgerRevision === ledgerRevision) return last.keys;
  // spec.nodeName as the stored JSON spells it (no spaces; a node name needs no escapes): a
  // string test that every pod of the node passes, before anything is decoded.
  const spelled = `"nodeName":${JSON.stringify(node)}`;
  const deadline = Date.now() + LEDGER_PODS_WAIT_MS;
  for (;;) {
    const { items, revision } = await pods.cache.select((stored) => stored.includes(spelled));
    for (const obj of items) {
      const pod = obj as unknown as Pod;
      const uid = pod.metadata.uid ?? '';
      if (pod.spec.nodeName === node && wanted.has(uid)) keys.set(uid, pods.key(pod.metadata.namespace, pod.metadata.name ?? ''));
    }
    if (keys.size === wanted.size || revision >= ledgerRevision) {
      lastLookup.set(pods, { node, ledgerRevision, keys });
      return keys;
    }
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new UnavailableError(`node ${node}: ${wanted.size - keys.size} of the pods its ledger lists are not in this server's cache yet; try again`, { kind: 'nodes', name: node });
    }
    await pods.cache.waitForRevision(ledgerRevision, Math.min(left, 250));
  }
}

/** A pod a ledger lists, as the store has it now. */
export interface LedgerPod {
  key: string;
  /** The pod's mod revision when read, for the caller's compare; 0: it is gone. */
  modRevision: number;
  /** The pod, when it still holds resources on the node (bound there, the same uid, unfinished). */
  holding: Pod | undefined;
}

/** The pods `alloc` lists that still exist, each read from the store (see ledgerPodKeys). */
export async function readLedgerPods(pods: ResourceStore, node: string, alloc: NodeAllocation, ledgerRevision: number): Promise<LedgerPod[]> {
  const keys = [...(await ledgerPodKeys(pods, node, alloc, ledgerRevision))];
  const stored = await Promise.all(keys.map(([, key]) => pods.store.get(key)));
  return keys.map(([uid, key], i) => {
    const sv = stored[i];
    const pod = sv ? (pods.decode(sv.value, sv.version) as unknown as Pod) : undefined;
    const holds = pod !== undefined && pod.metadata.uid === uid && pod.spec.nodeName === node && holdsResources(pod);
    return { key, modRevision: sv?.modRevision ?? 0, holding: holds ? pod : undefined };
  });
}
