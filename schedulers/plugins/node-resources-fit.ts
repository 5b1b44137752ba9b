// NodeResourcesFit: the pod's requests must fit what the node has free (the ledger's view plus this
// scheduler's assumptions, leaving room for higher-priority pods nominated there), resource by
// resource: cpu, memory, pods and extended resources. Scoring strategy:
//   LeastAllocated  prefer the emptiest nodes (spread)          — the default profile
//   MostAllocated   prefer the fullest nodes that still fit (binpack)
// each resource's share weighted as the profile says (default cpu 1, memory 1).
import { z } from 'zod';
import { isLimitedResource } from '../../shared/node-fit.js';
import { PODS_RESOURCE } from '../../shared/pod-resources.js';
import { MAX_NODE_SCORE, unschedulable, type Plugin, type PluginFactory, type Rejection } from '../framework/plugin.js';
import {
  FIT_ALLOCATABLE_CPU,
  FIT_ALLOCATABLE_MEMORY,
  FIT_ALLOCATABLE_PODS,
  FIT_NOMINATED,
  FIT_REQUESTED_CPU,
  FIT_REQUESTED_MEMORY,
  FIT_REQUESTED_PODS,
  type NodeInfo,
} from '../cache/node-info.js';
import type { ResourceVector } from '../cache/resources.js';
import type { CycleContext } from '../framework/cycle.js';

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
  return isLimitedResource(name, (n) => allocatable.has(n));
}

/** Which field of a ResourceVector a scored resource reads (cpu, memory and pods are fields, not map entries). */
const enum Field {
  Cpu,
  Memory,
  Pods,
  Scalar,
}

function fieldOf(name: string): Field {
  return name === 'cpu' ? Field.Cpu : name === 'memory' ? Field.Memory : name === PODS_RESOURCE ? Field.Pods : Field.Scalar;
}

/** Where a field's requested and allocatable amounts sit in a node's fit row (-1: not there). */
const REQUESTED_SLOT = [FIT_REQUESTED_CPU, FIT_REQUESTED_MEMORY, FIT_REQUESTED_PODS, -1] as const;
const ALLOCATABLE_SLOT = [FIT_ALLOCATABLE_CPU, FIT_ALLOCATABLE_MEMORY, FIT_ALLOCATABLE_PODS, -1] as const;

function amount(v: ResourceVector, field: Field, name: string): number {
  switch (field) {
    case Field.Cpu:
      return v.cpu;
    case Field.Memory:
      return v.memory;
    case Field.Pods:
      return v.pods;
    default:
      return v.get(name);
  }
}

interface ScoredResource {
  readonly name: string;
  readonly weight: number;
  readonly field: Field;
  /** cpu and memory count in the weights even on a node without them. */
  readonly alwaysCounts: boolean;
}

export const create: PluginFactory = (rawArgs): Plugin => {
  const args = ArgsSchema.parse(rawArgs);
  const ignored = new Set(args.ignoredResources);
  const most = args.scoringStrategy.type === 'MostAllocated';
  const scored: ScoredResource[] = args.scoringStrategy.resources.map(({ name, weight }) => ({
    name,
    weight,
    field: fieldOf(name),
    alwaysCounts: name === 'cpu' || name === 'memory',
  }));
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

  // Filter and score run for hundreds of nodes per cycle: what depends only on the pod is worked
  // out once per cycle (keyed by the cycle's context) rather than once per node.
  let prepared: CycleContext | undefined;
  /** The requests the filter checks (0 = not checked: none requested, or ignored). */
  let needPods = 0;
  let needCpu = 0;
  let needMemory = 0;
  /** The pod's request of each scored resource, in `scored` order. */
  const scoredRequest = new Float64Array(scored.length);
  const prepare = (ctx: CycleContext): void => {
    prepared = ctx;
    const req = ctx.pod.requests;
    needPods = req.pods > 0 ? req.pods : 0;
    needCpu = req.cpu > 0 && !ignored.has('cpu') ? req.cpu : 0;
    needMemory = req.memory > 0 && !ignored.has('memory') ? req.memory : 0;
    for (let i = 0; i < scored.length; i++) scoredRequest[i] = amount(req, scored[i]!.field, scored[i]!.name);
  };

  return {
    name: NAME,
    events: ['NodeAdded', 'NodeChanged', 'RoomReleased', 'PodGone'],
    filter(ctx, node) {
      if (ctx !== prepared) prepare(ctx);
      const req = ctx.pod.requests;
      // The node's fit row (requested, allocatable, nominated count): the same numbers as
      // node.requested / node.allocatable, read from one small block.
      const f = node.fit;
      const o = node.fitAt;
      const nominated = f[o + FIT_NOMINATED] === 0 ? undefined : node.nominatedRequestsFor(ctx.pod);
      let pods: boolean;
      let cpu: boolean;
      let memory: boolean;
      if (nominated === undefined) {
        pods = needPods > 0 && f[o + FIT_REQUESTED_PODS]! + needPods > f[o + FIT_ALLOCATABLE_PODS]!;
        cpu = needCpu > 0 && f[o + FIT_REQUESTED_CPU]! + needCpu > f[o + FIT_ALLOCATABLE_CPU]!;
        memory = needMemory > 0 && f[o + FIT_REQUESTED_MEMORY]! + needMemory > f[o + FIT_ALLOCATABLE_MEMORY]!;
        if (!req.scalars && !pods && !cpu && !memory) return undefined;
      } else {
        const used = node.requested;
        const alloc = node.allocatable;
        pods = needPods > 0 && used.pods + needPods + nominated.pods > alloc.pods;
        cpu = needCpu > 0 && used.cpu + needCpu + nominated.cpu > alloc.cpu;
        memory = needMemory > 0 && used.memory + needMemory + nominated.memory > alloc.memory;
      }
      let extra: string[] | undefined;
      if (req.scalars) {
        const used = node.requested;
        const alloc = node.allocatable;
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
      if (ctx !== prepared) prepare(ctx);
      return allocationScore(node, scored, scoredRequest, most);
    },
  };
};

/** Weighted share of each resource that is free (LeastAllocated) or used (MostAllocated) once the pod is on. */
function allocationScore(node: NodeInfo, scored: readonly ScoredResource[], req: Float64Array, most: boolean): number {
  let total = 0;
  let weightSum = 0;
  const f = node.fit;
  const o = node.fitAt;
  for (let i = 0; i < scored.length; i++) {
    const { name, weight, field } = scored[i]!;
    const scalar = field === Field.Scalar;
    const capacity = scalar ? node.allocatable.get(name) : f[o + ALLOCATABLE_SLOT[field]]!;
    if (capacity <= 0) {
      // A node without an extended resource is not scored on it; cpu and memory always count.
      if (scored[i]!.alwaysCounts) weightSum += weight;
      continue;
    }
    const requested = (scalar ? node.requested.get(name) : f[o + REQUESTED_SLOT[field]]!) + req[i]!;
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
