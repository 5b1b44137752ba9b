// `cellctl scale deployment/web --replicas=5`: writes the object's scale subresource, as kubectl
// does — a merge patch of spec.replicas, or, with --current-replicas or --resource-version, a
// read and a guarded update that fails if the object moved on.
import type { Scale } from '../../shared/api/apps.js';
import { ConflictError } from '../../shared/errors.js';
import type { Cli } from '../context.js';
import { UsageError } from '../errors.js';
import { refFor } from '../resources.js';
import { workloadTarget } from './workload-target.js';

export const SCALABLE = ['deployments', 'replicasets', 'statefulsets'] as const;

export interface ScaleOptions {
  replicas?: string;
  currentReplicas?: string;
  resourceVersion?: string;
}

function count(flag: string, value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new UsageError(`${flag} must be a non-negative integer, not "${value}"`);
  return n;
}

export async function runScale(cli: Cli, args: string[], o: ScaleOptions): Promise<number> {
  if (o.replicas === undefined) throw new UsageError("required flag '--replicas' not set");
  const replicas = count('--replicas', o.replicas);
  const target = await workloadTarget(cli, args, 'scale', SCALABLE, { anyScalable: true });
  const ref = refFor(target.info, cli.namespace, target.name, 'scale');
  if (o.currentReplicas === undefined && o.resourceVersion === undefined) {
    await cli.client.patch(ref, { spec: { replicas } }, 'merge');
  } else {
    const current = await cli.client.get<Scale>(ref);
    if (o.currentReplicas !== undefined && current.spec.replicas !== count('--current-replicas', o.currentReplicas)) {
      throw new ConflictError(`Expected replicas to be ${o.currentReplicas}, was ${current.spec.replicas ?? 0}`);
    }
    const resourceVersion = o.resourceVersion ?? current.metadata.resourceVersion;
    await cli.client.update(ref, { ...current, metadata: { ...current.metadata, resourceVersion }, spec: { replicas } });
  }
  cli.print(`${target.display} scaled\n`);
  return 0;
}
