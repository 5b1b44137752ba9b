// Scheduler profiles: YAML files naming the plugins a scheduler runs (built-in by `name`, or from a
// file by `module`, resolved relative to the profile), their weights and args, and the commit
// settings (conflict mode, batch size). `--profile=default|binpack` picks a shipped profile.
//
//   name: binpack
//   conflictMode: fine            # fine | coarse (§3)
//   plugins:
//     - name: PrioritySort
//     - name: NodeResourcesFit
//       weight: 1
//       args: { scoringStrategy: { type: MostAllocated } }
//     - module: ./my-plugin.ts    # default export: a PluginFactory
//       weight: 2
//       args: { anything: the plugin validates it }
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { z } from 'zod';
import { InvalidError, errorMessage } from '../../shared/errors.js';
import { BUILTIN_PLUGINS } from '../framework/registry.js';
import type { Plugin, PluginFactory, PluginHandle } from '../framework/plugin.js';
import type { WeightedPlugin } from '../framework/framework.js';
import { importPluginModule, resolvePluginModule } from './plugin-module.js';

const PluginSpecSchema = z
  .object({
    /** A built-in plugin's name. With `module`, only a label for logs. */
    name: z.string().min(1).optional(),
    /** A file exporting a PluginFactory as default (or as `create`), relative to the profile, or an installed package. */
    module: z.string().min(1).optional(),
    /** Multiplies the plugin's 0..100 node scores (default 1). */
    weight: z.number().int().min(0).max(100).default(1),
    args: z.record(z.string(), z.unknown()).default({}),
  })
  .strict()
  .refine((s) => s.name !== undefined || s.module !== undefined, { message: 'each plugin needs a name (a built-in) or a module (a file)' });

const ConflictModeSchema = z
  .enum(['fine', 'coarse', 'Fine', 'Coarse'])
  .transform((m) => m.toLowerCase() as 'fine' | 'coarse');

export const ProfileSchema = z
  .object({
    apiVersion: z.literal('cell.dev/v1alpha1').optional(),
    kind: z.literal('SchedulerProfile').optional(),
    name: z.string().min(1),
    description: z.string().optional(),
    /** fine: a commit fails only if the pod no longer fits; coarse: if the node's ledger moved at all. */
    conflictMode: ConflictModeSchema.default('fine'),
    /** Share of nodes to look for feasible ones in, 1..100; 0 = adaptive (Kubernetes' rule). */
    percentageOfNodesToScore: z.number().int().min(0).max(100).default(0),
    /** Most pods per commit request (1 = a Binding per pod; more = an Incremental Placement). */
    batchSize: z.number().int().min(1).max(1000).default(50),
    /** Commit requests outstanding at once. */
    maxInFlightCommits: z.number().int().min(1).max(64).default(4),
    podInitialBackoffSeconds: z.number().positive().default(1),
    podMaxBackoffSeconds: z.number().positive().default(10),
    plugins: z.array(PluginSpecSchema).min(1),
  })
  .strict();

export type Profile = z.infer<typeof ProfileSchema>;
export type PluginSpec = Profile['plugins'][number];

export interface LoadedProfile {
  profile: Profile;
  /** The file it came from; plugin modules resolve relative to its directory. */
  file: string;
}

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** Shipped profiles: next to this module in the source tree; from dist, back in the source tree. */
const SHIPPED_DIRS = [path.resolve(HERE, '../profiles'), path.resolve(HERE, '../../../schedulers/profiles')];

/** `default`, `binpack` (shipped), or a path to a YAML file. */
export function resolveProfilePath(spec: string): string {
  if (/^[a-z0-9-]+$/.test(spec)) {
    for (const dir of SHIPPED_DIRS) {
      const file = path.join(dir, `${spec}.yaml`);
      if (existsSync(file)) return file;
    }
    throw new InvalidError(`unknown profile "${spec}": not a shipped profile (default, binpack) and not a file`);
  }
  return path.resolve(spec);
}

export function parseProfile(text: string, file: string): Profile {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    if (err instanceof YAMLParseError) throw new InvalidError(`profile ${file}: ${err.message}`);
    throw err;
  }
  const parsed = ProfileSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`);
    throw new InvalidError(`profile ${file} is invalid: ${issues.join('; ')}`);
  }
  return parsed.data;
}

export function loadProfile(spec: string): LoadedProfile {
  const file = resolveProfilePath(spec);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new InvalidError(`cannot read profile ${file}: ${errorMessage(err)}`);
  }
  return { profile: parseProfile(text, file), file };
}

function isFactory(v: unknown): v is PluginFactory {
  return typeof v === 'function';
}

async function factoryOf(spec: PluginSpec, profileFile: string): Promise<PluginFactory> {
  if (spec.module === undefined) {
    const f = BUILTIN_PLUGINS.get(spec.name ?? '');
    if (!f) throw new InvalidError(`profile ${profileFile}: unknown plugin "${spec.name ?? ''}"; built-in plugins: ${[...BUILTIN_PLUGINS.keys()].join(', ')}`);
    return f;
  }
  let file = spec.module;
  let mod: Record<string, unknown>;
  try {
    file = resolvePluginModule(spec.module, profileFile);
    mod = await importPluginModule(file);
  } catch (err) {
    throw new InvalidError(`profile ${profileFile}: cannot load plugin module ${file}: ${errorMessage(err)}`);
  }
  const f = mod.default ?? mod.create;
  if (!isFactory(f)) throw new InvalidError(`profile ${profileFile}: plugin module ${file} must export a PluginFactory as default (or as "create")`);
  return f;
}

/** Create the profile's plugins, in profile order (which is the order each extension point runs them). */
export async function createPlugins(loaded: LoadedProfile, handle: PluginHandle): Promise<WeightedPlugin[]> {
  const out: WeightedPlugin[] = [];
  const names = new Set<string>();
  for (const spec of loaded.profile.plugins) {
    const factory = await factoryOf(spec, loaded.file);
    let plugin: Plugin;
    try {
      plugin = await factory(spec.args, handle);
    } catch (err) {
      const why = err instanceof z.ZodError
        ? `invalid args: ${err.issues.map((i) => `${i.path.join('.') || '(args)'}: ${i.message}`).join('; ')}`
        : errorMessage(err);
      throw new InvalidError(`profile ${loaded.file}: plugin ${spec.name ?? spec.module ?? ''}: ${why}`);
    }
    if (names.has(plugin.name)) throw new InvalidError(`profile ${loaded.file}: plugin ${plugin.name} is listed twice`);
    names.add(plugin.name);
    out.push({ plugin, weight: spec.weight });
  }
  return out;
}
