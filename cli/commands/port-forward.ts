// `cellctl port-forward POD [LOCAL:]REMOTE…`: listens on local ports and carries each connection
// to the pod's port through the pod's `portforward` subresource, as kubectl port-forward does
// (`8080:80`, `:80` for any free local port, `80` for the same one; 127.0.0.1 and ::1 unless
// --address says otherwise). Each local connection is one WebSocket in Kubernetes' channel
// protocol (v4.channel.k8s.io: channel 0 the data, channel 1 the errors, each first announcing
// the port), so a failing connection fails alone. Runs until interrupted.
import net from 'node:net';
import type WebSocket from 'ws';
import type { Pod } from '../../shared/api/core.js';
import { podsResource } from '../../shared/api/registry.js';
import { resourceUrlPath } from '../../shared/client/http-client.js';
import { errorMessage } from '../../shared/errors.js';
import type { Cli } from '../context.js';
import { UsageError } from '../errors.js';
import { podNameOf } from '../pod-container.js';
import { refFor } from '../resources.js';

export interface PortForwardOptions {
  address?: string;
}

const PROTOCOL = 'v4.channel.k8s.io';
const DATA = 0;
const ERROR = 1;
/** Output queued to the server before a local connection is paused. */
const HIGH_WATER_BYTES = 1024 * 1024;

interface PortSpec {
  local: number;
  remote: number;
}

/** `8080:80`, `:80` (local 0: any free port) or `80` (the same port locally). */
export function parsePortSpec(text: string): PortSpec {
  const m = /^(\d*):(\d+)$/.exec(text) ?? /^()(\d+)$/.exec(text);
  const valid = (n: number) => Number.isInteger(n) && n >= 1 && n <= 65535;
  if (!m) throw new UsageError(`invalid port "${text}": expected [LOCAL:]REMOTE, e.g. 8080:80, :80 or 80`);
  const remote = Number(m[2]);
  const local = m[1] === '' ? (text.startsWith(':') ? 0 : remote) : Number(m[1]);
  if (!valid(remote) || (local !== 0 && !valid(local))) throw new UsageError(`invalid port "${text}": ports are 1-65535`);
  return { local, remote };
}

export async function runPortForward(cli: Cli, args: string[], o: PortForwardOptions): Promise<number> {
  const [target, ...specs] = args;
  if (target === undefined || specs.length === 0) throw new UsageError('expected POD and at least one port: cellctl port-forward POD [LOCAL:]REMOTE...');
  const ports = specs.map(parsePortSpec);
  const name = await podNameOf(cli, target, 'forward ports to');
  const ref = refFor(podsResource, cli.namespace, name);
  const pod = await cli.client.get<Pod>(ref);
  if (pod.status.phase !== 'Running') throw new UsageError(`unable to forward port because pod is not running. Current status=${pod.status.phase ?? 'Unknown'}`);
  const path = resourceUrlPath(refFor(podsResource, cli.namespace, name, 'portforward'));
  const addresses = o.address === undefined || o.address === 'localhost' ? ['127.0.0.1', '::1'] : o.address.split(',').map((a) => a.trim());

  const servers: net.Server[] = [];
  for (const p of ports) {
    let local = p.local;
    for (const address of addresses) {
      const server = net.createServer((conn) => {
        cli.print(`Handling connection for ${local}\n`);
        carry(cli, conn, path, p.remote, local);
      });
      try {
        await listen(server, address, local);
      } catch (err) {
        // ::1 where the host has no IPv6: 127.0.0.1 serves alone, as kubectl does.
        if (address === '::1' && servers.length > 0) continue;
        throw new UsageError(`unable to listen on ${address}:${local}: ${errorMessage(err)}`);
      }
      // `:80` takes the port the first address got for the others too.
      local = (server.address() as net.AddressInfo).port;
      servers.push(server);
      cli.print(`Forwarding from ${address.includes(':') ? `[${address}]` : address}:${local} -> ${p.remote}\n`);
    }
  }
  await new Promise<void>((resolve) => {
    const stop = () => {
      for (const s of servers) s.close();
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}

function listen(server: net.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, ipv6Only: host.includes(':') }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** One local connection, carried over its own WebSocket until either side ends. */
function carry(cli: Cli, conn: net.Socket, path: string, remote: number, local: number): void {
  conn.setNoDelay(true);
  conn.pause();
  cli.client.connect(path, [['ports', String(remote)]], [PROTOCOL]).then(
    (ws) => relay(cli, conn, ws, remote, local),
    (err: unknown) => {
      cli.error(`an error occurred forwarding ${local} -> ${remote}: ${errorMessage(err)}`);
      conn.destroy();
    },
  );
}

function relay(cli: Cli, conn: net.Socket, ws: WebSocket, remote: number, local: number): void {
  // Each channel's first message is the port it is for.
  const announced = new Set<number>();
  ws.on('message', (data: Buffer) => {
    const channel = data[0];
    if (channel === undefined) return;
    if (!announced.has(channel)) {
      announced.add(channel);
      return;
    }
    if (channel === DATA) {
      if (!conn.write(data.subarray(1))) {
        ws.pause();
        conn.once('drain', () => ws.resume());
      }
    } else if (channel === ERROR) {
      cli.error(`an error occurred forwarding ${local} -> ${remote}: ${data.subarray(1).toString('utf8')}`);
    }
  });
  conn.on('data', (chunk: Buffer) => {
    if (ws.readyState !== ws.OPEN) return;
    ws.send(Buffer.concat([Buffer.from([DATA]), chunk]), () => {
      if (conn.isPaused() && ws.bufferedAmount < HIGH_WATER_BYTES / 4) conn.resume();
    });
    if (ws.bufferedAmount > HIGH_WATER_BYTES) conn.pause();
  });
  // Either side ending ends both: the channel protocol cannot half-close a connection.
  conn.on('end', () => ws.close(1000));
  conn.on('error', () => ws.close(1000));
  ws.on('close', () => conn.end());
  ws.on('error', (err) => {
    cli.error(`an error occurred forwarding ${local} -> ${remote}: ${err.message}`);
    conn.destroy();
  });
  conn.resume();
}
