// `pods/{name}/portforward` (kubectl port-forward): connections to a pod's ports, carried in
// Kubernetes' port-forward protocol over SPDY/3.1 — tunnelled in a WebSocket (subprotocol
// `SPDY/3.1+portforward.k8s.io`, what kubectl 1.31 and later try first) or on the upgraded
// connection itself (`Upgrade: SPDY/3.1`, older kubectl and client-go) — or in the WebSocket
// channel protocol for the ports named by `?ports=` (v4.channel.k8s.io, the official Python
// client). As kube-apiserver does, this server checks the request (RBAC `create` on
// pods/portforward, the pod bound and not finished), then hands the upgrade to the agent of the
// pod's node (agent-upgrade.ts), which speaks the protocol and connects to the ports
// (agent/port-forward.ts).
import type { Node, Pod } from '../../shared/api/core.js';
import { BadRequestError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logging.js';
import type { AgentProxyKey } from '../auth/agent-proxy-key.js';
import type { CustomHandler, ServedResource } from '../http/resources.js';
import { upgradeOf } from '../http/upgrade.js';
import { AgentAddressAllowList } from './agent-endpoint.js';
import { joinAgentStream, upgradeProtocolOf } from './agent-upgrade.js';
import { boundNode } from './pod-container.js';

export function podPortForwardHandler(d: { served(resource: string): ServedResource; log: Logger; signer: AgentProxyKey; agentAddressAllow?: AgentAddressAllowList }): CustomHandler {
  const allow = d.agentAddressAllow ?? AgentAddressAllowList.default();
  return async ({ req, res, user, path, query: params }) => {
    const namespace = path.namespace ?? '';
    const podName = path.name ?? '';
    const pod = (await d.served('pods').rest.get(namespace, podName)) as unknown as Pod;
    const phase = pod.status.phase;
    if (phase === 'Succeeded' || phase === 'Failed') throw new BadRequestError(`cannot forward ports to a completed pod; current phase is ${phase}`);
    const nodeName = boundNode(pod);
    const upgrade = upgradeOf(req);
    const protocol = upgradeProtocolOf(req);
    if (!upgrade || !protocol) throw new BadRequestError('Upgrade request required (SPDY/3.1, or a WebSocket with subprotocol SPDY/3.1+portforward.k8s.io)');

    const node = (await d.served('nodes').rest.get(undefined, nodeName)) as unknown as Node;
    const query = new URLSearchParams();
    if (pod.metadata.uid) query.set('podUID', pod.metadata.uid);
    // The WebSocket channel protocol's ports (the official Python client's); the agent checks them.
    for (const ports of params.getAll('ports')) query.append('ports', ports);
    return joinAgentStream({
      req,
      res,
      upgrade,
      protocol,
      node,
      path: `/portForward/${[namespace, podName].map(encodeURIComponent).join('/')}?${query.toString()}`,
      user: user.name,
      signer: d.signer,
      allow,
      purpose: 'forward ports through',
      log: d.log,
      describe: { portForward: `${namespace}/${podName}` },
    });
  };
}
