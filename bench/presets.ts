// Named benchmark runs, so a figure in the README can be reproduced with one word — here
// (`npm run bench:preset -- <name>`) or on another machine from the portable bundle
// (`./run.sh <name>`, deploy/bundle.ts). A preset is a benchmark script and its environment;
// every run has etcd with fsync and the compiled processes, as the bench:* scripts do.

export interface BenchPreset {
  /** The benchmark module under bench/. */
  script: 'e2e' | 'bind' | 'apiserver' | 'watchers' | 'store' | 'jobs' | 'fairshare' | 'memory' | 'wakeup';
  /** What it shows, for --list. */
  about: string;
  env: Record<string, string>;
  /** Command-line flags for scripts that take flags instead of environment (bench:jobs). */
  args?: string[];
}

// A million pods: history is compacted as it would be in production (the other presets keep it
// so nothing is lost mid-run), etcd gets room beyond its 2 GiB default quota, and the API server
// and schedulers a V8 heap limit above Node's default (about 4 GiB) — the limit the run must stay
// under. The controller manager of the Jobs variant takes the schedulers' (BENCH_MANAGER_NODE_ARGS).
// One API server places ~1,000 pods/s at 10,000 nodes (c1m on the 2-core machine: ~1 ms of CPU per
// pod, one core): 3,333 pods/s takes replicas, and schedulers to match, one per replica.
const C1M_16CORE_ENV = {
  BENCH_SCENARIOS: '10000x1000000',
  BENCH_APISERVERS: '4',
  BENCH_SCHEDULERS: '4',
  BENCH_SERVER_ARGS: '--compaction-interval=1m',
  // Room for a million pods, and a raft log in memory bounded to ~15,000 entries (deploy/compose.yaml).
  CELL_ETCD_ARGS: `--quota-backend-bytes=${8 * 1024 ** 3} --snapshot-count=10000`,
  BENCH_SERVER_NODE_ARGS: '--max-old-space-size=16384',
  BENCH_SCHEDULER_NODE_ARGS: '--max-old-space-size=16384',
};
const C1M_2CORE_ENV = { BENCH_SCENARIOS: '1000x100000', BENCH_SERVER_ARGS: '--compaction-interval=1m' };
/** The pods made by the job controller instead of one POST each: Jobs of 1,000 (DESIGN §8's workloads). */
const VIA_JOBS_ENV = { BENCH_CREATE_VIA: 'jobs', BENCH_JOB_PODS: '1000' };

/**
 * API server replicas compared at one offered load below saturation (CPU per pod), after a short
 * closed loop of 3 pods a node (5,000 at most).
 */
function fixedRate(o: { nodes: number; rate: number; seconds: number; replicas: number; pair?: string }): BenchPreset {
  const n = o.nodes.toLocaleString('en-US');
  return {
    script: 'e2e',
    about:
      o.replicas === 1
        ? `${n} nodes, one API server: then ${o.rate.toLocaleString('en-US')} pods/s offered for ${o.seconds} s (CPU per pod below saturation; compare with ${o.pair})`
        : `${n} nodes, ${o.replicas} API server replicas: then the same ${o.rate.toLocaleString('en-US')} pods/s for ${o.seconds} s`,
    env: {
      BENCH_SCENARIOS: `${o.nodes}x${Math.min(3 * o.nodes, 5000)}`,
      BENCH_OPEN_LOOP_RATES: String(o.rate),
      BENCH_OPEN_LOOP_SECONDS: String(o.seconds),
      ...(o.replicas > 1 ? { BENCH_APISERVERS: String(o.replicas) } : {}),
    },
  };
}

export const PRESETS: Record<string, BenchPreset> = {
  'e2e-2core': {
    script: 'e2e',
    about: '1,000 nodes × 3,000 pods, two schedulers, one API server: the 2-core scenario',
    env: { BENCH_SCENARIOS: '1000x3000' },
  },
  'e2e-16core': {
    script: 'e2e',
    about: '5,000 × 20,000 and 10,000 × 100,000, one API server: the 16-core scenario',
    env: { BENCH_SCENARIOS: '5000x20000,10000x100000' },
  },
  'latency-2core': {
    script: 'e2e',
    about: '1,000 nodes: the closed-loop maximum, then Poisson arrivals at 50, 80 and 95% of it (create→bound p50/p99/p99.9)',
    env: { BENCH_SCENARIOS: '1000x3000', BENCH_OPEN_LOOP: '0.5,0.8,0.95' },
  },
  'latency-16core': {
    script: 'e2e',
    about: '5,000 nodes: the closed-loop maximum, then Poisson arrivals at 50, 80 and 95% of it',
    env: { BENCH_SCENARIOS: '5000x20000', BENCH_OPEN_LOOP: '0.5,0.8,0.95', BENCH_OPEN_LOOP_SECONDS: '30' },
  },
  'jobs-2core': {
    script: 'jobs',
    about: '40 Jobs × 1,000 pods on 400 hollow nodes (bench:jobs defaults), beside the one-POST-per-pod rate',
    env: {},
  },
  'jobs-16core': {
    script: 'jobs',
    about: '100 Jobs × 1,000 pods on 5,000 hollow nodes, beside the one-POST-per-pod rate',
    env: {},
    args: ['--preset=16core'],
  },
  'fairshare-2core': {
    script: 'fairshare',
    about: 'Kueue fair sharing: tenants with weights 1, 2, 3 borrowing a cohort, then one reclaiming its quota (8 hollow nodes × 8 cpu)',
    env: {},
    args: ['--phase=90s', '--settle=20s'],
  },
  'scaleout-2-16core': {
    script: 'e2e',
    about: '5,000 × 20,000 through 2 API server replicas (compare with e2e-16core for CPU per pod)',
    env: { BENCH_SCENARIOS: '5000x20000', BENCH_APISERVERS: '2' },
  },
  'scaleout-4-16core': {
    script: 'e2e',
    about: '5,000 × 20,000 through 4 API server replicas',
    env: { BENCH_SCENARIOS: '5000x20000', BENCH_APISERVERS: '4' },
  },
  'scaleout-2-2core': {
    script: 'e2e',
    about: '1,000 × 3,000 through 2 API server replicas (compare with e2e-2core for CPU per pod)',
    env: { BENCH_SCENARIOS: '1000x3000', BENCH_APISERVERS: '2' },
  },
  'scaleout-4-2core': {
    script: 'e2e',
    about: '1,000 × 3,000 through 4 API server replicas',
    env: { BENCH_SCENARIOS: '1000x3000', BENCH_APISERVERS: '4' },
  },
  'scaleout-rate-1-2core': fixedRate({ nodes: 1000, rate: 500, seconds: 30, replicas: 1, pair: 'scaleout-rate-4-2core' }),
  'scaleout-rate-4-2core': fixedRate({ nodes: 1000, rate: 500, seconds: 30, replicas: 4 }),
  'scaleout-rate-1-16core': fixedRate({ nodes: 5000, rate: 1500, seconds: 20, replicas: 1, pair: 'scaleout-rate-4-16core' }),
  'scaleout-rate-4-16core': fixedRate({ nodes: 5000, rate: 1500, seconds: 20, replicas: 4 }),
  'c1m-16core': {
    script: 'e2e',
    about: 'C1M: 10,000 nodes × 1,000,000 pods through 4 API server replicas and 4 schedulers, history compacted every minute, etcd quota 8 GiB and snapshots every 10,000 entries, 16 GiB heap limits',
    // Progress every 2 s: a run stopped at a time limit still shows the rate it held.
    env: { ...C1M_16CORE_ENV, BENCH_TRACE: '1' },
  },
  'c1m-1api-16core': {
    script: 'e2e',
    about: 'C1M as the 2-core machine runs it: one API server and two schedulers, otherwise as c1m-16core',
    env: { ...C1M_16CORE_ENV, BENCH_APISERVERS: '1', BENCH_SCHEDULERS: '2', BENCH_TRACE: '1' },
  },
  'c1m-jobs-16core': {
    script: 'e2e',
    about: 'C1M through Jobs: 10,000 nodes, 1,000 Jobs × 1,000 pods made by the job controller, otherwise as c1m-16core',
    env: { ...C1M_16CORE_ENV, ...VIA_JOBS_ENV },
  },
  'c1m-2core': {
    script: 'e2e',
    about: 'C1M scaled to a small machine: 1,000 nodes × 100,000 pods, compacted every minute',
    env: C1M_2CORE_ENV,
  },
  'c1m-jobs-2core': {
    script: 'e2e',
    about: 'C1M through Jobs scaled to a small machine: 1,000 nodes, 100 Jobs × 1,000 pods, compacted every minute',
    env: { ...C1M_2CORE_ENV, ...VIA_JOBS_ENV },
  },
  'memory-2core': {
    script: 'memory',
    about: "the API server's retained heap per cached pod after GC (10,000, 30,000 and 50,000 pods), and the event window's share",
    args: ['--pods=10000,30000,50000'],
    env: {},
  },
  'bind-2core': {
    script: 'bind',
    about: 'the placement commit alone: bindings and placements per second against raw etcd CAS',
    env: {},
  },
  'fanout-1000-16core': {
    script: 'apiserver',
    about: 'watch fan-out: 1,000 watchers of 200 creates/s for 10 s',
    env: { BENCH_WATCHERS: '1000' },
  },
  'fanout-5000-16core': {
    script: 'apiserver',
    about: 'watch fan-out: 5,000 watchers of 200 creates/s for 10 s',
    env: { BENCH_WATCHERS: '5000' },
  },
  wakeup: {
    script: 'wakeup',
    about: "what the machine charges a process for going idle: one HTTP request back to back and with 1 ms idle between (read CPU per pod below saturation with it)",
    env: {},
  },
  smoke: {
    script: 'e2e',
    about: 'a few seconds: 50 nodes × 100 pods, to check that a machine (or a bundle) runs benchmarks at all',
    env: { BENCH_SCENARIOS: '50x100', BENCH_CAS_MS: '500' },
  },
};

/**
 * Presets run one after another under one name, most important first, for a machine lent for a
 * few minutes (`./run.sh --out=DIR --budget-s=540 16core-first`): a budget stops the list where the
 * time runs out, and each preset's output is kept in DIR whatever happens after it.
 */
export const SUITES: Record<string, { about: string; presets: string[] }> = {
  '16core-first': {
    about: 'the 16-core figures that need the most time, in one call: C1M (progress every 2 s)',
    presets: ['c1m-16core'],
  },
  '16core-rest': {
    about: "the remaining 16-core figures, shortest first: the machine's cost of idling, replicas at a fixed rate, fan-out at 5,000 watchers, latency below saturation",
    presets: ['wakeup', 'scaleout-rate-1-16core', 'scaleout-rate-4-16core', 'fanout-5000-16core', 'latency-16core'],
  },
};

export function presetNames(): string[] {
  return Object.keys(PRESETS);
}
