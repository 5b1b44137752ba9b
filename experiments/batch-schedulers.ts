// Experiment b (Omega §5.1, figure 7): more batch schedulers, load-balanced, as the batch arrival
// rate grows. One batch scheduler saturates (its wait time climbs); several share the load at the
// price of conflicts between them, which grow with the rate and with the number of schedulers.
import { decisionTimeArgs, fmt, JOBS_PROFILE, type Experiment, type Row, type Scale } from './experiment.js';
import type { Scenario } from './run.js';

/** Slow enough that one scheduler saturates within the swept rates: (t_job + 4 × t_task) ≈ 0.2 s a job. */
const T_JOB_MS = 100;
const T_TASK_MS = 25;

function counts(scale: Scale): number[] {
  return scale === 'full' ? [1, 2, 4, 8] : [1, 2, 4];
}

function rates(scale: Scale): number[] {
  return scale === 'full' ? [1, 2, 4, 6, 8] : [1, 3, 6];
}

function durationMs(scale: Scale): number {
  return scale === 'full' ? 45_000 : scale === 'small' ? 12_000 : 4000;
}

export const batchSchedulers: Experiment = {
  name: 'batch-schedulers',
  letter: 'b',
  title: 'More batch schedulers as the arrival rate grows',
  paper:
    'Omega (figure 7): with one batch scheduler, wait time grows steeply as the batch arrival rate approaches what it can decide; ' +
    'load-balancing jobs over more batch schedulers keeps wait time low at higher rates, while the conflict fraction rises with the rate ' +
    'and the number of schedulers but stays modest.',
  cluster: (scale) => ({ nodes: scale === 'full' ? 50 : 12, cpu: '8', memory: '32Gi', pods: 110 }),
  parameters: (scale) => ({
    'batch schedulers': counts(scale).join(', '),
    't_job / t_task': `${T_JOB_MS} ms / ${T_TASK_MS} ms`,
    'batch tasks per job': '2–6, 500m cpu, 512Mi, run 4 s',
    'arrival rates swept (jobs/s)': rates(scale).join(', '),
    'arrivals for (s)': durationMs(scale) / 1000,
    'conflict detection': 'fine',
  }),
  scenarios(seed, scale) {
    const out: { scenario: Scenario; params: Row }[] = [];
    for (const n of counts(scale)) {
      rates(scale).forEach((rate, i) => {
        const names = Array.from({ length: n }, (_, k) => `b${n}-${i}-${k}`);
        out.push({
          params: { schedulers: n, ratePerSecond: rate },
          scenario: {
            id: `n${n}-r${i}`,
            durationMs: durationMs(scale),
            drainMs: 30_000,
            seed,
            classes: [{ name: 'batch', ratePerSecond: rate, tasks: { min: 2, max: 6 }, cpu: '500m', memory: '512Mi', runSeconds: 4, schedulers: names }],
            schedulers: names.map((name) => ({ name, profile: JOBS_PROFILE, conflictMode: 'fine', args: decisionTimeArgs(T_JOB_MS, T_TASK_MS) })),
          },
        });
      });
    }
    return out;
  },
  analyse(runs) {
    const rows: Row[] = runs.map(({ result, params }) => ({
      ...params,
      series: `${params.schedulers} scheduler${params.schedulers === 1 ? '' : 's'}`,
      batchWaitS: result.classes.batch?.meanWaitS ?? 0,
      batchUnscheduled: result.classes.batch?.unscheduled ?? 0,
      conflictFraction: result.conflictFraction,
    }));
    const top = Math.max(...rows.map((r) => Number(r.ratePerSecond)));
    const atTop = rows.filter((r) => Number(r.ratePerSecond) === top);
    return {
      rows,
      figures: [
        {
          file: 'batch-wait',
          chart: {
            title: 'Batch job wait time vs arrival rate',
            x: { field: 'ratePerSecond', title: 'batch job arrival rate (jobs/s)' },
            y: { field: 'batchWaitS', title: 'mean batch job wait, submit → first bind (s)', log: true },
            series: 'series',
            seriesTitle: 'batch schedulers',
            data: rows,
          },
        },
        {
          file: 'conflict-fraction',
          chart: {
            title: 'Conflict fraction vs arrival rate',
            x: { field: 'ratePerSecond', title: 'batch job arrival rate (jobs/s)' },
            y: { field: 'conflictFraction', title: 'conflict fraction (conflicts / bound pods)' },
            series: 'series',
            seriesTitle: 'batch schedulers',
            data: rows,
          },
        },
      ],
      findings: [
        `At ${top} jobs/s: ` +
          atTop.map((r) => `${r.series}: wait ${fmt(Number(r.batchWaitS))} s, conflict fraction ${fmt(Number(r.conflictFraction))}`).join('; ') +
          '.',
      ],
    };
  },
};
