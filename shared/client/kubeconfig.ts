// Reading a kubeconfig file (the YAML kubectl uses; JSON is valid YAML too), or several merged as
// kubectl merges `$KUBECONFIG`: the current context's cluster server and CA, and its user's token
// and client certificate, so every cell process accepts the same `--kubeconfig` file as kubectl.
// Several API servers (DESIGN §7): kubectl knows one `server` per cluster, so the others go in a
// cluster extension kubectl ignores (as it ignores minikube's), and cell clients fail over across
// all of them, `server` first:
//   cluster:
//     server: https://10.0.0.1:6443
//     extensions:
//     - name: cell.dev/servers
//       extension: { servers: [https://10.0.0.1:6443, https://10.0.0.2:6443] }
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { ParseError, errorMessage } from '../errors.js';
import type { TlsOptions } from './transport.js';

export interface KubeconfigConnection {
  servers: string[];
  token?: string;
  /** The cluster's CA or insecure-skip-tls-verify, for https servers. */
  tls?: TlsOptions;
  /** The context's namespace, when it names one. */
  namespace?: string;
}

/** The cluster extension that lists every API server of the cluster. */
export const SERVERS_EXTENSION = 'cell.dev/servers';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The entry called `name` of a kubeconfig list (`clusters`, `users`, `contexts`), by its inner key. */
function pick(doc: Record<string, unknown>, list: string, inner: string, name: string, file: string): Record<string, unknown> {
  const items = doc[list];
  const found = Array.isArray(items) ? (items as unknown[]).find((i) => isRecord(i) && i.name === name) : undefined;
  const body = isRecord(found) ? found[inner] : undefined;
  if (!isRecord(body)) throw new ParseError(`kubeconfig ${file}: no ${list.slice(0, -1)} named "${name}"`);
  return body;
}

/** The servers listed by the cluster's SERVERS_EXTENSION, if it has one. */
function extensionServers(cluster: Record<string, unknown>, file: string): string[] {
  const exts = cluster.extensions;
  if (!Array.isArray(exts)) return [];
  const ext: unknown = (exts as unknown[]).find((e) => isRecord(e) && e.name === SERVERS_EXTENSION);
  if (!isRecord(ext)) return [];
  const servers = isRecord(ext.extension) ? ext.extension.servers : undefined;
  if (!Array.isArray(servers) || !servers.every((s): s is string => typeof s === 'string' && s !== '')) {
    throw new ParseError(`kubeconfig ${file}: extension ${SERVERS_EXTENSION} needs "servers", a list of URLs`);
  }
  return servers;
}

/** Kubeconfig fields that name files; relative ones are relative to the file that holds them. */
const PATH_FIELDS: Record<string, string[]> = {
  clusters: ['certificate-authority'],
  users: ['client-certificate', 'client-key', 'tokenFile'],
};

/** One kubeconfig file, parsed; an empty file is an empty config, as kubectl treats it. */
function readOne(file: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = YAML.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ParseError(`cannot read kubeconfig ${file}: ${errorMessage(err)}`);
  }
  if (doc === null || doc === undefined) return {};
  if (!isRecord(doc)) throw new ParseError(`kubeconfig ${file} is not a YAML mapping`);
  return absolutePaths(doc, file);
}

/** A copy of `doc` whose file references are absolute, resolved against the file that holds them. */
export function absolutePaths(doc: Record<string, unknown>, file: string): Record<string, unknown> {
  const copy = structuredClone(doc);
  for (const [list, fields] of Object.entries(PATH_FIELDS)) {
    const inner = list.slice(0, -1);
    const items = copy[list];
    if (!Array.isArray(items)) continue;
    for (const item of items as unknown[]) {
      const body = isRecord(item) ? item[inner] : undefined;
      if (!isRecord(body)) continue;
      for (const f of fields) {
        const v = body[f];
        if (typeof v === 'string' && v !== '') body[f] = path.resolve(path.dirname(file), v);
      }
    }
  }
  return copy;
}

/**
 * Kubeconfigs merged as kubectl merges `$KUBECONFIG`: the first to define a cluster, user or
 * context by a name wins, and `current-context` comes from the first that sets it. File
 * references are made absolute first, so each still points where its own file meant.
 */
export function mergeKubeconfigs(entries: readonly { file: string; doc: Record<string, unknown> }[]): Record<string, unknown> {
  const merged: Record<string, unknown> = { apiVersion: 'v1', kind: 'Config', clusters: [], users: [], contexts: [] };
  for (const { file, doc } of entries) {
    const abs = absolutePaths(doc, file);
    for (const list of ['clusters', 'users', 'contexts']) {
      const into = merged[list] as unknown[];
      const items = abs[list];
      if (!Array.isArray(items)) continue;
      for (const item of items as unknown[]) {
        if (!isRecord(item) || typeof item.name !== 'string') continue;
        if (!into.some((e) => isRecord(e) && e.name === item.name)) into.push(item);
      }
    }
    const current = abs['current-context'];
    if (merged['current-context'] === undefined && typeof current === 'string' && current !== '') merged['current-context'] = current;
  }
  return merged;
}

/**
 * `mergeKubeconfigs` over files; those that do not exist are skipped, as kubectl skips them, but
 * at least one must exist.
 */
export function mergeKubeconfigFiles(files: readonly string[]): Record<string, unknown> {
  const present = files.filter((f) => f !== '' && existsSync(f));
  if (present.length === 0) throw new ParseError(`none of the kubeconfig files exists: ${files.join(path.delimiter)}`);
  return mergeKubeconfigs(present.map((file) => ({ file, doc: readOne(file) })));
}

/** A base64 `*-data` field, else the file its path field names, else undefined. */
function inlineOrFile(body: Record<string, unknown>, field: string, source: string): string | undefined {
  const data = body[`${field}-data`];
  if (typeof data === 'string' && data !== '') return Buffer.from(data, 'base64').toString('utf8');
  const file = body[field];
  if (typeof file !== 'string' || file === '') return undefined;
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ParseError(`kubeconfig ${source}: cannot read ${field} ${file}: ${errorMessage(err)}`);
  }
}

/**
 * The connection of the current context (or `opts.context`, cellctl's `--context`) of one
 * kubeconfig file, or of several merged as kubectl merges `$KUBECONFIG`.
 */
export function loadKubeconfig(files: string | readonly string[], opts: { context?: string } = {}): KubeconfigConnection {
  const list = typeof files === 'string' ? [files] : files;
  const file = list.join(path.delimiter);
  const doc = list.length === 1 ? readOne(list[0]!) : mergeKubeconfigFiles(list);
  const current = opts.context ?? doc['current-context'];
  if (typeof current !== 'string' || current === '') throw new ParseError(`kubeconfig ${file} has no current-context`);
  const context = pick(doc, 'contexts', 'context', current, file);
  if (typeof context.cluster !== 'string') throw new ParseError(`kubeconfig ${file}: context "${current}" names no cluster`);
  const cluster = pick(doc, 'clusters', 'cluster', context.cluster, file);
  if (typeof cluster.server !== 'string' || cluster.server === '') throw new ParseError(`kubeconfig ${file}: cluster "${context.cluster}" has no server`);
  const out: KubeconfigConnection = { servers: [cluster.server, ...extensionServers(cluster, file)].filter((s, i, all) => all.indexOf(s) === i) };
  const tls: TlsOptions = {};
  const ca = inlineOrFile(cluster, 'certificate-authority', file);
  if (ca !== undefined) tls.ca = ca;
  if (cluster['insecure-skip-tls-verify'] === true) tls.insecureSkipTlsVerify = true;
  if (typeof context.user === 'string' && context.user !== '') {
    const user = pick(doc, 'users', 'user', context.user, file);
    if (typeof user.token === 'string' && user.token !== '') out.token = user.token;
    else if (typeof user.tokenFile === 'string' && user.tokenFile !== '') {
      try {
        out.token = readFileSync(user.tokenFile, 'utf8').trim();
      } catch (err) {
        throw new ParseError(`kubeconfig ${file}: cannot read tokenFile ${user.tokenFile}: ${errorMessage(err)}`);
      }
    }
    // A client certificate for X.509 authentication; kubectl sends it alongside any token.
    const cert = inlineOrFile(user, 'client-certificate', file);
    const key = inlineOrFile(user, 'client-key', file);
    if ((cert === undefined) !== (key === undefined)) {
      throw new ParseError(`kubeconfig ${file}: user "${context.user}" has a client ${cert === undefined ? 'key but no certificate' : 'certificate but no key'}`);
    }
    if (cert !== undefined && key !== undefined) {
      tls.cert = cert;
      tls.key = key;
    }
  }
  if (Object.keys(tls).length > 0) out.tls = tls;
  if (typeof context.namespace === 'string' && context.namespace !== '') out.namespace = context.namespace;
  return out;
}
