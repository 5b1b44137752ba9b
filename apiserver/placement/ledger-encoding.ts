// A node ledger's stored string, made from the last one this server wrote for the node when the new
// ledger keeps that one's pods and adds some. Every binding rewrites the node's whole ledger, and
// serialising it was the API server's largest single cost at 100 pods a node (~9% of its CPU in
// c1m-2core): a 100-entry ledger serialises in ~34 µs, this in ~6 µs. Pod entries are shared
// between ledger versions (node-ledger.ts withPod builds `[...pods, entry]`) and never mutated, so
// "the same entry objects, in the same order" means "the same JSON": the part of the last string
// that holds them is reused, and only the new entries and the small rest are serialised.
import type { AllocatedPod, NodeAllocation } from '../../shared/api/scheduling.js';
import type { KubeObject } from '../registry/object.js';

/** Ledgers remembered (least recently written go first): more than the nodes of a C1M cluster. */
export const LEDGER_ENCODINGS_CAPACITY = 16_384;

interface LastEncoding {
  pods: readonly AllocatedPod[];
  value: string;
  /** Where the pods array's JSON starts in `value` (it ends two characters before the end). */
  podsAt: number;
}

const NO_PODS: readonly AllocatedPod[] = [];

export class LedgerEncoder {
  private readonly last = new Map<string, LastEncoding>();

  constructor(private readonly capacity = LEDGER_ENCODINGS_CAPACITY) {}

  /**
   * The ledger at `key` as stored (without its resourceVersion): the same string JSON.stringify
   * gives for a ledger whose keys are in the schema's order (spec last, pods last in it).
   */
  encode(key: string, obj: KubeObject): string {
    const { resourceVersion: _rv, ...metadata } = obj.metadata;
    const { spec, ...top } = obj as unknown as NodeAllocation;
    const pods = spec?.pods;
    if (!Array.isArray(pods)) return JSON.stringify({ ...top, metadata, spec });
    const { pods: _pods, ...specRest } = spec;
    // Ends `"pods":[]}}`: spec is the last key, pods the last in spec.
    const head = JSON.stringify({ ...top, metadata, spec: { ...specRest, pods: NO_PODS } });
    const podsAt = head.length - 4;
    const value = `${head.slice(0, podsAt)}${this.podsJson(key, pods)}}}`;
    this.remember(key, { pods, value, podsAt });
    return value;
  }

  private podsJson(key: string, pods: readonly AllocatedPod[]): string {
    const last = this.last.get(key);
    if (last === undefined || !startsWithEntries(pods, last.pods)) return JSON.stringify(pods);
    const kept = last.value.slice(last.podsAt, -2);
    if (pods.length === last.pods.length) return kept;
    const added = pods.slice(last.pods.length).map((p) => JSON.stringify(p)).join(',');
    return last.pods.length === 0 ? `[${added}]` : `${kept.slice(0, -1)},${added}]`;
  }

  private remember(key: string, encoding: LastEncoding): void {
    this.last.delete(key);
    this.last.set(key, encoding);
    if (this.last.size > this.capacity) {
      for (const oldest of this.last.keys()) {
        this.last.delete(oldest);
        break;
      }
    }
  }
}

/** Whether `pods` starts with exactly the entry objects of `base`, in order. */
function startsWithEntries(pods: readonly AllocatedPod[], base: readonly AllocatedPod[]): boolean {
  if (pods.length < base.length) return false;
  for (let i = 0; i < base.length; i++) if (pods[i] !== base[i]) return false;
  return true;
}
