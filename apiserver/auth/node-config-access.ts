// NodeRestriction for ConfigMaps and Secrets, as Kubernetes' node authorizer has it: a node agent
// may read one only while a pod bound to its node uses it (`env[].valueFrom`, `envFrom`), so a
// compromised node learns the secrets of its own pods and nobody else's. Checked on the pods the
// watch cache holds: a string test per pod, and only the few that mention both names are decoded.
import type { Pod } from '../../shared/api/core.js';
import { ForbiddenError } from '../../shared/errors.js';
import { podUsesConfig, type ConfigKind } from '../../shared/pod-config-refs.js';
import type { WatchCache } from '../registry/watch-cache.js';

export async function nodeMayReadConfig(pods: Pick<WatchCache, 'select'>, node: string, namespace: string, kind: ConfigKind, name: string): Promise<void> {
  const nodeField = `"nodeName":${JSON.stringify(node)}`;
  const quoted = JSON.stringify(name);
  const { items } = await pods.select((stored) => stored.includes(nodeField) && stored.includes(quoted));
  for (const obj of items) {
    const pod = obj as unknown as Pod;
    if (pod.metadata.namespace === namespace && pod.spec.nodeName === node && podUsesConfig(pod, kind, name)) return;
  }
  throw new ForbiddenError(
    `${kind} "${name}" is forbidden: User "system:node:${node}" cannot get resource "${kind}" in API group "" in the namespace "${namespace}": no relationship found between node '${node}' and this object`,
    { name, kind },
  );
}
