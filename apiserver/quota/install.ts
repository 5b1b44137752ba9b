// Wires ResourceQuota admission into the API server: the quota hook on pods (compute resources,
// `pods`, `count/pods`) and on every other namespaced kind it serves (`count/<resource>.<group>`),
// and the release of the pods a node's delete fails in its own transaction (placement/hooks.ts
// writes those pods directly, past the pods store's hooks).
import type { NodeAllocation } from '../../shared/api/scheduling.js';
import { PODS_KIND } from '../../shared/quota-usage.js';
import { ConflictError } from '../../shared/errors.js';
import { MAX_TXN_OPS } from '../storage/store.js';
import type { ServedResource } from '../http/resources.js';
import type { KubeObject } from '../registry/object.js';
import { NO_EFFECTS, type ResourceStore, type WriteHook } from '../registry/resource-store.js';
import { readLedgerPods } from '../placement/ledger-pods.js';
import { QuotaEpochs, quotaAdmissionHook, quotaEffects, quotaEpochKey, type ObjectChange, type QuotaReading } from './admission.js';

export const QUOTA_RESOURCE = 'resourcequotas';

/** Quota admission for a resource served after the server started (a custom kind's new store). */
export type QuotaAdmission = (served: ServedResource) => void;

export function installQuota(resources: ReadonlyMap<string, ServedResource>): QuotaAdmission {
  const quotas = resources.get(QUOTA_RESOURCE)?.rest.objects;
  if (!quotas) return () => undefined;
  // A new quota moves its namespace's epoch in its own transaction (admission.ts says why).
  quotas.addWriteHook(async (prev, next) =>
    prev === undefined && next?.metadata.namespace ? { compares: [], ops: [{ type: 'put', key: quotaEpochKey(next.metadata.namespace), value: '' }] } : NO_EFFECTS,
  );
  const epochs = new QuotaEpochs();
  const admit = (served: ServedResource) => {
    const def = served.rest.def;
    if (def.namespaced && served.verbs.includes('create')) served.rest.objects.addWriteHook(quotaAdmissionHook({ group: def.group, resource: def.resource }, quotas, epochs));
  };
  // Quotas do not count themselves (that would make a quota's own write a quota admission).
  for (const [resource, served] of resources) if (resource !== QUOTA_RESOURCE) admit(served);
  const nodes = resources.get('nodes')?.rest.objects;
  const pods = resources.get('pods')?.rest.objects;
  const allocations = resources.get('nodeallocations')?.rest.objects;
  if (nodes && pods && allocations) nodes.addWriteHook(nodeDeleteReleaseHook(quotas, pods, allocations, epochs));
  return admit;
}

/**
 * A node's delete fails every pod its ledger lists, in the node's transaction: those pods leave
 * their quotas in that same transaction. Reads the same fresh state the ledger hook does.
 */
function nodeDeleteReleaseHook(quotas: ResourceStore, pods: ResourceStore, allocations: ResourceStore, epochs: QuotaEpochs): WriteHook {
  return async (prev, next, retry) => {
    if (next || !prev) return NO_EFFECTS;
    const node = prev.metadata.name ?? '';
    const sv = await allocations.store.get(allocations.key(undefined, node));
    if (!sv) return NO_EFFECTS;
    const alloc = allocations.decode(sv.value, sv.version) as unknown as NodeAllocation;
    const changes: ObjectChange[] = [];
    for (const { holding: pod } of await readLedgerPods(pods, node, alloc, sv.modRevision)) {
      if (!pod) continue;
      const failed = { ...pod, status: { ...pod.status, phase: 'Failed' as const } };
      changes.push({ prev: pod as unknown as KubeObject, next: failed as unknown as KubeObject });
    }
    const reading: QuotaReading = { epochs, retry };
    const fx = await quotaEffects(quotas, PODS_KIND, changes, reading);
    // The node's transaction already guards the node, its ledger and every listed pod (hooks.ts).
    if (fx.compares.length > 0 && 2 + alloc.spec.pods.length + fx.compares.length > MAX_TXN_OPS) {
      throw new ConflictError(`node ${node} still has ${alloc.spec.pods.length} bound pods under quotas, more than one transaction can fail and release with it; they must be released first`, { kind: 'nodes', name: node });
    }
    return fx;
  };
}
