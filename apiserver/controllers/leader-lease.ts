// Leader election for the controllers the API server hosts: the LeaseBackend of the shared
// LeaderElector, over the API server's own store layer (no HTTP round trip to itself). The lease
// is an ordinary coordination.k8s.io Lease, so `kubectl get lease -n kube-system` shows the leader.
import type { LeaseBackend, LeaseState } from '../../shared/leader-election.js';
import type { RestResource } from '../registry/rest.js';

export function storeLeaseBackend(leases: RestResource, namespace: string, name: string): LeaseBackend {
  return {
    async get() {
      const obj = await leases.objects.tryGet(namespace, name);
      if (!obj) return undefined;
      return { spec: (obj.spec ?? {}) as LeaseState, resourceVersion: obj.metadata.resourceVersion ?? '' };
    },
    async create(spec) {
      // Through the REST layer: validated, with uid and creationTimestamp like any created object.
      await leases.create(namespace, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace }, spec });
    },
    async update(spec, resourceVersion) {
      await leases.objects.update(namespace, name, (cur) => ({ ...cur, spec: { ...spec } }), resourceVersion);
    },
  };
}
