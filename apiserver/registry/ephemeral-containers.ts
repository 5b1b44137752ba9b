// pods/ephemeralcontainers: the one way to add a container to a pod that exists (kubectl debug).
// A write there changes spec.ephemeralContainers and nothing else; the list only grows, and an
// entry never changes, because its node agent may already be running it. Everywhere else the
// list is the server's: a create may not carry one and a main-resource update keeps the stored one,
// as the status subresource and status are split.
import { isDeepStrictEqual } from 'node:util';
import type { EphemeralContainer, Pod } from '../../shared/api/core.js';
import { cause, invalidObjectError } from '../../shared/api/field-errors.js';
import { podCauses } from '../../shared/api/rules.js';
import type { FieldCause } from '../../shared/errors.js';
import type { KubeObject } from './object.js';

interface EphemeralView {
  spec?: { ephemeralContainers?: EphemeralContainer[] };
}

function listOf(obj: KubeObject): EphemeralContainer[] | undefined {
  return (obj as EphemeralView).spec?.ephemeralContainers;
}

function setList(obj: KubeObject, list: EphemeralContainer[] | undefined): void {
  const spec = (obj as EphemeralView).spec;
  if (!spec) return;
  if (list === undefined || list.length === 0) delete spec.ephemeralContainers;
  else spec.ephemeralContainers = list;
}

/** A new pod may not have any: they are added to a running pod, one write at a time. */
export function refuseEphemeralContainersOnCreate(obj: KubeObject): void {
  const list = listOf(obj);
  if (list !== undefined && list.length > 0) {
    throw invalidObjectError({ kind: 'Pod', name: obj.metadata.name }, [cause.forbidden('spec.ephemeralContainers', 'cannot be set on create')]);
  }
  setList(obj, undefined);
}

/** An update of the pod itself leaves them as they are (only the subresource changes them). */
export function keepEphemeralContainers(next: KubeObject, old: KubeObject): void {
  setList(next, listOf(old));
}

/**
 * The next pod for a write to pods/ephemeralcontainers: the stored pod with the list sent. Existing
 * entries must stay, unchanged; the new ones are checked against the stored pod's containers.
 */
export function withEphemeralContainers(incoming: KubeObject, current: KubeObject): KubeObject {
  const next = structuredClone(current);
  const wanted = listOf(incoming) ?? [];
  setList(next, wanted);
  const causes: FieldCause[] = [];
  for (const existing of listOf(current) ?? []) {
    const i = wanted.findIndex((c) => c.name === existing.name);
    if (i < 0) causes.push(cause.forbidden('spec.ephemeralContainers', `existing ephemeral containers "${existing.name}" may not be removed`));
    else if (!isDeepStrictEqual(wanted[i], existing)) causes.push(cause.forbidden(`spec.ephemeralContainers[${i}]`, `existing ephemeral containers "${existing.name}" may not be changed`));
  }
  causes.push(...podCauses(next as unknown as Pod).filter((c) => c.field?.startsWith('spec.ephemeralContainers') === true));
  if (causes.length > 0) throw invalidObjectError({ kind: 'Pod', name: current.metadata.name }, causes);
  return next;
}
