// NodeName: a pod that names its node (spec.nodeName) may only go there. Pods created with a node
// name are bound on creation and never reach a scheduler, so this mostly narrows nothing; it is
// kept for parity with Kubernetes' default profile and for pods whose binding was refused.
import { unresolvable, type Plugin, type PluginFactory } from '../framework/plugin.js';

export const NAME = 'NodeName';
const MISMATCH = unresolvable("node(s) didn't match the requested node name");

export const create: PluginFactory = (): Plugin => ({
  name: NAME,
  events: ['NodeAdded'],
  preFilter(ctx) {
    const wanted = ctx.pod.pod.spec.nodeName;
    return wanted ? { nodeNames: new Set([wanted]) } : 'skip';
  },
  filter(ctx, node) {
    const wanted = ctx.pod.pod.spec.nodeName;
    return wanted === undefined || wanted === node.name ? undefined : MISMATCH;
  },
});
