// PriorityClass writes, as Kubernetes' strategy has them: a class's value and preemptionPolicy
// are fixed once made (pods already admitted carry them), and the system classes stay.
import { isSystemPriorityClass, type PriorityClass } from '../../shared/api/priority-class.js';
import { ForbiddenError, InvalidError } from '../../shared/errors.js';
import type { Strategy } from '../registry/strategy.js';

export const priorityClassStrategy: Strategy = {
  validateUpdate(next, old) {
    const a = next as unknown as PriorityClass;
    const b = old as unknown as PriorityClass;
    const changed = (['value', 'preemptionPolicy'] as const).filter((f) => a[f] !== b[f]);
    if (changed.length === 0) return;
    const name = old.metadata.name ?? '';
    throw new InvalidError(
      `PriorityClass.scheduling.k8s.io "${name}" is invalid: ${changed.map((f) => `${f}: Forbidden: may not be changed in an update.`).join(', ')}`,
      { name, group: 'scheduling.k8s.io', kind: 'PriorityClass' },
      changed.map((field) => ({ reason: 'FieldValueForbidden', field, message: 'may not be changed in an update.' })),
    );
  },
  validateDelete(obj) {
    const name = obj.metadata.name ?? '';
    if (isSystemPriorityClass(name)) {
      throw new ForbiddenError(`priorityclasses.scheduling.k8s.io "${name}" is forbidden: the system priority class ${name} may not be deleted`, {
        name,
        group: 'scheduling.k8s.io',
        kind: 'priorityclasses',
      });
    }
  },
};
