// ServiceAccount admission for pods, as Kubernetes' plugin does it: a pod that names no account
// runs as its namespace's `default` (set on create, the pod strategy), and a pod that names another
// one is refused unless that account exists. `default` itself is not looked up: the
// serviceaccount controller makes it in every namespace, and a pod must not fail for being
// created in the moment between a namespace's creation and its account's (or where no controller
// manager runs). The account is read from the watch cache, confirmed against the store on a miss.
import type { Pod } from '../../shared/api/core.js';
import { DEFAULT_SERVICE_ACCOUNT } from '../../shared/api/serviceaccount.js';
import { ForbiddenError } from '../../shared/errors.js';
import type { KubeObject } from '../registry/object.js';
import type { ResourceStore } from '../registry/resource-store.js';

/** A pod create admission (RestResource.addCreateAdmission). */
export function serviceAccountAdmission(serviceAccounts: ResourceStore): (obj: KubeObject) => Promise<void> {
  return async (obj) => {
    const account = (obj as unknown as Pod).spec.serviceAccountName;
    if (account === undefined || account === DEFAULT_SERVICE_ACCOUNT) return;
    const namespace = obj.metadata.namespace ?? '';
    const found = serviceAccounts.peekFresh(serviceAccounts.key(namespace, account)) ?? (await serviceAccounts.tryGet(namespace, account));
    if (found === undefined) {
      const pod = obj.metadata.name ?? obj.metadata.generateName ?? '';
      throw new ForbiddenError(`pods "${pod}" is forbidden: error looking up service account ${namespace}/${account}: serviceaccount "${account}" not found`, { name: pod, kind: 'pods' });
    }
  };
}
