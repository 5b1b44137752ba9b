// Recording Kubernetes Events (Scheduled, FailedScheduling, Started, Killing, …) from any
// component. Fire-and-forget: a lost event is logged, never a failure of the caller's work.
import { formatMicroTime, formatTime } from '../api/meta.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../logging.js';
import type { ApiClient } from './http-client.js';

export interface InvolvedObject {
  kind: string;
  name: string;
  namespace?: string;
  uid?: string;
  apiVersion?: string;
}

export class EventRecorder {
  private seq = 0;

  constructor(
    private readonly client: ApiClient,
    private readonly source: { component: string; host?: string },
    private readonly log?: Logger,
  ) {}

  /** The event's promise, for callers (tests) that want to wait; others may ignore it. */
  record(involved: InvolvedObject, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const now = new Date();
    const namespace = involved.namespace ?? 'default';
    // Unique, sortable names, as Kubernetes builds them: <object>.<hex nanoseconds>.
    const name = `${involved.name}.${(now.getTime() * 1000 + (this.seq++ % 1000)).toString(16)}`;
    const body = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: { ...involved, namespace: involved.namespace },
      reason,
      message,
      type,
      source: { component: this.source.component, ...(this.source.host ? { host: this.source.host } : {}) },
      firstTimestamp: formatTime(now),
      lastTimestamp: formatTime(now),
      eventTime: formatMicroTime(now),
      count: 1,
      reportingComponent: this.source.component,
      reportingInstance: this.source.host ?? this.source.component,
      action: reason,
    };
    return this.client.create({ namespace, resource: 'events' }, body).then(
      () => undefined,
      (err: unknown) => {
        this.log?.warn('could not record event', { reason, object: `${namespace}/${involved.name}`, error: errorMessage(err) });
      },
    );
  }
}
