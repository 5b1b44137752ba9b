// NodePorts: a pod's host ports must be free on the node (same port and protocol on an
// overlapping address). Uses the ledger's host ports plus this scheduler's assumptions, and the
// same clash rule as the API server (shared/pod-resources.ts).
import { hostPortsConflict } from '../../shared/pod-resources.js';
import { unschedulable, type Plugin, type PluginFactory } from '../framework/plugin.js';

export const NAME = 'NodePorts';
const PORTS_TAKEN = unschedulable("node(s) didn't have free ports for the requested pod ports");

export const create: PluginFactory = (): Plugin => ({
  name: NAME,
  events: ['NodeAdded', 'RoomReleased', 'PodGone'],
  preFilter(ctx) {
    return ctx.pod.hostPorts.length === 0 ? 'skip' : undefined;
  },
  filter(ctx, node) {
    for (const want of ctx.pod.hostPorts) {
      for (const used of node.usedPorts) if (hostPortsConflict(used, want)) return PORTS_TAKEN;
    }
    return undefined;
  },
});
