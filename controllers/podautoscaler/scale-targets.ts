// Where an autoscaler's scaleTargetRef is scaled: the built-in workloads' scale subresource, or a
// custom kind's, found from its CustomResourceDefinition (Established, the kind among its accepted
// names, a served version that declares `subresources.scale`) as Kubernetes finds it through
// discovery.
import { crdCondition, type CustomResourceDefinition } from '../../shared/api/apiextensions.js';
import type { ResourceRef } from '../../shared/client/http-client.js';

/** The built-in kinds with a scale subresource, by kind. */
const WORKLOADS: Record<string, { group: string; resource: string }> = {
  Deployment: { group: 'apps', resource: 'deployments' },
  ReplicaSet: { group: 'apps', resource: 'replicasets' },
  StatefulSet: { group: 'apps', resource: 'statefulsets' },
};

/** The group and version a scaleTargetRef's apiVersion names (an absent one means apps/v1, as autoscaling/v1 clients send). */
function groupVersion(apiVersion: string | undefined): { group: string; version: string } {
  if (apiVersion === undefined || apiVersion === '') return { group: 'apps', version: 'v1' };
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

/**
 * The scale subresource of `ref` in `namespace`, or undefined when no kind that has one matches
 * (a custom kind: the version named when it serves scale, else any served version that does).
 */
export function scaleSubresourceOf(
  ref: { apiVersion?: string; kind: string; name: string },
  namespace: string,
  definitions: readonly CustomResourceDefinition[],
): ResourceRef | undefined {
  const { group, version } = groupVersion(ref.apiVersion);
  const target = { namespace, name: ref.name, subresource: 'scale' };
  const workload = WORKLOADS[ref.kind];
  if (workload) return workload.group === group ? { group, version: 'v1', resource: workload.resource, ...target } : undefined;
  const crd = definitions.find((d) => d.spec.group === group && d.status?.acceptedNames?.kind === ref.kind && crdCondition(d, 'Established')?.status === 'True');
  if (!crd || crd.spec.scope !== 'Namespaced') return undefined;
  const scalable = crd.spec.versions.filter((v) => v.served && v.subresources?.scale !== undefined);
  const v = scalable.find((x) => x.name === version) ?? scalable[0];
  return v ? { group, version: v.name, resource: crd.spec.names.plural, ...target } : undefined;
}
