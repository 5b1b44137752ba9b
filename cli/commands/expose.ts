// `cellctl expose deployment/web --port=80 --target-port=8080 [--type=NodePort]`: a Service for a
// pod, Deployment, ReplicaSet, StatefulSet or another Service, as kubectl expose makes it — the
// object's selector (a pod's labels), its labels, and its container ports when --port is not
// given (several become `port-1`, `port-2`, … as kubectl names them).
import type { ContainerPort, Pod, PodTemplateSpec } from '../../shared/api/core.js';
import { servicesResource } from '../../shared/api/registry.js';
import { SERVICE_TYPES, type Service, type ServicePort } from '../../shared/api/service.js';
import type { LabelSelector } from '../../shared/api/meta.js';
import type { Cli } from '../context.js';
import { UsageError } from '../errors.js';
import { refFor } from '../resources.js';
import { createGenerated, parseCreateOutput } from './create.js';
import { workloadTarget } from './workload-target.js';
import { parseDryRun } from './write-options.js';

const EXPOSABLE = ['pods', 'services', 'deployments', 'replicasets', 'statefulsets'] as const;

export interface ExposeOptions {
  port?: string;
  targetPort?: string;
  type?: string;
  name?: string;
  protocol?: string;
  selector?: string;
  clusterIp?: string;
  dryRun?: string | boolean;
  output?: string;
}

interface Exposed {
  metadata: { name?: string; labels?: Record<string, string> };
  spec?: { selector?: LabelSelector | Record<string, string>; template?: PodTemplateSpec; containers?: Pod['spec']['containers']; ports?: ServicePort[] };
}

/** What the Service selects: a pod's labels, a Service's selector, a workload's matchLabels. */
function selectorOf(resource: string, obj: Exposed): Record<string, string> {
  if (resource === 'pods') return { ...(obj.metadata.labels ?? {}) };
  if (resource === 'services') return { ...((obj.spec?.selector as Record<string, string> | undefined) ?? {}) };
  const selector = obj.spec?.selector as LabelSelector | undefined;
  if (selector?.matchExpressions?.length) throw new UsageError("couldn't generate a selector: the workload's selector has matchExpressions, which a Service cannot hold");
  return { ...(selector?.matchLabels ?? {}) };
}

/** The object's own ports: a pod's or template's container ports, a Service's ports. */
function portsOf(resource: string, obj: Exposed): { port: number; protocol?: ContainerPort['protocol'] }[] {
  if (resource === 'services') return (obj.spec?.ports ?? []).map((p) => ({ port: p.port, protocol: p.protocol }));
  const containers = resource === 'pods' ? (obj.spec?.containers ?? []) : (obj.spec?.template?.spec.containers ?? []);
  return containers.flatMap((c) => (c.ports ?? []).map((p) => ({ port: p.containerPort, protocol: p.protocol })));
}

function portNumber(flag: string, text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 65535) throw new UsageError(`invalid ${flag} "${text}": must be a port number from 1 to 65535`);
  return n;
}

/** `a=b,c=d` → its labels. */
function parseSelector(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new UsageError(`--selector takes key=value pairs, comma-separated, not "${part}"`);
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

export async function runExpose(cli: Cli, args: string[], o: ExposeOptions): Promise<number> {
  const target = await workloadTarget(cli, args, 'expose', EXPOSABLE);
  const type = o.type ?? 'ClusterIP';
  if (!(SERVICE_TYPES as readonly string[]).includes(type) || type === 'ExternalName') {
    throw new UsageError(`--type must be ClusterIP, NodePort or LoadBalancer, not "${type}"`);
  }
  const protocol = (o.protocol ?? 'TCP').toUpperCase();
  if (!['TCP', 'UDP', 'SCTP'].includes(protocol)) throw new UsageError(`--protocol must be TCP, UDP or SCTP, not "${o.protocol ?? ''}"`);
  const obj = await cli.client.get<Exposed>(refFor(target.info, cli.namespace, target.name));
  const selector = o.selector !== undefined ? parseSelector(o.selector) : selectorOf(target.info.resource, obj);
  if (Object.keys(selector).length === 0) throw new UsageError(`couldn't find a selector for ${target.display}: give one with --selector`);
  const targetPort = o.targetPort === undefined ? undefined : /^\d+$/.test(o.targetPort) ? portNumber('--target-port', o.targetPort) : o.targetPort;
  let ports: ServicePort[];
  if (o.port !== undefined) {
    const port = portNumber('--port', o.port);
    ports = [{ protocol: protocol as ServicePort['protocol'], port, targetPort: targetPort ?? port }];
  } else {
    const own = portsOf(target.info.resource, obj);
    if (own.length === 0) throw new UsageError(`couldn't find port via --port flag or introspection: ${target.display} declares no ports`);
    ports = own.map((p, i) => ({
      ...(own.length > 1 ? { name: `port-${i + 1}` } : {}),
      protocol: o.protocol !== undefined ? (protocol as ServicePort['protocol']) : (p.protocol ?? 'TCP'),
      port: p.port,
      targetPort: targetPort ?? p.port,
    }));
  }
  const name = o.name ?? target.name;
  const labels = obj.metadata.labels;
  const svc: Omit<Service, 'status'> = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, ...(labels && Object.keys(labels).length > 0 ? { labels } : {}) },
    spec: { ports, selector, ...(o.type !== undefined ? { type: type as Service['spec']['type'] } : {}), ...(o.clusterIp !== undefined ? { clusterIP: o.clusterIp } : {}) },
  };
  return createGenerated(cli, servicesResource, svc as unknown as Record<string, unknown>, { dryRun: parseDryRun(o.dryRun), output: parseCreateOutput(o.output) }, 'exposed');
}
