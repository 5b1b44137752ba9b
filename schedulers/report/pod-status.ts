// What the scheduler writes on pods besides bindings, through the status subresource:
// the PodScheduled=False condition of a pod that fits nowhere (reason Unschedulable, with the
// FailedScheduling message), and status.nominatedNodeName of a pod that preempted.
// Writes are fire-and-forget: a lost status write is logged, the next attempt writes again.
import type { PodCondition } from '../../shared/api/core.js';
import { formatTime } from '../../shared/api/meta.js';
import type { ApiClient } from '../../shared/client/http-client.js';
import { NotFoundError, errorMessage } from '../../shared/errors.js';
import type { Logger } from '../../shared/logging.js';
import type { PodInfo } from '../cache/pod-info.js';

export class PodStatusWriter {
  constructor(
    private readonly client: ApiClient,
    private readonly log: Logger,
  ) {}

  /** PodScheduled=False, reason Unschedulable (strategic merge: other conditions are kept). */
  unschedulable(pod: PodInfo, message: string): Promise<void> {
    const now = formatTime(new Date());
    const condition: PodCondition = { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message, lastProbeTime: now, lastTransitionTime: now };
    return this.patch(pod, { status: { conditions: [condition] } }, 'unschedulable condition');
  }

  /** Record the node a preempting pod waits for (empty string clears it). */
  nominate(pod: PodInfo, nodeName: string): Promise<void> {
    return this.patch(pod, { status: { nominatedNodeName: nodeName === '' ? null : nodeName } }, 'nominated node');
  }

  /** DisruptionTarget=True on a preemption victim, before it is deleted (as kube-scheduler does). */
  disruptionTarget(pod: PodInfo, message: string): Promise<void> {
    const condition: PodCondition = {
      type: 'DisruptionTarget',
      status: 'True',
      reason: 'PreemptionByScheduler',
      message,
      lastTransitionTime: formatTime(new Date()),
    };
    return this.patch(pod, { status: { conditions: [condition] } }, 'disruption condition');
  }

  private async patch(pod: PodInfo, body: unknown, what: string): Promise<void> {
    try {
      await this.client.patch({ namespace: pod.namespace, resource: 'pods', name: pod.name, subresource: 'status' }, body, 'strategic');
    } catch (err) {
      // A pod deleted meanwhile needs no status; anything else is worth a line in the log.
      if (err instanceof NotFoundError) return;
      this.log.warn(`could not write the ${what}`, { pod: pod.key, error: errorMessage(err) });
    }
  }
}
