// Client-side apply, compatible with kubectl's: the object as last applied is kept in the
// `kubectl.kubernetes.io/last-applied-configuration` annotation (same JSON form kubectl writes,
// so either tool can take over from the other), and an update is a three-way JSON merge patch:
//
//  - a field in the new manifest that differs from the live object is set;
//  - a field in the last-applied manifest that the new one dropped is deleted (null), so
//    removing a label or an env var from a file removes it from the cluster;
//  - fields nobody applied (server defaults, status, fields other clients set) are left alone.
//
// Lists are atomic under merge patch: when anything in a list the manifest owns changed, the
// whole list is sent as the manifest has it. Comparisons treat the live object as a superset of
// the manifest (the server adds defaults inside list items too), so re-applying an unchanged
// file sends nothing and reports `unchanged`.

export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Keys in sorted order at every level: Go's encoding/json writes maps that way, and kubectl is Go. */
function sortKeys(v: Json): Json {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (!isJsonObject(v)) return v;
  return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k]!)]));
}

/**
 * The annotation's value for a manifest: the manifest itself minus that annotation (with
 * `metadata.annotations` kept as `{}` when it becomes empty, exactly as kubectl leaves it), as
 * compact JSON with sorted keys and a trailing newline.
 */
export function lastAppliedValue(manifest: JsonObject): string {
  const copy = structuredClone(manifest);
  const meta = isJsonObject(copy.metadata) ? copy.metadata : {};
  const annotations = isJsonObject(meta.annotations) ? meta.annotations : {};
  delete annotations[LAST_APPLIED_ANNOTATION];
  meta.annotations = annotations;
  copy.metadata = meta;
  return `${JSON.stringify(sortKeys(copy))}\n`;
}

/** The manifest with its last-applied annotation set: what `create` sends for a new object. */
export function withLastApplied(manifest: JsonObject): JsonObject {
  const value = lastAppliedValue(manifest);
  const copy = structuredClone(manifest);
  const meta = isJsonObject(copy.metadata) ? copy.metadata : {};
  meta.annotations = { ...(isJsonObject(meta.annotations) ? meta.annotations : {}), [LAST_APPLIED_ANNOTATION]: value };
  copy.metadata = meta;
  return copy;
}

/** The live object's last-applied manifest, or undefined (never applied, or the annotation is not JSON). */
export function readLastApplied(live: JsonObject): JsonObject | undefined {
  const meta = live.metadata;
  const annotations = isJsonObject(meta) && isJsonObject(meta.annotations) ? meta.annotations : undefined;
  const text = annotations?.[LAST_APPLIED_ANNOTATION];
  if (typeof text !== 'string') return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    return isJsonObject(parsed) ? parsed : undefined;
  } catch {
    // A hand-edited or truncated annotation: behave as if the object had never been applied.
    return undefined;
  }
}

/** Scalars equal as the server would store them: `cpu: 1` in a file is `"1"` once stored. */
function sameScalar(a: Json, b: Json | undefined): boolean {
  if (a === b) return true;
  if ((typeof a === 'number' && typeof b === 'string') || (typeof a === 'string' && typeof b === 'number')) return String(a) === String(b);
  return false;
}

/** Does `live` already hold everything `desired` says (extra live fields allowed)? */
function covers(desired: Json, live: Json | undefined): boolean {
  if (isJsonObject(desired)) {
    if (!isJsonObject(live)) return false;
    return Object.entries(desired).every(([k, v]) => covers(v, live[k]));
  }
  if (Array.isArray(desired)) {
    if (!Array.isArray(live) || live.length !== desired.length) return false;
    return desired.every((d, i) => covers(d, partner(d, i, live)));
  }
  return sameScalar(desired, live);
}

/** The live list item that corresponds to `item`: same `name` when items have one, else same index. */
function partner(item: Json, index: number, list: Json[]): Json | undefined {
  if (isJsonObject(item) && typeof item.name === 'string') {
    return list.find((l) => isJsonObject(l) && l.name === item.name);
  }
  return list[index];
}

/** Must the list be re-sent? When live differs from desired, or an item lost a field that was applied. */
function listChanged(last: Json | undefined, desired: Json[], live: Json | undefined): boolean {
  if (!Array.isArray(live) || live.length !== desired.length) return true;
  const lastList = Array.isArray(last) ? last : [];
  return desired.some((d, i) => {
    const l = partner(d, i, live);
    if (l === undefined) return true;
    if (isJsonObject(d)) {
      const before = partner(d, i, lastList);
      return Object.keys(diff(isJsonObject(before) ? before : undefined, d, isJsonObject(l) ? l : undefined)).length > 0;
    }
    return !covers(d, l);
  });
}

/** The three-way merge patch for one object level. */
function diff(last: JsonObject | undefined, desired: JsonObject, live: JsonObject | undefined): JsonObject {
  // Own members only, read and written (a key such as `constructor` or `__proto__` is data here).
  const patch = Object.create(null) as JsonObject;
  const own = (o: JsonObject | undefined, k: string) => (o !== undefined && Object.hasOwn(o, k) ? o[k] : undefined);
  for (const [k, want] of Object.entries(desired)) {
    const have = own(live, k);
    const before = own(last, k);
    if (isJsonObject(want) && isJsonObject(have)) {
      const sub = diff(isJsonObject(before) ? before : undefined, want, have);
      if (Object.keys(sub).length > 0) patch[k] = sub;
    } else if (Array.isArray(want)) {
      if (listChanged(before, want, have)) patch[k] = want;
    } else if (want === null) {
      // An explicit null in a manifest means "no value": delete it if present.
      if (have !== undefined && have !== null) patch[k] = null;
    } else if (!covers(want, have)) {
      patch[k] = want;
    }
  }
  for (const k of Object.keys(last ?? {})) {
    if (!Object.hasOwn(desired, k) && live !== undefined && Object.hasOwn(live, k)) patch[k] = null;
  }
  return patch;
}

export interface ApplyPlan {
  /** A merge patch (application/merge-patch+json); empty when nothing changes. */
  patch: JsonObject;
  changed: boolean;
}

/**
 * What to send to make `live` match `manifest`, given the manifest applied last time (from the
 * annotation; undefined when the object was created some other way, so nothing is deleted).
 */
export function planApply(manifest: JsonObject, live: JsonObject): ApplyPlan {
  const last = readLastApplied(live);
  const desired = withLastApplied(manifest);
  const patch = diff(last, desired, live);
  return { patch, changed: Object.keys(patch).length > 0 };
}
