// Which ConfigMaps and Secrets a pod's containers read (`env[].valueFrom.configMapKeyRef` /
// `secretKeyRef`, `envFrom[].configMapRef` / `secretRef`). The agent fetches these before starting
// a container; the API server lets a node read one only while a pod bound to it names it.
import type { Pod } from './api/core.js';

export type ConfigKind = 'configmaps' | 'secrets';

export interface ConfigRefs {
  configmaps: Set<string>;
  secrets: Set<string>;
}

/** Names of the ConfigMaps and Secrets the given containers (all of the pod's when omitted) use. */
export function configRefsOf(pod: Pick<Pod, 'spec'>, containers = [...(pod.spec.initContainers ?? []), ...pod.spec.containers]): ConfigRefs {
  const refs: ConfigRefs = { configmaps: new Set(), secrets: new Set() };
  for (const c of containers) {
    for (const e of c.env ?? []) {
      if (e.valueFrom?.configMapKeyRef?.name) refs.configmaps.add(e.valueFrom.configMapKeyRef.name);
      if (e.valueFrom?.secretKeyRef?.name) refs.secrets.add(e.valueFrom.secretKeyRef.name);
    }
    for (const f of c.envFrom ?? []) {
      if (f.configMapRef?.name) refs.configmaps.add(f.configMapRef.name);
      if (f.secretRef?.name) refs.secrets.add(f.secretRef.name);
    }
  }
  return refs;
}

/** Does the pod use ConfigMap or Secret `name` (in its own namespace)? */
export function podUsesConfig(pod: Pick<Pod, 'spec'>, kind: ConfigKind, name: string): boolean {
  return configRefsOf(pod)[kind].has(name);
}
