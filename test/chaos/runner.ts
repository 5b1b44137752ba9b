// One chaos run, start to finish: the cluster, the watch consumer, the workloads (pods, Deployments
// and Jobs, queue tenants) and the fault injector at once; then everything restarted, a settle
// period, and the invariants judged from etcd's history. Used by run.ts (`npm run test:chaos`) and
// chaos.test.ts (the short CI form).
import type { Pod } from '../../shared/api/core.js';
import { ApiClient } from '../../shared/client/http-client.js';
import { errorMessage } from '../../shared/errors.js';
import { seededRandom } from '../harness/random.js';
import { metricValue } from '../schedulers/scheduler-process.js';
import { ChaosCluster, ETCD_PREFIX, NAMESPACE } from './cluster.js';
import { FAULT_KINDS, FaultInjector, planFaults } from './faults.js';
import { EtcdReader } from './history.js';
import { checkAtRevision, compareWatch, podOutcomes, replay, type Violation } from './invariants.js';
import { formatReport, type ChaosSummary } from './report.js';
import { WatchConsumer } from './watch.js';
import { InformerConsumer } from './informer-consumer.js';
import { hollowCpuFor, Workload, type PodKind } from './workload.js';
import { ControllerWorkload, type ControllerWorkloadOptions } from './controller-workload.js';
import { checkControllers } from './controller-invariants.js';
import { checkQueuesAt, queuedJobOutcomes } from './queue-invariants.js';
import { TENANTS, TenantWorkload, type TenantOptions } from './tenants.js';
import { versionAfter } from '../../apiserver/storage/resource-version.js';
import { AuditReportSchema, type ViolationKind } from '../../shared/api/audit.js';

export interface ChaosConfig {
  seed: number;
  pods: number;
  /** The creation window; faults are injected during it. */
  durationMs: number;
  hollowNodes: number;
  hollowAgents?: number;
  realAgents?: number;
  realPods?: number;
  impossiblePods?: number;
  /** Faults in the window (at least one of each kind). */
  faults?: number;
  /** Deployments (rolled out once in the window) and Jobs (started in it). */
  controllers?: ControllerWorkloadOptions;
  /** Queue tenants' rounds of queued Jobs (tenants.ts); default one per minute of the window. */
  tenants?: TenantOptions;
  /** Longest wait for the cluster to settle after the window. */
  settleMs?: number;
  verbose?: boolean;
  log?: (line: string) => void;
}

export interface ChaosResult {
  ok: boolean;
  summary: ChaosSummary;
  report: string;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export const DEFAULT_CONTROLLER_WORKLOAD: ControllerWorkloadOptions = { deployments: 3, replicas: 4, daemonSets: 1, statefulSets: 2, jobs: 3, completions: 6, parallelism: 2 };

/** The audit's findings about queue ledgers (the rest are about nodes and namespace quotas). */
const QUEUE_AUDIT_KINDS: ReadonlySet<ViolationKind> = new Set(['QueueUsageMismatch', 'OverQueueQuota', 'UnknownQueue', 'OverCohortQuota']);

/** Settled: nothing terminating, every unbound pod carries its Unschedulable reason, real pods done. */
async function settled(client: ApiClient): Promise<{ done: boolean; why: string }> {
  const list = await client.list<{ items: Pod[] }>({ namespace: NAMESPACE, resource: 'pods' });
  const terminating = list.items.filter((p) => p.metadata.deletionTimestamp !== undefined).length;
  const unexplained = list.items.filter(
    (p) => !p.spec.nodeName && !p.status.conditions?.some((c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable'),
  ).length;
  const realRunning = list.items.filter((p) => p.metadata.name?.startsWith('real-') && p.spec.nodeName && p.status.phase !== 'Succeeded' && p.status.phase !== 'Failed').length;
  return { done: terminating === 0 && unexplained === 0 && realRunning === 0, why: `${terminating} terminating, ${unexplained} unbound without a reason, ${realRunning} real pods not finished` };
}

export async function runChaos(cfg: ChaosConfig): Promise<ChaosResult> {
  const log = cfg.log ?? ((line: string) => console.error(`chaos: ${line}`));
  const began = Date.now();
  const hollowAgents = cfg.hollowAgents ?? 2;
  const cluster = new ChaosCluster({
    hollowNodes: cfg.hollowNodes,
    hollowAgents,
    realAgents: cfg.realAgents ?? 2,
    hollowCpu: hollowCpuFor(cfg.pods, cfg.hollowNodes),
    hollowMemory: '32Gi',
    verbose: cfg.verbose ?? false,
  });
  const violations: Violation[] = [];
  let reader: EtcdReader | undefined;
  let consumer: WatchConsumer | undefined;
  let informer: InformerConsumer | undefined;
  let client: ApiClient | undefined;
  let summary: ChaosSummary | undefined;
  try {
    log(`seed ${cfg.seed}: starting 3 etcd members, 2 API servers, ${hollowAgents} hollow agents (${cfg.hollowNodes} nodes of ${hollowCpuFor(cfg.pods, cfg.hollowNodes)} cpu), ${cfg.realAgents ?? 2} real agents, 3 schedulers`);
    await cluster.start();
    const setupSeconds = (Date.now() - began) / 1000;
    client = new ApiClient({ servers: cluster.apiservers.map((a) => a.url), timeoutMs: 10_000, retries: 3 });
    reader = new EtcdReader(cluster.etcd.endpoints, ETCD_PREFIX);
    const startRevision = await reader.revision();

    const workload = new Workload(
      client,
      { pods: cfg.pods, creationMs: cfg.durationMs, realPods: cfg.realPods ?? Math.max(4, Math.round(cfg.pods / 200)), impossiblePods: cfg.impossiblePods ?? 3, concurrency: 16 },
      seededRandom(cfg.seed),
    );
    const controllers = new ControllerWorkload(client, cfg.controllers ?? DEFAULT_CONTROLLER_WORKLOAD, seededRandom(cfg.seed ^ 0xc0de), log);
    consumer = new WatchConsumer(cluster.apiservers.map((a) => a.url), NAMESPACE, versionAfter(startRevision), (type, pod) => workload.onPod(type, pod));
    consumer.start();
    // The official JavaScript client's informer, on the second API server.
    informer = new InformerConsumer(cluster.apiservers.at(-1)!.url, NAMESPACE);
    await informer.start();
    // After both consumers start: the informer's first list must find no pods, so that every
    // pod it reports afterwards comes from its watch, in etcd's order.
    await controllers.setup();
    const tenants = new TenantWorkload(client, cfg.durationMs, cfg.tenants ?? { rounds: Math.max(1, Math.round(cfg.durationMs / 60_000)) }, seededRandom(cfg.seed ^ 0x7e4a), log);
    await tenants.setup();

    const faultCount = cfg.faults ?? Math.max(FAULT_KINDS.length, Math.round(cfg.durationMs / 12_000));
    const plan = planFaults(seededRandom(cfg.seed ^ 0x5eed), cfg.durationMs, faultCount);
    log(`setup ${setupSeconds.toFixed(0)} s (etcd ${cluster.etcd.endpoints.join(',')}, prefix ${ETCD_PREFIX}, API servers ${cluster.apiservers.map((a) => a.url).join(',')}); ${cfg.pods} pods over ${(cfg.durationMs / 1000).toFixed(0)} s, ${plan.length} faults: ${plan.map((f) => f.kind).join(', ')}`);
    const injector = new FaultInjector(cluster, new ApiClient({ servers: cluster.apiservers.map((a) => a.url), timeoutMs: 2_000, retries: 0 }), log);

    // Revisions to re-check from ranges at the end (history is never compacted in this run).
    const sampled: number[] = [];
    const sampler = setInterval(() => {
      reader!.revision().then(
        (rev) => sampled.push(rev),
        (err: unknown) => cluster.note(`revision sample failed: ${errorMessage(err)}`),
      );
    }, Math.max(2000, cfg.durationMs / 8));
    const progress = setInterval(() => log(`progress: ${workload.createdCount}/${cfg.pods} pods created, watch at ${consumer!.resourceVersion}, ${injector.records.length}/${plan.length} faults`), 15_000);
    try {
      await Promise.all([workload.run(), injector.run(plan), controllers.run(plan, cfg.durationMs), tenants.run()]);
    } finally {
      clearInterval(sampler);
      clearInterval(progress);
      injector.stop();
      controllers.stop();
      tenants.stop();
      await workload.stop();
    }
    for (const f of injector.records) if (f.healMs === undefined) violations.push({ invariant: 'heal', message: `${f.kind} of ${f.target} at ${(f.atMs / 1000).toFixed(1)}s did not heal: ${f.detail}` });

    log('window over: restarting anything down, waiting for the cluster to settle');
    await cluster.ensureAllRunning();
    const settleDeadline = Date.now() + (cfg.settleMs ?? 90_000);
    let state = { done: false, why: 'not checked' };
    while (Date.now() < settleDeadline) {
      try {
        state = await settled(client);
        if (state.done) {
          // The Deployments' and Jobs' last steps may still be under way with no pod terminating.
          state = await controllers.settled();
          if (state.done) state = await tenants.settled();
          if (state.done) break;
        }
      } catch (err) {
        state = { done: false, why: errorMessage(err) };
      }
      await sleep(2000);
    }
    if (!state.done) cluster.note(`not settled after ${cfg.settleMs ?? 90_000} ms: ${state.why}`);

    const endRevision = await reader.sentinel();
    sampled.push(endRevision);
    log(`reading etcd history ${startRevision + 1}..${endRevision}`);
    const changes = await reader.history(startRevision + 1, endRevision);
    const r = await replay(reader, startRevision, changes, NAMESPACE);
    violations.push(...r.violations);
    for (const rev of sampled) violations.push(...(await checkAtRevision(reader, rev)), ...(await checkQueuesAt(reader, rev)));
    // A replay that never met a queue key would pass whatever the queues did.
    if (tenants.created.length > 0 && r.queues.revisionsChecked === 0) violations.push({ invariant: 'queue', message: `${tenants.created.length} queued Jobs submitted, but the replay saw no ClusterQueue or Workload change` });
    const queued = await queuedJobOutcomes(reader, endRevision, tenants.created);
    violations.push(...queued.violations);

    const ctl = await checkControllers(reader, endRevision, changes, NAMESPACE, { deployments: controllers.deployments, daemonSets: controllers.daemonSets, statefulSets: controllers.statefulSets, jobs: controllers.jobs });
    violations.push(...ctl.violations);

    const lastPodVersion = r.podEvents.at(-1)?.rv ?? versionAfter(startRevision);
    if (!(await consumer.caughtUp(lastPodVersion, 60_000))) cluster.note(`watch consumer at ${consumer.resourceVersion}, not at ${lastPodVersion}, after 60 s`);
    await consumer.stop();
    const watch = compareWatch(consumer.seen, r.podEvents, versionAfter(endRevision));
    violations.push(...watch.violations);
    for (const e of consumer.expired) violations.push({ invariant: 'watch', message: e });
    if (!(await informer.caughtUp(lastPodVersion, 60_000))) cluster.note(`client-node informer at ${informer.resourceVersion}, not at ${lastPodVersion}, after 60 s`);
    await informer.stop();
    const informerWatch = compareWatch(informer.seen, r.podEvents, versionAfter(endRevision));
    for (const v of informerWatch.violations) violations.push({ ...v, message: `client-node informer: ${v.message}` });

    const outcome = podOutcomes(workload.created.values(), r, NAMESPACE);
    violations.push(...outcome.violations);

    // The server's own audit as a cross-check (the figures above do not depend on it).
    let audit = 'not read';
    try {
      const res = await fetch(`${cluster.apiservers[0]!.url}/audit`, { signal: AbortSignal.timeout(60_000) });
      const a = AuditReportSchema.parse(await res.json());
      const ledgers = Object.entries(a.ledgers).map(([kind, n]) => `${n} ${kind}`).join(', ');
      audit = `${a.ok ? 'ok' : `${a.violations.length} violations`} at revision ${a.revision} (accounts audited: ${ledgers})`;
      for (const v of a.violations.slice(0, 20)) violations.push({ invariant: QUEUE_AUDIT_KINDS.has(v.kind) ? 'queue' : 'over-commit', message: `API server audit at revision ${a.revision}: ${v.kind}: ${v.message}` });
      if (a.violations.length > 20) violations.push({ invariant: 'over-commit', message: `API server audit: … and ${a.violations.length - 20} more violations` });
      const queues = tenants.timetable.length > 0 ? Object.keys(TENANTS).length : 0;
      if ((a.ledgers['ClusterQueue'] ?? 0) < queues) violations.push({ invariant: 'queue', message: `API server audit checked ${a.ledgers['ClusterQueue'] ?? 0} ClusterQueue ledgers, not the ${queues} of the run` });
    } catch (err) {
      cluster.note(`audit not read: ${errorMessage(err)}`);
    }

    const texts = cluster.metricTexts();
    const sum = (name: string) => texts.reduce((acc, t) => acc + metricValue(t, name), 0);
    const created: Record<PodKind, number> = { 'long-running': 0, finishing: 0, gang: 0, real: 0, impossible: 0 };
    let recreated = 0;
    for (const c of workload.created.values()) {
      created[c.kind]++;
      if (c.replaces) recreated++;
    }
    summary = {
      seed: cfg.seed,
      config: `${cfg.pods} pods over ${(cfg.durationMs / 1000).toFixed(0)} s, ${cfg.hollowNodes} hollow nodes in ${hollowAgents} agents, ${cfg.realAgents ?? 2} real agents`,
      wallSeconds: 0,
      setupSeconds,
      faults: injector.records,
      created,
      recreated,
      podGroups: workload.podGroups.length,
      retriedWrites: workload.retriedWrites,
      ambiguousCreates: workload.ambiguousCreates,
      outcome,
      conflicts: sum('cell_scheduler_conflicts_total'),
      boundBySchedulers: sum('cell_scheduler_bound_pods_total'),
      revisionsChecked: r.revisionsChecked,
      changesReplayed: r.changes,
      sampledRevisions: sampled,
      boundUids: r.boundUids,
      watch: { consumerEvents: consumer.seen.length, etcdEvents: r.podEvents.length, compared: watch.compared, resumes: consumer.resumes, expired: consumer.expired, errors: consumer.errors.length },
      informer: { events: informer.seen.length, compared: informerWatch.compared, restarts: informer.restarts },
      audit,
      controllers: {
        ...ctl.figures,
        replicas: controllers.opts.replicas,
        rollouts: controllers.rollouts.length,
        completions: controllers.opts.completions,
        overlaps: controllers.overlaps(injector.records),
      },
      queues: { ...r.queues, sampledRevisions: sampled.length, submitted: tenants.created.length, jobs: queued },
      crashes: [],
      unclean: [],
      violations,
      notes: cluster.notes,
    };
  } finally {
    await consumer?.stop();
    await informer?.stop();
    client?.close();
    reader?.close();
    const unclean = await cluster.stop();
    if (summary) {
      summary.unclean = unclean;
      summary.crashes = cluster.crashes;
      summary.wallSeconds = (Date.now() - began) / 1000;
      for (const c of cluster.crashes) violations.push({ invariant: 'crash', message: `${c.process} exited on its own (code ${c.code}, signal ${c.signal}) at ${(c.atMs / 1000).toFixed(1)}s` });
      for (const u of unclean) violations.push({ invariant: 'crash', message: `${u.process} exited with code ${u.code} on SIGTERM` });
    }
  }
  const report = formatReport(summary);
  return { ok: summary.violations.length === 0, summary, report };
}
