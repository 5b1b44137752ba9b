// `cellctl config view|current-context|use-context|get-contexts|set-context`: the kubeconfig
// file, read and edited in place (cli/config-file.ts keeps its comments and layout). Secrets are
// redacted in `view` unless --raw, as kubectl does.
import type { Cli } from '../context.js';
import { ConfigError, UsageError } from '../errors.js';
import { ConfigFile } from '../config-file.js';
import { parseOutputFormat, toJson, toYaml } from '../output/printers.js';
import { formatRows } from '../output/table.js';

const SECRET_USER_FIELDS = ['token', 'password'];
const DATA_FIELDS = ['client-certificate-data', 'client-key-data', 'certificate-authority-data'];

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function redact(config: Record<string, unknown>): Record<string, unknown> {
  const copy = structuredClone(config);
  const scrub = (entries: unknown, inner: string) => {
    if (!Array.isArray(entries)) return;
    for (const e of entries) {
      const body = isMap(e) ? e[inner] : undefined;
      if (!isMap(body)) continue;
      for (const k of SECRET_USER_FIELDS) if (body[k] !== undefined) body[k] = 'REDACTED';
      for (const k of DATA_FIELDS) if (body[k] !== undefined) body[k] = 'DATA+OMITTED';
    }
  };
  scrub(copy.users, 'user');
  scrub(copy.clusters, 'cluster');
  return copy;
}

/** Only the current context and the cluster and user it names. */
function minify(config: Record<string, unknown>, file: ConfigFile): Record<string, unknown> {
  const current = file.currentContext;
  if (!current) throw new ConfigError('current-context is not set: cannot --minify');
  const ctx = file.contexts().find((c) => c.name === current);
  if (!ctx) throw new ConfigError(`current-context "${current}" is not one of the file's contexts`);
  const only = (list: unknown, name: string) => (Array.isArray(list) ? list.filter((e) => isMap(e) && e.name === name) : []);
  return {
    ...config,
    clusters: only(config.clusters, ctx.cluster),
    users: only(config.users, ctx.user),
    contexts: only(config.contexts, current),
  };
}

export function runConfigView(cli: Cli, o: { raw?: boolean; minify?: boolean; output?: string }): number {
  const format = parseOutputFormat(o.output ?? 'yaml', ['json', 'yaml']);
  const file = ConfigFile.open(cli.configLocation);
  let config = file.toJS();
  if (o.minify) config = minify(config, file);
  if (!o.raw) config = redact(config);
  cli.print(format.kind === 'json' ? toJson(config) : toYaml(config));
  return 0;
}

export function runCurrentContext(cli: Cli): number {
  const file = ConfigFile.open(cli.configLocation);
  const current = file.currentContext;
  if (!current) throw new ConfigError('current-context is not set');
  cli.print(`${current}\n`);
  return 0;
}

export function runUseContext(cli: Cli, name: string): number {
  const file = ConfigFile.open(cli.configLocation);
  file.setCurrentContext(name);
  file.save();
  cli.print(`Switched to context "${name}".\n`);
  return 0;
}

export function runGetContexts(cli: Cli, names: string[], o: { output?: string; headers?: boolean }): number {
  const format = parseOutputFormat(o.output, ['table', 'name']);
  const file = ConfigFile.open(cli.configLocation);
  const contexts = file.contexts().filter((c) => names.length === 0 || names.includes(c.name));
  const missing = names.filter((n) => !file.hasContext(n));
  if (format.kind === 'name') cli.print(contexts.map((c) => `${c.name}\n`).join(''));
  else {
    const rows = contexts.map((c) => [c.name === file.currentContext ? '*' : '', c.name, c.cluster, c.user, c.namespace]);
    cli.print(formatRows(o.headers === false ? rows : [['CURRENT', 'NAME', 'CLUSTER', 'AUTHINFO', 'NAMESPACE'], ...rows]));
  }
  if (missing.length > 0) throw new ConfigError(`context${missing.length > 1 ? 's' : ''} not found: ${missing.join(', ')}`);
  return 0;
}

export function runSetContext(cli: Cli, name: string | undefined, o: { current?: boolean; namespace?: string; cluster?: string; user?: string }): number {
  const file = ConfigFile.open(cli.configLocation);
  let target = name;
  if (o.current) {
    if (name !== undefined) throw new UsageError('you cannot specify both a context name and --current');
    target = file.currentContext;
    if (!target) throw new ConfigError('current-context is not set');
  }
  if (!target) throw new UsageError('expected a context NAME or --current');
  const result = file.setContextFields(target, { namespace: o.namespace, cluster: o.cluster, user: o.user });
  file.save();
  cli.print(`Context "${target}" ${result}.\n`);
  return 0;
}
