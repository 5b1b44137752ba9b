// Streams to a pod through its node's agent (pods/exec, pods/portforward), as kube-apiserver's
// upgrade-aware proxy streams to a kubelet: the client's upgrade request is sent on to the agent,
// signed with the cluster's key (shared/proxy-signature.ts) so the agent does nothing an API
// server did not authorize; when the agent switches protocols, the client is answered with the
// agent's handshake and the two connections are joined byte for byte. Whatever the agent answers
// instead becomes the client's Status.
import type { IncomingMessage, ServerResponse } from 'node:http';
import net from 'node:net';
import type { Node } from '../../shared/api/core.js';
import { InternalError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logging.js';
import type { AgentProxyKey } from '../auth/agent-proxy-key.js';
import { exchangeOf } from '../http/exchange.js';
import { releaseInflight } from '../http/inflight.js';
import type { Upgrade } from '../http/upgrade.js';
import { type AgentAddressAllowList, agentErrorReply, agentTarget, requestAgent } from './agent-endpoint.js';

/** The protocol a client asked to switch to. */
export type UpgradeProtocol = 'websocket' | 'spdy';

/** The handshake headers passed to the agent as the client sent them, per protocol. */
const HANDSHAKE_HEADERS: Record<UpgradeProtocol, readonly string[]> = {
  websocket: ['sec-websocket-key', 'sec-websocket-version', 'sec-websocket-protocol', 'sec-websocket-extensions'],
  spdy: ['x-stream-protocol-version'],
};
/** The agent's handshake headers passed back to the client. */
const ANSWER_HEADERS: Record<UpgradeProtocol, readonly string[]> = {
  websocket: ['sec-websocket-accept', 'sec-websocket-protocol', 'sec-websocket-extensions'],
  spdy: ['x-stream-protocol-version'],
};
/** The `Upgrade` header each protocol is asked for with. */
const UPGRADE_TOKEN: Record<UpgradeProtocol, string> = { websocket: 'websocket', spdy: 'SPDY/3.1' };

/** What the client asked to upgrade to: a WebSocket (GET) or SPDY/3.1 (kubectl's older transport). */
export function upgradeProtocolOf(req: IncomingMessage): UpgradeProtocol | undefined {
  const token = (req.headers.upgrade ?? '').toLowerCase();
  if (token === 'websocket' && req.method === 'GET') return 'websocket';
  if (token === 'spdy/3.1') return 'spdy';
  return undefined;
}

export interface AgentStreamRequest {
  req: IncomingMessage;
  res: ServerResponse;
  upgrade: Upgrade;
  protocol: UpgradeProtocol;
  node: Node;
  /** The agent's path and query. */
  path: string;
  /** Who asked, for the signature and the log. */
  user: string;
  signer: AgentProxyKey;
  allow: AgentAddressAllowList;
  /** What the stream is for, in errors: "run commands through". */
  purpose: string;
  log: Logger;
  /** Logged once the stream is open. */
  describe: Record<string, unknown>;
}

/**
 * Opens the stream: resolves once the client has its 101 and the connections are joined, or with
 * the Status to answer when the agent refused (UnavailableError when it cannot be reached).
 */
export async function joinAgentStream(o: AgentStreamRequest): Promise<{ status: number; body: unknown } | undefined> {
  const nodeName = o.node.metadata.name ?? '';
  const target = await agentTarget(o.node, o.allow, o.purpose);
  const headers: Record<string, string> = { Connection: 'Upgrade', Upgrade: UPGRADE_TOKEN[o.protocol], ...o.signer.sign({ node: nodeName, method: 'GET', path: o.path, user: o.user }) };
  for (const h of HANDSHAKE_HEADERS[o.protocol]) {
    const v = o.req.headers[h];
    // Repeated headers (SPDY's protocol versions) travel as one list.
    if (typeof v === 'string') headers[h] = v;
    else if (Array.isArray(v)) headers[h] = v.join(', ');
  }

  const answer = await requestAgent({ nodeName, target, path: o.path, headers, client: o.res, log: o.log });
  if (!answer.upgraded) return agentErrorReply(answer.response, nodeName);
  const agentSocket = answer.socket;
  const answered = answer.response.headers;
  if ((answered.upgrade ?? '').toLowerCase() !== UPGRADE_TOKEN[o.protocol].toLowerCase() || (o.protocol === 'websocket' && typeof answered['sec-websocket-accept'] !== 'string')) {
    agentSocket.destroy();
    throw new InternalError(`the agent of node ${nodeName} switched to something other than ${UPGRADE_TOKEN[o.protocol]}`);
  }
  o.log.info('stream to a pod opened', { user: o.user, node: nodeName, protocol: o.protocol, ...o.describe });

  // The client's connection is the agent's from here on; like a watch, it is long-running.
  const { upgrade, res } = o;
  upgrade.hijack();
  exchangeOf(res).longRunning = true;
  releaseInflight(res);
  const client = upgrade.socket;
  // Small writes (a keystroke, a ping) go at once: Nagle's delay would hold each for an ACK.
  for (const s of [client, agentSocket]) if (s instanceof net.Socket) s.setNoDelay(true);
  const join = () => {
    if (answer.head.length > 0) client.write(answer.head);
    if (upgrade.head.length > 0) agentSocket.write(upgrade.head);
    client.pipe(agentSocket);
    agentSocket.pipe(client);
  };
  // Either side ending ends both.
  const end = () => {
    client.destroy();
    agentSocket.destroy();
  };
  client.once('close', end);
  agentSocket.once('close', end);
  agentSocket.on('error', (err) => o.log.debug('stream from an agent broke', { node: nodeName, error: err.message, ...o.describe }));
  res.once('finish', join);
  const passed: Record<string, string> = { Connection: 'Upgrade', Upgrade: UPGRADE_TOKEN[o.protocol] };
  for (const h of ANSWER_HEADERS[o.protocol]) {
    const v = answered[h];
    if (typeof v === 'string') passed[h] = v;
  }
  res.writeHead(101, passed);
  res.end();
  return undefined;
}
