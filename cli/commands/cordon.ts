// `cellctl cordon NODE…` / `uncordon NODE…`: flip `spec.unschedulable`, which every scheduler's
// node-unschedulable filter honours. Pods already on the node keep running (that is `drain`).
import type { Node } from '../../shared/api/core.js';
import { nodesResource } from '../../shared/api/registry.js';
import type { Cli } from '../context.js';
import { UsageError } from '../errors.js';
import { refFor } from '../resources.js';
import { reportItemError } from './write-options.js';

/** Cordon (true) or uncordon (false) one node; says whether anything changed. */
export async function setUnschedulable(cli: Cli, name: string, unschedulable: boolean): Promise<boolean> {
  const ref = refFor(nodesResource, undefined, name);
  const node = await cli.client.get<Node>(ref);
  if ((node.spec.unschedulable ?? false) === unschedulable) return false;
  // null removes the field: an uncordoned node looks like one that was never cordoned.
  await cli.client.patch(ref, { spec: { unschedulable: unschedulable ? true : null } }, 'merge');
  return true;
}

function nodeNames(args: string[]): string[] {
  return args.map((a) => {
    const slash = a.indexOf('/');
    if (slash < 0) return a;
    const type = a.slice(0, slash).toLowerCase();
    if (!['node', 'nodes', 'no'].includes(type)) throw new UsageError(`${a} is not a node`);
    return a.slice(slash + 1);
  });
}

export async function runCordon(cli: Cli, args: string[], o: { selector?: string }, unschedulable: boolean): Promise<number> {
  let names = nodeNames(args);
  if (o.selector) {
    if (names.length > 0) throw new UsageError('node names cannot be combined with -l');
    const list = await cli.client.list<{ items: Node[] }>(refFor(nodesResource, undefined), { labelSelector: o.selector });
    names = list.items.map((n) => n.metadata.name ?? '');
    if (names.length === 0) {
      cli.note('No resources found.');
      return 0;
    }
  }
  if (names.length === 0) throw new UsageError(`expected at least one NODE: cellctl ${unschedulable ? 'cordon' : 'uncordon'} NODE`);
  const verb = unschedulable ? 'cordoned' : 'uncordoned';
  let failed = false;
  for (const name of names) {
    try {
      const changed = await setUnschedulable(cli, name, unschedulable);
      cli.print(`node/${name} ${changed ? verb : `already ${verb}`}\n`);
    } catch (err) {
      reportItemError(cli, err);
      failed = true;
    }
  }
  return failed ? 1 : 0;
}
