// NodeResourcesFit: the pod's requests must fit what the node has free (the ledger's view plus this
// scheduler's assumptions, leaving room for higher-priority pods nominated there), resource by
// resource: cpu, memory, pods and extended resources. Scoring strategy:
//   LeastAllocated  prefer the emptiest nodes (spread)          — the default profile
//   MostAllocated   prefer the fullest nodes that still fit (binpack)
// each resource's share weighted as the profile says (default cpu 1, memory 1).
import { z } from 'zod';
import { PODS_RESOURCE } from '../../shared/pod-resources.js';
import { MAX_NODE_SCORE, unschedulable, type Plugin, type PluginFactory, type Rejection } from '../framework/plugin.js';
import type { NodeInfo } from '../cache/node-info.js';
import type { ResourceVector } from '../cache/resources.js';

export const NAME = 'NodeResourcesFit';

const ArgsSchema = z
  .object({
    scoringStrategy: z
      .object({
        type: z.enum(['LeastAllocated', 'MostAllocated']).default('LeastAllocated'),
        resources: z
          .array(z.object({ name: z.string().min(1), weight: z.number().int().min(1).max(100).default(1) }).strict())
          .min(1)
          .default([{ name: 'cpu', weight: 1 }, { name: 'memory', weight: 1 }]),
      })
      .strict()
      .prefault({}),
    /** Requests of these resources are not checked (e.g. resources managed elsewhere). */
    ignoredResources: z.array(z.string()).default([]),
  })
  .strict();

export type NodeResourcesFitArgs = z.input<typeof ArgsSchema>;

/**
 * Whether a request for `name` is limited on this node. The API server's ledger rule: cpu, memory,
 * pods and extended (`domain/name`) resources always are; others only when the node lists them.
 */
function limited(name: string, allocatable: ResourceVector): boolean {
  return name === 'cpu' || name === 'memory' || name === PODS_RESOURCE || name.includes('/') || allocatable.has(name);
}

export const create: PluginFactory = (rawArgs): Plugin => {
  const args = ArgsSchema.parse(rawArgs);
  const ignored = new Set(args.ignoredResources);
  const most = args.scoringStrategy.type === 'MostAllocated';
  const weights = args.scoringStrategy.resources;
  const rejections = new Map<string, Rejection>();
  const rejectionFor = (reasons: string[]): Rejection => {
    const key = reasons.join('\n');
    let r = rejections.get(key);
    if (!r) {
      r = unschedulable(...reasons);
      rejections.set(key, r);
    }
    return r;
  };
  const TOO_MANY_PODS = rejectionFor(['Too many pods']);
  const NO_CPU = rejectionFor(['Insufficient cpu']);
  const NO_MEMORY = rejectionFor(['Insufficient memory']);

  return {
    name: NAME,
    filter(ctx, node) {
      const req = ctx.pod.requests;
      const used = node.requested;
      const alloc = node.allocatable;
      const nominated = node.nominatedRequestsFor(ctx.pod);
      const pods = req.pods > 0 && used.pods + req.pods + (nominated?.pods ?? 0) > alloc.pods;
      const cpu = req.cpu > 0 && !ignored.has('cpu') && used.cpu + req.cpu + (nominated?.cpu ?? 0) > alloc.cpu;
      const memory = req.memory > 0 && !ignored.has('memory') && used.memory + req.memory + (nominated?.memory ?? 0) > alloc.memory;
      let extra: string[] | undefined;
      if (req.scalars) {
        for (const [name, amount] of req.scalars) {
          if (amount <= 0 || ignored.has(name) || !limited(name, alloc)) continue;
          if (used.get(name) + amount + (nominated?.get(name) ?? 0) > alloc.get(name)) (extra ??= []).push(`Insufficient ${name}`);
        }
      }
      if (!pods && !cpu && !memory && !extra) return undefined;
      // Kubernetes reports every resource that is short, so counts tell the whole story.
      if (!extra) {
        if (pods && !cpu && !memory) return TOO_MANY_PODS;
        if (cpu && !pods && !memory) return NO_CPU;
        if (memory && !pods && !cpu) return NO_MEMORY;
      }
      const reasons: string[] = [];
      if (pods) reasons.push('Too many pods');
      if (cpu) reasons.push('Insufficient cpu');
      if (memory) reasons.push('Insufficient memory');
      if (extra) reasons.push(...extra);
      return rejectionFor(reasons);
    },
    score(ctx, node) {
      return allocationScore(node, ctx.pod.requests, weights, most);
    },
  };
};

/** Weighted share of each resource that is free (LeastAllocated) or used (MostAllocated) once the pod is on. */
function allocationScore(node: NodeInfo, req: ResourceVector, weights: readonly { name: string; weight: number }[], most: boolean): number {
  let total = 0;
  let weightSum = 0;
  for (const { name, weight } of weights) {
    const capacity = node.allocatable.get(name);
    if (capacity <= 0) {
      // A node without an extended resource is not scored on it; cpu and memory always count.
      if (name === 'cpu' || name === 'memory') weightSum += weight;
      continue;
    }
    const requested = node.requested.get(name) + req.get(name);
    const share = most
      ? (Math.min(requested, capacity) * MAX_NODE_SCORE) / capacity
      : requested >= capacity
        ? 0
        : ((capacity - requested) * MAX_NODE_SCORE) / capacity;
    total += share * weight;
    weightSum += weight;
  }
  return weightSum === 0 ? 0 : Math.floor(total / weightSum);
}
