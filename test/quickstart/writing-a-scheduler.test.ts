// The README's "Writing a scheduler", as a newcomer follows it: in a fresh copy of the repository
// (its tracked and unignored files, as a clone has them), `npm run build` (what `npm ci` runs) and
// `npm start`, then the README's two shell blocks exactly as written — the compiled
// `npx cell-scheduler` with the cheapest-node profile, and the commands that price the nodes and
// submit pods. Both pods must run on the cheapest node.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { ApiClient } from '../../shared/client/http-client.js';
import { loadKubeconfig } from '../../shared/client/kubeconfig.js';
import { REPO_ROOT } from '../harness/entrypoint.js';

const run = promisify(execFile);

/** The README's ```sh blocks, in order. */
function shellBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

function blockWith(blocks: readonly string[], needle: string): string {
  const found = blocks.filter((b) => b.includes(needle));
  if (found.length !== 1) throw new Error(`README: expected one sh block with "${needle}", found ${found.length}`);
  return found[0]!;
}

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number, diagnostics: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}\n${diagnostics()}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Copy what a clone would hold: tracked files and untracked files git does not ignore. */
async function copyCheckout(to: string): Promise<void> {
  const { stdout } = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: REPO_ROOT, maxBuffer: 16 << 20 });
  // node_modules is linked below (a symlinked one is not matched by .gitignore's `node_modules/`).
  for (const file of new Set(stdout.split('\0').filter((f) => f !== '' && f !== 'node_modules'))) {
    mkdirSync(path.dirname(path.join(to, file)), { recursive: true });
    try {
      copyFileSync(path.join(REPO_ROOT, file), path.join(to, file));
    } catch (err) {
      // A file deleted in the working tree but not yet from the index is not in a clone of it either.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  // `npm ci` would download the same packages; the lock file pins them, so share this checkout's.
  symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(to, 'node_modules'), 'dir');
}

/** Stop a process group started with `detached: true`, and wait for its leader. */
async function stopGroup(child: ChildProcess | undefined, signal: NodeJS.Signals): Promise<void> {
  if (child?.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    process.kill(-child.pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    return;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }, 30_000);
  await exited;
  clearTimeout(timer);
}

describe("README: writing a scheduler, from a fresh copy with npm start's cluster", function () {
  this.timeout(420_000);
  const checkout = mkdtempSync(path.join(os.tmpdir(), 'cell-readme-'));
  const blocks = shellBlocks(readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8'));
  const schedulerBlock = blockWith(blocks, 'npx cell-scheduler');
  const podsBlock = blockWith(blocks, 'cheapest-pods.yaml');
  let cluster: ChildProcess | undefined;
  let scheduler: ChildProcess | undefined;
  let clusterOutput = '';
  let schedulerOutput = '';
  let client: ApiClient | undefined;
  const diagnostics = () => `npm start:\n${clusterOutput.slice(-3000)}\nscheduler:\n${schedulerOutput.slice(-3000)}`;

  before(async () => {
    await copyCheckout(checkout);
    await run('npm', ['run', 'build'], { cwd: checkout, timeout: 240_000 });
    // Its own process group, so Ctrl-C (SIGINT to the group) reaches npm and the launcher, as in a terminal.
    cluster = spawn('npm', ['start'], { cwd: checkout, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    cluster.stdout!.on('data', (d: Buffer) => (clusterOutput += d.toString()));
    cluster.stderr!.on('data', (d: Buffer) => (clusterOutput += d.toString()));
    await until('npm start to bring the cluster up', async () => {
      if (cluster!.exitCode !== null) throw new Error(`npm start exited with ${cluster!.exitCode}`);
      return clusterOutput.includes('Ctrl-C stops everything') ? true : undefined;
    }, 180_000, diagnostics);
    const kc = loadKubeconfig(path.join(checkout, '.cell/kubeconfig'));
    client = new ApiClient({ servers: kc.servers, ...(kc.token ? { token: kc.token } : {}), ...(kc.tls ? { tls: kc.tls } : {}) });
  });

  after(async () => {
    client?.close();
    await stopGroup(scheduler, 'SIGTERM');
    await stopGroup(cluster, 'SIGINT');
    rmSync(checkout, { recursive: true, force: true });
  });

  it('the README blocks put both pods on the cheapest node, scheduled by the compiled cell-scheduler', async () => {
    scheduler = spawn('bash', ['-c', schedulerBlock], { cwd: checkout, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    scheduler.stdout!.on('data', (d: Buffer) => (schedulerOutput += d.toString()));
    scheduler.stderr!.on('data', (d: Buffer) => (schedulerOutput += d.toString()));

    const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', podsBlock], { cwd: checkout, timeout: 120_000 });
    expect(stdout).to.match(/pod\/cheap-1 created/);

    type Item = { metadata: { name: string; labels?: Record<string, string> }; spec?: { nodeName?: string }; status?: { phase?: string } };
    const nodes = await client!.list<{ items: Item[] }>({ resource: 'nodes' });
    const priced = nodes.items
      .map((n) => ({ name: n.metadata.name, cost: Number(n.metadata.labels?.['example.cell.dev/cost-per-hour']) }))
      .filter((n) => Number.isFinite(n.cost))
      .sort((a, b) => a.cost - b.cost);
    expect(priced.length, 'nodes priced by the README block').to.be.greaterThan(1);
    const cheapest = priced[0]!.name;

    const placed = await until('both pods to run', async () => {
      const pods = await client!.list<{ items: Item[] }>({ resource: 'pods', namespace: 'default' });
      const ours = pods.items.filter((p) => p.metadata.name.startsWith('cheap-'));
      return ours.length === 2 && ours.every((p) => p.status?.phase === 'Running') ? ours : undefined;
    }, 90_000, diagnostics);
    expect(placed.map((p) => p.spec?.nodeName)).to.deep.equal([cheapest, cheapest]);

    // The scheduler that bound them is the installed binary on plain Node.js, not the source via tsx.
    const { stdout: ps } = await run('ps', ['-eo', 'args']);
    const daemon = ps.split('\n').filter((l) => l.includes('--scheduler-name=cheapest') && !l.startsWith('bash'));
    expect(daemon.some((l) => l.includes(path.join(checkout, 'dist/schedulers/main.js')) || /(^|\/)cell-scheduler /.test(l)), ps).to.equal(true);
    expect(daemon.some((l) => l.includes('tsx')), 'runs through tsx').to.equal(false);
  });
});
