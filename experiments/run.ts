// One run of an experiment: a namespace, the run's schedulers, the workload submitted on its
// seeded schedule, every job watched until bound (or the drain deadline), the schedulers' counters
// read, and everything torn down so the next run finds empty nodes.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { ExperimentCluster, SchedulerSpec } from './cluster.js';
import { Recorder, scrapeScheduler, writeCsv, type JobRecord, type SchedulerRecord } from './recorder.js';
import { planJobs, submitJobs, type ClassName, type JobClass } from './workload.js';

export interface Scenario {
  /** Unique within the experiment; names the namespace and the output files. */
  id: string;
  schedulers: SchedulerSpec[];
  classes: JobClass[];
  /** How long jobs arrive for. */
  durationMs: number;
  /** After the last arrival, how long to wait for the rest to be bound. */
  drainMs: number;
  seed: number;
}

export interface ClassSummary {
  jobs: number;
  /** Jobs not fully bound by the end of the drain. */
  unscheduled: number;
  /** Submit → first bind, seconds, over the jobs that got one (unscheduled ones counted to the end of the run). */
  meanWaitS: number;
  p90WaitS: number;
  /** Submit → last bind (the whole job placed), seconds. */
  meanCompleteS: number;
}

export interface RunResult {
  id: string;
  wallSeconds: number;
  classes: Partial<Record<ClassName, ClassSummary>>;
  schedulers: SchedulerRecord[];
  /** Σ conflicts / Σ bound pods over all schedulers (DESIGN §8's conflict fraction). */
  conflictFraction: number;
  jobs: JobRecord[];
}

function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function summarize(jobs: readonly JobRecord[], endedAt: number): ClassSummary {
  // A job still waiting at the end waited at least until then: counting it so keeps a saturated
  // scheduler's curve honest instead of averaging over the lucky jobs only.
  const waits = jobs.map((j) => ((j.firstBoundAt ?? endedAt) - j.submittedAt) / 1000).sort((a, b) => a - b);
  const completes = jobs.map((j) => ((j.bound >= j.tasks ? (j.lastBoundAt ?? endedAt) : endedAt) - j.submittedAt) / 1000);
  const mean = (xs: readonly number[]) => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);
  return {
    jobs: jobs.length,
    unscheduled: jobs.filter((j) => j.bound < j.tasks).length,
    meanWaitS: mean(waits),
    p90WaitS: percentile(waits, 0.9),
    meanCompleteS: mean(completes),
  };
}

export async function runScenario(cluster: ExperimentCluster, s: Scenario, outDir: string | undefined, log: (line: string) => void): Promise<RunResult> {
  const namespace = `exp-${s.id}`;
  await cluster.createNamespace(namespace);
  const schedulers = await cluster.startSchedulers(s.schedulers);
  const recorder = new Recorder(cluster.client, namespace);
  try {
    await recorder.start();
    const jobs = planJobs(s.classes, s.durationMs, s.seed);
    const started = Date.now();
    await submitJobs(cluster.client, namespace, jobs, s.classes, (job, at) => recorder.submitted(job, at));
    await recorder.waitComplete(Math.max(0, started + s.durationMs + s.drainMs - Date.now()));
    const endedAt = Date.now();
    for (const p of schedulers) if (p.exited) throw new Error(`scheduler ${p.name} exited during run ${s.id}:\n${p.output().slice(-2000)}`);
    const records = await Promise.all(schedulers.map(scrapeScheduler));
    const all = [...recorder.jobs.values()];
    const classes: Partial<Record<ClassName, ClassSummary>> = {};
    for (const c of s.classes) classes[c.name] = summarize(all.filter((j) => j.cls === c.name), endedAt);
    const bound = records.reduce((a, r) => a + r.bound, 0);
    const conflicts = records.reduce((a, r) => a + r.conflicts, 0);
    const result: RunResult = {
      id: s.id,
      wallSeconds: (endedAt - started) / 1000,
      classes,
      schedulers: records,
      conflictFraction: bound === 0 ? 0 : conflicts / bound,
      jobs: all,
    };
    if (outDir) {
      const dir = path.join(outDir, 'runs');
      mkdirSync(dir, { recursive: true });
      writeCsv(path.join(dir, `${s.id}-jobs.csv`), all.map((j) => ({ ...j })));
      writeCsv(path.join(dir, `${s.id}-schedulers.csv`), records.map((r) => ({ ...r })));
    }
    const summary = Object.entries(classes)
      .map(([k, v]) => `${k}: ${v.jobs} jobs, wait ${v.meanWaitS.toFixed(3)} s, ${v.unscheduled} unscheduled`)
      .join('; ');
    log(`  ${s.id}: ${summary}; conflicts ${conflicts}/${bound} bound; ${result.wallSeconds.toFixed(1)} s`);
    return result;
  } finally {
    await recorder.stop();
    await Promise.all(schedulers.map((p) => p.stop()));
    await cluster.clearNamespace(namespace);
  }
}
