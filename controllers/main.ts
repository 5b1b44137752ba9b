#!/usr/bin/env node
// cell-controller-manager: the cluster's control loops (DESIGN §1), leader-elected, talking to the
// API like any client. When this replica loses the lease it stops every controller and exits 1,
// as kube-controller-manager does; its supervisor restarts it as a fresh candidate.
import os from 'node:os';
import { randomUUID } from 'node:crypto';
import { CONNECTION_FLAGS, connectionFromFlags, connectionUsage } from '../shared/client/connection-flags.js';
import { ApiClient } from '../shared/client/http-client.js';
import { errorMessage } from '../shared/errors.js';
import { parseFlags } from '../shared/flags.js';
import { createLogger } from '../shared/logging.js';
import { serveMetrics } from '../shared/metrics-server.js';
import { CONTROLLERS } from './catalog.js';
import { CONTROLLER_MANAGER_LEASE_NAME, CONTROLLER_MANAGER_LEASE_NAMESPACE, ControllerManager, parseControllers } from './manager.js';
import { ControllerManagerMetrics } from './metrics.js';

const USAGE = `Usage: cell-controller-manager [flags]

${connectionUsage('user system:cell-controller-manager, or any user its ClusterRole is bound to')}  --controllers=*                  controllers to run: * (all), names, -name to leave one out
                                   (known: ${CONTROLLERS.map((c) => c.name).join(', ')})
  --leader-elect=true              only the holder of the lease runs controllers (HA replicas);
                                   --leader-elect=false runs them at once
  --leader-elect-lease-duration=15s
  --leader-elect-renew-deadline=10s
  --leader-elect-retry-period=2s
  --leader-elect-resource-namespace=${CONTROLLER_MANAGER_LEASE_NAMESPACE}
  --leader-elect-resource-name=${CONTROLLER_MANAGER_LEASE_NAME}
  --node-monitor-grace-period=40s  a node whose Lease is not renewed this long becomes Unknown
                                   and is tainted node.kubernetes.io/unreachable
  --node-monitor-period=5s         how often node leases are checked
  --pod-eviction-timeout=5m        pods of a node Unknown this long are failed (NodeLost)
  --pod-gc-interval=20s            how often pods bound to vanished nodes are collected
  --concurrent-job-syncs=5         Jobs synced at once (each creates its pods in slow-start batches)
  --concurrent-replicaset-syncs=5  ReplicaSets synced at once
  --concurrent-deployment-syncs=5  Deployments synced at once
  --concurrent-daemonset-syncs=2   DaemonSets synced at once
  --concurrent-statefulset-syncs=5 StatefulSets synced at once
  --concurrent-gc-syncs=5          objects the garbage collector deletes or orphans at once
  --horizontal-pod-autoscaler-sync-period=15s
                                   how often each HorizontalPodAutoscaler measures its pods
  --horizontal-pod-autoscaler-downscale-stabilization=5m
                                   a scale-down takes the highest recommendation of this window
  --horizontal-pod-autoscaler-tolerance=0.1
                                   usage within this fraction of the target changes nothing
  --horizontal-pod-autoscaler-cpu-initialization-period=5m
  --horizontal-pod-autoscaler-initial-readiness-delay=30s
  --port=10257                     serve /metrics and /healthz on PORT (0 = any free port)
  --bind-address=127.0.0.1
  --log-level=info                 error|warn|info|debug
  -h, --help                       show this help

Losing the lease stops every controller and exits with code 1: run it under a supervisor that
restarts it (systemd Restart=always, compose restart: unless-stopped).
`;

// --leader-elect is a Go bool flag there: bare means true, and =false turns it off.
process.argv = process.argv.map((a) => (a === '--leader-elect' ? '--leader-elect=true' : a));
const flags = parseFlags('cell-controller-manager', USAGE, {
  ...CONNECTION_FLAGS,
  controllers: { type: 'string', default: '*' },
  'leader-elect': { type: 'string', default: 'true' },
  'leader-elect-lease-duration': { type: 'string', default: '15s' },
  'leader-elect-renew-deadline': { type: 'string', default: '10s' },
  'leader-elect-retry-period': { type: 'string', default: '2s' },
  'leader-elect-resource-namespace': { type: 'string', default: CONTROLLER_MANAGER_LEASE_NAMESPACE },
  'leader-elect-resource-name': { type: 'string', default: CONTROLLER_MANAGER_LEASE_NAME },
  'node-monitor-grace-period': { type: 'string', default: '40s' },
  'node-monitor-period': { type: 'string', default: '5s' },
  'pod-eviction-timeout': { type: 'string', default: '5m' },
  'pod-gc-interval': { type: 'string', default: '20s' },
  'concurrent-job-syncs': { type: 'string', default: '5' },
  'concurrent-replicaset-syncs': { type: 'string', default: '5' },
  'concurrent-deployment-syncs': { type: 'string', default: '5' },
  'concurrent-daemonset-syncs': { type: 'string', default: '2' },
  'concurrent-statefulset-syncs': { type: 'string', default: '5' },
  'concurrent-gc-syncs': { type: 'string', default: '5' },
  'horizontal-pod-autoscaler-sync-period': { type: 'string', default: '15s' },
  'horizontal-pod-autoscaler-downscale-stabilization': { type: 'string', default: '5m' },
  'horizontal-pod-autoscaler-tolerance': { type: 'string', default: '0.1' },
  'horizontal-pod-autoscaler-cpu-initialization-period': { type: 'string', default: '5m' },
  'horizontal-pod-autoscaler-initial-readiness-delay': { type: 'string', default: '30s' },
  port: { type: 'string', default: '10257' },
  'bind-address': { type: 'string', default: '127.0.0.1' },
  'log-level': { type: 'string' },
});
const { str, fail } = flags;
const log = createLogger('controller-manager', flags.logLevel());
const { servers, token, tls } = connectionFromFlags(flags);

let enabled: string[] = [];
try {
  enabled = parseControllers(str('controllers') ?? '*');
} catch (err) {
  fail(errorMessage(err));
}
// Go's ParseBool spellings, as kube-controller-manager's --leader-elect accepts them.
const electText = (str('leader-elect') ?? 'true').toLowerCase();
if (!['1', 't', 'true', '0', 'f', 'false'].includes(electText)) fail(`--leader-elect must be true or false, not "${electText}"`);
const leaderElect = ['1', 't', 'true'].includes(electText);
const positive = (name: string): number => {
  const ms = flags.duration(name);
  if (ms <= 0) fail(`--${name} must be positive`);
  return ms;
};
const workers = (name: string): number => {
  const n = flags.int(name);
  if (n < 1) fail(`--${name} must be at least 1`);
  return n;
};

/** A number in [0, 1) (the HPA tolerance, as kube-controller-manager takes it). */
const fraction = (name: string): number => {
  const text = str(name) ?? '';
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || v < 0 || v >= 1) fail(`--${name} must be a number from 0 up to (not including) 1, not "${text}"`);
  return v;
};

const identity = `${os.hostname()}_${process.pid}_${randomUUID().slice(0, 8)}`;
const client = new ApiClient({
  servers,
  ...(token !== undefined ? { token } : {}),
  ...(tls !== undefined ? { tls } : {}),
  userAgent: 'cell-controller-manager',
});
const metrics = new ControllerManagerMetrics({ processMetrics: true });
const manager = new ControllerManager({
  client,
  log,
  enabled,
  identity,
  metrics,
  config: {
    nodeMonitorGracePeriodMs: positive('node-monitor-grace-period'),
    nodeMonitorPeriodMs: positive('node-monitor-period'),
    podEvictionTimeoutMs: flags.duration('pod-eviction-timeout'),
    podGcIntervalMs: positive('pod-gc-interval'),
    concurrentJobSyncs: workers('concurrent-job-syncs'),
    concurrentReplicaSetSyncs: workers('concurrent-replicaset-syncs'),
    concurrentDeploymentSyncs: workers('concurrent-deployment-syncs'),
    concurrentDaemonSetSyncs: workers('concurrent-daemonset-syncs'),
    concurrentStatefulSetSyncs: workers('concurrent-statefulset-syncs'),
    concurrentGcSyncs: workers('concurrent-gc-syncs'),
    hpaSyncPeriodMs: positive('horizontal-pod-autoscaler-sync-period'),
    hpaDownscaleStabilizationMs: flags.duration('horizontal-pod-autoscaler-downscale-stabilization'),
    hpaTolerance: fraction('horizontal-pod-autoscaler-tolerance'),
    hpaCpuInitializationPeriodMs: flags.duration('horizontal-pod-autoscaler-cpu-initialization-period'),
    hpaInitialReadinessDelayMs: flags.duration('horizontal-pod-autoscaler-initial-readiness-delay'),
  },
  leaderElection: leaderElect
    ? {
        namespace: str('leader-elect-resource-namespace') ?? CONTROLLER_MANAGER_LEASE_NAMESPACE,
        name: str('leader-elect-resource-name') ?? CONTROLLER_MANAGER_LEASE_NAME,
        leaseDurationMs: positive('leader-elect-lease-duration'),
        renewDeadlineMs: positive('leader-elect-renew-deadline'),
        retryPeriodMs: positive('leader-elect-retry-period'),
      }
    : false,
});

// A replica waiting for the lease is healthy and ready too: it is doing its job, which is to wait.
const healthServer = await serveMetrics({ registry: metrics.registry, address: str('bind-address') ?? '127.0.0.1', port: flags.int('port') }).catch((err: unknown) =>
  fail(`cannot serve /healthz and /metrics: ${errorMessage(err)}`),
);

let stopping = false;
const shutdown = (signal: string): void => {
  if (stopping) return;
  stopping = true;
  log.info('shutting down', { signal });
  // Whatever hangs, the process must go: a supervisor restarts it, a test waits for it.
  setTimeout(() => process.exit(1), 15_000).unref();
  void manager.stop();
};
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));

manager.start();
log.info('controller manager started', { identity, controllers: enabled, leaderElect, port: healthServer.port });

const end = await manager.done;
await healthServer.close().catch((err: unknown) => log.warn('closing the health server failed', { error: errorMessage(err) }));
client.close();
if (end === 'lost') {
  log.error('leaderelection lost: exiting so that the supervisor restarts this replica as a candidate', { identity });
  process.exit(1);
}
process.exit(0);
