// `pods/{name}/exec` (kubectl exec, kubectl cp): a command run in a pod's container, its streams
// carried over a WebSocket (Kubernetes' v5.channel.k8s.io / v4.channel.k8s.io). As kube-apiserver
// does for the kubelet, this server checks the request (RBAC `create` on pods/exec, the pod bound
// and not finished, the container), then forwards the upgrade to the agent of the pod's node and
// joins the two connections byte for byte; the agent speaks the channel protocol (agent/exec.ts).
// The forwarded request is signed with the cluster's key (shared/proxy-signature.ts): the agent
// runs nothing for a request an API server did not authorize.
//
// SPDY, kubectl's older transport, is not served: kubectl 1.30 and later try the WebSocket first.
import type { IncomingMessage } from 'node:http';
import type { Node, Pod } from '../../shared/api/core.js';
import { BadRequestError, InternalError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logging.js';
import type { AgentProxyKey } from '../auth/agent-proxy-key.js';
import { exchangeOf } from '../http/exchange.js';
import { releaseInflight } from '../http/inflight.js';
import { boolParam } from '../http/query.js';
import type { CustomHandler, ServedResource } from '../http/resources.js';
import { upgradeOf } from '../http/upgrade.js';
import { AgentAddressAllowList, agentErrorReply, agentTarget, requestAgent } from './agent-endpoint.js';
import { boundNode, chooseContainer } from './pod-container.js';

/** The WebSocket handshake headers passed to the agent as the client sent them. */
const HANDSHAKE_HEADERS = ['sec-websocket-key', 'sec-websocket-version', 'sec-websocket-protocol', 'sec-websocket-extensions'] as const;

function isWebSocketUpgrade(req: IncomingMessage): boolean {
  return (req.headers.upgrade ?? '').toLowerCase() === 'websocket' && req.method === 'GET';
}

export function podExecHandler(d: { served(resource: string): ServedResource; log: Logger; signer: AgentProxyKey; agentAddressAllow?: AgentAddressAllowList }): CustomHandler {
  const allow = d.agentAddressAllow ?? AgentAddressAllowList.default();
  return async ({ req, res, user, path, query }) => {
    const namespace = path.namespace ?? '';
    const podName = path.name ?? '';
    const command = query.getAll('command');
    if (command.length === 0) throw new BadRequestError('you must specify at least 1 command');
    const streams = { stdin: boolParam(query, 'stdin') ?? false, stdout: boolParam(query, 'stdout') ?? false, stderr: boolParam(query, 'stderr') ?? false, tty: boolParam(query, 'tty') ?? false };
    if (!streams.stdin && !streams.stdout && !streams.stderr) throw new BadRequestError('you must specify at least 1 of stdin, stdout, stderr');

    const pod = (await d.served('pods').rest.get(namespace, podName)) as unknown as Pod;
    const phase = pod.status.phase;
    if (phase === 'Succeeded' || phase === 'Failed') throw new BadRequestError(`cannot exec into a container in a completed pod; current phase is ${phase}`);
    const container = chooseContainer(pod, query.get('container'));
    const nodeName = boundNode(pod);

    const upgrade = upgradeOf(req);
    if (!upgrade || !isWebSocketUpgrade(req)) {
      throw new BadRequestError(
        req.headers.upgrade === undefined
          ? 'Upgrade request required'
          : `this server streams exec over a WebSocket only (GET with Upgrade: websocket, subprotocol v5.channel.k8s.io or v4.channel.k8s.io), not ${String(req.headers.upgrade).slice(0, 40)}`,
      );
    }

    const node = (await d.served('nodes').rest.get(undefined, nodeName)) as unknown as Node;
    const target = await agentTarget(node, allow, 'run commands through');
    const upstreamQuery = new URLSearchParams();
    for (const arg of command) upstreamQuery.append('command', arg);
    for (const [name, on] of Object.entries(streams)) if (on) upstreamQuery.set(name, 'true');
    if (pod.metadata.uid) upstreamQuery.set('podUID', pod.metadata.uid);
    const upstreamPath = `/exec/${[namespace, podName, container].map(encodeURIComponent).join('/')}?${upstreamQuery.toString()}`;
    const headers: Record<string, string> = { Connection: 'Upgrade', Upgrade: 'websocket', ...d.signer.sign({ node: nodeName, method: 'GET', path: upstreamPath, user: user.name }) };
    for (const h of HANDSHAKE_HEADERS) {
      const v = req.headers[h];
      if (typeof v === 'string') headers[h] = v;
    }

    const answer = await requestAgent({ nodeName, target, path: upstreamPath, headers, client: res, log: d.log });
    if (!answer.upgraded) return agentErrorReply(answer.response, nodeName);
    const agentSocket = answer.socket;
    const accept = answer.response.headers['sec-websocket-accept'];
    if ((answer.response.headers.upgrade ?? '').toLowerCase() !== 'websocket' || typeof accept !== 'string') {
      agentSocket.destroy();
      throw new InternalError(`the agent of node ${nodeName} switched to something other than a WebSocket`);
    }
    d.log.info('exec in a container', { user: user.name, pod: `${namespace}/${podName}`, container, node: nodeName, command });

    // The client's connection is the agent's from here on; like a watch, it is long-running.
    upgrade.hijack();
    exchangeOf(res).longRunning = true;
    releaseInflight(res);
    const client = upgrade.socket;
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
    agentSocket.on('error', (err) => d.log.debug('exec stream from agent broke', { node: nodeName, pod: `${namespace}/${podName}`, error: err.message }));
    res.once('finish', join);
    const protocol = answer.response.headers['sec-websocket-protocol'];
    const extensions = answer.response.headers['sec-websocket-extensions'];
    res.writeHead(101, {
      Connection: 'Upgrade',
      Upgrade: 'websocket',
      'Sec-WebSocket-Accept': accept,
      ...(typeof protocol === 'string' ? { 'Sec-WebSocket-Protocol': protocol } : {}),
      ...(typeof extensions === 'string' ? { 'Sec-WebSocket-Extensions': extensions } : {}),
    });
    res.end();
    return undefined;
  };
}
