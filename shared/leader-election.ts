// Lease-based leader election (coordination.k8s.io/v1 Lease), as client-go's leaderelection does:
// acquire a free or expired lease with compare-and-swap, renew it every retry period, step down
// when renewals fail for the renew deadline. Expiry is judged by when *this* process last saw the
// lease change, not by the holder's clock, so clock skew between machines does not matter.
// A leader's attempt is bounded by its renew deadline, as client-go's is by its context: a call
// stuck on a silent API server must not keep it leading past the point where another replica may
// take the lease.
// The lease lives wherever the backend keeps it; every process keeps its own through the API
// (shared/client/lease-backend.ts): schedulers and the controller manager alike.
import { formatMicroTime } from './api/meta.js';
import { AlreadyExistsError, ConflictError, errorMessage } from './errors.js';
import type { Logger } from './logging.js';

export interface LeaseState {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface LeaseBackend {
  /** The lease and its resourceVersion, or undefined when it does not exist. */
  get(): Promise<{ spec: LeaseState; resourceVersion: string } | undefined>;
  /** AlreadyExistsError when someone created it first. */
  create(spec: LeaseState): Promise<void>;
  /** ConflictError when it changed since `resourceVersion`. */
  update(spec: LeaseState, resourceVersion: string): Promise<void>;
}

/** client-go's defaults (kube-scheduler's and kube-controller-manager's flags). */
export const DEFAULT_RENEW_DEADLINE_MS = 10_000;
export const DEFAULT_RETRY_PERIOD_MS = 2_000;

/**
 * How long one lease request may take before it is given up (and the next goes to another API
 * server): half the renew deadline, so a leader gets a second try within it, but at least a retry
 * period.
 */
export function leaseRequestTimeoutMs(renewDeadlineMs = DEFAULT_RENEW_DEADLINE_MS, retryPeriodMs = DEFAULT_RETRY_PERIOD_MS): number {
  return Math.max(retryPeriodMs, renewDeadlineMs / 2);
}

export interface LeaderElectionOptions {
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  onStartedLeading(): void;
  onStoppedLeading(): void;
  log?: Logger;
}

export class LeaderElector {
  private leading = false;
  private running = false;
  private observed: { key: string; at: number } | undefined;
  private lastRenew = 0;
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private readonly leaseMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryMs: number;

  constructor(
    private readonly backend: LeaseBackend,
    private readonly opts: LeaderElectionOptions,
  ) {
    this.leaseMs = opts.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? DEFAULT_RENEW_DEADLINE_MS;
    this.retryMs = opts.retryPeriodMs ?? DEFAULT_RETRY_PERIOD_MS;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Try to acquire or renew once. True when we hold the lease afterwards. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    if (!this.running) return false;
    const now = Date.now();
    const nowText = formatMicroTime(new Date(now));
    const current = await this.backend.get();
    const mine: LeaseState = {
      holderIdentity: this.opts.identity,
      leaseDurationSeconds: Math.ceil(this.leaseMs / 1000),
      acquireTime: nowText,
      renewTime: nowText,
      leaseTransitions: 0,
    };
    if (!current) {
      await this.backend.create(mine);
      return true;
    }
    const spec = current.spec;
    const key = `${spec.holderIdentity ?? ''}|${spec.renewTime ?? ''}`;
    if (this.observed?.key !== key) this.observed = { key, at: now };
    const holder = spec.holderIdentity ?? '';
    const duration = (spec.leaseDurationSeconds ?? Math.ceil(this.leaseMs / 1000)) * 1000;
    const expired = holder === '' || now > this.observed.at + duration;
    if (holder !== this.opts.identity && !expired) return false;
    // stop() may have released the lease while we were reading it: do not take it back.
    if (!this.running) return false;
    const next: LeaseState =
      holder === this.opts.identity
        ? { ...spec, renewTime: nowText, leaseDurationSeconds: mine.leaseDurationSeconds }
        : { ...mine, leaseTransitions: (spec.leaseTransitions ?? 0) + 1 };
    await this.backend.update(next, current.resourceVersion);
    this.observed = { key: `${next.holderIdentity ?? ''}|${next.renewTime ?? ''}`, at: now };
    return true;
  }

  private setLeading(leading: boolean): void {
    if (leading === this.leading) return;
    this.leading = leading;
    this.opts.log?.info(leading ? 'became leader' : 'lost leadership', { identity: this.opts.identity });
    if (leading) this.opts.onStartedLeading();
    else this.opts.onStoppedLeading();
  }

  /** Runs until stop(): campaigns, leads, and campaigns again after losing the lease. */
  async run(): Promise<void> {
    this.running = true;
    while (this.running) {
      let ok = false;
      try {
        ok = this.leading ? await this.withinRenewDeadline(this.tryAcquireOrRenew()) : await this.tryAcquireOrRenew();
      } catch (err) {
        if (!(err instanceof ConflictError) && !(err instanceof AlreadyExistsError)) {
          this.opts.log?.warn('leader election attempt failed', { identity: this.opts.identity, error: errorMessage(err) });
        }
      }
      const now = Date.now();
      if (ok) {
        this.lastRenew = now;
        this.setLeading(true);
      } else if (this.leading && now - this.lastRenew > this.renewDeadlineMs) {
        this.setLeading(false);
      }
      if (!this.running) break;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        // Jitter while campaigning so replicas do not all retry together.
        const wait = this.leading ? this.retryMs : this.retryMs * (1 + Math.random() * 0.2);
        this.timer = setTimeout(resolve, wait);
      });
    }
  }

  /**
   * A leader's attempt: should it still be pending at the renew deadline, the leader steps down
   * then (and the attempt's late outcome is what the next round starts from: a renewal that did
   * land means no one else took the lease meanwhile).
   */
  private async withinRenewDeadline(attempt: Promise<boolean>): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'deadline'>((resolve) => {
      timer = setTimeout(() => resolve('deadline'), Math.max(0, this.lastRenew + this.renewDeadlineMs - Date.now()));
    });
    try {
      const first = await Promise.race([attempt, deadline]);
      if (first !== 'deadline') return first;
      this.opts.log?.warn('lease renewal still unanswered at the renew deadline', { identity: this.opts.identity, renewDeadlineMs: this.renewDeadlineMs });
      this.setLeading(false);
      return await attempt;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stop campaigning; a leader releases the lease so another replica takes over at once. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.wake?.();
    if (!this.leading) return;
    // A renewal still in flight can move the lease under us: retry the release against the
    // lease as it is now.
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        const current = await this.backend.get();
        if (current && current.spec.holderIdentity === this.opts.identity) {
          await this.backend.update({ ...current.spec, holderIdentity: '', leaseDurationSeconds: 1 }, current.resourceVersion);
        }
        break;
      } catch (err) {
        if (err instanceof ConflictError && attempt < 4) {
          await new Promise((r) => setTimeout(r, 50));
          continue;
        }
        // Best effort: the lease expires on its own if the release does not land.
        this.opts.log?.warn('could not release the lease', { error: errorMessage(err) });
        break;
      }
    }
    this.setLeading(false);
  }
}
