// Events, newest first, as they arrive over the watch.
import { useState } from 'preact/hooks';
import { EVENTS_KEPT, useLive, type Cluster } from '../cluster.js';
import { EventRows } from './pods.js';

export function Events(props: { cluster: Cluster }) {
  const { events } = props.cluster;
  useLive(events);
  const [warningsOnly, setWarningsOnly] = useState(false);
  const items = [...events.items.values()].filter((e) => !warningsOnly || e.type === 'Warning');
  return (
    <section aria-labelledby="events-title">
      <h1 id="events-title">Events</h1>
      <div class="toolbar">
        <label>
          <input type="checkbox" checked={warningsOnly} onChange={(e) => setWarningsOnly(e.currentTarget.checked)} /> Warnings only
        </label>
        <span>The latest {EVENTS_KEPT} events are kept; the newest 300 are shown.</span>
      </div>
      <EventRows items={items} />
    </section>
  );
}
