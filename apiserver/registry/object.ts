// The shape every stored API object shares. Handlers work with this generic view; the per-kind
// schemas in shared/api validate and default the rest.
export interface ObjectMetaView {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  [field: string]: unknown;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMetaView;
  spec?: unknown;
  status?: unknown;
  [field: string]: unknown;
}

export function isKubeObject(v: unknown): v is KubeObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v) &&
    typeof (v as { metadata?: unknown }).metadata === 'object' && (v as { metadata?: unknown }).metadata !== null;
}
