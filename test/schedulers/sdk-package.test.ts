// The SDK as an author outside this repository meets it: `npm pack` this package, install the
// tarball into a temp folder, and compile a plugin that imports `cell/scheduler-sdk` with strict
// TypeScript — then run it through the packed in-memory harness. A plugin with a type error must
// fail to compile, or the .d.ts would be checking nothing.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { buildDist } from '../harness/build.js';
import { REPO_ROOT } from '../harness/entrypoint.js';

const run = promisify(execFile);
const TSC = path.join(REPO_ROOT, 'node_modules/typescript/bin/tsc');

const PLUGIN = `// Prefer nodes in the pod's preferred zone (annotation example.com/zone), skip draining ones.
import { MAX_NODE_SCORE, unresolvable, type Plugin, type PluginFactory } from 'cell/scheduler-sdk';

const DRAINING = unresolvable('node(s) were draining');

const create: PluginFactory = (args): Plugin => {
  const zoneLabel = typeof args.zoneLabel === 'string' ? args.zoneLabel : 'topology.kubernetes.io/zone';
  return {
    name: 'ZonePreference',
    filter: (_ctx, node) => (node.labels['example.com/draining'] === 'true' ? DRAINING : undefined),
    score: (ctx, node) => (node.labels[zoneLabel] === ctx.pod.pod.metadata.annotations?.['example.com/zone'] ? MAX_NODE_SCORE : 0),
  };
};
export default create;
`;

const RUN_IT = `import { SchedulerHarness, testNode, testPod } from 'cell/scheduler-sdk';
import create from './plugin.js';

const zone = (z: string, extra: Record<string, string> = {}) => ({ labels: { 'topology.kubernetes.io/zone': z, ...extra } });
const h = await SchedulerHarness.create({
  nodes: [testNode('a', zone('z1')), testNode('b', zone('z2')), testNode('c', zone('z2', { 'example.com/draining': 'true' }))],
  profile: { plugins: ['PrioritySort', 'NodeResourcesFit', { factory: create, weight: 10 }] },
});
const pod = testPod('web');
const r = h.schedule([{ ...pod, metadata: { ...pod.metadata, annotations: { 'example.com/zone': 'z2' } } }]);
console.log(JSON.stringify({ web: r.placed.get('web') ?? null, why: r.unschedulable.get('web')?.message ?? null }));
`;

describe('the scheduler SDK from the packed package, in an out-of-tree plugin', function () {
  this.timeout(300_000);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cell-sdk-'));
  const project = path.join(dir, 'my-plugin');

  before(async () => {
    await buildDist();
    // --ignore-scripts: dist/ was just built; `prepare` would build it again.
    const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', `--pack-destination=${dir}`], { cwd: REPO_ROOT, timeout: 120_000 });
    const [{ filename }] = JSON.parse(stdout) as [{ filename: string }];
    const installed = path.join(project, 'node_modules', 'cell');
    mkdirSync(installed, { recursive: true });
    await run('tar', ['-xzf', path.join(dir, filename), '-C', installed, '--strip-components=1']);
    // The package's own dependencies, as npm would install them beside it (no registry in tests).
    symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(installed, 'node_modules'), 'dir');
    writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'my-plugin', type: 'module', private: true }));
    writeFileSync(path.join(project, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { strict: true, target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', outDir: 'out', skipLibCheck: false, types: [] },
      include: ['*.ts'],
    }));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the tarball holds the compiled SDK, its types and the shipped profiles, and no test code', async () => {
    const installed = path.join(project, 'node_modules', 'cell');
    expect(readdirSync(path.join(installed, 'dist/schedulers'))).to.include.members(['sdk.js', 'sdk.d.ts', 'main.js']);
    expect(readdirSync(path.join(installed, 'schedulers/profiles'))).to.include.members(['default.yaml', 'binpack.yaml']);
    expect(readdirSync(installed)).to.not.include('test');
  });

  it('a plugin importing cell/scheduler-sdk compiles with strict TypeScript and runs in the packed harness', async () => {
    writeFileSync(path.join(project, 'plugin.ts'), PLUGIN);
    writeFileSync(path.join(project, 'run.ts'), RUN_IT);
    await run(process.execPath, [TSC, '-p', '.'], { cwd: project, timeout: 120_000 }).catch((err: { stdout?: string }) => {
      throw new Error(`tsc failed:\n${err.stdout ?? String(err)}`);
    });
    const { stdout } = await run(process.execPath, [path.join(project, 'out/run.js')], { cwd: project, timeout: 60_000 });
    // z2 holds b and c; c is draining.
    expect(JSON.parse(stdout.trim().split('\n').pop()!)).to.deep.equal({ web: 'b', why: null });
  });

  it('a plugin breaking the SDK types does not compile, and the error names the mistake', async () => {
    writeFileSync(path.join(project, 'plugin.ts'), PLUGIN.replace('? MAX_NODE_SCORE : 0)', "? 'high' : 'low')"));
    writeFileSync(path.join(project, 'run.ts'), 'export {};\n');
    const failed = await run(process.execPath, [TSC, '-p', '.'], { cwd: project, timeout: 120_000 }).then(
      () => undefined,
      (err: { stdout?: string }) => err.stdout ?? '',
    );
    expect(failed, 'tsc accepted a score that is a string').to.not.equal(undefined);
    // The score extension point returns a number: the mistake is reported at the plugin's score.
    expect(failed, failed).to.match(/plugin\.ts\(\d+,\d+\): error TS2322: Type '\(ctx: CycleContext, node: NodeInfo\) => "high" \| "low"' is not assignable to type '\(ctx: CycleContext, node: NodeInfo\) => number'/);
  });
});
