// The markdown report of one experiment: how it was made (the exact command, seed, scale,
// parameters), its figures, what the curves show next to what the paper reported, and the data.
import type { Analysis, Experiment, Row, Scale } from './experiment.js';

export interface ReportInput {
  experiment: Experiment;
  seed: number;
  scale: Scale;
  analysis: Analysis;
  /** The cluster the runs shared. */
  cluster: string;
  wallSeconds: number;
}

function table(rows: readonly Row[]): string {
  if (rows.length === 0) return '_no runs_';
  const cols = Object.keys(rows[0]!);
  const cell = (v: string | number | undefined) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(4)) : (v ?? ''));
  return [`| ${cols.join(' | ')} |`, `|${cols.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${cols.map((c) => cell(r[c])).join(' | ')} |`)].join('\n');
}

export function renderReport(r: ReportInput): string {
  const e = r.experiment;
  const command = `npm run experiment -- ${e.name} --seed=${r.seed} --scale=${r.scale}`;
  return [
    `# ${e.letter}. ${e.title}`,
    '',
    `Made by \`${command}\` (seed ${r.seed}, scale ${r.scale}) in ${r.wallSeconds.toFixed(0)} s of wall time.`,
    `Every run starts its own cell-scheduler daemons (real processes) against one cell-apiserver on etcd, with ${r.cluster}; ` +
      'pods are created through the API, binds are seen through a pod watch, attempts, conflicts and busy time come from each scheduler\'s /metrics. ' +
      'Decision times are simulated by the schedulers\' decision-time knob (Omega\'s t_job + t_task × tasks, spent waiting between deciding and committing), ' +
      'with times far shorter than the paper\'s so a run takes seconds, not simulated days.',
    '',
    '## Parameters',
    '',
    ...Object.entries(e.parameters(r.scale)).map(([k, v]) => `- ${k}: ${v}`),
    '',
    '## Figures',
    '',
    ...r.analysis.figures.flatMap((f) => [`![${f.chart.title}](${f.file}.svg)`, '']),
    '## What the curves show',
    '',
    ...r.analysis.findings.map((f) => `- ${f}`),
    '',
    '## The paper',
    '',
    e.paper,
    '',
    '## Data',
    '',
    table(r.analysis.rows),
    '',
    'Files: `results.csv` and `results.json` (one row per run, as above), `runs/<run>-jobs.csv` (per job: submit, first and last bind, epoch ms) ' +
      'and `runs/<run>-schedulers.csv` (per scheduler: attempts, conflicts, bound pods, busy seconds).',
    '',
  ].join('\n');
}
