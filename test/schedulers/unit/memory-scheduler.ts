// The real Scheduler (cache, queue, framework, committer) over a MemoryCluster: no etcd, no HTTP.
// Its commits go through a MemoryPlanner to the cluster's ledgers; the test adds nodes and pods to
// the cluster and waits for what the scheduler does with them.
import { createLogger } from '../../../shared/logging.js';
import type { DecisionTime } from '../../../schedulers/experiment/decision-time.js';
import { SchedulerMetrics } from '../../../schedulers/metrics.js';
import { loadProfile, type LoadedProfile, type PluginSpec } from '../../../schedulers/profile/profile.js';
import { Scheduler } from '../../../schedulers/scheduler.js';
import { MemoryCluster } from '../../../schedulers/testing/memory-cluster.js';
import { MemoryPlanner, type MemoryPlannerOptions } from '../../../schedulers/testing/memory-planner.js';

export interface MemorySchedulerOptions extends MemoryPlannerOptions {
  /** A shipped profile's name (default `default`). */
  profile?: string;
  /** Changes to the profile's plugins: args by plugin name (replacing the profile's), or `false` to drop the plugin. */
  plugins?: Record<string, Record<string, unknown> | false>;
  batchSize?: number;
  /** Pods already in the cluster are kept; the scheduler lists them at start. */
  cluster?: MemoryCluster;
  decisionTime?: DecisionTime;
}

export interface MemoryScheduler {
  readonly scheduler: Scheduler;
  readonly cluster: MemoryCluster;
  readonly planner: MemoryPlanner;
  readonly metrics: SchedulerMetrics;
  stop(): Promise<void>;
}

/** A profile for fast tests: back-offs of a few milliseconds instead of seconds. */
function profileFor(o: MemorySchedulerOptions): LoadedProfile {
  const loaded = loadProfile(o.profile ?? 'default');
  const plugins: PluginSpec[] = [];
  for (const p of loaded.profile.plugins) {
    const change = p.name === undefined ? undefined : o.plugins?.[p.name];
    if (change === false) continue;
    plugins.push(change ? { ...p, args: change } : p);
  }
  return {
    file: loaded.file,
    profile: {
      ...loaded.profile,
      ...(o.conflictMode ? { conflictMode: o.conflictMode } : {}),
      ...(o.batchSize ? { batchSize: o.batchSize } : {}),
      podInitialBackoffSeconds: 0.01,
      podMaxBackoffSeconds: 0.05,
      plugins,
    },
  };
}

export async function startMemoryScheduler(o: MemorySchedulerOptions = {}): Promise<MemoryScheduler> {
  const cluster = o.cluster ?? new MemoryCluster();
  const profile = profileFor(o);
  const planner = new MemoryPlanner(cluster, { conflictMode: profile.profile.conflictMode, ...(o.beforeCommit ? { beforeCommit: o.beforeCommit } : {}) });
  const metrics = new SchedulerMetrics('memory');
  const scheduler = await Scheduler.create({
    client: cluster.client,
    schedulerName: 'default-scheduler',
    profile,
    log: createLogger('memory-scheduler', 'silent'),
    metrics,
    events: cluster.eventSink,
    planner,
    ...(o.decisionTime ? { decisionTime: o.decisionTime } : {}),
  });
  await scheduler.start();
  scheduler.startScheduling();
  return { scheduler, cluster, planner, metrics, stop: () => scheduler.stop() };
}

/** Polls `check` (every few ms) until it returns something other than undefined/false. */
export async function until<T>(what: string, check: () => T | undefined | false, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Waits `ms` and says whether `check` held the whole time. */
export async function holds(ms: number, check: () => boolean): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!check()) return false;
    await new Promise((r) => setTimeout(r, 5));
  }
  return check();
}

/** A counter's value for these labels (0 when never incremented). */
export async function counter(metrics: SchedulerMetrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = metrics.registry.getSingleMetric(name);
  if (!m) throw new Error(`no metric ${name}`);
  const { values } = await m.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => String((v.labels as Record<string, unknown>)[k]) === want))
    .reduce((sum, v) => sum + v.value, 0);
}
