// Semantic validation per kind: the rules kube-apiserver applies after decoding (names, labels,
// quantities, ports, selectors, tolerations, ...), each failure one field cause. The schemas have
// already checked types and enums; these run on the parsed, defaulted object.
import type { FieldCause } from '../errors.js';
import { dns1123LabelErrors, dns1123SubdomainErrors, labelValueErrors, pathSegmentNameErrors, qualifiedNameErrors } from '../names.js';
import { Quantity } from '../quantity.js';
import type { Lease } from './coordination.js';
import type {
  Binding,
  Container,
  EnvFromSource,
  EnvVarSource,
  Event,
  KeySelector,
  Namespace,
  Node,
  NodeSelectorRequirement,
  NodeSelectorTerm,
  Pod,
  PodAffinityTerm,
  PodTemplateSpec,
  PortNumberOrName,
  LifecycleHandler,
  Probe,
  Toleration,
} from './core.js';
import { ALLOCATION_RESOURCE_VERSION_ANNOTATION } from './core.js';
import { configKeyErrors } from './config.js';
import { cause, childPath } from './field-errors.js';
import type { LabelSelector, ObjectMeta } from './meta.js';
import type { NodeAllocation, Placement, PodGroup } from './scheduling.js';

type Causes = FieldCause[];

/** How a kind's names are checked. */
export interface NameRules {
  /** DNS-1123 subdomain (most kinds), DNS-1123 label (namespaces) or a URL path segment (RBAC kinds). */
  readonly nameFormat: 'subdomain' | 'label' | 'path';
  /** False for kinds that are never stored and need no name (Placement). */
  readonly nameRequired: boolean;
  readonly namespaced: boolean;
}

/** Kubernetes' limit on the summed size of an object's annotation keys and values. */
export const TOTAL_ANNOTATION_SIZE_LIMIT_BYTES = 256 * 1024;

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

function nameErrors(format: NameRules['nameFormat'], value: string): string[] {
  if (format === 'path') return pathSegmentNameErrors(value);
  return format === 'label' ? dns1123LabelErrors(value) : dns1123SubdomainErrors(value);
}

/** One Invalid cause per message of a names.ts check. */
function each(field: string, value: string, messages: string[]): Causes {
  return messages.map((m) => cause.invalid(field, value, m));
}

function subdomain(field: string, value: string | undefined): Causes {
  return value ? each(field, value, dns1123SubdomainErrors(value)) : [];
}

/** Kubernetes' ValidateNonnegativeField. */
export function nonNegative(field: string, value: number | undefined): Causes {
  return value !== undefined && value < 0 ? [cause.invalid(field, value, 'must be greater than or equal to 0')] : [];
}

export function portNumberCauses(field: string, value: number): Causes {
  return value < 1 || value > 65535 ? [cause.invalid(field, value, 'must be between 1 and 65535, inclusive')] : [];
}

// ---------------------------------------------------------------------------------------------
// Metadata, labels, selectors

/** Label keys (qualified names) and values; Kubernetes reports them on the map's own path. */
export function labelsCauses(labels: Record<string, string> | undefined, field: string): Causes {
  const out: Causes = [];
  for (const [key, value] of Object.entries(labels ?? {})) {
    out.push(...each(field, key, qualifiedNameErrors(key)));
    out.push(...each(field, value, labelValueErrors(value)));
  }
  return out;
}

function annotationsCauses(annotations: Record<string, string> | undefined, field: string): Causes {
  const out: Causes = [];
  let size = 0;
  for (const [key, value] of Object.entries(annotations ?? {})) {
    // Kubernetes checks annotation keys case-insensitively (upper case is allowed).
    out.push(...each(field, key, qualifiedNameErrors(key.toLowerCase())));
    size += Buffer.byteLength(key) + Buffer.byteLength(value);
  }
  if (size > TOTAL_ANNOTATION_SIZE_LIMIT_BYTES) out.push(cause.tooLong(field, TOTAL_ANNOTATION_SIZE_LIMIT_BYTES));
  return out;
}

/** A trailing '-' is how generateName prefixes usually end; Kubernetes checks the rest. */
function maskTrailingDash(prefix: string): string {
  return prefix.endsWith('-') ? `${prefix.slice(0, -1)}a` : prefix;
}

/**
 * ObjectMeta rules that apply to every kind. The namespace of a namespaced object may still be
 * unset here: the API server fills it from the request path afterwards.
 */
export function objectMetaCauses(meta: ObjectMeta, rules: NameRules): Causes {
  const out: Causes = [];
  if (meta.name) {
    out.push(...each('metadata.name', meta.name, nameErrors(rules.nameFormat, meta.name)));
  } else if (!meta.generateName && rules.nameRequired) {
    out.push(cause.required('metadata.name', 'name or generateName is required'));
  }
  if (meta.generateName) {
    out.push(...each('metadata.generateName', meta.generateName, nameErrors(rules.nameFormat, maskTrailingDash(meta.generateName))));
  }
  if (rules.namespaced && meta.namespace) {
    out.push(...each('metadata.namespace', meta.namespace, dns1123LabelErrors(meta.namespace)));
  }
  out.push(...labelsCauses(meta.labels, 'metadata.labels'));
  out.push(...annotationsCauses(meta.annotations, 'metadata.annotations'));
  (meta.finalizers ?? []).forEach((f, i) => out.push(...each(`metadata.finalizers[${i}]`, f, qualifiedNameErrors(f))));
  out.push(...nonNegative('metadata.generation', meta.generation));
  out.push(...nonNegative('metadata.deletionGracePeriodSeconds', meta.deletionGracePeriodSeconds));
  let controllers = 0;
  (meta.ownerReferences ?? []).forEach((ref, i) => {
    const p = `metadata.ownerReferences[${i}]`;
    for (const key of ['apiVersion', 'kind', 'name', 'uid'] as const) {
      if (ref[key] === '') out.push(cause.invalid(`${p}.${key}`, '', `${key} must not be empty`));
    }
    // `group/` names no version; an Event owns nothing (Kubernetes bans it as an owner).
    if (ref.apiVersion !== '' && (ref.apiVersion.endsWith('/') || ref.apiVersion.split('/').length > 2)) {
      out.push(cause.invalid(`${p}.apiVersion`, ref.apiVersion, 'version must not be empty'));
    }
    if (ref.apiVersion === 'v1' && ref.kind === 'Event') out.push(cause.invalid(p, 'object', '/v1, Kind=Event is disallowed from being an owner'));
    if (ref.controller === true && ++controllers === 2) {
      out.push(cause.invalid('metadata.ownerReferences', 'object', 'Only one reference can have Controller set to true'));
    }
  });
  return out;
}

const LABEL_SELECTOR_OPERATORS_WITH_VALUES = new Set(['In', 'NotIn']);

export function labelSelectorCauses(selector: LabelSelector | undefined, field: string): Causes {
  if (!selector) return [];
  const out = labelsCauses(selector.matchLabels, `${field}.matchLabels`);
  (selector.matchExpressions ?? []).forEach((req, i) => {
    const p = `${field}.matchExpressions[${i}]`;
    out.push(...each(`${p}.key`, req.key, qualifiedNameErrors(req.key)));
    const values = req.values ?? [];
    if (LABEL_SELECTOR_OPERATORS_WITH_VALUES.has(req.operator)) {
      if (values.length === 0) out.push(cause.required(`${p}.values`, "must be specified when `operator` is 'In' or 'NotIn'"));
    } else if (values.length > 0) {
      out.push(cause.forbidden(`${p}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
    }
    values.forEach((v, j) => out.push(...each(`${p}.values[${j}]`, v, labelValueErrors(v))));
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Resource lists

/** Where a resource list appears decides which names it may hold. */
type ResourceScope = 'container' | 'node';

const CONTAINER_RESOURCES = new Set(['cpu', 'memory', 'ephemeral-storage']);
const NODE_RESOURCES = new Set(['cpu', 'memory', 'ephemeral-storage', 'pods', 'storage']);

/** Extended resources (`nvidia.com/gpu`): domain-qualified and outside kubernetes.io. */
export function isExtendedResourceName(name: string): boolean {
  return name.includes('/') && !name.includes('kubernetes.io/');
}

function resourceNameCauses(name: string, field: string, scope: ResourceScope): Causes {
  const errs = qualifiedNameErrors(name);
  if (errs.length > 0) return each(field, name, errs);
  const standard = scope === 'container' ? CONTAINER_RESOURCES : NODE_RESOURCES;
  if (standard.has(name) || name.startsWith('hugepages-') || isExtendedResourceName(name)) return [];
  const detail = scope === 'container' ? 'must be a standard resource for containers' : 'must be a standard resource type or fully qualified';
  return [cause.invalid(field, name, detail)];
}

/** Names valid for the scope, amounts ≥ 0, extended resources whole. Values are already canonical quantities. */
export function resourceListCauses(list: Record<string, string> | undefined, field: string, scope: ResourceScope): Causes {
  const out: Causes = [];
  for (const [name, value] of Object.entries(list ?? {})) {
    const p = childPath(field, name);
    out.push(...resourceNameCauses(name, p, scope));
    const q = Quantity.parse(value);
    if (q.isNegative()) out.push(cause.invalid(p, value, 'must be greater than or equal to 0'));
    else if (isExtendedResourceName(name) && q.milliValue() % 1000n !== 0n) out.push(cause.invalid(p, value, 'must be an integer'));
  }
  return out;
}

function containerResourcesCauses(c: Container, field: string): Causes {
  const { requests, limits } = c.resources;
  const out = [
    ...resourceListCauses(limits, `${field}.limits`, 'container'),
    ...resourceListCauses(requests, `${field}.requests`, 'container'),
  ];
  if (out.length > 0 || !requests || !limits) return out;
  for (const [name, value] of Object.entries(requests)) {
    const limit = limits[name];
    if (limit === undefined) continue;
    const p = childPath(`${field}.requests`, name);
    const order = Quantity.parse(value).cmp(Quantity.parse(limit));
    // Extended resources cannot be overcommitted, so their request must be exactly the limit.
    if (isExtendedResourceName(name) && order !== 0) out.push(cause.invalid(p, value, `must be equal to ${name} limit of ${limit}`));
    else if (order > 0) out.push(cause.invalid(p, value, `must be less than or equal to ${name} limit of ${limit}`));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Pod

const ENV_VAR_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
const ENV_VAR_NAME_MESSAGE = "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit";

/** The pod fields `env[].valueFrom.fieldRef` may read (Kubernetes' downward API for env). */
export const ENV_FIELD_PATHS = [
  'metadata.name',
  'metadata.namespace',
  'metadata.uid',
  'spec.nodeName',
  'spec.serviceAccountName',
  'status.hostIP',
  'status.hostIPs',
  'status.podIP',
  'status.podIPs',
] as const;
/** `metadata.labels['key']` / `metadata.annotations['key']`. */
export const ENV_FIELD_SUBSCRIPT = /^metadata\.(labels|annotations)\['([^']*)'\]$/;
/** What `env[].valueFrom.resourceFieldRef` may read. */
export const ENV_RESOURCE_FIELDS = ['limits.cpu', 'limits.memory', 'limits.ephemeral-storage', 'requests.cpu', 'requests.memory', 'requests.ephemeral-storage'] as const;

function keyRefCauses(ref: KeySelector, field: string): Causes {
  const out: Causes = [];
  if (!ref.name) out.push(cause.required(`${field}.name`));
  else out.push(...each(`${field}.name`, ref.name, dns1123SubdomainErrors(ref.name)));
  if (ref.key === '') out.push(cause.required(`${field}.key`));
  else out.push(...each(`${field}.key`, ref.key, configKeyErrors(ref.key)));
  return out;
}

function envVarSourceCauses(src: EnvVarSource, value: string | undefined, field: string, containerNames: ReadonlySet<string>): Causes {
  const set = (['fieldRef', 'resourceFieldRef', 'configMapKeyRef', 'secretKeyRef'] as const).filter((k) => src[k] !== undefined);
  if (value !== undefined && value !== '') return [cause.invalid(field, '', 'may not be specified when `value` is not empty')];
  if (set.length === 0) return [cause.invalid(field, '', 'must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`')];
  if (set.length > 1) return [cause.invalid(field, '', 'may not have more than one field specified at a time')];
  const out: Causes = [];
  if (src.fieldRef) {
    const f = `${field}.fieldRef`;
    const path = src.fieldRef.fieldPath;
    if (src.fieldRef.apiVersion !== undefined && src.fieldRef.apiVersion !== 'v1') out.push(cause.notSupported(`${f}.apiVersion`, src.fieldRef.apiVersion, ['v1']));
    if (path === '') out.push(cause.required(`${f}.fieldPath`));
    else if (!(ENV_FIELD_PATHS as readonly string[]).includes(path)) {
      const sub = ENV_FIELD_SUBSCRIPT.exec(path);
      if (!sub) out.push(cause.notSupported(`${f}.fieldPath`, path, [...ENV_FIELD_PATHS, "metadata.labels['<KEY>']", "metadata.annotations['<KEY>']"]));
      else out.push(...each(`${f}.fieldPath`, sub[2]!, qualifiedNameErrors(sub[2]!)));
    }
  }
  if (src.resourceFieldRef) {
    const f = `${field}.resourceFieldRef`;
    const r = src.resourceFieldRef;
    if (!(ENV_RESOURCE_FIELDS as readonly string[]).includes(r.resource)) out.push(cause.notSupported(`${f}.resource`, r.resource, ENV_RESOURCE_FIELDS));
    if (r.containerName && !containerNames.has(r.containerName)) out.push(cause.notFound(`${f}.containerName`, r.containerName));
    const divisor = r.divisor === undefined ? undefined : Quantity.parse(r.divisor);
    if (divisor && (divisor.isZero() || divisor.isNegative())) out.push(cause.invalid(`${f}.divisor`, r.divisor, 'must be greater than 0'));
  }
  if (src.configMapKeyRef) out.push(...keyRefCauses(src.configMapKeyRef, `${field}.configMapKeyRef`));
  if (src.secretKeyRef) out.push(...keyRefCauses(src.secretKeyRef, `${field}.secretKeyRef`));
  return out;
}

function envFromCauses(src: EnvFromSource, field: string): Causes {
  const refs = (['configMapRef', 'secretRef'] as const).filter((k) => src[k] !== undefined);
  if (refs.length !== 1) return [cause.invalid(field, '', refs.length === 0 ? 'must specify one of: `configMapRef` or `secretRef`' : 'may not have more than one field specified at a time')];
  const out: Causes = [];
  if (src.prefix && !/^[-._a-zA-Z][-._a-zA-Z0-9]*$|^$/.test(src.prefix)) out.push(cause.invalid(`${field}.prefix`, src.prefix, ENV_VAR_NAME_MESSAGE));
  const ref = src.configMapRef ?? src.secretRef!;
  const f = `${field}.${refs[0]}.name`;
  if (!ref.name) out.push(cause.required(f));
  else out.push(...each(f, ref.name, dns1123SubdomainErrors(ref.name)));
  return out;
}

/** IANA service name rules for container port names (Kubernetes' IsValidPortName). */
function portNameErrors(name: string): string[] {
  const errs: string[] = [];
  if (name.length > 15) errs.push('must be no more than 15 characters');
  if (!/^[-a-z0-9]+$/.test(name)) errs.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  if (!/[a-z]/.test(name)) errs.push('must contain at least one letter (a-z)');
  if (name.includes('--')) errs.push('must not contain consecutive hyphens');
  if (name.startsWith('-') || name.endsWith('-')) errs.push('must not begin or end with a hyphen');
  return errs;
}

/** Kubernetes' ValidatePortNumOrName: a port number, or a port name (IANA service name rules). */
export function portNumberOrNameCauses(field: string, port: PortNumberOrName): Causes {
  return typeof port === 'number' ? portNumberCauses(field, port) : each(field, port, portNameErrors(port));
}

const HTTP_HEADER_NAME = /^[-A-Za-z0-9]+$/;
const PROBE_HANDLERS = ['exec', 'httpGet', 'tcpSocket', 'grpc'] as const;

type HandlerActions = Pick<Probe, 'exec' | 'httpGet' | 'tcpSocket'>;

/** Kubernetes' validateHandler for the actions probes and lifecycle hooks share; `first` is the one handler checked. */
function actionCauses(h: HandlerActions, first: string | undefined, p: string): Causes {
  const out: Causes = [];
  if (first === 'exec' && (h.exec?.command ?? []).length === 0) out.push(cause.required(`${p}.exec.command`));
  if (first === 'httpGet' && h.httpGet) {
    out.push(...portNumberOrNameCauses(`${p}.httpGet.port`, h.httpGet.port));
    for (const header of h.httpGet.httpHeaders ?? []) {
      if (!HTTP_HEADER_NAME.test(header.name)) {
        out.push(cause.invalid(`${p}.httpGet.httpHeaders`, header.name, "a valid HTTP header must consist of alphanumeric characters or '-' (e.g. 'X-Header-Name', regex used for validation is '[-A-Za-z0-9]+')"));
      }
    }
  }
  if (first === 'tcpSocket' && h.tcpSocket) out.push(...portNumberOrNameCauses(`${p}.tcpSocket.port`, h.tcpSocket.port));
  return out;
}

/** Exactly one handler: none is required, every one after the first (in Kubernetes' order) forbidden. */
function oneHandler(set: readonly string[], p: string): Causes {
  const out: Causes = [];
  if (set.length === 0) out.push(cause.required(p, 'must specify a handler type'));
  for (const extra of set.slice(1)) out.push(cause.forbidden(`${p}.${extra}`, 'may not specify more than 1 handler type'));
  return out;
}

/** Kubernetes' validateProbe and validateHandler: exactly one handler, each well formed, no negative timings. */
function probeCauses(probe: Probe, p: string): Causes {
  const set = PROBE_HANDLERS.filter((h) => probe[h] !== undefined);
  const out: Causes = [...oneHandler(set, p), ...actionCauses(probe, set[0], p)];
  if (set[0] === 'grpc' && probe.grpc) out.push(...portNumberCauses(`${p}.grpc.port`, probe.grpc.port));
  for (const f of ['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold'] as const) {
    out.push(...nonNegative(`${p}.${f}`, probe[f]));
  }
  const grace = probe.terminationGracePeriodSeconds;
  if (grace !== undefined && grace <= 0) out.push(cause.invalid(`${p}.terminationGracePeriodSeconds`, grace, 'must be greater than 0'));
  return out;
}

const LIFECYCLE_HANDLERS = ['exec', 'httpGet', 'tcpSocket', 'sleep'] as const;

/**
 * Kubernetes' validateLifecycleHandler: exactly one handler, each well formed; a sleep lasts from 0
 * seconds (AllowPodLifecycleSleepActionZeroValue, on by default) up to the pod's grace period.
 */
function lifecycleHandlerCauses(h: LifecycleHandler, gracePeriod: number, p: string): Causes {
  const set = LIFECYCLE_HANDLERS.filter((k) => h[k] !== undefined);
  const out: Causes = [...oneHandler(set, p), ...actionCauses(h, set[0], p)];
  const seconds = h.sleep?.seconds;
  if (set[0] === 'sleep' && seconds !== undefined && (seconds < 0 || seconds > gracePeriod)) {
    out.push(cause.invalid(`${p}.sleep`, seconds, `must be non-negative and less than terminationGracePeriodSeconds (${gracePeriod})`));
  }
  return out;
}

/** Kubernetes' validateLifecycle, for app containers (init containers may not have one). */
function lifecycleCauses(c: Container, gracePeriod: number, p: string): Causes {
  const out: Causes = [];
  if (c.lifecycle?.postStart) out.push(...lifecycleHandlerCauses(c.lifecycle.postStart, gracePeriod, `${p}.lifecycle.postStart`));
  if (c.lifecycle?.preStop) out.push(...lifecycleHandlerCauses(c.lifecycle.preStop, gracePeriod, `${p}.lifecycle.preStop`));
  return out;
}

/** The probes of an app container (Kubernetes' validateContainerCommon probe rules). */
function containerProbeCauses(c: Container, p: string): Causes {
  const out: Causes = [];
  if (c.livenessProbe) {
    out.push(...probeCauses(c.livenessProbe, `${p}.livenessProbe`));
    if (c.livenessProbe.successThreshold !== 1) out.push(cause.invalid(`${p}.livenessProbe.successThreshold`, c.livenessProbe.successThreshold, 'must be 1'));
  }
  if (c.readinessProbe) {
    out.push(...probeCauses(c.readinessProbe, `${p}.readinessProbe`));
    const grace = c.readinessProbe.terminationGracePeriodSeconds;
    if (grace !== undefined) out.push(cause.invalid(`${p}.readinessProbe.terminationGracePeriodSeconds`, grace, 'must not be set for readinessProbes'));
  }
  if (c.startupProbe) {
    out.push(...probeCauses(c.startupProbe, `${p}.startupProbe`));
    if (c.startupProbe.successThreshold !== 1) out.push(cause.invalid(`${p}.startupProbe.successThreshold`, c.startupProbe.successThreshold, 'must be 1'));
  }
  return out;
}

/** Init containers run to completion: Kubernetes forbids hooks and probes on them (cell has no sidecar init containers). */
function initContainerProbeCauses(c: Container, p: string): Causes {
  return (['lifecycle', 'livenessProbe', 'readinessProbe', 'startupProbe'] as const)
    .filter((f) => c[f] !== undefined)
    .map((f) => cause.forbidden(`${p}.${f}`, 'may not be set for init containers without restartPolicy=Always'));
}

function containerCauses(c: Container, p: string, hostNetwork: boolean, containerNames: ReadonlySet<string>): Causes {
  const out: Causes = [];
  if (c.name === '') out.push(cause.required(`${p}.name`));
  else out.push(...each(`${p}.name`, c.name, dns1123LabelErrors(c.name)));
  if (c.image.trim() === '') out.push(cause.required(`${p}.image`));
  else if (c.image !== c.image.trim()) out.push(cause.invalid(`${p}.image`, c.image, 'must not have leading or trailing whitespace'));
  (c.env ?? []).forEach((e, i) => {
    const f = `${p}.env[${i}].name`;
    if (e.name === '') out.push(cause.required(f));
    else if (!ENV_VAR_NAME.test(e.name)) out.push(cause.invalid(f, e.name, ENV_VAR_NAME_MESSAGE));
    if (e.valueFrom) out.push(...envVarSourceCauses(e.valueFrom, e.value, `${p}.env[${i}].valueFrom`, containerNames));
  });
  (c.envFrom ?? []).forEach((src, i) => out.push(...envFromCauses(src, `${p}.envFrom[${i}]`)));
  const portNames = new Set<string>();
  (c.ports ?? []).forEach((port, i) => {
    const f = `${p}.ports[${i}]`;
    if (port.name !== undefined && port.name !== '') {
      out.push(...each(`${f}.name`, port.name, portNameErrors(port.name)));
      if (portNames.has(port.name)) out.push(cause.duplicate(`${f}.name`, port.name));
      portNames.add(port.name);
    }
    out.push(...portNumberCauses(`${f}.containerPort`, port.containerPort));
    if (port.hostPort !== undefined && port.hostPort !== 0) {
      out.push(...portNumberCauses(`${f}.hostPort`, port.hostPort));
      if (hostNetwork && port.hostPort !== port.containerPort) {
        out.push(cause.invalid(`${f}.hostPort`, port.hostPort, 'must match `containerPort` when `hostNetwork` is true'));
      }
    }
  });
  out.push(...containerResourcesCauses(c, `${p}.resources`));
  return out;
}

function nodeSelectorRequirementCauses(req: NodeSelectorRequirement, p: string, isField: boolean): Causes {
  const out: Causes = [];
  const values = req.values ?? [];
  if (isField) {
    // Kubernetes supports exactly one field here, with In/NotIn and a single value.
    if (req.key !== 'metadata.name') out.push(cause.notSupported(`${p}.key`, req.key, ['metadata.name']));
    if (req.operator !== 'In' && req.operator !== 'NotIn') out.push(cause.notSupported(`${p}.operator`, req.operator, ['In', 'NotIn']));
    if (values.length !== 1) out.push(cause.required(`${p}.values`, 'must be only one value when `operator` is \'In\' or \'NotIn\' for node field selector'));
    return out;
  }
  out.push(...each(`${p}.key`, req.key, qualifiedNameErrors(req.key)));
  switch (req.operator) {
    case 'In':
    case 'NotIn':
      if (values.length === 0) out.push(cause.required(`${p}.values`, "must be specified when `operator` is 'In' or 'NotIn'"));
      break;
    case 'Exists':
    case 'DoesNotExist':
      if (values.length > 0) out.push(cause.forbidden(`${p}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
      break;
    case 'Gt':
    case 'Lt':
      if (values.length !== 1) out.push(cause.required(`${p}.values`, "must be specified single value when `operator` is 'Lt' or 'Gt'"));
      else if (!/^-?[0-9]+$/.test(values[0] ?? '')) out.push(cause.invalid(`${p}.values[0]`, values[0], 'must be an integer'));
      break;
  }
  return out;
}

function nodeSelectorTermCauses(term: NodeSelectorTerm, p: string): Causes {
  return [
    ...(term.matchExpressions ?? []).flatMap((r, i) => nodeSelectorRequirementCauses(r, `${p}.matchExpressions[${i}]`, false)),
    ...(term.matchFields ?? []).flatMap((r, i) => nodeSelectorRequirementCauses(r, `${p}.matchFields[${i}]`, true)),
  ];
}

function weightCauses(field: string, weight: number): Causes {
  return weight < 1 || weight > 100 ? [cause.invalid(field, weight, 'must be in the range 1-100')] : [];
}

function podAffinityTermCauses(term: PodAffinityTerm, p: string): Causes {
  const out = labelSelectorCauses(term.labelSelector, `${p}.labelSelector`);
  out.push(...labelSelectorCauses(term.namespaceSelector, `${p}.namespaceSelector`));
  (term.namespaces ?? []).forEach((ns, i) => out.push(...each(`${p}.namespaces[${i}]`, ns, dns1123LabelErrors(ns))));
  if (term.topologyKey === '') out.push(cause.required(`${p}.topologyKey`, 'can not be empty'));
  else out.push(...each(`${p}.topologyKey`, term.topologyKey, qualifiedNameErrors(term.topologyKey)));
  return out;
}

function affinityCauses(pod: Pod): Causes {
  const a = pod.spec.affinity;
  if (!a) return [];
  const out: Causes = [];
  const base = 'spec.affinity';
  const na = a.nodeAffinity;
  const required = na?.requiredDuringSchedulingIgnoredDuringExecution;
  if (required) {
    const p = `${base}.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms`;
    if (required.nodeSelectorTerms.length === 0) out.push(cause.required(p, 'must have at least one node selector term'));
    required.nodeSelectorTerms.forEach((t, i) => out.push(...nodeSelectorTermCauses(t, `${p}[${i}]`)));
  }
  (na?.preferredDuringSchedulingIgnoredDuringExecution ?? []).forEach((pref, i) => {
    const p = `${base}.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[${i}]`;
    out.push(...weightCauses(`${p}.weight`, pref.weight), ...nodeSelectorTermCauses(pref.preference, `${p}.preference`));
  });
  for (const kind of ['podAffinity', 'podAntiAffinity'] as const) {
    const pa = a[kind];
    (pa?.requiredDuringSchedulingIgnoredDuringExecution ?? []).forEach((t, i) => {
      out.push(...podAffinityTermCauses(t, `${base}.${kind}.requiredDuringSchedulingIgnoredDuringExecution[${i}]`));
    });
    (pa?.preferredDuringSchedulingIgnoredDuringExecution ?? []).forEach((w, i) => {
      const p = `${base}.${kind}.preferredDuringSchedulingIgnoredDuringExecution[${i}]`;
      out.push(...weightCauses(`${p}.weight`, w.weight), ...podAffinityTermCauses(w.podAffinityTerm, `${p}.podAffinityTerm`));
    });
  }
  return out;
}

function tolerationCauses(t: Toleration, p: string): Causes {
  const out: Causes = [];
  if (t.key) out.push(...each(`${p}.key`, t.key, qualifiedNameErrors(t.key)));
  else if (t.operator !== 'Exists') {
    out.push(cause.invalid(`${p}.operator`, t.operator, 'operator must be Exists when `key` is empty, which means "match all values and all keys"'));
  }
  if (t.tolerationSeconds !== undefined && t.effect !== 'NoExecute') {
    out.push(cause.invalid(`${p}.effect`, t.effect ?? '', "effect must be 'NoExecute' when `tolerationSeconds` is set"));
  }
  if (t.operator === 'Exists' && t.value) {
    out.push(cause.invalid(`${p}.operator`, t.value, "value must be empty when `operator` is 'Exists'"));
  } else if (t.operator === 'Equal' && t.value) {
    out.push(...each(`${p}.value`, t.value, labelValueErrors(t.value)));
  }
  return out;
}

function topologySpreadCauses(pod: Pod): Causes {
  const out: Causes = [];
  const seen = new Set<string>();
  (pod.spec.topologySpreadConstraints ?? []).forEach((c, i) => {
    const p = `spec.topologySpreadConstraints[${i}]`;
    if (c.maxSkew <= 0) out.push(cause.invalid(`${p}.maxSkew`, c.maxSkew, 'must be greater than zero'));
    if (c.topologyKey === '') out.push(cause.required(`${p}.topologyKey`, 'can not be empty'));
    else out.push(...each(`${p}.topologyKey`, c.topologyKey, qualifiedNameErrors(c.topologyKey)));
    if (c.minDomains !== undefined) {
      if (c.minDomains <= 0) out.push(cause.invalid(`${p}.minDomains`, c.minDomains, 'must be greater than zero'));
      if (c.whenUnsatisfiable !== 'DoNotSchedule') {
        out.push(cause.invalid(`${p}.minDomains`, c.minDomains, `can only use minDomains if whenUnsatisfiable=DoNotSchedule, not ${c.whenUnsatisfiable}`));
      }
    }
    out.push(...labelSelectorCauses(c.labelSelector, `${p}.labelSelector`));
    const key = `${c.topologyKey}/${c.whenUnsatisfiable}`;
    if (seen.has(key)) out.push(cause.duplicate(`${p}`, `{${c.topologyKey}, ${c.whenUnsatisfiable}}`));
    seen.add(key);
  });
  return out;
}

/** What an ephemeral container may not have: it serves nothing, is never probed or restarted, and reserves nothing. */
const EPHEMERAL_FORBIDDEN = ['ports', 'livenessProbe', 'readinessProbe', 'startupProbe', 'lifecycle'] as const;

/**
 * Kubernetes' rules for ephemeral containers: a container's (names unique across every list of the
 * pod), none of what only a long-lived container has, and a target that is one of the pod's containers.
 */
function ephemeralContainerCauses(spec: Pod['spec'], names: Set<string>, hostNetwork: boolean): Causes {
  const out: Causes = [];
  const targets = new Set([...(spec.initContainers ?? []), ...spec.containers].map((c) => c.name));
  const all = new Set([...targets, ...(spec.ephemeralContainers ?? []).map((c) => c.name)]);
  (spec.ephemeralContainers ?? []).forEach((c, i) => {
    const p = `spec.ephemeralContainers[${i}]`;
    out.push(...containerCauses(c, p, hostNetwork, all));
    if (c.name !== '' && names.has(c.name)) out.push(cause.duplicate(`${p}.name`, c.name));
    names.add(c.name);
    for (const f of EPHEMERAL_FORBIDDEN) if (c[f] !== undefined) out.push(cause.forbidden(`${p}.${f}`, 'cannot be set for an Ephemeral Container'));
    const r = c.resources;
    if (Object.keys(r.requests ?? {}).length + Object.keys(r.limits ?? {}).length > 0) out.push(cause.forbidden(`${p}.resources`, 'cannot be set for an Ephemeral Container'));
    if (c.targetContainerName !== undefined && c.targetContainerName !== '' && !targets.has(c.targetContainerName)) out.push(cause.notFound(`${p}.targetContainerName`, c.targetContainerName));
  });
  return out;
}

/**
 * A workload's pod template, on the template's own paths (`spec.template.spec.containers[0].name`):
 * the pod rules, and no ephemeral containers (they are added to running pods, never templated).
 */
export function podTemplateCauses(template: PodTemplateSpec): Causes {
  const asPod: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: template.metadata, spec: template.spec, status: {} };
  const out = podCauses(asPod).map((c) => ({ ...c, field: c.field?.startsWith('spec.') ? `spec.template.${c.field}` : c.field }));
  if (template.spec.ephemeralContainers !== undefined) out.push(cause.forbidden('spec.template.spec.ephemeralContainers', 'ephemeral containers not allowed in pod template'));
  return out;
}

export function podCauses(pod: Pod): Causes {
  const spec = pod.spec;
  const out: Causes = [];
  const hostNetwork = spec.hostNetwork === true;
  if (spec.containers.length === 0) out.push(cause.required('spec.containers'));
  // Container names are unique across containers and init containers: logs and status key on them.
  const names = new Set<string>();
  const hostPorts = new Set<string>();
  const allNames = new Set([...(spec.initContainers ?? []), ...spec.containers].map((c) => c.name));
  for (const list of ['initContainers', 'containers'] as const) {
    (spec[list] ?? []).forEach((c, i) => {
      const p = `spec.${list}[${i}]`;
      out.push(...containerCauses(c, p, hostNetwork, allNames));
      out.push(...(list === 'containers' ? [...containerProbeCauses(c, p), ...lifecycleCauses(c, spec.terminationGracePeriodSeconds, p)] : initContainerProbeCauses(c, p)));
      if (c.name !== '' && names.has(c.name)) out.push(cause.duplicate(`${p}.name`, c.name));
      names.add(c.name);
      if (list !== 'containers') return;
      // Two containers of one pod cannot both take the same host port.
      (c.ports ?? []).forEach((port, j) => {
        if (!port.hostPort) return;
        const key = `${port.hostIP ?? ''}/${port.hostPort}/${port.protocol}`;
        if (hostPorts.has(key)) out.push(cause.duplicate(`${p}.ports[${j}].hostPort`, `${port.hostPort}/${port.protocol}`));
        hostPorts.add(key);
      });
    });
  }
  out.push(...ephemeralContainerCauses(spec, names, hostNetwork));
  out.push(...nonNegative('spec.terminationGracePeriodSeconds', spec.terminationGracePeriodSeconds));
  if (spec.activeDeadlineSeconds !== undefined && spec.activeDeadlineSeconds < 1) {
    out.push(cause.invalid('spec.activeDeadlineSeconds', spec.activeDeadlineSeconds, 'must be greater than or equal to 1'));
  }
  if (spec.priority !== undefined && (spec.priority < INT32_MIN || spec.priority > INT32_MAX)) {
    out.push(cause.invalid('spec.priority', spec.priority, 'must be a 32-bit integer'));
  }
  out.push(...labelsCauses(spec.nodeSelector, 'spec.nodeSelector'));
  out.push(...subdomain('spec.nodeName', spec.nodeName));
  out.push(...subdomain('spec.schedulerName', spec.schedulerName));
  out.push(...subdomain('spec.serviceAccountName', spec.serviceAccountName));
  out.push(...subdomain('spec.priorityClassName', spec.priorityClassName));
  out.push(...affinityCauses(pod));
  (spec.tolerations ?? []).forEach((t, i) => out.push(...tolerationCauses(t, `spec.tolerations[${i}]`)));
  out.push(...topologySpreadCauses(pod));
  out.push(...subdomain('status.nominatedNodeName', pod.status.nominatedNodeName));
  for (const list of ['initContainerStatuses', 'containerStatuses', 'ephemeralContainerStatuses'] as const) {
    (pod.status[list] ?? []).forEach((s, i) => out.push(...nonNegative(`status.${list}[${i}].restartCount`, s.restartCount)));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Other core kinds

export function nodeCauses(node: Node): Causes {
  const out: Causes = [];
  const seen = new Set<string>();
  (node.spec.taints ?? []).forEach((t, i) => {
    const p = `spec.taints[${i}]`;
    if (t.key === '') out.push(cause.required(`${p}.key`));
    else out.push(...each(`${p}.key`, t.key, qualifiedNameErrors(t.key)));
    if (t.value) out.push(...each(`${p}.value`, t.value, labelValueErrors(t.value)));
    const key = `${t.key}:${t.effect}`;
    if (seen.has(key)) out.push(cause.duplicate(p, key));
    seen.add(key);
  });
  out.push(...resourceListCauses(node.status.capacity, 'status.capacity', 'node'));
  out.push(...resourceListCauses(node.status.allocatable, 'status.allocatable', 'node'));
  const port = node.status.daemonEndpoints?.kubeletEndpoint?.Port;
  if (port !== undefined && port !== 0) out.push(...portNumberCauses('status.daemonEndpoints.kubeletEndpoint.Port', port));
  return out;
}

export function namespaceCauses(ns: Namespace): Causes {
  return (ns.spec.finalizers ?? []).flatMap((f, i) => each(`spec.finalizers[${i}]`, f, qualifiedNameErrors(f)));
}

export function eventCauses(ev: Event): Causes {
  const out: Causes = [];
  const ns = ev.metadata.namespace;
  const involvedNs = ev.involvedObject.namespace;
  // An event lives with what it is about; events about cluster-scoped objects go in "default".
  if (ns) {
    if (involvedNs ? involvedNs !== ns : ns !== 'default') {
      out.push(cause.invalid('involvedObject.namespace', involvedNs ?? '', 'does not match event.namespace'));
    }
  }
  out.push(...nonNegative('count', ev.count));
  return out;
}

function allocationVersionCauses(field: string, value: string | undefined): Causes {
  return value !== undefined && !/^[0-9]+$/.test(value) ? [cause.invalid(field, value, 'must be a resourceVersion (a decimal number)')] : [];
}

export function bindingCauses(b: Binding): Causes {
  const out: Causes = [];
  if (!b.target.name) out.push(cause.required('target.name'));
  else out.push(...subdomain('target.name', b.target.name));
  if (b.target.kind && b.target.kind !== 'Node') out.push(cause.notSupported('target.kind', b.target.kind, ['Node']));
  const rv = b.metadata.annotations?.[ALLOCATION_RESOURCE_VERSION_ANNOTATION];
  out.push(...allocationVersionCauses(childPath('metadata.annotations', ALLOCATION_RESOURCE_VERSION_ANNOTATION), rv));
  return out;
}

export function leaseCauses(lease: Lease): Causes {
  const out: Causes = [];
  const d = lease.spec.leaseDurationSeconds;
  if (d !== undefined && d <= 0) out.push(cause.invalid('spec.leaseDurationSeconds', d, 'must be greater than 0'));
  out.push(...nonNegative('spec.leaseTransitions', lease.spec.leaseTransitions));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Scheduling kinds

export function podGroupCauses(pg: PodGroup): Causes {
  const out: Causes = [];
  if (pg.spec.minMember < 1) out.push(cause.invalid('spec.minMember', pg.spec.minMember, 'must be greater than or equal to 1'));
  out.push(...nonNegative('spec.scheduleTimeoutSeconds', pg.spec.scheduleTimeoutSeconds));
  out.push(...resourceListCauses(pg.spec.minResources, 'spec.minResources', 'node'));
  for (const key of ['scheduled', 'running', 'succeeded', 'failed'] as const) {
    out.push(...nonNegative(`status.${key}`, pg.status[key]));
  }
  return out;
}

export function nodeAllocationCauses(na: NodeAllocation): Causes {
  const out = [
    ...resourceListCauses(na.spec.allocatable, 'spec.allocatable', 'node'),
    ...resourceListCauses(na.spec.allocated, 'spec.allocated', 'node'),
  ];
  const uids = new Set<string>();
  na.spec.pods.forEach((pod, i) => {
    const p = `spec.pods[${i}]`;
    if (pod.uid === '') out.push(cause.required(`${p}.uid`));
    else if (uids.has(pod.uid)) out.push(cause.duplicate(`${p}.uid`, pod.uid));
    uids.add(pod.uid);
    out.push(...resourceListCauses(pod.requests, `${p}.requests`, 'node'));
    (pod.hostPorts ?? []).forEach((hp, j) => out.push(...portNumberCauses(`${p}.hostPorts[${j}].port`, hp.port)));
  });
  na.spec.hostPorts.forEach((hp, i) => out.push(...portNumberCauses(`spec.hostPorts[${i}].port`, hp.port)));
  return out;
}

export function placementCauses(pl: Placement): Causes {
  const out: Causes = [];
  const { bindings, conflictMode } = pl.spec;
  if (bindings.length === 0) out.push(cause.required('spec.bindings', 'at least one binding is required'));
  const seen = new Set<string>();
  bindings.forEach((b, i) => {
    const p = `spec.bindings[${i}]`;
    out.push(...each(`${p}.podNamespace`, b.podNamespace, dns1123LabelErrors(b.podNamespace)));
    if (b.podName === '') out.push(cause.required(`${p}.podName`));
    else out.push(...subdomain(`${p}.podName`, b.podName));
    if (b.nodeName === '') out.push(cause.required(`${p}.nodeName`));
    else out.push(...subdomain(`${p}.nodeName`, b.nodeName));
    out.push(...allocationVersionCauses(`${p}.allocationResourceVersion`, b.allocationResourceVersion));
    if (conflictMode === 'Coarse' && b.allocationResourceVersion === undefined) {
      out.push(cause.required(`${p}.allocationResourceVersion`, 'must be set when spec.conflictMode is Coarse'));
    }
    // One pod can be bound only once; two bindings for it in one placement is a scheduler bug.
    const key = `${b.podNamespace}/${b.podName}`;
    if (seen.has(key)) out.push(cause.duplicate(p, key));
    seen.add(key);
  });
  return out;
}
