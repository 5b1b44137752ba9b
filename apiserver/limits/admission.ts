// LimitRange admission for pods (Kubernetes' LimitRanger plugin): when a pod is created, the
// LimitRanges of its namespace first fill in each container's missing limits (`default`) and
// requests (`defaultRequest`), then bound them — per container (type Container) and summed over
// the pod (type Pod): requests at least `min`, limits at most `max`, limit ÷ request at most
// `maxLimitRequestRatio`. A pod out of bounds is refused (403, every violation named); one that
// was filled in says so in its `kubernetes.io/limit-ranger` annotation. The scheduler and the
// quota then see the filled-in requests, so a pod that asked for nothing is placed as what the
// namespace says such a pod needs.
import type { Container, Pod } from '../../shared/api/core.js';
import type { LimitRange, LimitRangeItem } from '../../shared/api/limit-range.js';
import { ForbiddenError } from '../../shared/errors.js';
import { Quantity } from '../../shared/quantity.js';
import type { KubeObject } from '../registry/object.js';
import type { ResourceStore } from '../registry/resource-store.js';

export const LIMIT_RANGER_ANNOTATION = 'kubernetes.io/limit-ranger';
type ResourceList = Record<string, string>;

function allContainers(pod: Pod): Container[] {
  return [...(pod.spec.initContainers ?? []), ...pod.spec.containers];
}

/** Fills in `c`'s missing limits and requests from one Container item; returns what it set. */
function fillIn(c: Container, item: LimitRangeItem): string[] {
  const set: string[] = [];
  const fill = (kind: 'limits' | 'requests', defaults: ResourceList | undefined) => {
    const missing = Object.keys(defaults ?? {}).filter((r) => c.resources[kind]?.[r] === undefined).sort();
    if (missing.length === 0) return;
    c.resources[kind] = { ...c.resources[kind], ...Object.fromEntries(missing.map((r) => [r, defaults![r]!])) };
    set.push(`${missing.join(', ')} ${kind === 'limits' ? 'limit' : 'request'} for ${c.name}`);
  };
  fill('requests', item.defaultRequest);
  fill('limits', item.default);
  return set;
}

/** A pod's total of `kind`: the containers' sum, or the largest init container when that is more. */
function podTotal(pod: Pod, kind: 'limits' | 'requests'): Map<string, Quantity | undefined> {
  const total = new Map<string, Quantity | undefined>();
  const names = new Set(allContainers(pod).flatMap((c) => Object.keys(c.resources[kind] ?? {})));
  for (const r of names) {
    // A container without this resource leaves the pod's total unknown (no bound can hold).
    const sum = pod.spec.containers.reduce<Quantity | undefined>((acc, c) => {
      const v = c.resources[kind]?.[r];
      return acc === undefined || v === undefined ? undefined : acc.add(Quantity.parse(v));
    }, Quantity.parse(0));
    let value = sum;
    for (const init of pod.spec.initContainers ?? []) {
      const v = init.resources[kind]?.[r];
      if (v !== undefined && value !== undefined && Quantity.parse(v).cmp(value) > 0) value = Quantity.parse(v);
    }
    total.set(r, value);
  }
  return total;
}

/** Kubernetes' messages for what one item refuses of one container's or the pod's resources. */
function violations(item: LimitRangeItem, what: string, requests: (r: string) => Quantity | undefined, limits: (r: string) => Quantity | undefined): string[] {
  const out: string[] = [];
  for (const [r, v] of Object.entries(item.min ?? {})) {
    const req = requests(r);
    if (req === undefined) out.push(`minimum ${r} usage per ${what} is ${v}.  No request is specified`);
    else if (req.cmp(Quantity.parse(v)) < 0) out.push(`minimum ${r} usage per ${what} is ${v}, but request is ${req.toString()}`);
  }
  for (const [r, v] of Object.entries(item.max ?? {})) {
    const lim = limits(r);
    if (lim === undefined) out.push(`maximum ${r} usage per ${what} is ${v}.  No limit is specified`);
    else if (lim.cmp(Quantity.parse(v)) > 0) out.push(`maximum ${r} usage per ${what} is ${v}, but limit is ${lim.toString()}`);
  }
  for (const [r, v] of Object.entries(item.maxLimitRequestRatio ?? {})) {
    const req = requests(r);
    const lim = limits(r);
    if (req === undefined || req.isZero()) out.push(`${r} max limit to request ratio per ${what} is ${v}, but no request is specified or request is 0`);
    else if (lim === undefined) out.push(`${r} max limit to request ratio per ${what} is ${v}, but no limit is specified`);
    else if (lim.milliValue() * 1000n > Quantity.parse(v).milliValue() * req.milliValue()) {
      out.push(`${r} max limit to request ratio per ${what} is ${v}, but provided ratio is ${(Number(lim.milliValue()) / Number(req.milliValue())).toFixed(6)}`);
    }
  }
  return out;
}

const quantityIn = (list: ResourceList | undefined) => (r: string) => (list?.[r] !== undefined ? Quantity.parse(list[r]) : undefined);

/** Fills in and bounds a new pod by `ranges` (in name order); the messages of what it breaks. */
export function admitPodWithinRanges(pod: Pod, ranges: readonly LimitRange[]): { set: string[]; refused: string[] } {
  const set: string[] = [];
  for (const lr of ranges) {
    for (const item of lr.spec.limits) {
      if (item.type === 'Container') for (const c of allContainers(pod)) set.push(...fillIn(c, item));
    }
  }
  const refused: string[] = [];
  for (const lr of ranges) {
    for (const item of lr.spec.limits) {
      if (item.type === 'Container') {
        for (const c of allContainers(pod)) refused.push(...violations(item, 'Container', quantityIn(c.resources.requests), quantityIn(c.resources.limits)));
      } else if (item.type === 'Pod') {
        const requests = podTotal(pod, 'requests');
        const limits = podTotal(pod, 'limits');
        refused.push(...violations(item, 'Pod', (r) => requests.get(r), (r) => limits.get(r)));
      }
    }
  }
  return { set, refused };
}

/** The pod create admission (RestResource.addCreateAdmission) over the cached LimitRanges. */
export function limitRangeAdmission(ranges: ResourceStore): (obj: KubeObject) => Promise<void> {
  return async (obj) => {
    const pod = obj as unknown as Pod;
    const { items } = await ranges.cache.list(ranges.keyPrefix(pod.metadata.namespace));
    if (items.length === 0) return;
    const { set, refused } = admitPodWithinRanges(pod, items as unknown as LimitRange[]);
    if (refused.length > 0) {
      const name = pod.metadata.name ?? pod.metadata.generateName ?? '';
      throw new ForbiddenError(`pods "${name}" is forbidden: ${refused.length === 1 ? refused[0] : `[${refused.join(', ')}]`}`, { name, kind: 'pods' });
    }
    if (set.length > 0) pod.metadata.annotations = { ...pod.metadata.annotations, [LIMIT_RANGER_ANNOTATION]: `LimitRanger plugin set: ${set.join('; ')}` };
  };
}
