// The HTTP or HTTPS listener: TLS and client certificates, a Status for requests Node's parser
// refuses, upgrades (http/upgrade.ts), timeouts fit for watches, and a close that does not wait
// for idle connections.
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../shared/logging.js';
import { serveUpgrades } from '../http/upgrade.js';

export interface ListenOptions {
  bindAddress: string;
  /** 0 = any free port. */
  port: number;
  tls?: { cert: string; key: string; clientCa?: string } | undefined;
}

export interface Listener {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function listen(o: ListenOptions, handle: (req: http.IncomingMessage, res: http.ServerResponse) => void, log: Logger): Promise<Listener> {
  // With a client CA the handshake asks for a certificate but admits clients without one (token
  // users); auth/x509.ts reads each connection's verdict.
  const clientCerts = o.tls?.clientCa !== undefined ? { requestCert: true, rejectUnauthorized: false, ca: o.tls.clientCa } : {};
  const server = o.tls ? https.createServer({ cert: o.tls.cert, key: o.tls.key, ...clientCerts }, handle) : http.createServer(handle);
  // Requests Node's parser refuses (header overflow, garbage) still get a Status body.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return socket.destroy();
    const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
    const code = tooLarge ? 431 : 400;
    const body = JSON.stringify({
      kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', code,
      reason: tooLarge ? 'RequestHeaderFieldsTooLarge' : 'BadRequest',
      message: tooLarge ? 'request header fields too large' : `malformed HTTP request: ${err.message}`,
    });
    socket.end(`HTTP/1.1 ${code} ${tooLarge ? 'Request Header Fields Too Large' : 'Bad Request'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  });
  // Upgrades (pods/exec) go through `handle` too; their sockets are ended at close.
  const upgraded = serveUpgrades(server, handle, log);
  // Watches are long-lived: no request timeout; keep-alive for clients that reuse connections.
  server.requestTimeout = 0;
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.bindAddress, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = o.bindAddress.includes(':') ? `[${o.bindAddress}]` : o.bindAddress;
  return {
    url: `${o.tls ? 'https' : 'http'}://${host}:${port}`,
    port,
    async close() {
      // Connections a client opened but never used would otherwise hold server.close() until the
      // header timeout (watches are ended before this is called).
      server.closeAllConnections();
      for (const socket of upgraded) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
