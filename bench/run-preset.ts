// `npm run bench:preset -- <name> …` (and the bundle's run.sh): runs named benchmarks (presets.ts),
// one after another, each on a fresh etcd with fsync, against the compiled processes in dist/.
// A suite name stands for its presets. `--list` names them all.
//
//   --out=DIR       each preset's output (stdout and stderr) is also written to DIR/<preset>.log
//   --budget-s=N    stop after N seconds: no preset starts after that, and one still running is
//                   interrupted (SIGINT, then SIGKILL 10 s later) — for machines lent by the minute
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PRESETS, SUITES, presetNames } from './presets.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const flags = new Map<string, string>();
const names: string[] = [];
for (const arg of process.argv.slice(2)) {
  const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg === '-h' ? '--help' : arg);
  if (m) flags.set(m[1]!, m[2] ?? '');
  else names.push(arg);
}
const unknownFlag = [...flags.keys()].find((f) => !['list', 'help', 'out', 'budget-s'].includes(f));
if (unknownFlag) {
  console.error(`unknown flag --${unknownFlag} (known: --list, --out=DIR, --budget-s=N)`);
  process.exit(2);
}

if (names.length === 0 || flags.has('list') || flags.has('help')) {
  console.log('usage: run-preset [--out=DIR] [--budget-s=N] <preset or suite> …   (figures go to stdout)\n');
  for (const n of presetNames()) console.log(`  ${n.padEnd(24)} ${PRESETS[n]!.about}`);
  console.log('\nsuites:');
  for (const [n, s] of Object.entries(SUITES)) console.log(`  ${n.padEnd(24)} ${s.about}: ${s.presets.join(', ')}`);
  process.exit(names.length === 0 && !flags.has('list') && !flags.has('help') ? 2 : 0);
}

const queue = names.flatMap((n) => SUITES[n]?.presets ?? [n]);
const unknown = queue.filter((n) => !PRESETS[n]);
if (unknown.length > 0) {
  console.error(`unknown preset "${unknown[0]}" (known: ${presetNames().join(', ')}; suites: ${Object.keys(SUITES).join(', ')})`);
  process.exit(2);
}
const budgetS = flags.has('budget-s') ? Number(flags.get('budget-s')) : Infinity;
if (!(budgetS > 0)) {
  console.error(`--budget-s wants a number of seconds, not "${flags.get('budget-s')}"`);
  process.exit(2);
}
const outDir = flags.get('out');
if (flags.has('out') && !outDir) {
  console.error('--out wants a folder: --out=DIR');
  process.exit(2);
}
if (outDir) mkdirSync(outDir, { recursive: true });

const startedAt = Date.now();
/** Set by Ctrl-C or SIGTERM: the preset running gets the signal, and no other starts. */
let interrupted = false;
const secondsLeft = () => budgetS - (Date.now() - startedAt) / 1000;

/** Runs one preset; resolves with its exit code (1 when stopped by a signal). */
function runPreset(name: string): Promise<number> {
  const preset = PRESETS[name]!;
  const log: WriteStream | undefined = outDir ? createWriteStream(path.join(outDir, `${name}.log`)) : undefined;
  const say = (line: string) => {
    console.error(line);
    log?.write(`${line}\n`);
  };
  say(`preset ${name}: bench/${preset.script}.ts with ${JSON.stringify(preset.env)}${preset.args ? ` ${preset.args.join(' ')}` : ''}`);
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'test/harness/run-with-etcd.ts'), process.execPath, '--import', 'tsx', path.join(ROOT, `bench/${preset.script}.ts`), ...(preset.args ?? [])],
    // Its own process group, so that a signal reaches every process it started (etcd, API
    // servers, schedulers), not only the first: none may outlive an interrupted run.
    { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CELL_RUN_FROM: 'dist', CELL_ETCD_FSYNC: '1', ...preset.env } },
  );
  const signalAll = (sig: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, sig);
    } catch (err) {
      // The group is gone already: nothing left to stop.
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  };
  child.stdout.on('data', (chunk: Buffer) => {
    process.stdout.write(chunk);
    log?.write(chunk);
  });
  child.stderr.on('data', (chunk: Buffer) => {
    process.stderr.write(chunk);
    log?.write(chunk);
  });
  const forward = (sig: NodeJS.Signals) => {
    interrupted = true;
    signalAll(sig);
  };
  process.on('SIGINT', forward).on('SIGTERM', forward);
  const timers: NodeJS.Timeout[] = [];
  let stopped = false;
  if (Number.isFinite(budgetS)) {
    timers.push(setTimeout(() => {
      say(`run-preset: the ${budgetS} s budget ran out during ${name}: interrupting it`);
      stopped = true;
      signalAll('SIGINT');
      timers.push(setTimeout(() => signalAll('SIGKILL'), 10_000));
    }, Math.max(0, secondsLeft() * 1000)));
  }
  return new Promise((resolve) => {
    child.on('close', (code, sig) => {
      for (const t of timers) clearTimeout(t);
      // What an interrupted run left behind (a process slow to take SIGINT) must not run on.
      if (stopped || interrupted) signalAll('SIGKILL');
      process.off('SIGINT', forward).off('SIGTERM', forward);
      say(`run-preset: ${name} ${code === 0 ? 'finished' : `ended (${sig ?? `exit ${code}`})`} after ${Math.round((Date.now() - startedAt) / 1000)} s in all`);
      // The last lines must be on disk before the process exits.
      if (log) log.end(() => resolve(code ?? 1));
      else resolve(code ?? 1);
    });
  });
}

let failed = 0;
for (const name of queue) {
  if (interrupted) break;
  if (secondsLeft() <= 0) {
    console.error(`run-preset: the ${budgetS} s budget is spent: ${name} not started`);
    failed ||= 1;
    continue;
  }
  failed ||= await runPreset(name);
}
process.exit(failed);
