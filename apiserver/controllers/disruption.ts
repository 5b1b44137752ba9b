// The disruption controller (Kubernetes' DisruptionController, for the pods cell has): keeps each
// PodDisruptionBudget's status current from the pods it selects in its namespace, so the eviction
// subresource can spend it (apiserver/disruption/budget.ts has the arithmetic).
//
// Event-driven: it follows the pods' and budgets' watch caches, keeps its own index of both by
// namespace, and re-computes only the budgets an event touches (a pod event touches the budgets
// that select the pod before or after it). Granted evictions time out of status.disruptedPods
// after two minutes; a timer per budget re-computes it then. A status is written only when it
// changes, through a compare-and-swap on the stored budget: the status is computed from the
// stored budget's own disruptedPods, so an eviction committed a moment ago is never undone by a
// controller write based on an older view of the budget.
import { isDeepStrictEqual } from 'node:util';
import type { Pod } from '../../shared/api/core.js';
import type { PodDisruptionBudget } from '../../shared/api/policy.js';
import { NotFoundError, errorMessage, type CellError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logging.js';
import { computeStatus, isReady, nextExpiry, selects } from '../disruption/budget.js';
import type { KubeObject } from '../registry/object.js';
import type { ResourceStore } from '../registry/resource-store.js';

export interface DisruptionDeps {
  pods: ResourceStore;
  budgets: ResourceStore;
  log: Logger;
}

/** Delay before a failed budget sync is tried again, and before a lost watch is re-opened. */
const RETRY_MS = 1000;

type Index<T> = Map<string, Map<string, T>>;

function put<T>(index: Index<T>, namespace: string, name: string, obj: T): T | undefined {
  let ns = index.get(namespace);
  if (!ns) index.set(namespace, (ns = new Map()));
  const old = ns.get(name);
  ns.set(name, obj);
  return old;
}

function remove<T>(index: Index<T>, namespace: string, name: string): T | undefined {
  const ns = index.get(namespace);
  const old = ns?.get(name);
  ns?.delete(name);
  if (ns && ns.size === 0) index.delete(namespace);
  return old;
}

/** What of a pod a budget's status depends on; other changes (container statuses, IPs) are ignored. */
function sameForBudgets(a: Pod, b: Pod): boolean {
  return (
    a.metadata.uid === b.metadata.uid &&
    a.status.phase === b.status.phase &&
    isReady(a) === isReady(b) &&
    a.metadata.deletionTimestamp === b.metadata.deletionTimestamp &&
    isDeepStrictEqual(a.metadata.labels ?? {}, b.metadata.labels ?? {})
  );
}

export class DisruptionController {
  private readonly pods: Index<Pod> = new Map();
  private readonly budgets: Index<PodDisruptionBudget> = new Map();
  /** Budgets (`namespace/name`) to re-compute. */
  private readonly dirty = new Set<string>();
  /** Per budget: the timer that re-computes it when its earliest granted eviction times out. */
  private readonly expiries = new Map<string, NodeJS.Timeout>();
  private readonly retries = new Set<NodeJS.Timeout>();
  private stopWatches: (() => void)[] = [];
  private running = false;
  /** Both watches have sent the current state: before that, a budget would be computed on part of its pods. */
  private synced = false;
  private worker: Promise<void> | undefined;
  private generation = 0;

  constructor(private readonly d: DisruptionDeps) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    void this.subscribe();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.generation++;
    this.unsubscribe();
    for (const t of this.expiries.values()) clearTimeout(t);
    this.expiries.clear();
    for (const t of this.retries) clearTimeout(t);
    this.retries.clear();
    await this.worker;
  }

  /** Resolves once every budget marked so far has been synced (tests and shutdown). */
  async idle(): Promise<void> {
    while (this.worker) await this.worker;
  }

  private unsubscribe(): void {
    for (const stop of this.stopWatches) stop();
    this.stopWatches = [];
    this.synced = false;
    this.pods.clear();
    this.budgets.clear();
    this.dirty.clear();
  }

  /** Follow both watch caches from their current state; a watch that ends is re-opened (indexes rebuilt). */
  private async subscribe(): Promise<void> {
    const generation = ++this.generation;
    const lost = (err?: CellError) => {
      if (!this.running || generation !== this.generation) return;
      this.d.log.warn('disruption controller lost a watch; re-reading pods and budgets', { error: err?.message });
      this.generation++;
      this.unsubscribe();
      this.later(() => void this.subscribe());
    };
    const sink = (onEvent: (type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: KubeObject) => void) => ({
      send: (type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: KubeObject) => {
        if (generation === this.generation) onEvent(type, obj);
        return true;
      },
      bookmark: () => undefined,
      close: lost,
    });
    try {
      const everything = (prefix: string) => ({ keyPrefix: prefix, matches: () => true });
      this.stopWatches.push(await this.d.pods.cache.watch(undefined, everything('/pods/'), sink((t, o) => this.onPod(t, o as unknown as Pod))));
      this.stopWatches.push(
        await this.d.budgets.cache.watch(undefined, everything('/poddisruptionbudgets/'), sink((t, o) => this.onBudget(t, o as unknown as PodDisruptionBudget))),
      );
    } catch (err) {
      this.d.log.warn('disruption controller could not watch; retrying', { error: errorMessage(err) });
      lost();
      return;
    }
    if (generation !== this.generation) return;
    this.synced = true;
    for (const [ns, budgets] of this.budgets) for (const name of budgets.keys()) this.dirty.add(`${ns}/${name}`);
    this.kick();
  }

  private onPod(type: 'ADDED' | 'MODIFIED' | 'DELETED', pod: Pod): void {
    const ns = pod.metadata.namespace ?? '';
    const name = pod.metadata.name ?? '';
    const old = type === 'DELETED' ? remove(this.pods, ns, name) : put(this.pods, ns, name, pod);
    if (type !== 'DELETED' && old && sameForBudgets(old, pod)) return;
    for (const [budgetName, budget] of this.budgets.get(ns) ?? []) {
      if (selects(budget, pod) || (old !== undefined && selects(budget, old))) this.dirty.add(`${ns}/${budgetName}`);
    }
    this.kick();
  }

  private onBudget(type: 'ADDED' | 'MODIFIED' | 'DELETED', budget: PodDisruptionBudget): void {
    const ns = budget.metadata.namespace ?? '';
    const name = budget.metadata.name ?? '';
    const key = `${ns}/${name}`;
    if (type === 'DELETED') {
      remove(this.budgets, ns, name);
      clearTimeout(this.expiries.get(key));
      this.expiries.delete(key);
      return;
    }
    put(this.budgets, ns, name, budget);
    this.dirty.add(key);
    this.kick();
  }

  /** Run the worker unless it runs already; events arriving meanwhile are picked up by it. */
  private kick(): void {
    if (!this.synced || !this.running || this.worker || this.dirty.size === 0) return;
    this.worker = this.drain().finally(() => {
      this.worker = undefined;
      this.kick();
    });
  }

  private async drain(): Promise<void> {
    // Let the events of one store batch (a placement, an eviction) all land before computing.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.running && this.dirty.size > 0) {
      const key = this.dirty.values().next().value as string;
      this.dirty.delete(key);
      try {
        await this.sync(key);
      } catch (err) {
        this.d.log.warn('disruption budget sync failed; will retry', { budget: key, error: errorMessage(err) });
        this.later(() => {
          this.dirty.add(key);
          this.kick();
        });
      }
    }
  }

  private later(fn: () => void): void {
    const t = setTimeout(() => {
      this.retries.delete(t);
      if (this.running) fn();
    }, RETRY_MS);
    this.retries.add(t);
  }

  /** Re-compute one budget's status and write it if it changed. */
  private async sync(key: string): Promise<void> {
    const slash = key.indexOf('/');
    const ns = key.slice(0, slash);
    const name = key.slice(slash + 1);
    if (!this.budgets.get(ns)?.has(name)) return;
    const pods = this.pods.get(ns) ?? new Map<string, Pod>();
    let written: PodDisruptionBudget | undefined;
    try {
      written = (await this.d.budgets.update(
        ns,
        name,
        (cur) => {
          const budget = cur as unknown as PodDisruptionBudget;
          const status = computeStatus(budget, pods, Date.now());
          if (isDeepStrictEqual(status, budget.status)) return cur;
          return { ...budget, status } as unknown as KubeObject;
        },
        undefined,
        { keepsCurrent: true },
      )) as unknown as PodDisruptionBudget;
    } catch (err) {
      // Deleted meanwhile: its DELETED event clears it from the index.
      if (err instanceof NotFoundError) return;
      throw err;
    }
    this.scheduleExpiry(key, nextExpiry(written.status.disruptedPods));
  }

  /** Re-compute the budget when its earliest granted eviction times out (replacing any earlier timer). */
  private scheduleExpiry(key: string, at: number | undefined): void {
    clearTimeout(this.expiries.get(key));
    this.expiries.delete(key);
    if (at === undefined || !this.running) return;
    const t = setTimeout(() => {
      this.expiries.delete(key);
      this.dirty.add(key);
      this.kick();
    }, Math.max(0, at - Date.now()) + 50);
    this.expiries.set(key, t);
  }
}
