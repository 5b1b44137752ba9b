// The network between a test cluster's etcd members, which a test can partition (peer-proxy.ts
// does the forwarding, in its own process). Each member is told its peers' URLs at the proxy's
// ports, so every byte of raft traffic crosses it; clients reach the members directly.
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command, Route } from './peer-proxy.js';

const PROXY_MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), 'peer-proxy.ts');

type Reply = { type: 'ready' } | { type: 'failed'; message: string } | { type: 'done'; seq: number };

/** A command without its sequence number (send adds it), kind by kind. */
type WithoutSeq<C> = C extends Command ? Omit<C, 'seq'> : never;
type Request = WithoutSeq<Command>;

export class PeerNetwork {
  private seq = 0;
  private readonly waiting = new Map<number, () => void>();

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (m: Reply) => {
      if (m.type !== 'done') return;
      this.waiting.get(m.seq)?.();
      this.waiting.delete(m.seq);
    });
  }

  /** Starts the proxies: for each route, `listenPort` forwards to the member's own `targetPort`. */
  static async start(routes: Route[]): Promise<PeerNetwork> {
    const child = fork(PROXY_MAIN, [JSON.stringify(routes)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    await new Promise<void>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`the peer proxy exited (${code}) before it listened`));
      child.once('exit', onExit);
      child.on('message', (m: Reply) => {
        if (m.type === 'ready') {
          child.off('exit', onExit);
          resolve();
        } else if (m.type === 'failed') {
          reject(new Error(`the peer proxy could not listen: ${m.message}`));
        }
      });
    });
    return new PeerNetwork(child);
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

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGKILL');
    await exited;
  }

  private send(req: Request): Promise<void> {
    const seq = ++this.seq;
    return new Promise<void>((resolve, reject) => {
      this.waiting.set(seq, resolve);
      this.child.send({ ...req, seq } satisfies Command, (err) => {
        if (!err) return;
        this.waiting.delete(seq);
        reject(err);
      });
    });
  }
}
