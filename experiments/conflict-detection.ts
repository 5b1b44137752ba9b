// Experiment c (Omega §5.2, figure 8 in spirit): fine- vs coarse-grained conflict detection.
// Several batch schedulers share the nodes; each holds its decision for t_task before committing.
// Coarse detection refuses a commit whenever the node's allocation moved since the decision (any
// other commit to that node); fine detection only when the pod no longer fits. Wasted work is the
// decision time spent on attempts that ended in a conflict.
import { decisionTimeArgs, fmt, JOBS_PROFILE, ratio, type Experiment, type Row, type Scale } from './experiment.js';
import type { Scenario } from './run.js';

/** Batch schedulers sharing the nodes (fewer in CI, where starting each costs seconds). */
function schedulers(scale: Scale): number {
  return scale === 'ci' ? 2 : 4;
}
const T_JOB_MS = 10;
const T_TASK_MS = 20;

function rates(scale: Scale): number[] {
  if (scale === 'ci') return [8];
  if (scale === 'small') return [2, 4, 8];
  return [2, 4, 8, 12, 16];
}

function durationMs(scale: Scale): number {
  return scale === 'ci' ? 3000 : scale === 'small' ? 12_000 : 45_000;
}

export const conflictDetection: Experiment = {
  name: 'conflict-detection',
  letter: 'c',
  title: 'Fine- vs coarse-grained conflict detection',
  paper:
    'Omega (§5.2): coarse-grained conflict detection (any change to a machine since the decision fails the transaction) causes far more ' +
    'conflicts than fine-grained detection (only a real resource shortfall fails it), and the failed transactions are wasted scheduler work; ' +
    'the paper recommends fine-grained detection with incremental commits.',
  cluster: (scale) => ({ nodes: scale === 'full' ? 50 : 10, cpu: '8', memory: '32Gi', pods: 110 }),
  parameters: (scale) => ({
    'batch schedulers (load-balanced)': schedulers(scale),
    't_job / t_task': `${T_JOB_MS} ms / ${T_TASK_MS} ms`,
    'batch tasks per job': '2–6, 250m cpu, 256Mi, run 3 s',
    'arrival rates swept (jobs/s)': rates(scale).join(', '),
    'arrivals for (s)': durationMs(scale) / 1000,
  }),
  scenarios(seed, scale) {
    const out: { scenario: Scenario; params: Row }[] = [];
    rates(scale).forEach((rate, i) => {
      for (const mode of ['fine', 'coarse'] as const) {
        const names = Array.from({ length: schedulers(scale) }, (_, k) => `c${i}-${mode}-${k}`);
        out.push({
          params: { conflictMode: mode, ratePerSecond: rate },
          scenario: {
            id: `${mode}-${i}`,
            durationMs: durationMs(scale),
            drainMs: 30_000,
            seed,
            classes: [{ name: 'batch', ratePerSecond: rate, tasks: { min: 2, max: 6 }, cpu: '250m', memory: '256Mi', runSeconds: 3, schedulers: names }],
            schedulers: names.map((name) => ({ name, profile: JOBS_PROFILE, conflictMode: mode, args: decisionTimeArgs(T_JOB_MS, T_TASK_MS) })),
          },
        });
      }
    });
    return out;
  },
  analyse(runs) {
    const rows: Row[] = runs.map(({ result, params }) => {
      const busy = result.schedulers.reduce((a, s) => a + s.busySeconds, 0);
      const conflicts = result.schedulers.reduce((a, s) => a + s.conflicts, 0);
      // scheduler_schedule_attempts_total counts an attempt by its final result; one that lost its
      // commit is counted as a conflict only, so the decisions taken are the two together.
      const attempts = result.schedulers.reduce((a, s) => a + s.attempts, 0) + conflicts;
      return {
        ...params,
        conflictFraction: result.conflictFraction,
        conflicts,
        attempts,
        // Each attempt costs about the same decision time, so the conflicted share of attempts is the share of busy time wasted.
        wastedBusySeconds: busy * ratio(conflicts, attempts),
        batchWaitS: result.classes.batch?.meanWaitS ?? 0,
      };
    });
    const byMode = (mode: string) => rows.filter((r) => r.conflictMode === mode);
    const total = (rs: Row[], f: string) => rs.reduce((a, r) => a + Number(r[f]), 0);
    return {
      rows,
      figures: [
        {
          file: 'conflict-fraction',
          chart: {
            title: 'Conflict fraction, fine vs coarse detection',
            x: { field: 'ratePerSecond', title: 'batch job arrival rate (jobs/s)' },
            y: { field: 'conflictFraction', title: 'conflict fraction (conflicts / bound pods)' },
            series: 'conflictMode',
            seriesTitle: 'conflict detection',
            data: rows,
          },
        },
        {
          file: 'wasted-work',
          chart: {
            title: 'Scheduler time wasted on conflicted attempts',
            x: { field: 'ratePerSecond', title: 'batch job arrival rate (jobs/s)' },
            y: { field: 'wastedBusySeconds', title: 'wasted decision time, all schedulers (s)' },
            series: 'conflictMode',
            seriesTitle: 'conflict detection',
            data: rows,
          },
        },
      ],
      findings: [
        `Over all rates, fine-grained detection had ${total(byMode('fine'), 'conflicts')} conflicts in ${total(byMode('fine'), 'attempts')} attempts ` +
          `(${fmt(total(byMode('fine'), 'wastedBusySeconds'), 2)} s of decision time wasted); coarse-grained ${total(byMode('coarse'), 'conflicts')} in ` +
          `${total(byMode('coarse'), 'attempts')} (${fmt(total(byMode('coarse'), 'wastedBusySeconds'), 2)} s wasted).`,
      ],
    };
  },
};
