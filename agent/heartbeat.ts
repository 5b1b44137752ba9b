// Node heartbeats: the node's Lease in `kube-node-lease` (holder = node name), renewed every
// heartbeat interval. The node lifecycle controller judges a node by when it last saw this Lease
// change. Renewal is a compare-and-swap PUT of the last Lease seen; on a conflict the Lease is
// re-read, and a missing Lease is re-created.
import { NODE_LEASE_NAMESPACE, type Lease } from '../shared/api/coordination.js';
import { formatMicroTime } from '../shared/api/meta.js';
import type { ApiClient, ResourceRef } from '../shared/client/http-client.js';
import { AlreadyExistsError, ConflictError, NotFoundError, errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logging.js';
import type { AgentMetrics } from './metrics.js';

export class NodeLease {
  private lease: Lease | undefined;

  constructor(
    private readonly client: ApiClient,
    readonly nodeName: string,
    private readonly durationSeconds: number,
    /** The Node's uid, for the Lease's ownerReference (deleting the Node orphans nothing). */
    private nodeUid?: string,
  ) {}

  private get ref(): ResourceRef {
    return { group: 'coordination.k8s.io', version: 'v1', namespace: NODE_LEASE_NAMESPACE, resource: 'leases', name: this.nodeName };
  }

  setNodeUid(uid: string | undefined): void {
    this.nodeUid = uid;
  }

  private fresh(now: string): Lease {
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: this.nodeName,
        namespace: NODE_LEASE_NAMESPACE,
        ...(this.nodeUid ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: this.nodeName, uid: this.nodeUid }] } : {}),
      },
      spec: { holderIdentity: this.nodeName, leaseDurationSeconds: this.durationSeconds, renewTime: now },
    };
  }

  private async createOrGet(now: string): Promise<{ lease: Lease; created: boolean }> {
    try {
      return { lease: await this.client.create<Lease>({ ...this.ref, name: undefined }, this.fresh(now)), created: true };
    } catch (err) {
      if (!(err instanceof AlreadyExistsError)) throw err;
      return { lease: await this.client.get<Lease>(this.ref), created: false };
    }
  }

  /** One renewal (create when missing). */
  async renew(): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const now = formatMicroTime(new Date());
      if (!this.lease) {
        const got = await this.createOrGet(now);
        this.lease = got.lease;
        // Just created: that was the renewal.
        if (got.created) return;
      }
      const current = this.lease;
      try {
        this.lease = await this.client.update<Lease>(this.ref, {
          ...current,
          spec: { ...current.spec, holderIdentity: this.nodeName, leaseDurationSeconds: this.durationSeconds, renewTime: now },
        });
        return;
      } catch (err) {
        if (err instanceof ConflictError) this.lease = await this.client.get<Lease>(this.ref);
        else if (err instanceof NotFoundError) this.lease = undefined;
        else throw err;
      }
    }
    throw new ConflictError(`could not renew lease ${NODE_LEASE_NAMESPACE}/${this.nodeName}: it kept changing`);
  }
}

/**
 * The request timeout of lease renewals: a heartbeat interval, but not under 2 s (a short test
 * interval must not turn a loaded server's slow answer into a failure).
 */
export function heartbeatTimeoutMs(heartbeatIntervalMs: number): number {
  return Math.max(2_000, heartbeatIntervalMs);
}

/** Renews one Lease every interval, sooner after a failure. */
export class Heartbeat {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly lease: NodeLease,
    private readonly intervalMs: number,
    private readonly log: Logger,
    private readonly metrics: AgentMetrics,
  ) {}

  start(): void {
    void this.beat();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private async beat(): Promise<void> {
    if (this.stopped) return;
    const end = this.metrics.leaseRenewDuration.startTimer();
    let next = this.intervalMs;
    try {
      await this.lease.renew();
      this.metrics.leaseRenewals.inc({ result: 'ok' });
    } catch (err) {
      this.metrics.leaseRenewals.inc({ result: 'error' });
      next = Math.min(this.intervalMs, 1000);
      this.log.warn('lease renewal failed', { node: this.lease.nodeName, error: errorMessage(err), retryInMs: next });
    } finally {
      end();
    }
    if (!this.stopped) this.timer = setTimeout(() => void this.beat(), next);
  }
}
