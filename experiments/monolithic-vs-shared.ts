// Experiment a (Omega §5.1, figures 5–6): one monolithic scheduler for both job classes against
// a batch and a service scheduler side by side on shared state, as the service decision time
// grows. A monolithic scheduler decides one job at a time, so a batch job that arrives while it
// thinks about a service job waits (head-of-line blocking); with shared state the batch scheduler
// never waits for the service scheduler.
import { decisionTimeArgs, fmt, JOBS_PROFILE, ratio, type Experiment, type Row, type Scale } from './experiment.js';
import type { Scenario } from './run.js';
import { CLASS_LABEL, type JobClass } from './workload.js';

/** Batch decisions are fast, as in the paper (t_job 0.1 s, t_task 5 ms there; scaled here). */
const BATCH_T_JOB_MS = 10;
const BATCH_T_TASK_MS = 5;
const SERVICE_T_TASK_MS = 10;

function sweep(scale: Scale): number[] {
  if (scale === 'ci') return [10, 2000];
  if (scale === 'small') return [10, 100, 300, 1000];
  return [10, 30, 100, 300, 1000, 2000];
}

function durationMs(scale: Scale): number {
  return scale === 'ci' ? 4000 : scale === 'small' ? 15_000 : 60_000;
}

function classes(batch: string[], service: string[]): JobClass[] {
  return [
    { name: 'batch', ratePerSecond: 4, tasks: { min: 2, max: 6 }, cpu: '250m', memory: '256Mi', runSeconds: 3, schedulers: batch },
    { name: 'service', ratePerSecond: 0.6, tasks: { min: 1, max: 3 }, cpu: '1', memory: '1Gi', schedulers: service },
  ];
}

export const monolithicVsShared: Experiment = {
  name: 'monolithic-vs-shared',
  letter: 'a',
  title: 'Monolithic vs shared-state scheduling: head-of-line blocking',
  paper:
    'Omega (figures 5–6): as the service scheduler\'s decision time grows, the monolithic scheduler\'s batch job wait time grows with it ' +
    '(batch jobs queue behind slow service decisions) until the scheduler saturates; with shared state the batch scheduler\'s wait time and ' +
    'busyness stay flat, and only the service scheduler gets busy.',
  cluster: (scale) => ({ nodes: scale === 'full' ? 100 : scale === 'small' ? 20 : 10, cpu: '8', memory: '32Gi', pods: 110 }),
  parameters: (scale) => ({
    'batch arrivals (jobs/s)': 4,
    'batch tasks per job': '2–6, 250m cpu, 256Mi, run 3 s',
    'batch t_job / t_task': `${BATCH_T_JOB_MS} ms / ${BATCH_T_TASK_MS} ms`,
    'service arrivals (jobs/s)': 0.6,
    'service tasks per job': '1–3, 1 cpu, 1Gi, run until the end',
    'service t_task': `${SERVICE_T_TASK_MS} ms`,
    'service t_job swept (s)': sweep(scale).map((ms) => ms / 1000).join(', '),
    'arrivals for (s)': durationMs(scale) / 1000,
  }),
  scenarios(seed, scale) {
    const out: { scenario: Scenario; params: Row }[] = [];
    sweep(scale).forEach((serviceJobMs, i) => {
      const base = { durationMs: durationMs(scale), drainMs: 30_000 };
      const mono = `a${i}-mono`;
      out.push({
        params: { architecture: 'monolithic', serviceTJobS: serviceJobMs / 1000 },
        scenario: {
          id: `mono-${i}`,
          durationMs: base.durationMs,
          drainMs: base.drainMs,
          seed,
          classes: classes([mono], [mono]),
          schedulers: [
            {
              name: mono,
              profile: JOBS_PROFILE,
              conflictMode: 'fine',
              args: [
                ...decisionTimeArgs(BATCH_T_JOB_MS, BATCH_T_TASK_MS),
                `--decision-time-class-label=${CLASS_LABEL}`,
                `--decision-time-classes=service=${serviceJobMs}ms/${SERVICE_T_TASK_MS}ms,batch=${BATCH_T_JOB_MS}ms/${BATCH_T_TASK_MS}ms`,
              ],
            },
          ],
        },
      });
      const batch = `a${i}-batch`;
      const service = `a${i}-service`;
      out.push({
        params: { architecture: 'shared state', serviceTJobS: serviceJobMs / 1000 },
        scenario: {
          id: `shared-${i}`,
          durationMs: base.durationMs,
          drainMs: base.drainMs,
          seed,
          classes: classes([batch], [service]),
          schedulers: [
            { name: batch, profile: JOBS_PROFILE, conflictMode: 'fine', args: decisionTimeArgs(BATCH_T_JOB_MS, BATCH_T_TASK_MS) },
            { name: service, profile: JOBS_PROFILE, conflictMode: 'fine', args: decisionTimeArgs(serviceJobMs, SERVICE_T_TASK_MS) },
          ],
        },
      });
    });
    return out;
  },
  analyse(runs) {
    const rows: Row[] = runs.map(({ result, params }) => {
      const batch = result.classes.batch;
      const service = result.classes.service;
      const busy = (suffix: string) => result.schedulers.filter((s) => s.scheduler.endsWith(suffix)).reduce((a, s) => a + s.busySeconds, 0);
      const mono = params.architecture === 'monolithic';
      return {
        ...params,
        batchWaitS: batch?.meanWaitS ?? 0,
        batchP90WaitS: batch?.p90WaitS ?? 0,
        serviceWaitS: service?.meanWaitS ?? 0,
        batchUnscheduled: batch?.unscheduled ?? 0,
        serviceUnscheduled: service?.unscheduled ?? 0,
        // Busyness: the share of the run the scheduler spent deciding (Omega's "scheduler busyness").
        batchSchedulerBusy: ratio(mono ? busy('-mono') : busy('-batch'), result.wallSeconds),
        serviceSchedulerBusy: ratio(mono ? busy('-mono') : busy('-service'), result.wallSeconds),
        conflictFraction: result.conflictFraction,
      };
    });
    const wait = rows.map((r) => ({ architecture: String(r.architecture), serviceTJobS: Number(r.serviceTJobS), batchWaitS: Number(r.batchWaitS) }));
    const busy = rows.flatMap((r) =>
      r.architecture === 'monolithic'
        ? [{ scheduler: 'monolithic', serviceTJobS: Number(r.serviceTJobS), busyness: Number(r.batchSchedulerBusy) }]
        : [
            { scheduler: 'shared: batch', serviceTJobS: Number(r.serviceTJobS), busyness: Number(r.batchSchedulerBusy) },
            { scheduler: 'shared: service', serviceTJobS: Number(r.serviceTJobS), busyness: Number(r.serviceSchedulerBusy) },
          ],
    );
    const growth = headOfLineGrowth(rows);
    return {
      rows,
      figures: [
        {
          file: 'batch-wait',
          chart: {
            title: 'Batch job wait time vs service decision time',
            x: { field: 'serviceTJobS', title: 'service scheduler t_job (s)', log: true },
            y: { field: 'batchWaitS', title: 'mean batch job wait, submit → first bind (s)', log: true },
            series: 'architecture',
            seriesTitle: 'architecture',
            data: wait,
          },
        },
        {
          file: 'busyness',
          chart: {
            title: 'Scheduler busyness vs service decision time',
            x: { field: 'serviceTJobS', title: 'service scheduler t_job (s)', log: true },
            y: { field: 'busyness', title: 'busyness (fraction of the run spent deciding)' },
            series: 'scheduler',
            seriesTitle: 'scheduler',
            data: busy,
          },
        },
      ],
      findings: [
        `From the shortest to the longest service decision time, the monolithic scheduler's mean batch wait went from ${fmt(growth.mono.low)} s to ${fmt(growth.mono.high)} s (×${fmt(growth.mono.ratio, 1)}); ` +
          `the shared-state batch scheduler's from ${fmt(growth.shared.low)} s to ${fmt(growth.shared.high)} s (×${fmt(growth.shared.ratio, 1)}).`,
      ],
    };
  },
};

export interface Growth {
  low: number;
  high: number;
  ratio: number;
}

/** Batch wait at the shortest and the longest service decision time, per architecture. */
export function headOfLineGrowth(rows: readonly Row[]): { mono: Growth; shared: Growth } {
  const of = (arch: string): Growth => {
    const mine = rows.filter((r) => r.architecture === arch).sort((a, b) => Number(a.serviceTJobS) - Number(b.serviceTJobS));
    const low = Number(mine[0]?.batchWaitS ?? 0);
    const high = Number(mine[mine.length - 1]?.batchWaitS ?? 0);
    return { low, high, ratio: ratio(high, low) };
  };
  return { mono: of('monolithic'), shared: of('shared state') };
}
