// Field selectors for `?fieldSelector=` ("spec.nodeName=node-1,status.phase!=Failed"), with the
// grammar, escaping and matching rules of apimachinery's fields package. Which field names a
// resource supports is decided by the API server, not here.

import { ParseError } from './errors.js';

export type FieldOperator = '=' | '!=';

export interface FieldRequirement {
  readonly field: string;
  readonly operator: FieldOperator;
  /** Unescaped value. */
  readonly value: string;
}

/** A conjunction of field requirements; the empty one selects everything. */
export class FieldSelector {
  readonly requirements: readonly FieldRequirement[];

  constructor(requirements: readonly FieldRequirement[]) {
    // Sorted so equal selectors print identically.
    this.requirements = [...requirements].sort((a, b) => {
      const x = requirementText(a);
      const y = requirementText(b);
      if (x < y) return -1;
      return x > y ? 1 : 0;
    });
  }

  static everything(): FieldSelector {
    return new FieldSelector([]);
  }

  /** As in Kubernetes, a field the object does not have counts as the empty string. */
  matches(fields: Record<string, string>): boolean {
    return this.matchesBy((field) => (Object.hasOwn(fields, field) ? fields[field]! : ''));
  }

  /** matches, reading only the fields it selects on (`valueOf` answers "" for a field the object lacks). */
  matchesBy(valueOf: (field: string) => string): boolean {
    for (const r of this.requirements) {
      const actual = valueOf(r.field);
      if (r.operator === '=' ? actual !== r.value : actual === r.value) return false;
    }
    return true;
  }

  isEverything(): boolean {
    return this.requirements.length === 0;
  }

  /** The value `field` must equal, when some requirement is `field=value` (to serve it from an index). */
  exactMatch(field: string): string | undefined {
    return this.requirements.find((r) => r.field === field && r.operator === '=')?.value;
  }

  /** Canonical string form; `parseFieldSelector(s.toString())` gives an equal selector. */
  toString(): string {
    return this.requirements.map(requirementText).join(',');
  }
}

/** Parses `a=b`, `a==b`, `a!=b` terms joined by commas; empty text (or empty terms) select everything. */
export function parseFieldSelector(text: string): FieldSelector {
  const raw: unknown = text;
  if (typeof raw !== 'string') throw new ParseError('field selector must be a string');
  const requirements: FieldRequirement[] = [];
  for (const term of splitTerms(raw)) {
    if (term === '') continue;
    const split = splitTerm(term);
    if (split === undefined) {
      throw new ParseError(`invalid selector: '${raw}'; can't understand '${term}'`);
    }
    if (split.field === '') {
      throw new ParseError(`invalid selector: '${raw}'; field name missing in '${term}'`);
    }
    requirements.push({ field: split.field, operator: split.operator, value: unescapeValue(split.value, raw) });
  }
  return new FieldSelector(requirements);
}

/** Escapes `\`, `,` and `=` so any string can be used as a field selector value. */
export function escapeFieldValue(value: string): string {
  return value.replace(/[\\,=]/g, (ch) => `\\${ch}`);
}

function requirementText(r: FieldRequirement): string {
  return `${r.field}${r.operator}${escapeFieldValue(r.value)}`;
}

/** Splits on commas not preceded by a backslash; escapes are kept for unescapeValue. */
function splitTerms(text: string): string[] {
  const terms: string[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\') i++; // the escaped character is data, even a comma
    else if (text[i] === ',') {
      terms.push(text.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(text.slice(start));
  return terms;
}

/** The field name has no escapes, so the first operator in the term splits it ("!=" and "==" win over "="). */
function splitTerm(term: string): { field: string; operator: FieldOperator; value: string } | undefined {
  for (let i = 0; i < term.length; i++) {
    const rest = term.slice(i, i + 2);
    if (rest === '!=') return { field: term.slice(0, i), operator: '!=', value: term.slice(i + 2) };
    if (rest === '==') return { field: term.slice(0, i), operator: '=', value: term.slice(i + 2) };
    if (term[i] === '=') return { field: term.slice(0, i), operator: '=', value: term.slice(i + 1) };
  }
  return undefined;
}

function unescapeValue(escaped: string, selector: string): string {
  let value = '';
  let inEscape = false;
  for (const ch of escaped) {
    if (inEscape) {
      if (ch !== '\\' && ch !== ',' && ch !== '=') {
        throw new ParseError(`invalid field selector '${selector}': invalid escape sequence: \\${ch}`);
      }
      value += ch;
      inEscape = false;
    } else if (ch === '\\') {
      inEscape = true;
    } else if (ch === ',' || ch === '=') {
      throw new ParseError(`invalid field selector '${selector}': unescaped character in value: ${ch}`);
    } else {
      value += ch;
    }
  }
  if (inEscape) throw new ParseError(`invalid field selector '${selector}': invalid escape sequence: \\`);
  return value;
}
