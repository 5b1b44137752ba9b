// `cellctl set image deployment/web main=busybox:1.36 [side=…]` (or `*=IMAGE` for every
// container): a strategic merge patch of the pod template's containers by name, which starts a
// rollout of a Deployment or a DaemonSet. Pods and ReplicaSets take it too.
import type { Cli } from '../context.js';
import { UsageError } from '../errors.js';
import { refFor } from '../resources.js';
import { workloadTarget } from './workload-target.js';

interface ContainerView {
  name: string;
  image?: string;
}
interface WithContainers {
  spec?: { containers?: ContainerView[]; initContainers?: ContainerView[]; template?: { spec?: { containers?: ContainerView[]; initContainers?: ContainerView[] } } };
}

export async function runSetImage(cli: Cli, args: string[]): Promise<number> {
  const pairs = args.filter((a) => a.includes('='));
  const targetArgs = args.filter((a) => !a.includes('='));
  if (pairs.length === 0) throw new UsageError('expected at least one CONTAINER=IMAGE: cellctl set image deployment/web main=busybox:1.36');
  const target = await workloadTarget(cli, targetArgs, 'set image', ['deployments', 'daemonsets', 'replicasets', 'pods']);
  const images = new Map<string, string>();
  for (const p of pairs) {
    const [container, image] = [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)];
    if (!container || !image) throw new UsageError(`"${p}" is not CONTAINER=IMAGE`);
    images.set(container, image);
  }
  const ref = refFor(target.info, cli.namespace, target.name);
  const current = await cli.client.get<WithContainers>(ref);
  const podSpec = target.info.resource === 'pods' ? current.spec : current.spec?.template?.spec;
  const patchOf = (list: ContainerView[] | undefined) =>
    (list ?? []).flatMap((c) => {
      const image = images.get(c.name) ?? images.get('*');
      return image !== undefined && image !== c.image ? [{ name: c.name, image }] : [];
    });
  const known = new Set([...(podSpec?.containers ?? []), ...(podSpec?.initContainers ?? [])].map((c) => c.name));
  const unknown = [...images.keys()].filter((n) => n !== '*' && !known.has(n));
  if (unknown.length > 0) throw new UsageError(`unable to find container named "${unknown[0]}"`);
  const containers = patchOf(podSpec?.containers);
  const initContainers = patchOf(podSpec?.initContainers);
  if (containers.length === 0 && initContainers.length === 0) {
    cli.print(`${target.display} image unchanged\n`);
    return 0;
  }
  const spec = { ...(containers.length > 0 ? { containers } : {}), ...(initContainers.length > 0 ? { initContainers } : {}) };
  await cli.client.patch(ref, target.info.resource === 'pods' ? { spec } : { spec: { template: { spec } } }, 'strategic');
  cli.print(`${target.display} image updated\n`);
  return 0;
}
