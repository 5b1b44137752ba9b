// Server-side apply (PATCH with application/apply-patch+yaml: `kubectl apply --server-side`, Helm,
// GitOps controllers): a client sends the fields it wants to own — a whole configuration, not a
// change — under a field manager's name, and the server merges it in. What each applier set is
// recorded in metadata.managedFields (Kubernetes' FieldsV1 form), so that
//   - a field the applier set before and leaves out now is removed (unless another applier owns it),
//   - setting a field another applier owns to a different value is a 409 listing each conflict,
//     unless `force=true`, which takes the field over.
// Lists merge as strategic merge patch merges them (items by their merge key, finalizers as a
// set, any other list whole). Unlike Kubernetes, writes that are not applies (PUT, other patches)
// are not recorded as owners: only appliers conflict with one another.
import { isDeepStrictEqual } from 'node:util';
import type { FieldCause } from '../../shared/errors.js';
import { BadRequestError, ConflictError } from '../../shared/errors.js';
import { listMergeStrategy, strategicMerge } from './patch.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };
/** FieldsV1: `f:<field>`, `k:<merge key JSON>` for a list item, `v:<value JSON>` for a set member, `.` for the item itself. */
export type FieldTree = { [token: string]: FieldTree };

interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  apiVersion?: string;
  time?: string;
  fieldsType?: string;
  fieldsV1?: Record<string, unknown>;
  subresource?: string;
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The metadata fields an applier may own; the rest (name, uid, …) are the server's or the URL's. */
const OWNABLE_METADATA = new Set(['labels', 'annotations', 'finalizers', 'ownerReferences']);

/** The fields a configuration sets. */
export function fieldsOf(config: JsonObject): FieldTree {
  const tree: FieldTree = {};
  for (const [k, v] of Object.entries(config)) {
    if (k === 'apiVersion' || k === 'kind') continue;
    if (k === 'metadata') {
      if (!isObject(v)) continue;
      const meta: FieldTree = {};
      for (const [mk, mv] of Object.entries(v)) if (OWNABLE_METADATA.has(mk)) meta[`f:${mk}`] = valueFields(mk, mv);
      if (Object.keys(meta).length > 0) tree['f:metadata'] = meta;
      continue;
    }
    tree[`f:${k}`] = valueFields(k, v);
  }
  return tree;
}

function objectFields(obj: JsonObject): FieldTree {
  const tree: FieldTree = {};
  for (const [k, v] of Object.entries(obj)) tree[`f:${k}`] = valueFields(k, v);
  return tree;
}

function valueFields(field: string, v: Json): FieldTree {
  if (isObject(v)) return objectFields(v);
  if (!Array.isArray(v)) return {};
  const strategy = listMergeStrategy(field, (k) => v.some((x) => isObject(x) && x[k] !== undefined));
  if (strategy === 'set' && v.every((x) => !isObject(x) && !Array.isArray(x))) {
    return Object.fromEntries(v.map((x) => [`v:${JSON.stringify(x)}`, {}]));
  }
  if (strategy !== undefined && strategy !== 'set' && v.every((x) => isObject(x) && x[strategy.mergeKey] !== undefined)) {
    const tree: FieldTree = {};
    for (const item of v as JsonObject[]) tree[`k:${JSON.stringify({ [strategy.mergeKey]: item[strategy.mergeKey] })}`] = { '.': {}, ...objectFields(item) };
    return tree;
  }
  // Any other list is one value, owned whole.
  return {};
}

/** Every leaf of a tree, as its path of tokens. */
function leaves(tree: FieldTree, prefix: string[] = [], out: string[][] = []): string[][] {
  for (const [token, sub] of Object.entries(tree)) {
    const p = [...prefix, token];
    if (Object.keys(sub).length === 0) out.push(p);
    else leaves(sub, p, out);
  }
  return out;
}

function treeOf(paths: string[][]): FieldTree {
  const tree: FieldTree = {};
  for (const p of paths) {
    let node = tree;
    for (const token of p) node = node[token] ??= {};
  }
  return tree;
}

function hasPath(tree: FieldTree, p: string[]): boolean {
  let node: FieldTree | undefined = tree;
  for (const token of p) {
    node = node[token];
    if (node === undefined) return false;
  }
  return Object.keys(node).length === 0;
}

/** Whether a tree owns anything at or under `prefix`. */
function ownsUnder(tree: FieldTree, prefix: string[]): boolean {
  let node: FieldTree | undefined = tree;
  for (const token of prefix) {
    node = node[token];
    if (node === undefined) return false;
  }
  return true;
}

const key = (p: string[]) => p.join('\u0000');

/** The list item a `k:` token names, and its index. */
function findItem(list: Json, token: string): { index: number; item: JsonObject } | undefined {
  if (!Array.isArray(list)) return undefined;
  let want: JsonObject;
  try {
    want = JSON.parse(token.slice(2)) as JsonObject;
  } catch {
    return undefined;
  }
  const index = list.findIndex((x) => isObject(x) && Object.entries(want).every(([k, v]) => isDeepStrictEqual(x[k], v)));
  return index < 0 ? undefined : { index, item: list[index] as JsonObject };
}

/** The value a leaf path names in an object (undefined when absent; `true` for an item or set member that is there). */
function valueAt(root: Json, p: string[]): unknown {
  let node: Json | undefined = root;
  for (const token of p) {
    if (node === undefined || node === null) return undefined;
    if (token === '.') return true;
    if (token.startsWith('f:')) node = isObject(node) && Object.hasOwn(node, token.slice(2)) ? node[token.slice(2)] : undefined;
    else if (token.startsWith('k:')) node = findItem(node, token)?.item;
    else if (token.startsWith('v:')) return Array.isArray(node) && node.some((x) => JSON.stringify(x) === token.slice(2)) ? true : undefined;
    else return undefined;
  }
  return node;
}

/**
 * Removes what a leaf path names from an object (nothing when it is not there). A map or object
 * left empty by it goes too, below the top level (`labels: {}` is not kept; `spec` is).
 */
function removeAt(root: JsonObject, p: string[]): void {
  const chain: { holder: JsonObject; field: string }[] = [];
  let parent: Json | undefined = root;
  for (let i = 0; i < p.length - 1; i++) {
    const token = p[i]!;
    const last = p[i + 1] === '.' && i === p.length - 2;
    if (token.startsWith('f:')) {
      if (!isObject(parent) || !Object.hasOwn(parent, token.slice(2))) return;
      chain.push({ holder: parent, field: token.slice(2) });
      parent = parent[token.slice(2)];
    } else if (token.startsWith('k:')) {
      const found = findItem(parent ?? null, token);
      if (!found) return;
      if (last) {
        (parent as Json[]).splice(found.index, 1);
        return;
      }
      chain.length = 0; // inside a list item: emptied objects stop at the item
      parent = found.item;
    } else {
      return;
    }
    if (parent === undefined) return;
  }
  const token = p[p.length - 1]!;
  if (token.startsWith('f:') && isObject(parent)) delete parent[token.slice(2)];
  else if (token.startsWith('v:') && Array.isArray(parent)) {
    const i = parent.findIndex((x) => JSON.stringify(x) === token.slice(2));
    if (i >= 0) parent.splice(i, 1);
  }
  for (let i = chain.length - 1; i >= 1; i--) {
    const { holder, field } = chain[i]!;
    const v = holder[field];
    if (!isObject(v) || Object.keys(v).length > 0) break;
    delete holder[field];
  }
}

/** `.spec.containers[name="web"].image`, as Kubernetes writes a field path in a conflict. */
function fieldPath(p: string[]): string {
  let out = '';
  for (const token of p) {
    if (token === '.') continue;
    if (token.startsWith('f:')) out += `.${token.slice(2)}`;
    else if (token.startsWith('k:')) {
      const k = JSON.parse(token.slice(2)) as Record<string, unknown>;
      out += `[${Object.entries(k).map(([n, v]) => `${n}=${JSON.stringify(v)}`).join(',')}]`;
    } else if (token.startsWith('v:')) out += `[=${token.slice(2)}]`;
  }
  return out;
}

function entryTree(e: ManagedFieldsEntry): FieldTree {
  return (e.fieldsV1 ?? {}) as FieldTree;
}

export interface ApplyRequest {
  manager: string;
  force: boolean;
  /** The request's timestamp for managedFields. */
  now: string;
}

/**
 * What applying `config` as `manager` makes of `live` (undefined: the object does not exist yet):
 * the object to write, its managedFields updated. ConflictError when it would change fields other
 * appliers own and `force` is not set.
 */
export function serverSideApply(liveObject: object | undefined, configObject: object, req: ApplyRequest): JsonObject {
  const live = liveObject as JsonObject | undefined;
  const config = configObject as JsonObject;
  const meta = config.metadata;
  if (isObject(meta) && meta.managedFields !== undefined) throw new BadRequestError('metadata.managedFields must be nil in an apply configuration');
  const applied = fieldsOf(config);
  const appliedLeaves = leaves(applied);
  const entries: ManagedFieldsEntry[] = structuredClone(((isObject(live?.metadata) ? live.metadata.managedFields : undefined) ?? []) as ManagedFieldsEntry[]);
  const isMine = (e: ManagedFieldsEntry) => e.manager === req.manager && e.operation === 'Apply' && (e.subresource ?? '') === '';
  const previous = entries.find(isMine);
  const others = entries.filter((e) => !isMine(e));

  // Conflicts: a field another applier owns, set here to something else than it is.
  const conflicts: { entry: ManagedFieldsEntry; path: string[] }[] = [];
  for (const e of others) {
    if (e.operation !== 'Apply') continue;
    const theirs = entryTree(e);
    for (const p of appliedLeaves) if (hasPath(theirs, p) && !isDeepStrictEqual(valueAt(config, p), valueAt(live ?? null, p))) conflicts.push({ entry: e, path: p });
  }
  if (conflicts.length > 0 && !req.force) {
    const causes: FieldCause[] = conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with "${c.entry.manager ?? ''}" using ${c.entry.apiVersion ?? ''}`, field: fieldPath(c.path) }));
    const summary = causes.map((c) => `${c.message}: ${c.field}`).join('\n- ');
    throw new ConflictError(`Apply failed with ${conflicts.length} conflict${conflicts.length === 1 ? '' : 's'}: ${conflicts.length === 1 ? summary : `\n- ${summary}`}`, {}, causes);
  }
  // Forced: the fields change hands.
  for (const c of conflicts) {
    const remaining = leaves(entryTree(c.entry)).filter((p) => key(p) !== key(c.path));
    c.entry.fieldsV1 = treeOf(remaining);
  }

  // What this applier set before and leaves out now goes, unless someone else owns it.
  const base: JsonObject = live ? structuredClone(live) : {};
  if (previous) {
    const now = new Set(appliedLeaves.map(key));
    const dropped = leaves(entryTree(previous)).filter((p) => !now.has(key(p)));
    // Deepest first, so an item's fields go before the item.
    dropped.sort((a, b) => b.length - a.length);
    for (const p of dropped) {
      const itemPrefix = p[p.length - 1] === '.' ? p.slice(0, -1) : undefined;
      const ownedElsewhere = others.some((e) => (itemPrefix ? ownsUnder(entryTree(e), itemPrefix) : hasPath(entryTree(e), p)));
      if (!ownedElsewhere) removeAt(base, p);
    }
  }

  const merged = strategicMerge(base, config) as JsonObject;
  const apiVersion = typeof config.apiVersion === 'string' ? config.apiVersion : '';
  // The same fields applied again keep their time: an apply that changes nothing writes nothing.
  const unchanged = previous !== undefined && previous.apiVersion === apiVersion && isDeepStrictEqual(previous.fieldsV1, applied);
  const entry: ManagedFieldsEntry = {
    manager: req.manager,
    operation: 'Apply',
    apiVersion,
    time: unchanged ? (previous.time ?? req.now) : req.now,
    fieldsType: 'FieldsV1',
    fieldsV1: applied,
  };
  const kept = others.filter((e) => e.operation !== 'Apply' || leaves(entryTree(e)).length > 0);
  const mergedMeta = isObject(merged.metadata) ? merged.metadata : {};
  merged.metadata = { ...mergedMeta, managedFields: [...kept, ...(appliedLeaves.length > 0 ? [entry] : [])] as unknown as Json };
  return merged;
}
