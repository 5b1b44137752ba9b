// Which container, and which node, a request to a pod's container means (pods/log, exec, attach):
// the named container or the pod's only one, and the node it is bound to — with the messages
// kube-apiserver gives when either is missing.
import type { Pod } from '../../shared/api/core.js';
import { BadRequestError } from '../../shared/errors.js';

/** The named container (an app, init or ephemeral container), or the pod's only app container. */
export function chooseContainer(pod: Pod, requested: string | null): string {
  const name = pod.metadata.name ?? '';
  const app = pod.spec.containers.map((c) => c.name);
  const init = (pod.spec.initContainers ?? []).map((c) => c.name);
  const ephemeral = (pod.spec.ephemeralContainers ?? []).map((c) => c.name);
  if (requested !== null && requested !== '') {
    if (![...app, ...init, ...ephemeral].includes(requested)) throw new BadRequestError(`container ${requested} is not valid for pod ${name}`);
    return requested;
  }
  if (app.length === 1) return app[0]!;
  throw new BadRequestError(
    `a container name must be specified for pod ${name}, choose one of: [${app.join(' ')}]` +
      (init.length > 0 ? ` or one of the init containers: [${init.join(' ')}]` : '') +
      (ephemeral.length > 0 ? ` or one of the ephemeral containers: [${ephemeral.join(' ')}]` : ''),
  );
}

/** The node the pod is bound to; 400 when it is not bound yet. */
export function boundNode(pod: Pod): string {
  const nodeName = pod.spec.nodeName;
  if (!nodeName) throw new BadRequestError(`pod ${pod.metadata.name ?? ''} does not have a host assigned`);
  return nodeName;
}
