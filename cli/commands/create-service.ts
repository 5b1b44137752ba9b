// `cellctl create service clusterip|nodeport|loadbalancer|externalname NAME …`: the Service
// kubectl's generators build — selector and labels app=NAME, each `--tcp=PORT[:TARGET]` a port
// named `PORT-TARGET` (or `PORT`).
import { servicesResource } from '../../shared/api/registry.js';
import type { ServicePort } from '../../shared/api/service.js';
import type { Cli } from '../context.js';
import { UsageError } from '../errors.js';
import { createGenerated, parseCreateOutput } from './create.js';
import { parseDryRun } from './write-options.js';

export const SERVICE_GENERATORS = { clusterip: 'ClusterIP', nodeport: 'NodePort', loadbalancer: 'LoadBalancer', externalname: 'ExternalName' } as const;
export type ServiceGenerator = keyof typeof SERVICE_GENERATORS;

export interface CreateServiceOptions {
  tcp?: string[];
  clusterip?: string;
  nodePort?: string;
  externalName?: string;
  dryRun?: string | boolean;
  output?: string;
}

function portNumber(text: string, what: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 65535) throw new UsageError(`invalid ${what} "${text}": must be a port number from 1 to 65535`);
  return n;
}

/** `5678:8080` → a port named `5678-8080`; `80` → named `80`, as kubectl names them. */
function tcpPort(spec: string): ServicePort {
  const [port, target, ...rest] = spec.split(':');
  if (port === undefined || rest.length > 0) throw new UsageError(`--tcp takes PORT or PORT:TARGET_PORT, not "${spec}"`);
  const p = portNumber(port, '--tcp port');
  const t = target === undefined ? p : /^\d+$/.test(target) ? portNumber(target, '--tcp target port') : target;
  return { name: target === undefined ? String(p) : `${p}-${t}`, protocol: 'TCP', port: p, targetPort: t };
}

export function serviceFor(kind: ServiceGenerator, name: string, namespace: string | undefined, o: CreateServiceOptions): Record<string, unknown> {
  const type = SERVICE_GENERATORS[kind];
  const ports = (o.tcp ?? []).map(tcpPort);
  if (kind === 'externalname') {
    if (!o.externalName) throw new UsageError('required flag(s) "external-name" not set: cellctl create service externalname NAME --external-name=DNS_NAME');
  } else if (ports.length === 0 && !(kind === 'clusterip' && o.clusterip === 'None')) {
    throw new UsageError(`at least one --tcp=PORT[:TARGET_PORT] is required: cellctl create service ${kind} NAME --tcp=80:8080`);
  }
  if (o.nodePort !== undefined) {
    if (kind !== 'nodeport') throw new UsageError('--node-port is for nodeport Services');
    const n = portNumber(o.nodePort, '--node-port');
    for (const p of ports) p.nodePort = n;
  }
  const labels = { app: name };
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, ...(namespace !== undefined ? { namespace } : {}), labels },
    spec: {
      ...(ports.length > 0 ? { ports } : {}),
      selector: labels,
      type,
      ...(o.clusterip !== undefined ? { clusterIP: o.clusterip } : {}),
      ...(kind === 'externalname' ? { externalName: o.externalName } : {}),
    },
  };
}

export async function runCreateService(cli: Cli, kind: ServiceGenerator, name: string, o: CreateServiceOptions): Promise<number> {
  const body = serviceFor(kind, name, cli.namespaceExplicit ? cli.namespace : undefined, o);
  return createGenerated(cli, servicesResource, body, { dryRun: parseDryRun(o.dryRun), output: parseCreateOutput(o.output) });
}
