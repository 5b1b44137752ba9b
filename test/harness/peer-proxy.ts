// The process behind PeerNetwork (peer-network.ts): one TCP proxy per etcd member, in front of its
// peer port, that can cut the cluster in two the way a network partition does. Bytes between the
// two sides stop flowing — open connections hang with their data unread, new ones get no answer —
// while traffic within each side, and every client's traffic to every member, goes on. Healing
// lets the held bytes through late, as TCP's retransmissions would.
//
// A connection's two ends are told apart by the header etcd's raft transport puts on each request
// it sends a peer (`X-Server-From: <member id>`, on its streams and its pipelined and snapshot
// posts); a connection without it (version checks, RTT probes) carries no raft message and is held
// while any partition stands.
//
// It runs as a child process of the test so that its event loop is never the busy test's: a proxy
// stalled for an election timeout would cause elections of its own.
//
// argv[2]: JSON Route[]. Messages from the parent: Command; each answered { type: 'done', seq }.
import net from 'node:net';

export interface Route {
  member: number;
  /** The port the members know this member's peer URL by. */
  listenPort: number;
  /** The member's own peer port. */
  targetPort: number;
}

export type Command =
  | { type: 'ids'; seq: number; ids: Record<string, number> }
  | { type: 'partition'; seq: number; isolated: number[] }
  | { type: 'heal'; seq: number };

/** A request head longer than this without its blank line is not etcd's: it is passed on as unknown. */
const MAX_HEAD_BYTES = 64 * 1024;

class Link {
  /** The dialing member's raft id, from X-Server-From; undefined until the head is read, or when it has none. */
  fromId: string | undefined;
  /** Bytes read before the upstream connection was opened (the request head, and what followed). */
  pending: Buffer | undefined;
  upstream: net.Socket | undefined;
  held = false;
  closed = false;

  constructor(
    readonly route: Route,
    readonly client: net.Socket,
  ) {}
}

const memberById = new Map<string, number>();
let isolated = new Set<number>();
const links = new Set<Link>();

function allowed(link: Link): boolean {
  if (isolated.size === 0) return true;
  // Looked up now, not when the link opened: the first links open before the ids are known.
  const from = link.fromId === undefined ? undefined : memberById.get(link.fromId);
  if (from === undefined) return false;
  return isolated.has(from) === isolated.has(link.route.member);
}

function senderOf(head: Buffer): string | undefined {
  const m = /\r\nx-server-from:\s*([0-9a-f]+)\s*\r\n/i.exec(head.toString('latin1') + '\r\n');
  return m?.[1]!.toLowerCase();
}

function close(link: Link): void {
  if (link.closed) return;
  link.closed = true;
  links.delete(link);
  link.client.destroy();
  link.upstream?.destroy();
}

function open(link: Link): void {
  const up = net.connect(link.route.targetPort, '127.0.0.1');
  link.upstream = up;
  up.on('error', () => close(link));
  up.on('close', () => close(link));
  up.on('data', (d: Buffer) => link.client.write(d));
  link.client.on('data', (d: Buffer) => up.write(d));
  if (link.pending) up.write(link.pending);
  link.pending = undefined;
  link.client.resume();
}

/** Stops both directions: unread bytes wait in the sockets, and their senders block once those fill. */
function hold(link: Link): void {
  link.held = true;
  link.client.pause();
  link.upstream?.pause();
}

function release(link: Link): void {
  link.held = false;
  if (!link.upstream) {
    open(link);
    return;
  }
  link.upstream.resume();
  link.client.resume();
}

function accept(route: Route, client: net.Socket): void {
  const link = new Link(route, client);
  links.add(link);
  client.on('error', () => close(link));
  client.on('close', () => close(link));
  let head: Buffer = Buffer.alloc(0);
  const onHead = (d: Buffer): void => {
    head = head.length === 0 ? d : Buffer.concat([head, d]);
    const end = head.indexOf('\r\n\r\n');
    if (end < 0 && head.length < MAX_HEAD_BYTES) return;
    client.off('data', onHead);
    client.pause();
    link.fromId = senderOf(end < 0 ? head : head.subarray(0, end));
    link.pending = head;
    if (allowed(link)) open(link);
    else hold(link);
  };
  client.on('data', onHead);
}

function apply(cmd: Command): void {
  switch (cmd.type) {
    case 'ids':
      for (const [id, member] of Object.entries(cmd.ids)) memberById.set(id.toLowerCase(), member);
      return;
    case 'partition':
      isolated = new Set(cmd.isolated);
      // A link still reading its head is judged when the head is in.
      for (const link of links) if (link.upstream && !link.held && !allowed(link)) hold(link);
      return;
    case 'heal':
      isolated = new Set();
      for (const link of [...links]) if (link.held) release(link);
      return;
  }
}

const routes = JSON.parse(process.argv[2] ?? '[]') as Route[];
const servers = routes.map((route) => net.createServer((c) => accept(route, c)));
let listening = 0;
for (const [i, server] of servers.entries()) {
  server.listen(routes[i]!.listenPort, '127.0.0.1', () => {
    if (++listening === servers.length) process.send?.({ type: 'ready' });
  });
  server.on('error', (err) => {
    process.send?.({ type: 'failed', message: err.message });
    process.exit(1);
  });
}
process.on('message', (cmd: Command) => {
  apply(cmd);
  process.send?.({ type: 'done', seq: cmd.seq });
});
// The test is gone: so is its network.
process.on('disconnect', () => process.exit(0));
