// The portable benchmark bundle (`npm run bundle`, deploy/bundle.ts) runs with nothing from this
// machine but a shell: its own Node and etcd, its own dependencies without the dev ones.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { buildDist } from '../harness/build.js';
import { REPO_ROOT } from '../harness/entrypoint.js';

const run = promisify(execFile);

describe('deploy: the portable benchmark bundle', function () {
  this.timeout(240_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'cell-bundle-test-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('stages Node, etcd and the project, and runs the smoke preset with only sh and dirname on PATH', async () => {
    await buildDist();
    const { stdout } = await run(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'deploy/bundle.ts'), `--dir=${dir}`, '--skip-build'], { cwd: REPO_ROOT, maxBuffer: 16 << 20 });
    const bundle = stdout.trim();
    // A PATH with no node, no etcd, no npm: whatever runs must come from the bundle.
    const bare = path.join(dir, 'bare-bin');
    mkdirSync(bare);
    for (const tool of ['sh', 'dirname']) symlinkSync(`/usr/bin/${tool}`, path.join(bare, tool));
    const env = { PATH: bare, HOME: dir };

    const list = await run(path.join(bundle, 'run.sh'), ['--list'], { env });
    expect(list.stdout).to.contain('smoke').and.to.contain('e2e-16core');

    const smoke = await run(path.join(bundle, 'run.sh'), ['smoke'], { env, maxBuffer: 16 << 20 });
    // The e2e table: 100 of 100 pods bound and the audit clean.
    const row = smoke.stdout.split('\n').find((l) => /^\s+50\s+100\s+/.test(l));
    expect(row, smoke.stdout).to.match(/^\s+50\s+100\s+100\s/);
    expect(row).to.match(/\sok\s*$/);
  });
});
