// Every experiment, by name and by the letter; and running one end to end: cluster up,
// its runs in order, data, figures and report written, cluster down.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { batchSchedulers } from './batch-schedulers.js';
import { ExperimentCluster } from './cluster.js';
import { conflictDetection } from './conflict-detection.js';
import type { Analysis, Experiment, Row, Scale } from './experiment.js';
import { gangCommits } from './gang-commits.js';
import { monolithicVsShared } from './monolithic-vs-shared.js';
import { renderSvg } from './plot.js';
import { writeCsv, writeJson } from './recorder.js';
import { renderReport } from './report.js';
import { runScenario, type RunResult } from './run.js';

export const EXPERIMENTS: readonly Experiment[] = [monolithicVsShared, batchSchedulers, conflictDetection, gangCommits];

export function findExperiment(name: string): Experiment | undefined {
  return EXPERIMENTS.find((e) => e.name === name || e.letter === name);
}

export interface ExperimentOutput {
  runs: { result: RunResult; params: Row }[];
  analysis: Analysis;
}

export async function runExperiment(
  e: Experiment,
  opts: { seed: number; scale: Scale; outDir?: string; log?: (line: string) => void; cluster?: ExperimentCluster },
): Promise<ExperimentOutput> {
  const log = opts.log ?? (() => undefined);
  const began = Date.now();
  // A caller's cluster (the CI test runs two experiments on one) is used as it is, and left running.
  const clusterOpts = opts.cluster?.options ?? e.cluster(opts.scale);
  log(`${e.name}: ${clusterOpts.nodes} hollow nodes (${clusterOpts.cpu} cpu, ${clusterOpts.memory} each), seed ${opts.seed}, scale ${opts.scale}`);
  const cluster = opts.cluster ?? (await ExperimentCluster.start(clusterOpts));
  const runs: { result: RunResult; params: Row }[] = [];
  try {
    for (const { scenario, params } of e.scenarios(opts.seed, opts.scale)) {
      runs.push({ result: await runScenario(cluster, scenario, opts.outDir, log), params });
    }
  } finally {
    if (!opts.cluster) await cluster.stop();
  }
  const analysis = e.analyse(runs);
  if (opts.outDir) {
    mkdirSync(opts.outDir, { recursive: true });
    writeCsv(path.join(opts.outDir, 'results.csv'), analysis.rows);
    writeJson(path.join(opts.outDir, 'results.json'), {
      experiment: e.name,
      seed: opts.seed,
      scale: opts.scale,
      cluster: clusterOpts,
      parameters: e.parameters(opts.scale),
      rows: analysis.rows,
      runs: runs.map(({ result, params }) => ({ params, id: result.id, wallSeconds: result.wallSeconds, classes: result.classes, schedulers: result.schedulers })),
    });
    for (const f of analysis.figures) writeFileSync(path.join(opts.outDir, `${f.file}.svg`), await renderSvg(f.chart));
    const cluster = `${clusterOpts.nodes} hollow nodes of ${clusterOpts.cpu} cpu and ${clusterOpts.memory}`;
    writeFileSync(
      path.join(opts.outDir, 'README.md'),
      renderReport({ experiment: e, seed: opts.seed, scale: opts.scale, analysis, cluster, wallSeconds: (Date.now() - began) / 1000 }),
    );
    log(`${e.name}: wrote ${opts.outDir}`);
  }
  return { runs, analysis };
}
