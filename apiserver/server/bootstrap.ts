// The namespaces and PriorityClasses every cluster starts with, created by whichever API server
// replica comes first.
// (The default RBAC roles and bindings are reconciled where the RBAC view starts: access.ts.)
import { SYSTEM_PRIORITY_CLASSES } from '../../shared/api/priority-class.js';
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

export async function createSystemPriorityClasses(table: ResourceTable, log: Logger): Promise<void> {
  const classes = table.served('priorityclasses').rest;
  for (const [name, value] of Object.entries(SYSTEM_PRIORITY_CLASSES)) {
    if (await classes.objects.tryGet(undefined, name)) continue;
    try {
      await classes.create(undefined, {
        apiVersion: 'scheduling.k8s.io/v1',
        kind: 'PriorityClass',
        metadata: { name },
        value,
        description: 'Used for system critical pods that must not be moved from their current node.',
      });
    } catch (err) {
      log.debug('system PriorityClass exists', { name, error: errorMessage(err) });
    }
  }
}
