// Reading node ledgers off the watch without parsing their pod lists. Every binding rewrites its
// node's whole ledger, so at 100 pods a node each scheduler receives a ~10 KiB line per binding, and
// parsing it whole (and building a set of its uids) was the schedulers' largest cost at C1M. The
// scheduler needs only the ledger's metadata, `allocatable`, `allocated` and `hostPorts`, and for the
// few pods it has assumed on the node whether the ledger lists them. So the line is cut where the pod
// list begins: the small head is parsed, the pod list is kept as text, searched for a uid when asked,
// and parsed only if something reads `spec.pods`.
//
// The cut relies on the layout the API server writes (apiserver/placement/ledger-encoding.ts): spec
// is the object's last key and pods the last key of spec, and a pod entry's one array (hostPorts)
// ends it. A line laid out otherwise is recognised as such and parsed whole: slower, never wrong.
import type { AllocatedPod, NodeAllocation } from '../../shared/api/scheduling.js';
import type { WatchEvent } from '../../shared/client/http-client.js';

const PODS_KEY = '"pods":[';
/** The pod list's `]`, then spec's, the object's and the event's `}`. */
const LINE_END = ']}}}';
/**
 * An array closed, maybe objects closed, then another key. Inside a pod list laid out as above this
 * never occurs; when the cut text runs past the pod list it always does (whatever follows the list
 * before the line's last `]` starts with a key).
 */
const KEY_AFTER_ARRAY = /\](?:\s*\})*\s*,\s*"/;

/** Pod lists kept as text, by the spec object that stands for them. */
const podListTexts = new WeakMap<object, string>();

/** One watch line of the nodeallocations resource, as an event whose ledger's pod list is read lazily. */
export function parseLedgerWatchLine(line: string): WatchEvent<NodeAllocation> {
  const at = line.indexOf(PODS_KEY);
  if (at < 0 || !line.endsWith(LINE_END)) return JSON.parse(line) as WatchEvent<NodeAllocation>;
  const listAt = at + PODS_KEY.length - 1;
  const text = detached(line.slice(listAt, line.length - LINE_END.length + 1));
  // Entries must read `{"uid":"…"` for the uid search below; a list written otherwise is parsed.
  if (text !== '[]' && !text.startsWith('[{"uid":"')) return JSON.parse(line) as WatchEvent<NodeAllocation>;
  // Only a text with an inner `]` can hold a key after an array (most ledgers have no host ports).
  if (text.indexOf(']') < text.length - 1 && KEY_AFTER_ARRAY.test(text)) return JSON.parse(line) as WatchEvent<NodeAllocation>;
  let event: WatchEvent<NodeAllocation>;
  try {
    event = JSON.parse(`${line.slice(0, listAt)}[]}}}`) as WatchEvent<NodeAllocation>;
  } catch {
    // The key found was not spec's (the head does not close as a ledger does): the whole line decides.
    return JSON.parse(line) as WatchEvent<NodeAllocation>;
  }
  const spec = (event.object as Partial<NodeAllocation> | undefined)?.spec;
  if (event.object?.kind !== 'NodeAllocation' || !spec || !Array.isArray(spec.pods) || spec.pods.length > 0) {
    return JSON.parse(line) as WatchEvent<NodeAllocation>;
  }
  let pods: AllocatedPod[] | undefined;
  // Enumerable, so the ledger still serialises and freezes whole; parsed once, on first read.
  Object.defineProperty(spec, 'pods', { enumerable: true, configurable: false, get: () => (pods ??= JSON.parse(text) as AllocatedPod[]) });
  podListTexts.set(spec, text);
  return event;
}

/**
 * `part` in a string of its own. A slice of a string keeps the whole string it was cut from alive,
 * and a watch line is itself cut from the stream's read buffer (tens of KiB, many lines): a cached
 * ledger would hold its buffer for as long as the node's ledger does not change. Prefixing makes a
 * new string whose first read copies it flat; the slice of that one holds only that copy.
 */
function detached(part: string): string {
  return ` ${part}`.slice(1);
}

/** Which pods a ledger lists, by uid. */
export interface LedgerPodSet {
  has(uid: string): boolean;
}

/**
 * The pods `alloc` lists. For a ledger read by parseLedgerWatchLine a uid is searched for in the
 * list's text (a scheduler asks about the handful it has assumed, not the hundred listed); for any
 * other, the parsed list is indexed on first use.
 */
export function ledgerPods(alloc: NodeAllocation): LedgerPodSet {
  const text = podListTexts.get(alloc.spec);
  if (text !== undefined) return { has: (uid) => text.includes(`"uid":${JSON.stringify(uid)}`) };
  let uids: Set<string> | undefined;
  return { has: (uid) => (uids ??= new Set(alloc.spec.pods.map((p) => p.uid))).has(uid) };
}
