// `pods/{name}/exec` (kubectl exec, kubectl cp): a command run in a pod's container; and
// `pods/{name}/attach` (kubectl attach, kubectl run -i): the container's own stdin and output.
// Their streams are carried over a WebSocket (Kubernetes' v5.channel.k8s.io / v4.channel.k8s.io).
// As kube-apiserver does for the kubelet, this server checks the request (RBAC `create` on the
// subresource, the pod bound and not finished, the container), then hands the upgrade to the agent
// of the pod's node (agent-upgrade.ts); the agent speaks the channel protocol (agent/exec.ts,
// agent/attach.ts).
//
// SPDY, kubectl's older transport, is not served: kubectl 1.30 and later try the WebSocket first.
import type { Node, Pod } from '../../shared/api/core.js';
import { BadRequestError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logging.js';
import type { AgentProxyKey } from '../auth/agent-proxy-key.js';
import { boolParam } from '../http/query.js';
import type { CustomHandler, ServedResource } from '../http/resources.js';
import { upgradeOf } from '../http/upgrade.js';
import { AgentAddressAllowList } from './agent-endpoint.js';
import { joinAgentStream, upgradeProtocolOf } from './agent-upgrade.js';
import { boundNode, chooseContainer } from './pod-container.js';

type ProxyDeps = { served(resource: string): ServedResource; log: Logger; signer: AgentProxyKey; agentAddressAllow?: AgentAddressAllowList };

export function podExecHandler(d: ProxyDeps): CustomHandler {
  return containerStreamHandler(d, 'exec');
}

/** `pods/{name}/attach` (kubectl attach, kubectl run -i): the container's own stdin and output. */
export function podAttachHandler(d: ProxyDeps): CustomHandler {
  return containerStreamHandler(d, 'attach');
}

function containerStreamHandler(d: ProxyDeps, kind: 'exec' | 'attach'): CustomHandler {
  const allow = d.agentAddressAllow ?? AgentAddressAllowList.default();
  const verb = kind === 'exec' ? 'exec into' : 'attach to';
  return async ({ req, res, user, path, query }) => {
    const namespace = path.namespace ?? '';
    const podName = path.name ?? '';
    const command = kind === 'exec' ? query.getAll('command') : [];
    if (kind === 'exec' && command.length === 0) throw new BadRequestError('you must specify at least 1 command');
    const streams = { stdin: boolParam(query, 'stdin') ?? false, stdout: boolParam(query, 'stdout') ?? false, stderr: boolParam(query, 'stderr') ?? false, tty: boolParam(query, 'tty') ?? false };
    if (!streams.stdin && !streams.stdout && !streams.stderr) throw new BadRequestError('you must specify at least 1 of stdin, stdout, stderr');

    const pod = (await d.served('pods').rest.get(namespace, podName)) as unknown as Pod;
    const phase = pod.status.phase;
    if (phase === 'Succeeded' || phase === 'Failed') throw new BadRequestError(`cannot ${verb} a container in a completed pod; current phase is ${phase}`);
    const container = chooseContainer(pod, query.get('container'));
    const nodeName = boundNode(pod);

    const upgrade = upgradeOf(req);
    if (!upgrade || upgradeProtocolOf(req) !== 'websocket') {
      throw new BadRequestError(
        req.headers.upgrade === undefined
          ? 'Upgrade request required'
          : `this server streams ${kind} over a WebSocket only (GET with Upgrade: websocket, subprotocol v5.channel.k8s.io or v4.channel.k8s.io), not ${String(req.headers.upgrade).slice(0, 40)}`,
      );
    }

    const node = (await d.served('nodes').rest.get(undefined, nodeName)) as unknown as Node;
    const upstreamQuery = new URLSearchParams();
    for (const arg of command) upstreamQuery.append('command', arg);
    for (const [name, on] of Object.entries(streams)) if (on) upstreamQuery.set(name, 'true');
    if (pod.metadata.uid) upstreamQuery.set('podUID', pod.metadata.uid);
    const upstreamPath = `/${kind}/${[namespace, podName, container].map(encodeURIComponent).join('/')}?${upstreamQuery.toString()}`;
    return joinAgentStream({
      req,
      res,
      upgrade,
      protocol: 'websocket',
      node,
      path: upstreamPath,
      user: user.name,
      signer: d.signer,
      allow,
      purpose: kind === 'exec' ? 'run commands through' : 'attach through',
      log: d.log,
      describe: kind === 'exec' ? { exec: `${namespace}/${podName}`, container, command } : { attach: `${namespace}/${podName}`, container },
    });
  };
}
