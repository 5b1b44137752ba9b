// A DaemonSet's or a StatefulSet's templates over time, kept as ControllerRevisions as Kubernetes
// keeps them: each records a strategic merge patch that puts one template back (`kubectl rollout
// undo` applies it), is named `<owner>-<hash of that patch>`, and numbered; the template in force
// is the highest-numbered revision, so a rollback renumbers the old revision rather than copying
// it. Revisions beyond revisionHistoryLimit that no pod still runs are deleted, oldest first.
import { CONTROLLER_REVISION_HASH_LABEL, revisionDataFor, type ControllerRevision } from '../shared/api/apps.js';
import type { PodTemplateSpec } from '../shared/api/core.js';
import type { ObjectMeta } from '../shared/api/meta.js';
import type { ApiClient } from '../shared/client/http-client.js';
import { AlreadyExistsError, ConflictError, NotFoundError } from '../shared/errors.js';
import { canonicalJson, safeHash } from './deployment/template-hash.js';
import { controllerRefTo } from './replicaset/controller-ref.js';

export const CONTROLLER_REVISIONS = { group: 'apps', version: 'v1', resource: 'controllerrevisions' } as const;

const MAX_NAME = 253;

/** What keeps its templates as revisions: a DaemonSet or a StatefulSet. */
export interface RevisionOwner {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec: { template: PodTemplateSpec; revisionHistoryLimit: number };
  status: { collisionCount?: number | undefined };
}


/** The hash a revision's pods are labelled with. */
export function hashOf(rev: ControllerRevision): string {
  return rev.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL] ?? '';
}

/**
 * Two owners' revisions hashed alike, or a revision of another template under our name: the
 * owner's status.collisionCount must go up (it is part of the hash) before a revision can be made.
 */
export class RevisionCollisionError extends ConflictError {}

export interface CurrentRevision {
  revision: ControllerRevision;
  hash: string;
}

/**
 * The revision of the owner's template among `owned` (the revisions it controls), made when there is
 * none and renumbered above the others when an older one comes back; duplicates are deleted.
 */
export async function currentRevision(client: ApiClient, ds: RevisionOwner, owned: readonly ControllerRevision[]): Promise<CurrentRevision> {
  const data = revisionDataFor(ds.spec.template);
  const text = canonicalJson(data);
  const max = owned.reduce((m, r) => Math.max(m, r.revision), 0);
  const same = owned.filter((r) => canonicalJson(r.data ?? {}) === text).sort((a, b) => b.revision - a.revision);
  const ns = ds.metadata.namespace;
  let current = same[0];
  if (current) {
    for (const dup of same.slice(1)) await deleteRevision(client, dup);
    if (current.revision < max) {
      current = await client.update<ControllerRevision>({ ...CONTROLLER_REVISIONS, namespace: ns, name: current.metadata.name ?? '' }, { ...current, revision: max + 1 });
    }
    return { revision: current, hash: hashOf(current) };
  }
  const hash = safeHash(data, ds.status.collisionCount);
  const prefix = (ds.metadata.name ?? '').slice(0, MAX_NAME - 1 - hash.length);
  const name = `${prefix}-${hash}`;
  const body: ControllerRevision = {
    apiVersion: 'apps/v1',
    kind: 'ControllerRevision',
    metadata: {
      name,
      namespace: ns,
      labels: { ...ds.spec.template.metadata.labels, [CONTROLLER_REVISION_HASH_LABEL]: hash },
      // As Kubernetes does for a DaemonSet: its annotations (kubernetes.io/change-cause for `rollout history`).
      ...(ds.metadata.annotations ? { annotations: { ...ds.metadata.annotations } } : {}),
      ownerReferences: [controllerRefTo(ds)],
    },
    data,
    revision: max + 1,
  };
  try {
    return { revision: await client.create<ControllerRevision>({ ...CONTROLLER_REVISIONS, namespace: ns }, body), hash };
  } catch (err) {
    if (!(err instanceof AlreadyExistsError)) throw err;
    // Ours already (made by a sync whose answer was lost, not yet in the cache), or a collision.
    const existing = await client.get<ControllerRevision>({ ...CONTROLLER_REVISIONS, namespace: ns, name });
    const ours = existing.metadata.ownerReferences?.some((r) => r.controller === true && r.uid === ds.metadata.uid) === true;
    if (ours && canonicalJson(existing.data ?? {}) === text) return { revision: existing, hash: hashOf(existing) };
    throw new RevisionCollisionError(`controllerrevision "${name}" already exists with other data: hash collision`);
  }
}

/**
 * Deletes the oldest revisions that are neither current nor run by a live pod (`liveHashes`), so
 * that at most revisionHistoryLimit of them remain.
 */
export async function pruneHistory(client: ApiClient, ds: RevisionOwner, owned: readonly ControllerRevision[], current: ControllerRevision, liveHashes: ReadonlySet<string>): Promise<number> {
  const old = owned
    .filter((r) => r.metadata.uid !== current.metadata.uid && !liveHashes.has(hashOf(r)))
    .sort((a, b) => a.revision - b.revision);
  const excess = old.length - Math.max(0, ds.spec.revisionHistoryLimit);
  for (const r of old.slice(0, Math.max(0, excess))) await deleteRevision(client, r);
  return Math.max(0, excess);
}

async function deleteRevision(client: ApiClient, r: ControllerRevision): Promise<void> {
  try {
    await client.delete({ ...CONTROLLER_REVISIONS, namespace: r.metadata.namespace, name: r.metadata.name ?? '' }, { preconditions: { uid: r.metadata.uid ?? '' } });
  } catch (err) {
    // Gone already, or replaced by a namesake the uid precondition protects.
    if (!(err instanceof NotFoundError) && !(err instanceof ConflictError)) throw err;
  }
}
