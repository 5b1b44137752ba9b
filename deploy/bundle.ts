// `npm run bundle`: one tarball that runs cell's benchmarks on any x86-64 Linux machine with no
// network and nothing installed — Node and etcd included — so figures measured on a big machine
// can be reproduced anywhere:
//
//   cell-bundle/
//     bin/node, bin/etcd       this machine's binaries (the ones the tests and benchmarks used)
//     app/                     the project's files (tracked, and untracked unless ignored), dist/ (built now) and node_modules
//                              without dev dependencies
//     run.sh <preset>          runs a benchmark preset (bench/presets.ts); `./run.sh --list`
//
// Written to .cell/bundle/cell-bundle-<version>-<platform>-<arch>.tar.xz (xz when present: about
// half gzip's size, which matters when the bundle has to travel; else .tar.gz).
// `--dir=DIR` stages the bundle in DIR and makes no archive; `--skip-build` uses dist/ as it is
// (the bundle test does both, after building dist/ itself).
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function which(program: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${program}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined; // not on PATH
  }
}

function run(cmd: string, args: string[], cwd: string): void {
  // Their output goes to stderr: stdout carries only the result (the archive's or the stage's path).
  execFileSync(cmd, args, { cwd, stdio: ['ignore', 2, 'inherit'] });
}

const dirFlag = process.argv.find((a) => a.startsWith('--dir='))?.slice('--dir='.length);
const version = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const etcd = which('etcd');
if (!etcd) {
  console.error('bundle: no etcd on PATH (Debian: apt-get install etcd-server); the bundle must carry one');
  process.exit(1);
}

const stageRoot = dirFlag ? path.resolve(dirFlag) : path.join(ROOT, '.cell', 'bundle', 'stage');
const stage = path.join(stageRoot, 'cell-bundle');
rmSync(stage, { recursive: true, force: true });
mkdirSync(path.join(stage, 'bin'), { recursive: true });
const app = path.join(stage, 'app');

if (!process.argv.includes('--skip-build')) {
  console.error('bundle: building dist/');
  run('npm', ['run', '--silent', 'build'], ROOT);
}

console.error('bundle: copying the project');
const tracked = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);
for (const f of tracked) {
  const from = path.join(ROOT, f);
  if (!existsSync(from)) continue; // deleted in the working tree
  mkdirSync(path.dirname(path.join(app, f)), { recursive: true });
  cpSync(from, path.join(app, f));
}
cpSync(path.join(ROOT, 'dist'), path.join(app, 'dist'), { recursive: true });
cpSync(path.join(ROOT, 'node_modules'), path.join(app, 'node_modules'), { recursive: true, verbatimSymlinks: true });
console.error('bundle: dropping dev dependencies');
run('npm', ['prune', '--omit=dev', '--offline', '--no-audit', '--no-fund', '--ignore-scripts'], app);

cpSync(process.execPath, path.join(stage, 'bin', 'node'));
cpSync(etcd, path.join(stage, 'bin', 'etcd'));
writeFileSync(
  path.join(stage, 'run.sh'),
  `#!/bin/sh
# Runs a cell benchmark preset with the Node and etcd carried in this bundle: ./run.sh --list
here=$(cd "$(dirname "$0")" && pwd)
export PATH="$here/bin:$PATH"
cd "$here/app" && exec "$here/bin/node" --import tsx bench/run-preset.ts "$@"
`,
);
chmodSync(path.join(stage, 'run.sh'), 0o755);

if (dirFlag) {
  console.log(stage);
} else {
  const xz = which('xz') !== undefined;
  const archive = path.join(ROOT, '.cell', 'bundle', `cell-bundle-${version}-${process.platform}-${process.arch}.tar.${xz ? 'xz' : 'gz'}`);
  console.error(`bundle: writing ${archive}`);
  execFileSync('tar', ['-C', stageRoot, xz ? '-cJf' : '-czf', archive, 'cell-bundle'], { stdio: 'inherit', env: { ...process.env, XZ_OPT: '-T0' } });
  rmSync(stage, { recursive: true, force: true });
  console.log(archive);
}
