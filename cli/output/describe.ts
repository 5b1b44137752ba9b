// The text layout of `cellctl describe`, as kubectl's: `Key:  value` lines at indent levels of
// two spaces, aligned the way Go's tabwriter aligns them (padding 2, each run of consecutive
// lines sharing a column is one block), multi-line values (labels, annotations) continued
// under the first, and small tables (conditions, events) inside.
import { visibleWidth } from './color.js';

const PADDING = 2;

/**
 * Go tabwriter's column blocks: every cell but a line's last is "terminated"; a column's width is
 * decided per run of consecutive lines that have a terminated cell in that column.
 */
export function tabwrite(lines: readonly string[][], padding = PADDING): string {
  const widths: number[][] = lines.map(() => []);
  const block = (from: number, to: number, col: number): void => {
    let i = from;
    while (i < to) {
      if (lines[i]!.length - 1 <= col) {
        i++;
        continue;
      }
      let j = i;
      let width = 0;
      while (j < to && lines[j]!.length - 1 > col) {
        width = Math.max(width, visibleWidth(lines[j]![col]!) + padding);
        j++;
      }
      for (let k = i; k < j; k++) widths[k]![col] = width;
      block(i, j, col + 1);
      i = j;
    }
  };
  block(0, lines.length, 0);
  return lines
    .map((cells, li) =>
      cells
        .map((c, ci) => (ci < cells.length - 1 ? c + ' '.repeat(Math.max(0, widths[li]![ci]! - visibleWidth(c))) : c))
        .join('')
        .trimEnd(),
    )
    .map((l) => `${l}\n`)
    .join('');
}

export class DescribeWriter {
  private readonly lines: string[][] = [];

  /** One line at `level` (two spaces each): `w.line(0, 'Name:', 'web')`. */
  line(level: number, ...cells: string[]): void {
    const indent = '  '.repeat(level);
    this.lines.push(cells.length === 0 ? [''] : [indent + cells[0]!, ...cells.slice(1)]);
  }

  /** `Key:  a=b` then each further entry under the first (`<none>` when empty). */
  multiline(level: number, key: string, entries: readonly string[]): void {
    if (entries.length === 0) {
      this.line(level, key, '<none>');
      return;
    }
    entries.forEach((e, i) => this.line(level, i === 0 ? key : '', e));
  }

  /** A table inside the description: header, dashes, rows (kubectl's Conditions / Events layout). */
  table(level: number, header: readonly string[], rows: readonly string[][]): void {
    this.line(level, ...header);
    this.line(level, ...header.map((h) => '-'.repeat(h.length)));
    for (const r of rows) this.line(level, ...r);
  }

  toString(): string {
    return tabwrite(this.lines);
  }
}

/** `k=v` entries, sorted, with the bookkeeping annotation kubectl also hides. */
export function keyValues(map: Record<string, string> | undefined, hide: readonly string[] = []): string[] {
  return Object.entries(map ?? {})
    .filter(([k]) => !hide.includes(k))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`);
}

/**
 * Anything else, as kubectl describes objects it has no describer for: nested keys indented,
 * scalars after their key, list items one per block.
 */
export function describeTree(w: DescribeWriter, level: number, value: unknown): void {
  if (Array.isArray(value)) {
    value.forEach((item) => {
      if (typeof item === 'object' && item !== null) describeTree(w, level, item);
      else w.line(level, String(item));
    });
    return;
  }
  if (typeof value !== 'object' || value === null) {
    w.line(level, String(value));
    return;
  }
  for (const [k, v] of Object.entries(value)) {
    const key = `${k.charAt(0).toUpperCase()}${k.slice(1)}:`;
    if (v === null || v === undefined) w.line(level, key, '<none>');
    else if (typeof v !== 'object') w.line(level, key, String(v));
    else if (Array.isArray(v) && v.every((x) => typeof x !== 'object' || x === null)) w.line(level, key, v.length === 0 ? '<none>' : v.map(String).join(', '));
    else if (Object.keys(v).length === 0) w.line(level, key, '<none>');
    else {
      w.line(level, key);
      describeTree(w, level + 1, v);
    }
  }
}
