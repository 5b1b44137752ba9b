// The `scale` subresource of Deployments, ReplicaSets and StatefulSets (and of custom resources
// that declare one: customresources/scale-fields.ts): an autoscaling/v1 Scale view of the object
// (spec.replicas, status.replicas, status.selector as a query string), read with GET and written
// with PUT or PATCH — what `kubectl scale` and autoscalers use. A write changes only the parent's
// spec.replicas; a resourceVersion in the body is a precondition on the parent, as in
// Kubernetes. The router has already authorized the request as `<resource>/scale`.
import { scaleKind } from '../../shared/api/registry.js';
import type { Scale } from '../../shared/api/apps.js';
import { validateObject } from '../../shared/api/validation.js';
import { labelSelectorFromSpec, type LabelSelectorSpec } from '../../shared/labels.js';
import { BadRequestError } from '../../shared/errors.js';
import { readObjectBody, readPatchBody } from '../http/body.js';
import { applyPatch } from '../http/patch.js';
import { dryRunParam } from '../http/query.js';
import type { CustomHandler, ServedResource } from '../http/resources.js';
import type { KubeObject } from '../registry/object.js';
import type { RestResource } from '../registry/rest.js';

export interface ScaleDeps {
  maxRequestBytes: number;
  served(resource: string): ServedResource;
  addCustomHandler(key: string, handler: CustomHandler): void;
}

/** The resources that have a scale subresource. */
export const SCALABLE_RESOURCES = ['deployments', 'replicasets', 'statefulsets'] as const;

interface ScalableView {
  spec?: { replicas?: number; selector?: LabelSelectorSpec };
  status?: { replicas?: number };
}

/** How a kind keeps what its Scale shows: the built-in workloads' fields, or a custom resource's paths. */
export interface ScaleFields {
  /** spec.replicas, status.replicas and status.selector (a query string) of a stored object. */
  read(obj: KubeObject): { specReplicas: number; statusReplicas: number; selector?: string };
  /** A JSON merge patch that sets the desired replicas. */
  replicasPatch(replicas: number): Record<string, unknown>;
}

const WORKLOAD_FIELDS: ScaleFields = {
  read(obj) {
    const view = obj as ScalableView;
    const selector = view.spec?.selector ? labelSelectorFromSpec(view.spec.selector).toString() : undefined;
    return { specReplicas: view.spec?.replicas ?? 0, statusReplicas: view.status?.replicas ?? 0, ...(selector !== undefined ? { selector } : {}) };
  },
  replicasPatch: (replicas) => ({ spec: { replicas } }),
};

/** The Scale of a stored object. */
export function scaleOf(obj: KubeObject, fields: ScaleFields = WORKLOAD_FIELDS): Scale {
  const m = obj.metadata;
  const { specReplicas, statusReplicas, selector } = fields.read(obj);
  return {
    apiVersion: 'autoscaling/v1',
    kind: 'Scale',
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      creationTimestamp: m.creationTimestamp,
    },
    spec: { replicas: specReplicas },
    status: { replicas: statusReplicas, ...(selector !== undefined ? { selector } : {}) },
  };
}

/**
 * The scale subresource's handlers (by method: GET, PUT, PATCH) over one resource's REST layer. A
 * write changes only the parent's desired replicas.
 */
export function scaleHandlers(rest: () => RestResource, fields: ScaleFields, maxRequestBytes: number): Record<'GET' | 'PUT' | 'PATCH', CustomHandler> {
  /** Writes `scale.spec.replicas` to the parent (keeping its resourceVersion precondition) and answers the new Scale. */
  const write = async (namespace: string | undefined, name: string, scale: Scale, query: URLSearchParams): Promise<{ status: number; body: unknown }> => {
    if (scale.metadata.name !== undefined && scale.metadata.name !== name) {
      throw new BadRequestError(`the name of the object (${scale.metadata.name}) does not match the name on the URL (${name})`);
    }
    if (scale.spec.replicas === undefined) throw new BadRequestError('a Scale must set spec.replicas');
    const patch = {
      ...fields.replicasPatch(scale.spec.replicas),
      metadata: scale.metadata.resourceVersion ? { resourceVersion: scale.metadata.resourceVersion } : {},
    };
    const updated = await rest().patch(namespace, name, 'merge', patch, undefined, dryRunParam(query) ? { dryRun: true } : {});
    return { status: 200, body: scaleOf(updated, fields) };
  };
  return {
    GET: async ({ path }) => {
      const obj = await rest().get(path.namespace, path.name ?? '');
      return { status: 200, body: scaleOf(obj, fields) };
    },
    PUT: async ({ req, path, query }) => {
      const raw = await readObjectBody(req, maxRequestBytes);
      const scale = validateObject(scaleKind, raw);
      return write(path.namespace, path.name ?? '', scale, query);
    },
    PATCH: async ({ req, path, query }) => {
      const { type, patch } = await readPatchBody(req, maxRequestBytes);
      if (type === 'apply') throw new BadRequestError('server-side apply is served on the main resource only, not on scale');
      const name = path.name ?? '';
      const current = scaleOf(await rest().get(path.namespace, name), fields);
      // The patch applies to the Scale the client sees; a resourceVersion it names stays a precondition.
      const patched = validateObject(scaleKind, applyPatch(type, current, patch));
      if (patched.metadata.resourceVersion === current.metadata.resourceVersion) delete patched.metadata.resourceVersion;
      return write(path.namespace, name, patched, query);
    },
  };
}

export function installScale(d: ScaleDeps): void {
  for (const resource of SCALABLE_RESOURCES) {
    const handlers = scaleHandlers(() => d.served(resource).rest, WORKLOAD_FIELDS, d.maxRequestBytes);
    for (const [method, handler] of Object.entries(handlers)) d.addCustomHandler(`${resource}/scale:${method}`, handler);
  }
}
