// Label selectors: the `?labelSelector=` string form ("app=web,tier in (a,b),!canary") and the
// metav1.LabelSelector object form (matchLabels / matchExpressions), with the grammar, validation
// and matching rules of apimachinery's labels package.

import { ParseError } from './errors.js';
import { labelValueErrors, qualifiedNameErrors } from './names.js';

/** Kubernetes' selection operators; "==" is read as Equals. Gt/Lt compare integer label values. */
export type LabelOperator = 'Equals' | 'NotEquals' | 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'Gt' | 'Lt';

export interface LabelRequirement {
  readonly key: string;
  readonly operator: LabelOperator;
  /** Sorted and de-duplicated; one value for Equals/NotEquals/Gt/Lt, none for Exists/DoesNotExist. */
  readonly values: readonly string[];
}

/** The object form used in topologySpreadConstraints, podAntiAffinity and friends. */
export interface LabelSelectorSpec {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}

/** A conjunction of requirements; the empty one selects everything. */
export class LabelSelector {
  readonly requirements: readonly LabelRequirement[];

  constructor(requirements: readonly LabelRequirement[]) {
    // Sorted by key (then text) so equal selectors print identically.
    this.requirements = [...requirements].sort(
      (a, b) => compareStrings(a.key, b.key) || compareStrings(requirementText(a), requirementText(b)),
    );
  }

  static everything(): LabelSelector {
    return new LabelSelector([]);
  }

  matches(labels: Record<string, string> | undefined): boolean {
    return this.requirements.every((r) => requirementMatches(r, labels ?? {}));
  }

  isEverything(): boolean {
    return this.requirements.length === 0;
  }

  /** Canonical string form; `parseLabelSelector(s.toString())` gives an equal selector. */
  toString(): string {
    return this.requirements.map(requirementText).join(',');
  }
}

/** Parses the query-string form; the empty string selects everything. Bad input throws ParseError. */
export function parseLabelSelector(text: string): LabelSelector {
  const raw: unknown = text;
  if (typeof raw !== 'string') throw new ParseError('label selector must be a string');
  return new LabelSelector(new SelectorParser(raw).parse());
}

/** Converts a metav1.LabelSelector. An empty spec selects everything. Bad input throws ParseError. */
export function labelSelectorFromSpec(spec: LabelSelectorSpec): LabelSelector {
  // The declared types describe valid objects; request bodies are checked here all the same.
  const raw: unknown = spec;
  if (!isPlainObject(raw)) throw new ParseError('label selector must be an object');
  const { matchLabels, matchExpressions } = raw;
  const requirements: LabelRequirement[] = [];
  if (matchLabels !== undefined && matchLabels !== null) {
    if (!isPlainObject(matchLabels)) throw new ParseError('matchLabels must be an object of strings');
    for (const [key, value] of Object.entries(matchLabels)) {
      if (typeof value !== 'string') throw new ParseError(`matchLabels[${JSON.stringify(key)}] must be a string`);
      requirements.push(newRequirement(key, 'Equals', [value]));
    }
  }
  if (matchExpressions !== undefined && matchExpressions !== null) {
    if (!Array.isArray(matchExpressions)) throw new ParseError('matchExpressions must be a list');
    for (const expression of matchExpressions as unknown[]) {
      if (!isPlainObject(expression)) throw new ParseError('each of matchExpressions must be an object');
      const { key, operator, values } = expression;
      if (typeof key !== 'string') throw new ParseError('matchExpressions key must be a string');
      if (operator !== 'In' && operator !== 'NotIn' && operator !== 'Exists' && operator !== 'DoesNotExist') {
        const shown = typeof operator === 'string' ? JSON.stringify(operator) : typeof operator;
        throw new ParseError(`${shown} is not a valid label selector operator`);
      }
      const list: unknown = values ?? [];
      if (!Array.isArray(list) || !list.every((v): v is string => typeof v === 'string')) {
        throw new ParseError(`matchExpressions values for key ${JSON.stringify(key)} must be a list of strings`);
      }
      requirements.push(newRequirement(key, operator, list));
    }
  }
  return new LabelSelector(requirements);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function compareStrings(a: string, b: string): number {
  if (a < b) return -1;
  return a > b ? 1 : 0;
}

/** Validates a requirement the way Kubernetes' NewRequirement does. */
function newRequirement(key: string, operator: LabelOperator, values: readonly string[]): LabelRequirement {
  const keyErrors = qualifiedNameErrors(key);
  if (keyErrors.length > 0) throw new ParseError(`invalid label key ${JSON.stringify(key)}: ${keyErrors.join('; ')}`);
  switch (operator) {
    case 'In':
    case 'NotIn':
      if (values.length === 0) throw new ParseError("for 'in', 'notin' operators, values set can't be empty");
      break;
    case 'Exists':
    case 'DoesNotExist':
      if (values.length > 0) throw new ParseError('values set must be empty for exists and does not exist');
      break;
    default:
      // Equals, NotEquals, Gt, Lt
      if (values.length !== 1) throw new ParseError(`operator ${operator} requires exactly one value`);
  }
  for (const value of values) {
    const valueErrors = labelValueErrors(value);
    if (valueErrors.length > 0) {
      throw new ParseError(`invalid label value ${JSON.stringify(value)} for key ${JSON.stringify(key)}: ${valueErrors.join('; ')}`);
    }
    if ((operator === 'Gt' || operator === 'Lt') && parseInt64(value) === undefined) {
      throw new ParseError(`for 'Gt', 'Lt' operators, the value must be an integer, not ${JSON.stringify(value)}`);
    }
  }
  return { key, operator, values: [...new Set(values)].sort(compareStrings) };
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Go's strconv.ParseInt(s, 10, 64), which Kubernetes uses for Gt/Lt. */
function parseInt64(text: string): bigint | undefined {
  if (!/^[+-]?[0-9]{1,20}$/.test(text)) return undefined;
  const n = BigInt(text);
  return n >= INT64_MIN && n <= INT64_MAX ? n : undefined;
}

function requirementMatches(r: LabelRequirement, labels: Record<string, string>): boolean {
  // Own properties only: a label named "constructor" must not find Object.prototype's.
  const present = Object.prototype.hasOwnProperty.call(labels, r.key);
  const value = present ? labels[r.key] : undefined;
  switch (r.operator) {
    case 'Equals':
    case 'In':
      return value !== undefined && r.values.includes(value);
    case 'NotEquals':
    case 'NotIn':
      return value === undefined || !r.values.includes(value);
    case 'Exists':
      return present;
    case 'DoesNotExist':
      return !present;
    case 'Gt':
    case 'Lt': {
      const actual = value === undefined ? undefined : parseInt64(value);
      const bound = parseInt64(r.values[0] ?? '');
      if (actual === undefined || bound === undefined) return false;
      return r.operator === 'Gt' ? actual > bound : actual < bound;
    }
  }
}

function requirementText(r: LabelRequirement): string {
  const values = r.values.join(',');
  switch (r.operator) {
    case 'Exists':
      return r.key;
    case 'DoesNotExist':
      return `!${r.key}`;
    case 'Equals':
      return `${r.key}=${values}`;
    case 'NotEquals':
      return `${r.key}!=${values}`;
    case 'In':
      return `${r.key} in (${values})`;
    case 'NotIn':
      return `${r.key} notin (${values})`;
    case 'Gt':
      return `${r.key}>${values}`;
    case 'Lt':
      return `${r.key}<${values}`;
  }
}

type TokenKind = 'word' | '(' | ')' | ',' | '!' | '=' | '==' | '!=' | '>' | '<' | 'end';
interface Token {
  kind: TokenKind;
  text: string;
}

const SPECIAL_CHARS = new Set(['=', '!', '(', ')', ',', '>', '<']);
const WHITESPACE = new Set([' ', '\t', '\r', '\n']);

/** Splits selector text into words and operator symbols, longest symbol first ("!=" before "!"). */
function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text.charAt(i);
    if (WHITESPACE.has(ch)) {
      i++;
    } else if (SPECIAL_CHARS.has(ch)) {
      const pair = text.slice(i, i + 2);
      const symbol = pair === '==' || pair === '!=' ? pair : ch;
      tokens.push({ kind: symbol as TokenKind, text: symbol });
      i += symbol.length;
    } else {
      const start = i;
      while (i < text.length && !SPECIAL_CHARS.has(text.charAt(i)) && !WHITESPACE.has(text.charAt(i))) i++;
      tokens.push({ kind: 'word', text: text.slice(start, i) });
    }
  }
  tokens.push({ kind: 'end', text: '' });
  return tokens;
}

/**
 * Recursive descent over:  selector := requirement ("," requirement)*
 *   requirement := "!" KEY | KEY [ ("in"|"notin") "(" values ")" | ("="|"=="|"!="|">"|"<") [VALUE] ]
 * "in" and "notin" are keywords only in operator position, so they remain usable as keys and values.
 */
class SelectorParser {
  private readonly tokens: Token[];
  private position = 0;

  constructor(text: string) {
    this.tokens = tokenize(text);
  }

  parse(): LabelRequirement[] {
    const requirements: LabelRequirement[] = [];
    for (;;) {
      const ahead = this.peek();
      if (ahead.kind === 'end') return requirements;
      if (ahead.kind !== 'word' && ahead.kind !== '!') {
        throw new ParseError(`found '${ahead.text}', expected: !, identifier, or 'end of string'`);
      }
      try {
        requirements.push(this.parseRequirement());
      } catch (err) {
        if (err instanceof ParseError) throw new ParseError(`unable to parse requirement: ${err.message}`);
        throw err;
      }
      const after = this.next();
      if (after.kind === 'end') return requirements;
      if (after.kind !== ',') throw new ParseError(`found '${after.text}', expected: ',' or 'end of string'`);
      const following = this.peek();
      if (following.kind !== 'word' && following.kind !== '!') {
        throw new ParseError(`found '${following.text}', expected: identifier after ','`);
      }
    }
  }

  private peek(): Token {
    // tokenize() always ends with an 'end' token and next() never moves past it.
    return this.tokens[this.position] ?? { kind: 'end', text: '' };
  }

  private next(): Token {
    const token = this.peek();
    if (token.kind !== 'end') this.position++;
    return token;
  }

  private parseRequirement(): LabelRequirement {
    let token = this.next();
    const negated = token.kind === '!';
    if (negated) token = this.next();
    if (token.kind !== 'word') throw new ParseError(`found '${token.text}', expected: identifier`);
    const key = token.text;
    if (negated) return newRequirement(key, 'DoesNotExist', []);
    const ahead = this.peek().kind;
    if (ahead === 'end' || ahead === ',') return newRequirement(key, 'Exists', []);

    const operatorToken = this.next();
    switch (operatorToken.kind === 'word' ? operatorToken.text : operatorToken.kind) {
      case 'in':
        return newRequirement(key, 'In', this.parseValueSet());
      case 'notin':
        return newRequirement(key, 'NotIn', this.parseValueSet());
      case '=':
      case '==':
        return newRequirement(key, 'Equals', [this.parseExactValue()]);
      case '!=':
        return newRequirement(key, 'NotEquals', [this.parseExactValue()]);
      case '>':
        return newRequirement(key, 'Gt', [this.parseExactValue()]);
      case '<':
        return newRequirement(key, 'Lt', [this.parseExactValue()]);
      default:
        throw new ParseError(`found '${operatorToken.text}', expected: in, notin, =, ==, !=, gt, lt`);
    }
  }

  /** "(a,b)"; empty members are the empty value, so "()" and "(a,)" include "". */
  private parseValueSet(): string[] {
    const open = this.next();
    if (open.kind !== '(') throw new ParseError(`found '${open.text}' expected: '('`);
    const values: string[] = [];
    let expectValue = true;
    for (;;) {
      const token = this.next();
      if (token.kind === 'word' && expectValue) {
        values.push(token.text);
        expectValue = false;
      } else if (token.kind === ',') {
        if (expectValue) values.push('');
        expectValue = true;
      } else if (token.kind === ')') {
        if (expectValue) values.push('');
        return values;
      } else {
        throw new ParseError(`found '${token.text}', expected: ',', ')' or identifier`);
      }
    }
  }

  /** The value after =, ==, !=, > or <; absent means the empty value ("a=" selects a=""). */
  private parseExactValue(): string {
    const ahead = this.peek().kind;
    if (ahead === 'end' || ahead === ',') return '';
    const token = this.next();
    if (token.kind !== 'word') throw new ParseError(`found '${token.text}', expected: identifier`);
    return token.text;
  }
}
