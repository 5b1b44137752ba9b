// `cellctl create -f`: POST every object of the manifests; an object that exists already is an
// error (that is what `apply` is for). Each object succeeds or fails on its own. And
// `cellctl create deployment|job NAME --image=…`, built as kubectl's generators build them.
import { deploymentsResource, jobsResource } from '../../shared/api/registry.js';
import type { Cli } from '../context.js';
import { manifestNamespace, readManifests, withNamespace } from '../manifests.js';
import { objectName } from '../output/printers.js';
import { refFor } from '../resources.js';
import { UsageError } from '../errors.js';
import { dryRunQuery, parseDryRun, reportItemError, type DryRun } from './write-options.js';

export interface CreateOptions {
  filename: string[];
  recursive?: boolean;
  dryRun?: DryRun;
}

export async function runCreate(cli: Cli, o: CreateOptions): Promise<number> {
  const manifests = await readManifests(o.filename, 'create', { recursive: o.recursive ?? false });
  let failed = false;
  for (const m of manifests) {
    try {
      const ns = manifestNamespace(m, cli.namespace, cli.namespaceExplicit);
      const body = withNamespace(m, ns);
      const name = m.object.metadata.name ?? '';
      if (o.dryRun !== 'client') {
        const created = await cli.client.create<{ metadata?: { name?: string } }>(refFor(m.info, ns), body, dryRunQuery(o.dryRun));
        cli.print(`${objectName(m.info, created.metadata?.name ?? name)} created${o.dryRun === 'server' ? ' (server dry run)' : ''}\n`);
      } else {
        cli.print(`${objectName(m.info, name)} created (dry run)\n`);
      }
    } catch (err) {
      reportItemError(cli, err, m);
      failed = true;
    }
  }
  return failed ? 1 : 0;
}

export interface CreateWorkloadOptions {
  image: string;
  replicas?: number;
  port?: number;
  command: string[];
  dryRun?: DryRun;
}

/**
 * kubectl's container name for an image: its last path part without tag or digest; an underscore
 * (not allowed in a DNS label) becomes a dash, and then, as kubectl does, a random 5-character
 * suffix keeps two such names apart (`registry/team/my_app:1.2` → `my-app-x7k2q`).
 */
export function containerNameFor(image: string): string {
  const last = image.split('/').pop() ?? image;
  const bare = last.split('@')[0]!.split(':')[0]!;
  if (!bare.includes('_')) return bare;
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  const suffix = Array.from({ length: 5 }, () => alphabet[Math.floor(Math.random() * alphabet.length)]).join('');
  return `${bare.replace(/_/g, '-')}-${suffix}`;
}

/** `cellctl create deployment NAME --image=IMG [--replicas=N] [--port=P] [-- COMMAND ARGS…]`: kubectl's generator. */
export function deploymentFor(name: string, namespace: string, o: CreateWorkloadOptions): Record<string, unknown> {
  const labels = { app: name };
  const container = {
    name: containerNameFor(o.image),
    image: o.image,
    ...(o.command.length > 0 ? { command: o.command } : {}),
    ...(o.port !== undefined ? { ports: [{ containerPort: o.port }] } : {}),
  };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels },
    spec: { replicas: o.replicas ?? 1, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [container] } } },
  };
}

/** `cellctl create job NAME --image=IMG [-- COMMAND ARGS…]`: kubectl's generator (the container is named after the Job). */
export function jobFor(name: string, namespace: string, o: CreateWorkloadOptions): Record<string, unknown> {
  const container = { name, image: o.image, ...(o.command.length > 0 ? { command: o.command } : {}) };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace },
    spec: { template: { spec: { containers: [container], restartPolicy: 'Never' } } },
  };
}

export async function runCreateWorkload(cli: Cli, kind: 'deployment' | 'job', name: string, o: CreateWorkloadOptions): Promise<number> {
  const info = kind === 'deployment' ? deploymentsResource : jobsResource;
  const body = kind === 'deployment' ? deploymentFor(name, cli.namespace, o) : jobFor(name, cli.namespace, o);
  const shown = objectName(info, name);
  if (o.dryRun === 'client') {
    cli.print(`${shown} created (dry run)\n`);
    return 0;
  }
  await cli.client.create(refFor(info, cli.namespace), body, dryRunQuery(o.dryRun));
  cli.print(`${shown} created${o.dryRun === 'server' ? ' (server dry run)' : ''}\n`);
  return 0;
}

/** The flags as commander hands them over, checked the way kubectl checks them. */
export function createWorkloadOptions(
  kind: 'deployment' | 'job',
  command: string[],
  flags: { image?: string; replicas?: string; port?: string; dryRun?: string | boolean },
): CreateWorkloadOptions {
  if (!flags.image) throw new UsageError(`required flag(s) "image" not set: cellctl create ${kind} NAME --image=IMAGE`);
  const int = (flag: string, v: string, min: number, max: number) => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < min || n > max) throw new UsageError(`invalid ${flag} "${v}": must be an integer from ${min} to ${max}`);
    return n;
  };
  return {
    image: flags.image,
    command,
    ...(flags.replicas !== undefined ? { replicas: int('--replicas', flags.replicas, 0, 2 ** 31 - 1) } : {}),
    ...(flags.port !== undefined ? { port: int('--port', flags.port, 1, 65535) } : {}),
    dryRun: parseDryRun(flags.dryRun),
  };
}
