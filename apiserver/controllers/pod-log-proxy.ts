// `GET /api/v1/namespaces/{ns}/pods/{name}/log`: kube-apiserver does not keep logs, it proxies to
// the kubelet of the pod's node; so does this one, to the node's cell-agent. The pod gives the node
// and the container, the Node gives the agent's address (InternalIP) and port
// (status.daemonEndpoints.kubeletEndpoint.Port). A node writes those itself, so the address must
// be inside the allow-list (--agent-address-allow), and only what an agent would answer is passed
// on: the log text (text/plain, streamed for `follow`) or a Status error; any other reply is
// reported by its status code alone, never echoed.
import dns from 'node:dns';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import type { Node, Pod } from '../../shared/api/core.js';
import { BadRequestError, InternalError, ParseError, UnavailableError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logging.js';
import { exchangeOf } from '../http/exchange.js';
import { releaseInflight } from '../http/inflight.js';
import type { CustomHandler, ServedResource } from '../http/resources.js';
import { boolParam, intParam } from '../http/query.js';

/** How long reaching the agent may take (a follow stream may then stay open indefinitely). */
const CONNECT_TIMEOUT_MS = 10_000;
/** Largest error body read from the agent. */
const MAX_ERROR_BODY = 64 * 1024;

/**
 * Networks an agent may be in unless --agent-address-allow says otherwise: loopback and the
 * private ranges, where agents of a local or in-house cluster live. Not link-local (169.254.0.0/16
 * holds cloud metadata services) nor public addresses: a node's token must not be able to aim the
 * API server at those.
 */
export const DEFAULT_AGENT_NETWORKS: readonly string[] = [
  '127.0.0.0/8',
  '::1/128',
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  'fc00::/7',
];

/**
 * The addresses the log proxy may connect to. A node reports its own address (status.addresses,
 * daemonEndpoints), and a node's token can write anything there: without a limit the API server
 * would connect wherever a node points it.
 */
export class AgentAddressAllowList {
  private readonly list = new net.BlockList();

  /** `cidrs`: `10.0.0.0/8`, `fd00::/8`, or a bare address (one host). Throws ParseError. */
  constructor(readonly cidrs: readonly string[]) {
    if (cidrs.length === 0) throw new ParseError('the agent address allow-list names no network');
    for (const cidr of cidrs) {
      const slash = cidr.indexOf('/');
      const address = slash >= 0 ? cidr.slice(0, slash) : cidr;
      const family = net.isIP(address);
      const bits = family === 4 ? 32 : 128;
      const prefix = slash >= 0 ? cidr.slice(slash + 1) : String(bits);
      if (family === 0 || !/^\d{1,3}$/.test(prefix) || Number(prefix) > bits) {
        throw new ParseError(`"${cidr}" is not a CIDR (e.g. 10.0.0.0/8, fd00::/8) or an IP address`);
      }
      this.list.addSubnet(address, Number(prefix), family === 4 ? 'ipv4' : 'ipv6');
    }
  }

  /** `--agent-address-allow`'s text: CIDRs separated by commas. */
  static parse(text: string): AgentAddressAllowList {
    return new AgentAddressAllowList(text.split(',').map((c) => c.trim()).filter((c) => c !== ''));
  }

  /**
   * The default: DEFAULT_AGENT_NETWORKS plus this host's own addresses (an agent on this host
   * reports its first non-loopback address, whatever network that is in), link-local ones excepted.
   */
  static default(): AgentAddressAllowList {
    const own: string[] = [];
    for (const addrs of Object.values(os.networkInterfaces())) {
      for (const a of addrs ?? []) {
        const linkLocal = a.family === 'IPv4' ? a.address.startsWith('169.254.') : /^fe[89ab]/i.test(a.address);
        if (!a.internal && !linkLocal) own.push(a.address.split('%')[0]!);
      }
    }
    return new AgentAddressAllowList([...DEFAULT_AGENT_NETWORKS, ...own]);
  }

  allows(address: string): boolean {
    const family = net.isIP(address);
    return family !== 0 && this.list.check(address, family === 4 ? 'ipv4' : 'ipv6');
  }
}

/** The container a log request means: the named one, or the pod's only container. */
function chooseContainer(pod: Pod, requested: string | null): string {
  const name = pod.metadata.name ?? '';
  const app = pod.spec.containers.map((c) => c.name);
  const init = (pod.spec.initContainers ?? []).map((c) => c.name);
  if (requested !== null && requested !== '') {
    if (!app.includes(requested) && !init.includes(requested)) throw new BadRequestError(`container ${requested} is not valid for pod ${name}`);
    return requested;
  }
  if (app.length === 1) return app[0]!;
  throw new BadRequestError(
    `a container name must be specified for pod ${name}, choose one of: [${app.join(' ')}]${init.length > 0 ? ` or one of the init containers: [${init.join(' ')}]` : ''}`,
  );
}

/** Where the node's agent listens, as the node reports it. */
function agentEndpoint(node: Node): { host: string; port: number } {
  const name = node.metadata.name ?? '';
  const port = node.status.daemonEndpoints?.kubeletEndpoint?.Port ?? 0;
  const addresses = node.status.addresses ?? [];
  const address = ['InternalIP', 'ExternalIP', 'Hostname'].map((t) => addresses.find((a) => a.type === t)?.address).find((a) => a !== undefined && a !== '');
  if (!Number.isInteger(port) || port <= 0 || port > 65535 || address === undefined) {
    throw new UnavailableError(`node ${name} reports no agent endpoint to read logs from`);
  }
  return { host: address, port };
}

/**
 * The IP address to connect to for a node's reported agent address: the address itself, or for a
 * host name the first address it resolves to that the allow-list admits (connecting to that
 * address, not the name, so a second lookup cannot answer differently).
 */
async function agentAddress(nodeName: string, host: string, allow: AgentAddressAllowList): Promise<string> {
  let candidates: string[];
  if (net.isIP(host) !== 0) {
    candidates = [host];
  } else {
    try {
      candidates = (await dns.promises.lookup(host, { all: true, verbatim: true })).map((a) => a.address);
    } catch (err) {
      throw new UnavailableError(`cannot resolve the agent address of node ${nodeName}${codeOf(err)}`);
    }
  }
  const allowed = candidates.find((a) => allow.allows(a));
  if (allowed === undefined) {
    throw new InternalError(
      `node ${nodeName} reports its agent at ${host}, outside the addresses this API server may connect to (--agent-address-allow): refusing to connect`,
    );
  }
  return allowed;
}

/** ` (ECONNREFUSED)` for an error with a code: says what failed without quoting what a peer sent. */
function codeOf(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^[A-Z0-9_]{1,40}$/.test(code) ? ` (${code})` : '';
}

/**
 * The agent's error answer as a Status, or undefined when the answer is not one. Only the Status
 * fields are kept: whatever else a reply holds is not passed on.
 */
function agentStatus(resp: http.IncomingMessage, text: string): { status: number; body: unknown } | undefined {
  const code = resp.statusCode ?? 0;
  if (code < 400 || code > 599) return undefined;
  if (!(resp.headers['content-type'] ?? '').toLowerCase().startsWith('application/json')) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    // Not JSON, so not a Status: the caller reports only the status code.
    if (err instanceof SyntaxError) return undefined;
    throw err;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const s = parsed as { kind?: unknown; apiVersion?: unknown; message?: unknown; reason?: unknown; code?: unknown };
  if (s.kind !== 'Status' || s.apiVersion !== 'v1' || typeof s.message !== 'string' || typeof s.reason !== 'string' || s.code !== code) return undefined;
  return {
    status: code,
    body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: s.message, reason: s.reason, code },
  };
}

export function podLogHandler(d: { served(resource: string): ServedResource; log: Logger; agentAddressAllow?: AgentAddressAllowList }): CustomHandler {
  const allow = d.agentAddressAllow ?? AgentAddressAllowList.default();
  return async ({ res, path, query }) => {
    const namespace = path.namespace ?? '';
    const podName = path.name ?? '';
    const follow = boolParam(query, 'follow') ?? false;
    const previous = boolParam(query, 'previous') ?? false;
    boolParam(query, 'timestamps');
    const tailLines = intParam(query, 'tailLines', { min: 0 });
    const limitBytes = intParam(query, 'limitBytes', { min: 1 });
    intParam(query, 'sinceSeconds', { min: 1 });

    const pod = (await d.served('pods').rest.get(namespace, podName)) as unknown as Pod;
    const container = chooseContainer(pod, query.get('container'));
    const nodeName = pod.spec.nodeName;
    if (!nodeName) throw new BadRequestError(`pod ${podName} does not have a host assigned`);
    const node = (await d.served('nodes').rest.get(undefined, nodeName)) as unknown as Node;
    const { host: reported, port } = agentEndpoint(node);
    const host = await agentAddress(nodeName, reported, allow);

    const upstreamQuery = new URLSearchParams();
    if (follow) upstreamQuery.set('follow', 'true');
    if (previous) upstreamQuery.set('previous', 'true');
    if (tailLines !== undefined) upstreamQuery.set('tailLines', String(tailLines));
    if (limitBytes !== undefined) upstreamQuery.set('limitBytes', String(limitBytes));
    if (pod.metadata.uid) upstreamQuery.set('podUID', pod.metadata.uid);
    const upstreamPath = `/containerLogs/${[namespace, podName, container].map(encodeURIComponent).join('/')}?${upstreamQuery.toString()}`;

    const upstream = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const r = http.request({ host, port, path: upstreamPath, method: 'GET', headers: { Accept: '*/*' } });
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        r.destroy();
      }, CONNECT_TIMEOUT_MS);
      r.once('response', (resp) => {
        clearTimeout(timer);
        resolve(resp);
      });
      r.once('error', (err) => {
        clearTimeout(timer);
        // The error's text may quote what the peer sent (a parse error): only its code is passed on.
        d.log.debug('cannot reach a node agent', { node: nodeName, host, port, error: err.message, code: (err as NodeJS.ErrnoException).code });
        const why = timedOut ? ` (no answer within ${CONNECT_TIMEOUT_MS} ms)` : codeOf(err);
        reject(new UnavailableError(`cannot reach the agent of node ${nodeName} at ${host}:${port}${why}`));
      });
      // The client going away (before or during the stream) ends the request to the agent too.
      res.once('close', () => r.destroy());
      r.end();
    });

    if (upstream.statusCode !== 200) {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of upstream) {
        const b = chunk as Buffer;
        size += b.length;
        if (size > MAX_ERROR_BODY) break;
        chunks.push(b);
      }
      upstream.destroy();
      const status = agentStatus(upstream, Buffer.concat(chunks).toString('utf8'));
      if (status) return status;
      // Not the agent's Status: whatever answered, its reply is not echoed to the client.
      throw new InternalError(`the agent of node ${nodeName} answered ${upstream.statusCode ?? 0}`);
    }
    // The agent serves logs as text/plain; a 200 of anything else came from something else.
    if (!(upstream.headers['content-type'] ?? '').toLowerCase().startsWith('text/plain')) {
      upstream.destroy();
      throw new InternalError(`the agent of node ${nodeName} answered 200 with something other than a log`);
    }

    res.statusCode = 200;
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    if (follow) {
      res.setHeader('Cache-Control', 'no-cache');
      // A follow is long-running, like a watch: it does not hold an in-flight request slot.
      exchangeOf(res).longRunning = true;
      releaseInflight(res);
    }
    res.flushHeaders();
    upstream.once('error', (err) => {
      d.log.debug('log stream from agent broke', { node: nodeName, pod: `${namespace}/${podName}`, error: err.message });
      res.destroy();
    });
    upstream.pipe(res);
    return undefined;
  };
}
