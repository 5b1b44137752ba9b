// Wires the eviction subresource into the API server: `POST .../pods/{name}/eviction` with a
// policy/v1 (or policy/v1beta1) Eviction body. The router has already authorized it as verb
// `create` on `pods/eviction`.
import { evictionKind, type KindInfo } from '../../shared/api/registry.js';
import { EVICTION_API_VERSIONS, type Eviction } from '../../shared/api/policy.js';
import { validateDeleteOptions, validateObject } from '../../shared/api/validation.js';
import { BadRequestError } from '../../shared/errors.js';
import { readObjectBody } from '../http/body.js';
import { dryRunParam } from '../http/query.js';
import type { CustomHandler, ServedResource } from '../http/resources.js';
import type { Store } from '../storage/store.js';
import { Evictor, type EvictionOptions } from './eviction.js';

export interface DisruptionDeps {
  store: Store;
  maxRequestBytes: number;
  served(resource: string): ServedResource;
  addCustomHandler(key: string, handler: CustomHandler): void;
}

/** The Eviction kind for the body's apiVersion: policy/v1, or the older policy/v1beta1 clients still send. */
function kindFor(raw: unknown): KindInfo<Eviction> {
  const apiVersion = typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? (raw as Record<string, unknown>)['apiVersion'] : undefined;
  if (apiVersion === EVICTION_API_VERSIONS[1]) return { ...evictionKind, version: 'v1beta1', apiVersion };
  return evictionKind;
}

export function installDisruption(d: DisruptionDeps): Evictor {
  const evictor = new Evictor(d.store, d.served('pods').rest, d.served('poddisruptionbudgets').rest.objects);

  const evictionHandler: CustomHandler = async ({ req, path, query }) => {
    const raw = await readObjectBody(req, d.maxRequestBytes);
    const eviction = validateObject(kindFor(raw), raw);
    const name = path.name ?? '';
    // Kubernetes' rule: the body names the pod (an Eviction without a name is refused too).
    if (eviction.metadata.name !== name) throw new BadRequestError('name in URL does not match name in Eviction object');
    if (eviction.metadata.namespace && eviction.metadata.namespace !== path.namespace) {
      throw new BadRequestError('the namespace of the provided object does not match the namespace sent on the request');
    }
    // The schema has decoded deleteOptions; this adds Kubernetes' checks of their combination.
    const del = eviction.deleteOptions ? validateDeleteOptions((raw as { deleteOptions?: unknown }).deleteOptions) : undefined;
    const opts: EvictionOptions = {};
    if (del?.gracePeriodSeconds !== undefined) opts.gracePeriodSeconds = del.gracePeriodSeconds;
    if (del?.preconditions) opts.preconditions = del.preconditions;
    if (dryRunParam(query) || (del?.dryRun ?? []).length > 0) opts.dryRun = true;
    await evictor.evict(path.namespace ?? '', name, opts);
    return { status: 201, body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 } };
  };
  d.addCustomHandler('pods/eviction:POST', evictionHandler);
  return evictor;
}
