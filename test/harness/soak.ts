// `npm run test:soak -- --runs=N [mocha file globs...]` runs the tests (default: the whole suite)
// N times, each on a fresh etcd, while a busy-loop child keeps one core busy: the noisy CI machine,
// on purpose, to bring flaky tests out. At the end it prints every failure with its run number and
// full test title, and each run's pass/fail counts and duration. Each run's mocha output and JSON
// report stay in a temp directory (printed) for a closer look.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, closeSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEtcd } from './etcd.js';

interface MochaJson {
  stats: { passes: number; failures: number; pending: number };
  failures: { fullTitle: string; err: { message?: string } }[];
}

interface RunResult {
  run: number;
  passes: number;
  failures: { title: string; message: string }[];
  exitCode: number;
  seconds: number;
}

function parseArgs(argv: string[]): { runs: number; globs: string[] } {
  let runs = 1;
  const globs: string[] = [];
  for (const a of argv) {
    const m = /^--runs=(\d+)$/.exec(a);
    if (m) runs = Number(m[1]);
    else if (a.startsWith('--')) throw new Error(`unknown option ${a} (usage: soak --runs=N [mocha file globs...])`);
    else globs.push(a);
  }
  if (runs < 1) throw new Error('--runs must be at least 1');
  return { runs, globs: globs.length > 0 ? globs : ['test/**/*.test.ts'] };
}

function exitOf(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => child.once('exit', (code, sig) => resolve(code ?? (sig ? 1 : 0))));
}

async function runOnce(run: number, globs: string[], outDir: string): Promise<RunResult> {
  const etcd = await startEtcd({ quiet: true });
  const jsonFile = path.join(outDir, `run-${run}.json`);
  const log = openSync(path.join(outDir, `run-${run}.log`), 'w');
  const started = Date.now();
  let exitCode: number;
  try {
    const binDir = path.resolve('node_modules/.bin');
    const child = spawn(path.join(binDir, 'mocha'), ['--reporter', 'json', '--reporter-option', `output=${jsonFile}`, ...globs], {
      stdio: ['ignore', log, log],
      env: { ...process.env, ETCD_ENDPOINTS: etcd.endpoint, PATH: `${binDir}${path.delimiter}${process.env.PATH ?? ''}` },
    });
    exitCode = await exitOf(child);
  } finally {
    closeSync(log);
    await etcd.stop();
  }
  const seconds = (Date.now() - started) / 1000;
  if (!existsSync(jsonFile)) {
    // Mocha died before reporting (a crash, a load error): the run counts as one failure.
    return { run, passes: 0, failures: [{ title: '(mocha wrote no report)', message: `exit ${exitCode}, see run-${run}.log` }], exitCode, seconds };
  }
  const report = JSON.parse(readFileSync(jsonFile, 'utf8')) as MochaJson;
  const failures = report.failures.map((f) => ({ title: f.fullTitle, message: (f.err.message ?? '').split('\n')[0] ?? '' }));
  return { run, passes: report.stats.passes, failures, exitCode, seconds };
}

const { runs, globs } = parseArgs(process.argv.slice(2));
const outDir = mkdtempSync(path.join(os.tmpdir(), 'cell-soak-'));
console.log(`soak: ${runs} run(s) of ${globs.join(' ')} with one core kept busy; logs in ${outDir}`);

// The noise: a second process spinning on a core for the whole soak. It is killed at the end; it
// also looks for its parent once a second and exits when that is gone (a soak killed with SIGKILL).
const spin = `const p = ${process.pid}; for (let t = 0; ; ) if (Date.now() > t) { t = Date.now() + 1000; try { process.kill(p, 0); } catch { process.exit(0); } }`;
const busy = spawn(process.execPath, ['-e', spin], { stdio: 'ignore' });
const killBusy = () => busy.kill('SIGKILL');
process.once('exit', killBusy);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    killBusy();
    process.exit(130);
  });
}

const results: RunResult[] = [];
try {
  for (let run = 1; run <= runs; run++) {
    const r = await runOnce(run, globs, outDir);
    results.push(r);
    console.log(`run ${run}/${runs}: ${r.passes} passed, ${r.failures.length} failed, ${r.seconds.toFixed(1)} s`);
  }
} finally {
  killBusy();
}

console.log('\n== failures ==');
const failed = results.flatMap((r) => r.failures.map((f) => ({ run: r.run, ...f })));
if (failed.length === 0) console.log('none');
for (const f of failed) console.log(`run ${f.run}: ${f.title}\n    ${f.message}`);
console.log('\n== runs ==');
for (const r of results) {
  console.log(`run ${r.run}: ${r.failures.length === 0 ? 'PASS' : 'FAIL'}  ${r.passes} passed, ${r.failures.length} failed, ${r.seconds.toFixed(1)} s (mocha exit ${r.exitCode})`);
}
const bad = results.filter((r) => r.failures.length > 0 || r.exitCode !== 0).length;
console.log(`\n${runs - bad}/${runs} runs passed; logs in ${outDir}`);
process.exitCode = bad === 0 ? 0 : 1;
