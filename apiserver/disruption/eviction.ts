// The pods/eviction subresource: a graceful pod delete that first asks the pod's disruption budget.
// Kubernetes' rules (registry/core/pod/storage/eviction.go), with one difference that matters: an
// allowed eviction writes the budget's decrement (disruptionsAllowed − 1, the pod in
// status.disruptedPods) and the pod's deletion marking in ONE etcd transaction guarded by both
// objects' revisions (registry/guarded-txn.ts), the way a placement commits with its node ledger.
// Two evictions racing for a budget's last allowed disruption therefore cannot both win: the loser's
// transaction fails on the budget's revision and is decided again on the winner's state (429).
//
//   pod not found                                  404
//   pod finished, Pending or unbound, or already
//   being deleted                                  deleted as a plain delete: no budget is asked
//   no budget selects it                           deleted as a plain delete
//   more than one budget selects it                500
//   the budget's status is older than its spec     429 (the controller has not caught up)
//   the pod is not ready and the budget allows it
//   (AlwaysAllow, or IfHealthyBudget while met)    marked for deletion, the budget untouched
//   disruptionsAllowed < 1                         429 naming the budget
//   otherwise                                      budget spent and pod marked, one transaction
import type { Pod } from '../../shared/api/core.js';
import { formatTime } from '../../shared/api/meta.js';
import { DISRUPTION_BUDGET_CAUSE, type PodDisruptionBudget } from '../../shared/api/policy.js';
import { ConflictError, ForbiddenError, InternalError, NotFoundError, TooManyRequestsError, type CellError, type FieldCause } from '../../shared/errors.js';
import { GuardedTransactions, MAX_GUARDED_BYTES, type Decision, type Snapshot } from '../registry/guarded-txn.js';
import type { KubeObject } from '../registry/object.js';
import type { ResourceStore } from '../registry/resource-store.js';
import { nowTimestamp, type RestResource } from '../registry/rest.js';
import type { Store } from '../storage/store.js';
import { disruptionCondition, isReady, isTerminal, MAX_DISRUPTED_PODS, selects } from '../../shared/disruption-budget.js';

/** Transactions an eviction tries when other writers keep moving the pod or the budget. */
const MAX_ATTEMPTS = 10;
/** Times the whole decision restarts when the pod or its budgets changed under it. */
const MAX_RESTARTS = 3;
/** What Kubernetes suggests to clients when the budget's status lags its spec. */
const STALE_BUDGET_RETRY_SECONDS = 10;

export const BUDGET_VIOLATION_MESSAGE = "Cannot evict pod as it would violate the pod's disruption budget.";
export const MULTIPLE_BUDGETS_MESSAGE = 'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.';

/** 429 TooManyRequests with a DisruptionBudget cause, as Kubernetes refuses an eviction. */
export class DisruptionBudgetError extends TooManyRequestsError {
  override readonly causes: FieldCause[];
  constructor(message: string, retryAfterSeconds: number) {
    super(BUDGET_VIOLATION_MESSAGE, retryAfterSeconds);
    this.causes = [{ reason: DISRUPTION_BUDGET_CAUSE, message, field: '' }];
  }
}

export interface EvictionOptions {
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

/** What one decision on the pod and its budget came to. */
type Outcome =
  /** Committed (or, dry run, would be): the pod is marked, maybe the budget spent. */
  | { kind: 'evicted'; grace: number; uid: string }
  /** The pod no longer needs a budget (finished, unbound, being deleted): a plain delete. */
  | { kind: 'plainDelete' }
  /** The pod or its budget changed in a way that needs the budgets looked up again. */
  | { kind: 'restart' }
  | { kind: 'refused'; error: CellError };

export class Evictor {
  private readonly txns: GuardedTransactions;

  constructor(
    store: Store,
    private readonly pods: RestResource,
    private readonly budgets: ResourceStore,
  ) {
    this.txns = new GuardedTransactions(store);
  }

  /** Evict the pod, or throw the typed error that says why not. */
  async evict(namespace: string, name: string, opts: EvictionOptions): Promise<void> {
    for (let restart = 0; ; restart++) {
      const pod = (await this.pods.objects.get(namespace, name)) as unknown as Pod;
      if (needsNoBudget(pod)) return this.plainDelete(namespace, name, opts);
      const budgets = await this.budgetsFor(pod);
      if (budgets.length > 1) throw new InternalError(`Internal error occurred: ${MULTIPLE_BUDGETS_MESSAGE}`);
      const budget = budgets[0];
      if (budget === undefined) return this.plainDelete(namespace, name, opts);

      const outcome = await this.guarded(pod, budget, opts);
      switch (outcome.kind) {
        case 'evicted':
          // A zero grace period: the pod was marked with the budget; the rest delete removes it
          // now (releasing its node allocation in the same transaction, as any delete does).
          if (outcome.grace === 0 && !opts.dryRun) await this.completeDeletion(namespace, name, outcome.uid);
          return;
        case 'plainDelete':
          return this.plainDelete(namespace, name, opts);
        case 'refused':
          throw outcome.error;
        case 'restart':
          if (restart >= MAX_RESTARTS) throw this.conflict(name, 'the pod or its disruption budget kept changing');
      }
    }
  }

  private async completeDeletion(namespace: string, name: string, uid: string): Promise<void> {
    try {
      await this.pods.delete(namespace, name, { gracePeriodSeconds: 0, preconditions: { uid } });
    } catch (err) {
      // Someone (the agent, the pod GC) completed it first: the outcome the eviction asked for.
      if (!(err instanceof NotFoundError)) throw err;
    }
  }

  /** The budgets of the pod's namespace that select it, read consistently from the store. */
  private async budgetsFor(pod: Pod): Promise<PodDisruptionBudget[]> {
    const page = await this.budgets.list({ namespace: pod.metadata.namespace ?? '' });
    return (page.items as unknown as PodDisruptionBudget[]).filter((b) => selects(b, pod));
  }

  private async plainDelete(namespace: string, name: string, opts: EvictionOptions): Promise<void> {
    await this.pods.delete(namespace, name, {
      ...(opts.gracePeriodSeconds !== undefined ? { gracePeriodSeconds: opts.gracePeriodSeconds } : {}),
      ...(opts.preconditions ? { preconditions: opts.preconditions } : {}),
      ...(opts.dryRun ? { dryRun: true } : {}),
    });
  }

  private conflict(name: string, why: string): ConflictError {
    return new ConflictError(`Operation cannot be fulfilled on pods/eviction "${name}": ${why}; please try again`, { name, kind: 'pods' });
  }

  /** The pod marked and (when the budget is asked) the budget spent, in one guarded transaction. */
  private async guarded(seen: Pod, seenBudget: PodDisruptionBudget, opts: EvictionOptions): Promise<Outcome> {
    const namespace = seen.metadata.namespace ?? '';
    const name = seen.metadata.name ?? '';
    const budgetName = seenBudget.metadata.name ?? '';
    const podKey = this.pods.objects.key(namespace, name);
    const budgetKey = this.budgets.key(namespace, budgetName);

    const decide = (state: Snapshot): Decision<Outcome> => {
      const refuse = (outcome: Outcome): Decision<Outcome> => ({ writes: [], refused: true, finish: () => outcome });
      const podHeld = state.get(podKey);
      if (!podHeld) return refuse({ kind: 'refused', error: this.pods.objects.notFound(name) });
      // Never mutated: the snapshot's objects may be the watch cache's own.
      const pod = podHeld.obj as unknown as Pod;
      const pre = opts.preconditions;
      if (pre?.uid && pre.uid !== pod.metadata.uid) {
        return refuse({ kind: 'refused', error: this.conflict(name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${pod.metadata.uid ?? ''}`) });
      }
      if (pre?.resourceVersion && pre.resourceVersion !== pod.metadata.resourceVersion) {
        return refuse({
          kind: 'refused',
          error: this.conflict(name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${pod.metadata.resourceVersion ?? ''}`),
        });
      }
      if (needsNoBudget(pod)) return refuse({ kind: 'plainDelete' });
      const budgetHeld = state.get(budgetKey);
      const budget = budgetHeld?.obj as unknown as PodDisruptionBudget | undefined;
      // Deleted, replaced or re-selected since the lookup: look the pod's budgets up again.
      if (!budget || budget.metadata.uid !== seenBudget.metadata.uid || !selects(budget, pod) || pod.metadata.uid !== seen.metadata.uid) {
        return refuse({ kind: 'restart' });
      }

      const grace = this.pods.strategy.gracePeriod?.(pod as unknown as KubeObject, opts.gracePeriodSeconds) ?? 0;
      const now = Date.now();
      const marked: Pod = {
        ...pod,
        // Exactly what rest.ts's graceful delete sets on a bound, running pod.
        metadata: { ...pod.metadata, deletionTimestamp: nowTimestamp(now + grace * 1000), deletionGracePeriodSeconds: grace },
      };
      const podWrite = { objects: this.pods.objects, key: podKey, obj: marked as unknown as KubeObject };
      const evicted: Outcome = { kind: 'evicted', grace, uid: pod.metadata.uid ?? '' };
      const done = (): Outcome => evicted;

      // A pod that is not ready does not count as healthy: evicting it spends nothing, when the
      // budget's policy allows it (AlwaysAllow, or IfHealthyBudget while the budget is met).
      const s = budget.status;
      if (!isReady(pod)) {
        const policy = budget.spec.unhealthyPodEvictionPolicy ?? 'IfHealthyBudget';
        if (policy === 'AlwaysAllow' || (s.currentHealthy >= s.desiredHealthy && s.desiredHealthy > 0)) {
          return { writes: [podWrite], refused: false, finish: done };
        }
      }
      const generation = budget.metadata.generation ?? 1;
      if ((s.observedGeneration ?? 0) < generation) {
        return refuse({ kind: 'refused', error: new DisruptionBudgetError(`The disruption budget ${budgetName} is still being processed by the server.`, STALE_BUDGET_RETRY_SECONDS) });
      }
      if (s.disruptionsAllowed < 0) {
        return refuse({ kind: 'refused', error: new ForbiddenError(`poddisruptionbudgets.policy "${budgetName}" is forbidden: pdb disruptions allowed is negative`, { name: budgetName, group: 'policy', kind: 'poddisruptionbudgets' }) });
      }
      if (Object.keys(s.disruptedPods ?? {}).length > MAX_DISRUPTED_PODS) {
        return refuse({
          kind: 'refused',
          error: new ForbiddenError(`poddisruptionbudgets.policy "${budgetName}" is forbidden: DisruptedPods map too big - too many evictions not confirmed by PDB controller`, { name: budgetName, group: 'policy', kind: 'poddisruptionbudgets' }),
        });
      }
      if (s.disruptionsAllowed === 0) {
        return refuse({
          kind: 'refused',
          error: new DisruptionBudgetError(`The disruption budget ${budgetName} needs ${s.desiredHealthy} healthy pods and has ${s.currentHealthy} currently`, 0),
        });
      }
      const allowed = s.disruptionsAllowed - 1;
      const spent: PodDisruptionBudget = {
        ...budget,
        status: {
          ...s,
          disruptionsAllowed: allowed,
          disruptedPods: { ...s.disruptedPods, [name]: formatTime(new Date(now)) },
          conditions: disruptionCondition(allowed, s.observedGeneration, s.conditions, now),
        },
      };
      return {
        writes: [podWrite, { objects: this.budgets, key: budgetKey, obj: spent as unknown as KubeObject }],
        refused: false,
        finish: done,
      };
    };

    const outcome = await this.txns.run([{ objects: this.pods.objects, key: podKey }, { objects: this.budgets, key: budgetKey }], decide, {
      maxAttempts: MAX_ATTEMPTS,
      maxBytes: MAX_GUARDED_BYTES,
      ...(opts.dryRun ? { dryRun: true } : {}),
    });
    switch (outcome.kind) {
      case 'done':
        return outcome.result;
      case 'gaveUp':
        return { kind: 'refused', error: this.conflict(name, `gave up after ${outcome.attempts} attempts: the pod or its disruption budget kept changing`) };
      case 'tooLarge':
        return { kind: 'refused', error: new InternalError(`the eviction of pod ${namespace}/${name} does not fit one store request (${outcome.bytes} bytes)`) };
    }
  }
}

/** Kubernetes' canIgnorePDB: nothing a budget protects is lost by deleting these. */
export function needsNoBudget(pod: Pod): boolean {
  return isTerminal(pod) || pod.status.phase === 'Pending' || !pod.spec.nodeName || pod.metadata.deletionTimestamp !== undefined;
}
