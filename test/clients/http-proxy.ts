// What the test proxies (tls-proxy.ts, watch-cut-proxy.ts) share: relaying a request upstream
// and listening on a loopback port.
import type http from 'node:http';
import type https from 'node:https';
import type { AddressInfo } from 'node:net';

/**
 * Send the client's body up `out`; an upstream failure becomes a 502 (or a cut stream once the
 * response started); a client that goes away ends the upstream request too (e.g. a watch it stopped).
 */
export function relay(req: http.IncomingMessage, res: http.ServerResponse, out: http.ClientRequest): void {
  out.on('error', (err) => {
    if (!res.headersSent) {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`proxy: ${err.message}`);
    } else {
      res.destroy();
    }
  });
  req.pipe(out);
  res.on('close', () => {
    if (!res.writableFinished) out.destroy();
  });
}

/** Listen on a free loopback port; resolves to the port. */
export async function listenOnLoopback(server: http.Server | https.Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return (server.address() as AddressInfo).port;
}
