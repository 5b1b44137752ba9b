// Which kubeconfig file cellctl uses, and the editing side of it (`config use-context`,
// `config set-context`): the file is kept as a YAML Document so comments, key order and the
// parts cellctl does not understand survive a rewrite. Resolving the current context into a
// server and a token is shared/client/kubeconfig.ts's job; this module never does it.
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML, { type Document } from 'yaml';
import { errorMessage } from '../shared/errors.js';
import { ConfigError } from './errors.js';

export interface ConfigLocation {
  path: string;
  /** Where the path came from, for messages. */
  source: '--kubeconfig' | '$CELLCONFIG' | 'default';
}

/**
 * `--kubeconfig`, then `$CELLCONFIG`, then `~/.cell/config` — deliberately not `$KUBECONFIG`, so
 * cellctl never picks up a real Kubernetes cluster's credentials by accident.
 */
export function configLocation(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): ConfigLocation {
  if (flag) return { path: flag, source: '--kubeconfig' };
  if (env.CELLCONFIG) return { path: env.CELLCONFIG, source: '$CELLCONFIG' };
  return { path: path.join(os.homedir(), '.cell', 'config'), source: 'default' };
}

/** The default file may be absent (then flags must say where the server is); a named one must exist. */
export function configExists(loc: ConfigLocation): boolean {
  return existsSync(loc.path);
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

/** A kubeconfig file opened for reading its contexts and rewriting it. */
export class ConfigFile {
  private constructor(
    readonly location: ConfigLocation,
    private readonly doc: Document,
  ) {}

  static open(loc: ConfigLocation): ConfigFile {
    let text: string;
    try {
      text = readFileSync(loc.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ConfigError(missingConfigMessage(loc));
      throw new ConfigError(`cannot read kubeconfig ${loc.path}: ${errorMessage(err)}`);
    }
    const doc = YAML.parseDocument(text);
    if (doc.errors.length > 0) {
      const e = doc.errors[0]!;
      const where = e.linePos ? `line ${e.linePos[0].line}: ` : '';
      throw new ConfigError(`kubeconfig ${loc.path} is not valid YAML: ${where}${e.message.split(' at line')[0]}`);
    }
    if (!isMap(doc.toJS())) throw new ConfigError(`kubeconfig ${loc.path} is not a kubeconfig (expected a mapping with clusters, users and contexts)`);
    return new ConfigFile(loc, doc);
  }

  /** The whole file as plain data. */
  toJS(): Record<string, unknown> {
    return this.doc.toJS() as Record<string, unknown>;
  }

  get currentContext(): string | undefined {
    const c = this.doc.get('current-context');
    return typeof c === 'string' && c !== '' ? c : undefined;
  }

  contexts(): ContextEntry[] {
    const list = this.toJS().contexts;
    if (!Array.isArray(list)) return [];
    return list.filter(isMap).map((c) => {
      const ctx = isMap(c.context) ? c.context : {};
      const s = (v: unknown) => (typeof v === 'string' ? v : '');
      return { name: s(c.name), cluster: s(ctx.cluster), user: s(ctx.user), namespace: s(ctx.namespace) };
    });
  }

  hasContext(name: string): boolean {
    return this.contexts().some((c) => c.name === name);
  }

  setCurrentContext(name: string): void {
    if (!this.hasContext(name)) throw new ConfigError(`no context exists with the name: "${name}"`);
    this.doc.set('current-context', name);
  }

  /** Change fields of a context (creating it when absent), as `kubectl config set-context` does. */
  setContextFields(name: string, fields: Partial<Omit<ContextEntry, 'name'>>): 'created' | 'modified' {
    const contexts = this.doc.get('contexts');
    const index = this.contexts().findIndex((c) => c.name === name);
    if (index < 0) {
      const entry = { name, context: Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) };
      if (YAML.isSeq(contexts)) contexts.add(this.doc.createNode(entry));
      else this.doc.set('contexts', this.doc.createNode([entry]));
      return 'created';
    }
    for (const [key, value] of Object.entries(fields)) {
      if (value === undefined) continue;
      // An empty value clears the field, like kubectl's `--namespace=`.
      if (value === '') this.doc.deleteIn(['contexts', index, 'context', key]);
      else this.doc.setIn(['contexts', index, 'context', key], value);
    }
    return 'modified';
  }

  /**
   * Write back atomically (temp file + rename) with the file's own permissions: a kubeconfig
   * holds tokens, so a new one is created 0600.
   */
  save(): void {
    const file = this.location.path;
    let mode = 0o600;
    try {
      mode = statSync(file).mode & 0o777;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const tmp = `${file}.tmp-${process.pid}`;
    try {
      writeFileSync(tmp, this.doc.toString(), { mode });
      renameSync(tmp, file);
    } catch (err) {
      throw new ConfigError(`cannot write kubeconfig ${file}: ${errorMessage(err)}`);
    }
  }
}
