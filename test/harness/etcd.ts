// Starts a real etcd server on loopback in a temp data dir, for tests and benchmarks.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
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

async function waitHealthy(endpoint: string, child: ChildProcess, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`etcd exited with code ${child.exitCode} before it was healthy`);
    try {
      const res = await fetch(`${endpoint}/health`);
      if (res.ok) {
        const body = (await res.json()) as { health?: string };
        if (body.health === 'true') return;
      }
    } catch {
      // not listening yet: poll again
    }
    if (Date.now() > deadline) throw new Error(`etcd at ${endpoint} not healthy after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
  });
}

export async function startEtcd(opts: { quiet?: boolean } = {}): Promise<EtcdServer> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'cell-etcd-'));
  const clientPort = await freePort();
  const peerPort = await freePort();
  const endpoint = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const args = [
    '--name', 'cell-test',
    '--data-dir', dataDir,
    '--listen-client-urls', endpoint,
    '--advertise-client-urls', endpoint,
    '--listen-peer-urls', peer,
    '--initial-advertise-peer-urls', peer,
    '--initial-cluster', `cell-test=${peer}`,
    '--log-level', 'error',
    '--logger', 'zap',
  ];
  // Tests care about semantics, not durability: skipping fsync makes them several times faster.
  // Benchmarks set CELL_ETCD_FSYNC=1 so their figures are those of a real, durable etcd.
  if (process.env.CELL_ETCD_FSYNC !== '1') args.push('--unsafe-no-fsync');
  let child: ChildProcess;
  const launch = async () => {
    child = spawn(process.env.ETCD_BIN ?? 'etcd', args, { stdio: ['ignore', 'ignore', opts.quiet ? 'ignore' : 'inherit'] });
    await waitHealthy(endpoint, child);
  };
  await launch();
  return {
    endpoint,
    dataDir,
    async kill() {
      child.kill('SIGKILL');
      await exited(child);
    },
    async restart() {
      await launch();
    },
    async stop() {
      child.kill('SIGTERM');
      await exited(child);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
