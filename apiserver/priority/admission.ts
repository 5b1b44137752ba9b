// Priority admission, as Kubernetes' Priority plugin does it. A pod being created that names a
// PriorityClass gets the class's value as `spec.priority` and its preemptionPolicy (a pod that
// also gives either itself must give the class's, else 403); one that names no class takes the
// cluster's default class when there is one. A pod naming a class that does not exist is refused.
// cell keeps one thing Kubernetes dropped: a pod that names no class may still give
// `spec.priority` itself, and then no default is applied (the scheduler reads the number either way).
// Classes: at most one may be the `globalDefault`.
import type { Pod } from '../../shared/api/core.js';
import type { PriorityClass } from '../../shared/api/priority-class.js';
import { ForbiddenError } from '../../shared/errors.js';
import type { KubeObject } from '../registry/object.js';
import { NO_EFFECTS, type ResourceStore, type WriteHook } from '../registry/resource-store.js';

const DEFAULT_MARK = '"globalDefault":true';

/** The cluster's default class (the lowest-valued one, should two have been marked at once), if any. */
async function defaultClass(classes: ResourceStore, except?: string): Promise<PriorityClass | undefined> {
  const { items } = await classes.cache.select((stored) => stored.includes(DEFAULT_MARK));
  const defaults = (items as unknown as PriorityClass[]).filter((pc) => pc.globalDefault === true && pc.metadata.name !== except);
  return defaults.sort((a, b) => a.value - b.value)[0];
}

/** Resolves a new pod's priority from its class (RestResource create admission). */
export function podPriorityAdmission(classes: ResourceStore): (obj: KubeObject) => Promise<void> {
  return async (obj) => {
    const pod = obj as unknown as Pod;
    const spec = pod.spec;
    const podName = pod.metadata.name ?? pod.metadata.generateName ?? '';
    const refuse = (why: string) => new ForbiddenError(`pods "${podName}" is forbidden: ${why}`, { name: podName, kind: 'pods' });
    let pc: PriorityClass | undefined;
    if (spec.priorityClassName) {
      const key = classes.key(undefined, spec.priorityClassName);
      pc = (classes.peekFresh(key) ?? (await classes.tryGet(undefined, spec.priorityClassName))) as unknown as PriorityClass | undefined;
      if (!pc) throw refuse(`no PriorityClass with name ${spec.priorityClassName} was found`);
    } else if (spec.priority === undefined) {
      pc = await defaultClass(classes);
      if (!pc) return;
      spec.priorityClassName = pc.metadata.name ?? '';
    } else {
      return;
    }
    if (spec.priority !== undefined && spec.priority !== pc.value) {
      throw refuse(`the integer value of priority (${spec.priority}) must not be provided in pod spec; priority admission controller computed ${pc.value} from the given PriorityClass name`);
    }
    if (spec.preemptionPolicy !== undefined && spec.preemptionPolicy !== pc.preemptionPolicy) {
      throw refuse(`the string value of PreemptionPolicy (${spec.preemptionPolicy}) must not be provided in pod spec; priority admission controller computed ${pc.preemptionPolicy} from the given PriorityClass name`);
    }
    spec.priority = pc.value;
    spec.preemptionPolicy = pc.preemptionPolicy;
  };
}

/** Refuses a second default class (on create, or an update that makes a class the default). */
export function singleDefaultClassHook(classes: ResourceStore): WriteHook {
  return async (prev, next) => {
    const becomesDefault = (next as PriorityClass | undefined)?.globalDefault === true && (prev as PriorityClass | undefined)?.globalDefault !== true;
    if (!becomesDefault || next === undefined) return NO_EFFECTS;
    const name = next.metadata.name ?? '';
    const other = await defaultClass(classes, name);
    if (other) {
      throw new ForbiddenError(`priorityclasses.scheduling.k8s.io "${name}" is forbidden: PriorityClass ${other.metadata.name ?? ''} is already marked as default. Only one default can exist`, {
        name,
        group: 'scheduling.k8s.io',
        kind: 'priorityclasses',
      });
    }
    return NO_EFFECTS;
  };
}
