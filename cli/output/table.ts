// Column-aligned text the way kubectl prints it: Go's tabwriter with padding 3 (every column is
// as wide as its widest cell plus three spaces; the last column is not padded), upper-case
// headers, and the server's meta.k8s.io Table turned into such rows.
import type { TableColumnDefinition, TableRow } from '../../shared/api/meta.js';
import { visibleWidth } from './color.js';

const PADDING = 3;

function pad(cell: string, width: number): string {
  return cell + ' '.repeat(Math.max(0, width - visibleWidth(cell)));
}

export function columnWidths(rows: readonly string[][]): number[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, visibleWidth(cell));
    });
  }
  return widths;
}

/** One aligned line; `widths` may be narrower than the cells (a watch row longer than the first rows). */
export function alignRow(row: readonly string[], widths: readonly number[]): string {
  return row
    .map((cell, i) => (i === row.length - 1 ? cell : pad(cell, (widths[i] ?? 0) + PADDING)))
    .join('')
    .trimEnd();
}

/** Rows (header first, if any) as aligned lines, each ending in a newline. */
export function formatRows(rows: readonly string[][]): string {
  const widths = columnWidths(rows);
  return rows.map((r) => `${alignRow(r, widths)}\n`).join('');
}

/** What a Table cell prints as: kubectl shows absent values as `<none>` and numbers plainly. */
export function cellText(v: unknown): string {
  if (v === undefined || v === null) return '<none>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/** A server Table prepared for printing. */
export interface PrintableTable {
  header: string[];
  rows: string[][];
  /** The row objects (PartialObjectMetadata or full objects), parallel to `rows`. */
  objects: (Record<string, unknown> | undefined)[];
}

export interface TableOptions {
  /** Include priority > 0 columns (`-o wide`). */
  wide: boolean;
  /** Prepend NAMESPACE (`-A`). */
  withNamespace: boolean;
  /** Prefix names with `pod/` (several types in one `get`). */
  kindPrefix?: string;
  /** Append LABELS (`--show-labels`). */
  showLabels: boolean;
}

interface RowMeta {
  metadata?: { namespace?: string; labels?: Record<string, string> };
}

function labelsText(labels: Record<string, string> | undefined): string {
  const entries = Object.entries(labels ?? {});
  return entries.length === 0 ? '<none>' : entries.map(([k, v]) => `${k}=${v}`).join(',');
}

/** Indexes of the columns to print (priority 0 always; the rest only wide). */
export function visibleColumns(defs: readonly TableColumnDefinition[], wide: boolean): number[] {
  return defs.flatMap((d, i) => ((d.priority ?? 0) === 0 || wide ? [i] : []));
}

/** One row's cells in print order, given the chosen columns (watch events reuse the first list's). */
export function rowCells(row: TableRow, defs: readonly TableColumnDefinition[], columns: readonly number[], opts: TableOptions): string[] {
  const meta = row.object as RowMeta | undefined;
  const cells = columns.map((i) => {
    const text = cellText(row.cells[i]);
    return opts.kindPrefix && defs[i]?.format === 'name' ? `${opts.kindPrefix}/${text}` : text;
  });
  if (opts.withNamespace) cells.unshift(meta?.metadata?.namespace ?? '');
  if (opts.showLabels) cells.push(labelsText(meta?.metadata?.labels));
  return cells;
}

export function headerCells(defs: readonly TableColumnDefinition[], columns: readonly number[], opts: TableOptions): string[] {
  const header = columns.map((i) => (defs[i]?.name ?? '').toUpperCase());
  if (opts.withNamespace) header.unshift('NAMESPACE');
  if (opts.showLabels) header.push('LABELS');
  return header;
}

export function printableTable(defs: readonly TableColumnDefinition[], rows: readonly TableRow[], opts: TableOptions): PrintableTable {
  const columns = visibleColumns(defs, opts.wide);
  return {
    header: headerCells(defs, columns, opts),
    rows: rows.map((r) => rowCells(r, defs, columns, opts)),
    objects: rows.map((r) => r.object),
  };
}
