// `cellctl create -f`: POST every object of the manifests; an object that exists already is an
// error (that is what `apply` is for). Each object succeeds or fails on its own. And
// `cellctl create deployment|job NAME --image=…`, built as kubectl's generators build them.
// Every create verb prints as kubectl's does: `KIND/NAME created` (with the dry-run mode), or with
// `-o json|yaml|name|jsonpath=…` the object itself — as the server returned it, or, with
// --dry-run=client, as it would have been sent.
import type { ResourceInfo } from '../../shared/api/registry.js';
import { deploymentsResource, jobsResource } from '../../shared/api/registry.js';
import type { Cli } from '../context.js';
import { manifestNamespace, readManifests, withNamespace } from '../manifests.js';
import { formatObjects, objectName, parseOutputFormat, type OutputFormat } from '../output/printers.js';
import { refFor } from '../resources.js';
import { UsageError } from '../errors.js';
import { dryRunQuery, parseDryRun, reportItemError, type DryRun } from './write-options.js';

/** `-o` of the create verbs: a structured format, or undefined for the "created" line. */
export type CreateOutput = Exclude<OutputFormat, { kind: 'table' }> | undefined;

/** kubectl create's `-o` choices (no tables: there is nothing to tabulate). */
export function parseCreateOutput(value: string | undefined): CreateOutput {
  const format = parseOutputFormat(value, ['json', 'yaml', 'name', 'jsonpath']);
  return format.kind === 'table' ? undefined : format;
}

/** Prints each created object as kubectl create does, one after another. */
export class CreatedPrinter {
  private printed = 0;

  constructor(
    private readonly cli: Cli,
    private readonly output: CreateOutput,
    private readonly dryRun: DryRun | undefined,
    /** What the summary line says was done (`service/web exposed`). */
    private readonly done = 'created',
  ) {}

  print(info: ResourceInfo, object: Record<string, unknown>): void {
    const name = String((object.metadata as { name?: string } | undefined)?.name ?? '');
    if (this.output === undefined) {
      const mode = this.dryRun === 'server' ? ' (server dry run)' : this.dryRun === 'client' ? ' (dry run)' : '';
      this.cli.print(`${objectName(info, name)} ${this.done}${mode}\n`);
      return;
    }
    // Several objects print one by one; YAML documents are separated, as kubectl's printer does.
    if (this.output.kind === 'yaml' && this.printed > 0) this.cli.print('---\n');
    this.printed++;
    this.cli.print(formatObjects(this.output, [{ info, object }], true));
  }
}

/** POST `body` (or, with --dry-run=client, only show it) and print the outcome. */
async function createOne(cli: Cli, printer: CreatedPrinter, info: ResourceInfo, namespace: string | undefined, body: Record<string, unknown>, dryRun: DryRun | undefined): Promise<void> {
  const shown = dryRun === 'client' ? body : await cli.client.create<Record<string, unknown>>(refFor(info, namespace), body, dryRunQuery(dryRun));
  printer.print(info, shown);
}

export interface CreateOptions {
  filename: string[];
  recursive?: boolean;
  dryRun?: DryRun;
  output?: CreateOutput;
}

export async function runCreate(cli: Cli, o: CreateOptions): Promise<number> {
  const manifests = await readManifests(cli.types, o.filename, 'create', { recursive: o.recursive ?? false });
  const printer = new CreatedPrinter(cli, o.output, o.dryRun);
  let failed = false;
  for (const m of manifests) {
    try {
      const ns = manifestNamespace(m, cli.namespace, cli.namespaceExplicit);
      await createOne(cli, printer, m.info, ns, withNamespace(m, ns), o.dryRun);
    } catch (err) {
      reportItemError(cli, err, m);
      failed = true;
    }
  }
  return failed ? 1 : 0;
}

/** Shared by the generator verbs (create deployment|job|quota): one object, printed as above. */
export async function createGenerated(cli: Cli, info: ResourceInfo, body: Record<string, unknown>, o: { dryRun?: DryRun; output?: CreateOutput }, done = 'created'): Promise<number> {
  await createOne(cli, new CreatedPrinter(cli, o.output, o.dryRun, done), info, cli.namespace, body, o.dryRun);
  return 0;
}

export interface CreateWorkloadOptions {
  image: string;
  replicas?: number;
  port?: number;
  command: string[];
  dryRun?: DryRun;
  output?: CreateOutput;
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

/**
 * The generated object's metadata: kubectl's generators set the namespace only when one was given
 * on the command line (the request's path names it either way).
 */
function generatedMeta(name: string, namespace: string | undefined, labels?: Record<string, string>): Record<string, unknown> {
  return { name, ...(namespace !== undefined ? { namespace } : {}), ...(labels ? { labels } : {}) };
}

/** `cellctl create deployment NAME --image=IMG [--replicas=N] [--port=P] [-- COMMAND ARGS…]`: kubectl's generator. */
export function deploymentFor(name: string, namespace: string | undefined, o: CreateWorkloadOptions): Record<string, unknown> {
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
    metadata: generatedMeta(name, namespace, labels),
    spec: { replicas: o.replicas ?? 1, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [container] } } },
  };
}

/** `cellctl create job NAME --image=IMG [-- COMMAND ARGS…]`: kubectl's generator (the container is named after the Job). */
export function jobFor(name: string, namespace: string | undefined, o: CreateWorkloadOptions): Record<string, unknown> {
  const container = { name, image: o.image, ...(o.command.length > 0 ? { command: o.command } : {}) };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: generatedMeta(name, namespace),
    spec: { template: { spec: { containers: [container], restartPolicy: 'Never' } } },
  };
}

export async function runCreateWorkload(cli: Cli, kind: 'deployment' | 'job', name: string, o: CreateWorkloadOptions): Promise<number> {
  const namespace = cli.namespaceExplicit ? cli.namespace : undefined;
  const body = kind === 'deployment' ? deploymentFor(name, namespace, o) : jobFor(name, namespace, o);
  return createGenerated(cli, kind === 'deployment' ? deploymentsResource : jobsResource, body, o);
}

/** The flags as commander hands them over, checked the way kubectl checks them. */
export function createWorkloadOptions(
  kind: 'deployment' | 'job',
  command: string[],
  flags: { image?: string; replicas?: string; port?: string; dryRun?: string | boolean; output?: string },
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
    output: parseCreateOutput(flags.output),
  };
}
