// Experiment d (Omega §5.2): incremental vs all-or-nothing (gang) commits as the gang size grows.
// Incremental: each task is committed on its own and a conflict costs one task's retry.
// All-or-nothing: a PodGroup with minMember = every task; the scheduler holds the members until all
// are decided and commits them in one AllOrNothing placement, so one stale node fails the whole
// gang. The nodes are kept busy so that decisions do go stale.
import { decisionTimeArgs, fmt, GANGS_PROFILE, JOBS_PROFILE, type Experiment, type Row, type Scale } from './experiment.js';
import type { Scenario } from './run.js';

const SCHEDULERS = 3;
const T_JOB_MS = 10;
const T_TASK_MS = 10;

function sizes(scale: Scale): number[] {
  if (scale === 'full') return [2, 4, 8, 16, 32];
  return scale === 'small' ? [2, 4, 8, 16] : [2, 8];
}

function durationMs(scale: Scale): number {
  return scale === 'full' ? 45_000 : scale === 'small' ? 12_000 : 4000;
}

/** Keep the offered task load constant across gang sizes: fewer, bigger jobs. */
const TASKS_PER_SECOND = 24;

export const gangCommits: Experiment = {
  name: 'gang-commits',
  letter: 'd',
  title: 'Incremental vs all-or-nothing (gang) commits',
  paper:
    'Omega (§5.2): all-or-nothing transactions for gang-scheduled jobs raise the conflict fraction — one conflicting task fails the whole ' +
    'transaction — and this grows with gang size and cluster utilisation; incremental transactions accept the part that fits and retry the rest.',
  cluster: (scale) => ({ nodes: scale === 'full' ? 40 : 8, cpu: '8', memory: '32Gi', pods: 110 }),
  parameters: (scale) => ({
    'batch schedulers (load-balanced)': SCHEDULERS,
    't_job / t_task': `${T_JOB_MS} ms / ${T_TASK_MS} ms`,
    'offered tasks per second': TASKS_PER_SECOND,
    'task': '1 cpu, 1Gi, run 2 s',
    'gang sizes swept': sizes(scale).join(', '),
    'arrivals for (s)': durationMs(scale) / 1000,
    'conflict detection': 'fine',
  }),
  scenarios(seed, scale) {
    const out: { scenario: Scenario; params: Row }[] = [];
    for (const size of sizes(scale)) {
      for (const commit of ['incremental', 'all-or-nothing'] as const) {
        const gang = commit === 'all-or-nothing';
        const names = Array.from({ length: SCHEDULERS }, (_, k) => `d${size}-${gang ? 'g' : 'i'}-${k}`);
        out.push({
          params: { commit, gangSize: size },
          scenario: {
            id: `${gang ? 'gang' : 'incr'}-${size}`,
            durationMs: durationMs(scale),
            drainMs: 30_000,
            seed,
            classes: [
              { name: 'batch', ratePerSecond: TASKS_PER_SECOND / size, tasks: { min: size, max: size }, cpu: '1', memory: '1Gi', runSeconds: 2, schedulers: names, gang },
            ],
            schedulers: names.map((name) => ({ name, profile: gang ? GANGS_PROFILE : JOBS_PROFILE, conflictMode: 'fine', args: decisionTimeArgs(T_JOB_MS, T_TASK_MS) })),
          },
        });
      }
    }
    return out;
  },
  analyse(runs) {
    const rows: Row[] = runs.map(({ result, params }) => ({
      ...params,
      conflictFraction: result.conflictFraction,
      conflicts: result.schedulers.reduce((a, s) => a + s.conflicts, 0),
      jobCompleteS: result.classes.batch?.meanCompleteS ?? 0,
      batchWaitS: result.classes.batch?.meanWaitS ?? 0,
      unscheduled: result.classes.batch?.unscheduled ?? 0,
    }));
    const largest = Math.max(...rows.map((r) => Number(r.gangSize)));
    const at = rows.filter((r) => Number(r.gangSize) === largest);
    return {
      rows,
      figures: [
        {
          file: 'conflict-fraction',
          chart: {
            title: 'Conflict fraction vs gang size',
            x: { field: 'gangSize', title: 'tasks per job (gang size)', log: true },
            y: { field: 'conflictFraction', title: 'conflict fraction (conflicts / bound pods)' },
            series: 'commit',
            seriesTitle: 'commit',
            data: rows,
          },
        },
        {
          file: 'job-wait',
          chart: {
            title: 'Job wait until fully placed vs gang size',
            x: { field: 'gangSize', title: 'tasks per job (gang size)', log: true },
            y: { field: 'jobCompleteS', title: 'mean submit → last task bound (s)', log: true },
            series: 'commit',
            seriesTitle: 'commit',
            data: rows,
          },
        },
      ],
      findings: [
        `Gangs of ${largest}: ` +
          at.map((r) => `${r.commit}: conflict fraction ${fmt(Number(r.conflictFraction))}, job placed after ${fmt(Number(r.jobCompleteS))} s, ${r.unscheduled} unplaced`).join('; ') +
          '.',
      ],
    };
  },
};
