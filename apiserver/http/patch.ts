// The three patch flavours kubectl and client libraries send (DESIGN §2): JSON merge patch
// (RFC 7386), JSON patch (RFC 6902), and strategic merge patch for this subset — a merge where
// lists of named items are merged by their key instead of replaced.
import jsonpatch from 'fast-json-patch';
import { BadRequestError, InvalidError, errorMessage } from '../../shared/errors.js';
import { checkDepth, type PatchType } from './body.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** RFC 7386: objects merge recursively, null deletes, anything else replaces. */
export function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return patch;
  const out: JsonObject = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k] ?? null, v);
  }
  return out;
}

/**
 * Lists whose items merge by a key under strategic merge patch (as the Kubernetes types declare
 * with `patchMergeKey`), by field name — unambiguous within this API subset.
 */
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  env: 'name',
  volumes: 'name',
  volumeMounts: 'name',
  imagePullSecrets: 'name',
  ports: 'containerPort',
  conditions: 'type',
  addresses: 'type',
  ownerReferences: 'uid',
  containerStatuses: 'name',
};
/** Lists of scalars merged as sets (`patchStrategy: merge` on a primitive list). */
const SET_LISTS = new Set(['finalizers']);

function strategicList(field: string, target: Json[], patch: Json[]): Json[] {
  const key = MERGE_KEYS[field];
  if (SET_LISTS.has(field)) {
    const out = [...target];
    for (const v of patch) if (!out.includes(v)) out.push(v);
    return out;
  }
  if (!key) return patch;
  const out: Json[] = [...target];
  for (const item of patch) {
    if (!isObject(item)) return patch; // not a list of objects after all: replace
    if (item['$patch'] === 'replace') return patch.filter((i) => !(isObject(i) && i['$patch'] === 'replace'));
    const idx = out.findIndex((t) => isObject(t) && t[key] === item[key]);
    if (item['$patch'] === 'delete') {
      if (idx >= 0) out.splice(idx, 1);
      continue;
    }
    if (idx >= 0) out[idx] = strategicMerge(out[idx] ?? null, item);
    else out.push(strategicMerge(null, item));
  }
  return out;
}

/** Strategic merge patch for this subset, honouring the directives kubectl emits. */
export function strategicMerge(target: Json, patch: Json): Json {
  if (!isObject(patch)) return patch;
  if (patch['$patch'] === 'replace') {
    const { $patch: _ignored, ...rest } = patch;
    return rest;
  }
  if (patch['$patch'] === 'delete') return null;
  const out: JsonObject = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch' || k === '$retainKeys' || k.startsWith('$setElementOrder/')) continue;
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length);
      const current = out[field];
      if (Array.isArray(current) && Array.isArray(v)) out[field] = current.filter((x) => !v.includes(x));
      continue;
    }
    if (v === null) delete out[k];
    else if (Array.isArray(v)) out[k] = strategicList(k, Array.isArray(out[k]) ? (out[k] as Json[]) : [], v);
    else out[k] = strategicMerge(out[k] ?? null, v);
  }
  return out;
}

/** Apply a patch of the given type to a JSON document; a patch that cannot apply is a 4xx. */
export function applyPatch(type: PatchType, doc: unknown, patch: unknown): unknown {
  const result = patched(type, doc, patch);
  // Patches nest values into the document: the result must stay within the body depth limit.
  checkDepth(result, 'the patched object');
  return result;
}

function patched(type: PatchType, doc: unknown, patch: unknown): unknown {
  const current = JSON.parse(JSON.stringify(doc)) as Json;
  switch (type) {
    case 'merge':
      if (!isObject(patch)) throw new BadRequestError('a merge patch must be a JSON object');
      return mergePatch(current, patch as Json);
    case 'strategic':
      if (!isObject(patch)) throw new BadRequestError('a strategic merge patch must be a JSON object');
      return strategicMerge(current, patch as Json);
    case 'json': {
      if (!Array.isArray(patch)) throw new BadRequestError('a JSON patch must be an array of operations');
      // fast-json-patch throws plain errors (e.g. a TypeError for `__proto__` paths) from validate
      // as well as from apply: every one of them is the patch's fault, never a 500.
      try {
        const invalid = jsonpatch.validate(patch as jsonpatch.Operation[], current);
        if (invalid) throw invalid;
        return jsonpatch.applyPatch(current, patch as jsonpatch.Operation[], false, true).newDocument;
      } catch (err) {
        throw jsonPatchError(err, patch);
      }
    }
  }
}

/** `/spec/containers/0/image` → `spec.containers[0].image`, the way causes name fields. */
function pointerToField(pointer: string): string {
  const segs = pointer.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  let out = '';
  for (const s of segs) out += /^\d+$/.test(s) ? `[${s}]` : out === '' ? s : `.${s}`;
  return out;
}

/** A 422 for a JSON patch that cannot apply, naming the operation's target as the bad field. */
function jsonPatchError(err: unknown, patch: unknown[]): InvalidError {
  // fast-json-patch appends the operation and the whole document to its messages: keep line one.
  const message = `the JSON patch cannot be applied: ${errorMessage(err).split('\n')[0]}`;
  // The failing operation (a copy: validate clones the patch, and its `index` is not always right).
  const op: unknown = (err as { operation?: unknown }).operation;
  const path = isObject(op) && typeof op['path'] === 'string' ? op['path'] : undefined;
  const index = op === undefined ? -1 : patch.findIndex((p) => JSON.stringify(p) === JSON.stringify(op));
  let field = index >= 0 ? `patch[${index}]` : 'patch';
  if (path !== undefined && path !== '') field = pointerToField(path);
  return new InvalidError(message, {}, [{ reason: 'FieldValueInvalid', field, message }]);
}
