// Wires the node-agent side of the cluster into an API server: the `pods/log` proxy (always), and
// the node lifecycle controller, pod garbage collector and disruption controller, which run under
// leader election (Lease kube-system/cell-controller-manager) so that only one API server replica
// acts at a time.
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { ParseError, errorMessage } from '../../shared/errors.js';
import { LeaderElector } from '../../shared/leader-election.js';
import type { Logger } from '../../shared/logging.js';
import type { CustomHandler, ServedResource } from '../http/resources.js';
import { DisruptionController } from './disruption.js';
import { eventRecorder } from './events.js';
import { storeLeaseBackend } from './leader-lease.js';
import { NodeLifecycleController } from './node-lifecycle.js';
import { PodGarbageCollector } from './pod-gc.js';
import { podLogHandler, type AgentAddressAllowList } from './pod-log-proxy.js';

export const CONTROLLER_NAMES = ['nodelifecycle', 'podgc', 'disruption'] as const;
export type ControllerName = (typeof CONTROLLER_NAMES)[number];

export const CONTROLLER_LEASE_NAMESPACE = 'kube-system';
export const CONTROLLER_LEASE_NAME = 'cell-controller-manager';

export interface ControllerOptions {
  /** Which controllers run (default: all). */
  enabled?: readonly ControllerName[];
  /** Kubernetes' --node-monitor-grace-period (default 40 s). */
  nodeMonitorGracePeriodMs?: number;
  /** Kubernetes' --pod-eviction-timeout (default 5 min). */
  podEvictionTimeoutMs?: number;
  /** Kubernetes' --node-monitor-period (default 5 s). */
  nodeMonitorPeriodMs?: number;
  /** How often the pod GC runs (default 20 s, as Kubernetes' PodGC). */
  podGcIntervalMs?: number;
  leaderElection?: { leaseDurationMs?: number; renewDeadlineMs?: number; retryPeriodMs?: number };
  /** Leader-election identity (default: host name + a random suffix). */
  identity?: string;
}

/** Kubernetes' --controllers syntax: `*` (all), names, `-name` to leave one out; e.g. `*,-podgc`. */
export function parseControllers(text: string): ControllerName[] {
  const terms = text.split(',').map((t) => t.trim()).filter(Boolean);
  const known = (n: string): n is ControllerName => (CONTROLLER_NAMES as readonly string[]).includes(n);
  let chosen = new Set<ControllerName>();
  for (const t of terms) {
    if (t === '*') chosen = new Set(CONTROLLER_NAMES);
    else if (t.startsWith('-') && known(t.slice(1))) chosen.delete(t.slice(1) as ControllerName);
    else if (known(t)) chosen.add(t);
    else throw new ParseError(`unknown controller "${t}" (known: ${CONTROLLER_NAMES.join(', ')}; use * for all, -name to exclude)`);
  }
  return CONTROLLER_NAMES.filter((n) => chosen.has(n));
}

export interface AgentIntegrationDeps {
  served(resource: string): ServedResource;
  log: Logger;
  addCustomHandler(key: string, handler: CustomHandler): void;
  /** Undefined: no controllers in this server (only the log proxy). */
  controllers?: ControllerOptions;
  /** Where the log proxy may connect to agents (--agent-address-allow); default AgentAddressAllowList.default(). */
  agentAddressAllow?: AgentAddressAllowList;
}

export interface AgentIntegration {
  readonly elector: LeaderElector | undefined;
  readonly nodeLifecycle: NodeLifecycleController | undefined;
  readonly podGc: PodGarbageCollector | undefined;
  /** Keeps PodDisruptionBudget status current (the eviction subresource spends it). */
  readonly disruption: DisruptionController | undefined;
  /** Stop the controllers and release the leader lease. */
  stop(): Promise<void>;
}

export function installAgentIntegration(d: AgentIntegrationDeps): AgentIntegration {
  d.addCustomHandler('pods/log:GET', podLogHandler({ served: d.served, log: d.log, ...(d.agentAddressAllow ? { agentAddressAllow: d.agentAddressAllow } : {}) }));
  const o = d.controllers;
  const enabled = o ? (o.enabled ?? CONTROLLER_NAMES) : [];
  if (!o || enabled.length === 0) {
    return { elector: undefined, nodeLifecycle: undefined, podGc: undefined, disruption: undefined, stop: async () => undefined };
  }
  const log = d.log.child({ controller: 'controller-manager' });
  const event = eventRecorder(d.served('events').rest, 'node-controller', log);
  const nodeLifecycle = enabled.includes('nodelifecycle')
    ? new NodeLifecycleController(
        {
          nodes: d.served('nodes').rest.objects,
          leases: d.served('leases').rest.objects,
          pods: d.served('pods').rest.objects,
          allocations: d.served('nodeallocations').rest.objects,
          log,
          event,
        },
        {
          gracePeriodMs: o.nodeMonitorGracePeriodMs ?? 40_000,
          podEvictionTimeoutMs: o.podEvictionTimeoutMs ?? 5 * 60_000,
          monitorPeriodMs: o.nodeMonitorPeriodMs ?? 5_000,
        },
      )
    : undefined;
  const podGc = enabled.includes('podgc')
    ? new PodGarbageCollector({ pods: d.served('pods').rest.objects, nodes: d.served('nodes').rest.objects, log }, o.podGcIntervalMs ?? 20_000)
    : undefined;
  const disruption = enabled.includes('disruption')
    ? new DisruptionController({ pods: d.served('pods').rest.objects, budgets: d.served('poddisruptionbudgets').rest.objects, log: log.child({ controller: 'disruption' }) })
    : undefined;

  const stopControllers = async () => {
    await Promise.all([nodeLifecycle?.stop(), podGc?.stop(), disruption?.stop()]);
  };
  const elector = new LeaderElector(storeLeaseBackend(d.served('leases').rest, CONTROLLER_LEASE_NAMESPACE, CONTROLLER_LEASE_NAME), {
    identity: o.identity ?? `${os.hostname()}_${randomUUID()}`,
    ...(o.leaderElection?.leaseDurationMs !== undefined ? { leaseDurationMs: o.leaderElection.leaseDurationMs } : {}),
    ...(o.leaderElection?.renewDeadlineMs !== undefined ? { renewDeadlineMs: o.leaderElection.renewDeadlineMs } : {}),
    ...(o.leaderElection?.retryPeriodMs !== undefined ? { retryPeriodMs: o.leaderElection.retryPeriodMs } : {}),
    log,
    onStartedLeading: () => {
      log.info('starting controllers', { controllers: enabled });
      nodeLifecycle?.start();
      podGc?.start();
      disruption?.start();
    },
    onStoppedLeading: () => {
      log.info('stopping controllers');
      stopControllers().catch((err: unknown) => log.warn('stopping controllers failed', { error: errorMessage(err) }));
    },
  });
  const running = elector.run().catch((err: unknown) => log.error('leader election stopped', { error: errorMessage(err) }));
  return {
    elector,
    nodeLifecycle,
    podGc,
    disruption,
    async stop() {
      await elector.stop();
      await stopControllers();
      await running;
    },
  };
}
