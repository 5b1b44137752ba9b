// `npm run experiment -- <name> [--seed=N] [--scale=small|full] [--out=DIR]`: one of the Omega
// paper's experiments, run on cell itself (see catalog.ts); `all` runs every one.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { errorMessage } from '../shared/errors.js';
import { EXPERIMENTS, findExperiment, runExperiment } from './catalog.js';
import type { Scale } from './experiment.js';

const USAGE = `Usage: npm run experiment -- <name>|all [--seed=N] [--scale=small|full] [--out=DIR]

The Omega paper's experiments, on real etcd, cell-apiserver, hollow nodes and cell-scheduler daemons.
Results (CSV, JSON, SVG plots, README.md) go to experiments/results/<name>/ unless --out is given.

Experiments:
${EXPERIMENTS.map((e) => `  ${e.letter}  ${e.name.padEnd(22)} ${e.title}`).join('\n')}

  --seed=1        seeds the arrivals and job sizes (same seed, same workload)
  --scale=small   small: minutes on a laptop; full: longer runs, larger sweeps (ci: the CI test's size)
  --out=DIR       write the results here (one experiment only)
  -h, --help      show this help
`;

const { values, positionals } = (() => {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        seed: { type: 'string', default: '1' },
        scale: { type: 'string', default: 'small' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    console.error(`${errorMessage(err)}\n\n${USAGE}`);
    process.exit(2);
  }
})();

if (values.help || positionals.length === 0) {
  process.stdout.write(USAGE);
  process.exit(values.help ? 0 : 2);
}
const seed = Number(values.seed);
if (!Number.isInteger(seed) || seed < 0) {
  console.error(`--seed must be a non-negative integer, not "${values.seed}"`);
  process.exit(2);
}
const scale = values.scale;
if (scale !== 'small' && scale !== 'full' && scale !== 'ci') {
  console.error(`--scale must be small or full, not "${scale}"`);
  process.exit(2);
}
const chosen = positionals.flatMap((name) => (name === 'all' ? [...EXPERIMENTS] : [findExperiment(name)]));
const unknown = positionals.filter((name) => name !== 'all' && findExperiment(name) === undefined);
if (unknown.length > 0) {
  console.error(`unknown experiment(s): ${unknown.join(', ')}\n\n${USAGE}`);
  process.exit(2);
}
if (values.out !== undefined && chosen.length > 1) {
  console.error('--out takes one experiment');
  process.exit(2);
}

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results');
try {
  for (const e of chosen) {
    if (!e) continue;
    await runExperiment(e, { seed, scale: scale as Scale, outDir: values.out ?? path.join(root, e.name), log: (l) => console.log(l) });
  }
} catch (err) {
  console.error(`experiment failed: ${errorMessage(err)}`);
  process.exit(1);
}
// Child processes are stopped; whatever handle is left (a keep-alive socket) must not hold the exit.
process.exit(0);
