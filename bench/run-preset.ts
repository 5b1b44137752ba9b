// `npm run bench:preset -- <name>` (and the bundle's run.sh): runs one named benchmark (presets.ts)
// on a fresh etcd with fsync, against the compiled processes in dist/. `--list` names them.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PRESETS, presetNames } from './presets.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const name = process.argv[2];

if (!name || name === '--list' || name === '--help' || name === '-h') {
  console.log('usage: run-preset <name>   (runs one benchmark preset; figures go to stdout)\n');
  for (const n of presetNames()) console.log(`  ${n.padEnd(20)} ${PRESETS[n]!.about}`);
  process.exit(name ? 0 : 2);
}
const preset = PRESETS[name];
if (!preset) {
  console.error(`unknown preset "${name}" (known: ${presetNames().join(', ')})`);
  process.exit(2);
}

console.error(`preset ${name}: bench/${preset.script}.ts with ${JSON.stringify(preset.env)}${preset.args ? ` ${preset.args.join(' ')}` : ''}`);
const child = spawn(
  process.execPath,
  ['--import', 'tsx', path.join(ROOT, 'test/harness/run-with-etcd.ts'), process.execPath, '--import', 'tsx', path.join(ROOT, `bench/${preset.script}.ts`), ...(preset.args ?? [])],
  { cwd: ROOT, stdio: 'inherit', env: { ...process.env, CELL_RUN_FROM: 'dist', CELL_ETCD_FSYNC: '1', ...preset.env } },
);
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => child.kill(sig));
child.on('exit', (code, sig) => process.exit(code ?? (sig ? 1 : 0)));
