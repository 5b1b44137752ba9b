// resourceVersions unique per object write (DESIGN §2). etcd gives every write of one transaction
// the same mod_revision, and a group commit or a Placement puts many object writes in one
// transaction; Kubernetes clients resume a watch from the resourceVersion of the last event they
// handled and expect exactly the later events, so two writes must never share a number.
//
//   resourceVersion = mod_revision × WRITES_PER_REVISION + position
//
// A write's position is its place among the writes of its etcd request, in the order etcd applies
// them (the order of its watch events). A put keeps its position with the stored value, as a small
// header in front of the object's bytes (none for position 0, the common lone write). A delete
// stores nothing: its position is derived where its watch event is seen, as one more than the
// event before it in the same revision of the same resource (0 for the first) — the writer
// derives the same from its request. That is never more than the delete's own place in the
// request, and every later put of the resource was stamped with a larger one, so within every
// resource's history — what each list and watch serves — the numbers are unique and follow etcd's
// order. Decimal, so a person reads "revision 42, write 7"
// from 42000007; the product stays far inside 2^53 (9 × 10^9 revisions).

/** Positions per etcd revision. A request holds at most 128 × 128 writes (nested transactions). */
export const WRITES_PER_REVISION = 1_000_000;

/** The resourceVersion of the write at `position` of etcd revision `revision`. */
export function versionOf(revision: number, position: number): number {
  return revision * WRITES_PER_REVISION + position;
}

/** The etcd revision a resourceVersion was written at. */
export function revisionOf(version: number): number {
  return Math.floor(version / WRITES_PER_REVISION);
}

/** The resourceVersion that follows every write of `revision`: a list's or bookmark's version. */
export function versionAfter(revision: number): number {
  return revision * WRITES_PER_REVISION + (WRITES_PER_REVISION - 1);
}

/**
 * The etcd revision a watch that wants every write after `version` must start after: the whole
 * revision when `version` is mid-revision (the caller then drops what is at or below `version`).
 */
export function watchStartRevision(version: number): number {
  const revision = revisionOf(version);
  return version === versionAfter(revision) ? revision : revision - 1;
}

const MARK = 0; // a NUL byte: no JSON text (nor any value the project stores) starts with one
const MARK_CHAR = '\u0000';

/** The bytes stored for a put at `position`: the value itself, or a `\0<position>\0` header and the value. */
export function stampValue(value: Buffer, position: number): Buffer {
  if (position === 0) return value;
  return Buffer.concat([Buffer.from(`${MARK_CHAR}${position}${MARK_CHAR}`, 'latin1'), value]);
}

/** The same for a string value (the memory store keeps strings). */
export function stampString(value: string, position: number): string {
  return position === 0 ? value : `${MARK_CHAR}${position}${MARK_CHAR}${value}`;
}

/** A stored value split into the object's bytes (as UTF-8 text) and its write position. */
export function readStamp(raw: Buffer | string): { value: string; position: number } {
  const text = typeof raw === 'string' ? raw : raw.toString('utf8');
  if (text.length === 0 || text.charCodeAt(0) !== MARK) return { value: text, position: 0 };
  const end = text.indexOf(MARK_CHAR, 1);
  const position = end > 1 ? Number(text.slice(1, end)) : NaN;
  // A malformed header is not ours: keep the bytes as they are rather than lose data.
  if (!Number.isSafeInteger(position) || position < 0) return { value: text, position: 0 };
  return { value: text.slice(end + 1), position };
}

/** The resource a store key belongs to: its first segment (`/pods/ns/name` → `pods`). */
export function resourceOfKey(key: string): string {
  const end = key.indexOf('/', 1);
  return end < 0 ? key : key.slice(0, end);
}

/**
 * Gives each delete in `events` (in etcd's order, each revision whole) its position: one more than
 * the event of the same resource before it in the same revision, 0 when it is the first.
 * `positions` holds each event's position (a put's from its stamp) and is filled in for deletes.
 */
export function positionDeletes(events: readonly { type: 'put' | 'delete'; modRevision: number; key: string }[], positions: number[]): void {
  let revision = -1;
  const last = new Map<string, number>();
  events.forEach((ev, i) => {
    if (ev.modRevision !== revision) {
      revision = ev.modRevision;
      last.clear();
    }
    const resource = resourceOfKey(ev.key);
    if (ev.type === 'delete') positions[i] = (last.get(resource) ?? -1) + 1;
    last.set(resource, positions[i]!);
  });
}
