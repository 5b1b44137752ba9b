// NodeRestriction for ConfigMaps and Secrets, as Kubernetes' node authorizer has it: a node agent
// may read one only while a pod bound to its node uses it (`env[].valueFrom`, `envFrom`), so a
// compromised node learns the secrets of its own pods and nobody else's. Checked on the pods the
// watch cache holds: a string test per pod, and only the few that mention both names are decoded.
// One more relationship, because agents are cell's ingress controller: the TLS Secret an Ingress
// of cell's classes names in `spec.tls` (ingress-proxy.ts terminates TLS with it).
import type { Pod } from '../../shared/api/core.js';
import { servedByCell, type Ingress, type IngressClass } from '../../shared/api/networking.js';
import { ForbiddenError } from '../../shared/errors.js';
import { podUsesConfig, type ConfigKind } from '../../shared/pod-config-refs.js';
import type { WatchCache } from '../registry/watch-cache.js';

/** The caches the relationships are read from. */
export interface NodeConfigSources {
  pods: Pick<WatchCache, 'select'>;
  ingresses: Pick<WatchCache, 'select'> | undefined;
  ingressClasses: Pick<WatchCache, 'select'> | undefined;
}

async function podOfNodeUses(pods: NodeConfigSources['pods'], node: string, namespace: string, kind: ConfigKind, name: string): Promise<boolean> {
  const nodeField = `"nodeName":${JSON.stringify(node)}`;
  const quoted = JSON.stringify(name);
  const { items } = await pods.select((stored) => stored.includes(nodeField) && stored.includes(quoted));
  return items.some((obj) => {
    const pod = obj as unknown as Pod;
    return pod.metadata.namespace === namespace && pod.spec.nodeName === node && podUsesConfig(pod, kind, name);
  });
}

async function cellIngressTerminatesWith(sources: NodeConfigSources, namespace: string, name: string): Promise<boolean> {
  if (!sources.ingresses || !sources.ingressClasses) return false;
  const quoted = JSON.stringify(name);
  const { items } = await sources.ingresses.select((stored) => stored.includes(quoted));
  const naming = (items as unknown as Ingress[]).filter((ing) => ing.metadata.namespace === namespace && (ing.spec.tls ?? []).some((t) => t.secretName === name));
  if (naming.length === 0) return false;
  const { items: classes } = await sources.ingressClasses.select(() => true);
  return servedByCell(naming, classes as unknown as IngressClass[]).length > 0;
}

export async function nodeMayReadConfig(sources: NodeConfigSources, node: string, namespace: string, kind: ConfigKind, name: string): Promise<void> {
  if (await podOfNodeUses(sources.pods, node, namespace, kind, name)) return;
  if (kind === 'secrets' && (await cellIngressTerminatesWith(sources, namespace, name))) return;
  throw new ForbiddenError(
    `${kind} "${name}" is forbidden: User "system:node:${node}" cannot get resource "${kind}" in API group "" in the namespace "${namespace}": no relationship found between node '${node}' and this object`,
    { name, kind },
  );
}
