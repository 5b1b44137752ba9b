// The installed cell-scheduler is the compiled JavaScript on plain Node.js; a plugin author writes
// TypeScript. The README's example (schedulers/examples/cheapest.yaml naming cheapest-node.ts) must
// run on the compiled binary as written, and a plugin that cannot load must say which file and why,
// on one line, with exit code 2.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { buildDist } from '../harness/build.js';
import { REPO_ROOT } from '../harness/entrypoint.js';
import { createNamespace, createNodes, createPods, nodeObject, podObject, waitForBound } from './helpers.js';
import { startSchedulerProcess, type SchedulerProcess } from './scheduler-process.js';
import { SchedulerHarness, testNode, testPod } from '../../schedulers/sdk.js';

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

  /** Run the compiled scheduler with a profile that names `module`; its exit code and stderr. */
  async function startWith(name: string, module: string): Promise<{ code: number | null; err: string }> {
    writeFileSync(path.join(dir, `${name}.yaml`), `name: ${name}\nplugins:\n  - name: PrioritySort\n  - module: ${module}\n`);
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'dist/schedulers/main.js'), `--server=${api.url}`, `--scheduler-name=${name}`, `--profile=${path.join(dir, `${name}.yaml`)}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    return { code, err };
  }

  it('a plugin that does not load is one line naming the file and the reason, exit code 2', async () => {
    writeFileSync(path.join(dir, 'broken.ts'), 'export default (args: { a: number }) => {{{;\n');
    const { code, err } = await startWith('broken', './broken.ts');
    expect(code).to.equal(2);
    const lines = err.trim().split('\n');
    expect(lines.some((l) => l.includes(path.join(dir, 'broken.ts')) && /cannot load plugin module/.test(l)), err).to.equal(true);
  });

  it('a plugin that does not type-check against the SDK is one line with the file, line and error, exit code 2', async () => {
    writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}\n');
    writeFileSync(path.join(dir, 'mistyped.ts'), [
      `import type { PluginFactory } from '${path.join(REPO_ROOT, 'dist/schedulers/sdk.js')}';`,
      "const create: PluginFactory = () => ({ name: 'Mistyped', score: () => 'high' });",
      'export default create;',
      '',
    ].join('\n'));
    const { code, err } = await startWith('mistyped', './mistyped.ts');
    expect(code).to.equal(2);
    const lines = err.trim().split('\n').filter((l) => l.includes('mistyped.ts'));
    expect(lines, err).to.have.length(1);
    expect(lines[0]).to.match(/cannot load plugin module .*mistyped\.ts: type error: .*mistyped\.ts\(2,\d+\): TS2322: /);
  });

  it('a profile may name an installed npm package as the module', async () => {
    const pkg = path.join(dir, 'node_modules', 'cell-plugin-prefer-b');
    mkdirSync(pkg, { recursive: true });
    writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: 'cell-plugin-prefer-b', type: 'module', main: 'index.js' }));
    writeFileSync(path.join(pkg, 'index.js'), "export default () => ({ name: 'PreferB', score: (_ctx, node) => (node.name === 'b' ? 100 : 0) });\n");
    writeFileSync(path.join(dir, 'from-package.yaml'), 'name: from-package\nplugins:\n  - name: PrioritySort\n  - name: NodeResourcesFit\n  - module: cell-plugin-prefer-b\n    weight: 10\n');
    const h = await SchedulerHarness.create({ nodes: [testNode('a'), testNode('b'), testNode('c')], profile: path.join(dir, 'from-package.yaml') });
    expect(h.schedule([testPod('p')]).placed.get('p')).to.equal('b');
    const { code, err } = await startWith('missing', 'cell-plugin-not-installed');
    expect(code).to.equal(2);
    expect(err).to.match(/cannot find plugin package "cell-plugin-not-installed"/);
  });
});
