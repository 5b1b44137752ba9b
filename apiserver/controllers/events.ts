// Events recorded by the controllers inside the API server, written through the REST layer (so
// they are validated and watched like any client's). Fire-and-forget: a lost event is logged,
// never a failure of the controller's work.
import { randomBytes } from 'node:crypto';
import { formatMicroTime, formatTime } from '../../shared/api/meta.js';
import { errorMessage } from '../../shared/errors.js';
import type { Logger } from '../../shared/logging.js';
import type { RestResource } from '../registry/rest.js';

export interface EventTarget {
  kind: string;
  name: string;
  namespace?: string;
  uid?: string;
  apiVersion?: string;
}

export type RecordEvent = (target: EventTarget, type: 'Normal' | 'Warning', reason: string, message: string) => void;

export function eventRecorder(events: RestResource, component: string, log: Logger): RecordEvent {
  return (target, type, reason, message) => {
    const now = new Date();
    // Cluster-scoped objects' events go to `default`, as Kubernetes puts node events there.
    const namespace = target.namespace ?? 'default';
    const body = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${target.name}.${randomBytes(8).toString('hex')}`, namespace },
      involvedObject: target,
      reason,
      message,
      type,
      source: { component },
      firstTimestamp: formatTime(now),
      lastTimestamp: formatTime(now),
      eventTime: formatMicroTime(now),
      count: 1,
      reportingComponent: component,
      reportingInstance: component,
      action: reason,
    };
    events.create(namespace, body).catch((err: unknown) => {
      log.warn('could not record event', { reason, object: `${namespace}/${target.name}`, error: errorMessage(err) });
    });
  };
}
