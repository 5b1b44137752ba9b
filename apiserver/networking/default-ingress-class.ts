// DefaultIngressClass admission, as Kubernetes' plugin of that name: an Ingress created without
// `spec.ingressClassName` gets the class annotated ingressclass.kubernetes.io/is-default-class
// "true" — the newest, should several be — and keeps none when no class is the default.
import type { Ingress, IngressClass } from '../../shared/api/networking.js';
import { DEFAULT_INGRESS_CLASS_ANNOTATION, isDefaultIngressClass } from '../../shared/api/networking.js';
import type { KubeObject } from '../registry/object.js';
import type { ResourceStore } from '../registry/resource-store.js';

/** The default class, if any: of those marked, the newest (then by name). */
export async function defaultIngressClass(classes: ResourceStore): Promise<IngressClass | undefined> {
  const { items } = await classes.cache.select((stored) => stored.includes(DEFAULT_INGRESS_CLASS_ANNOTATION));
  const marked = (items as unknown as IngressClass[]).filter(isDefaultIngressClass);
  marked.sort((a, b) => (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? '') || (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
  return marked[0];
}

/** Gives a new Ingress without a class the default one (RestResource create admission). */
export function defaultIngressClassAdmission(classes: ResourceStore): (obj: KubeObject) => Promise<void> {
  return async (obj) => {
    const ing = obj as unknown as Ingress;
    if (ing.spec.ingressClassName !== undefined) return;
    // The deprecated annotation names a class already.
    if (ing.metadata.annotations?.['kubernetes.io/ingress.class'] !== undefined) return;
    const name = (await defaultIngressClass(classes))?.metadata.name;
    if (name) ing.spec.ingressClassName = name;
  };
}
