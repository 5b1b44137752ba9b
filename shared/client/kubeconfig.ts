// Reading a kubeconfig file (the YAML kubectl uses; JSON is valid YAML too): the current context's
// cluster server and user token, so every cell process accepts the same `--kubeconfig` file as kubectl.
// Several API servers (DESIGN §7): kubectl knows one `server` per cluster, so the others go in a
// cluster extension kubectl ignores (as it ignores minikube's), and cell clients fail over across
// all of them, `server` first:
//   cluster:
//     server: https://10.0.0.1:6443
//     extensions:
//     - name: cell.dev/servers
//       extension: { servers: [https://10.0.0.1:6443, https://10.0.0.2:6443] }
import { readFileSync } from 'node:fs';
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

/** `opts.context` picks a context other than `current-context` (cellctl's `--context`). */
export function loadKubeconfig(file: string, opts: { context?: string } = {}): KubeconfigConnection {
  let doc: unknown;
  try {
    doc = YAML.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ParseError(`cannot read kubeconfig ${file}: ${errorMessage(err)}`);
  }
  if (!isRecord(doc)) throw new ParseError(`kubeconfig ${file} is not a YAML mapping`);
  const current = opts.context ?? doc['current-context'];
  if (typeof current !== 'string' || current === '') throw new ParseError(`kubeconfig ${file} has no current-context`);
  const context = pick(doc, 'contexts', 'context', current, file);
  if (typeof context.cluster !== 'string') throw new ParseError(`kubeconfig ${file}: context "${current}" names no cluster`);
  const cluster = pick(doc, 'clusters', 'cluster', context.cluster, file);
  if (typeof cluster.server !== 'string' || cluster.server === '') throw new ParseError(`kubeconfig ${file}: cluster "${context.cluster}" has no server`);
  const out: KubeconfigConnection = { servers: [cluster.server, ...extensionServers(cluster, file)].filter((s, i, all) => all.indexOf(s) === i) };
  const tls: TlsOptions = {};
  if (typeof cluster['certificate-authority-data'] === 'string') {
    tls.ca = Buffer.from(cluster['certificate-authority-data'], 'base64').toString('utf8');
  } else if (typeof cluster['certificate-authority'] === 'string') {
    const caPath = path.resolve(path.dirname(file), cluster['certificate-authority']);
    try {
      tls.ca = readFileSync(caPath, 'utf8');
    } catch (err) {
      throw new ParseError(`kubeconfig ${file}: cannot read certificate-authority ${caPath}: ${errorMessage(err)}`);
    }
  }
  if (cluster['insecure-skip-tls-verify'] === true) tls.insecureSkipTlsVerify = true;
  if (tls.ca !== undefined || tls.insecureSkipTlsVerify) out.tls = tls;
  if (typeof context.user === 'string' && context.user !== '') {
    const user = pick(doc, 'users', 'user', context.user, file);
    if (typeof user.token === 'string' && user.token !== '') out.token = user.token;
    else if (typeof user.tokenFile === 'string' && user.tokenFile !== '') {
      // Relative paths in a kubeconfig are relative to the file itself, as kubectl resolves them.
      const tokenPath = path.resolve(path.dirname(file), user.tokenFile);
      try {
        out.token = readFileSync(tokenPath, 'utf8').trim();
      } catch (err) {
        throw new ParseError(`kubeconfig ${file}: cannot read tokenFile ${tokenPath}: ${errorMessage(err)}`);
      }
    }
  }
  if (typeof context.namespace === 'string' && context.namespace !== '') out.namespace = context.namespace;
  return out;
}
