// A ClusterQueue's reservations are a ledger committed with the admission (DESIGN §3). A write
// hook on Workloads: when a write changes what a workload charges its queue — status.admission
// set or cleared, the workload Finished, Admitted, or deleted — it adds to that write's own
// transaction a compare on the mod revision of the target ClusterQueue and of every other member
// of its cohort (everything the decision read), and a put of the target with
// status.flavorsReservation and status.flavorsUsage moved by the charge's change. Two admitters
// racing for the last unit of a cohort both read the same queues; the second's compare fails and
// it is decided again on the ledger the first wrote — so no number of admitters, on any number of
// API servers, can push a queue past nominalQuota + borrowingLimit, or a cohort past what its
// members lend (shared/queue-fit.ts is the rule).
//
// The decision is taken on this server's watch cache; a stale cache only fails the compares, and
// the retry (`retry`) reads the queues from the store. A refusal on cached state is confirmed on
// the store's state by the guarded-transaction core before it is the answer.
//
// A refusal is 409 Conflict, not quota's 403: ResourceQuota refuses a user's create (Kubernetes'
// answer is 403), while this refuses an admitter's decision taken on a shared ledger that other
// admitters move — like a binding to a node that filled up, the answer is "the state you decided
// on is gone: re-read and decide again". details.causes name each flavor and resource
// (`field: "<flavor>/<resource>"`, reason ExceedsQueueLimit / CohortExhausted / NotCovered).
import type { ClusterQueue, Workload } from '../../shared/api/kueue.js';
import { ConflictError, type FieldCause } from '../../shared/errors.js';
import {
  addFlavorAmounts,
  cohortMembers,
  fits,
  flavorUsageList,
  isZeroFlavorAmounts,
  queueState,
  recordedUsage,
  subtractFlavorAmounts,
  workloadCharge,
  type FlavorAmounts,
  type QueueState,
} from '../../shared/queue-fit.js';
import { Quantity } from '../../shared/quantity.js';
import { ResourceAmounts } from '../../shared/resources.js';
import type { KubeObject } from '../registry/object.js';
import { NO_EFFECTS, type ResourceStore, type WriteEffects, type WriteHook } from '../registry/resource-store.js';
import { revisionOf } from '../storage/resource-version.js';
import type { Compare, TxnOp } from '../storage/store.js';
import { holdsReservations } from '../registry/kueue-strategy.js';


/** How one write moves one queue's two ledgers. */
interface QueueDelta {
  reservation: FlavorAmounts;
  usage: FlavorAmounts;
}

/** A ClusterQueue as read, with the mod revision the write's compare holds it to (0: absent). */
interface ReadQueue {
  cq: ClusterQueue;
  modRevision: number;
}

const wlOf = (obj: KubeObject | undefined) => obj as unknown as Workload | undefined;

/** The change of every queue the write moves (queues it leaves unchanged are not listed). */
export function chargeDeltas(prev: Workload | undefined, next: Workload | undefined): Map<string, QueueDelta> {
  const out = new Map<string, QueueDelta>();
  const apply = (wl: Workload | undefined, sign: 1 | -1) => {
    if (!wl) return;
    for (const which of ['reservation', 'usage'] as const) {
      const charge = workloadCharge(wl, which);
      if (!charge) continue;
      const d = out.get(charge.clusterQueue) ?? { reservation: new Map(), usage: new Map() };
      d[which] = sign > 0 ? addFlavorAmounts(d[which], charge.amounts) : subtractFlavorAmounts(d[which], charge.amounts);
      out.set(charge.clusterQueue, d);
    }
  };
  apply(prev, -1);
  apply(next, 1);
  for (const [name, d] of out) if (isZeroFlavorAmounts(d.reservation) && isZeroFlavorAmounts(d.usage)) out.delete(name);
  return out;
}

/** Only the increases of a change: what must fit. */
function increases(d: FlavorAmounts): FlavorAmounts {
  const out = new Map<string, ResourceAmounts>();
  for (const [flavor, amounts] of d) {
    const up = amounts.names().filter((r) => amounts.get(r) > 0n);
    if (up.length > 0) out.set(flavor, new ResourceAmounts(up.map((r) => [r, amounts.quantity(r)] as const)));
  }
  return out;
}

/** A ledger moved by a change, never below zero (a ledger that would be is already wrong, as the audit says). */
function moved(recorded: FlavorAmounts, change: FlavorAmounts): FlavorAmounts {
  const out = new Map<string, ResourceAmounts>();
  for (const [flavor, amounts] of addFlavorAmounts(recorded, change)) {
    const q = (r: string) => (amounts.get(r) < 0n ? Quantity.fromMilli(0n, amounts.quantity(r).format) : amounts.quantity(r));
    out.set(flavor, new ResourceAmounts(amounts.names().map((r) => [r, q(r)] as const)));
  }
  return out;
}

function refused(wl: Workload, message: string, causes: FieldCause[]): ConflictError {
  const name = wl.metadata.name ?? '';
  return new ConflictError(`Operation cannot be fulfilled on workloads.kueue.x-k8s.io "${name}": ${message}`, { name, group: 'kueue.x-k8s.io', kind: 'workloads' }, causes);
}

/** Reads ClusterQueues from this server's watch cache, or from the store. */
class QueueReader {
  constructor(
    private readonly queues: ResourceStore,
    private readonly fromStore: boolean,
  ) {}

  private held(obj: KubeObject, modRevision?: number): ReadQueue {
    return { cq: obj as unknown as ClusterQueue, modRevision: modRevision ?? revisionOf(Number(obj.metadata.resourceVersion)) };
  }

  async get(name: string): Promise<ReadQueue | undefined> {
    const key = this.queues.key(undefined, name);
    if (!this.fromStore) {
      const obj = this.queues.cache.peek(key);
      return obj ? this.held(obj) : undefined;
    }
    const sv = await this.queues.store.get(key);
    return sv ? this.held(this.queues.decode(sv.value, sv.version), sv.modRevision) : undefined;
  }

  async all(): Promise<ReadQueue[]> {
    if (!this.fromStore) return (await this.queues.cache.list(this.queues.keyPrefix(undefined))).items.map((o) => this.held(o));
    const { items } = await this.queues.store.list(this.queues.keyPrefix(undefined));
    return items.map((sv) => this.held(this.queues.decode(sv.value, sv.version), sv.modRevision));
  }
}

export function workloadLedgerHook(queues: ResourceStore): WriteHook {
  return async (prev, next, retry) => {
    const deltas = chargeDeltas(wlOf(prev), wlOf(next));
    if (deltas.size === 0) return NO_EFFECTS;
    return ledgerEffects(queues, new QueueReader(queues, retry), (wlOf(next) ?? wlOf(prev))!, deltas);
  };
}

async function ledgerEffects(queues: ResourceStore, reader: QueueReader, wl: Workload, deltas: Map<string, QueueDelta>): Promise<WriteEffects> {
  const compares = new Map<string, Compare>();
  const ops: TxnOp[] = [];
  let everything: ReadQueue[] | undefined;
  for (const [name, delta] of deltas) {
    const key = queues.key(undefined, name);
    const target = await reader.get(name);
    const grows = !isZeroFlavorAmounts(increases(delta.reservation));
    if (!target) {
      if (grows) throw refused(wl, `ClusterQueue ${name} not found`, [{ reason: 'QueueNotFound', field: 'status.admission.clusterQueue', message: `ClusterQueue ${name} not found` }]);
      // A release from a queue that is gone (the audit reports such charges): nothing to move,
      // but the write still holds to its absence.
      compares.set(key, { key, modRevision: 0 });
      continue;
    }
    let members: ReadQueue[] = [target];
    if (target.cq.spec.cohort) {
      everything ??= await reader.all();
      const states = everything.map((q) => queueState(q.cq));
      const inCohort = new Set(cohortMembers(states, queueState(target.cq)).map((s) => s.name));
      members = [target, ...everything.filter((q) => q.cq.metadata.name !== name && inCohort.has(q.cq.metadata.name ?? ''))];
    }
    for (const m of members) {
      const k = queues.key(undefined, m.cq.metadata.name ?? '');
      compares.set(k, { key: k, modRevision: m.modRevision });
    }
    if (grows) {
      if (target.cq.metadata.deletionTimestamp) throw refused(wl, `ClusterQueue ${name} is terminating`, [{ reason: 'Terminating', field: 'status.admission.clusterQueue', message: `ClusterQueue ${name} is terminating` }]);
      if (target.cq.spec.stopPolicy && target.cq.spec.stopPolicy !== 'None') {
        throw refused(wl, `ClusterQueue ${name} is stopped (stopPolicy ${target.cq.spec.stopPolicy})`, [{ reason: 'Stopped', field: 'status.admission.clusterQueue', message: `ClusterQueue ${name} is stopped` }]);
      }
      const states: QueueState[] = members.map((m) => queueState(m.cq));
      const result = fits(states, name, increases(delta.reservation));
      if (!result.fits) {
        throw refused(
          wl,
          result.failures.map((f) => f.message).join('; '),
          result.failures.map((f) => ({ reason: f.reason, field: `${f.flavor}/${f.resource}`, message: f.message })),
        );
      }
    }
    const reservation = moved(recordedUsage(target.cq, 'reservation'), delta.reservation);
    const usage = moved(recordedUsage(target.cq, 'usage'), delta.usage);
    const updated: ClusterQueue = {
      ...target.cq,
      status: { ...target.cq.status, flavorsReservation: flavorUsageList(target.cq, reservation), flavorsUsage: flavorUsageList(target.cq, usage) },
    };
    // A queue being deleted goes with the release of its last reservation (registry/kueue-strategy.ts).
    const gone = target.cq.metadata.deletionTimestamp !== undefined && (target.cq.metadata.finalizers ?? []).length === 0 && !holdsReservations(updated);
    ops.push(gone ? { type: 'delete', key } : { type: 'put', key, value: queues.encode(updated as unknown as KubeObject) });
  }
  return { compares: [...compares.values()], ops };
}

/**
 * A ClusterQueue's delete, in its own transaction, while it holds reservations (a delete that
 * raced an admission): refused, and decided again by the client, which then finds it held.
 */
export const clusterQueueDeleteGuard: WriteHook = async (prev, next) => {
  if (next || !prev) return NO_EFFECTS;
  const cq = prev as unknown as ClusterQueue;
  if (holdsReservations(cq)) {
    const name = cq.metadata.name ?? '';
    throw new ConflictError(`Operation cannot be fulfilled on clusterqueues.kueue.x-k8s.io "${name}": it still holds reservations of admitted workloads; try again`, {
      name,
      group: 'kueue.x-k8s.io',
      kind: 'clusterqueues',
    });
  }
  return NO_EFFECTS;
};
