// discovery.k8s.io/v1 EndpointSlice: a Service's endpoints in slices of at most 100, each endpoint
// with its readiness conditions — what current Kubernetes clients and proxies read in place of
// Endpoints. The endpointslice controller (cell-controller-manager) keeps a selector Service's
// slices, labelled with its name and owned by it.
import { isIPv4 } from 'node:net';
import { z } from 'zod';
import type { FieldCause } from '../errors.js';
import { ProtocolSchema } from './core.js';
import { cause } from './field-errors.js';
import { ObjectMetaSchema } from './meta.js';
import { portNumberCauses } from './rules.js';

export const DISCOVERY_GROUP = 'discovery.k8s.io';
/** The label naming a slice's Service. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
/** The label naming who keeps a slice: the controller's slices carry this value. */
export const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
export const MANAGED_BY_CONTROLLER = 'endpointslice-controller.k8s.io';
/** Endpoints per slice, as Kubernetes' --max-endpoints-per-slice defaults to. */
export const MAX_ENDPOINTS_PER_SLICE = 100;

export const EndpointConditionsSchema = z.object({
  ready: z.boolean().optional().describe('Ready to take traffic (serving and not terminating).'),
  serving: z.boolean().optional().describe('Ready, whether terminating or not.'),
  terminating: z.boolean().optional(),
});

export const EndpointSchema = z.object({
  addresses: z.array(z.string()).describe('The endpoint\'s addresses (one, in cell: its node\'s IP).'),
  conditions: EndpointConditionsSchema.optional(),
  hostname: z.string().optional(),
  targetRef: z
    .object({ kind: z.string().optional(), namespace: z.string().optional(), name: z.string().optional(), uid: z.string().optional(), resourceVersion: z.string().optional() })
    .optional(),
  nodeName: z.string().optional(),
  zone: z.string().optional(),
});
export type Endpoint = z.infer<typeof EndpointSchema>;

export const EndpointSlicePortSchema = z.object({
  name: z.string().optional(),
  port: z.number().int().optional(),
  protocol: ProtocolSchema.default('TCP'),
  appProtocol: z.string().optional(),
});
export type EndpointSlicePort = z.infer<typeof EndpointSlicePortSchema>;

export const EndpointSliceSchema = z
  .object({
    apiVersion: z.literal('discovery.k8s.io/v1').default('discovery.k8s.io/v1'),
    kind: z.literal('EndpointSlice').default('EndpointSlice'),
    metadata: ObjectMetaSchema.prefault({}),
    addressType: z.enum(['IPv4', 'IPv6', 'FQDN']).describe('What the addresses are; immutable.'),
    endpoints: z.array(EndpointSchema).default([]),
    ports: z.array(EndpointSlicePortSchema).optional(),
  })
  .describe('Some of a Service\'s endpoints (at most 100), with their readiness, and the ports they serve.');
export type EndpointSlice = z.infer<typeof EndpointSliceSchema>;

export function endpointSliceCauses(s: EndpointSlice): FieldCause[] {
  const out: FieldCause[] = [];
  if (s.endpoints.length > 1000) out.push(cause.tooMany('endpoints', s.endpoints.length, 1000));
  s.endpoints.forEach((e, i) => {
    if (e.addresses.length < 1 || e.addresses.length > 100) out.push(cause.invalid(`endpoints[${i}].addresses`, e.addresses.length, 'must have between 1 and 100 addresses'));
    e.addresses.forEach((a, j) => {
      if (s.addressType === 'IPv4' && !isIPv4(a)) out.push(cause.invalid(`endpoints[${i}].addresses[${j}]`, a, 'must be a valid IPv4 address'));
    });
  });
  const names = new Set<string>();
  (s.ports ?? []).forEach((p, i) => {
    const name = p.name ?? '';
    if (names.has(name)) out.push(cause.duplicate(`ports[${i}].name`, name));
    names.add(name);
    if (p.port !== undefined) out.push(...portNumberCauses(`ports[${i}].port`, p.port));
  });
  return out;
}

/** kubectl's ENDPOINTS column of a slice: the first three addresses, and how many more. */
export function sliceEndpointsText(s: EndpointSlice, max = 3): string {
  const all = s.endpoints.flatMap((e) => e.addresses);
  if (all.length === 0) return '<unset>';
  return all.length > max ? `${all.slice(0, max).join(',')} + ${all.length - max} more...` : all.join(',');
}
