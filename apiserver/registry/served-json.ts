// An object's JSON as watchers and writers get it, made from the string it is stored as instead of
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

/** The stored forms of objects answered to their writes (resource-store.ts), for their responses. */
const answered = new WeakMap<object, StoredForm>();

/** `obj` (never changed again) is `form` decoded: its response is made from that. */
export function rememberStoredForm(obj: KubeObject, form: StoredForm): KubeObject {
  answered.set(obj, form);
  return obj;
}

/**
 * A response body as JSON: an object written by this request, or a list of them (a multi-object
 * create's outcomes), made from the strings they were stored as; anything else serialised.
 */
export function responseJson(body: unknown): string {
  if (typeof body !== 'object' || body === null) return JSON.stringify(body);
  const items = (body as { items?: unknown }).items;
  if (!Array.isArray(items)) return answeredJson(body);
  const { items: _items, ...envelope } = body as { items: unknown[] };
  const head = JSON.stringify(envelope);
  const parts = new Array<string>(items.length);
  for (let i = 0; i < items.length; i++) parts[i] = answeredJson(items[i]);
  return `${head.length > 2 ? `${head.slice(0, -1)},` : '{'}"items":[${parts.join(',')}]}`;
}

function answeredJson(obj: unknown): string {
  const form = typeof obj === 'object' && obj !== null ? answered.get(obj) : undefined;
  // `?? 'null'`: JSON.stringify's answer for an undefined item of an array.
  return form === undefined ? (JSON.stringify(obj) ?? 'null') : servedJson(obj as KubeObject, form);
}

/**
 * A stored string this can use: an object whose keys before `metadata` are at most apiVersion and
 * kind (so the first `"metadata":{` is the object's own), as the schemas order them.
 */
const METADATA_OPENING = /^\{(?:"(?:apiVersion|kind)":"[^"\\]*",){0,2}"metadata":\{/;

/**
 * The JSON of `obj`, which is `stored` decoded (with the resourceVersion `stored.version`): the
 * same JSON value as JSON.stringify(obj), with the resourceVersion first in its metadata.
 */
export function servedJson(obj: KubeObject, stored: StoredForm | undefined): string {
  return (stored !== undefined ? storedJson(stored) : undefined) ?? JSON.stringify(obj);
}

/**
 * The served JSON of the object stored as `stored`, made from the string alone — or undefined when
 * the string is not of the shape that makes this safe (its metadata not found where expected, or a
 * resourceVersion already somewhere in it: then a second key could be the one a parser keeps), and
 * the object must be serialised instead.
 */
export function storedJson(stored: StoredForm): string | undefined {
  const value = stored.value;
  const m = METADATA_OPENING.exec(value);
  if (m === null || value.includes('"resourceVersion"')) return undefined;
  const at = m[0].length;
  const rv = `"resourceVersion":"${stored.version}"`;
  return `${value.slice(0, at)}${rv}${value.charCodeAt(at) === 0x7d /* } */ ? '' : ','}${value.slice(at)}`;
}
