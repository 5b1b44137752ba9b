// CustomResourceDefinition rules on top of the generic verbs: its status is the server's (the
// definitions controller writes it), it keeps the cleanup finalizer until its objects are gone,
// its scope never changes, a version objects were ever stored in stays listed, and its
// validation rules compile.
import { CUSTOM_RESOURCE_CLEANUP_FINALIZER, type CustomResourceDefinition } from '../../shared/api/apiextensions.js';
import { cause, invalidObjectError } from '../../shared/api/field-errors.js';
import type { FieldCause } from '../../shared/errors.js';
import type { KubeObject } from '../registry/object.js';
import type { Strategy } from '../registry/strategy.js';
import { validationRuleCauses, validationRuleWarnings } from './validation-rules.js';

const crdOf = (o: KubeObject) => o as unknown as CustomResourceDefinition;

/** Why the versions' validation rules do not compile (checked here, not with the schema, so only the API server loads CEL). */
function ruleCauses(crd: CustomResourceDefinition): FieldCause[] {
  return crd.spec.versions.flatMap((v, i) => {
    const root = v.schema?.openAPIV3Schema;
    return root ? validationRuleCauses(root, `spec.versions[${i}].schema.openAPIV3Schema`) : [];
  });
}

export const customResourceDefinitionStrategy: Strategy = {
  warnings(obj) {
    return crdOf(obj).spec.versions.flatMap((v, i) => {
      const root = v.schema?.openAPIV3Schema;
      return root ? validationRuleWarnings(root, `spec.versions[${i}].schema.openAPIV3Schema`) : [];
    });
  },
  prepareForCreate(obj) {
    obj.status = {};
    const finalizers = obj.metadata.finalizers ?? [];
    if (!finalizers.includes(CUSTOM_RESOURCE_CLEANUP_FINALIZER)) obj.metadata.finalizers = [...finalizers, CUSTOM_RESOURCE_CLEANUP_FINALIZER];
  },
  validateCreate(obj) {
    const causes = ruleCauses(crdOf(obj));
    if (causes.length > 0) throw invalidObjectError({ kind: 'CustomResourceDefinition', group: 'apiextensions.k8s.io', name: obj.metadata.name ?? '' }, causes);
  },
  validateUpdate(next, old) {
    const a = crdOf(next);
    const b = crdOf(old);
    const causes: FieldCause[] = ruleCauses(a);
    if (a.spec.scope !== b.spec.scope) causes.push(cause.invalid('spec.scope', a.spec.scope, 'field is immutable'));
    const listed = new Set(a.spec.versions.map((v) => v.name));
    for (const stored of b.status?.storedVersions ?? []) {
      if (!listed.has(stored)) causes.push(cause.invalid('status.storedVersions', stored, 'must appear in spec.versions'));
    }
    if (causes.length > 0) throw invalidObjectError({ kind: 'CustomResourceDefinition', group: 'apiextensions.k8s.io', name: old.metadata.name ?? '' }, causes);
  },
};
