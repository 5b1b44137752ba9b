// The installed cell-scheduler is the compiled JavaScript on plain Node.js; a plugin author writes
// TypeScript. The README's example (schedulers/examples/cheapest.yaml naming cheapest-node.ts) must
// run on the compiled binary as written, and a plugin that cannot load must say which file and why,
// on one line, with exit code 2.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { buildDist } from '../harness/build.js';
import { REPO_ROOT } from '../harness/entrypoint.js';
import { createNamespace, createNodes, createPods, nodeObject, podObject, waitForBound } from './helpers.js';
import { startSchedulerProcess, type SchedulerProcess } from './scheduler-process.js';

describe('plugins load in the compiled cell-scheduler as their authors write them', function () {
  this.timeout(180_000);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cell-plugins-'));
  let api: TestApiServer;
  let sched: SchedulerProcess | undefined;

  before(async () => {
    // The binary under test is what `npm run build` makes (npm ci runs it; built again here so a
    // stale dist/ never answers for the source).
    await buildDist();
    api = await startTestApiServer({ backend: 'etcd' });
  });
  after(async () => {
    await sched?.stop();
    await api?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the README example: a TypeScript plugin named by a profile, on dist/schedulers/main.js', async () => {
    sched = await startSchedulerProcess({ server: api.url, name: 'cheapest', profile: path.join(REPO_ROOT, 'schedulers/examples/cheapest.yaml'), fromDist: true });
    const client = api.client();
    await createNamespace(client, 'plugins');
    const price = (p: string) => ({ labels: { 'example.cell.dev/cost-per-hour': p } });
    await createNodes(client, [nodeObject('dear', price('30')), nodeObject('cheap', price('5')), nodeObject('middling', price('12'))]);
    await createPods(client, 'plugins', [podObject('a', { scheduler: 'cheapest' }), podObject('b', { scheduler: 'cheapest' })]);
    const bound = await waitForBound(client, 'plugins', ['a', 'b']);
    expect([...bound.values()]).to.deep.equal(['cheap', 'cheap']);
  });

  it('a plugin that does not load is one line naming the file and the reason, exit code 2', async () => {
    writeFileSync(path.join(dir, 'broken.ts'), 'export default (args: { a: number }) => {{{;\n');
    writeFileSync(path.join(dir, 'broken.yaml'), 'name: broken\nplugins:\n  - name: PrioritySort\n  - module: ./broken.ts\n');
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'dist/schedulers/main.js'), `--server=${api.url}`, '--scheduler-name=broken', `--profile=${path.join(dir, 'broken.yaml')}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code).to.equal(2);
    const lines = err.trim().split('\n');
    expect(lines.some((l) => l.includes(path.join(dir, 'broken.ts')) && /cannot load plugin module/.test(l)), err).to.equal(true);
  });
});
