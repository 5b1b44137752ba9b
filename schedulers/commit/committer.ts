// Bind, the last step: decided pods are committed through the API server's optimistic placement
// (DESIGN §3). One pod goes as a Binding; several go as one Incremental Placement (up to the
// profile's batchSize), which the server commits in as few etcd transactions as its limits allow —
// the way throughput goes past etcd's per-transaction rate. A gang goes as one AllOrNothing
// Placement. Pods are batched while earlier commits are in flight (at most maxInFlight at once),
// so a busy scheduler sends full batches and an idle one sends each pod at once.
import { performance } from 'node:perf_hooks';
import { ALLOCATION_RESOURCE_VERSION_ANNOTATION } from '../../shared/api/core.js';
import { ALLOCATION_VERSION_CAUSE, type Placement, type PlacementBinding, type PlacementOutcome, type PlacementReason } from '../../shared/api/scheduling.js';
import type { ApiClient } from '../../shared/client/http-client.js';
import { CellError, ConflictError, NotFoundError, errorMessage } from '../../shared/errors.js';
import type { Logger } from '../../shared/logging.js';
import type { CycleContext } from '../framework/cycle.js';
import type { ConflictReason, SchedulerMetrics } from '../metrics.js';

/** A pod decided onto a node (assumed there), waiting for its commit. */
export interface Decision {
  readonly ctx: CycleContext;
  readonly nodeName: string;
  /** The ledger version the decision read (sent in coarse mode). */
  readonly allocationResourceVersion: string | undefined;
  /** performance.now() when the attempt began. */
  readonly startedAt: number;
}

export type CommitOutcome =
  | { readonly outcome: 'Bound' }
  | {
      readonly outcome: 'Conflict';
      readonly reason: ConflictReason;
      readonly message: string;
      /** The ledger version the server refused on, when it says (shared/api/scheduling.ts). */
      readonly allocationResourceVersion: string | undefined;
    }
  | { readonly outcome: Exclude<PlacementOutcome, 'Bound' | 'Conflict'> | 'Error'; readonly message: string };

export interface CommitterOptions {
  client: ApiClient;
  conflictMode: 'fine' | 'coarse';
  batchSize: number;
  maxInFlight: number;
  metrics: SchedulerMetrics;
  log: Logger;
  /** The commit carrying these decisions is on its way. */
  onSent(d: Decision): void;
  onResult(d: Decision, result: CommitOutcome): void;
}

type CommitKind = 'binding' | 'placement' | 'gang';

/** Which conflict it was, from the reason the API server gives (never from its wording). */
export function conflictReason(reason: string | undefined): ConflictReason {
  switch (reason as PlacementReason | undefined) {
    case 'PodTaken':
      return 'pod-taken';
    case 'PodChanged':
      return 'pod-changed';
    case 'LedgerMoved':
      return 'allocation-changed';
    default:
      return 'insufficient';
  }
}

/** A refused Binding's reason and ledger version, from its 409 Status causes. */
function bindingConflict(err: ConflictError): { reason: ConflictReason; allocationResourceVersion: string | undefined } {
  return {
    reason: conflictReason(err.causes[0]?.reason),
    allocationResourceVersion: err.causes.find((c) => c.reason === ALLOCATION_VERSION_CAUSE)?.message,
  };
}

export class Committer {
  private batch: Decision[] = [];
  private inFlight = 0;
  private readonly running = new Set<Promise<void>>();
  private roomWaiters: (() => void)[] = [];

  constructor(private readonly opts: CommitterOptions) {}

  /** Decided pods not sent yet. */
  get backlog(): number {
    return this.batch.length;
  }

  /** Whether deciding more pods now would only pile them up. */
  get saturated(): boolean {
    return this.inFlight >= this.opts.maxInFlight && this.batch.length >= this.opts.batchSize;
  }

  add(d: Decision): void {
    this.batch.push(d);
    if (this.batch.length >= this.opts.batchSize) this.flush();
  }

  /** Send what is batched, as far as the in-flight limit allows. */
  flush(): void {
    while (this.batch.length > 0 && this.inFlight < this.opts.maxInFlight) {
      const chunk = this.batch.splice(0, this.opts.batchSize);
      this.send(chunk, chunk.length === 1 ? 'binding' : 'placement');
    }
  }

  /** A gang: all or none, in one request, sent at once. */
  commitGroup(decisions: Decision[]): void {
    this.send(decisions, 'gang');
  }

  /** Resolves once deciding more pods makes sense again. */
  async waitForRoom(): Promise<void> {
    while (this.saturated) await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
  }

  /** Send everything and wait for every outcome (shutdown). */
  async drain(): Promise<void> {
    for (;;) {
      this.flush();
      if (this.running.size === 0 && this.batch.length === 0) return;
      await Promise.race([...this.running]);
    }
  }

  private send(chunk: Decision[], kind: CommitKind): void {
    this.inFlight++;
    for (const d of chunk) this.opts.onSent(d);
    const started = performance.now();
    const p = this.commit(chunk, kind)
      .then(
        (outcomes) => {
          this.opts.metrics.commits.inc({ kind, outcome: outcomes.every((o) => o.outcome === 'Bound') ? 'bound' : 'partial' });
          chunk.forEach((d, i) => this.opts.onResult(d, outcomes[i]!));
        },
        (err: unknown) => {
          this.opts.metrics.commits.inc({ kind, outcome: 'error' });
          this.opts.log.warn('commit failed', { kind, pods: chunk.length, error: errorMessage(err) });
          for (const d of chunk) this.opts.onResult(d, { outcome: 'Error', message: errorMessage(err) });
        },
      )
      .finally(() => {
        this.opts.metrics.commitDuration.observe({ kind }, (performance.now() - started) / 1000);
        this.opts.metrics.commitBatchSize.observe(chunk.length);
        this.inFlight--;
        this.running.delete(p);
        this.flush();
        const waiters = this.roomWaiters;
        this.roomWaiters = [];
        for (const w of waiters) w();
      });
    this.running.add(p);
  }

  private async commit(chunk: Decision[], kind: CommitKind): Promise<CommitOutcome[]> {
    if (kind === 'binding') return [await this.bindOne(chunk[0]!)];
    const coarse = this.opts.conflictMode === 'coarse';
    const bindings: PlacementBinding[] = chunk.map((d) => {
      const pod = d.ctx.pod;
      return {
        podNamespace: pod.namespace,
        podName: pod.name,
        podUID: pod.uid,
        nodeName: d.nodeName,
        ...(coarse && d.allocationResourceVersion !== undefined ? { allocationResourceVersion: d.allocationResourceVersion } : {}),
      };
    });
    const body = {
      apiVersion: 'scheduling.cell.dev/v1alpha1',
      kind: 'Placement',
      spec: { mode: kind === 'gang' ? 'AllOrNothing' : 'Incremental', conflictMode: coarse ? 'Coarse' : 'Fine', bindings },
    };
    const res = await this.opts.client.create<Placement>({ group: 'scheduling.cell.dev', version: 'v1alpha1', resource: 'placements' }, body);
    const results = res.status?.results ?? [];
    return chunk.map((_, i): CommitOutcome => {
      const r = results[i];
      if (!r) return { outcome: 'Error', message: 'the placement response has no result for this binding' };
      const message = r.message ?? '';
      if (r.outcome === 'Bound') return { outcome: 'Bound' };
      if (r.outcome === 'Conflict') return { outcome: 'Conflict', reason: conflictReason(r.reason), message, allocationResourceVersion: r.allocationResourceVersion };
      return { outcome: r.outcome, message };
    });
  }

  private async bindOne(d: Decision): Promise<CommitOutcome> {
    const pod = d.ctx.pod;
    const coarse = this.opts.conflictMode === 'coarse' && d.allocationResourceVersion !== undefined;
    const body = {
      apiVersion: 'v1',
      kind: 'Binding',
      // metadata.uid pins the pod's incarnation, as in Kubernetes: a pod re-created meanwhile is not bound.
      metadata: {
        name: pod.name,
        namespace: pod.namespace,
        uid: pod.uid,
        ...(coarse ? { annotations: { [ALLOCATION_RESOURCE_VERSION_ANNOTATION]: d.allocationResourceVersion } } : {}),
      },
      target: { apiVersion: 'v1', kind: 'Node', name: d.nodeName },
    };
    try {
      await this.opts.client.create({ namespace: pod.namespace, resource: 'pods', name: pod.name, subresource: 'binding' }, body);
      return { outcome: 'Bound' };
    } catch (err) {
      if (err instanceof ConflictError) return { outcome: 'Conflict', ...bindingConflict(err), message: err.message };
      if (err instanceof NotFoundError) return { outcome: 'NotFound', message: err.message };
      if (err instanceof CellError && err.code === 422) return { outcome: 'Invalid', message: err.message };
      throw err;
    }
  }
}
