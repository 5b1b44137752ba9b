// `cellctl delete`: by name, by TYPE/NAME, by manifest (-f), or by selector (-l / --all).
// Deletion is graceful as the server defines it: a bound pod gets a deletionTimestamp and stays
// (Terminating) until its agent confirms it stopped. By default the command returns once the
// server accepted each delete — it never waits forever; `--wait` waits for the objects to be
// gone, up to `--timeout`. `--cascade` chooses what happens to the objects' dependents (their
// ownerReferences name them): deleted afterwards (background), first (foreground), or kept (orphan).
import type { ResourceInfo } from '../../shared/api/registry.js';
import type { DeletionPropagation } from '../../shared/api/propagation.js';
import { resourceUrlPath } from '../../shared/client/http-client.js';
import { NotFoundError } from '../../shared/errors.js';
import { parseDuration } from '../../shared/duration.js';
import type { Cli } from '../context.js';
import { UsageError, WaitTimeoutError } from '../errors.js';
import { manifestNamespace, readManifests } from '../manifests.js';
import { qualifiedKind } from '../output/printers.js';
import { parseTargets, refFor } from '../resources.js';
import { selectorQuery } from './get.js';
import { reportItemError } from './write-options.js';

export interface DeleteOptions {
  filename?: string[];
  recursive?: boolean;
  selector?: string;
  fieldSelector?: string;
  all?: boolean;
  allNamespaces?: boolean;
  gracePeriod?: string;
  now?: boolean;
  force?: boolean;
  wait?: boolean;
  timeout?: string;
  ignoreNotFound?: boolean;
  /** kubectl's --cascade: background (default), foreground, orphan; true/false as deprecated spellings. */
  cascade?: string | boolean;
}

interface Item {
  info: ResourceInfo;
  namespace: string | undefined;
  name: string;
}

export const IMMEDIATE_DELETION_WARNING =
  'Immediate deletion does not wait for confirmation that the running resource has been terminated. The resource may continue to run on the cluster indefinitely.';

/** kubectl's --grace-period: -1 = the object's own; --now = 1; --force = 0. */
export function gracePeriodOf(o: { gracePeriod?: string; now?: boolean; force?: boolean }): number | undefined {
  let grace = -1;
  if (o.gracePeriod !== undefined) {
    if (!/^-?\d+$/.test(o.gracePeriod)) throw new UsageError(`invalid --grace-period "${o.gracePeriod}": must be an integer number of seconds`);
    grace = Number(o.gracePeriod);
  }
  if (o.now) {
    if (grace >= 0) throw new UsageError('--now and --grace-period cannot be specified together');
    grace = 1;
  }
  if (o.force && grace < 0) grace = 0;
  return grace >= 0 ? grace : undefined;
}

/**
 * The propagation policy --cascade asks for, as kubectl reads it: the boolean spellings still work
 * (true = background, false = orphan) with a warning naming the replacement.
 */
export function cascadeOf(cascade: string | boolean | undefined, warn: (text: string) => void): DeletionPropagation {
  const value = cascade === undefined || cascade === true ? 'background' : cascade === false ? 'false' : cascade.toLowerCase();
  switch (value) {
    case 'background':
      return 'Background';
    case 'foreground':
      return 'Foreground';
    case 'orphan':
      return 'Orphan';
    case 'true':
      warn('--cascade=true is deprecated (boolean value) and can be replaced with --cascade=background.');
      return 'Background';
    case 'false':
      warn('--cascade=false is deprecated (boolean value) and can be replaced with --cascade=orphan.');
      return 'Orphan';
    default:
      throw new UsageError(`invalid cascade value (${String(cascade)}). Must be "background", "foreground", or "orphan".`);
  }
}

async function collect(cli: Cli, args: string[], o: DeleteOptions): Promise<Item[]> {
  if (o.filename && o.filename.length > 0) {
    if (args.length > 0) throw new UsageError('when -f is given, resources cannot also be named as arguments');
    const manifests = await readManifests(cli.types, o.filename, 'delete', { recursive: o.recursive ?? false });
    return manifests.map((m) => ({ info: m.info, namespace: manifestNamespace(m, cli.namespace, cli.namespaceExplicit), name: m.object.metadata.name ?? '' }));
  }
  if (args.length === 0) throw new UsageError('you must provide one or more resources by argument or filename (-f)');
  const { targets } = await parseTargets(cli.types, args);
  const bulk = Boolean(o.selector || o.fieldSelector || o.all);
  const items: Item[] = [];
  for (const t of targets) {
    if (t.names.length > 0) {
      if (bulk) throw new UsageError('names cannot be combined with --all, -l or --field-selector');
      items.push(...t.names.map((name) => ({ info: t.info, namespace: cli.namespace, name })));
      continue;
    }
    if (!bulk) throw new UsageError(`resource(s) were provided, but no name was specified (use -l SELECTOR or --all to delete several ${t.info.resource})`);
    const list = await cli.client.list<{ items: { metadata: { name?: string; namespace?: string } }[] }>(
      refFor(t.info, o.allNamespaces ? undefined : cli.namespace),
      selectorQuery(o),
    );
    items.push(...list.items.map((obj) => ({ info: t.info, namespace: obj.metadata.namespace, name: obj.metadata.name ?? '' })));
  }
  return items;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Poll until every item is gone, or the deadline passes (then name what is left). */
export async function waitGone(cli: Cli, items: Item[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let left = items;
  while (left.length > 0) {
    const still: Item[] = [];
    for (const it of left) {
      try {
        await cli.client.get(refFor(it.info, it.namespace, it.name));
        still.push(it);
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
      }
    }
    left = still;
    if (left.length === 0) return;
    if (Date.now() >= deadline) {
      throw new WaitTimeoutError(`timed out waiting for the condition on ${left.map((i) => `${i.info.resource}/${i.name}`).join(', ')}`);
    }
    await sleep(Math.min(250, Math.max(0, deadline - Date.now())));
  }
}

export async function runDelete(cli: Cli, args: string[], o: DeleteOptions): Promise<number> {
  const grace = gracePeriodOf(o);
  const propagationPolicy = cascadeOf(o.cascade, (text) => cli.warn(text));
  const timeoutMs = o.timeout !== undefined ? parseDuration(o.timeout) : 60_000;
  const items = await collect(cli, args, o);
  if (items.length === 0) {
    cli.note(`No resources found${o.allNamespaces ? '' : ` in ${cli.namespace} namespace`}.`);
    return 0;
  }
  if (grace === 0) cli.warn(IMMEDIATE_DELETION_WARNING);
  let failed = false;
  const deleted: Item[] = [];
  for (const it of items) {
    try {
      // The policy is always sent, as kubectl does, so the server never falls back to another default.
      await cli.client.request('DELETE', resourceUrlPath(refFor(it.info, it.namespace, it.name)), {
        body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy, ...(grace !== undefined ? { gracePeriodSeconds: grace } : {}) },
      });
      deleted.push(it);
      cli.print(`${qualifiedKind(it.info)} "${it.name}" ${grace === 0 ? 'force deleted' : 'deleted'}\n`);
    } catch (err) {
      if (err instanceof NotFoundError && o.ignoreNotFound) continue;
      reportItemError(cli, err);
      failed = true;
    }
  }
  if (o.wait && deleted.length > 0) await waitGone(cli, deleted, timeoutMs);
  return failed ? 1 : 0;
}
