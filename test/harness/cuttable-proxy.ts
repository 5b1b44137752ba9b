// The process behind CuttableNetwork (cuttable-network.ts): TCP proxies in front of a test cluster's
// etcd members (or any servers), which can cut links the way a network fault does. Bytes on a cut link stop flowing —
// open connections hang with their data unread, new ones get no answer — and when the link comes
// back the held bytes go through late, as TCP's retransmissions would.
//
// Two kinds of route:
// - peer routes, one per member, in front of its peer port: the raft traffic, which a partition
//   cuts between two sides of the cluster. A connection's sender is told by the header etcd's raft
//   transport puts on each request to a peer (`X-Server-From: <member id>`, on its streams and its
//   pipelined and snapshot posts); one without it (version checks, RTT probes) carries no raft
//   message and is held while any partition stands.
// - client routes, one per (client, member), in front of the member's client port: one client's
//   way to the cluster, which can be cut as a whole (that client alone loses etcd) or to one
//   member. The "members" may be other servers than etcd's (API servers): a client route reads
//   nothing of what it carries.
//
// It runs as a child process of the test so that its event loop is never the busy test's: a proxy
// stalled for an election timeout would cause elections of its own.
//
// argv[2]: JSON Route[]. Messages from the parent: Command; each answered { type: 'done', seq }.
import net from 'node:net';

export interface Route {
  member: number;
  /** The port the route's users know the member by. */
  listenPort: number;
  /** The member's own port (peer or client). */
  targetPort: number;
  /** A client route's client; absent for a peer route. */
  client?: string;
}

export type Command =
  | { type: 'ids'; seq: number; ids: Record<string, number> }
  | { type: 'route'; seq: number; route: Route }
  | { type: 'partition'; seq: number; isolated: number[] }
  | { type: 'heal'; seq: number }
  | { type: 'cut-client'; seq: number; client: string; cut: boolean; member?: number };

export type Reply = { type: 'ready' } | { type: 'failed'; message: string } | { type: 'done'; seq: number; error?: string };

/** A request head longer than this without its blank line is not etcd's: it is passed on as unknown. */
const MAX_HEAD_BYTES = 64 * 1024;

class Link {
  /** A peer link's dialing member's raft id, from X-Server-From; undefined until the head is read, or when it has none. */
  fromId: string | undefined;
  /** Bytes read before the upstream connection was opened (a peer link's request head, and what followed). */
  pending: Buffer | undefined;
  upstream: net.Socket | undefined;
  held = false;
  closed = false;

  constructor(
    readonly route: Route,
    readonly client: net.Socket,
  ) {}

  /** Judged: forwarding or held (a peer link reading its head is neither yet). */
  get judged(): boolean {
    return this.held || this.upstream !== undefined;
  }
}

const memberById = new Map<string, number>();
let isolated = new Set<number>();
/** Cut client routes: `client` (from every member) or `client@member`. */
const cutClients = new Set<string>();
const links = new Set<Link>();

function allowed(link: Link): boolean {
  if (link.route.client !== undefined) return !cutClients.has(link.route.client) && !cutClients.has(`${link.route.client}@${link.route.member}`);
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

/** After a change of what is cut: holds what may no longer flow, releases what may again. */
function reconsider(): void {
  for (const link of [...links]) {
    if (!link.judged) continue;
    const ok = allowed(link);
    if (link.held && ok) release(link);
    else if (!link.held && !ok) hold(link);
  }
}

function accept(route: Route, client: net.Socket): void {
  const link = new Link(route, client);
  links.add(link);
  client.on('error', () => close(link));
  client.on('close', () => close(link));
  client.pause();
  if (route.client !== undefined) {
    if (allowed(link)) open(link);
    else hold(link);
    return;
  }
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
  client.resume();
}

function listen(route: Route): Promise<void> {
  const server = net.createServer((c) => accept(route, c));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(route.listenPort, '127.0.0.1', () => resolve());
  });
}

async function apply(cmd: Command): Promise<void> {
  switch (cmd.type) {
    case 'ids':
      for (const [id, member] of Object.entries(cmd.ids)) memberById.set(id.toLowerCase(), member);
      return;
    case 'route':
      await listen(cmd.route);
      return;
    case 'partition':
      isolated = new Set(cmd.isolated);
      reconsider();
      return;
    case 'heal':
      isolated = new Set();
      reconsider();
      return;
    case 'cut-client': {
      const name = cmd.member === undefined ? cmd.client : `${cmd.client}@${cmd.member}`;
      if (cmd.cut) cutClients.add(name);
      else cutClients.delete(name);
      reconsider();
      return;
    }
  }
}

const send = (reply: Reply) => process.send?.(reply);
Promise.all((JSON.parse(process.argv[2] ?? '[]') as Route[]).map(listen)).then(
  () => send({ type: 'ready' }),
  (err: unknown) => {
    send({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
    process.exit(1);
  },
);
process.on('message', (cmd: Command) => {
  apply(cmd).then(
    () => send({ type: 'done', seq: cmd.seq }),
    (err: unknown) => send({ type: 'done', seq: cmd.seq, error: err instanceof Error ? err.message : String(err) }),
  );
});
// The test is gone: so is its network.
process.on('disconnect', () => process.exit(0));
