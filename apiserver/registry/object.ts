// The generic view of a stored API object that the store, REST and HTTP layers work with: the
// shared metadata schema's type, with spec and status left to the per-kind schemas.
import type { KubeObject as TypedObject } from '../../shared/api/meta.js';

export type ObjectMetaView = TypedObject['metadata'];

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMetaView;
  spec?: unknown;
  status?: unknown;
  [field: string]: unknown;
}
