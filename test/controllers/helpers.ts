// Running the controller manager in tests: in-process (a ControllerManager over a real API client,
// for tests about what the controllers do) or as the real `cell-controller-manager` process (for
// tests about the process, and clusters of processes: HA, chaos).
import { spawn, type ChildProcess } from 'node:child_process';
import type { ControllerContext } from '../../controllers/controller.js';
import { SharedInformers } from '../../controllers/informers.js';
import { ControllerManager, type LeaderElectionSettings } from '../../controllers/manager.js';
import { ControllerManagerMetrics } from '../../controllers/metrics.js';
import { EventRecorder } from '../../shared/client/events.js';
import type { Logger } from '../../shared/logging.js';
import type { ControllerConfig } from '../../controllers/config.js';
import { ApiClient } from '../../shared/client/http-client.js';
import { createLogger } from '../../shared/logging.js';
import { programArgs, REPO_ROOT } from '../harness/entrypoint.js';
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

const MAX_OUTPUT = 64 * 1024;

/** The real process (`node --import tsx controllers/main.ts`, or dist/ with fromDist), once /healthz answers. */
export async function startControllerManagerProcess(o: { server: string; args?: string[]; fromDist?: boolean; logLevel?: string; env?: NodeJS.ProcessEnv }): Promise<ControllerManagerProcess> {
  const port = await freePort();
  const args = [
    ...programArgs('controllers', [], o.fromDist ? 'dist' : undefined),
    `--server=${o.server}`,
    `--port=${port}`,
    `--log-level=${o.logLevel ?? 'warn'}`,
    ...(o.args ?? []),
  ];
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env: o.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: string) => {
    out += d;
    if (out.length > MAX_OUTPUT) out = out.slice(out.length - MAX_OUTPUT);
  };
  child.stdout?.setEncoding('utf8').on('data', keep);
  child.stderr?.setEncoding('utf8').on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  const proc: ControllerManagerProcess = {
    child,
    url,
    output: () => out,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM', killAfterMs = 15_000) {
      if (gone()) return child.exitCode;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (gone()) throw new Error(`cell-controller-manager exited (code ${child.exitCode}, signal ${child.signalCode}) before it answered /healthz:\n${out}`);
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return proc;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await proc.stop('SIGKILL');
      throw new Error(`cell-controller-manager did not answer /healthz within 60 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
