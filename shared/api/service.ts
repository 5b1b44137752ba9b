// v1 Service and Endpoints: a stable name and virtual IP for a set of pods chosen by labels, and
// the addresses of those pods. The API server gives each Service a unique cluster IP (and node
// ports for NodePort and LoadBalancer Services, apiserver/services/); the endpoints controller
// (cell-controller-manager) keeps each selector Service's Endpoints to its pods' addresses. Pods
// share their node's network in cell, so an endpoint is a node's IP and the port the container
// listens on there: reachable as it is. Agents relay node ports, and cluster IPs that are their
// host's addresses (a loopback range), to the endpoints (agent/service-proxy.ts).
import { isIPv4 } from 'node:net';
import { z } from 'zod';
import type { FieldCause } from '../errors.js';
import { dns1123LabelErrors, dns1123SubdomainErrors } from '../names.js';
import { ProtocolSchema, type Protocol } from './core.js';
import { cause } from './field-errors.js';
import { LabelsSchema, ObjectMetaSchema } from './meta.js';
import { IntOrStringSchema } from './policy.js';
import { labelsCauses, portNumberCauses, portNumberOrNameCauses } from './rules.js';

export const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'] as const;
export const ServiceTypeSchema = z.enum(SERVICE_TYPES);
export type ServiceType = z.infer<typeof ServiceTypeSchema>;
/** A headless Service's clusterIP: no virtual IP, DNS-style discovery of the pods themselves. */
export const HEADLESS_CLUSTER_IP = 'None';
const TRAFFIC_POLICIES = ['Cluster', 'Local'] as const;

export const ServicePortSchema = z.object({
  name: z.string().optional().describe('The port\'s name within the Service (a DNS label); required when the Service has several ports.'),
  protocol: ProtocolSchema.default('TCP'),
  appProtocol: z.string().optional().describe('The application protocol, for clients that care (http, kubernetes.io/h2c, ...).'),
  port: z.number().int().describe('The port the Service exposes.'),
  targetPort: IntOrStringSchema.optional().describe('The pods\' port: a number, or the name of a container port. Defaults to port.'),
  nodePort: z.number().int().optional().describe('The port on every node (NodePort and LoadBalancer Services); allocated from the node port range when unset.'),
});
export type ServicePort = z.infer<typeof ServicePortSchema>;

export const ServiceSpecSchema = z.object({
  type: ServiceTypeSchema.optional().describe('ClusterIP (default), NodePort, LoadBalancer (as NodePort: cell has no load balancer provider) or ExternalName.'),
  selector: LabelsSchema.optional().describe('The pods the Service stands for; without one, its Endpoints are written by hand.'),
  ports: z.array(ServicePortSchema).optional(),
  clusterIP: z.string().optional().describe('The virtual IP: allocated from the service range when unset, "None" for a headless Service. Immutable.'),
  clusterIPs: z.array(z.string()).optional().describe('clusterIP, as a list (one IPv4 address in cell).'),
  ipFamilies: z.array(z.enum(['IPv4', 'IPv6'])).optional(),
  ipFamilyPolicy: z.enum(['SingleStack', 'PreferDualStack', 'RequireDualStack']).optional(),
  externalName: z.string().optional().describe('The DNS name an ExternalName Service aliases.'),
  externalIPs: z.array(z.string()).optional(),
  sessionAffinity: z.enum(['None', 'ClientIP']).optional(),
  sessionAffinityConfig: z.object({ clientIP: z.object({ timeoutSeconds: z.number().int().optional() }).optional() }).optional(),
  externalTrafficPolicy: z.enum(TRAFFIC_POLICIES).optional(),
  internalTrafficPolicy: z.enum(TRAFFIC_POLICIES).optional(),
  publishNotReadyAddresses: z.boolean().optional().describe('List pods in the Endpoints\' addresses before they are ready.'),
  allocateLoadBalancerNodePorts: z.boolean().optional(),
  loadBalancerIP: z.string().optional(),
  loadBalancerSourceRanges: z.array(z.string()).optional(),
  loadBalancerClass: z.string().optional(),
  healthCheckNodePort: z.number().int().optional(),
});
export type ServiceSpec = z.infer<typeof ServiceSpecSchema>;

const LoadBalancerIngressSchema = z.object({ ip: z.string().optional(), hostname: z.string().optional() });

export const ServiceSchema = z
  .object({
    apiVersion: z.literal('v1').default('v1'),
    kind: z.literal('Service').default('Service'),
    metadata: ObjectMetaSchema.prefault({}),
    spec: ServiceSpecSchema.prefault({}),
    status: z.object({ loadBalancer: z.object({ ingress: z.array(LoadBalancerIngressSchema).optional() }).optional() }).optional(),
  })
  .describe('A stable virtual IP and name for the pods a label selector picks, with their addresses kept in the Endpoints of the same name.');
export type Service = z.infer<typeof ServiceSchema>;

export const EndpointAddressSchema = z.object({
  ip: z.string(),
  hostname: z.string().optional(),
  nodeName: z.string().optional(),
  targetRef: z
    .object({ kind: z.string().optional(), namespace: z.string().optional(), name: z.string().optional(), uid: z.string().optional(), resourceVersion: z.string().optional() })
    .optional(),
});
export type EndpointAddress = z.infer<typeof EndpointAddressSchema>;

export const EndpointPortSchema = z.object({
  name: z.string().optional(),
  port: z.number().int(),
  protocol: ProtocolSchema.default('TCP'),
  appProtocol: z.string().optional(),
});
export type EndpointPort = z.infer<typeof EndpointPortSchema>;

export const EndpointSubsetSchema = z.object({
  addresses: z.array(EndpointAddressSchema).optional(),
  notReadyAddresses: z.array(EndpointAddressSchema).optional(),
  ports: z.array(EndpointPortSchema).optional(),
});
export type EndpointSubset = z.infer<typeof EndpointSubsetSchema>;

export const EndpointsSchema = z
  .object({
    apiVersion: z.literal('v1').default('v1'),
    kind: z.literal('Endpoints').default('Endpoints'),
    metadata: ObjectMetaSchema.prefault({}),
    subsets: z.array(EndpointSubsetSchema).optional(),
  })
  .describe('The addresses behind the Service of the same name: each subset, ready and not-ready addresses that serve the same ports.');
export type Endpoints = z.infer<typeof EndpointsSchema>;

/** The Service's type, defaulted. */
export function serviceType(svc: Service): ServiceType {
  return svc.spec.type ?? 'ClusterIP';
}

/** Does this type get node ports? */
export function hasNodePorts(type: ServiceType): boolean {
  return type === 'NodePort' || type === 'LoadBalancer';
}

/** Does the Service get a virtual IP (it is not ExternalName and not headless)? */
export function needsClusterIP(svc: Service): boolean {
  return serviceType(svc) !== 'ExternalName' && svc.spec.clusterIP !== HEADLESS_CLUSTER_IP;
}

/** A port's targetPort, defaulted to its port. */
export function targetPortOf(port: ServicePort): number | string {
  return port.targetPort ?? port.port;
}

/**
 * Kubernetes' defaulting: type, session affinity and traffic policies, each port's targetPort,
 * the IP family (IPv4 only in cell); clusterIPs mirrors clusterIP.
 */
export function defaultService(svc: Service): void {
  const spec = svc.spec;
  const type = serviceType(svc);
  spec.type = type;
  spec.sessionAffinity ??= 'None';
  // An empty selector is no selector (Kubernetes never stores one): its Endpoints are kept by hand.
  if (spec.selector && Object.keys(spec.selector).length === 0) delete spec.selector;
  if (type === 'ExternalName') return;
  spec.internalTrafficPolicy ??= 'Cluster';
  if (hasNodePorts(type)) spec.externalTrafficPolicy ??= 'Cluster';
  if (type === 'LoadBalancer') spec.allocateLoadBalancerNodePorts ??= true;
  for (const p of spec.ports ?? []) p.targetPort ??= p.port;
  if (!spec.clusterIP && spec.clusterIPs?.[0]) spec.clusterIP = spec.clusterIPs[0];
  if (spec.clusterIP) spec.clusterIPs = [spec.clusterIP];
  spec.ipFamilies ??= ['IPv4'];
  spec.ipFamilyPolicy ??= 'SingleStack';
}

function portCauses(spec: ServiceSpec, type: ServiceType): FieldCause[] {
  const out: FieldCause[] = [];
  const ports = spec.ports ?? [];
  const names = new Set<string>();
  const seen = new Set<string>();
  const nodePorts = new Map<string, number>();
  ports.forEach((p, i) => {
    const f = `spec.ports[${i}]`;
    if (ports.length > 1 && !p.name) out.push(cause.required(`${f}.name`));
    if (p.name) {
      for (const m of dns1123LabelErrors(p.name)) out.push(cause.invalid(`${f}.name`, p.name, m));
      if (names.has(p.name)) out.push(cause.duplicate(`${f}.name`, p.name));
      names.add(p.name);
    }
    out.push(...portNumberCauses(`${f}.port`, p.port));
    const key = `${p.port}/${p.protocol}`;
    if (seen.has(key)) out.push(cause.duplicate(`${f}`, { port: p.port, protocol: p.protocol }));
    seen.add(key);
    if (p.targetPort !== undefined && p.targetPort !== 0) out.push(...portNumberOrNameCauses(`${f}.targetPort`, p.targetPort));
    // A node port on a type without them is refused after an update had the chance to drop it (typeDependentCauses).
    if (p.nodePort !== undefined && p.nodePort !== 0 && hasNodePorts(type)) {
      out.push(...portNumberCauses(`${f}.nodePort`, p.nodePort));
      const nodeKey = `${p.nodePort}/${p.protocol}`;
      if (nodePorts.has(nodeKey)) out.push(cause.duplicate(`${f}.nodePort`, p.nodePort));
      nodePorts.set(nodeKey, i);
    }
  });
  return out;
}

function clusterIPCauses(spec: ServiceSpec, type: ServiceType): FieldCause[] {
  const out: FieldCause[] = [];
  const ip = spec.clusterIP;
  if (type === 'ExternalName') return out;
  if (ip && ip !== HEADLESS_CLUSTER_IP && !isIPv4(ip)) out.push(cause.invalid('spec.clusterIPs[0]', ip, 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'));
  if (ip === HEADLESS_CLUSTER_IP && hasNodePorts(type)) out.push(cause.invalid('spec.clusterIPs[0]', ip, `may not be set to 'None' for ${type} services`));
  const ips = spec.clusterIPs ?? [];
  if (ips.length > 1) out.push(cause.invalid('spec.clusterIPs', ips, 'cell allocates one IPv4 address per Service (no dual stack)'));
  if (ips.length > 0 && ip && ips[0] !== ip) out.push(cause.invalid('spec.clusterIPs', ips, 'element [0] must match clusterIP'));
  if (spec.ipFamilyPolicy === 'RequireDualStack') out.push(cause.invalid('spec.ipFamilyPolicy', spec.ipFamilyPolicy, 'cell allocates IPv4 addresses only'));
  if (spec.ipFamilies?.includes('IPv6')) out.push(cause.invalid('spec.ipFamilies', spec.ipFamilies, 'cell allocates IPv4 addresses only'));
  return out;
}

export function serviceCauses(svc: Service): FieldCause[] {
  const spec = svc.spec;
  const type = serviceType(svc);
  const out: FieldCause[] = [...labelsCauses(spec.selector, 'spec.selector'), ...clusterIPCauses(spec, type), ...portCauses(spec, type)];
  if (type === 'ExternalName') {
    if (!spec.externalName) out.push(cause.required('spec.externalName'));
    else for (const m of dns1123SubdomainErrors(spec.externalName)) out.push(cause.invalid('spec.externalName', spec.externalName, m));
  } else if ((spec.ports ?? []).length === 0 && spec.clusterIP !== HEADLESS_CLUSTER_IP) {
    out.push(cause.required('spec.ports'));
  }
  (spec.externalIPs ?? []).forEach((ip, i) => {
    if (!isIPv4(ip)) out.push(cause.invalid(`spec.externalIPs[${i}]`, ip, 'must be a valid IP address'));
  });
  return out;
}

export function endpointsCauses(ep: Endpoints): FieldCause[] {
  const out: FieldCause[] = [];
  (ep.subsets ?? []).forEach((s, i) => {
    const f = `subsets[${i}]`;
    for (const list of ['addresses', 'notReadyAddresses'] as const) {
      (s[list] ?? []).forEach((a, j) => {
        if (!isIPv4(a.ip)) out.push(cause.invalid(`${f}.${list}[${j}].ip`, a.ip, 'must be a valid IP address'));
      });
    }
    const ports = s.ports ?? [];
    ports.forEach((p, j) => {
      if (ports.length > 1 && !p.name) out.push(cause.required(`${f}.ports[${j}].name`));
      out.push(...portNumberCauses(`${f}.ports[${j}].port`, p.port));
    });
  });
  return out;
}

/**
 * Values the Service's type does not take: node ports and an external traffic policy but for
 * NodePort and LoadBalancer, a cluster IP on ExternalName. Checked after an update has dropped those the type change left behind.
 */
export function typeDependentCauses(svc: Service): FieldCause[] {
  const type = serviceType(svc);
  const out: FieldCause[] = [];
  if (type === 'ExternalName' && svc.spec.clusterIP) out.push(cause.forbidden('spec.clusterIP', 'may not be set for ExternalName services'));
  if (svc.spec.externalTrafficPolicy !== undefined && !hasNodePorts(type)) {
    out.push(cause.invalid('spec.externalTrafficPolicy', svc.spec.externalTrafficPolicy, 'may only be set for NodePort and LoadBalancer services'));
  }
  if (!hasNodePorts(type)) {
    (svc.spec.ports ?? []).forEach((p, i) => {
      if (p.nodePort) out.push(cause.forbidden(`spec.ports[${i}].nodePort`, `may not be used when \`type\` is '${type}'`));
    });
  }
  return out;
}

/** `80/TCP`, `80:30080/TCP` with a node port: kubectl's PORT(S) column and describe. */
export function servicePortText(p: { port: number; protocol?: Protocol; nodePort?: number }): string {
  return `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`;
}

/** kubectl's EXTERNAL-IP column: an ExternalName's name, a load balancer's ingress (or `<pending>`), external IPs. */
export function externalIPText(svc: Service): string {
  const type = serviceType(svc);
  if (type === 'ExternalName') return svc.spec.externalName ?? '<none>';
  const ingress = (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? i.hostname ?? '').filter((v) => v !== '');
  const ips = [...(svc.spec.externalIPs ?? []), ...ingress];
  if (ips.length > 0) return ips.join(',');
  return type === 'LoadBalancer' ? '<pending>' : '<none>';
}

/**
 * kubectl's ENDPOINTS column: the first three ready address:port pairs, and how many more; with
 * `portName`, only that port's (describe's Endpoints line of one Service port).
 */
export function endpointsText(ep: Endpoints | undefined, portName?: string, max = 3): string {
  const all: string[] = [];
  for (const s of ep?.subsets ?? []) {
    const ports = (s.ports ?? []).filter((p) => portName === undefined || (p.name ?? '') === portName);
    if (portName !== undefined && ports.length === 0) continue;
    for (const a of s.addresses ?? []) {
      if (ports.length > 0) for (const p of ports) all.push(`${a.ip}:${p.port}`);
      else all.push(a.ip);
    }
  }
  if (all.length === 0) return '<none>';
  const shown = all.slice(0, max).join(',');
  return all.length > max ? `${shown} + ${all.length - max} more...` : shown;
}
