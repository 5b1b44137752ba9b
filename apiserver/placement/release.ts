// Failing the pods of a node that is deleted (the controller manager fails a lost node's pods itself,
// through pods/{name}/status).
// Each pod is failed in its own transaction, and its ledger entry leaves in that same transaction
// (the pods ledger hook), so the ledger is exact after every single step.
import type { Pod } from '../../shared/api/core.js';
import { NotFoundError } from '../../shared/errors.js';
import type { KubeObject } from '../registry/object.js';
import type { ResourceStore } from '../registry/resource-store.js';
import { holdsResources } from '../../shared/node-ledger.js';
import { failedPod } from '../../shared/pod-failure.js';

/** Mark every bound, unfinished pod of `node` Failed with `reason`. Returns how many were failed. */
export async function failPodsOnNode(pods: ResourceStore, node: string, reason: string, message: string): Promise<number> {
  const page = await pods.list({ matches: (o) => (o.spec as { nodeName?: string } | undefined)?.nodeName === node });
  let failed = 0;
  for (const obj of page.items) {
    if (!holdsResources(obj as unknown as Pod)) continue;
    try {
      await pods.update(obj.metadata.namespace, obj.metadata.name ?? '', (cur) => {
        const pod = cur as unknown as Pod;
        if (!holdsResources(pod) || pod.spec.nodeName !== node) return cur;
        return failedPod(pod, reason, message) as unknown as KubeObject;
      });
      failed++;
    } catch (err) {
      // Deleted meanwhile: its entry left the ledger with it.
      if (!(err instanceof NotFoundError)) throw err;
    }
  }
  return failed;
}
