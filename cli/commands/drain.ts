// `cellctl drain NODE`: cordon the node, evict every pod bound to it through the pods/eviction
// subresource (so PodDisruptionBudgets are honoured), and wait for them to be gone, showing
// progress, then a summary.
//
// Semantics (kubectl drain's, for what cell has):
//  - Each pod is evicted with `--grace-period` seconds (default: the pod's own
//    terminationGracePeriodSeconds). An evicted bound pod then stays, Terminating, until the node's
//    agent confirms it stopped; `--grace-period=0` deletes it at once without that confirmation.
//  - An eviction a disruption budget refuses (429) is retried every 5 s, as kubectl does, printing
//    kubectl's line (`error when evicting pods/"x" -n "ns" (will retry after 5s): …`) and the budget
//    that blocks it; other refusals are reported once and not retried.
//  - Pods of a DaemonSet that still exists are not evicted: its controller would make them again
//    at once (daemon pods tolerate the cordon). Without --ignore-daemonsets drain refuses, naming
//    them, as kubectl does; with it, they are listed as ignored and left running.
//  - drain waits at most `--timeout` (default 5m) for the evictions to be allowed and the pods to
//    disappear. If some are still blocked or terminating then, drain lists them and exits 1, as
//    kubectl drain does on timeout. The node stays cordoned and the evictions already granted stay
//    in effect: running drain again picks up where it stopped.
import type { Node, Pod } from '../../shared/api/core.js';
import type { PodDisruptionBudget } from '../../shared/api/policy.js';
import { daemonSetsResource, nodesResource, podDisruptionBudgetsResource, podsResource } from '../../shared/api/registry.js';
import type { DaemonSet } from '../../shared/api/apps.js';
import { parseDuration, humanDuration } from '../../shared/duration.js';
import { ForbiddenError, NotFoundError, TooManyRequestsError } from '../../shared/errors.js';
import { escapeFieldValue } from '../../shared/fields.js';
import { labelSelectorFromSpec } from '../../shared/labels.js';
import type { Cli } from '../context.js';
import { UsageError, WaitTimeoutError } from '../errors.js';
import { refFor } from '../resources.js';
import { setUnschedulable } from './cordon.js';
import { gracePeriodOf, IMMEDIATE_DELETION_WARNING } from './delete.js';
import { reportItemError } from './write-options.js';

export interface DrainOptions {
  gracePeriod?: string;
  timeout?: string;
  podSelector?: string;
  ignoreDaemonsets?: boolean;
}

const POLL_MS = 500;
/** How long a pod a disruption budget protects waits before its eviction is tried again (kubectl's 5 s). */
const EVICTION_RETRY_MS = 5000;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function podKey(p: Pod): string {
  return `${p.metadata.namespace ?? ''}/${p.metadata.name ?? ''}`;
}

function podId(p: Pod): string {
  return p.metadata.uid ?? podKey(p);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** A progress line redrawn in place on a terminal; plain lines elsewhere. */
class Progress {
  private shown = false;
  constructor(private readonly cli: Cli) {}

  line(text: string): void {
    this.clear();
    this.cli.print(`${text}\n`);
  }

  status(text: string): void {
    if (!this.cli.stdoutIsTTY) return;
    this.clear();
    this.cli.print(this.cli.out.dim(text));
    this.shown = true;
  }

  clear(): void {
    if (this.shown) this.cli.print('\r\u001b[K');
    this.shown = false;
  }
}

/** What became of one eviction request. */
type Attempt = 'evicted' | 'gone' | 'blocked' | 'failed';

export async function runDrain(cli: Cli, args: string[], o: DrainOptions): Promise<number> {
  if (args.length !== 1) throw new UsageError('expected exactly one NODE: cellctl drain NODE');
  const name = args[0]!.replace(/^(nodes?|no)\//, '');
  const grace = gracePeriodOf({ ...(o.gracePeriod !== undefined ? { gracePeriod: o.gracePeriod } : {}) });
  const timeoutMs = parseDuration(o.timeout ?? '5m');
  const started = Date.now();
  const progress = new Progress(cli);

  await cli.client.get<Node>(refFor(nodesResource, undefined, name));
  const changed = await setUnschedulable(cli, name, true);
  progress.line(`node/${name} ${changed ? 'cordoned' : 'already cordoned'}`);

  const listPods = async () =>
    (
      await cli.client.list<{ items: Pod[] }>(refFor(podsResource, undefined), {
        fieldSelector: `spec.nodeName=${escapeFieldValue(name)}`,
        ...(o.podSelector ? { labelSelector: o.podSelector } : {}),
      })
    ).items;

  // Pods of a DaemonSet that still exists (same uid) are its controller's: they come straight back.
  const daemonSetOwned = async (p: Pod): Promise<boolean> => {
    const ref = p.metadata.ownerReferences?.find((r) => r.controller === true);
    if (ref?.kind !== 'DaemonSet') return false;
    try {
      const ds = await cli.client.get<DaemonSet>(refFor(daemonSetsResource, p.metadata.namespace, ref.name));
      return ds.metadata.uid === ref.uid;
    } catch (err) {
      if (err instanceof NotFoundError) return false;
      throw err;
    }
  };
  const listed = await listPods();
  const daemonPods = new Set<string>();
  for (const p of listed) if (await daemonSetOwned(p)) daemonPods.add(podId(p));
  if (daemonPods.size > 0) {
    const names = listed.filter((p) => daemonPods.has(podId(p))).map(podKey).join(', ');
    if (o.ignoreDaemonsets !== true) {
      throw new UsageError(`unable to drain node "${name}": cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): ${names}`);
    }
    cli.warn(`ignoring DaemonSet-managed Pods: ${names}`);
  }
  const pods = listed.filter((p) => !daemonPods.has(podId(p)));
  if (pods.length === 0) {
    progress.line(`node/${name} drained${daemonPods.size > 0 ? ' (only DaemonSet-managed pods left on it)' : ' (no pods were bound to it)'}`);
    return 0;
  }
  if (grace === 0) cli.warn(IMMEDIATE_DELETION_WARNING);

  /** The budget that refused a pod's eviction, for the retry line (the 429 names it only in its causes). */
  const blockingBudget = async (p: Pod): Promise<string | undefined> => {
    try {
      const list = await cli.client.list<{ items: PodDisruptionBudget[] }>(refFor(podDisruptionBudgetsResource, p.metadata.namespace));
      const budget = list.items.find((b) => b.spec.selector !== undefined && labelSelectorFromSpec(b.spec.selector).matches(p.metadata.labels));
      if (!budget) return undefined;
      const s = budget.status;
      return `poddisruptionbudget/${budget.metadata.name ?? ''} in namespace ${p.metadata.namespace ?? ''} needs ${s.desiredHealthy} healthy ${s.desiredHealthy === 1 ? 'pod' : 'pods'} and has ${s.currentHealthy}`;
    } catch (err) {
      // Only a nicer message is lost (e.g. the user may evict but not read budgets).
      if (err instanceof NotFoundError || err instanceof ForbiddenError) return undefined;
      throw err;
    }
  };

  const evict = async (p: Pod): Promise<Attempt> => {
    const podName = p.metadata.name ?? '';
    const ns = p.metadata.namespace ?? '';
    try {
      await cli.client.create(refFor(podsResource, ns, podName, 'eviction'), {
        apiVersion: 'policy/v1',
        kind: 'Eviction',
        metadata: { name: podName, namespace: ns },
        // The very pod listed: not one re-created under the same name meanwhile.
        deleteOptions: { ...(grace !== undefined ? { gracePeriodSeconds: grace } : {}), ...(p.metadata.uid ? { preconditions: { uid: p.metadata.uid } } : {}) },
      });
      return 'evicted';
    } catch (err) {
      // Gone meanwhile: that is what we wanted.
      if (err instanceof NotFoundError) return 'gone';
      if (err instanceof TooManyRequestsError) {
        cli.note(`error when evicting pods/${JSON.stringify(podName)} -n ${JSON.stringify(ns)} (will retry after ${EVICTION_RETRY_MS / 1000}s): ${err.message}`);
        const budget = await blockingBudget(p);
        if (budget) cli.note(`  blocked by ${budget}`);
        return 'blocked';
      }
      reportItemError(cli, err);
      return 'failed';
    }
  };

  // Pods to evict (tried again while a budget blocks them), and evicted pods awaited by uid: a new
  // pod of the same name bound here later is not ours.
  let blocked: Pod[] = [];
  const tracked = new Map<string, Pod>();
  let failed = 0;
  for (const p of pods) {
    if (p.metadata.deletionTimestamp && grace === undefined) {
      progress.line(`pod ${podKey(p)} is already terminating`);
      tracked.set(podId(p), p);
    } else {
      blocked.push(p);
    }
  }

  let remaining: Pod[] = [];
  let nextAttempt = 0;
  for (;;) {
    if (blocked.length > 0 && Date.now() >= nextAttempt) {
      const still: Pod[] = [];
      for (const p of blocked) {
        const outcome = await evict(p);
        if (outcome === 'evicted') {
          progress.line(`evicting pod ${podKey(p)}`);
          tracked.set(podId(p), p);
        } else if (outcome === 'blocked') {
          still.push(p);
        } else if (outcome === 'failed') {
          failed++;
        }
      }
      blocked = still;
      nextAttempt = Date.now() + EVICTION_RETRY_MS;
    }
    const present = new Set((await listPods()).map(podId));
    for (const [id, p] of tracked) {
      if (present.has(id)) continue;
      tracked.delete(id);
      progress.line(`pod ${podKey(p)} evicted`);
    }
    remaining = [...tracked.values()];
    const elapsed = Date.now() - started;
    if ((remaining.length === 0 && blocked.length === 0) || elapsed >= timeoutMs) break;
    const waiting = [...blocked, ...remaining];
    progress.status(
      `waiting for ${plural(waiting.length, 'pod')} (${blocked.length} blocked by a disruption budget) (${humanDuration(elapsed)} of ${humanDuration(timeoutMs)}): ` +
        `${waiting.slice(0, 3).map(podKey).join(', ')}${waiting.length > 3 ? ', …' : ''}`,
    );
    const untilRetry = blocked.length > 0 ? Math.max(0, nextAttempt - Date.now()) : POLL_MS;
    await sleep(Math.min(POLL_MS, untilRetry, Math.max(0, timeoutMs - elapsed)));
  }
  progress.clear();

  const took = humanDuration(Date.now() - started);
  const total = pods.length;
  const evicted = total - remaining.length - blocked.length - failed;
  if (remaining.length === 0 && blocked.length === 0 && failed === 0) {
    cli.print(`node/${name} drained: ${plural(evicted, 'pod')} evicted in ${took}\n`);
    return 0;
  }
  const parts = [`${evicted} of ${total} pods evicted`];
  if (remaining.length > 0) parts.push(`${remaining.length} still terminating (not confirmed stopped by the node's agent)`);
  if (blocked.length > 0) parts.push(`${blocked.length} blocked by a disruption budget`);
  if (failed > 0) parts.push(`${failed} could not be evicted`);
  cli.print(`Summary for node/${name}: ${parts.join(', ')}\n`);
  for (const p of remaining) cli.print(`  ${podKey(p)}  Terminating\n`);
  for (const p of blocked) cli.print(`  ${podKey(p)}  Blocked by a disruption budget\n`);
  if (remaining.length > 0 || blocked.length > 0) {
    const why = [
      ...(remaining.length > 0 ? [`${plural(remaining.length, 'pod')} still terminating`] : []),
      ...(blocked.length > 0 ? [`${plural(blocked.length, 'pod')} blocked by disruption budgets`] : []),
    ].join(' and ');
    const hint = blocked.length > 0 ? 'the node stays cordoned; run drain again once the budgets allow it' : 'the node stays cordoned; use --grace-period=0 to delete them without waiting for the agent';
    throw new WaitTimeoutError(`drain did not complete within ${humanDuration(timeoutMs)}: ${why} on node ${name} (${hint})`);
  }
  return 1;
}
