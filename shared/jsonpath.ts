// kubectl's JSONPath templates (`-o jsonpath='{.items[*].metadata.name}'`, and the printer columns
// of custom resources), the subset people actually type: literal text between `{…}` actions;
// fields `.a.b` (with `\.` for dots inside a key, and `['a.b/c']`); `..name` recursive descent;
// `[n]`, `[-1]`, `[a:b]`, `[*]`, `.*`; filters `[?(@.x == "v")]` (==, !=, <, <=, >, >=, or a bare path for "exists");
// `{range EXPR}…{end}`; string literals `{"\n"}`; `$` and `@`. Like kubectl (whose
// --allow-missing-template-keys defaults to true) a missing field prints nothing; strings print
// raw, other values as JSON; several results of one action are separated by spaces.

type Segment =
  | { kind: 'field'; name: string }
  | { kind: 'recursive'; name: string | '*' }
  | { kind: 'wildcard' }
  | { kind: 'index'; index: number }
  | { kind: 'slice'; start?: number; end?: number; step?: number }
  | { kind: 'filter'; left: Segment[]; op?: string; right?: Segment[] | string | number | boolean | null };

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'path'; segments: Segment[] }
  | { kind: 'range'; segments: Segment[]; body: Node[] };

/** A template that does not parse: the CLI reports it as a usage error, the API server as a field cause. */
export class JsonPathError extends Error {
  override readonly name = 'JsonPathError';
}

function fail(template: string, message: string): never {
  throw new JsonPathError(`error parsing jsonpath ${template}: ${message}`);
}

/** Split a template into literal text and `{…}` actions (braces inside quotes do not count). */
function actions(template: string): { text?: string; action?: string }[] {
  const out: { text?: string; action?: string }[] = [];
  let i = 0;
  while (i < template.length) {
    const open = template.indexOf('{', i);
    if (open < 0) {
      out.push({ text: template.slice(i) });
      break;
    }
    if (open > i) out.push({ text: template.slice(i, open) });
    let j = open + 1;
    let quote: string | undefined;
    for (; j < template.length; j++) {
      const c = template[j]!;
      if (quote) {
        if (c === '\\') j++;
        else if (c === quote) quote = undefined;
      } else if (c === '"' || c === "'") quote = c;
      else if (c === '}') break;
    }
    if (j >= template.length) fail(template, 'unclosed action');
    out.push({ action: template.slice(open + 1, j).trim() });
    i = j + 1;
  }
  return out;
}

function unescapeString(s: string): string {
  return s.replace(/\\(.)/g, (_m, c: string) => ({ n: '\n', t: '\t', r: '\r', '0': '\0' })[c] ?? c);
}

/** Parse `.a.b[0]['x']..c[?(@.d=="e")]` into segments. */
class PathParser {
  private i = 0;
  constructor(
    private readonly src: string,
    private readonly template: string,
  ) {}

  parse(): Segment[] {
    const segs = this.segments();
    if (this.i < this.src.length) fail(this.template, `unexpected "${this.src.slice(this.i)}"`);
    return segs;
  }

  segments(stopAt = ''): Segment[] {
    const segs: Segment[] = [];
    const s = this.src;
    if (s[this.i] === '$' || s[this.i] === '@') this.i++;
    while (this.i < s.length && !stopAt.includes(s[this.i]!)) {
      const c = s[this.i]!;
      if (c === '.' && s[this.i + 1] === '.') {
        this.i += 2;
        if (s[this.i] === '*') {
          this.i++;
          segs.push({ kind: 'recursive', name: '*' });
        } else segs.push({ kind: 'recursive', name: this.identifier() });
      } else if (c === '.') {
        this.i++;
        if (s[this.i] === '*') {
          this.i++;
          segs.push({ kind: 'wildcard' });
        } else if (s[this.i] === '[' || this.i >= s.length) {
          // `.[0]` and a trailing `.` (`{.}`, the whole object) are both fine.
        } else segs.push({ kind: 'field', name: this.identifier() });
      } else if (c === '[') {
        segs.push(this.bracket());
      } else if (/[A-Za-z_]/.test(c) && segs.length === 0) {
        // kubectl accepts `{items[0]}` without the leading dot.
        segs.push({ kind: 'field', name: this.identifier() });
      } else if (c === ' ') {
        this.i++;
      } else {
        fail(this.template, `unexpected "${c}" in ${this.src}`);
      }
    }
    return segs;
  }

  private identifier(): string {
    let name = '';
    const s = this.src;
    while (this.i < s.length) {
      const c = s[this.i]!;
      if (c === '\\' && this.i + 1 < s.length) {
        name += s[this.i + 1];
        this.i += 2;
        continue;
      }
      if (c === '.' || c === '[' || c === ' ' || c === ')' || c === '=' || c === '!' || c === '<' || c === '>') break;
      name += c;
      this.i++;
    }
    if (name === '') fail(this.template, `expected a field name at "${s.slice(this.i)}"`);
    return name;
  }

  private bracket(): Segment {
    const s = this.src;
    this.i++; // [
    if (s[this.i] === '?') {
      if (s[this.i + 1] !== '(') fail(this.template, 'expected "(" after "?"');
      this.i += 2;
      const seg = this.filter();
      if (s[this.i] !== ')' || s[this.i + 1] !== ']') fail(this.template, 'unclosed filter');
      this.i += 2;
      return seg;
    }
    const close = this.findClose();
    const inner = s.slice(this.i, close).trim();
    this.i = close + 1;
    if (inner === '*') return { kind: 'wildcard' };
    const quoted = /^(['"])(.*)\1$/s.exec(inner);
    if (quoted) return { kind: 'field', name: unescapeString(quoted[2]!) };
    if (/^-?\d+$/.test(inner)) return { kind: 'index', index: Number(inner) };
    const slice = /^(-?\d*):(-?\d*)(?::(-?\d*))?$/.exec(inner);
    if (slice) {
      const num = (v: string | undefined) => (v === undefined || v === '' ? undefined : Number(v));
      const seg: Segment = { kind: 'slice' };
      const [start, end, step] = [num(slice[1]), num(slice[2]), num(slice[3])];
      if (start !== undefined) seg.start = start;
      if (end !== undefined) seg.end = end;
      if (step !== undefined) seg.step = step;
      return seg;
    }
    return fail(this.template, `invalid array index or key [${inner}]`);
  }

  private findClose(): number {
    let quote: string | undefined;
    for (let j = this.i; j < this.src.length; j++) {
      const c = this.src[j]!;
      if (quote) {
        if (c === '\\') j++;
        else if (c === quote) quote = undefined;
      } else if (c === '"' || c === "'") quote = c;
      else if (c === ']') return j;
    }
    return fail(this.template, 'unclosed "["');
  }

  private filter(): Segment {
    this.skipSpaces();
    const left = this.operand();
    this.skipSpaces();
    const op = /^(==|!=|<=|>=|<|>)/.exec(this.src.slice(this.i))?.[1];
    if (op === undefined) {
      if (!Array.isArray(left)) fail(this.template, 'a filter needs a path on its left');
      return { kind: 'filter', left };
    }
    this.i += op.length;
    this.skipSpaces();
    const right = this.operand();
    this.skipSpaces();
    if (!Array.isArray(left)) fail(this.template, 'a filter needs a path on its left');
    return { kind: 'filter', left, op, right };
  }

  private operand(): Segment[] | string | number | boolean | null {
    const s = this.src;
    const c = s[this.i];
    if (c === '@' || c === '$') return this.segments(' =!<>)');
    if (c === '"' || c === "'") {
      let j = this.i + 1;
      for (; j < s.length && s[j] !== c; j++) if (s[j] === '\\') j++;
      if (j >= s.length) fail(this.template, 'unclosed string in filter');
      const v = unescapeString(s.slice(this.i + 1, j));
      this.i = j + 1;
      return v;
    }
    const lit = /^(-?\d+(?:\.\d+)?|true|false|null)/.exec(s.slice(this.i))?.[1];
    if (lit === undefined) fail(this.template, `invalid filter operand at "${s.slice(this.i)}"`);
    this.i += lit.length;
    return lit === 'true' ? true : lit === 'false' ? false : lit === 'null' ? null : Number(lit);
  }

  private skipSpaces(): void {
    while (this.src[this.i] === ' ') this.i++;
  }
}

export function parseJsonPath(template: string): Node[] {
  const root: Node[] = [];
  const stack: Node[][] = [root];
  for (const part of actions(template)) {
    const into = stack[stack.length - 1]!;
    if (part.text !== undefined) {
      into.push({ kind: 'text', text: part.text });
      continue;
    }
    const a = part.action ?? '';
    const literal = /^(["'])(.*)\1$/s.exec(a);
    if (literal) {
      into.push({ kind: 'text', text: unescapeString(literal[2]!) });
    } else if (a === 'end') {
      if (stack.length === 1) fail(template, '{end} without {range}');
      stack.pop();
    } else if (a.startsWith('range ') || a === 'range') {
      const node: Node = { kind: 'range', segments: new PathParser(a.slice(5).trim(), template).parse(), body: [] };
      into.push(node);
      stack.push(node.body);
    } else {
      into.push({ kind: 'path', segments: new PathParser(a, template).parse() });
    }
  }
  if (stack.length > 1) fail(template, '{range} without {end}');
  return root;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function children(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  if (isRecord(v)) return Object.values(v);
  return [];
}

function compare(a: unknown, op: string, b: unknown): boolean {
  // kubectl compares numbers numerically and everything else as text.
  if (typeof a === 'number' && typeof b === 'number') {
    return op === '==' ? a === b : op === '!=' ? a !== b : op === '<' ? a < b : op === '<=' ? a <= b : op === '>' ? a > b : a >= b;
  }
  const x = a === undefined ? undefined : typeof a === 'string' ? a : JSON.stringify(a);
  const y = typeof b === 'string' ? b : JSON.stringify(b);
  if (op === '==') return x === y;
  if (op === '!=') return x !== y;
  if (x === undefined) return false;
  return op === '<' ? x < y : op === '<=' ? x <= y : op === '>' ? x > y : x >= y;
}

function step(values: unknown[], seg: Segment): unknown[] {
  const out: unknown[] = [];
  for (const v of values) {
    switch (seg.kind) {
      case 'field':
        if (isRecord(v) && Object.hasOwn(v, seg.name)) out.push(v[seg.name]);
        break;
      case 'wildcard':
        out.push(...children(v));
        break;
      case 'recursive': {
        const walk = (node: unknown) => {
          if (isRecord(node)) {
            if (seg.name === '*') out.push(...Object.values(node));
            else if (Object.hasOwn(node, seg.name)) out.push(node[seg.name]);
          } else if (Array.isArray(node) && seg.name === '*') out.push(...node);
          for (const c of children(node)) walk(c);
        };
        walk(v);
        break;
      }
      case 'index':
        if (Array.isArray(v)) {
          const i = seg.index < 0 ? v.length + seg.index : seg.index;
          if (i >= 0 && i < v.length) out.push(v[i]);
        }
        break;
      case 'slice':
        if (Array.isArray(v)) {
          const len = v.length;
          const norm = (n: number | undefined, dflt: number) => (n === undefined ? dflt : n < 0 ? Math.max(0, len + n) : Math.min(n, len));
          const stepBy = seg.step ?? 1;
          if (stepBy <= 0) break;
          for (let i = norm(seg.start, 0); i < norm(seg.end, len); i += stepBy) out.push(v[i]);
        }
        break;
      case 'filter':
        for (const item of children(v)) {
          const left = evaluate(seg.left, item);
          if (seg.op === undefined) {
            if (left.length > 0 && left[0] !== false && left[0] !== null) out.push(item);
            continue;
          }
          const right = Array.isArray(seg.right) ? evaluate(seg.right, item)[0] : seg.right;
          if (left.length > 0 && compare(left[0], seg.op, right)) out.push(item);
        }
        break;
    }
  }
  return out;
}

function evaluate(segments: readonly Segment[], root: unknown): unknown[] {
  let values = [root];
  for (const seg of segments) values = step(values, seg);
  return values;
}

function show(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === undefined) return '';
  return JSON.stringify(v);
}

function render(nodes: readonly Node[], current: unknown): string {
  let out = '';
  for (const n of nodes) {
    if (n.kind === 'text') out += n.text;
    else if (n.kind === 'path') out += evaluate(n.segments, current).map(show).join(' ');
    else {
      for (const item of evaluate(n.segments, current)) {
        // `{range .items[*]}` iterates the matches; ranging over one array iterates its elements.
        const each = n.segments.length > 0 && n.segments[n.segments.length - 1]!.kind !== 'field' ? [item] : Array.isArray(item) ? item : [item];
        for (const e of each) out += render(n.body, e);
      }
    }
  }
  return out;
}

/** A compiled template; `execute` renders it against one object or List. */
export class JsonPathTemplate {
  private readonly nodes: Node[];

  constructor(readonly source: string) {
    // kubectl accepts a template without braces as one expression: `-o jsonpath=.metadata.name`.
    const text = source.includes('{') ? source : `{${source}}`;
    this.nodes = parseJsonPath(text);
  }

  execute(data: unknown): string {
    return render(this.nodes, data);
  }

  /** The values a template of one expression selects (`.spec.replicas`), unrendered: printer columns keep their types. */
  values(data: unknown): unknown[] {
    const only = this.nodes.length === 1 ? this.nodes[0] : undefined;
    return only?.kind === 'path' ? evaluate(only.segments, data) : [render(this.nodes, data)];
  }
}
