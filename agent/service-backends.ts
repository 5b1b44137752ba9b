// What the agent's proxies (service-proxy.ts, ingress-proxy.ts) share: a Service port's ready
// endpoints, taking them in turn, and connecting to the first that answers.
import net from 'node:net';
import type { Endpoints } from '../shared/api/service.js';

const CONNECT_TIMEOUT_MS = 5_000;

export interface Backend {
  ip: string;
  port: number;
}

/** The ready endpoints of the Service port named `portName` ('' when unnamed); only `node`'s when given. */
export function readyBackends(ep: Endpoints | undefined, portName: string, node?: string): Backend[] {
  const out: Backend[] = [];
  for (const s of ep?.subsets ?? []) {
    const port = (s.ports ?? []).find((p) => (p.name ?? '') === portName);
    if (!port) continue;
    for (const a of s.addresses ?? []) if (node === undefined || a.nodeName === node) out.push({ ip: a.ip, port: port.port });
  }
  return out;
}

/** Round robin per key: each call starts one further along. */
export class Turns {
  private readonly next = new Map<string, number>();

  order<T>(key: string, items: readonly T[]): T[] {
    if (items.length === 0) return [];
    const start = (this.next.get(key) ?? 0) % items.length;
    this.next.set(key, start + 1);
    return [...items.slice(start), ...items.slice(0, start)];
  }
}

/**
 * A connection to the first of `candidates` that accepts one, trying the next when one refuses,
 * is unreachable or does not answer within 5 s; undefined when none does. `track` sees every
 * socket opened, so its owner can close them when it stops.
 */
export async function connectFirst(candidates: readonly Backend[], track: (s: net.Socket) => void): Promise<{ socket: net.Socket; backend: Backend } | undefined> {
  for (const backend of candidates) {
    const socket = await new Promise<net.Socket | undefined>((resolve) => {
      const s = net.connect({ host: backend.ip, port: backend.port });
      track(s);
      const timer = setTimeout(() => s.destroy(new Error('connect timeout')), CONNECT_TIMEOUT_MS);
      s.once('error', () => {
        clearTimeout(timer);
        resolve(undefined);
      });
      s.once('connect', () => {
        clearTimeout(timer);
        resolve(s);
      });
    });
    if (socket) return { socket, backend };
  }
  return undefined;
}
