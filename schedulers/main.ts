#!/usr/bin/env node
// cell-scheduler: one scheduling policy as a daemon (DESIGN §4). It owns the pods whose
// spec.schedulerName is its --scheduler-name; many may run side by side, as different policies or
// as replicas of one (all active, or leader-elected with --leader-elect).
import { parseFlags } from '../shared/flags.js';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { DEFAULT_SCHEDULER_NAME } from '../shared/api/core.js';
import { EventRecorder } from '../shared/client/events.js';
import { ApiClient } from '../shared/client/http-client.js';
import { CONNECTION_FLAGS, connectionFromFlags, connectionUsage } from '../shared/client/connection-flags.js';
import { errorMessage } from '../shared/errors.js';
import { LeaderElector, leaseRequestTimeoutMs } from '../shared/leader-election.js';
import { createLogger } from '../shared/logging.js';
import { serveMetrics, type MetricsServer } from '../shared/metrics-server.js';
import { ApiLeaseBackend } from '../shared/client/lease-backend.js';
import { SchedulerMetrics } from './metrics.js';
import { loadProfile, type LoadedProfile } from './profile/profile.js';
import { RateLimitedEvents } from './report/events.js';
import { Scheduler } from './scheduler.js';
import { DecisionTime, parseDecisionTimeClasses, type DecisionTimes } from './experiment/decision-time.js';

const USAGE = `Usage: cell-scheduler [flags]

${connectionUsage('a user in group system:schedulers')}  --scheduler-name=NAME            schedule pods whose spec.schedulerName is NAME (default ${DEFAULT_SCHEDULER_NAME})
  --profile=default|binpack|FILE   scheduling profile: a shipped one or a YAML file (default: default)
  --conflict-mode=fine|coarse      override the profile's conflict detection (DESIGN §3)
  --leader-elect                   only the holder of the lease schedules (HA replicas)
  --leader-elect-lease-duration=15s
  --leader-elect-renew-deadline=10s
  --leader-elect-retry-period=2s
  --leader-elect-resource-namespace=kube-system
  --leader-elect-resource-name=NAME   (default: the scheduler name)
  --metrics-port=PORT              serve /metrics, /healthz and /readyz on PORT (0 = any free port)
  --metrics-bind-address=127.0.0.1
  --event-qps=10 --event-burst=50  most events recorded per second, and in a burst (the rest are dropped, counted)
  --log-level=info                 error|warn|info|debug
  --decision-time-per-job=0 --decision-time-per-task=0
                                   experiments only: simulated decision time (Omega's t_job + t_task × tasks),
                                   waited between deciding a pod and committing it
  --decision-time-class-label=KEY --decision-time-classes=CLASS=T_JOB/T_TASK,...
                                   experiments only: per-class times for pods whose label KEY is CLASS
                                   (one daemon as Omega's monolithic scheduler: service=1s/10ms,batch=0/5ms)
  -h, --help                       show this help
`;

const flags = parseFlags('cell-scheduler', USAGE, {
      ...CONNECTION_FLAGS,
      'scheduler-name': { type: 'string', default: DEFAULT_SCHEDULER_NAME },
      profile: { type: 'string', default: 'default' },
      'conflict-mode': { type: 'string' },
      'leader-elect': { type: 'boolean', default: false },
      'leader-elect-lease-duration': { type: 'string', default: '15s' },
      'leader-elect-renew-deadline': { type: 'string', default: '10s' },
      'leader-elect-retry-period': { type: 'string', default: '2s' },
      'leader-elect-resource-namespace': { type: 'string', default: 'kube-system' },
      'leader-elect-resource-name': { type: 'string' },
      'metrics-port': { type: 'string' },
      'metrics-bind-address': { type: 'string', default: '127.0.0.1' },
      'event-qps': { type: 'string', default: '10' },
      'event-burst': { type: 'string', default: '50' },
      'log-level': { type: 'string' },
      'decision-time-per-job': { type: 'string', default: '0' },
      'decision-time-per-task': { type: 'string', default: '0' },
      'decision-time-class-label': { type: 'string' },
      'decision-time-classes': { type: 'string' },
});
const fail: (message: string) => never = flags.fail;
const { str, num, duration } = flags;
const log = createLogger('scheduler', flags.logLevel());

const { servers, token, tls } = connectionFromFlags(flags);

const schedulerName = str('scheduler-name') ?? DEFAULT_SCHEDULER_NAME;
const conflictMode = str('conflict-mode');
if (conflictMode !== undefined && conflictMode !== 'fine' && conflictMode !== 'coarse') fail('--conflict-mode must be fine or coarse');
let profile: LoadedProfile;
try {
  profile = loadProfile(str('profile') ?? 'default');
} catch (err) {
  fail(errorMessage(err));
}

const identity = `${os.hostname()}_${process.pid}_${randomUUID().slice(0, 8)}`;
const client = new ApiClient({
  servers,
  ...(token !== undefined ? { token } : {}),
  ...(tls !== undefined ? { tls } : {}),
  userAgent: `cell-scheduler/${schedulerName}`,
});
const metrics = new SchedulerMetrics(schedulerName, { processMetrics: true });
const events = new RateLimitedEvents(new EventRecorder(client, { component: schedulerName, host: identity }, log), {
  qps: num('event-qps'),
  burst: num('event-burst'),
  onDropped: () => metrics.eventsDropped.inc(),
});

let synced = false;
let metricsServer: MetricsServer | undefined;
const metricsPort = str('metrics-port');
if (metricsPort !== undefined) {
  try {
    // Live as long as the process answers; ready once the informers have listed.
    metricsServer = await serveMetrics({
      registry: metrics.registry,
      address: str('metrics-bind-address') ?? '127.0.0.1',
      port: num('metrics-port'),
      notReady: () => (synced ? undefined : 'informers not synced'),
    });
  } catch (err) {
    fail(`cannot serve metrics: ${errorMessage(err)}`);
  }
}

const classLabel = str('decision-time-class-label');
const classSpec = str('decision-time-classes');
if ((classLabel === undefined) !== (classSpec === undefined)) fail('--decision-time-class-label and --decision-time-classes go together');
let classTimes: Map<string, DecisionTimes> | undefined;
try {
  classTimes = classSpec !== undefined ? parseDecisionTimeClasses(classSpec) : undefined;
} catch (err) {
  fail(errorMessage(err));
}
const decisionTime = new DecisionTime({
  perJobMs: duration('decision-time-per-job'),
  perTaskMs: duration('decision-time-per-task'),
  ...(classLabel !== undefined && classTimes !== undefined ? { classes: { label: classLabel, times: classTimes } } : {}),
});

let scheduler: Scheduler;
try {
  scheduler = await Scheduler.create({
    client,
    schedulerName,
    profile,
    ...(conflictMode === 'fine' || conflictMode === 'coarse' ? { conflictMode } : {}),
    log,
    metrics,
    events,
    ...(decisionTime.enabled ? { decisionTime } : {}),
  });
} catch (err) {
  fail(errorMessage(err));
}

let elector: LeaderElector | undefined;
let stopping = false;
const shutdown = (signal: string): void => {
  if (stopping) return;
  stopping = true;
  log.info('shutting down', { signal });
  // Whatever hangs, the process must go: a supervisor restarts it, a test waits for it.
  setTimeout(() => process.exit(1), 15_000).unref();
  (async () => {
    await elector?.stop();
    await scheduler.stop();
    await Promise.race([events.drain(), new Promise((r) => setTimeout(r, 2000))]);
    await metricsServer?.close();
  })().then(
    () => process.exit(0),
    (err: unknown) => {
      log.error('shutdown failed', { error: errorMessage(err) });
      process.exit(1);
    },
  );
};
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));

await scheduler.start();
synced = true;
log.info('scheduler ready', {
  scheduler: schedulerName,
  profile: profile.profile.name,
  profileFile: profile.file,
  conflictMode: scheduler.conflictMode,
  leaderElect: flags.values['leader-elect'] === true,
  identity,
  ...(metricsServer ? { metricsPort: metricsServer.port } : {}),
});

if (flags.values['leader-elect'] === true) {
  const renewDeadlineMs = duration('leader-elect-renew-deadline');
  const retryPeriodMs = duration('leader-elect-retry-period');
  const leaseClient = client.withTimeout(leaseRequestTimeoutMs(renewDeadlineMs, retryPeriodMs));
  const backend = new ApiLeaseBackend(leaseClient, str('leader-elect-resource-namespace') ?? 'kube-system', str('leader-elect-resource-name') ?? schedulerName);
  elector = new LeaderElector(backend, {
    identity,
    leaseDurationMs: duration('leader-elect-lease-duration'),
    renewDeadlineMs,
    retryPeriodMs,
    log,
    onStartedLeading: () => {
      metrics.leader.set(1);
      scheduler.startScheduling();
    },
    onStoppedLeading: () => {
      metrics.leader.set(0);
      // Another replica may be leading already: stop deciding at once, let commits in flight land.
      void scheduler.stopScheduling();
    },
  });
  void elector.run();
} else {
  metrics.leader.set(1);
  scheduler.startScheduling();
}
