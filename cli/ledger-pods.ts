// Naming a ledger's pods. NodeAllocation entries carry a pod's uid, not its name (every binding
// rewrites the node's whole ledger, so entries stay small), so a command that shows them lists the
// pods — one namespace, one node, or all — and joins on the uid, as kubectl joins pods to a node.
import type { Pod } from '../shared/api/core.js';
import { podsResource } from '../shared/api/registry.js';
import { escapeFieldValue } from '../shared/fields.js';
import type { Cli } from './context.js';
import { refFor } from './resources.js';

export interface PodName {
  namespace: string;
  name: string;
}

/** The namespace and name of each pod in scope (a namespace, a node, both, or everywhere), by uid. */
export async function podNamesByUid(cli: Cli, scope: { namespace?: string; nodeName?: string }): Promise<Map<string, PodName>> {
  const query = scope.nodeName !== undefined ? { fieldSelector: `spec.nodeName=${escapeFieldValue(scope.nodeName)}` } : {};
  const pods = await cli.client.list<{ items: Pod[] }>(refFor(podsResource, scope.namespace), query);
  return new Map(pods.items.map((p) => [p.metadata.uid ?? '', { namespace: p.metadata.namespace ?? '', name: p.metadata.name ?? '' }]));
}

/** How a pod the list did not return (deleted since the ledger was read) is shown. */
export function unnamedPod(uid: string): PodName {
  return { namespace: '<unknown>', name: `uid ${uid}` };
}
