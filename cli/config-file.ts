// Which kubeconfig file(s) cellctl uses, and the editing side of them (`config use-context`,
// `config set-context`): each file is kept as a YAML Document so comments, key order and the
// parts cellctl does not understand survive a rewrite. Resolving the current context into a
// server and credentials is shared/client/kubeconfig.ts's job; this module never does it.
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML, { type Document } from 'yaml';
import { mergeKubeconfigs } from '../shared/client/kubeconfig.js';
import { errorMessage } from '../shared/errors.js';
import { ConfigError } from './errors.js';

export interface ConfigLocation {
  /** The file messages name: the only one, or the first of `$KUBECONFIG` that exists. */
  path: string;
  /** Every file read, merged in this order (kubectl's rules); just `path` unless from `$KUBECONFIG`. */
  paths: string[];
  /** Where the path came from, for messages. */
  source: '--kubeconfig' | '$CELLCONFIG' | '$KUBECONFIG' | 'default';
}

/**
 * `--kubeconfig`, then `$CELLCONFIG` (cellctl's own, so it can differ from kubectl's), then
 * `$KUBECONFIG` (a list, as kubectl reads it: a user who exported it for kubectl gets the same
 * cluster), then `~/.cell/config`. `$KUBECONFIG` entries that do not exist are skipped, as
 * kubectl skips them; when none exists it does not count as set.
 */
export function configLocation(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): ConfigLocation {
  if (flag) return { path: flag, paths: [flag], source: '--kubeconfig' };
  if (env.CELLCONFIG) return { path: env.CELLCONFIG, paths: [env.CELLCONFIG], source: '$CELLCONFIG' };
  const listed = (env.KUBECONFIG ?? '').split(path.delimiter).filter((p) => p !== '');
  const present = listed.filter((p) => existsSync(p));
  if (present.length > 0) return { path: present[0]!, paths: present, source: '$KUBECONFIG' };
  const fallback = path.join(os.homedir(), '.cell', 'config');
  return { path: fallback, paths: [fallback], source: 'default' };
}

/** The default file may be absent (then flags must say where the server is); a named one must exist. */
export function configExists(loc: ConfigLocation): boolean {
  return loc.paths.some((p) => existsSync(p));
}

export function missingConfigMessage(loc: ConfigLocation): string {
  if (loc.source === 'default') {
    return `no server configured: pass --server=URL or --kubeconfig=FILE, or set $CELLCONFIG (${loc.path} does not exist)`;
  }
  return `kubeconfig ${loc.path} (from ${loc.source}) does not exist`;
}

export interface ContextEntry {
  name: string;
  cluster: string;
  user: string;
  namespace: string;
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function contextsIn(config: Record<string, unknown>): ContextEntry[] {
  const list = config.contexts;
  if (!Array.isArray(list)) return [];
  return list.filter(isMap).map((c) => {
    const ctx = isMap(c.context) ? c.context : {};
    const s = (v: unknown) => (typeof v === 'string' ? v : '');
    return { name: s(c.name), cluster: s(ctx.cluster), user: s(ctx.user), namespace: s(ctx.namespace) };
  });
}

/** One file of the configuration, as an editable YAML Document. */
interface OpenFile {
  path: string;
  doc: Document;
  changed: boolean;
}

function openOne(file: string, loc: ConfigLocation): OpenFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ConfigError(missingConfigMessage(loc));
    throw new ConfigError(`cannot read kubeconfig ${file}: ${errorMessage(err)}`);
  }
  const doc = YAML.parseDocument(text);
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const where = e.linePos ? `line ${e.linePos[0].line}: ` : '';
    throw new ConfigError(`kubeconfig ${file} is not valid YAML: ${where}${e.message.split(' at line')[0]}`);
  }
  // An empty file is an empty kubeconfig, as kubectl reads one.
  const js: unknown = doc.toJS();
  if (js !== null && js !== undefined && !isMap(js)) throw new ConfigError(`kubeconfig ${file} is not a kubeconfig (expected a mapping with clusters, users and contexts)`);
  return { path: file, doc, changed: false };
}

function plain(f: OpenFile): Record<string, unknown> {
  const js: unknown = f.doc.toJS();
  return isMap(js) ? js : {};
}

/**
 * The kubeconfig file(s) opened for reading contexts and rewriting them. Several files (from
 * `$KUBECONFIG`) read as one merged config; an edit goes where kubectl would put it: a context's
 * fields to the file that defines the context (a new one to the first file), `current-context`
 * to the first file that sets it (else the first file).
 */
export class ConfigFile {
  private constructor(
    readonly location: ConfigLocation,
    private readonly files: OpenFile[],
  ) {}

  static open(loc: ConfigLocation): ConfigFile {
    return new ConfigFile(loc, loc.paths.map((p) => openOne(p, loc)));
  }

  /** The whole configuration as plain data (several files merged). */
  toJS(): Record<string, unknown> {
    if (this.files.length === 1) return plain(this.files[0]!);
    return mergeKubeconfigs(this.files.map((f) => ({ file: f.path, doc: plain(f) })));
  }

  private currentContextFile(): OpenFile | undefined {
    return this.files.find((f) => {
      const c = f.doc.get('current-context');
      return typeof c === 'string' && c !== '';
    });
  }

  get currentContext(): string | undefined {
    const c = this.currentContextFile()?.doc.get('current-context');
    return typeof c === 'string' ? c : undefined;
  }

  contexts(): ContextEntry[] {
    return contextsIn(this.toJS());
  }

  hasContext(name: string): boolean {
    return this.contexts().some((c) => c.name === name);
  }

  setCurrentContext(name: string): void {
    if (!this.hasContext(name)) throw new ConfigError(`no context exists with the name: "${name}"`);
    const target = this.currentContextFile() ?? this.files[0]!;
    target.doc.set('current-context', name);
    target.changed = true;
  }

  /** Change fields of a context (creating it when absent), as `kubectl config set-context` does. */
  setContextFields(name: string, fields: Partial<Omit<ContextEntry, 'name'>>): 'created' | 'modified' {
    const owner = this.files.find((f) => contextsIn(plain(f)).some((c) => c.name === name));
    if (!owner) {
      const target = this.files[0]!;
      const contexts = target.doc.get('contexts');
      const entry = { name, context: Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) };
      if (YAML.isSeq(contexts)) contexts.add(target.doc.createNode(entry));
      else target.doc.set('contexts', target.doc.createNode([entry]));
      target.changed = true;
      return 'created';
    }
    const index = contextsIn(plain(owner)).findIndex((c) => c.name === name);
    for (const [key, value] of Object.entries(fields)) {
      if (value === undefined) continue;
      // An empty value clears the field, like kubectl's `--namespace=`.
      if (value === '') owner.doc.deleteIn(['contexts', index, 'context', key]);
      else owner.doc.setIn(['contexts', index, 'context', key], value);
    }
    owner.changed = true;
    return 'modified';
  }

  /**
   * Write back the changed files, each atomically (temp file + rename) with its own permissions:
   * a kubeconfig holds credentials, so a new one is created 0600.
   */
  save(): void {
    for (const f of this.files) {
      if (!f.changed) continue;
      let mode = 0o600;
      try {
        mode = statSync(f.path).mode & 0o777;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      const tmp = `${f.path}.tmp-${process.pid}`;
      try {
        writeFileSync(tmp, f.doc.toString(), { mode });
        renameSync(tmp, f.path);
      } catch (err) {
        throw new ConfigError(`cannot write kubeconfig ${f.path}: ${errorMessage(err)}`);
      }
      f.changed = false;
    }
  }
}
