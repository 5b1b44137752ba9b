// `cellctl drain NODE`: cordon the node, delete every pod bound to it gracefully, and wait for
// them to be gone, showing progress, then a summary.
//
// Semantics (cell has no eviction API or disruption budgets, so drain is cordon + delete):
//  - Each pod is deleted with `--grace-period` seconds (default: the pod's own
//    terminationGracePeriodSeconds). A bound pod then stays, Terminating, until the node's agent
//    confirms it stopped; `--grace-period=0` deletes at once without that confirmation.
//  - drain waits at most `--timeout` (default 5m) for the pods to disappear. If some are still
//    terminating then (no agent is running on the node, or it is slow), drain lists them and
//    exits 1, as kubectl drain does on timeout. The node stays cordoned and the deletions stay
//    in effect: running drain again just waits again.
import type { Node, Pod } from '../../shared/api/core.js';
import { nodesResource, podsResource } from '../../shared/api/registry.js';
import { parseDuration, humanDuration } from '../../shared/duration.js';
import { NotFoundError } from '../../shared/errors.js';
import { escapeFieldValue } from '../../shared/fields.js';
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
}

const POLL_MS = 500;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function podKey(p: Pod): string {
  return `${p.metadata.namespace ?? ''}/${p.metadata.name ?? ''}`;
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

  const pods = await listPods();
  if (pods.length === 0) {
    progress.line(`node/${name} drained (no pods were bound to it)`);
    return 0;
  }
  if (grace === 0) cli.warn(IMMEDIATE_DELETION_WARNING);
  const tracked = new Map<string, Pod>();
  let failed = 0;
  for (const p of pods) {
    const key = podKey(p);
    if (p.metadata.deletionTimestamp && grace === undefined) {
      progress.line(`pod ${key} is already terminating`);
      tracked.set(p.metadata.uid ?? key, p);
      continue;
    }
    try {
      await cli.client.delete(refFor(podsResource, p.metadata.namespace, p.metadata.name), grace !== undefined ? { gracePeriodSeconds: grace } : undefined);
      progress.line(`deleting pod ${key}`);
      tracked.set(p.metadata.uid ?? key, p);
    } catch (err) {
      // Gone meanwhile: that is what we wanted.
      if (err instanceof NotFoundError) continue;
      reportItemError(cli, err);
      failed++;
    }
  }

  // Wait for the pods (by uid: a new pod of the same name bound here later is not ours).
  const total = tracked.size;
  let remaining = [...tracked.values()];
  for (;;) {
    const present = new Set((await listPods()).map((p) => p.metadata.uid ?? podKey(p)));
    const next: Pod[] = [];
    for (const p of remaining) {
      if (present.has(p.metadata.uid ?? podKey(p))) next.push(p);
      else progress.line(`pod ${podKey(p)} deleted`);
    }
    remaining = next;
    const elapsed = Date.now() - started;
    if (remaining.length === 0 || elapsed >= timeoutMs) break;
    progress.status(`waiting for ${remaining.length} of ${total} pods to terminate (${humanDuration(elapsed)} of ${humanDuration(timeoutMs)}): ${remaining.slice(0, 3).map(podKey).join(', ')}${remaining.length > 3 ? ', …' : ''}`);
    await sleep(Math.min(POLL_MS, Math.max(0, timeoutMs - elapsed)));
  }
  progress.clear();

  const took = humanDuration(Date.now() - started);
  const deleted = total - remaining.length;
  if (remaining.length === 0 && failed === 0) {
    cli.print(`node/${name} drained: ${deleted} pod${deleted === 1 ? '' : 's'} deleted in ${took}\n`);
    return 0;
  }
  const parts = [`${deleted} of ${total + failed} pods deleted`];
  if (remaining.length > 0) parts.push(`${remaining.length} still terminating (not confirmed stopped by the node's agent)`);
  if (failed > 0) parts.push(`${failed} could not be deleted`);
  cli.print(`Summary for node/${name}: ${parts.join(', ')}\n`);
  for (const p of remaining) cli.print(`  ${podKey(p)}  Terminating\n`);
  if (remaining.length > 0) {
    throw new WaitTimeoutError(`drain did not complete within ${humanDuration(timeoutMs)}: ${remaining.length} pod${remaining.length === 1 ? '' : 's'} still terminating on node ${name} (the node stays cordoned; use --grace-period=0 to delete them without waiting for the agent)`);
  }
  return 1;
}
