// Controller references, as Kubernetes' ControllerRefManager uses them: an owner adopts the
// orphans its selector matches and releases the objects it owns that no longer match, so every
// object has at most one controller and a controller acts only on what it owns. Adoption and
// release are patches guarded by the object's resourceVersion, so a racing owner loses cleanly.
import type { OwnerReference } from '../../shared/api/meta.js';
import type { ApiClient, ResourceRef } from '../../shared/client/http-client.js';
import { NotFoundError } from '../../shared/errors.js';
import type { LabelSelector } from '../../shared/labels.js';

export interface OwnedObject {
  metadata: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    deletionTimestamp?: string;
    ownerReferences?: OwnerReference[];
  };
}

export interface Owner {
  apiVersion: string;
  kind: string;
  metadata: { name?: string; uid?: string; deletionTimestamp?: string };
}

export function controllerRefOf(obj: OwnedObject): OwnerReference | undefined {
  return obj.metadata.ownerReferences?.find((r) => r.controller === true);
}

/** The reference an owner puts on what it controls; blockOwnerDeletion for foreground deletion. */
export function controllerRefTo(owner: Owner): OwnerReference {
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata.name ?? '',
    uid: owner.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

export interface ClaimOptions<T extends OwnedObject> {
  client: ApiClient;
  owner: Owner;
  selector: LabelSelector;
  /** Where the candidates live (their `resource`, `group`, `version`). */
  ref: Omit<ResourceRef, 'name' | 'namespace'>;
  candidates: readonly T[];
  /**
   * Confirms, against the API rather than a cache, that the owner still exists with the same uid
   * and is not being deleted before anything is adopted (Kubernetes' RecheckDeletionTimestamp).
   */
  recheck(): Promise<boolean>;
}

/**
 * The candidates the owner controls after adopting matching orphans and releasing owned objects
 * that stopped matching. Objects that vanished meanwhile are left out; a conflict throws, so the
 * caller's sync retries on fresh state.
 */
export async function claim<T extends OwnedObject>(o: ClaimOptions<T>): Promise<T[]> {
  const uid = o.owner.metadata.uid;
  const owned: T[] = [];
  let recheckResult: boolean | undefined;
  const mayAdopt = async () => (recheckResult ??= await o.recheck());
  for (const obj of o.candidates) {
    const ref = controllerRefOf(obj);
    const matches = o.selector.matches(obj.metadata.labels);
    if (ref !== undefined) {
      if (ref.uid !== uid) continue;
      if (matches) {
        owned.push(obj);
        continue;
      }
      // Ours but no longer selected: let go, unless the owner is going away (the GC handles those).
      if (o.owner.metadata.deletionTimestamp !== undefined) continue;
      await patchOwners(o, obj, (obj.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid));
      continue;
    }
    if (!matches || obj.metadata.deletionTimestamp !== undefined || o.owner.metadata.deletionTimestamp !== undefined) continue;
    if (!(await mayAdopt())) continue;
    const adopted = await patchOwners(o, obj, [...(obj.metadata.ownerReferences ?? []), controllerRefTo(o.owner)]);
    if (adopted) owned.push(adopted);
  }
  return owned;
}

async function patchOwners<T extends OwnedObject>(o: ClaimOptions<T>, obj: T, ownerReferences: OwnerReference[]): Promise<T | undefined> {
  try {
    return await o.client.patch<T>(
      { ...o.ref, namespace: obj.metadata.namespace, name: obj.metadata.name ?? '' },
      // The resourceVersion makes it a compare-and-swap: someone else's adoption in between is a 409.
      { metadata: { ownerReferences, resourceVersion: obj.metadata.resourceVersion } },
      'merge',
    );
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}
