// A TLS front for an API server in tests. kubectl (client-go) sends a kubeconfig user's bearer token
// only over TLS: against a plain-http server it silently drops the credentials, so testing token
// auth with real kubectl needs https. cell-apiserver serves plain http only (no --tls-cert-file yet),
// so the token-auth kubectl tests put this TLS-terminating reverse proxy in front of it.
//
// The certificate is a self-signed, test-only one (CN cell-test-localhost, SAN IP:127.0.0.1 and
// DNS:localhost, valid 2000-2099, CA:TRUE so it can be its own certificate-authority-data). Its key is
// public on purpose: it protects nothing.
import http from 'node:http';
import https from 'node:https';
import { TEST_TLS_CERT, TEST_TLS_KEY } from '../harness/tls.js';
import { listenOnLoopback, relay } from './http-proxy.js';

export { TEST_TLS_CERT, TEST_TLS_KEY };



export interface TlsProxy {
  /** https://127.0.0.1:PORT */
  url: string;
  close(): Promise<void>;
}

/** Forwards every request (streaming both ways, so watches work) to the http server at `upstream`. */
export async function startTlsProxy(upstream: string): Promise<TlsProxy> {
  const target = new URL(upstream);
  const agent = new http.Agent({ keepAlive: true });
  const server = https.createServer({ key: TEST_TLS_KEY, cert: TEST_TLS_CERT }, (req, res) => {
    const out = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: target.host },
        agent,
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        res.flushHeaders();
        up.pipe(res);
      },
    );
    relay(req, res, out);
  });
  const port = await listenOnLoopback(server);
  return {
    url: `https://127.0.0.1:${port}`,
    async close() {
      agent.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
