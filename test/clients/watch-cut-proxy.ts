// An HTTP-aware proxy in front of an API server that breaks watch streams at chosen points: it
// forwards every request unchanged, reads watch responses line by line (each line one event, after
// the chunked framing is undone), and destroys both sockets — the client's and the one to the
// server — as a network failure in the middle of a server write would.
// - cutAfter(): a one-shot cut right after the first event that matches.
// - cutRandomly(): from then on every watch stream is cut at a seeded point of one of three kinds:
//   between two events, in the middle of an event line, or between two events of one etcd
//   transaction (a Placement, a group commit) — the places where a client's resume is tested.
import http from 'node:http';
import { revisionOf } from '../../apiserver/storage/resource-version.js';
import type { WatchEventView } from '../apiserver/helpers.js';
import { listenOnLoopback, relay } from './http-proxy.js';

export interface WatchCut {
  /** The event the stream was cut after (the last one the client received whole). */
  event: WatchEventView;
  /** Complete event lines the proxy had already received from the server after it, and dropped. */
  droppedLines: number;
}

export type CutKind = 'between-events' | 'mid-line' | 'inside-transaction';

export interface SeededCut {
  kind: CutKind;
  /** resourceVersion of the last whole event the client got. */
  afterResourceVersion: string;
}

export interface WatchCutProxy {
  /** `http://127.0.0.1:PORT`, to use as the client's API server URL. */
  url: string;
  /** Watch streams opened through the proxy so far. */
  watches: number;
  /** Cuts made by cutRandomly, in order. */
  readonly cuts: SeededCut[];
  /**
   * Arms a one-shot cut: the next watch event for which `match` holds is forwarded, then
   * `beforeCut` runs (e.g. to wait until the client has processed it), then both sockets are
   * destroyed. Resolves once the cut is done.
   */
  cutAfter(match: (event: WatchEventView) => boolean, beforeCut?: () => Promise<void>): Promise<WatchCut>;
  /** Cut every watch stream opened from now on after 1..maxEvents events (seeded), until stopCutting(). */
  cutRandomly(random: () => number, maxEvents: number): void;
  stopCutting(): void;
  close(): Promise<void>;
}

interface Armed {
  match(event: WatchEventView): boolean;
  beforeCut: () => Promise<void>;
  done(cut: WatchCut): void;
  fail(err: unknown): void;
}

/** Where one stream is to be cut (seeded mode). */
interface Plan {
  kind: CutKind;
  /** Whole events to let through first (for inside-transaction: at least this many). */
  events: number;
  /** For mid-line: the share of the next line that gets through. */
  fraction: number;
}

const rvOfLine = (line: Buffer): string | undefined => {
  try {
    return (JSON.parse(line.toString('utf8')) as WatchEventView).object?.metadata?.resourceVersion;
  } catch {
    return undefined;
  }
};

export async function startWatchCutProxy(upstream: string): Promise<WatchCutProxy> {
  const target = new URL(upstream);
  const agent = new http.Agent({ keepAlive: true });
  let armed: Armed | undefined;
  let seeded: { random: () => number; maxEvents: number } | undefined;
  const kinds: CutKind[] = ['between-events', 'mid-line', 'inside-transaction'];

  const server = http.createServer((req, res) => {
    const watchParam = new URL(req.url ?? '/', 'http://proxy').searchParams.get('watch');
    const isWatch = watchParam !== null && watchParam !== '0' && watchParam.toLowerCase() !== 'false';
    if (isWatch) proxy.watches++;
    const plan: Plan | undefined =
      isWatch && seeded
        ? { kind: kinds[Math.floor(seeded.random() * kinds.length)]!, events: 1 + Math.floor(seeded.random() * seeded.maxEvents), fraction: seeded.random() }
        : undefined;
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
        let passed = 0;
        let lastRv = '';
        const cutNow = (upTo: number, kind: CutKind) => {
          cutting = true;
          proxy.cuts.push({ kind, afterResourceVersion: lastRv });
          res.write(pending.subarray(0, upTo), () => {
            req.socket.destroy();
            out.destroy();
          });
        };
        up.on('data', (chunk: Buffer) => {
          if (cutting) return;
          pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
          // Whole lines only are judged; a partial line waits for the rest of it.
          let start = 0;
          for (let nl = pending.indexOf(0x0a, start); nl >= 0; nl = pending.indexOf(0x0a, start)) {
            const line = pending.subarray(start, nl + 1);
            const lineStart = start;
            start = nl + 1;
            if (line.toString('utf8').trim() === '') continue;
            if (plan && passed >= plan.events) {
              if (plan.kind === 'mid-line') {
                cutNow(lineStart + Math.max(1, Math.min(line.length - 2, Math.floor(line.length * plan.fraction))), 'mid-line');
                return;
              }
              if (plan.kind === 'between-events') {
                cutNow(lineStart, 'between-events');
                return;
              }
              // inside-transaction: only where this line shares the etcd revision of the last one.
              const rv = rvOfLine(line);
              if (rv && lastRv && revisionOf(Number(rv)) === revisionOf(Number(lastRv))) {
                cutNow(lineStart, 'inside-transaction');
                return;
              }
            }
            passed++;
            if (plan) lastRv = rvOfLine(line) ?? lastRv;
            if (!armed) continue;
            const event = JSON.parse(line.toString('utf8')) as WatchEventView;
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
    cuts: [],
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
    cutRandomly(random, maxEvents) {
      seeded = { random, maxEvents };
    },
    stopCutting() {
      seeded = undefined;
    },
    async close() {
      armed = undefined;
      seeded = undefined;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
  return proxy;
}
