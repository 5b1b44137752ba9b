// The portable benchmark bundle (`npm run bundle`, deploy/bundle.ts) runs with nothing from this
// machine but a shell: its own Node and etcd, its own dependencies without the dev ones.
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { buildDist } from '../harness/build.js';
import { REPO_ROOT } from '../harness/entrypoint.js';

const run = promisify(execFile);

/** The command lines of running processes that mention `text` (from /proc: no ps needed). */
function processesRunning(text: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
    } catch (err) {
      // It ended between the listing and the read.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ESRCH') continue;
      throw err;
    }
    if (cmdline.includes(text)) found.push(`${pid}: ${cmdline}`);
  }
  return found;
}

describe('deploy: the portable benchmark bundle', function () {
  this.timeout(240_000);
  let dir: string;
  let bundle: string;
  let env: Record<string, string>;
  before(async function () {
    this.timeout(240_000);
    dir = mkdtempSync(path.join(os.tmpdir(), 'cell-bundle-test-'));
    await buildDist();
    const { stdout } = await run(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'deploy/bundle.ts'), `--dir=${dir}`, '--skip-build'], { cwd: REPO_ROOT, maxBuffer: 16 << 20 });
    bundle = stdout.trim();
    // A PATH with no node, no etcd, no npm: whatever runs must come from the bundle.
    const bare = path.join(dir, 'bare-bin');
    mkdirSync(bare);
    for (const tool of ['sh', 'dirname']) symlinkSync(`/usr/bin/${tool}`, path.join(bare, tool));
    env = { PATH: bare, HOME: dir };
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('stages Node, etcd and the project, and runs the smoke preset with only sh and dirname on PATH', async () => {
    const list = await run(path.join(bundle, 'run.sh'), ['--list'], { env });
    expect(list.stdout).to.contain('smoke').and.to.contain('e2e-16core');

    const smoke = await run(path.join(bundle, 'run.sh'), ['smoke'], { env, maxBuffer: 16 << 20 });
    // The e2e table: 100 of 100 pods bound and the audit clean.
    const row = smoke.stdout.split('\n').find((l) => /^\s+50\s+100\s+/.test(l));
    expect(row, smoke.stdout).to.match(/^\s+50\s+100\s+100\s/);
    expect(row).to.match(/\sok\s*$/);
  });

  it('runs presets in turn within --budget-s and keeps each one\'s output in --out', async () => {
    const out = path.join(dir, 'out');
    // One second: the first smoke run is interrupted before it is done, the second never starts.
    const failed = await run(path.join(bundle, 'run.sh'), ['--out=' + out, '--budget-s=1', 'smoke', 'smoke'], { env, maxBuffer: 16 << 20 }).then(
      () => undefined,
      (err: { code?: number; stderr?: string }) => err,
    );
    expect(failed, 'an interrupted run must not exit 0').to.not.equal(undefined);
    expect(failed!.code).to.equal(1);
    expect(failed!.stderr).to.contain('smoke not started');
    const log = readFileSync(path.join(out, 'smoke.log'), 'utf8');
    expect(log).to.contain('preset smoke: bench/e2e.ts').and.to.contain('budget ran out during smoke');
  });

  it('stops every process a preset started when it is interrupted', async () => {
    const child = spawn(path.join(bundle, 'run.sh'), ['smoke'], { env, stdio: 'ignore' });
    const exited = once(child, 'exit');
    // Interrupt it once its schedulers run: etcd, the API server and both daemons are up then.
    const deadline = Date.now() + 120_000;
    while (processesRunning(path.join(bundle, 'app/dist/schedulers/main.js')).length < 2) {
      expect(Date.now(), 'the smoke run never started its schedulers').to.be.below(deadline);
      expect(child.exitCode, 'the smoke run ended before its schedulers were seen').to.equal(null);
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGTERM');
    await exited;
    // Killed processes may take a moment to be reaped.
    let left = processesRunning(bundle);
    for (let i = 0; i < 30 && left.length > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      left = processesRunning(bundle);
    }
    expect(left).to.deep.equal([]);
  });
});
