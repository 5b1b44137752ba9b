// Running the controller manager in tests: in-process (a ControllerManager over a real API client,
// for tests about what the controllers do) or as the real `cell-controller-manager` process (for
// tests about the process, and clusters of processes: HA, chaos).
import type { ChildProcess } from 'node:child_process';
import type { ControllerContext, ControllerDefinition } from '../../controllers/controller.js';
import { SharedInformers } from '../../controllers/informers.js';
import { ControllerManager, type LeaderElectionSettings } from '../../controllers/manager.js';
import { ControllerManagerMetrics } from '../../controllers/metrics.js';
import { EventRecorder } from '../../shared/client/events.js';
import type { Logger } from '../../shared/logging.js';
import type { ControllerConfig } from '../../controllers/config.js';
import { ApiClient } from '../../shared/client/http-client.js';
import { createLogger } from '../../shared/logging.js';
import { spawnCellProcess, waitUntilAnswers } from '../harness/child-process.js';
import { programArgs } from '../harness/entrypoint.js';
import { freePort } from '../harness/ports.js';

/**
 * What the manager hands a controller, for tests that run one controller in-process without a
 * manager: shared informers over `client` (start them after the controller), Events, and metrics
 * in a registry of the test's own (`context.registry`).
 */
export function testControllerContext(client: ApiClient, log: Logger, informers = new SharedInformers(client, log)): ControllerContext {
  const metrics = new ControllerManagerMetrics();
  return { client, informers, log, events: (component) => new EventRecorder(client, { component }, log), registry: metrics.registry, queueMetrics: metrics };
}

/**
 * Some of the manager's controllers in-process, sharing informers as the manager would run them,
 * for tests about what those controllers do; `stop` stops them and their informers.
 */
export async function startControllers(client: ApiClient, definitions: readonly ControllerDefinition[], config?: ControllerConfig, name = 'controllers-test'): Promise<{ stop(): Promise<void> }> {
  const log = createLogger(name, 'error');
  const informers = new SharedInformers(client, log);
  const ctx = { ...testControllerContext(client, log, informers), ...(config ? { config } : {}) };
  const controllers = definitions.map((d) => d.create(ctx));
  for (const c of controllers) await c.start();
  await informers.start();
  return {
    async stop() {
      for (const c of controllers) await c.stop();
      await informers.stop();
    },
  };
}

/** Lease timings short enough for a test to see a handover. */
export const FAST_LEADER_ELECTION: LeaderElectionSettings = { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 250 };

export interface TestControllerManager {
  manager: ControllerManager;
  client: ApiClient;
  /** Stops the manager (releasing its lease) and closes its client. */
  stop(): Promise<void>;
}

/** A started in-process manager against `url` (admin `token` when the server authenticates). */
export function startTestControllerManager(
  url: string,
  o: { token?: string; enabled?: string[]; config?: ControllerConfig; identity?: string; leaderElection?: LeaderElectionSettings | false; logLevel?: 'error' | 'warn' | 'info' | 'debug' } = {},
): TestControllerManager {
  const client = new ApiClient({ servers: [url], ...(o.token ? { token: o.token } : {}), userAgent: 'cell-controller-manager/test' });
  const manager = new ControllerManager({
    client,
    log: createLogger('controller-manager', o.logLevel ?? 'error'),
    ...(o.enabled ? { enabled: o.enabled } : {}),
    ...(o.config ? { config: o.config } : {}),
    ...(o.identity ? { identity: o.identity } : {}),
    leaderElection: o.leaderElection ?? FAST_LEADER_ELECTION,
  });
  manager.start();
  return {
    manager,
    client,
    async stop() {
      await manager.stop();
      client.close();
    },
  };
}

export interface ControllerManagerProcess {
  child: ChildProcess;
  /** Where /healthz and /metrics are served. */
  url: string;
  output(): string;
  /** Resolves to the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** Send `signal` and wait for the exit; SIGKILL after `killAfterMs`. */
  stop(signal?: NodeJS.Signals, killAfterMs?: number): Promise<number | null>;
}

/** The real process (`node --import tsx controllers/main.ts`, or dist/ with fromDist), once /healthz answers. */
export async function startControllerManagerProcess(o: { server: string; args?: string[]; nodeArgs?: string[]; fromDist?: boolean; logLevel?: string; env?: NodeJS.ProcessEnv }): Promise<ControllerManagerProcess> {
  const port = await freePort();
  const args = [
    ...programArgs('controllers', o.nodeArgs ?? [], o.fromDist ? 'dist' : undefined),
    `--server=${o.server}`,
    `--port=${port}`,
    `--log-level=${o.logLevel ?? 'warn'}`,
    ...(o.args ?? []),
  ];
  const handle = spawnCellProcess(args, o.env);
  const url = `http://127.0.0.1:${port}`;
  await waitUntilAnswers(handle, `${url}/healthz`, 'cell-controller-manager', 60_000);
  return { child: handle.child, url, output: handle.output, exited: handle.exited, stop: handle.stop };
}
