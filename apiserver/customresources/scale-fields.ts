// Where a custom resource keeps what its Scale shows: the paths its definition's
// subresources.scale names (`.spec.replicas`, `.status.replicas`, `.status.selector`), each a
// simple dotted JSONPath, as Kubernetes requires of them.
import type { CustomResourceScale } from '../../shared/api/apiextensions.js';
import { JsonPathTemplate } from '../../shared/jsonpath.js';
import type { ScaleFields } from '../apps/scale.js';

/** `.spec.replicas` → `{ spec: { replicas: value } }`: a merge patch that sets the path. */
function patchAt(path: string, value: number): Record<string, unknown> {
  const keys = path.replace(/^\./, '').split('.');
  let patch: Record<string, unknown> = { [keys.pop()!]: value };
  while (keys.length > 0) patch = { [keys.pop()!]: patch };
  return patch;
}

export function customScaleFields(scale: CustomResourceScale): ScaleFields {
  const spec = new JsonPathTemplate(`{${scale.specReplicasPath}}`);
  const status = new JsonPathTemplate(`{${scale.statusReplicasPath}}`);
  const selector = scale.labelSelectorPath ? new JsonPathTemplate(`{${scale.labelSelectorPath}}`) : undefined;
  const num = (v: unknown) => (typeof v === 'number' ? v : 0);
  return {
    read(obj) {
      const sel = selector?.values(obj)[0];
      return { specReplicas: num(spec.values(obj)[0]), statusReplicas: num(status.values(obj)[0]), ...(typeof sel === 'string' ? { selector: sel } : {}) };
    },
    replicasPatch: (replicas) => patchAt(scale.specReplicasPath, replicas),
  };
}
