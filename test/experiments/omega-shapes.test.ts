// The Omega experiments' shapes, at CI size (`--scale=ci`): real etcd, a cell-apiserver process,
// a hollow agent and real cell-scheduler daemons, one cluster for both experiments.
//   a. the monolithic scheduler's batch wait grows with the service decision time (head-of-line
//      blocking) while the shared-state batch scheduler's stays flat;
//   c. coarse-grained conflict detection conflicts at least as often as fine-grained.
// The machine is shared and noisy, so the assertions compare ratios between the extremes with
// wide margins: the effects measured are ×5–×15 where the margins ask for ×2–×2.5.
import { expect } from 'chai';
import { runExperiment, type ExperimentOutput } from '../../experiments/catalog.js';
import { ExperimentCluster } from '../../experiments/cluster.js';
import { conflictDetection } from '../../experiments/conflict-detection.js';
import { headOfLineGrowth, monolithicVsShared } from '../../experiments/monolithic-vs-shared.js';
import { chartSpec, renderSvg } from '../../experiments/plot.js';
import { planJobs } from '../../experiments/workload.js';

describe('Omega experiments on cell (CI size)', function () {
  this.timeout(180_000);
  let cluster: ExperimentCluster | undefined;
  let a: ExperimentOutput;
  let c: ExperimentOutput;
  const lines: string[] = [];
  const log = (l: string) => lines.push(l);

  before(async () => {
    cluster = await ExperimentCluster.start(monolithicVsShared.cluster('ci'));
    a = await runExperiment(monolithicVsShared, { seed: 1, scale: 'ci', cluster, log });
    c = await runExperiment(conflictDetection, { seed: 1, scale: 'ci', cluster, log });
  });

  after(async () => {
    await cluster?.stop();
    // The measured numbers, for whoever reads the CI log next to the margins asserted.
    console.log(lines.map((l) => `      ${l}`).join('\n'));
  });

  it('the workload is seeded: the same seed plans the same jobs, another seed others', () => {
    const classes = [{ name: 'batch' as const, ratePerSecond: 5, tasks: { min: 1, max: 8 }, cpu: '1', memory: '1Gi', schedulers: ['x', 'y'] }];
    const one = planJobs(classes, 10_000, 7);
    expect(planJobs(classes, 10_000, 7)).to.deep.equal(one);
    expect(planJobs(classes, 10_000, 8)).to.not.deep.equal(one);
    // Poisson arrivals at 5/s for 10 s: about 50 (a 5-sigma band), load-balanced round-robin.
    expect(one.length).to.be.within(20, 85);
    expect(one.filter((j) => j.scheduler === 'x').length - one.filter((j) => j.scheduler === 'y').length).to.be.within(0, 1);
  });

  it('a: monolithic batch wait grows with the service decision time; shared-state stays flat', () => {
    const detail = lines.join('\n');
    for (const { result } of a.runs) {
      expect(result.classes.batch?.unscheduled, `${result.id} left batch jobs unbound\n${detail}`).to.equal(0);
      expect(result.classes.batch?.jobs, `${result.id} ran no batch jobs`).to.be.greaterThan(5);
    }
    const g = headOfLineGrowth(a.analysis.rows);
    // Head-of-line blocking: the batch wait multiplies as service decisions take 200× longer …
    expect(g.mono.ratio, `monolithic growth\n${detail}`).to.be.greaterThan(2.5);
    // … far more than the shared-state batch scheduler's, which only noise moves …
    expect(g.mono.ratio, `monolithic vs shared growth\n${detail}`).to.be.greaterThan(2 * g.shared.ratio);
    // … and at the slowest service decisions, batch jobs wait far longer behind a monolithic scheduler.
    expect(g.mono.high, `batch wait at the longest service t_job\n${detail}`).to.be.greaterThan(2 * g.shared.high);
  });

  it('a: the busyness the schedulers report follows the decision time', () => {
    const row = (arch: string, high: boolean) => {
      const mine = a.analysis.rows.filter((r) => r.architecture === arch).sort((x, y) => Number(x.serviceTJobS) - Number(y.serviceTJobS));
      return high ? mine[mine.length - 1]! : mine[0]!;
    };
    // The service scheduler's busyness rises with its t_job; the shared batch scheduler does not take it on.
    expect(Number(row('shared state', true).serviceSchedulerBusy)).to.be.greaterThan(2 * Number(row('shared state', false).serviceSchedulerBusy));
    expect(Number(row('monolithic', true).batchSchedulerBusy)).to.be.greaterThan(2 * Number(row('shared state', true).batchSchedulerBusy));
  });

  it('c: coarse-grained conflict detection conflicts at least as often as fine-grained', () => {
    const detail = lines.join('\n');
    const of = (mode: string) => c.analysis.rows.filter((r) => r.conflictMode === mode);
    const sum = (rows: typeof c.analysis.rows, f: string) => rows.reduce((t, r) => t + Number(r[f]), 0);
    const coarse = sum(of('coarse'), 'conflicts');
    const fine = sum(of('fine'), 'conflicts');
    expect(coarse, `coarse conflicts\n${detail}`).to.be.greaterThan(0);
    expect(coarse, `coarse vs fine conflicts\n${detail}`).to.be.at.least(fine);
    for (const { result } of c.runs) expect(result.classes.batch?.unscheduled, `${result.id}\n${detail}`).to.equal(0);
  });

  it('plots: log axes where asked, units in the axis titles, a legend per series, rendered to SVG', async () => {
    const fig = a.analysis.figures.find((f) => f.file === 'batch-wait');
    expect(fig).to.not.equal(undefined);
    const spec = JSON.stringify(chartSpec(fig!.chart));
    expect(spec).to.contain('"type":"log"');
    expect(spec).to.contain('(s)');
    expect(spec).to.contain('"color":{"field":"architecture"');
    const svg = await renderSvg(fig!.chart);
    expect(svg).to.match(/^<svg/);
    expect(svg).to.contain('service scheduler t_job (s)');
    expect(svg).to.contain('shared state');
  });
});
