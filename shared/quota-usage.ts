// What an object uses of a ResourceQuota, as Kubernetes' quota evaluators count it: pure functions
// the API server's admission hook, the quota controller and the audit all share, so the three can
// never disagree on a number. Amounts are exact milli-units (shared/resources.ts).
import { hasNodePorts, serviceType, type Service } from './api/service.js';
import { isDeepStrictEqual } from 'node:util';
import type { Pod } from './api/core.js';
import type { ResourceQuota, ScopedResourceSelectorRequirement } from './api/quota.js';
import { Quantity } from './quantity.js';
import { add, parseResourceList, ResourceAmounts, subtract, toResourceList, type ResourceList } from './resources.js';

/** The resource being written, as the quota names it (`count/<resource>.<group>`). */
export interface CountedKind {
  group: string;
  resource: string;
}

export const PODS_KIND: CountedKind = { group: '', resource: 'pods' };

/** `count/pods`, `count/podgroups.scheduling.x-k8s.io`: the object-count name of a kind. */
export function countResourceName(kind: CountedKind): string {
  return kind.group ? `count/${kind.resource}.${kind.group}` : `count/${kind.resource}`;
}

function isPods(kind: CountedKind): boolean {
  return kind.group === '' && kind.resource === 'pods';
}

function isServices(kind: CountedKind): boolean {
  return kind.group === '' && kind.resource === 'services';
}

/** What a Service uses besides its count: its node ports, and whether it is a load balancer. */
const SERVICE_PORT_NAMES = ['services.nodeports', 'services.loadbalancers'];

function serviceUsage(svc: Service): [string, Quantity][] {
  const type = serviceType(svc);
  const nodePorts = hasNodePorts(type) ? (svc.spec.ports ?? []).filter((p) => p.nodePort).length : 0;
  return [
    ['services.nodeports', Quantity.parse(nodePorts)],
    ['services.loadbalancers', Quantity.parse(type === 'LoadBalancer' ? 1 : 0)],
  ];
}

/** Extended resources (`nvidia.com/gpu`): quota counts them only as `requests.<name>`. */
function isExtended(name: string): boolean {
  return name.includes('/') && !name.includes('kubernetes.io/') && !name.startsWith('requests.');
}

/**
 * The resource names a pod's usage can contain. Kubernetes checks that each container states a
 * request for cpu and memory when a quota limits them — a rule from before QoS existed, kept for
 * compatibility.
 */
const CONTAINER_VALIDATED = ['cpu', 'memory', 'requests.cpu', 'requests.memory', 'limits.cpu', 'limits.memory'] as const;

function podGoverns(name: string): boolean {
  return (
    name === 'pods' || name === 'count/pods' || name === 'cpu' || name === 'memory' || name === 'ephemeral-storage' ||
    name.startsWith('requests.') || name.startsWith('limits.') || name.startsWith('hugepages-')
  );
}

/** Core kinds a quota also counts under their bare name (`secrets: 10`), as Kubernetes still accepts. */
const LEGACY_COUNT_NAMES = new Set(['configmaps', 'secrets', 'resourcequotas', 'services']);

/** The object-count names of a kind: `count/<resource>[.<group>]`, and the bare legacy name where there is one. */
function countNames(kind: CountedKind): string[] {
  const count = countResourceName(kind);
  return kind.group === '' && LEGACY_COUNT_NAMES.has(kind.resource) ? [count, kind.resource] : [count];
}

/** The names in `hard` that writes of `kind` can change (the quota's restricted resources for it). */
export function governedNames(hard: ResourceList | undefined, kind: CountedKind): string[] {
  const names = Object.keys(hard ?? {});
  if (isPods(kind)) return names.filter(podGoverns).sort();
  const counted = isServices(kind) ? [...countNames(kind), ...SERVICE_PORT_NAMES] : countNames(kind);
  return names.filter((n) => counted.includes(n)).sort();
}

/** Kubernetes' podComputeUsageHelper: one set of requests and limits as the quota names them. */
export function computeUsage(requests: ResourceAmounts, limits: ResourceAmounts): ResourceAmounts {
  const out: [string, Quantity][] = [['pods', Quantity.parse(1)]];
  for (const base of ['cpu', 'memory', 'ephemeral-storage']) {
    if (requests.has(base)) out.push([base, requests.quantity(base)], [`requests.${base}`, requests.quantity(base)]);
    if (limits.has(base)) out.push([`limits.${base}`, limits.quantity(base)]);
  }
  for (const name of requests.names()) {
    if (name.startsWith('hugepages-')) out.push([name, requests.quantity(name)], [`requests.${name}`, requests.quantity(name)]);
    else if (isExtended(name)) out.push([`requests.${name}`, requests.quantity(name)]);
  }
  for (const name of limits.names()) {
    if (name.startsWith('hugepages-')) out.push([`limits.${name}`, limits.quantity(name)]);
  }
  return new ResourceAmounts(out);
}

type PodLike = Pick<Pod, 'spec' | 'status'>;

/** Per resource: the larger of the containers' sum and the largest init container (they run one at a time). */
function effective(pod: PodLike, which: 'requests' | 'limits'): ResourceAmounts {
  let sum = new ResourceAmounts();
  for (const c of pod.spec.containers) sum = add(sum, parseResourceList(c.resources?.[which]));
  const init = (pod.spec.initContainers ?? []).map((c) => parseResourceList(c.resources?.[which]));
  const names = new Set([...sum.names(), ...init.flatMap((r) => r.names())]);
  const out: [string, Quantity][] = [];
  for (const name of names) {
    let q = sum.quantity(name);
    for (const r of init) if (r.quantity(name).cmp(q) > 0) q = r.quantity(name);
    out.push([name, q]);
  }
  return new ResourceAmounts(out);
}

export function isTerminalPod(pod: PodLike): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

/**
 * A pod's usage: `count/pods` for every stored pod (finished or not, as Kubernetes counts objects);
 * `pods` and compute resources only until it finishes. A pod being deleted gracefully counts until
 * it is gone: cell's ledger releases on an event, not on a clock.
 */
export function podUsage(pod: PodLike): ResourceAmounts {
  const count = new ResourceAmounts([['count/pods', Quantity.parse(1)]]);
  if (isTerminalPod(pod)) return count;
  return add(count, computeUsage(effective(pod, 'requests'), effective(pod, 'limits')));
}

/** Kubernetes' QoS rule, as quota scopes need it: no cpu or memory request or limit anywhere. */
export function isBestEffort(pod: Pick<Pod, 'spec'>): boolean {
  for (const c of [...pod.spec.containers, ...(pod.spec.initContainers ?? [])]) {
    for (const list of [c.resources?.requests, c.resources?.limits]) {
      const amounts = parseResourceList(list);
      if (amounts.get('cpu') > 0n || amounts.get('memory') > 0n) return false;
    }
  }
  return true;
}

/** Every scope the quota requires, its `spec.scopes` read as Exists requirements. */
export function scopeRequirements(q: Pick<ResourceQuota, 'spec'>): ScopedResourceSelectorRequirement[] {
  return [
    ...(q.spec.scopes ?? []).map((scopeName) => ({ scopeName, operator: 'Exists' as const })),
    ...(q.spec.scopeSelector?.matchExpressions ?? []),
  ];
}

function scopeMatches(req: ScopedResourceSelectorRequirement, pod: Pick<Pod, 'spec'>): boolean {
  switch (req.scopeName) {
    case 'BestEffort':
      return isBestEffort(pod);
    case 'NotBestEffort':
      return !isBestEffort(pod);
    case 'Terminating':
      return pod.spec.activeDeadlineSeconds !== undefined && pod.spec.activeDeadlineSeconds >= 0;
    case 'NotTerminating':
      return pod.spec.activeDeadlineSeconds === undefined || pod.spec.activeDeadlineSeconds < 0;
    case 'PriorityClass': {
      const name = pod.spec.priorityClassName ?? '';
      const values = req.values ?? [];
      if (req.operator === 'In') return values.includes(name);
      if (req.operator === 'NotIn') return !values.includes(name);
      if (req.operator === 'Exists') return name !== '';
      return name === '';
    }
  }
}

/** Whether the quota counts this object at all (scopes apply to pods; a scoped quota counts nothing else). */
export function quotaMatches(q: Pick<ResourceQuota, 'spec'>, kind: CountedKind, obj: unknown): boolean {
  const reqs = scopeRequirements(q);
  if (!isPods(kind)) return reqs.length === 0;
  return reqs.every((r) => scopeMatches(r, obj as Pod));
}

/** What one object (undefined: absent) uses of one quota: its usage masked to the governed names. */
export function usageOf(q: Pick<ResourceQuota, 'spec'>, kind: CountedKind, obj: unknown): ResourceAmounts {
  if (obj === undefined || !quotaMatches(q, kind, obj)) return new ResourceAmounts();
  const names = governedNames(q.spec.hard, kind);
  if (names.length === 0) return new ResourceAmounts();
  const count = countNames(kind).map((n) => [n, Quantity.parse(1)] as const);
  const usage = isPods(kind) ? podUsage(obj as Pod) : isServices(kind) ? new ResourceAmounts([...count, ...serviceUsage(obj as Service)]) : new ResourceAmounts(count);
  return mask(usage, names);
}

/** Only the named resources (those the amounts hold). */
export function mask(amounts: ResourceAmounts, names: readonly string[]): ResourceAmounts {
  return new ResourceAmounts(names.filter((n) => amounts.has(n)).map((n) => [n, amounts.quantity(n)] as const));
}

export function nonZero(amounts: ResourceAmounts): ResourceAmounts {
  return new ResourceAmounts(amounts.names().filter((n) => amounts.get(n) !== 0n).map((n) => [n, amounts.quantity(n)] as const));
}

/** after − before, zero entries dropped. */
export function delta(before: ResourceAmounts, after: ResourceAmounts): ResourceAmounts {
  return nonZero(subtract(after, before));
}

export function sameAmounts(a: ResourceAmounts, b: ResourceAmounts): boolean {
  for (const n of new Set([...a.names(), ...b.names()])) if (a.get(n) !== b.get(n)) return false;
  return true;
}

/**
 * Whether status.used is the ledger of spec.hard: the controller has counted every limited
 * resource for the limits now in force. Until then admission cannot decide against it.
 */
export function isComputed(q: Pick<ResourceQuota, 'spec' | 'status'>): boolean {
  const hard = q.spec.hard ?? {};
  if (!isDeepStrictEqual(sortedList(hard), sortedList(q.status.hard ?? {}))) return false;
  const used = q.status.used ?? {};
  return Object.keys(hard).every((n) => used[n] !== undefined);
}

function sortedList(list: ResourceList): [string, bigint][] {
  const amounts = parseResourceList(list);
  return amounts.names().sort().map((n) => [n, amounts.get(n)]);
}

/** Kubernetes' prettyPrint of a resource list: `name=value` sorted by name, comma-joined. */
export function prettyPrint(amounts: ResourceAmounts): string {
  return amounts.names().sort().map((n) => `${n}=${amounts.quantity(n).toString()}`).join(',');
}

/**
 * The resources on which `used + requested` goes over `hard`, or empty. Only resources the
 * request increases are checked, as in Kubernetes: a quota already over (hard lowered) still
 * lets usage fall.
 */
export function exceededNames(hard: ResourceAmounts, used: ResourceAmounts, requested: ResourceAmounts): string[] {
  const out: string[] = [];
  for (const n of requested.names()) {
    if (requested.get(n) <= 0n || !hard.has(n)) continue;
    if (used.get(n) + requested.get(n) > hard.get(n)) out.push(n);
  }
  return out.sort();
}

/** `exceeded quota: q, requested: …, used: …, limited: …`, worded as Kubernetes' quota admission. */
export function exceededMessage(name: string, hard: ResourceAmounts, used: ResourceAmounts, requested: ResourceAmounts, names: string[]): string {
  const withZero = (a: ResourceAmounts) => new ResourceAmounts(names.map((n) => [n, a.quantity(n)] as const));
  return `exceeded quota: ${name}, requested: ${prettyPrint(mask(requested, names))}, used: ${prettyPrint(withZero(used))}, limited: ${prettyPrint(mask(hard, names))}`;
}

/**
 * Kubernetes' pod Constraints: when a quota limits cpu or memory (requests or limits), every
 * container must state them. Returns `must specify limits.cpu for: a,b; memory for: a` or undefined.
 */
export function podConstraintViolation(pod: Pick<Pod, 'spec'>, governed: readonly string[]): string | undefined {
  const required = CONTAINER_VALIDATED.filter((n) => governed.includes(n));
  if (required.length === 0) return undefined;
  const missing = new Map<string, Set<string>>();
  for (const c of [...pod.spec.containers, ...(pod.spec.initContainers ?? [])]) {
    const has = computeUsage(parseResourceList(c.resources?.requests), parseResourceList(c.resources?.limits));
    for (const n of required) {
      if (has.has(n)) continue;
      if (!missing.has(n)) missing.set(n, new Set());
      missing.get(n)!.add(c.name);
    }
  }
  if (missing.size === 0) return undefined;
  const entries = [...missing.keys()].sort().map((n) => `${n} for: ${[...missing.get(n)!].sort().join(',')}`);
  return `must specify ${entries.join('; ')}`;
}

/** Sum of usages, then the canonical list form status.used takes (every hard name, zeros included). */
export function usedList(hard: ResourceList | undefined, total: ResourceAmounts): Record<string, string> {
  const names = Object.keys(hard ?? {}).sort();
  const hardAmounts = parseResourceList(hard);
  // A zero is written in its limit's format family ("0"), as Kubernetes' quantities print it.
  return toResourceList(new ResourceAmounts(names.map((n) => [n, total.has(n) ? total.quantity(n) : Quantity.fromMilli(0n, hardAmounts.quantity(n).format)] as const)));
}
