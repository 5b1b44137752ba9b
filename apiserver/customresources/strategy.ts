// CustomResourceDefinition rules on top of the generic verbs: its status is the server's (the
// definitions controller writes it), it keeps the cleanup finalizer until its objects are gone,
// its scope never changes, and a version objects were ever stored in stays listed.
import { CUSTOM_RESOURCE_CLEANUP_FINALIZER, type CustomResourceDefinition } from '../../shared/api/apiextensions.js';
import { cause, invalidObjectError } from '../../shared/api/field-errors.js';
import type { FieldCause } from '../../shared/errors.js';
import type { KubeObject } from '../registry/object.js';
import type { Strategy } from '../registry/strategy.js';

const crdOf = (o: KubeObject) => o as unknown as CustomResourceDefinition;

export const customResourceDefinitionStrategy: Strategy = {
  prepareForCreate(obj) {
    obj.status = {};
    const finalizers = obj.metadata.finalizers ?? [];
    if (!finalizers.includes(CUSTOM_RESOURCE_CLEANUP_FINALIZER)) obj.metadata.finalizers = [...finalizers, CUSTOM_RESOURCE_CLEANUP_FINALIZER];
  },
  validateUpdate(next, old) {
    const a = crdOf(next);
    const b = crdOf(old);
    const causes: FieldCause[] = [];
    if (a.spec.scope !== b.spec.scope) causes.push(cause.invalid('spec.scope', a.spec.scope, 'field is immutable'));
    const listed = new Set(a.spec.versions.map((v) => v.name));
    for (const stored of b.status?.storedVersions ?? []) {
      if (!listed.has(stored)) causes.push(cause.invalid('status.storedVersions', stored, 'must appear in spec.versions'));
    }
    if (causes.length > 0) throw invalidObjectError({ kind: 'CustomResourceDefinition', group: 'apiextensions.k8s.io', name: old.metadata.name ?? '' }, causes);
  },
};
