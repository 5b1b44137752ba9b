// Recording Kubernetes Events (Scheduled, FailedScheduling, Started, Killing, …) from any
// component. Fire-and-forget: a lost event is logged, never a failure of the caller's work.
//
// An event identical to one this recorder wrote in the last ten minutes (same object, type,
// reason and message: a pod failing to schedule again, a container backing off again) is not a
// new object: the earlier one is patched, count + 1 and a new lastTimestamp, as client-go's event
// correlator does. A crash-looping pod costs one stored event, not one per restart.
import { formatMicroTime, formatTime } from '../api/meta.js';
import { errorMessage, NotFoundError } from '../errors.js';
import type { Logger } from '../logging.js';
import type { ApiClient } from './http-client.js';

export interface InvolvedObject {
  kind: string;
  name: string;
  namespace?: string;
  uid?: string;
  apiVersion?: string;
  /** The part of the object the event is about, e.g. `spec.containers{web}` for a container's events. */
  fieldPath?: string;
}

/** How long an event stays a candidate for repeats to be counted into. */
const SERIES_WINDOW_MS = 10 * 60_000;
/** Events remembered for deduplication (least recently recorded forgotten first). */
const MAX_REMEMBERED = 4096;

interface Remembered {
  namespace: string;
  name: string;
  count: number;
  at: number;
  /** The write of this event in flight (a repeat waits for it, so counts never go backwards). */
  writing: Promise<boolean>;
}

export class EventRecorder {
  private seq = 0;
  private readonly recent = new Map<string, Remembered>();

  constructor(
    private readonly client: ApiClient,
    private readonly source: { component: string; host?: string },
    private readonly log?: Logger,
  ) {}

  /** The event's promise, for callers (tests) that want to wait; others may ignore it. */
  record(involved: InvolvedObject, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const now = new Date();
    const namespace = involved.namespace ?? 'default';
    const key = JSON.stringify([namespace, involved.kind, involved.name, involved.uid ?? '', involved.fieldPath ?? '', type, reason, message]);
    const seen = this.recent.get(key);
    if (seen && now.getTime() - seen.at < SERIES_WINDOW_MS) {
      this.recent.delete(key);
      this.recent.set(key, seen);
      seen.at = now.getTime();
      const count = ++seen.count;
      seen.writing = seen.writing.then((written) => (written ? this.repeat(seen, count, now, reason) : false));
      return seen.writing.then((repeated) => (repeated ? undefined : this.forgetAndCreate(key, involved, type, reason, message)));
    }
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
    const writing = this.client.create({ namespace, resource: 'events' }, body).then(
      () => true,
      (err: unknown) => {
        this.log?.warn('could not record event', { reason, object: `${namespace}/${involved.name}`, error: errorMessage(err) });
        return false;
      },
    );
    this.recent.set(key, { namespace, name, count: 1, at: now.getTime(), writing });
    if (this.recent.size > MAX_REMEMBERED) this.recent.delete(this.recent.keys().next().value!);
    return writing.then(() => undefined);
  }

  /** Counts a repeat into the stored event; false when it is gone (then a new one is created). */
  private async repeat(seen: Remembered, count: number, now: Date, reason: string): Promise<boolean> {
    try {
      await this.client.patch(
        { namespace: seen.namespace, resource: 'events', name: seen.name },
        { count, lastTimestamp: formatTime(now), series: { count, lastObservedTime: formatMicroTime(now) } },
      );
      return true;
    } catch (err) {
      if (err instanceof NotFoundError) return false;
      this.log?.warn('could not count a repeated event', { reason, event: `${seen.namespace}/${seen.name}`, error: errorMessage(err) });
      return true;
    }
  }

  private forgetAndCreate(key: string, involved: InvolvedObject, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    this.recent.delete(key);
    return this.record(involved, type, reason, message);
  }
}
