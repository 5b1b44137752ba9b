// `cellctl events`: the namespace's (or, with -A, the cluster's) events, oldest first, as
// `kubectl events` prints them; `--for TYPE/NAME` narrows to one object, `-w` keeps printing.
import type { Event } from '../../shared/api/core.js';
import { eventsResource } from '../../shared/api/registry.js';
import type { WatchEvent } from '../../shared/client/http-client.js';
import { age } from '../../shared/duration.js';
import { escapeFieldValue } from '../../shared/fields.js';
import type { Cli } from '../context.js';
import { UsageError } from '../errors.js';
import { parseOutputFormat, toJson, toYaml, asList } from '../output/printers.js';
import { alignRow, columnWidths, formatRows } from '../output/table.js';
import { parseTargets, refFor } from '../resources.js';
import { eventTime } from './describe.js';

export interface EventsOptions {
  allNamespaces?: boolean;
  for?: string;
  watch?: boolean;
  types?: string;
  output?: string;
  headers?: boolean;
}

function lastSeen(ev: Event): string {
  const last = ev.lastTimestamp ?? ev.series?.lastObservedTime ?? ev.eventTime ?? ev.metadata.creationTimestamp;
  const count = ev.series?.count ?? ev.count ?? 1;
  const first = ev.firstTimestamp ?? ev.eventTime;
  return count > 1 && first ? `${age(last)} (x${count} over ${age(first)})` : age(last);
}

export async function runEvents(cli: Cli, o: EventsOptions): Promise<number> {
  const format = parseOutputFormat(o.output, ['table', 'json', 'yaml']);
  const selectors: string[] = [];
  if (o.for) {
    const { targets } = await parseTargets(cli.types, [o.for]);
    const t = targets[0]!;
    if (targets.length !== 1 || t.names.length !== 1) throw new UsageError(`--for must be TYPE/NAME (e.g. pod/web-1), not "${o.for}"`);
    selectors.push(`involvedObject.kind=${escapeFieldValue(t.info.kind)}`, `involvedObject.name=${escapeFieldValue(t.names[0]!)}`);
  }
  const types = o.types ? o.types.split(',').map((s) => s.trim()).filter((s) => s !== '') : [];
  for (const t of types) if (t !== 'Normal' && t !== 'Warning') throw new UsageError(`invalid event type "${t}": must be Normal or Warning`);
  const keep = (e: Event) => types.length === 0 || types.includes(e.type ?? 'Normal');
  const namespace = o.allNamespaces ? undefined : cli.namespace;
  const ref = refFor(eventsResource, namespace);
  const query = { fieldSelector: selectors.length > 0 ? selectors.join(',') : undefined };

  const list = await cli.client.list<{ metadata?: { resourceVersion?: string }; items: Event[] }>(ref, query);
  const events = list.items.filter(keep).sort((a, b) => eventTime(a) - eventTime(b));
  if (format.kind === 'json' || format.kind === 'yaml') {
    const data = asList(events);
    if (!o.watch) {
      cli.print(format.kind === 'json' ? toJson(data) : toYaml(data));
      return 0;
    }
  }
  const header = [...(namespace === undefined ? ['NAMESPACE'] : []), 'LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE'];
  const row = (e: Event): string[] => {
    const type = e.type ?? 'Normal';
    return [
      ...(namespace === undefined ? [e.metadata.namespace ?? ''] : []),
      lastSeen(e),
      type === 'Warning' ? cli.out.yellow(type) : type,
      e.reason ?? '',
      `${(e.involvedObject.kind ?? '').toLowerCase()}/${e.involvedObject.name ?? ''}`,
      (e.message ?? '').trim(),
    ];
  };
  let widths: number[] = [];
  if (format.kind === 'table') {
    const rows = events.map(row);
    if (rows.length === 0) {
      cli.note(`No events found${namespace ? ` in ${namespace} namespace` : ''}.`);
      if (!o.watch) return 0;
    } else {
      const all = o.headers === false ? rows : [header, ...rows];
      widths = columnWidths(all);
      cli.print(formatRows(all));
    }
  } else {
    for (const e of events) cli.print(format.kind === 'json' ? toJson(e) : `---\n${toYaml(e)}`);
  }
  if (!o.watch) return 0;

  const ac = new AbortController();
  const done = new Promise<void>((resolve) => {
    const stop = () => {
      ac.abort();
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  let resourceVersion = list.metadata?.resourceVersion ?? '';
  let headerShown = widths.length > 0 || o.headers === false;
  while (!ac.signal.aborted) {
    let expired = false;
    const onEvent = (ev: WatchEvent<Event>) => {
      if (ev.type === 'ERROR') {
        // Our resourceVersion fell out of history (410): re-list for a fresh one below.
        expired = true;
        return;
      }
      if (ev.type === 'DELETED') return;
      resourceVersion = ev.object.metadata.resourceVersion ?? resourceVersion;
      if (ev.type === 'BOOKMARK' || !keep(ev.object)) return;
      if (format.kind !== 'table') {
        cli.print(format.kind === 'json' ? toJson(ev.object) : `---\n${toYaml(ev.object)}`);
        return;
      }
      const r = row(ev.object);
      const lines = headerShown ? [r] : [header, r];
      headerShown = true;
      widths = columnWidths([widths.map((w) => ' '.repeat(w)), ...lines]);
      cli.print(lines.map((l) => `${alignRow(l, widths)}\n`).join(''));
    };
    await Promise.race([cli.client.watch<Event>(ref, { ...query, resourceVersion, allowWatchBookmarks: 'true' }, onEvent, ac.signal), done]);
    if (expired && !ac.signal.aborted) resourceVersion = (await cli.client.list<{ metadata?: { resourceVersion?: string } }>(ref, { ...query, limit: 1 })).metadata?.resourceVersion ?? '';
  }
  return 0;
}
