// metrics.k8s.io/v1beta1 NodeMetrics and PodMetrics — what `kubectl top` reads, as metrics-server
// serves them — and the usage sample a node agent serves at /stats/resource, from which the API
// server builds them (apiserver/controllers/resource-metrics.ts). Usage is measured, not requested:
// CPU as a rate over the sample's window, memory as resident bytes at its end.
import { z } from 'zod';
import { ObjectMetaSchema, TimeSchema } from './meta.js';

export const METRICS_GROUP = 'metrics.k8s.io';
export const METRICS_VERSION = 'v1beta1';
export const METRICS_API_VERSION = `${METRICS_GROUP}/${METRICS_VERSION}`;

/** Usage as Kubernetes quantities: `cpu` in cores (nanocores, `12345n`), `memory` in bytes (`2048Ki`). */
export const MetricsUsageSchema = z.object({
  cpu: z.string().describe('CPU in use: the average over the window, in cores (e.g. 250000000n is a quarter of a core).'),
  memory: z.string().describe('Memory resident at the end of the window, in bytes (e.g. 2048Ki).'),
});
export type MetricsUsage = z.infer<typeof MetricsUsageSchema>;

export const NodeMetricsSchema = z.object({
  apiVersion: z.literal(METRICS_API_VERSION),
  kind: z.literal('NodeMetrics'),
  metadata: ObjectMetaSchema,
  timestamp: TimeSchema.describe('The end of the window the usage was measured over.'),
  window: z.string().describe('The length of that window, as a duration (10s).'),
  usage: MetricsUsageSchema.describe("What the node's containers and its agent use."),
}).describe("A node's measured CPU and memory use, from its agent's latest sample (read-only).");
export type NodeMetrics = z.infer<typeof NodeMetricsSchema>;

export const ContainerMetricsSchema = z.object({
  name: z.string().describe('The container, as the pod names it.'),
  usage: MetricsUsageSchema.describe('What the container (every process it started) uses.'),
});
export type ContainerMetrics = z.infer<typeof ContainerMetricsSchema>;

export const PodMetricsSchema = z.object({
  apiVersion: z.literal(METRICS_API_VERSION),
  kind: z.literal('PodMetrics'),
  metadata: ObjectMetaSchema,
  timestamp: TimeSchema.describe('The end of the window the usage was measured over.'),
  window: z.string().describe('The length of that window, as a duration (10s).'),
  containers: z.array(ContainerMetricsSchema).describe('Each container that ran through the whole window.'),
}).describe("A pod's measured CPU and memory use per container, from its node agent's latest sample (read-only).");
export type PodMetrics = z.infer<typeof PodMetricsSchema>;

// ---- The agent's sample (GET /stats/resource on its endpoint) ----

/** Most pods one agent's sample may list: far above any node's pod capacity. */
export const MAX_SAMPLED_PODS = 10_000;

/** Measured usage in integers, as the kubelet's stats summary counts it. */
export const UsageSampleSchema = z.object({
  /** Average CPU use over the window, in billionths of a core. */
  cpuNanoCores: z.number().int().nonnegative(),
  /** Resident memory at the end of the window. */
  memoryBytes: z.number().int().nonnegative(),
});
export type UsageSample = z.infer<typeof UsageSampleSchema>;

export const PodUsageSampleSchema = z.object({
  namespace: z.string(),
  name: z.string(),
  uid: z.string(),
  containers: z.array(z.object({ name: z.string(), usage: UsageSampleSchema })).max(256),
});
export type PodUsageSample = z.infer<typeof PodUsageSampleSchema>;

export const NodeUsageSampleSchema = z.object({
  nodeName: z.string(),
  /** The end of the window. */
  timestamp: TimeSchema,
  /** The window's length: the time between the last two samples. */
  windowSeconds: z.number().positive(),
  /** The node as a whole: its containers and the agent itself. */
  node: UsageSampleSchema,
  /** Every container that ran through the whole window (a container started within it waits for the next). */
  pods: z.array(PodUsageSampleSchema).max(MAX_SAMPLED_PODS),
});
export type NodeUsageSample = z.infer<typeof NodeUsageSampleSchema>;
