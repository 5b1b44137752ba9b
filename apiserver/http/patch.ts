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

// Patches merge keys the client chose into the document. Every key is plain data: read only as
// an own property (`constructor` must not find Object.prototype's), written as an own property
// (`out.__proto__ = v` would replace the object's prototype instead of adding a field, hiding the
// field from validation and making its members look like the object's own). A `__proto__` field
// then reaches validation, which refuses it by name.

/** `obj[key]` if obj has its own `key`, else null. */
function own(obj: JsonObject, key: string): Json {
  return Object.hasOwn(obj, key) ? obj[key]! : null;
}

/** `obj[key] = value` as a data property, whatever the key. */
function setOwn(obj: JsonObject, key: string, value: Json): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
  else obj[key] = value;
}

/** RFC 7386: objects merge recursively, null deletes, anything else replaces. */
export function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return patch;
  // Spread copies own properties as data properties, `__proto__` included.
  const out: JsonObject = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else setOwn(out, k, mergePatch(own(out, k), v));
  }
  return out;
}

/**
 * Lists whose items merge by a key under strategic merge patch (as the Kubernetes types declare
 * with `patchMergeKey`), by field name and the key the items have: a container's `ports` merge by
 * `containerPort`, a Service's by `port`; a node's `addresses` by `type`, while an Endpoints
 * subset's addresses (no `type`) are replaced whole, as in Kubernetes. A Map: field names come
 * from the patch, and `constructor` must not be found on Object.prototype.
 */
const MERGE_KEYS = new Map<string, readonly string[]>([
  ['containers', ['name']],
  ['initContainers', ['name']],
  ['ephemeralContainers', ['name']],
  ['env', ['name']],
  ['volumes', ['name']],
  ['volumeMounts', ['name']],
  ['imagePullSecrets', ['name']],
  ['ports', ['containerPort', 'port']],
  ['conditions', ['type']],
  ['addresses', ['type']],
  ['ownerReferences', ['uid']],
  ['containerStatuses', ['name']],
  ['initContainerStatuses', ['name']],
  ['ephemeralContainerStatuses', ['name']],
]);
/** Lists of scalars merged as sets (`patchStrategy: merge` on a primitive list). */
const SET_LISTS = new Set(['finalizers']);

/**
 * How a strategic merge patch merges the list in `field` whose items have the fields
 * `itemHas` says: by the items' merge key, as a set of scalars, or (undefined) by replacing it.
 * The OpenAPI documents publish the same table, from which kubectl builds its patches.
 */
export function listMergeStrategy(field: string, itemHas: (key: string) => boolean): { mergeKey: string } | 'set' | undefined {
  if (SET_LISTS.has(field)) return 'set';
  const mergeKey = MERGE_KEYS.get(field)?.find(itemHas);
  return mergeKey === undefined ? undefined : { mergeKey };
}

function strategicList(field: string, target: Json[], patch: Json[]): Json[] {
  const items = [...target, ...patch];
  const strategy = listMergeStrategy(field, (k) => items.some((i) => isObject(i) && Object.hasOwn(i, k)));
  if (strategy === 'set') {
    const out = [...target];
    for (const v of patch) if (!out.includes(v)) out.push(v);
    return out;
  }
  if (!strategy) return patch;
  const key = strategy.mergeKey;
  // Items without the key (a list of another shape) cannot be merged by it: replaced.
  if (!items.every((i) => isObject(i) && (Object.hasOwn(i, key) || Object.hasOwn(i, '$patch')))) return patch;
  const out: Json[] = [...target];
  for (const item of patch) {
    if (!isObject(item)) return patch; // not a list of objects after all: replace
    if (own(item, '$patch') === 'replace') return patch.filter((i) => !(isObject(i) && own(i, '$patch') === 'replace'));
    const idx = out.findIndex((t) => isObject(t) && own(t, key) === own(item, key));
    if (own(item, '$patch') === 'delete') {
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
  const directive = own(patch, '$patch');
  if (directive === 'replace') {
    const { $patch: _ignored, ...rest } = patch;
    return rest;
  }
  if (directive === 'delete') return null;
  const out: JsonObject = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch' || k === '$retainKeys' || k.startsWith('$setElementOrder/')) continue;
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length);
      const current = own(out, field);
      if (Array.isArray(current) && Array.isArray(v)) setOwn(out, field, current.filter((x) => !v.includes(x)));
      continue;
    }
    const current = own(out, k);
    if (v === null) delete out[k];
    else if (Array.isArray(v)) setOwn(out, k, strategicList(k, Array.isArray(current) ? current : [], v));
    else setOwn(out, k, strategicMerge(current, v));
  }
  return out;
}

/** Apply a patch of the given type to a JSON document; a patch that cannot apply is a 4xx. */
export function applyPatch(type: Exclude<PatchType, 'apply'>, doc: unknown, patch: unknown): unknown {
  const result = patched(type, doc, patch);
  // Patches nest values into the document: the result must stay within the body depth limit.
  checkDepth(result, 'the patched object');
  return result;
}

function patched(type: Exclude<PatchType, 'apply'>, doc: unknown, patch: unknown): unknown {
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
      // fast-json-patch throws plain errors (e.g. a TypeError for `__proto__` paths) as well as its
      // own: every one of them is the patch's fault, never a 500. Each operation is validated
      // against the document as it stands when it applies.
      try {
        return jsonpatch.applyPatch(current, patch as jsonpatch.Operation[], ownPathValidator, true).newDocument;
      } catch (err) {
        throw jsonPatchError(err, patch);
      }
    }
  }
}

/** The value at a JSON pointer, following own members only; `found: false` when there is none. */
function resolveOwn(doc: unknown, pointer: string): { found: boolean; value: unknown } {
  if (pointer === '') return { found: true, value: doc };
  let cur: unknown = doc;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(cur)) {
      if (!/^(0|[1-9]\d*)$/.test(key) || Number(key) >= cur.length) return { found: false, value: undefined };
      cur = cur[Number(key)];
    } else if (isObject(cur) && Object.hasOwn(cur, key)) {
      cur = cur[key];
    } else {
      return { found: false, value: undefined };
    }
  }
  return { found: true, value: cur };
}

/**
 * fast-json-patch's validator, plus RFC 6902's "the target location MUST exist" with own members
 * only: it finds `toString` or `constructor` on Object.prototype and would replace, remove or copy
 * a field that is not there.
 */
const ownPathValidator: jsonpatch.Validator<unknown> = (operation, index, document, existingPath) => {
  const op = operation as { op?: unknown; path?: unknown; from?: unknown };
  if (typeof op.path === 'string' && op.path.startsWith('/')) {
    const missing = (pointer: string) => !resolveOwn(document, pointer).found;
    if ((op.op === 'replace' || op.op === 'remove' || op.op === 'test') && missing(op.path)) {
      throw new jsonpatch.JsonPatchError('Cannot perform the operation at a path that does not exist', 'OPERATION_PATH_UNRESOLVABLE', index, operation, document);
    }
    if (op.op === 'add') {
      const parent = resolveOwn(document, op.path.slice(0, op.path.lastIndexOf('/')));
      if (!parent.found || typeof parent.value !== 'object' || parent.value === null) {
        throw new jsonpatch.JsonPatchError('Cannot perform an `add` operation at the desired path', 'OPERATION_PATH_CANNOT_ADD', index, operation, document);
      }
    }
    if ((op.op === 'move' || op.op === 'copy') && typeof op.from === 'string' && missing(op.from)) {
      throw new jsonpatch.JsonPatchError('Cannot perform the operation from a path that does not exist', 'OPERATION_FROM_UNRESOLVABLE', index, operation, document);
    }
  }
  jsonpatch.validator(operation, index, document, existingPath);
};

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
