// An HTTP-aware proxy in front of an API server that can break one watch stream at an exact
// event: it forwards every request unchanged, reads watch responses line by line (each line one
// event, after the chunked framing is undone), and when armed, forwards the response only up to and
// including the first event line that matches, then destroys both sockets — the client's and the
// one to the server — as a network failure in the middle of a server write would. Used to deliver a
// multi-event revision (a Placement, a group commit) only in part.
import http from 'node:http';
import type { WatchEventView } from '../apiserver/helpers.js';
import { listenOnLoopback, relay } from './http-proxy.js';

export interface WatchCut {
  /** The event the stream was cut after (the last one the client received). */
  event: WatchEventView;
  /** Complete event lines the proxy had already received from the server after it, and dropped. */
  droppedLines: number;
}

export interface WatchCutProxy {
  /** `http://127.0.0.1:PORT`, to use as the client's API server URL. */
  url: string;
  /** Watch streams opened through the proxy so far. */
  watches: number;
  /**
   * Arms a one-shot cut: the next watch event for which `match` holds is forwarded, then
   * `beforeCut` runs (e.g. to wait until the client has processed it), then both sockets are
   * destroyed. Resolves once the cut is done.
   */
  cutAfter(match: (event: WatchEventView) => boolean, beforeCut?: () => Promise<void>): Promise<WatchCut>;
  close(): Promise<void>;
}

interface Armed {
  match(event: WatchEventView): boolean;
  beforeCut: () => Promise<void>;
  done(cut: WatchCut): void;
  fail(err: unknown): void;
}

export async function startWatchCutProxy(upstream: string): Promise<WatchCutProxy> {
  const target = new URL(upstream);
  const agent = new http.Agent({ keepAlive: true });
  let armed: Armed | undefined;

  const server = http.createServer((req, res) => {
    const isWatch = new URL(req.url ?? '/', 'http://proxy').searchParams.get('watch') === 'true';
    if (isWatch) proxy.watches++;
    const out = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host }, agent },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        if (!isWatch) {
          up.pipe(res);
          return;
        }
        res.flushHeaders();
        let pending: Buffer = Buffer.alloc(0);
        let cutting = false;
        up.on('data', (chunk: Buffer) => {
          if (cutting) return;
          pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
          // Forward whole lines only, judging each; a partial line waits for the rest of it.
          let start = 0;
          for (let nl = pending.indexOf(0x0a, start); nl >= 0; nl = pending.indexOf(0x0a, start)) {
            const line = pending.subarray(start, nl + 1);
            start = nl + 1;
            const text = line.toString('utf8').trim();
            if (text === '' || !armed) continue;
            const event = JSON.parse(text) as WatchEventView;
            if (!armed.match(event)) continue;
            const cut = armed;
            armed = undefined;
            cutting = true;
            let droppedLines = 0;
            for (let i = pending.indexOf(0x0a, start); i >= 0; i = pending.indexOf(0x0a, i + 1)) droppedLines++;
            res.write(pending.subarray(0, start), () => {
              cut
                .beforeCut()
                .catch(cut.fail)
                .finally(() => {
                  req.socket.destroy();
                  out.destroy();
                  cut.done({ event, droppedLines });
                });
            });
            return;
          }
          if (start > 0) res.write(pending.subarray(0, start));
          pending = pending.subarray(start);
        });
        up.on('end', () => {
          if (!cutting) res.end();
        });
        up.on('error', () => res.destroy());
      },
    );
    relay(req, res, out);
  });
  const port = await listenOnLoopback(server);

  const proxy: WatchCutProxy = {
    url: `http://127.0.0.1:${port}`,
    watches: 0,
    cutAfter(match, beforeCut = async () => undefined) {
      if (armed) throw new Error('a cut is already armed');
      return new Promise<WatchCut>((resolve, reject) => {
        let failure: unknown;
        armed = {
          match,
          beforeCut,
          fail: (err) => (failure = err),
          done: (cut) => (failure === undefined ? resolve(cut) : reject(failure)),
        };
      });
    },
    async close() {
      armed = undefined;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
  return proxy;
}
