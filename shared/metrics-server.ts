// The small HTTP listener every client process (scheduler, controller manager, agent) serves its
// Prometheus metrics and health on: /metrics; /healthz and /livez (alive while it answers);
// /readyz (ready once the process says so, e.g. its informers have listed).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { errorMessage } from './errors.js';

export interface MetricsServerOptions {
  registry: Registry;
  address: string;
  /** 0: any free port. */
  port: number;
  /** undefined = ready; a string = not ready, and why (503). Default: always ready. */
  notReady?: () => string | undefined;
}

export interface MetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function serveMetrics(o: MetricsServerOptions): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const reply = (code: number, type: string, body: string) => {
      res.writeHead(code, { 'Content-Type': type });
      res.end(body);
    };
    if (path === '/metrics') {
      o.registry.metrics().then(
        (text) => reply(200, o.registry.contentType, text),
        (err: unknown) => reply(500, 'text/plain', errorMessage(err)),
      );
    } else if (path === '/healthz' || path === '/livez') {
      reply(200, 'text/plain', 'ok');
    } else if (path === '/readyz') {
      const why = o.notReady?.();
      reply(why === undefined ? 200 : 503, 'text/plain', why ?? 'ok');
    } else {
      reply(404, 'text/plain', 'not found\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.address, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
