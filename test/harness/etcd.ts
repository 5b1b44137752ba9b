// Starts a real etcd server on loopback in a temp data dir, for tests and benchmarks. The spawn /
// health / exit handling here (EtcdProcess) also serves the multi-member harness in etcd-cluster.ts.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports.js';

export interface EtcdServer {
  endpoint: string;
  dataDir: string;
  /** SIGKILL the process (data dir kept). */
  kill(): Promise<void>;
  /** Start again on the same ports and data dir. */
  restart(): Promise<void>;
  /** Stop and remove the data dir. */
  stop(): Promise<void>;
}

/** What a started etcd must reach before start() resolves. */
export type EtcdReadiness =
  /** `/health` says true: the member has a leader and can serve a quorum read. */
  | 'healthy'
  /**
   * The client port accepts connections. A member that cannot reach quorum (too few others run)
   * listens but answers no request until it has joined one, so this is all one can wait for then.
   */
  | 'serving';

/**
 * Tests care about semantics, not durability: skipping fsync makes them several times faster.
 * Benchmarks set CELL_ETCD_FSYNC=1 (or a caller passes fsync) so their figures are those of a real,
 * durable etcd.
 */
export function durabilityArgs(fsync?: boolean): string[] {
  return fsync === true || process.env.CELL_ETCD_FSYNC === '1' ? [] : ['--unsafe-no-fsync'];
}

/**
 * Extra etcd flags for a benchmark at scale (CELL_ETCD_ARGS, split on spaces): a million pods need
 * room beyond the 2 GiB default `--quota-backend-bytes`, and a smaller `--snapshot-count` bounds
 * the raft log etcd keeps in memory (deploy/compose.yaml explains both).
 */
export function extraEtcdArgs(): string[] {
  return (process.env.CELL_ETCD_ARGS ?? '').split(' ').filter(Boolean);
}

export function tempDataDir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'cell-etcd-'));
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
  });
}

/** Every etcd this process started and has not seen exit, killed should the test process exit first. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** One etcd process that can be started, killed and started again with the same arguments. */
export class EtcdProcess {
  private child: ChildProcess | undefined;

  constructor(
    readonly endpoint: string,
    private readonly args: string[],
    private readonly quiet: boolean,
  ) {}

  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /**
   * Spawns etcd and waits for `readiness`; `readiness` may be a function so that a cluster member
   * can decide per poll (it waits for health only while a quorum can form).
   */
  async start(readiness: EtcdReadiness | (() => EtcdReadiness) = 'healthy', timeoutMs = 30_000): Promise<void> {
    if (this.running) throw new Error(`etcd at ${this.endpoint} is already running`);
    const child = spawn(process.env.ETCD_BIN ?? 'etcd', this.args, {
      stdio: ['ignore', 'ignore', this.quiet ? 'pipe' : 'inherit'],
    });
    this.child = child;
    live.add(child);
    child.once('exit', () => live.delete(child));
    // Quiet, its log is kept (the end of it) for the error should it exit before it is ready.
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-2_000)));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`etcd at ${this.endpoint} exited (${child.exitCode ?? child.signalCode}) before it was ready${stderr ? `: ${stderr.trim()}` : ''}`);
      }
      const want = typeof readiness === 'function' ? readiness() : readiness;
      if (await this.probe(want)) return;
      if (Date.now() > deadline) throw new Error(`etcd at ${this.endpoint} not ${want} after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private async probe(want: EtcdReadiness): Promise<boolean> {
    if (want === 'serving') return this.listening();
    try {
      // A member without quorum answers /health only after its own internal timeout; cap the wait.
      const res = await fetch(`${this.endpoint}/health`, { signal: AbortSignal.timeout(3_000) });
      const body = (await res.json()) as { health?: string };
      return res.ok && body.health === 'true';
    } catch {
      // Not listening yet (or the probe timed out): the caller polls again until its deadline.
      return false;
    }
  }

  private listening(): Promise<boolean> {
    const { hostname, port } = new URL(this.endpoint);
    return new Promise((resolve) => {
      const sock = net.connect({ host: hostname, port: Number(port) });
      sock.setTimeout(1_000);
      sock.once('connect', () => {
        sock.destroy();
        resolve(true);
      });
      // Refused or timed out: not listening yet, the caller polls again.
      sock.once('error', () => resolve(false));
      sock.once('timeout', () => {
        sock.destroy();
        resolve(false);
      });
    });
  }

  /** Sends `sig` (SIGSTOP / SIGCONT / …) if the process is running. */
  signal(sig: NodeJS.Signals): void {
    if (this.running) this.child?.kill(sig);
  }

  /** SIGKILL and wait for the exit. A stopped (SIGSTOP) process dies from SIGKILL too. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    child.kill('SIGKILL');
    await exited(child);
  }

  /** SIGTERM (SIGCONT first, in case it is paused) and wait for the exit. */
  async terminate(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    child.kill('SIGCONT');
    child.kill('SIGTERM');
    await exited(child);
  }
}

export async function startEtcd(opts: { quiet?: boolean; fsync?: boolean } = {}): Promise<EtcdServer> {
  const dataDir = tempDataDir();
  const endpoint = `http://127.0.0.1:${await freePort()}`;
  const peer = `http://127.0.0.1:${await freePort()}`;
  const proc = new EtcdProcess(
    endpoint,
    [
      '--name', 'cell-test',
      '--data-dir', dataDir,
      '--listen-client-urls', endpoint,
      '--advertise-client-urls', endpoint,
      '--listen-peer-urls', peer,
      '--initial-advertise-peer-urls', peer,
      '--initial-cluster', `cell-test=${peer}`,
      '--log-level', 'error',
      '--logger', 'zap',
      ...durabilityArgs(opts.fsync),
      ...extraEtcdArgs(),
    ],
    opts.quiet ?? false,
  );
  await proc.start();
  return {
    endpoint,
    dataDir,
    kill: () => proc.kill(),
    restart: () => proc.start(),
    async stop() {
      await proc.terminate();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
