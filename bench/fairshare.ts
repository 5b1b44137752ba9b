// `npm run bench:fairshare`: tenants sharing one cohort of Kueue ClusterQueues (DESIGN §2), on
// hollow nodes with every part a real process — cell-apiserver, one hollow cell-agent, one
// cell-scheduler, cell-controller-manager (the job and kueue controllers among its loops).
//
// The cohort: a `pool` ClusterQueue that holds most of the cluster's cpu and runs nothing (it
// only lends), tenants a, b, c with no quota of their own and fair-sharing weights 1, 2, 3, and a
// tenant `d` whose nominal quota is the rest of the cluster (its guarantee). Each tenant submits
// Jobs through its LocalQueue and keeps enough of them waiting that demand always exceeds the
// cluster.
//
//   phase 1   a, b, c only: they borrow everything, d's idle quota included; each one's weighted
//             fair share is weight / Σ weights of the cluster.
//   phase 2   d submits as much as its nominal quota holds: it reclaims that quota (by preemption
//             of borrowed workloads when nothing finishes in time); a, b, c share the rest by weight.
//
// Sampled every second from the ClusterQueues' status.flavorsUsage: each tenant's share of the
// cluster's cpu. Reported: each tenant's average share in each phase (after the phase's first
// --settle seconds) against its weighted fair share, the time d took to get its quota back, the
// cluster's utilisation (admitted cpu / cpu), and a plot of the shares over time.
//
//   npm run bench:fairshare -- [--nodes=8] [--cpu=8] [--phase=90s] [--settle=20s] [--run-seconds=6] [--out=DIR]
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Job } from '../shared/api/batch.js';
import { KUEUE_API_VERSION, QUEUE_NAME_LABEL, type ClusterQueue } from '../shared/api/kueue.js';
import { parseFlags } from '../shared/flags.js';
import { Quantity } from '../shared/quantity.js';
import { ExperimentCluster } from '../experiments/cluster.js';
import { renderSvg } from '../experiments/plot.js';
import { startControllerManagerProcess, type ControllerManagerProcess } from '../test/controllers/helpers.js';
import type { SchedulerProcess } from '../test/schedulers/scheduler-process.js';
import { formatTable } from './measure.js';

const USAGE = `Usage: npm run bench:fairshare -- [flags]

  --nodes=8            hollow nodes
  --cpu=8              cpu per node
  --phase=90s          length of each of the two phases
  --settle=20s         start of each phase left out of its averages
  --run-seconds=6      how long each pod runs
  --out=DIR            where the plot (fairshare.svg) and the figures (fairshare.json) go
  -h, --help
`;

const flags = parseFlags('bench:fairshare', USAGE, {
  nodes: { type: 'string', default: '8' },
  cpu: { type: 'string', default: '8' },
  phase: { type: 'string', default: '90s' },
  settle: { type: 'string', default: '20s' },
  'run-seconds': { type: 'string', default: '6' },
  out: { type: 'string', default: 'docs/bench' },
});

const NODES = flags.int('nodes');
const NODE_CPU = flags.int('cpu');
const PHASE_MS = flags.duration('phase');
const SETTLE_MS = flags.duration('settle');
const RUN_SECONDS = flags.num('run-seconds');
const OUT = flags.str('out') ?? 'docs/bench';
const CAPACITY = NODES * NODE_CPU;
/** Pods per Job, one cpu each. */
const JOB_PODS = 2;
const COHORT = 'bench';
const FLAVOR = 'default';
const SCHEDULER = 'fairshare';

interface Tenant {
  name: string;
  weight: number;
  /** cpu of its own (nominal quota). */
  nominal: number;
  /** Starts submitting at the start of this phase (1 or 2). */
  from: 1 | 2;
  /** Most cpu it asks for at once (its Jobs admitted and waiting); undefined = always more than the cluster. */
  demand?: number;
}

// d's guarantee: a quarter of the cluster, in whole Jobs.
const D_NOMINAL = Math.max(JOB_PODS, Math.floor(CAPACITY / 4 / JOB_PODS) * JOB_PODS);
const TENANTS: Tenant[] = [
  { name: 'a', weight: 1, nominal: 0, from: 1 },
  { name: 'b', weight: 2, nominal: 0, from: 1 },
  { name: 'c', weight: 3, nominal: 0, from: 1 },
  { name: 'd', weight: 1, nominal: D_NOMINAL, from: 2, demand: D_NOMINAL },
];

function cpuList(n: number) {
  return [{ name: 'cpu', nominalQuota: String(n) }, { name: 'memory', nominalQuota: `${n * 4}Gi` }];
}

function clusterQueue(name: string, nominal: number, weight: number, reclaim: boolean) {
  return {
    apiVersion: KUEUE_API_VERSION,
    kind: 'ClusterQueue',
    metadata: { name },
    spec: {
      namespaceSelector: {},
      cohort: COHORT,
      queueingStrategy: 'BestEffortFIFO',
      resourceGroups: [{ coveredResources: ['cpu', 'memory'], flavors: [{ name: FLAVOR, resources: cpuList(nominal) }] }],
      fairSharing: { weight: String(weight) },
      preemption: { reclaimWithinCohort: reclaim ? 'Any' : 'Never', withinClusterQueue: 'Never' },
    },
  };
}

function job(tenant: string, seq: number): Job {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: `${tenant}-${seq}`, namespace: `tenant-${tenant}`, labels: { [QUEUE_NAME_LABEL]: 'queue' } },
    spec: {
      parallelism: JOB_PODS,
      completions: JOB_PODS,
      backoffLimit: 0,
      ttlSecondsAfterFinished: 10,
      template: {
        metadata: { annotations: { 'cell.dev/run-seconds': String(RUN_SECONDS) } },
        spec: {
          schedulerName: SCHEDULER,
          restartPolicy: 'Never',
          containers: [{ name: 'task', image: 'busybox', command: ['true'], resources: { requests: { cpu: '1', memory: '4Gi' } } }],
        },
      },
    },
  } as unknown as Job;
}

function finished(j: Job): boolean {
  return (j.status?.conditions ?? []).some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
}

interface Sample {
  /** Seconds since phase 1 began. */
  t: number;
  phase: 1 | 2;
  /** Admitted cpu per tenant. */
  used: Record<string, number>;
}

async function main(): Promise<void> {
  console.error(`bench:fairshare: ${NODES} hollow nodes × ${NODE_CPU} cpu = ${CAPACITY} cpu; two phases of ${PHASE_MS / 1000} s`);
  const cluster = await ExperimentCluster.start({ nodes: NODES, cpu: String(NODE_CPU), memory: `${NODE_CPU * 4}Gi`, pods: 110 });
  let manager: ControllerManagerProcess | undefined;
  let schedulers: SchedulerProcess[] = [];
  const stopSubmitting: (() => void)[] = [];
  try {
    const client = cluster.client;
    schedulers = await cluster.startSchedulers([{ name: SCHEDULER, profile: 'default', conflictMode: 'fine', args: [] }]);
    manager = await startControllerManagerProcess({ server: cluster.url, fromDist: process.env.CELL_RUN_FROM === 'dist' });

    await client.create({ group: 'kueue.x-k8s.io', version: 'v1beta1', resource: 'resourceflavors' }, { apiVersion: KUEUE_API_VERSION, kind: 'ResourceFlavor', metadata: { name: FLAVOR }, spec: {} });
    const cqRef = { group: 'kueue.x-k8s.io', version: 'v1beta1', resource: 'clusterqueues' };
    await client.create(cqRef, clusterQueue('pool', CAPACITY - D_NOMINAL, 1, false));
    for (const t of TENANTS) {
      await client.create(cqRef, clusterQueue(`tenant-${t.name}`, t.nominal, t.weight, t.nominal > 0));
      await cluster.createNamespace(`tenant-${t.name}`);
      await client.create(
        { group: 'kueue.x-k8s.io', version: 'v1beta1', resource: 'localqueues', namespace: `tenant-${t.name}` },
        { apiVersion: KUEUE_API_VERSION, kind: 'LocalQueue', metadata: { name: 'queue', namespace: `tenant-${t.name}` }, spec: { clusterQueue: `tenant-${t.name}` } },
      );
    }

    // Each tenant keeps `demand` cpu (default: twice the cluster) in unfinished Jobs.
    const submitter = (t: Tenant) => {
      let seq = 0;
      let stopped = false;
      const want = Math.ceil((t.demand ?? 2 * CAPACITY) / JOB_PODS);
      const loop = async () => {
        while (!stopped) {
          const jobs = (await client.list<{ items: Job[] }>({ group: 'batch', version: 'v1', resource: 'jobs', namespace: `tenant-${t.name}` })).items;
          const open = jobs.filter((j) => !finished(j)).length;
          for (let i = open; i < want && !stopped; i++) await client.create({ group: 'batch', version: 'v1', resource: 'jobs', namespace: `tenant-${t.name}` }, job(t.name, seq++));
          await new Promise((r) => setTimeout(r, 500));
        }
      };
      const done = loop();
      stopSubmitting.push(() => (stopped = true));
      return done;
    };

    const samples: Sample[] = [];
    const t0 = performance.now();
    let phase: 1 | 2 = 1;
    let reclaimStarted = 0;
    let reclaimedAfter: number | undefined;
    const submitters: Promise<void>[] = TENANTS.filter((t) => t.from === 1).map(submitter);
    while (performance.now() - t0 < 2 * PHASE_MS) {
      if (phase === 1 && performance.now() - t0 >= PHASE_MS) {
        phase = 2;
        reclaimStarted = performance.now();
        submitters.push(...TENANTS.filter((t) => t.from === 2).map(submitter));
        console.error('bench:fairshare: phase 2: tenant d submits its quota');
      }
      const queues = (await client.list<{ items: ClusterQueue[] }>(cqRef)).items;
      const used: Record<string, number> = {};
      for (const t of TENANTS) {
        const q = queues.find((x) => x.metadata.name === `tenant-${t.name}`);
        const cpu = q?.status.flavorsUsage?.find((f) => f.name === FLAVOR)?.resources.find((r) => r.name === 'cpu')?.total ?? '0';
        used[t.name] = Number(Quantity.parse(cpu).milliValue()) / 1000;
      }
      const t = (performance.now() - t0) / 1000;
      samples.push({ t, phase, used });
      if (phase === 2 && reclaimedAfter === undefined && used.d! >= D_NOMINAL) reclaimedAfter = (performance.now() - reclaimStarted) / 1000;
      if (Math.round(t) % 10 === 0) console.error(`  t=${t.toFixed(0)}s ${TENANTS.map((x) => `${x.name}=${used[x.name]}`).join(' ')}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
    stopSubmitting.forEach((s) => s());
    await Promise.all(submitters);
    report(samples, reclaimedAfter);
  } finally {
    stopSubmitting.forEach((s) => s());
    await manager?.stop('SIGTERM', 10_000);
    await Promise.all(schedulers.map((s) => s.stop()));
    await cluster.stop();
  }
}

/** Each tenant's weighted fair share of the cluster in a phase: its guarantee, then the rest by weight among the borrowers. */
function fairShares(phase: 1 | 2): Record<string, number> {
  const active = TENANTS.filter((t) => t.from <= phase);
  const guaranteed = active.filter((t) => t.demand !== undefined);
  const rest = CAPACITY - guaranteed.reduce((s, t) => s + t.demand!, 0);
  const borrowers = active.filter((t) => t.demand === undefined);
  const weights = borrowers.reduce((s, t) => s + t.weight, 0);
  const out: Record<string, number> = {};
  for (const t of TENANTS) out[t.name] = 0;
  for (const t of guaranteed) out[t.name] = t.demand! / CAPACITY;
  for (const t of borrowers) out[t.name] = (rest * t.weight) / weights / CAPACITY;
  return out;
}

function report(samples: Sample[], reclaimedAfter: number | undefined): void {
  const rows: string[][] = [];
  const figures: Record<string, unknown> = { nodes: NODES, cpuPerNode: NODE_CPU, capacity: CAPACITY, phaseSeconds: PHASE_MS / 1000, settleSeconds: SETTLE_MS / 1000, phases: [] as unknown[] };
  let allWithin = true;
  for (const phase of [1, 2] as const) {
    const start = (phase - 1) * (PHASE_MS / 1000) + SETTLE_MS / 1000;
    const window = samples.filter((s) => s.phase === phase && s.t >= start);
    const fair = fairShares(phase);
    const utilisation = window.reduce((s, x) => s + Object.values(x.used).reduce((a, b) => a + b, 0), 0) / Math.max(1, window.length) / CAPACITY;
    const perTenant: Record<string, unknown> = {};
    for (const t of TENANTS) {
      if (t.from > phase) continue;
      const avg = window.reduce((s, x) => s + x.used[t.name]!, 0) / Math.max(1, window.length) / CAPACITY;
      const deviation = fair[t.name]! > 0 ? (avg - fair[t.name]!) / fair[t.name]! : 0;
      const within = Math.abs(deviation) <= 0.1;
      allWithin &&= within;
      perTenant[t.name] = { weight: t.weight, nominal: t.nominal, fair: fair[t.name], average: avg, deviation };
      rows.push([String(phase), t.name, String(t.weight), String(t.nominal), pct(fair[t.name]!), pct(avg), `${deviation >= 0 ? '+' : ''}${(deviation * 100).toFixed(1)}%`, within ? 'yes' : 'NO']);
    }
    (figures.phases as unknown[]).push({ phase, samples: window.length, utilisation, tenants: perTenant });
    rows.push([String(phase), 'all', '', '', '', `${pct(utilisation)} used`, '', '']);
  }
  figures.reclaimSeconds = reclaimedAfter;
  console.log(`\nfair sharing in one cohort — ${NODES} hollow nodes × ${NODE_CPU} cpu; Jobs of ${JOB_PODS} × 1 cpu running ${RUN_SECONDS} s; phases of ${PHASE_MS / 1000} s, averages after the first ${SETTLE_MS / 1000} s of each\n`);
  console.log(formatTable(['phase', 'tenant', 'weight', 'nominal cpu', 'fair share', 'average share', 'deviation', 'within ±10%'], rows));
  console.log(`\ntenant d reclaimed its ${D_NOMINAL} cpu ${reclaimedAfter === undefined ? 'NEVER within the phase' : `in ${reclaimedAfter.toFixed(1)} s`} (from its first submission to its admitted usage reaching its nominal quota)`);
  console.log(`target: every tenant within ±10% of its weighted fair share: ${allWithin ? 'PASS' : 'FAIL'}`);

  mkdirSync(OUT, { recursive: true });
  writeFileSync(path.join(OUT, 'fairshare.json'), `${JSON.stringify({ ...figures, samples }, null, 1)}\n`);
  const data = samples.flatMap((s) => TENANTS.map((t) => ({ t: Math.round(s.t), tenant: t.name, share: Math.round((1000 * s.used[t.name]!) / CAPACITY) / 10 })));
  void renderSvg({
    title: 'Share of the cluster per tenant (weights a 1, b 2, c 3; d: a quarter as quota)',
    x: { field: 't', title: 'time (s)' },
    y: { field: 'share', title: 'share of cluster cpu (%)' },
    series: 'tenant',
    seriesTitle: 'tenant',
    data,
  }).then((svg) => {
    writeFileSync(path.join(OUT, 'fairshare.svg'), svg);
    console.log(`\nplot: ${path.join(OUT, 'fairshare.svg')}; figures: ${path.join(OUT, 'fairshare.json')}`);
  });
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

await main();
