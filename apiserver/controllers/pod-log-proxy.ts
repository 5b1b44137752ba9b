// `GET /api/v1/namespaces/{ns}/pods/{name}/log`: kube-apiserver does not keep logs, it proxies to
// the kubelet of the pod's node; so does this one, to the node's cell-agent. The pod gives the node
// and the container, the Node gives the agent's address (InternalIP) and port
// (status.daemonEndpoints.kubeletEndpoint.Port). A node writes those itself, so the address must
// be inside the allow-list (--agent-address-allow), and only what an agent would answer is passed
// on: the log text (text/plain, streamed for `follow`) or a Status error; any other reply is
// reported by its status code alone, never echoed.
import http from 'node:http';
import type { Node, Pod } from '../../shared/api/core.js';
import { BadRequestError, InternalError, UnavailableError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logging.js';
import { exchangeOf } from '../http/exchange.js';
import { releaseInflight } from '../http/inflight.js';
import type { CustomHandler, ServedResource } from '../http/resources.js';
import { boolParam, intParam } from '../http/query.js';
import { AgentAddressAllowList, agentStatus, agentTarget, codeOf } from './agent-endpoint.js';

/** How long reaching the agent may take (a follow stream may then stay open indefinitely). */
const CONNECT_TIMEOUT_MS = 10_000;
/** Largest error body read from the agent. */
const MAX_ERROR_BODY = 64 * 1024;

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
    const { host, port } = await agentTarget(node, allow, 'read logs from');

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
