// Reaching a node's agent from the API server, as kube-apiserver reaches kubelets: the node
// reports its agent's address (status.addresses) and port (status.daemonEndpoints), and the API
// server connects only to addresses inside --agent-address-allow, since a node's token can write
// anything there. Used by the pods/log proxy and the metrics API.
import dns from 'node:dns';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import type { Duplex } from 'node:stream';
import type { Node } from '../../shared/api/core.js';
import { InternalError, ParseError, UnavailableError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logging.js';

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

/** Where the node's agent listens, as the node reports it. */
function agentEndpoint(node: Node): { host: string; port: number } | undefined {
  const port = node.status.daemonEndpoints?.kubeletEndpoint?.Port ?? 0;
  const addresses = node.status.addresses ?? [];
  const address = ['InternalIP', 'ExternalIP', 'Hostname'].map((t) => addresses.find((a) => a.type === t)?.address).find((a) => a !== undefined && a !== '');
  if (!Number.isInteger(port) || port <= 0 || port > 65535 || address === undefined) return undefined;
  return { host: address, port };
}

/** Whether the node reports an agent endpoint at all (hollow nodes do not). */
export function hasAgentEndpoint(node: Node): boolean {
  return agentEndpoint(node) !== undefined;
}

/**
 * The address and port to connect to for the node's agent. UnavailableError when the node reports
 * no endpoint (`purpose` says what for) or its name does not resolve; InternalError when the
 * address is outside the allow-list.
 */
export async function agentTarget(node: Node, allow: AgentAddressAllowList, purpose: string): Promise<{ host: string; port: number }> {
  const name = node.metadata.name ?? '';
  const endpoint = agentEndpoint(node);
  if (!endpoint) throw new UnavailableError(`node ${name} reports no agent endpoint to ${purpose}`);
  return { host: await agentAddress(name, endpoint.host, allow), port: endpoint.port };
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
export function codeOf(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^[A-Z0-9_]{1,40}$/.test(code) ? ` (${code})` : '';
}

/** How long reaching an agent may take (what it then streams may go on indefinitely). */
const CONNECT_TIMEOUT_MS = 10_000;

/** An agent's answer: a response, or for a request that asked to upgrade, the switched connection. */
export type AgentAnswer =
  | { upgraded: false; response: http.IncomingMessage }
  | { upgraded: true; response: http.IncomingMessage; socket: Duplex; head: Buffer };

/**
 * One GET to a node's agent. UnavailableError when it cannot be reached or does not answer within
 * CONNECT_TIMEOUT_MS. The request is dropped when `client` (the response to the API client) closes,
 * before or during the stream.
 */
export function requestAgent(o: {
  nodeName: string;
  target: { host: string; port: number };
  path: string;
  headers: http.OutgoingHttpHeaders;
  client: http.ServerResponse;
  log: Logger;
}): Promise<AgentAnswer> {
  const { host, port } = o.target;
  return new Promise<AgentAnswer>((resolve, reject) => {
    const r = http.request({ host, port, path: o.path, method: 'GET', headers: o.headers });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      r.destroy();
    }, CONNECT_TIMEOUT_MS);
    r.once('response', (response) => {
      clearTimeout(timer);
      resolve({ upgraded: false, response });
    });
    r.once('upgrade', (response, socket, head) => {
      clearTimeout(timer);
      resolve({ upgraded: true, response, socket, head });
    });
    r.once('error', (err) => {
      clearTimeout(timer);
      // The error's text may quote what the peer sent (a parse error): only its code is passed on.
      o.log.debug('cannot reach a node agent', { node: o.nodeName, host, port, error: err.message, code: (err as NodeJS.ErrnoException).code });
      const why = timedOut ? ` (no answer within ${CONNECT_TIMEOUT_MS} ms)` : codeOf(err);
      reject(new UnavailableError(`cannot reach the agent of node ${o.nodeName} at ${host}:${port}${why}`));
    });
    o.client.once('close', () => r.destroy());
    r.end();
  });
}

/** Largest error body read from an agent. */
const MAX_ERROR_BODY = 64 * 1024;

/**
 * What to answer for an agent's reply that is not the success asked for: the agent's own Status
 * (agentStatus), or else an InternalError naming only its status code — whatever answered, its
 * reply is not echoed to the client.
 */
export async function agentErrorReply(upstream: http.IncomingMessage, nodeName: string): Promise<{ status: number; body: unknown }> {
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
  throw new InternalError(`the agent of node ${nodeName} answered ${upstream.statusCode ?? 0}`);
}

/**
 * The agent's error answer as a Status, or undefined when the answer is not one. Only the Status
 * fields are kept: whatever else a reply holds is not passed on.
 */
export function agentStatus(resp: http.IncomingMessage, text: string): { status: number; body: unknown } | undefined {
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

