// Flavor assignment, as Kueue's flavor assigner: for each pod set, each resource group the pod set
// needs gets one flavor — the first, in the queue's order, whose nodes the pods may use (taints
// tolerated, node selector compatible) and whose quota takes the request. "Takes" is a callback:
// plain admission asks shared/queue-fit.ts whether it fits now; preemption asks whether it would
// fit once some workloads are evicted. The result is the admission to commit and its charge.
import type { PodTemplateSpec } from '../../shared/api/core.js';
import type { Admission, ClusterQueue, PodSetAssignment, ResourceFlavor, ResourceGroup, Workload } from '../../shared/api/kueue.js';
import { PODS_RESOURCE, podRequests } from '../../shared/pod-resources.js';
import { Quantity } from '../../shared/quantity.js';
import { addFlavorAmounts, type FitFailure, type FlavorAmounts } from '../../shared/queue-fit.js';
import { ResourceAmounts, toResourceList } from '../../shared/resources.js';
import { tolerates } from '../../shared/tolerations.js';

/** What one pod set asks for: per-pod requests, and the pod count. */
export interface PodSetRequest {
  name: string;
  count: number;
  perPod: ResourceAmounts;
  template: PodTemplateSpec;
}

/** Per-pod requests of each pod set (Kubernetes' effective requests; `pods` counts one per pod). */
export function podSetRequests(wl: Pick<Workload, 'spec'>): PodSetRequest[] {
  return wl.spec.podSets.map((ps) => ({ name: ps.name, count: ps.count, perPod: podRequests({ spec: ps.template.spec }), template: ps.template }));
}

/** The verdict of the quota callback on a candidate charge (the whole workload so far). */
export type QuotaVerdict = { ok: true } | { ok: false; failures: readonly FitFailure[] };

export interface AssignedFlavors {
  admission: Admission;
  /** What the admission charges the queue, per flavor and resource. */
  charge: FlavorAmounts;
}

export type AssignResult = { ok: true; assigned: AssignedFlavors } | { ok: false; message: string };

function times(q: Quantity, count: number): Quantity {
  return Quantity.fromMilli(q.milliValue() * BigInt(count), q.format);
}

function groupOf(cq: ClusterQueue, resource: string): ResourceGroup | undefined {
  return (cq.spec.resourceGroups ?? []).find((g) => g.coveredResources.includes(resource));
}

/** Why the pods may not use the flavor's nodes, or undefined when they may. */
function nodeMismatch(template: PodTemplateSpec, flavor: ResourceFlavor): string | undefined {
  for (const taint of flavor.spec.nodeTaints ?? []) {
    if (taint.effect === 'PreferNoSchedule') continue;
    if (!tolerates(template.spec.tolerations, taint)) {
      return `untolerated taint {${taint.key}${taint.value !== undefined ? `=${taint.value}` : ''}:${taint.effect}} in flavor ${flavor.metadata.name ?? ''}`;
    }
  }
  const selector = template.spec.nodeSelector ?? {};
  for (const [key, value] of Object.entries(flavor.spec.nodeLabels ?? {})) {
    if (selector[key] !== undefined && selector[key] !== value) return `flavor ${flavor.metadata.name ?? ''} doesn't match node affinity`;
  }
  return undefined;
}

/** Kueue's wording for a quota shortfall. */
function shortfall(f: FitFailure): string {
  const more = f.requested.sub(f.available);
  if (f.reason === 'NotCovered') return `insufficient quota for ${f.resource} in flavor ${f.flavor}`;
  return `insufficient unused quota for ${f.resource} in flavor ${f.flavor}, ${more.toString()} more needed`;
}

/**
 * Assign flavors to every pod set of `wl` in `cq`. `quota` judges the whole charge so far plus
 * the candidate; the first flavor it accepts is taken, per resource group, in the queue's order.
 */
export function assignFlavors(
  wl: Pick<Workload, 'spec'>,
  cq: ClusterQueue,
  flavors: ReadonlyMap<string, ResourceFlavor>,
  quota: (charge: FlavorAmounts) => QuotaVerdict,
): AssignResult {
  let charge: FlavorAmounts = new Map();
  const assignments: PodSetAssignment[] = [];
  const coversPods = groupOf(cq, PODS_RESOURCE) !== undefined;
  for (const ps of podSetRequests(wl)) {
    // `pods` is charged only where the queue has quota for it, as Kueue does.
    const wanted = ps.perPod.names().filter((r) => ps.perPod.get(r) > 0n && (r !== PODS_RESOURCE || coversPods));
    const byGroup = new Map<ResourceGroup, string[]>();
    for (const r of wanted) {
      const g = groupOf(cq, r);
      if (!g) return { ok: false, message: `couldn't assign flavors to pod set ${ps.name}: resource ${r} unavailable in ClusterQueue` };
      byGroup.set(g, [...(byGroup.get(g) ?? []), r]);
    }
    const flavorOf: Record<string, string> = {};
    const usage: [string, Quantity][] = [];
    for (const [group, resources] of byGroup) {
      const reasons: string[] = [];
      let chosen: FlavorAmounts | undefined;
      for (const fq of group.flavors) {
        const flavor = flavors.get(fq.name);
        if (!flavor) {
          reasons.push(`flavor ${fq.name} not found`);
          continue;
        }
        const mismatch = nodeMismatch(ps.template, flavor);
        if (mismatch) {
          reasons.push(mismatch);
          continue;
        }
        const request: FlavorAmounts = new Map([[fq.name, new ResourceAmounts(resources.map((r) => [r, times(ps.perPod.quantity(r), ps.count)] as const))]]);
        const verdict = quota(addFlavorAmounts(charge, request));
        if (verdict.ok) {
          chosen = request;
          for (const r of resources) flavorOf[r] = fq.name;
          break;
        }
        reasons.push(...verdict.failures.map(shortfall));
      }
      if (!chosen) return { ok: false, message: `couldn't assign flavors to pod set ${ps.name}: ${[...new Set(reasons)].join(', ')}` };
      charge = addFlavorAmounts(charge, chosen);
      for (const amounts of chosen.values()) for (const r of amounts.names()) usage.push([r, amounts.quantity(r)]);
    }
    assignments.push({ name: ps.name, flavors: flavorOf, resourceUsage: toResourceList(new ResourceAmounts(usage)), count: ps.count });
  }
  return { ok: true, assigned: { admission: { clusterQueue: cq.metadata.name ?? '', podSetAssignments: assignments }, charge } };
}
