// The built-in plugins, by the name a profile uses. Plugins from files are loaded by the profile
// loader (profile/profile.ts) and need no entry here.
import type { PluginFactory } from './plugin.js';
import * as coscheduling from '../plugins/coscheduling.js';
import * as defaultPreemption from '../plugins/default-preemption.js';
import * as interPodAffinity from '../plugins/inter-pod-affinity.js';
import * as nodeAffinity from '../plugins/node-affinity.js';
import * as nodeName from '../plugins/node-name.js';
import * as nodePorts from '../plugins/node-ports.js';
import * as nodeResourcesFit from '../plugins/node-resources-fit.js';
import * as nodeUnschedulable from '../plugins/node-unschedulable.js';
import * as podTopologySpread from '../plugins/pod-topology-spread.js';
import * as prioritySort from '../plugins/priority-sort.js';
import * as taintToleration from '../plugins/taint-toleration.js';

export const BUILTIN_PLUGINS: ReadonlyMap<string, PluginFactory> = new Map(
  [
    prioritySort,
    nodeName,
    nodeUnschedulable,
    nodeResourcesFit,
    nodeAffinity,
    taintToleration,
    nodePorts,
    podTopologySpread,
    interPodAffinity,
    defaultPreemption,
    coscheduling,
  ].map((m) => [m.NAME, m.create] as const),
);
