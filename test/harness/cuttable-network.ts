// A network a test can cut (cuttable-proxy.ts does the forwarding, in its own process). Around a
// test cluster's etcd members: each member is told its peers' URLs at the proxy's ports, so every
// byte of raft traffic crosses it and `partition` can split the cluster. For any servers (etcd
// members, API servers): a client given `clientUrls` reaches them through it, and can be cut off
// from all of them or from one.
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command, Reply, Route } from './cuttable-proxy.js';
import { freePort } from './ports.js';

const PROXY_MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), 'cuttable-proxy.ts');

/** A command without its sequence number (send adds it), kind by kind. */
type WithoutSeq<C> = C extends Command ? Omit<C, 'seq'> : never;
type Request = WithoutSeq<Command>;

export class CuttableNetwork {
  private seq = 0;
  private readonly waiting = new Map<number, (error: string | undefined) => void>();
  private readonly clients = new Map<string, Promise<string[]>>();

  private constructor(
    private readonly child: ChildProcess,
    /** Each target's own port (etcd members' client ports, API servers' ports). */
    private readonly memberClientPorts: number[],
  ) {
    child.on('message', (m: Reply) => {
      if (m.type !== 'done') return;
      this.waiting.get(m.seq)?.(m.error);
      this.waiting.delete(m.seq);
    });
  }

  /**
   * Starts the proxies: for each peer route, `listenPort` forwards to the member's own peer port;
   * `clientUrls` will lead to `memberClientPorts`. For servers without peers: `start([], ports)`.
   */
  static async start(peerRoutes: Route[], memberClientPorts: number[]): Promise<CuttableNetwork> {
    const child = fork(PROXY_MAIN, [JSON.stringify(peerRoutes)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    await new Promise<void>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`the network proxy exited (${code}) before it listened`));
      child.once('exit', onExit);
      child.on('message', (m: Reply) => {
        if (m.type === 'ready') {
          child.off('exit', onExit);
          resolve();
        } else if (m.type === 'failed') {
          reject(new Error(`the network proxy could not listen: ${m.message}`));
        }
      });
    });
    return new CuttableNetwork(child, memberClientPorts);
  }

  /** Which member each raft member id (hex, as etcd sends it in X-Server-From) belongs to. */
  learnIds(ids: Record<string, number>): Promise<void> {
    return this.send({ type: 'ids', ids });
  }

  /** Cuts the `isolated` members off from the others (each side still talks within itself). */
  partition(isolated: number[]): Promise<void> {
    return this.send({ type: 'partition', isolated });
  }

  /** Joins the sides again; held connections carry on. */
  heal(): Promise<void> {
    return this.send({ type: 'heal' });
  }

  /** The targets' URLs as `client` reaches them, in order: through routes that cutClient can cut (made once per client). */
  clientUrls(client: string): Promise<string[]> {
    let urls = this.clients.get(client);
    if (!urls) {
      urls = Promise.all(
        this.memberClientPorts.map(async (targetPort, member) => {
          const listenPort = await freePort();
          await this.send({ type: 'route', route: { member, listenPort, targetPort, client } });
          return `http://127.0.0.1:${listenPort}`;
        }),
      );
      this.clients.set(client, urls);
    }
    return urls;
  }

  /** Cuts `client` off from every target, or from the one at index `target` (cut = false: joins it again). */
  cutClient(client: string, cut: boolean, target?: number): Promise<void> {
    return this.send({ type: 'cut-client', client, cut, ...(target !== undefined ? { member: target } : {}) });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGKILL');
    await exited;
  }

  private send(req: Request): Promise<void> {
    const seq = ++this.seq;
    return new Promise<void>((resolve, reject) => {
      this.waiting.set(seq, (error) => (error === undefined ? resolve() : reject(new Error(`network proxy: ${error}`))));
      this.child.send({ ...req, seq } satisfies Command, (err) => {
        if (!err) return;
        this.waiting.delete(seq);
        reject(err);
      });
    });
  }
}
