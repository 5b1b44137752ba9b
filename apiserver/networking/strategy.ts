// Ingress and IngressClass rules on top of the generic verbs: an Ingress's status is its
// controller's (a client's is dropped on create), and a class's controller never changes.
import { cause, invalidObjectError } from '../../shared/api/field-errors.js';
import type { IngressClass } from '../../shared/api/networking.js';
import type { KubeObject } from '../registry/object.js';
import type { Strategy } from '../registry/strategy.js';

export const ingressStrategy: Strategy = {
  prepareForCreate(obj) {
    delete obj.status;
  },
};

export const ingressClassStrategy: Strategy = {
  validateUpdate(next: KubeObject, old: KubeObject) {
    const a = (next as unknown as IngressClass).spec.controller;
    const b = (old as unknown as IngressClass).spec.controller;
    if (a !== b) throw invalidObjectError({ kind: 'IngressClass', name: old.metadata.name ?? '' }, [cause.invalid('spec.controller', a ?? '', 'field is immutable')]);
  },
};
