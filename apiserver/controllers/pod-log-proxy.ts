// `GET /api/v1/namespaces/{ns}/pods/{name}/log`: kube-apiserver does not keep logs, it proxies to
// the kubelet of the pod's node; so does this one, to the node's cell-agent. The pod gives the node
// and the container, the Node gives the agent's address (InternalIP) and port
// (status.daemonEndpoints.kubeletEndpoint.Port). A node writes those itself, so the address must
// be inside the allow-list (--agent-address-allow), and only what an agent would answer is passed
// on: the log text (text/plain, streamed for `follow`) or a Status error; any other reply is
// reported by its status code alone, never echoed. The request is signed with the cluster's key
// (shared/proxy-signature.ts): an agent serves logs to API servers only.
import type { Node, Pod } from '../../shared/api/core.js';
import { InternalError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logging.js';
import type { AgentProxyKey } from '../auth/agent-proxy-key.js';
import { exchangeOf } from '../http/exchange.js';
import { releaseInflight } from '../http/inflight.js';
import type { CustomHandler, ServedResource } from '../http/resources.js';
import { boolParam, intParam } from '../http/query.js';
import { AgentAddressAllowList, agentErrorReply, agentTarget, requestAgent } from './agent-endpoint.js';
import { boundNode, chooseContainer } from './pod-container.js';

export function podLogHandler(d: { served(resource: string): ServedResource; log: Logger; signer: AgentProxyKey; agentAddressAllow?: AgentAddressAllowList }): CustomHandler {
  const allow = d.agentAddressAllow ?? AgentAddressAllowList.default();
  return async ({ res, user, path, query }) => {
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
    const nodeName = boundNode(pod);
    const node = (await d.served('nodes').rest.get(undefined, nodeName)) as unknown as Node;
    const { host, port } = await agentTarget(node, allow, 'read logs from');

    const upstreamQuery = new URLSearchParams();
    if (follow) upstreamQuery.set('follow', 'true');
    if (previous) upstreamQuery.set('previous', 'true');
    if (tailLines !== undefined) upstreamQuery.set('tailLines', String(tailLines));
    if (limitBytes !== undefined) upstreamQuery.set('limitBytes', String(limitBytes));
    if (pod.metadata.uid) upstreamQuery.set('podUID', pod.metadata.uid);
    const upstreamPath = `/containerLogs/${[namespace, podName, container].map(encodeURIComponent).join('/')}?${upstreamQuery.toString()}`;

    const signed = d.signer.sign({ node: nodeName, method: 'GET', path: upstreamPath, user: user.name });
    const { response: upstream } = await requestAgent({ nodeName, target: { host, port }, path: upstreamPath, headers: { Accept: '*/*', ...signed }, client: res, log: d.log });
    if (upstream.statusCode !== 200) return agentErrorReply(upstream, nodeName);
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
