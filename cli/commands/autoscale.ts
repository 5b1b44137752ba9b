// `cellctl autoscale deployment/web --min=2 --max=10 --cpu-percent=80`: a HorizontalPodAutoscaler
// for a Deployment, ReplicaSet or StatefulSet, named after it, as kubectl autoscale makes one
// (written here in autoscaling/v2, the version the server stores), and its `describe` page.
import { HPA_V2_API_VERSION, metricsSummary, type HorizontalPodAutoscaler, type MetricSpec, type ScalingRules } from '../../shared/api/autoscaling.js';
import { horizontalPodAutoscalersResource } from '../../shared/api/registry.js';
import type { KubeObject } from '../../shared/api/meta.js';
import type { Cli } from '../context.js';
import { UsageError } from '../errors.js';
import type { DescribeWriter } from '../output/describe.js';
import { keyValues } from '../output/describe.js';
import { qualifiedKind } from '../output/printers.js';
import { refFor } from '../resources.js';
import { SCALABLE } from './scale.js';
import { workloadTarget } from './workload-target.js';
import { dryRunQuery, parseDryRun } from './write-options.js';

export interface AutoscaleOptions {
  min?: string;
  max?: string;
  cpuPercent?: string;
  name?: string;
  dryRun?: string | boolean;
}

function positive(flag: string, value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive integer, not "${value}"`);
  return n;
}

export async function runAutoscale(cli: Cli, args: string[], o: AutoscaleOptions): Promise<number> {
  if (o.max === undefined) throw new UsageError("required flag '--max' not set");
  const max = positive('--max', o.max);
  const min = o.min !== undefined ? positive('--min', o.min) : 1;
  if (max < min) throw new UsageError(`--max=${max} must be at least --min=${min}`);
  const target = await workloadTarget(cli, args, 'autoscale', SCALABLE);
  const metrics: MetricSpec[] =
    o.cpuPercent !== undefined ? [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: positive('--cpu-percent', o.cpuPercent) } } }] : [];
  const hpa = {
    apiVersion: HPA_V2_API_VERSION,
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: o.name ?? target.name },
    spec: {
      scaleTargetRef: { apiVersion: target.info.apiVersion, kind: target.info.kind, name: target.name },
      minReplicas: min,
      maxReplicas: max,
      ...(metrics.length > 0 ? { metrics } : {}),
    },
  };
  const dryRun = parseDryRun(o.dryRun);
  if (dryRun !== 'client') await cli.client.create(refFor(horizontalPodAutoscalersResource, cli.namespace), hpa, dryRunQuery(dryRun));
  const suffix = dryRun === 'server' ? ' (server dry run)' : dryRun === 'client' ? ' (dry run)' : '';
  cli.print(`${qualifiedKind(horizontalPodAutoscalersResource)}/${hpa.metadata.name} autoscaled${suffix}\n`);
  return 0;
}

function rulesLines(w: DescribeWriter, title: string, rules: ScalingRules | undefined): void {
  if (rules === undefined) return;
  w.line(1, `${title}:`);
  if (rules.stabilizationWindowSeconds !== undefined) w.line(2, 'Stabilization Window:', `${rules.stabilizationWindowSeconds} seconds`);
  w.line(2, 'Select Policy:', rules.selectPolicy ?? 'Max');
  w.line(2, 'Policies:');
  for (const p of rules.policies ?? []) w.line(3, '-', `Type: ${p.type}  Value: ${p.value}  Period: ${p.periodSeconds} seconds`);
}

/** kubectl describe's page for an autoscaler: what it scales, each metric as measured / its target, bounds, behavior, conditions. */
export function describeAutoscaler(w: DescribeWriter, obj: KubeObject): void {
  const hpa = obj as unknown as HorizontalPodAutoscaler;
  const { spec, status } = hpa;
  w.line(0, 'Name:', hpa.metadata.name ?? '');
  w.line(0, 'Namespace:', hpa.metadata.namespace ?? '');
  w.multiline(0, 'Labels:', keyValues(hpa.metadata.labels));
  w.multiline(0, 'Annotations:', keyValues(hpa.metadata.annotations));
  w.line(0, 'CreationTimestamp:', hpa.metadata.creationTimestamp ? new Date(hpa.metadata.creationTimestamp).toUTCString() : '<unset>');
  w.line(0, 'Reference:', `${spec.scaleTargetRef.kind}/${spec.scaleTargetRef.name}`);
  w.line(0, 'Metrics:', '( current / target )');
  spec.metrics.forEach((m, i) => {
    const source = m.resource ?? m.containerResource;
    const now = status.currentMetrics?.[i];
    const current = now?.resource?.current ?? now?.containerResource?.current;
    let reading: string;
    if (source?.target.type === 'Utilization') {
      const at = current?.averageUtilization !== undefined ? `${current.averageUtilization}%${current.averageValue !== undefined ? ` (${current.averageValue})` : ''}` : '<unknown>';
      reading = `${at} / ${source.target.averageUtilization ?? '<auto>'}%`;
    } else if (source !== undefined) reading = `${current?.averageValue ?? '<unknown>'} / ${source.target.averageValue ?? ''}`;
    else reading = metricsSummary({ ...hpa, spec: { ...spec, metrics: [m] }, status: { ...status, currentMetrics: now ? [now] : [] } });
    const what =
      source === undefined ? `${m.type.toLowerCase()} metric` : m.type === 'ContainerResource' ? `resource ${source.name} of container "${m.containerResource?.container ?? ''}" on pods` : `resource ${source.name} on pods`;
    w.line(1, `${what}${source?.target.type === 'Utilization' ? '  (as a percentage of request)' : ''}:`, reading);
  });
  w.line(0, 'Min replicas:', String(spec.minReplicas));
  w.line(0, 'Max replicas:', String(spec.maxReplicas));
  if (spec.behavior !== undefined) {
    w.line(0, 'Behavior:');
    rulesLines(w, 'Scale Up', spec.behavior.scaleUp);
    rulesLines(w, 'Scale Down', spec.behavior.scaleDown);
  }
  w.line(0, `${spec.scaleTargetRef.kind} pods:`, `${status.currentReplicas} current / ${status.desiredReplicas} desired`);
  const conditions = status.conditions ?? [];
  if (conditions.length === 0) w.line(0, 'Conditions:', '<none>');
  else {
    w.line(0, 'Conditions:');
    w.table(1, ['Type', 'Status', 'Reason', 'Message'], conditions.map((c) => [c.type, c.status, c.reason ?? '', c.message ?? '']));
  }
}
