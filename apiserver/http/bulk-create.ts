// Multi-object create: a POST to a collection whose body is a `v1 List` creates each of its items
// as if each had been POSTed alone, and answers `200` with a `v1 List` of the outcomes, in the
// items' order: the created object, or the `Status` that refused it (kubectl builds the same List
// when it prints several objects, and a List's items may be of any kind). A controller creating
// hundreds of pods pays one request instead of hundreds; everything else is the single create's.
//
// - Each item goes through exactly the single create's path (rest.ts create: validation and
//   defaulting, fieldValidation, namespace checks, generateName, admission, the write hooks that
//   commit quota and the other ledgers with it) and node restriction; dryRun applies to all. One
//   shortcut, with the same outcome: an item equal to the one before it (a template's pods) gets a
//   copy of that one's validated object instead of being validated again (rest.ts itemDecoder).
// - RBAC is decided once, for the request (create on the collection), before the body is read:
//   a user who may not create gets `403` for the whole request, as for a single create.
// - Items are committed concurrently, each in its own guarded transaction, so the store's group
//   committer sends them to etcd together — but never two transactions writing one key in the
//   same etcd request, so two items charging one ResourceQuota are admitted one after the other
//   against its fresh usage, as two concurrent single creates are. Nothing is all-or-nothing:
//   an item refused (422, 409 AlreadyExists, 403 exceeded quota, …) leaves the others created.
// - Limits: the body is held to the server's request size limit (`413`) and at most
//   MAX_CREATE_LIST_ITEMS items (`422`, `items: Too many`). A List sent to a resource with a custom
//   create (pods/binding, placements, reviews) is refused by that handler, as before.
import type { FieldCause } from '../../shared/errors.js';
import { BadRequestError, CellError, errorMessage } from '../../shared/errors.js';
import { cause, invalidObjectError } from '../../shared/api/field-errors.js';
import { MAX_CREATE_LIST_ITEMS } from '../../shared/api/meta.js';
import type { Logger } from '../../shared/logging.js';
import type { KubeObject } from '../registry/object.js';
import { statusOf, type StatusBody } from './status.js';

export interface CreatedList {
  apiVersion: 'v1';
  kind: 'List';
  metadata: Record<string, never>;
  items: (KubeObject | StatusBody)[];
}

/** A collection POST body asking for a multi-object create (no single object is of kind List). */
export function isCreateList(body: unknown): boolean {
  return typeof body === 'object' && body !== null && (body as { kind?: unknown }).kind === 'List';
}

/** The List's items, or the error that refuses the whole request (400, 422). */
export function createListItems(body: unknown): unknown[] {
  const b = body as { apiVersion?: unknown; items?: unknown };
  if (b.apiVersion !== 'v1') {
    throw new BadRequestError(`the API version in the data (${String(b.apiVersion)}) does not match the expected API version (v1) of a List`);
  }
  const causes: FieldCause[] = [];
  if (!Array.isArray(b.items)) causes.push(cause.required('items', 'the objects to create'));
  else if (b.items.length > MAX_CREATE_LIST_ITEMS) causes.push(cause.tooMany('items', b.items.length, MAX_CREATE_LIST_ITEMS));
  if (causes.length > 0) throw invalidObjectError({ kind: 'List' }, causes);
  return b.items as unknown[];
}

/**
 * Runs `createOne` on every item at once and gathers the outcomes in order. An error that is not
 * one of the API's own (a bug) is logged and answered as the generic 500 Status, as sendError does.
 */
export async function createEach(items: readonly unknown[], createOne: (item: unknown) => Promise<KubeObject>, log: Logger): Promise<CreatedList> {
  const settled = await Promise.allSettled(items.map((item) => createOne(item)));
  const out: (KubeObject | StatusBody)[] = settled.map((r) => {
    if (r.status === 'fulfilled') return r.value;
    if (!(r.reason instanceof CellError)) {
      log.error('unexpected error creating an item of a List', { error: errorMessage(r.reason), stack: r.reason instanceof Error ? r.reason.stack : undefined });
    }
    return statusOf(r.reason);
  });
  return { apiVersion: 'v1', kind: 'List', metadata: {}, items: out };
}
