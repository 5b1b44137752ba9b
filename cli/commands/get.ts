// `cellctl get`: lists and objects as the server's Table (the columns kubectl would print, wide
// columns with -o wide), or as json/yaml/name/jsonpath; `-w` keeps printing rows as watch
// events arrive, with the widths of the first rows so the columns stay lined up.
import type { TableColumnDefinition, TableRow } from '../../shared/api/meta.js';
import type { ResourceInfo } from '../../shared/api/registry.js';
import { errorFromStatus, isStatus, resourceUrlPath, type WatchEvent } from '../../shared/client/http-client.js';
import { age } from '../../shared/duration.js';
import { ExpiredError, NotFoundError } from '../../shared/errors.js';
import { UsageError } from '../errors.js';
import type { Cli } from '../context.js';
import { formatObjects, objectName, parseOutputFormat, qualifiedKind, toJson, toYaml, type OutputFormat } from '../output/printers.js';
import { alignRow, columnWidths, formatRows, headerCells, printableTable, rowCells, visibleColumns, type TableOptions } from '../output/table.js';
import { parseTargets, refFor, type Target } from '../resources.js';

/** What kubectl sends: a Table if the server can, plain JSON otherwise. */
export const TABLE_ACCEPT = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';

export interface ServerTable {
  kind: 'Table';
  metadata?: { resourceVersion?: string };
  columnDefinitions: TableColumnDefinition[];
  rows: TableRow[];
}

export interface ObjectList {
  metadata?: { resourceVersion?: string };
  items: Record<string, unknown>[];
}

interface Meta {
  name?: string;
  namespace?: string;
  resourceVersion?: string;
  creationTimestamp?: string;
}

export interface GetOptions {
  output?: string;
  selector?: string;
  fieldSelector?: string;
  watch?: boolean;
  watchOnly?: boolean;
  allNamespaces?: boolean;
  showLabels?: boolean;
  headers?: boolean;
  outputWatchEvents?: boolean;
  ignoreNotFound?: boolean;
}

function isTable(v: unknown): v is ServerTable {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'Table';
}

/** A server that answered in plain JSON still gets NAME and AGE columns. */
function fallbackTable(body: unknown): ServerTable {
  const items = Array.isArray((body as ObjectList).items) ? (body as ObjectList).items : [body as Record<string, unknown>];
  return {
    kind: 'Table',
    metadata: { resourceVersion: (body as ObjectList).metadata?.resourceVersion ?? '' },
    columnDefinitions: [
      { name: 'Name', type: 'string', format: 'name', priority: 0 },
      { name: 'Age', type: 'string', format: '', priority: 0 },
    ],
    rows: items.map((o) => {
      const meta = (o.metadata ?? {}) as Meta;
      return { cells: [meta.name ?? '', age(meta.creationTimestamp)], object: o };
    }),
  };
}

export function selectorQuery(o: { selector?: string; fieldSelector?: string }): Record<string, string | undefined> {
  return { labelSelector: o.selector || undefined, fieldSelector: o.fieldSelector || undefined };
}

/** One collection, or one object, in Table form. */
export async function fetchTable(cli: Cli, info: ResourceInfo, namespace: string | undefined, name: string | undefined, query: Record<string, string | undefined>): Promise<ServerTable> {
  const body = await cli.client.request<unknown>('GET', resourceUrlPath(refFor(info, namespace, name)), { query, accept: TABLE_ACCEPT });
  return isTable(body) ? body : fallbackTable(body);
}

/** Objects as full JSON, with apiVersion and kind filled in (list items may omit them). */
export async function fetchObjects(cli: Cli, info: ResourceInfo, namespace: string | undefined, query: Record<string, string | undefined>): Promise<{ objects: Record<string, unknown>[]; resourceVersion: string }> {
  const list = await cli.client.list<ObjectList>(refFor(info, namespace), query);
  return { objects: list.items.map((o) => withTypeMeta(info, o)), resourceVersion: list.metadata?.resourceVersion ?? '' };
}

export function withTypeMeta(info: ResourceInfo, o: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: info.apiVersion, kind: info.kind, ...o };
}

function scopeText(cli: Cli, o: GetOptions, targets: Target[]): string {
  if (o.allNamespaces || targets.every((t) => !t.info.namespaced)) return '';
  return ` in ${cli.namespace} namespace`;
}

export async function runGet(cli: Cli, args: string[], o: GetOptions): Promise<number> {
  const format = parseOutputFormat(o.output);
  const { targets, multipleTypes } = await parseTargets(cli.types, args, { categories: true });
  const named = targets.some((t) => t.names.length > 0);
  if (named && (o.selector || o.fieldSelector)) throw new UsageError('a label or field selector cannot be combined with resource names');
  if (o.watch || o.watchOnly) {
    if (targets.length !== 1) throw new UsageError('you may only specify a single resource type with --watch');
    const t = targets[0]!;
    if (t.names.length > 1) throw new UsageError('you may only watch a single object by name (or use -l)');
    return watchTarget(cli, t, format, o);
  }
  const namespace = o.allNamespaces ? undefined : cli.namespace;
  const query = selectorQuery(o);
  let failed = false;
  const reportMissing = (err: unknown): void => {
    if (err instanceof NotFoundError && o.ignoreNotFound) return;
    if (!(err instanceof NotFoundError)) throw err;
    cli.error(err.message);
    failed = true;
  };

  if (format.kind === 'table') {
    const blocks: string[] = [];
    for (const t of targets) {
      const opts: TableOptions = {
        wide: format.wide,
        withNamespace: o.allNamespaces === true && t.info.namespaced,
        showLabels: o.showLabels === true,
        ...(multipleTypes ? { kindPrefix: qualifiedKind(t.info) } : {}),
      };
      const tables: ServerTable[] = [];
      if (t.names.length === 0) tables.push(await fetchTable(cli, t.info, namespace, undefined, query));
      for (const name of t.names) {
        try {
          tables.push(await fetchTable(cli, t.info, cli.namespace, name, {}));
        } catch (err) {
          reportMissing(err);
        }
      }
      const defs = tables[0]?.columnDefinitions ?? [];
      const rows = tables.flatMap((tb) => tb.rows);
      if (rows.length === 0) continue;
      const printable = printableTable(defs, rows, opts);
      blocks.push(formatRows(o.headers === false ? printable.rows : [printable.header, ...printable.rows]));
    }
    if (blocks.length > 0) cli.print(blocks.join('\n'));
    else if (!named) cli.note(`No resources found${scopeText(cli, o, targets)}.`);
    return failed ? 1 : 0;
  }

  const objects: { info: ResourceInfo; object: Record<string, unknown> }[] = [];
  for (const t of targets) {
    if (t.names.length === 0) {
      const { objects: items } = await fetchObjects(cli, t.info, namespace, query);
      objects.push(...items.map((object) => ({ info: t.info, object })));
    }
    for (const name of t.names) {
      try {
        const obj = await cli.client.get<Record<string, unknown>>(refFor(t.info, cli.namespace, name));
        objects.push({ info: t.info, object: withTypeMeta(t.info, obj) });
      } catch (err) {
        reportMissing(err);
      }
    }
  }
  const single = targets.length === 1 && targets[0]!.names.length === 1;
  if (objects.length > 0 || !single) cli.print(formatObjects(format, objects, single));
  if (objects.length === 0 && !named && format.kind === 'name') cli.note(`No resources found${scopeText(cli, o, targets)}.`);
  return failed ? 1 : 0;
}

/** Resolves when the user interrupts (Ctrl-C) or the process is told to stop. */
function interrupted(): { signal: AbortSignal; done: Promise<void> } {
  const ac = new AbortController();
  const done = new Promise<void>((resolve) => {
    const stop = () => {
      ac.abort();
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return { signal: ac.signal, done };
}

/** `get -w`: the current state (unless --watch-only), then one row or object per change, until interrupted. */
async function watchTarget(cli: Cli, t: Target, format: OutputFormat, o: GetOptions): Promise<number> {
  const info = t.info;
  const namespace = o.allNamespaces ? undefined : cli.namespace;
  const name = t.names[0];
  const query = name !== undefined ? { fieldSelector: `metadata.name=${name}` } : selectorQuery(o);
  const { signal, done } = interrupted();
  const tableMode = format.kind === 'table';
  const opts: TableOptions = {
    wide: tableMode && format.wide,
    withNamespace: o.allNamespaces === true && info.namespaced,
    showLabels: o.showLabels === true,
  };
  let defs: TableColumnDefinition[] = [];
  let widths: number[] = [];
  let headerPrinted = o.headers === false;
  let resourceVersion = '';

  const printRows = (rows: string[][], eventType?: string) => {
    const withEvent = o.outputWatchEvents ? rows.map((r) => [eventType ?? 'ADDED', ...r]) : rows;
    if (!headerPrinted) {
      const columns = visibleColumns(defs, opts.wide);
      const header = headerCells(defs, columns, opts);
      const all = [o.outputWatchEvents ? ['EVENT', ...header] : header, ...withEvent];
      // Room for the longest event type, so MODIFIED rows line up with the first ADDED ones.
      widths = columnWidths(o.outputWatchEvents ? [['MODIFIED'], ...all] : all);
      cli.print(all.map((r) => `${alignRow(r, widths)}\n`).join(''));
      headerPrinted = true;
      return;
    }
    widths = columnWidths([widths.map((w) => ' '.repeat(w)), ...withEvent]);
    cli.print(withEvent.map((r) => `${alignRow(r, widths)}\n`).join(''));
  };
  const printObject = (obj: Record<string, unknown>) => {
    if (format.kind === 'table') return;
    const full = withTypeMeta(info, obj);
    if (format.kind === 'yaml') cli.print(`---\n${toYaml(full)}`);
    else if (format.kind === 'json') cli.print(toJson(full));
    else if (format.kind === 'name') cli.print(`${objectName(info, String((full.metadata as Meta | undefined)?.name ?? ''))}\n`);
    else cli.print(format.template.execute(full));
  };

  /** List once: the columns, the starting resourceVersion, and (unless --watch-only) the rows. */
  const list = async (print: boolean) => {
    if (tableMode) {
      const table = await fetchTable(cli, info, namespace, undefined, query);
      defs = table.columnDefinitions;
      resourceVersion = table.metadata?.resourceVersion ?? '';
      if (print) {
        const rows = table.rows.map((r) => rowCells(r, defs, visibleColumns(defs, opts.wide), opts));
        if (rows.length > 0) printRows(rows);
        else if (!o.watchOnly) cli.note(`No resources found${scopeText(cli, o, [t])}.`);
      }
    } else {
      const { objects, resourceVersion: rv } = await fetchObjects(cli, info, namespace, query);
      resourceVersion = rv;
      if (print) objects.forEach(printObject);
    }
  };
  await list(!o.watchOnly);

  while (!signal.aborted) {
    let expired = false;
    const onEvent = (ev: WatchEvent<unknown>) => {
      if (ev.type === 'ERROR') {
        const err = isStatus(ev.object) ? errorFromStatus(ev.object) : new ExpiredError('watch failed');
        if (err instanceof ExpiredError) {
          expired = true;
          return;
        }
        throw err;
      }
      if (ev.type === 'BOOKMARK') {
        resourceVersion = (ev.object as { metadata?: Meta }).metadata?.resourceVersion ?? resourceVersion;
        return;
      }
      if (tableMode) {
        const table = ev.object as ServerTable;
        for (const row of table.rows ?? []) {
          resourceVersion = (row.object as { metadata?: Meta } | undefined)?.metadata?.resourceVersion ?? resourceVersion;
          printRows([rowCells(row, defs, visibleColumns(defs, opts.wide), opts)], ev.type);
        }
      } else {
        const obj = ev.object as Record<string, unknown>;
        resourceVersion = (obj.metadata as Meta | undefined)?.resourceVersion ?? resourceVersion;
        if (o.outputWatchEvents && format.kind !== 'jsonpath') cli.print(`${ev.type} `);
        printObject(obj);
      }
    };
    await Promise.race([
      cli.client.watch(refFor(info, namespace), { ...query, resourceVersion, allowWatchBookmarks: 'true' }, onEvent, signal, tableMode ? { accept: TABLE_ACCEPT } : {}),
      done,
    ]);
    // The stream ended (server timeout, restart) or history moved on: pick up where we were,
    // re-listing quietly when our resourceVersion is too old.
    if (expired && !signal.aborted) await list(false);
  }
  return 0;
}
