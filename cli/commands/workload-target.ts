// The object a workload command (scale, rollout, set image) acts on: `TYPE NAME` or `TYPE/NAME`,
// as kubectl takes it, resolved as every command resolves types (Cli.types) and limited to the
// kinds the verb supports.
import type { ResourceInfo } from '../../shared/api/registry.js';
import type { Cli } from '../context.js';
import { UsageError } from '../errors.js';
import { isBuiltIn } from '../resources.js';
import { qualifiedKind } from '../output/printers.js';

export interface WorkloadTarget {
  info: ResourceInfo;
  name: string;
  /** `deployment.apps/web`, as kubectl prints it. */
  display: string;
}

/**
 * `allowed`: the built-in resources the verb supports. With `anyScalable`, so is any other resource
 * the server serves a scale subresource for (a custom resource's, as `kubectl scale` takes it).
 */
export async function workloadTarget(cli: Cli, args: readonly string[], verb: string, allowed: readonly string[], opts: { anyScalable?: boolean } = {}): Promise<WorkloadTarget> {
  let type: string;
  let name: string | undefined;
  const [first, second, ...rest] = args;
  if (first === undefined) throw new UsageError(`expected TYPE NAME or TYPE/NAME: cellctl ${verb} deployment/web`);
  if (first.includes('/')) {
    if (second !== undefined) throw new UsageError(`there is only one object to ${verb}: TYPE/NAME, or TYPE NAME`);
    [type, name] = [first.slice(0, first.indexOf('/')), first.slice(first.indexOf('/') + 1)];
  } else {
    if (rest.length > 0) throw new UsageError(`there is only one object to ${verb}: TYPE/NAME, or TYPE NAME`);
    [type, name] = [first, second];
  }
  if (!name) throw new UsageError(`expected the name of the ${type} to ${verb}`);
  const info = await cli.types.resolve(type);
  const supported = isBuiltIn(info) ? allowed.includes(info.resource) : opts.anyScalable === true && info.subresources.some((s) => s.name === 'scale');
  if (!supported) throw new UsageError(`cannot ${verb} a ${info.singularName}: only ${allowed.join(', ')}`);
  return { info, name, display: `${qualifiedKind(info)}/${name}` };
}
