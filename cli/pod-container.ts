// Which container of a pod a command means (logs, exec, attach): the one named (ephemeral ones too) — with a clear error when
// the pod has no such container — or, as kubectl does since 1.24, the default one: the
// `kubectl.kubernetes.io/default-container` annotation, else the first, saying so when there was
// a choice.
import type { Pod } from '../shared/api/core.js';
import type { Cli } from './context.js';
import { podsResource } from '../shared/api/registry.js';
import { UsageError } from './errors.js';

export const DEFAULT_CONTAINER_ANNOTATION = 'kubectl.kubernetes.io/default-container';

export function containerOf(cli: Cli, pod: Pod, requested: string | undefined): string {
  const name = pod.metadata.name ?? '';
  const containers = [...(pod.spec.initContainers ?? []), ...pod.spec.containers, ...(pod.spec.ephemeralContainers ?? [])].map((c) => c.name);
  if (requested !== undefined) {
    if (!containers.includes(requested)) throw new UsageError(`container ${requested} is not valid for pod ${name} (choose one of: ${containers.join(', ')})`);
    return requested;
  }
  if (pod.spec.containers.length > 1) {
    const container = pod.metadata.annotations?.[DEFAULT_CONTAINER_ANNOTATION] ?? pod.spec.containers[0]!.name;
    cli.note(`Defaulted container "${container}" out of: ${pod.spec.containers.map((c) => c.name).join(', ')}`);
    return container;
  }
  return pod.spec.containers[0]?.name ?? '';
}

/** `web`, `pod/web` or `pods/web`: only pods have containers to `doWhat` (get logs from, exec into). */
export async function podNameOf(cli: Cli, arg: string, doWhat: string): Promise<string> {
  const slash = arg.indexOf('/');
  if (slash < 0) return arg;
  const info = await cli.types.resolve(arg.slice(0, slash));
  if (info !== podsResource) throw new UsageError(`cannot ${doWhat} ${info.resource}: only pods have containers`);
  return arg.slice(slash + 1);
}
