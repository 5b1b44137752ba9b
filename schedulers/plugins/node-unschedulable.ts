// NodeUnschedulable: cordoned nodes (spec.unschedulable) take no new pods, unless the pod
// tolerates the `node.kubernetes.io/unschedulable:NoSchedule` taint that stands for the cordon.
import { unresolvable, type Plugin, type PluginFactory } from '../framework/plugin.js';
import { tolerates } from '../../shared/tolerations.js';

export const NAME = 'NodeUnschedulable';
const CORDON_TAINT = { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' as const };
const CORDONED = unresolvable('node(s) were unschedulable');

export const create: PluginFactory = (_args, handle): Plugin => ({
  name: NAME,
  events: ['NodeAdded', 'NodeChanged'],
  preFilter(ctx) {
    // No cordoned node: the filter could only pass.
    if (handle.cluster.nodeCounts?.().cordoned === 0) return 'skip';
    return tolerates(ctx.pod.pod.spec.tolerations, CORDON_TAINT) ? 'skip' : undefined;
  },
  filter(_ctx, node) {
    return node.unschedulable ? CORDONED : undefined;
  },
});
