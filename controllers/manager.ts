// The controller manager: runs the enabled control loops of the catalog while this replica holds
// the Lease (kube-system/cell-controller-manager by default), as kube-controller-manager does.
//   - On winning: a fresh SharedInformers and a fresh instance of every enabled controller (a new
//     leader trusts nothing an earlier term left in memory), each started, then the informers.
//   - On losing the lease (renewals failing for the renew deadline, or another holder): every
//     controller and informer stops, and the manager is done with reason 'lost'. It does not
//     campaign again: cell-controller-manager then exits non-zero, as kube-controller-manager
//     does, and its supervisor (systemd, compose, npm start's launcher) restarts it as a fresh
//     candidate — a process that lost its lease may have been partitioned or paused, and a
//     restart is the simplest way to be sure nothing of the old term is still running.
//   - stop() (SIGTERM): controllers stop first, then the lease is released so another replica
//     takes over at once rather than after the lease duration.
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { ApiClient } from '../shared/client/http-client.js';
import { EventRecorder } from '../shared/client/events.js';
import { ApiLeaseBackend } from '../shared/client/lease-backend.js';
import { ParseError, errorMessage } from '../shared/errors.js';
import { LeaderElector, leaseRequestTimeoutMs } from '../shared/leader-election.js';
import type { Logger } from '../shared/logging.js';
import { CONTROLLERS } from './catalog.js';
import type { ControllerConfig } from './config.js';
import type { Controller, ControllerContext, ControllerDefinition } from './controller.js';
import { SharedInformers } from './informers.js';
import { ControllerManagerMetrics } from './metrics.js';

export const CONTROLLER_MANAGER_LEASE_NAMESPACE = 'kube-system';
export const CONTROLLER_MANAGER_LEASE_NAME = 'cell-controller-manager';

/**
 * Kubernetes' --controllers syntax over the names in `known`: `*` (all), names, `-name` to leave
 * one out, e.g. `*,-podgc`. The result keeps the catalog's order.
 */
export function parseControllers(text: string, known: readonly string[] = CONTROLLERS.map((c) => c.name)): string[] {
  const terms = text.split(',').map((t) => t.trim()).filter(Boolean);
  const chosen = new Set<string>();
  const check = (name: string) => {
    if (!known.includes(name)) throw new ParseError(`unknown controller "${name}" (known: ${known.join(', ')}; use * for all, -name to exclude)`);
  };
  for (const t of terms) {
    if (t === '*') for (const n of known) chosen.add(n);
    else if (t.startsWith('-')) {
      check(t.slice(1));
      chosen.delete(t.slice(1));
    } else {
      check(t);
      chosen.add(t);
    }
  }
  return known.filter((n) => chosen.has(n));
}

export interface LeaderElectionSettings {
  namespace?: string;
  name?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
}

export interface ControllerManagerOptions {
  client: ApiClient;
  log: Logger;
  /** Default: the catalog, controllers/catalog.ts. */
  catalog?: readonly ControllerDefinition[];
  /** Names of the controllers to run (parseControllers); default: all of the catalog. */
  enabled?: readonly string[];
  config?: ControllerConfig;
  /** false: run at once, without a lease (a single replica). Default: elected, with default timings. */
  leaderElection?: LeaderElectionSettings | false;
  /** Leader-election identity; default host name + a random suffix, as kube-controller-manager's. */
  identity?: string;
  metrics?: ControllerManagerMetrics;
}

/** Why the manager finished: leadership lost (the process should exit non-zero), or stop() was called. */
export type ManagerEnd = 'lost' | 'stopped';

export class ControllerManager {
  readonly identity: string;
  readonly metrics: ControllerManagerMetrics;
  /** Resolves once the manager has finished and everything it started has stopped. */
  readonly done: Promise<ManagerEnd>;
  private finish!: (end: ManagerEnd) => void;
  private readonly definitions: ControllerDefinition[];
  private readonly elector: LeaderElector | undefined;
  /** The lease requests' client (o.client with a shorter timeout), closed at the end. */
  private readonly leaseClient: ApiClient | undefined;
  private electorRun: Promise<void> | undefined;
  private controllers: Controller[] = [];
  private informers: SharedInformers | undefined;
  /** Starts and stops of the controllers, one after another. */
  private transition: Promise<void> = Promise.resolve();
  private leading = false;
  private ended = false;
  private readonly leaseName: string;

  constructor(private readonly o: ControllerManagerOptions) {
    this.done = new Promise((resolve) => (this.finish = resolve));
    this.identity = o.identity ?? `${os.hostname()}_${randomUUID()}`;
    this.metrics = o.metrics ?? new ControllerManagerMetrics();
    const catalog = o.catalog ?? CONTROLLERS;
    const enabled = o.enabled ?? catalog.map((d) => d.name);
    this.definitions = catalog.filter((d) => enabled.includes(d.name));
    const le = o.leaderElection;
    this.leaseName = (le !== false ? le?.name : undefined) ?? CONTROLLER_MANAGER_LEASE_NAME;
    this.metrics.leader.set({ name: this.leaseName }, 0);
    if (le === false) return;
    const leaseClient = o.client.withTimeout(leaseRequestTimeoutMs(le?.renewDeadlineMs, le?.retryPeriodMs));
    this.leaseClient = leaseClient;
    this.elector = new LeaderElector(new ApiLeaseBackend(leaseClient, le?.namespace ?? CONTROLLER_MANAGER_LEASE_NAMESPACE, this.leaseName), {
      identity: this.identity,
      ...(le?.leaseDurationMs !== undefined ? { leaseDurationMs: le.leaseDurationMs } : {}),
      ...(le?.renewDeadlineMs !== undefined ? { renewDeadlineMs: le.renewDeadlineMs } : {}),
      ...(le?.retryPeriodMs !== undefined ? { retryPeriodMs: le.retryPeriodMs } : {}),
      log: o.log,
      onStartedLeading: () => this.enqueue(() => this.startControllers()),
      onStoppedLeading: () => {
        if (this.ended) return;
        this.o.log.warn('leader election lost: stopping every controller', { identity: this.identity });
        void this.end('lost');
      },
    });
  }

  /** Whether this replica runs the controllers now. */
  get isLeader(): boolean {
    return this.leading;
  }

  /** The names of the controllers running now. */
  get running(): string[] {
    return this.controllers.map((c) => c.name);
  }

  /** Campaign for the lease (or, without leader election, start the controllers at once). */
  start(): void {
    if (!this.elector) {
      this.enqueue(() => this.startControllers());
      return;
    }
    this.electorRun = this.elector.run().catch((err: unknown) => {
      this.o.log.error('leader election stopped', { error: errorMessage(err) });
      void this.end('lost');
    });
  }

  /** Stop the controllers, then release the lease. */
  async stop(): Promise<void> {
    await this.end('stopped');
  }

  private async end(reason: ManagerEnd): Promise<void> {
    if (this.ended) return this.done.then(() => undefined);
    this.ended = true;
    this.enqueue(() => this.stopControllers());
    await this.transition;
    // Released only once nothing of ours runs; after a loss there is nothing to release.
    await this.elector?.stop();
    await this.electorRun;
    // Its own connections (the lease requests' shorter timeout): the caller owns o.client.
    this.leaseClient?.close();
    this.finish(reason);
  }

  private enqueue(step: () => Promise<void>): void {
    this.transition = this.transition.then(step).catch((err: unknown) => {
      this.o.log.error('controller manager transition failed', { error: errorMessage(err) });
    });
  }

  private async startControllers(): Promise<void> {
    if (this.ended || this.leading) return;
    this.leading = true;
    this.metrics.leader.set({ name: this.leaseName }, 1);
    const log = this.o.log;
    const informers = new SharedInformers(this.o.client, log);
    this.informers = informers;
    const ctx = (name: string): ControllerContext => ({
      client: this.o.client,
      informers,
      log: log.child({ controller: name }),
      events: (component) => new EventRecorder(this.o.client, { component, host: this.identity }, log),
      registry: this.metrics.registry,
      queueMetrics: this.metrics,
      ...(this.o.config ? { config: this.o.config } : {}),
    });
    for (const def of this.definitions) {
      // One controller that cannot start must not keep the others from running: it is logged,
      // and shows as not running in cell_controller_running.
      try {
        const c = def.create(ctx(def.name));
        await c.start();
        this.controllers.push(c);
        this.metrics.running.set({ controller: def.name }, 1);
      } catch (err) {
        this.metrics.running.set({ controller: def.name }, 0);
        log.error('controller failed to start', { controller: def.name, error: errorMessage(err) });
      }
    }
    log.info('started controllers', { controllers: this.running, identity: this.identity });
    // Not awaited: the first lists may take a while, and a stop must not wait behind them.
    void informers.start();
  }

  private async stopControllers(): Promise<void> {
    if (!this.leading) return;
    const controllers = this.controllers;
    this.controllers = [];
    await Promise.all(
      controllers.map(async (c) => {
        try {
          await c.stop();
        } catch (err) {
          this.o.log.warn('controller did not stop cleanly', { controller: c.name, error: errorMessage(err) });
        }
        this.metrics.running.set({ controller: c.name }, 0);
      }),
    );
    await this.informers?.stop();
    this.informers = undefined;
    this.leading = false;
    this.metrics.leader.set({ name: this.leaseName }, 0);
    this.o.log.info('stopped controllers', { identity: this.identity });
  }
}
