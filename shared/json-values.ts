// Equality and copies of plain JSON values (what JSON.parse makes: objects, arrays, strings,
// numbers, booleans, null), several times faster than node:util's isDeepStrictEqual and
// structuredClone, which handle every kind of value. For hot paths only, on values known to be JSON.

/** Whether two JSON values are equal: same keys (in any order) and equal values. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) {
    if (!Object.hasOwn(b, k) || !jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}

/** A deep copy of a JSON value (own enumerable keys, in order). */
export function jsonCopy<T>(v: T): T {
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) return v.map(jsonCopy) as T;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) out[k] = jsonCopy((v as Record<string, unknown>)[k]);
  return out as T;
}
