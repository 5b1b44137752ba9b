// A node ledger's stored string, made from the last one this server wrote for the node when the new
// ledger keeps that one's pods and adds some. Every binding rewrites the node's whole ledger, and
// serialising it was the API server's largest single cost at 100 pods a node (~9% of its CPU in
// c1m-2core): a 100-entry ledger serialises in ~34 µs, this in ~6 µs. Pod entries are shared
// between ledger versions (node-ledger.ts withPod builds `[...pods, entry]`) and never mutated, so
// "the same entry objects, in the same order" means "the same JSON": the part of the last string
// that holds them is reused, and only the new entries and the small rest are serialised.
//
// A ledger another writer wrote (an API server replica, this server before a restart) is read the
// same way backwards: the string is parsed as its head and its pod list separately, so the list's
// text and the parsed entries are known to belong together, and the next binding to the node
// appends to that text too.
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
const PODS_KEY = '"pods":[';
/** The pod list's `]`, spec's `}`, the ledger's `}`. */
const STORED_END = ']}}';

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

  /**
   * The ledger stored at `key` as `value`: the same object as JSON.parse gives. When the string is
   * laid out as `encode` writes it (the pod list last), it is parsed in two parts — everything
   * before the list with a number in its place, then the list — and remembered as the key's last
   * encoding. Both parts parse only when the cut is spec's own `pods` key at the end of the
   * ledger: the head must close with exactly spec's and the ledger's braces and hold the number as
   * `spec.pods` (a valid ledger's pods is never a number), and the rest must be one JSON array.
   * Anything else is parsed whole, and nothing is remembered.
   */
  decode(key: string, value: string): KubeObject {
    const at = value.lastIndexOf(PODS_KEY);
    if (at < 0 || !value.endsWith(STORED_END)) return JSON.parse(value) as KubeObject;
    const podsAt = at + PODS_KEY.length - 1;
    let head: { spec?: { pods?: unknown } } | null;
    let pods: unknown;
    try {
      head = JSON.parse(`${value.slice(0, podsAt)}0}}`) as { spec?: { pods?: unknown } } | null;
      pods = JSON.parse(value.slice(podsAt, -2));
    } catch {
      return JSON.parse(value) as KubeObject;
    }
    if (typeof head !== 'object' || head === null || head.spec?.pods !== 0 || !Array.isArray(pods)) return JSON.parse(value) as KubeObject;
    head.spec.pods = pods;
    this.remember(key, { pods: pods as AllocatedPod[], value, podsAt });
    return head as unknown as KubeObject;
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
