// Port-forward in Kubernetes' WebSocket channel protocol (`v4.channel.k8s.io`), what the official
// Python client speaks: the ports are named up front (`?ports=8080,9090`), one connection to each
// for the life of the WebSocket. Port i has two channels — 2i for data both ways, 2i+1 for errors
// from the server — every message starting with its channel's byte, and the server's first
// message on each channel is the port number (two bytes, little-endian). The WebSocket closes
// once every port's connection has ended, as a kubelet's does.
import net from 'node:net';
import type { WebSocket } from 'ws';
import type { Logger } from '../shared/logging.js';
import { EndpointRequestError } from './endpoint-request.js';

/** The subprotocol of the channel protocol. */
export const CHANNEL_PROTOCOL = 'v4.channel.k8s.io';

/** Output queued to a slow client before the pod's connections are paused. */
const HIGH_WATER_BYTES = 1024 * 1024;

/** The `ports` query: every value, comma-separated, each a port once. */
export function channelPorts(q: URLSearchParams): number[] {
  const ports: number[] = [];
  for (const text of q.getAll('ports').flatMap((v) => v.split(','))) {
    const t = text.trim();
    const port = Number(t);
    if (!/^\d{1,5}$/.test(t) || port < 1 || port > 65535) throw new EndpointRequestError(400, `invalid port "${t.slice(0, 20)}": must be 1-65535`);
    if (ports.includes(port)) throw new EndpointRequestError(400, `port ${port} given twice`);
    ports.push(port);
  }
  if (ports.length === 0) throw new EndpointRequestError(400, 'query parameter "ports" is required for port-forward over a WebSocket');
  // Two channels a port, numbered in one byte.
  if (ports.length > 128) throw new EndpointRequestError(400, 'at most 128 ports at once');
  return ports;
}

/** Serves one WebSocket: connects to each port and relays its channels until all have ended. */
export function serveChannels(ws: WebSocket, ports: number[], o: { describe: string; log: Logger; onGone: () => void }): void {
  const conns = ports.map((port, i) => {
    const dataChannel = 2 * i;
    const prefix = Buffer.from([dataChannel]);
    const announce = (channel: number) => ws.send(Buffer.from([channel, port & 0xff, port >> 8]));
    announce(dataChannel);
    announce(dataChannel + 1);
    const conn = net.connect({ host: 'localhost', port, autoSelectFamily: true, noDelay: true });
    conn.on('data', (chunk: Buffer) => {
      if (ws.readyState !== ws.OPEN) return;
      ws.send(Buffer.concat([prefix, chunk]), () => {
        if (conn.isPaused() && ws.bufferedAmount < HIGH_WATER_BYTES / 4) conn.resume();
      });
      if (ws.bufferedAmount > HIGH_WATER_BYTES) conn.pause();
    });
    conn.on('error', (err) => {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'ECONNREFUSED' ? `failed to connect to localhost:${port}: connection refused` : err.message;
      if (ws.readyState === ws.OPEN) ws.send(Buffer.concat([Buffer.from([dataChannel + 1]), Buffer.from(`error forwarding port ${port} to pod ${o.describe}: ${why}`)]));
    });
    conn.on('close', () => {
      if (conns.every((c) => c.closed)) ws.close(1000);
    });
    // The client's end is the WebSocket's: a connection whose pod side ended is finished.
    conn.on('end', () => conn.end());
    return conn;
  });

  ws.on('message', (data: Buffer) => {
    const channel = data[0];
    // Only data channels carry the client's bytes; anything else is ignored, as a kubelet does.
    if (channel === undefined || channel % 2 !== 0 || channel / 2 >= conns.length) return;
    const conn = conns[channel / 2]!;
    if (conn.destroyed || conn.writableEnded) return;
    if (!conn.write(data.subarray(1))) {
      ws.pause();
      conn.once('drain', () => ws.resume());
    }
  });
  ws.on('error', () => ws.terminate());
  ws.once('close', () => {
    for (const c of conns) c.destroy();
    o.onGone();
  });
}
