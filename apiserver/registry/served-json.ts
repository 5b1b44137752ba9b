// An object's JSON as its watchers get it, made from the string it is stored as instead of
// serialising the decoded object again. A stored object is its served JSON less
// `metadata.resourceVersion` (the write's revision, known only once it commits: resource-store.ts
// encode/decode), so the served JSON is the stored string with that one field put back — one
// string concatenation where serialising costs a walk of the whole object per event.
import type { KubeObject } from './object.js';

/** An object as the store holds it: its JSON less its resourceVersion, and that resourceVersion. */
export interface StoredForm {
  readonly value: string;
  readonly version: number;
}

/**
 * A stored string this can use: an object whose keys before `metadata` are at most apiVersion and
 * kind (so the first `"metadata":{` is the object's own), as the schemas order them.
 */
const METADATA_OPENING = /^\{(?:"(?:apiVersion|kind)":"[^"\\]*",){0,2}"metadata":\{/;

/**
 * The JSON of `obj`, which is `stored` decoded (with the resourceVersion `stored.version`): the
 * same JSON value as JSON.stringify(obj), with the resourceVersion first in its metadata. Falls back
 * to JSON.stringify when the stored string is not of the shape that makes this safe — its
 * metadata not found where expected, or a resourceVersion already somewhere in it (then a second
 * key could be the one a parser keeps).
 */
export function servedJson(obj: KubeObject, stored: StoredForm | undefined): string {
  if (stored === undefined) return JSON.stringify(obj);
  const value = stored.value;
  const m = METADATA_OPENING.exec(value);
  if (m === null || value.includes('"resourceVersion"')) return JSON.stringify(obj);
  const at = m[0].length;
  const rv = `"resourceVersion":"${stored.version}"`;
  return `${value.slice(0, at)}${rv}${value.charCodeAt(at) === 0x7d /* } */ ? '' : ','}${value.slice(at)}`;
}
