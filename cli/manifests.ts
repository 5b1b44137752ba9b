// Reading `-f` arguments: files, directories (their .yaml/.yml/.json files, `-R` for
// subdirectories) and `-` for stdin; each file may hold several YAML documents (JSON is YAML
// too) and `kind: List` objects. Every problem names the file and the line, because a manifest
// directory can hold hundreds of documents.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import YAML, { LineCounter } from 'yaml';
import type { ResourceInfo } from '../shared/api/registry.js';
import { errorMessage } from '../shared/errors.js';
import { ManifestError } from './errors.js';
import type { ResourceTypes } from './resources.js';

export interface Manifest {
  /** The file as given (`STDIN` for `-`). */
  source: string;
  /** 1-based line where the document (or List item) starts. */
  line: number;
  info: ResourceInfo;
  object: ManifestObject;
}

export interface ManifestObject {
  apiVersion: string;
  kind: string;
  metadata: { name?: string; generateName?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; [k: string]: unknown };
  [key: string]: unknown;
}

const EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The files a `-f` argument stands for, in a stable order. */
function expand(arg: string, recursive: boolean): string[] {
  let st;
  try {
    st = statSync(arg);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ManifestError(`the path "${arg}" does not exist`);
    throw new ManifestError(`cannot read ${arg}: ${errorMessage(err)}`);
  }
  if (!st.isDirectory()) return [arg];
  const out: string[] = [];
  for (const entry of readdirSync(arg, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = path.join(arg, entry.name);
    if (entry.isDirectory()) {
      if (recursive) out.push(...expand(p, true));
    } else if (EXTENSIONS.has(path.extname(entry.name).toLowerCase())) out.push(p);
  }
  return out;
}

async function readStdin(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
  return Buffer.concat(chunks).toString('utf8');
}

/** Documents of one file's text, checked to be Kubernetes objects of a kind the server serves (built-in, or custom through `types`). */
export async function parseManifests(text: string, source: string, types: ResourceTypes): Promise<Manifest[]> {
  const lines = new LineCounter();
  const docs = YAML.parseAllDocuments(text, { lineCounter: lines });
  const out: Manifest[] = [];
  for (const doc of docs) {
    const err = doc.errors[0];
    if (err) {
      const at = err.linePos?.[0];
      const where = at ? `line ${at.line}, column ${at.col}: ` : '';
      throw new ManifestError(`error parsing ${source}: ${where}${err.message.split(/ at line \d+/)[0]}`);
    }
    const start = (doc.contents?.range[0] ?? doc.range[0]);
    const line = lines.linePos(start).line;
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue; // an empty document (`---` at the end, comments only)
    await addObject(value, source, line, types, out);
  }
  return out;
}

async function addObject(value: unknown, source: string, line: number, types: ResourceTypes, out: Manifest[]): Promise<void> {
  const where = `${source} (document at line ${line})`;
  if (!isRecord(value)) throw new ManifestError(`error validating ${where}: expected an object with apiVersion, kind and metadata, found ${Array.isArray(value) ? 'a list' : typeof value}`);
  const missing = ['apiVersion', 'kind'].filter((k) => typeof value[k] !== 'string' || value[k] === '');
  if (missing.length > 0) throw new ManifestError(`error validating ${where}: ${missing.map((m) => `${m} not set`).join(', ')}`);
  const kind = value.kind as string;
  const apiVersion = value.apiVersion as string;
  if (kind === 'List' || (kind.endsWith('List') && Array.isArray(value.items))) {
    const items = value.items;
    if (!Array.isArray(items)) throw new ManifestError(`error validating ${where}: a List needs items`);
    for (const item of items) await addObject(item, source, line, types, out);
    return;
  }
  const info = await types.forKind(kind, apiVersion);
  if (!info) {
    const other = await types.forKind(kind);
    const hint = other ? ` (cell serves ${kind} as ${other.apiVersion})` : '';
    throw new ManifestError(`error validating ${where}: no matches for kind "${kind}" in version "${apiVersion}"${hint}`);
  }
  if (value.metadata !== undefined && !isRecord(value.metadata)) throw new ManifestError(`error validating ${where}: metadata must be an object`);
  const metadata = (value.metadata ?? {}) as ManifestObject['metadata'];
  if (!metadata.name && !metadata.generateName && info.nameRequired) throw new ManifestError(`error validating ${where}: metadata.name not set`);
  out.push({ source, line, info, object: { ...value, apiVersion, kind, metadata } });
}

/** Every object of every `-f` argument, in order. */
export async function readManifests(
  types: ResourceTypes,
  files: readonly string[],
  verb: string,
  opts: { recursive?: boolean; stdin?: NodeJS.ReadableStream } = {},
): Promise<Manifest[]> {
  if (files.length === 0) throw new ManifestError(`must specify -f FILENAME to ${verb}`);
  const out: Manifest[] = [];
  for (const arg of files) {
    if (arg === '-') {
      out.push(...(await parseManifests(await readStdin(opts.stdin ?? process.stdin), 'STDIN', types)));
      continue;
    }
    for (const file of expand(arg, opts.recursive ?? false)) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (err) {
        throw new ManifestError(`cannot read ${file}: ${errorMessage(err)}`);
      }
      out.push(...(await parseManifests(text, file, types)));
    }
  }
  if (out.length === 0) throw new ManifestError(`no objects passed to ${verb} (${files.join(', ')} holds no documents)`);
  return out;
}

/**
 * The namespace a manifest's object goes to: its own, else the command's (-n or the context's).
 * When -n was given and the object names another, that is a mistake worth stopping for (kubectl's rule).
 */
export function manifestNamespace(m: Manifest, namespace: string, explicit: boolean): string | undefined {
  if (!m.info.namespaced) return undefined;
  const own = m.object.metadata.namespace;
  if (own && explicit && own !== namespace) {
    throw new ManifestError(
      `the namespace from the provided object "${own}" does not match the namespace "${namespace}". You must pass '--namespace=${own}' to perform this operation.`,
    );
  }
  return own || namespace;
}

/** The manifest's object with its namespace filled in (the server and the last-applied annotation both want it). */
export function withNamespace(m: Manifest, namespace: string | undefined): ManifestObject {
  if (namespace === undefined) return m.object;
  return { ...m.object, metadata: { ...m.object.metadata, namespace } };
}
