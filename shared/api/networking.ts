// networking.k8s.io/v1 Ingress and IngressClass: HTTP routes from outside the cluster — a host and
// a path — to Services, and which controller carries out the Ingresses of each class. In cell the
// agents are that controller (agent/ingress-proxy.ts) for classes whose `controller` is
// CELL_INGRESS_CONTROLLER: each listens on its --ingress-address and proxies each request to one
// of the chosen Service's ready endpoints.
import { isIP } from 'node:net';
import { z } from 'zod';
import type { FieldCause } from '../errors.js';
import { dns1123LabelErrors, dns1123SubdomainErrors, qualifiedNameErrors } from '../names.js';
import { cause } from './field-errors.js';
import { ObjectMetaSchema } from './meta.js';
import { portNumberCauses, portNumberOrNameCauses } from './rules.js';

export const NETWORKING_GROUP = 'networking.k8s.io';
/** The controller name of the IngressClasses cell's agents serve. */
export const CELL_INGRESS_CONTROLLER = 'cell.dev/ingress-proxy';
/** Kubernetes' annotation marking the class an Ingress without one gets. */
export const DEFAULT_INGRESS_CLASS_ANNOTATION = 'ingressclass.kubernetes.io/is-default-class';

const PATH_TYPES = ['Exact', 'Prefix', 'ImplementationSpecific'] as const;
export type PathType = (typeof PATH_TYPES)[number];

const TypedLocalObjectReferenceSchema = z.object({ apiGroup: z.string().optional(), kind: z.string(), name: z.string() });

export const IngressBackendSchema = z.object({
  service: z
    .object({
      name: z.string().describe('The Service, in the Ingress\'s namespace.'),
      port: z.object({ name: z.string().optional(), number: z.number().int().optional() }).describe('The Service\'s port, by number or by name.'),
    })
    .optional(),
  resource: TypedLocalObjectReferenceSchema.optional().describe('Another kind of backend (cell\'s proxy serves only Services).'),
});
export type IngressBackend = z.infer<typeof IngressBackendSchema>;

export const HTTPIngressPathSchema = z.object({
  path: z.string().optional().describe('Matched against the request path; absolute, for Exact and Prefix.'),
  pathType: z.enum(PATH_TYPES).describe('Exact: the whole path; Prefix: whole /-separated elements; ImplementationSpecific: as Prefix in cell.'),
  backend: IngressBackendSchema,
});
export type HTTPIngressPath = z.infer<typeof HTTPIngressPathSchema>;

export const IngressRuleSchema = z.object({
  host: z.string().optional().describe('The request\'s Host, or *.domain for any one label there; unset: every host.'),
  http: z.object({ paths: z.array(HTTPIngressPathSchema) }).optional(),
});
export type IngressRule = z.infer<typeof IngressRuleSchema>;

export const IngressSpecSchema = z.object({
  ingressClassName: z.string().optional().describe('The IngressClass whose controller serves this Ingress; the default class when unset at creation.'),
  defaultBackend: IngressBackendSchema.optional().describe('Where requests no rule matches go.'),
  tls: z.array(z.object({ hosts: z.array(z.string()).optional(), secretName: z.string().optional() })).optional(),
  rules: z.array(IngressRuleSchema).optional(),
});
export type IngressSpec = z.infer<typeof IngressSpecSchema>;

const LoadBalancerIngressSchema = z.object({
  ip: z.string().optional(),
  hostname: z.string().optional(),
  ports: z.array(z.object({ port: z.number().int(), protocol: z.string().optional(), error: z.string().optional() })).optional(),
});

export const IngressSchema = z
  .object({
    apiVersion: z.literal('networking.k8s.io/v1').default('networking.k8s.io/v1'),
    kind: z.literal('Ingress').default('Ingress'),
    metadata: ObjectMetaSchema.prefault({}),
    spec: IngressSpecSchema.prefault({}),
    status: z.object({ loadBalancer: z.object({ ingress: z.array(LoadBalancerIngressSchema).optional() }).optional() }).optional(),
  })
  .describe('HTTP routes, by host and path, to Services, carried out by the controller of its IngressClass.');
export type Ingress = z.infer<typeof IngressSchema>;

export const IngressClassSchema = z
  .object({
    apiVersion: z.literal('networking.k8s.io/v1').default('networking.k8s.io/v1'),
    kind: z.literal('IngressClass').default('IngressClass'),
    metadata: ObjectMetaSchema.prefault({}),
    spec: z
      .object({
        controller: z.string().optional().describe(`Who carries out this class's Ingresses (a domain-prefixed path; ${CELL_INGRESS_CONTROLLER} is cell's agents). Immutable.`),
        parameters: TypedLocalObjectReferenceSchema.extend({ namespace: z.string().optional(), scope: z.enum(['Cluster', 'Namespace']).optional() }).optional(),
      })
      .prefault({}),
  })
  .describe('A kind of Ingress and the controller that serves it; the one annotated ingressclass.kubernetes.io/is-default-class is given to Ingresses without a class.');
export type IngressClass = z.infer<typeof IngressClassSchema>;

/** A DNS subdomain, `*.` allowed in front (Kubernetes' IsWildcardDNS1123Subdomain), never an IP. */
function hostCauses(field: string, host: string): FieldCause[] {
  if (isIP(host)) return [cause.invalid(field, host, 'must be a DNS name, not an IP address')];
  if (!host.includes('*')) return dns1123SubdomainErrors(host).map((e) => cause.invalid(field, host, e));
  const rest = host.slice(2);
  if (host.startsWith('*.') && !rest.includes('*') && dns1123SubdomainErrors(rest).length === 0) return [];
  return [cause.invalid(field, host, 'a wildcard DNS-1123 subdomain must start with \'*.\', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, \'-\' or \'.\' and end with an alphanumeric character (e.g. \'*.example.com\')')];
}

function backendCauses(field: string, b: IngressBackend): FieldCause[] {
  const out: FieldCause[] = [];
  if (b.service && b.resource) out.push(cause.invalidWithoutValue(field, 'cannot set both service and resource backends'));
  else if (!b.service && !b.resource) out.push(cause.invalidWithoutValue(field, 'one backend (service or resource) must be specified'));
  if (b.service) {
    const s = b.service;
    out.push(...dns1123LabelErrors(s.name).map((e) => cause.invalid(`${field}.service.name`, s.name, e)));
    const { name, number } = s.port;
    if (name !== undefined && number !== undefined) out.push(cause.invalid(`${field}.service.port`, s.port, 'cannot set both port name & port number'));
    else if (name !== undefined) out.push(...portNumberOrNameCauses(`${field}.service.port.name`, name));
    else if (number !== undefined) out.push(...portNumberCauses(`${field}.service.port.number`, number));
    else out.push(cause.required(`${field}.service.port`, 'port name or number is required'));
  }
  if (b.resource) {
    if (!b.resource.kind) out.push(cause.required(`${field}.resource.kind`));
    if (!b.resource.name) out.push(cause.required(`${field}.resource.name`));
  }
  return out;
}

function pathCauses(field: string, p: HTTPIngressPath): FieldCause[] {
  const out: FieldCause[] = [];
  const path = p.path ?? '';
  if ((p.pathType === 'Exact' || p.pathType === 'Prefix') && !path.startsWith('/')) out.push(cause.invalid(`${field}.path`, path, 'must be an absolute path'));
  if (path !== '' && !path.startsWith('/')) out.push(cause.invalid(`${field}.path`, path, 'must be an absolute path'));
  if (p.pathType !== 'ImplementationSpecific' && /\/\/|\/\.\.?(\/|$)|%2f|%2F/.test(path)) out.push(cause.invalid(`${field}.path`, path, 'must not contain \'//\', \'/./\', \'/../\' or an encoded \'/\''));
  out.push(...backendCauses(`${field}.backend`, p.backend));
  return out;
}

export function ingressCauses(ing: Ingress): FieldCause[] {
  const out: FieldCause[] = [];
  const spec = ing.spec;
  if (!spec.defaultBackend && (spec.rules ?? []).length === 0) out.push(cause.invalidWithoutValue('spec', 'either `defaultBackend` or `rules` must be specified'));
  if (spec.ingressClassName !== undefined) out.push(...dns1123SubdomainErrors(spec.ingressClassName).map((e) => cause.invalid('spec.ingressClassName', spec.ingressClassName, e)));
  if (spec.defaultBackend) out.push(...backendCauses('spec.defaultBackend', spec.defaultBackend));
  (spec.rules ?? []).forEach((r, i) => {
    if (r.host !== undefined && r.host !== '') out.push(...hostCauses(`spec.rules[${i}].host`, r.host));
    if (r.http) {
      if (r.http.paths.length === 0) out.push(cause.required(`spec.rules[${i}].http.paths`));
      r.http.paths.forEach((p, j) => out.push(...pathCauses(`spec.rules[${i}].http.paths[${j}]`, p)));
    }
  });
  (spec.tls ?? []).forEach((t, i) => (t.hosts ?? []).forEach((h, j) => out.push(...hostCauses(`spec.tls[${i}].hosts[${j}]`, h))));
  return out;
}

export function ingressClassCauses(c: IngressClass): FieldCause[] {
  const out: FieldCause[] = [];
  const controller = c.spec.controller;
  if (!controller) out.push(cause.required('spec.controller'));
  else {
    if (controller.length > 250) out.push(cause.tooLong('spec.controller', 250));
    // A domain-prefixed path, as Kubernetes' IsDomainPrefixedPath.
    const slash = controller.indexOf('/');
    const domain = slash > 0 ? controller.slice(0, slash) : '';
    if (slash <= 0 || slash === controller.length - 1) out.push(cause.invalid('spec.controller', controller, 'must be a domain-prefixed path (such as "acme.io/foo")'));
    else out.push(...dns1123SubdomainErrors(domain).map((e) => cause.invalid('spec.controller', controller, e)));
  }
  const p = c.spec.parameters;
  if (p) {
    if (!p.kind) out.push(cause.required('spec.parameters.kind'));
    if (!p.name) out.push(cause.required('spec.parameters.name'));
    if (p.apiGroup) out.push(...qualifiedNameErrors(p.apiGroup).map((e) => cause.invalid('spec.parameters.apiGroup', p.apiGroup, e)));
    if (p.scope === 'Namespace' && !p.namespace) out.push(cause.required('spec.parameters.namespace', '`parameters.scope` is set to \'Namespace\''));
    if (p.scope !== 'Namespace' && p.namespace) out.push(cause.forbidden('spec.parameters.namespace', '`parameters.scope` is set to \'Cluster\''));
  }
  return out;
}

/** Is this class the default (its annotation says "true")? */
export function isDefaultIngressClass(c: IngressClass): boolean {
  return c.metadata.annotations?.[DEFAULT_INGRESS_CLASS_ANNOTATION] === 'true';
}

/** The node annotation where an agent says it serves Ingresses (`IP:PORT`); the ingress status loop reads it. */
export const NODE_INGRESS_ADDRESS_ANNOTATION = 'cell.dev/ingress-address';

/**
 * The Ingresses cell's agents serve, of `ingresses`: those of a class whose controller is cell's,
 * and those without a class while one of cell's classes is the default.
 */
export function servedByCell(ingresses: readonly Ingress[], classes: readonly IngressClass[]): Ingress[] {
  const ours = new Set<string>();
  let oursIsDefault = false;
  for (const c of classes) {
    if (c.spec.controller !== CELL_INGRESS_CONTROLLER) continue;
    ours.add(c.metadata.name ?? '');
    if (isDefaultIngressClass(c)) oursIsDefault = true;
  }
  return ingresses.filter((ing) => {
    const cls = ing.spec.ingressClassName ?? ing.metadata.annotations?.['kubernetes.io/ingress.class'];
    return cls === undefined ? oursIsDefault : ours.has(cls);
  });
}

/** kubectl's HOSTS column: every rule's host, `*` for a rule without one. */
export function ingressHostsText(ing: Ingress): string {
  const hosts = (ing.spec.rules ?? []).map((r) => r.host || '*');
  return hosts.length > 0 ? [...new Set(hosts)].join(',') : '*';
}

/** kubectl's ADDRESS column. */
export function ingressAddressText(ing: Ingress): string {
  return (ing.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? i.hostname ?? '').filter(Boolean).join(',');
}

/** kubectl's PORTS column: 80, and 443 with TLS. */
export function ingressPortsText(ing: Ingress): string {
  return (ing.spec.tls ?? []).length > 0 ? '80, 443' : '80';
}
