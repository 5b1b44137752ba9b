// The Service strategy, as Kubernetes': defaults on every write; an update that leaves out the
// allocated values (a `kubectl apply` of the original manifest) keeps them; a cluster IP never
// changes once set; the status (a load balancer's ingress) is not the client's to set on create.
import { isDeepStrictEqual } from 'node:util';
import { cause } from '../../shared/api/field-errors.js';
import { defaultService, hasNodePorts, serviceType, typeDependentCauses, type Service } from '../../shared/api/service.js';
import type { FieldCause } from '../../shared/errors.js';
import { InvalidError } from '../../shared/errors.js';
import type { Strategy } from '../registry/strategy.js';

/** Kubernetes' patchAllocatedValues: what the client left out of an update is what was allocated. */
function keepAllocated(next: Service, old: Service): void {
  if (serviceType(next) !== 'ExternalName' && old.spec.clusterIP && !next.spec.clusterIP && !next.spec.clusterIPs?.length) {
    next.spec.clusterIP = old.spec.clusterIP;
    next.spec.clusterIPs = old.spec.clusterIPs;
  }
  if (hasNodePorts(serviceType(next)) && hasNodePorts(serviceType(old))) {
    for (const p of next.spec.ports ?? []) {
      if (p.nodePort) continue;
      const was = (old.spec.ports ?? []).find((o) => o.port === p.port && o.protocol === p.protocol && o.nodePort);
      if (was) p.nodePort = was.nodePort;
    }
  }
}

/**
 * Kubernetes' dropTypeDependentFields: a type change leaves the values the old type needed and
 * the new one does not take; those the client did not change are dropped (released).
 */
function dropTypeDependent(next: Service, old: Service): void {
  const a = next.spec;
  const b = old.spec;
  const to = serviceType(next);
  const from = serviceType(old);
  if (to === 'ExternalName' && from !== 'ExternalName') {
    if (a.clusterIP === b.clusterIP) {
      delete a.clusterIP;
      delete a.clusterIPs;
    }
    if (isDeepStrictEqual(a.ipFamilies, b.ipFamilies)) delete a.ipFamilies;
    if (a.ipFamilyPolicy === b.ipFamilyPolicy) delete a.ipFamilyPolicy;
    if (a.internalTrafficPolicy === b.internalTrafficPolicy) delete a.internalTrafficPolicy;
  }
  if (!hasNodePorts(to) && hasNodePorts(from)) {
    for (const p of a.ports ?? []) {
      if (p.nodePort && (b.ports ?? []).some((o) => o.nodePort === p.nodePort)) delete p.nodePort;
    }
    if (a.externalTrafficPolicy === b.externalTrafficPolicy) delete a.externalTrafficPolicy;
  }
  if (to !== 'LoadBalancer' && from === 'LoadBalancer') {
    if (a.allocateLoadBalancerNodePorts === b.allocateLoadBalancerNodePorts) delete a.allocateLoadBalancerNodePorts;
    if (a.loadBalancerClass === b.loadBalancerClass) delete a.loadBalancerClass;
  }
}

function refuse(svc: Service, causes: FieldCause[]): void {
  if (causes.length === 0) return;
  const text = causes.map((c) => `${c.field}: ${c.message}`).join(', ');
  throw new InvalidError(`Service "${svc.metadata.name ?? ''}" is invalid: ${text}`, { name: svc.metadata.name, kind: 'Service' }, causes);
}

export const serviceStrategy: Strategy = {
  prepareForCreate(obj) {
    obj.status = { loadBalancer: {} };
    refuse(obj as Service, typeDependentCauses(obj as Service));
    defaultService(obj as Service);
  },
  prepareForUpdate(next, old) {
    dropTypeDependent(next as Service, old as Service);
    keepAllocated(next as Service, old as Service);
    defaultService(next as Service);
  },
  validateUpdate(next, old) {
    const a = next as Service;
    const b = old as Service;
    refuse(a, typeDependentCauses(a));
    // The IP (or None) stays until the Service becomes an ExternalName one.
    if (b.spec.clusterIP && serviceType(a) !== 'ExternalName' && a.spec.clusterIP !== b.spec.clusterIP) {
      refuse(b, [cause.invalid('spec.clusterIPs[0]', a.spec.clusterIPs ?? [], 'may not change once set')]);
    }
  },
};
