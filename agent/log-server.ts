// The agent's HTTP endpoint, which the API server proxies `pods/{name}/log` to (as kube-apiserver
// proxies to the kubelet): GET /containerLogs/{namespace}/{pod}/{container} with follow,
// tailLines, limitBytes and previous; GET /stats/resource, the node's latest resource usage sample
// (the metrics API's source); /healthz and /metrics; and the upgrades of `pods/{name}/exec`
// (exec.ts), `pods/{name}/attach` (attach.ts) and `pods/{name}/portforward` (port-forward.ts). Errors are Kubernetes `Status`
// objects so the API server can pass them through unchanged.
//
// Logs, usage, exec, attach and port-forward are served only for requests an API server signed (api-server-auth.ts);
// /healthz and /metrics to anyone who can reach the port.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { CellError, errorMessage } from '../shared/errors.js';
import type { NodeUsageSample } from '../shared/api/metrics.js';
import type { Logger } from '../shared/logging.js';
import type { ApiServerSignatures } from './api-server-auth.js';
import { boolQuery, containerPath, EndpointRequestError, intQuery, refuseUpgrade, statusOf, type EndpointCode } from './endpoint-request.js';
import type { AttachEndpoint } from './attach.js';
import type { ExecEndpoint } from './exec.js';
import type { LogFiles, ReadOptions } from './logs.js';
import type { AgentMetrics } from './metrics.js';
import type { PortForwardEndpoint } from './port-forward.js';
import type { LogLookup } from './pod-worker.js';

export interface LogSource {
  /** The log of a container of a pod on this node; `podUID` (when given) must match. */
  lookup(namespace: string, pod: string, container: string, previous: boolean, podUID: string | undefined): LogLookup;
}

export interface LogServer {
  port: number;
  close(): Promise<void>;
}

function sendStatus(res: http.ServerResponse, code: EndpointCode, message: string): void {
  res.writeHead(code, { 'Content-Type': 'application/json' });
  res.end(statusOf(code, message).body);
}

export async function startLogServer(opts: {
  address: string;
  port: number;
  source: LogSource;
  logs: LogFiles;
  metrics: AgentMetrics;
  /** The latest resource usage sample (resource-usage.ts); undefined until one window is complete. */
  usage: () => NodeUsageSample | undefined;
  /** Serves `/exec/…` upgrades. */
  exec: ExecEndpoint;
  /** Serves `/portForward/…` upgrades. */
  portForward: PortForwardEndpoint;
  /** Serves `/attach/…` upgrades. */
  attach: AttachEndpoint;
  /** Checks that an API server signed a request for logs or usage. */
  signatures: ApiServerSignatures;
  log: Logger;
}): Promise<LogServer> {
  const { source, logs, log } = opts;
  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://agent');
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new EndpointRequestError(400, 'only GET is served');
    if (url.pathname === '/healthz') {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('ok');
      return;
    }
    if (url.pathname === '/metrics') {
      const { contentType, body } = await opts.metrics.render();
      res.writeHead(200, { 'Content-Type': contentType });
      res.end(body);
      return;
    }
    // Logs and usage go to API servers only (health and metrics are for anyone who can reach the port).
    try {
      await opts.signatures.verify(req, req.url ?? '/');
    } catch (err) {
      if (err instanceof CellError) throw EndpointRequestError.from(err);
      throw err;
    }
    if (url.pathname === '/stats/resource') {
      const sample = opts.usage();
      if (!sample) throw new EndpointRequestError(503, 'no resource usage sample yet: the first window is not complete');
      const body = JSON.stringify(sample);
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    const { namespace, pod, container } = containerPath(url.pathname, 'containerLogs');
    const q = url.searchParams;
    const follow = boolQuery(q, 'follow');
    const previous = boolQuery(q, 'previous');
    const read: ReadOptions = {};
    const tail = intQuery(q, 'tailLines', 0);
    if (tail !== undefined) read.tailLines = tail;
    const limit = intQuery(q, 'limitBytes', 1);
    if (limit !== undefined) read.limitBytes = limit;
    const found = source.lookup(namespace, pod, container, previous, q.get('podUID') ?? undefined);
    if (!found.ok) throw new EndpointRequestError(found.notFound ? 404 : 400, found.message);
    if (!follow) {
      const { data } = await logs.read(found.path, read);
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(data.length) });
      res.end(req.method === 'HEAD' ? undefined : data);
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-cache' });
    res.flushHeaders();
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    await logs.follow(found.path, read, res, found.isRunning, abort.signal);
    res.end();
  };
  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy();
        if (!(err instanceof EndpointRequestError)) log.warn('log stream failed', { url: req.url, error: errorMessage(err) });
        return;
      }
      if (err instanceof EndpointRequestError) sendStatus(res, err.code, err.message);
      else {
        log.warn('log request failed', { url: req.url, error: errorMessage(err) });
        sendStatus(res, 500, `reading the log failed: ${errorMessage(err)}`);
      }
    });
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    // A peer resetting the connection must not take the agent down.
    socket.on('error', (err) => log.debug('upgrade connection failed', { url: req.url, error: err.message }));
    const url = req.url ?? '';
    if (url.startsWith('/exec/')) void opts.exec.handleUpgrade(req, socket, head);
    else if (url.startsWith('/portForward/')) void opts.portForward.handleUpgrade(req, socket, head);
    else if (url.startsWith('/attach/')) void opts.attach.handleUpgrade(req, socket, head);
    else refuseUpgrade(socket, 404, `no upgrade is served at ${url.split('?')[0]!.slice(0, 200)}`);
  });
  // Follow streams are long-lived.
  server.requestTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.address, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        opts.exec.stop();
        opts.portForward.stop();
        opts.attach.stop();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
