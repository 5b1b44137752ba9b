import { readFileSync } from 'node:fs';
import net from 'node:net';

// Ports for the servers tests start. They are taken below the kernel's ephemeral range
// (ip_local_port_range, 32768–60999 by default). A port the OS hands out for listen(0) comes from
// that range, and so does the local port of every outgoing connection: between closing such a
// port here and the real server binding it, any new connection on the machine (a client, a
// proxy, etcd's peers) could take it, and the server fails with "address already in use" — a
// 3-member etcd cluster in CI once did. Below the range only an explicit bind takes a port.
// Candidates are walked in turn from a random start, so one process never hands out the same
// port twice in a row and concurrent test processes rarely try the same ones.

/** The lowest port handed out. */
const FIRST = 10_000;
let next: number | undefined;

/** The first port of the ephemeral range; undefined where it cannot be read (not Linux). */
function ephemeralStart(): number | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8');
  } catch {
    // No procfs: fall back to the OS's pick (freePort below).
    return undefined;
  }
  const low = Number(text.trim().split(/\s+/)[0]);
  return Number.isInteger(low) && low > FIRST + 1_000 ? low : undefined;
}

/** Whether a server can listen on `port` on loopback right now. */
function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** A port the OS picked (from the ephemeral range). */
function osPickedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** A TCP port on loopback that was free a moment ago, outside the ephemeral range where it can be. */
export async function freePort(): Promise<number> {
  const end = ephemeralStart();
  if (end === undefined) return osPickedPort();
  const span = end - FIRST;
  next ??= FIRST + Math.floor(Math.random() * span);
  for (let tried = 0; tried < span; tried++) {
    const port = next;
    next = next + 1 >= end ? FIRST : next + 1;
    if (await bindable(port)) return port;
  }
  return osPickedPort();
}
