// The namespaces every cluster starts with, created by whichever API server replica comes first.
// (The default RBAC roles and bindings are reconciled where the RBAC view starts: access.ts.)
import { errorMessage } from '../../shared/errors.js';
import type { Logger } from '../../shared/logging.js';
import type { ResourceTable } from './resource-table.js';

const BOOTSTRAP_NAMESPACES = ['default', 'kube-system', 'kube-node-lease'];

export async function createDefaultNamespaces(table: ResourceTable, log: Logger): Promise<void> {
  const namespaces = table.served('namespaces').rest;
  for (const name of BOOTSTRAP_NAMESPACES) {
    if (await namespaces.objects.tryGet(undefined, name)) continue;
    try {
      await namespaces.create(undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    } catch (err) {
      // Another API server replica created it first.
      log.debug('bootstrap namespace exists', { name, error: errorMessage(err) });
    }
  }
}
