// CEL validation rules of custom resources (`x-kubernetes-validations`), as Kubernetes checks them:
// each rule on a schema node is a CEL expression over `self`, the value at that node, that must
// be true. A rule that names `oldSelf` is a transition rule: it runs on updates only, against the
// value the same place held before (correlated through object fields, map keys and the keys of
// `x-kubernetes-list-type: map` lists), or on every write with `optionalOldSelf`, where
// `oldSelf` is an optional. On an update a value that did not change is not checked again
// (Kubernetes' validation ratcheting), so a rule added later does not lock old objects.
//
// Rules are compiled once per schema node, when the definition is checked and when its kind is
// served: a syntax error refuses the definition; a rule calling what cel-environment.ts does not
// provide is accepted with a warning and not evaluated. `@marcbachmann/cel-js` parses and
// evaluates; `self` is dynamically typed, so a field that is absent is an evaluation error ("no
// such key") unless the rule asks `has()` first, as in Kubernetes at run time.
import { isDeepStrictEqual } from 'node:util';
import { Optional, type ASTNode, type ParseResult } from '@marcbachmann/cel-js';
import { environment } from './cel-environment.js';
import type { JSONSchemaProps } from '../../shared/api/apiextensions.js';
import { cause, childPath } from '../../shared/api/field-errors.js';
import type { FieldCause } from '../../shared/errors.js';

type ValidationRule = NonNullable<JSONSchemaProps['x-kubernetes-validations']>[number];

/** The reasons a rule may give its failures (Kubernetes' list). */
const RULE_REASONS = ['FieldValueInvalid', 'FieldValueForbidden', 'FieldValueRequired', 'FieldValueDuplicate'] as const;
type RuleReason = (typeof RULE_REASONS)[number];

/**
 * The most iterations one rule may take on one value (Kubernetes' per-call cost limit is 10^6):
 * a rule with comprehensions nested d deep is refused a value of n elements when n^d exceeds it,
 * so a large object cannot hold the server for seconds (10^6 iterations take about 0.1 s).
 */
const ITERATION_LIMIT = 1_000_000;
const COMPREHENSIONS = new Set(['all', 'exists', 'exists_one', 'map', 'filter']);

/** One rule, compiled. */
interface CompiledRule {
  rule: string;
  /** Undefined for a rule that does not compile (a definition stored before it was checked): it fails every write it judges. */
  program: ParseResult | undefined;
  message: string | undefined;
  messageProgram: ParseResult | undefined;
  reason: RuleReason;
  /** The path of the field a failure names, below the rule's node. */
  fieldPath: string[];
  /** Names oldSelf: runs only where an old value is known (or always, with optionalOldSelf). */
  transition: boolean;
  optionalOldSelf: boolean;
  /** How deep its comprehensions nest (0: none). */
  nesting: number;
  /** Why this server cannot run it (a function it does not provide): then it is not evaluated. */
  unsupported: string | undefined;
}

/** The nodes below `node` (its arguments, and the elements of argument lists). */
function childrenOf(node: ASTNode): ASTNode[] {
  const args: unknown = node.args;
  return (Array.isArray(args) ? args : [args]).flatMap((c: unknown) => (Array.isArray(c) ? c : [c])).filter(isAstNode);
}

function mentionsOldSelf(node: ASTNode): boolean {
  if (node.op === 'id') return node.args === 'oldSelf';
  return childrenOf(node).some(mentionsOldSelf);
}

/** The deepest nesting of comprehension macros in `node`. */
function comprehensionNesting(node: ASTNode): number {
  const below = Math.max(0, ...childrenOf(node).map(comprehensionNesting));
  const args: unknown = node.args;
  const isComprehension = (node.op === 'rcall' || node.op === 'call') && Array.isArray(args) && COMPREHENSIONS.has(String(args[0]));
  return below + (isComprehension ? 1 : 0);
}

/** How many values `v` holds, itself included. */
function elementCount(v: unknown): number {
  if (Array.isArray(v)) return v.reduce<number>((n, x) => n + elementCount(x), 1);
  if (isRecord(v)) return Object.values(v).reduce<number>((n, x) => n + elementCount(x), 1);
  return 1;
}

function isAstNode(v: unknown): v is ASTNode {
  return typeof v === 'object' && v !== null && 'op' in v;
}

/** A CEL error's first line: the library adds the expression with a caret below it. */
function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
}

/**
 * `.spec.replicas`, `.labels['app.kubernetes.io/name']` or `['x']` as segments; undefined when
 * it is not such a path.
 */
function parseFieldPath(path: string): string[] | undefined {
  const out: string[] = [];
  const re = /\.([A-Za-z_][A-Za-z0-9_-]*)|\['((?:[^'\\]|\\.)*)'\]/y;
  let at = 0;
  while (at < path.length) {
    re.lastIndex = at;
    const m = re.exec(path);
    if (!m) return undefined;
    out.push(m[1] ?? (m[2] ?? '').replace(/\\(.)/g, '$1'));
    at = re.lastIndex;
  }
  return out;
}

/** The schema at `segments` below `s`, if the schema has such a place. */
function schemaAt(s: JSONSchemaProps, segments: readonly string[]): JSONSchemaProps | undefined {
  let at: JSONSchemaProps | undefined = s;
  for (const seg of segments) {
    if (at === undefined) return undefined;
    const next: JSONSchemaProps | undefined = at.properties?.[seg] ?? (typeof at.additionalProperties === 'object' ? at.additionalProperties : undefined);
    at = next;
  }
  return at;
}

const compiled = new WeakMap<JSONSchemaProps, CompiledRule[]>();

/** The rules on one node, compiled once. */
function compileNode(s: JSONSchemaProps): CompiledRule[] {
  let rules = compiled.get(s);
  if (rules) return rules;
  rules = (s['x-kubernetes-validations'] ?? []).map((r, i) => {
    try {
      return compileRule(s, r, i);
    } catch (err) {
      if (!(err instanceof RuleCompileError)) throw err;
      return { rule: r.rule, program: undefined, message: undefined, messageProgram: undefined, reason: 'FieldValueInvalid' as const, fieldPath: [], transition: false, optionalOldSelf: false, nesting: 0, unsupported: undefined };
    }
  });
  compiled.set(s, rules);
  return rules;
}

class RuleCompileError extends Error {
  constructor(
    readonly index: number,
    readonly causes: (base: string) => FieldCause[],
  ) {
    super('validation rule does not compile');
    this.name = 'RuleCompileError';
  }
}

/**
 * An expression parsed, and whether this server can run it: a syntax error throws (the definition
 * is refused, as Kubernetes refuses it); a type error — most often a function of a Kubernetes CEL
 * library this server does not provide — leaves the expression `unsupported`: the definition is
 * accepted with a warning and the rule is not evaluated, so definitions written for Kubernetes
 * still install.
 */
function parse(expression: string): { program: ParseResult; unsupported: string | undefined } {
  const program = environment.parse(expression);
  const checked = program.check();
  return { program, unsupported: checked.valid ? undefined : firstLine(checked.error ?? 'type check failed') };
}

function compileRule(s: JSONSchemaProps, r: ValidationRule, index: number): CompiledRule {
  const problems: ((base: string) => FieldCause)[] = [];
  let program: ParseResult | undefined;
  let unsupported: string | undefined;
  let messageProgram: ParseResult | undefined;
  if (r.rule.trim() === '') problems.push((f) => cause.required(`${f}.rule`));
  else {
    try {
      ({ program, unsupported } = parse(r.rule));
    } catch (err) {
      problems.push((f) => cause.invalid(`${f}.rule`, r.rule, `compilation failed: ${firstLine(err)}`));
    }
  }
  if (r.message !== undefined && (r.message.trim() === '' || /[\r\n]/.test(r.message))) {
    problems.push((f) => cause.invalid(`${f}.message`, r.message, 'must be non-empty and contain no line breaks'));
  }
  if (r.messageExpression !== undefined) {
    try {
      const parsed = parse(r.messageExpression);
      // One this server cannot run falls back to the message, as a failing one does.
      if (parsed.unsupported === undefined) messageProgram = parsed.program;
    } catch (err) {
      problems.push((f) => cause.invalid(`${f}.messageExpression`, r.messageExpression, `compilation failed: ${firstLine(err)}`));
    }
  }
  const reason = r.reason ?? 'FieldValueInvalid';
  if (!(RULE_REASONS as readonly string[]).includes(reason)) problems.push((f) => cause.notSupported(`${f}.reason`, reason, RULE_REASONS));
  const fieldPath = r.fieldPath === undefined ? [] : parseFieldPath(r.fieldPath);
  if (fieldPath === undefined) problems.push((f) => cause.invalid(`${f}.fieldPath`, r.fieldPath, 'must be a path of fields like .spec.replicas or [\'key\']'));
  else if (schemaAt(s, fieldPath) === undefined) problems.push((f) => cause.invalid(`${f}.fieldPath`, r.fieldPath, 'does not name a field of the schema'));
  const transition = program !== undefined && mentionsOldSelf(program.ast);
  if (r.optionalOldSelf === true && program !== undefined && !transition) {
    problems.push((f) => cause.invalid(`${f}.optionalOldSelf`, true, 'may not be set if oldSelf is not used in rule'));
  }
  if (problems.length > 0 || program === undefined) throw new RuleCompileError(index, (base) => problems.map((p) => p(`${base}[${index}]`)));
  return { rule: r.rule, program, message: r.message, messageProgram, reason: reason as RuleReason, fieldPath: fieldPath ?? [], transition, optionalOldSelf: r.optionalOldSelf === true, nesting: comprehensionNesting(program.ast), unsupported };
}

/** Why the rules of a schema do not compile, one cause per bad field (a definition's check). */
export function validationRuleCauses(s: JSONSchemaProps, field: string): FieldCause[] {
  const out: FieldCause[] = [];
  if ((s['x-kubernetes-validations'] ?? []).length > 0) {
    (s['x-kubernetes-validations'] ?? []).forEach((r, i) => {
      try {
        compileRule(s, r, i);
      } catch (err) {
        if (!(err instanceof RuleCompileError)) throw err;
        out.push(...err.causes(`${field}.x-kubernetes-validations`));
      }
    });
  }
  for (const [k, child] of Object.entries(s.properties ?? {})) out.push(...validationRuleCauses(child, `${field}.properties[${k}]`));
  if (typeof s.additionalProperties === 'object') out.push(...validationRuleCauses(s.additionalProperties, `${field}.additionalProperties`));
  if (s.items !== undefined) out.push(...validationRuleCauses(s.items, `${field}.items`));
  return out;
}

/** The rules of a schema this server accepts and cannot run, as warnings naming each (a definition's write). */
export function validationRuleWarnings(s: JSONSchemaProps, field: string): string[] {
  const out: string[] = [];
  (s['x-kubernetes-validations'] ?? []).forEach((r, i) => {
    const rule = compileNode(s)[i];
    if (rule?.unsupported !== undefined) out.push(`${field}.x-kubernetes-validations[${i}].rule: not evaluated: cell's CEL cannot run it (${rule.unsupported})`);
  });
  for (const [k, child] of Object.entries(s.properties ?? {})) out.push(...validationRuleWarnings(child, `${field}.properties[${k}]`));
  if (typeof s.additionalProperties === 'object') out.push(...validationRuleWarnings(s.additionalProperties, `${field}.additionalProperties`));
  if (s.items !== undefined) out.push(...validationRuleWarnings(s.items, `${field}.items`));
  return out;
}

function hasRules(s: JSONSchemaProps): boolean {
  if ((s['x-kubernetes-validations'] ?? []).length > 0) return true;
  if (Object.values(s.properties ?? {}).some(hasRules)) return true;
  if (typeof s.additionalProperties === 'object' && hasRules(s.additionalProperties)) return true;
  return s.items !== undefined && hasRules(s.items);
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A JSON value as CEL sees it under schema `s`: integers as ints (bigint), numbers as doubles,
 * `date-time` strings as timestamps; values without a schema keep whole numbers as ints, as
 * Kubernetes decodes them.
 */
function toCel(s: JSONSchemaProps | undefined, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') {
    if (s?.type === 'number') return v;
    return Number.isInteger(v) ? BigInt(v) : v;
  }
  if (typeof v === 'string') {
    if (s?.type === 'string' && s.format === 'date-time') {
      const t = new Date(v);
      return Number.isNaN(t.getTime()) ? v : t;
    }
    return v;
  }
  if (Array.isArray(v)) return v.map((x) => toCel(s?.items, x));
  if (isRecord(v)) {
    const out: Record<string, unknown> = {};
    const extra = typeof s?.additionalProperties === 'object' ? s.additionalProperties : undefined;
    for (const [k, x] of Object.entries(v)) out[k] = toCel(s?.properties?.[k] ?? extra, x);
    return out;
  }
  return v;
}

/** What one rule says about a value: undefined when it holds. */
function evaluate(r: CompiledRule, self: unknown, oldSelf: unknown, elements: () => number): { message: string } | undefined {
  if (r.program === undefined) return { message: `rule does not compile: ${r.rule}` };
  // One level of comprehension is linear in the value, which the request size bounds; deeper is checked.
  if (r.nesting >= 2 && elements() ** r.nesting > ITERATION_LIMIT) {
    return { message: `rule too costly for this value: comprehensions ${r.nesting} deep over ${elements()} elements exceed ${ITERATION_LIMIT} iterations evaluating rule: ${r.rule}` };
  }
  let result: unknown;
  try {
    result = r.program({ self, oldSelf });
  } catch (err) {
    return { message: `${firstLine(err)} evaluating rule: ${r.rule}` };
  }
  if (result === true) return undefined;
  if (result !== false) return { message: `rule did not evaluate to a bool: ${r.rule}` };
  if (r.messageProgram) {
    try {
      const text: unknown = r.messageProgram({ self, oldSelf });
      if (typeof text === 'string' && text.trim() !== '' && !/[\r\n]/.test(text)) return { message: text };
    } catch {
      // A message expression that fails falls back to the static message, as in Kubernetes.
    }
  }
  return { message: r.message ?? `failed rule: ${r.rule}` };
}

function failure(r: CompiledRule, field: string, s: JSONSchemaProps, message: string): FieldCause {
  const at = r.fieldPath.reduce((f, seg) => childPath(f, seg), field);
  switch (r.reason) {
    case 'FieldValueForbidden':
      return cause.forbidden(at, message);
    case 'FieldValueRequired':
      return cause.required(at, message);
    case 'FieldValueDuplicate':
      return { reason: 'FieldValueDuplicate', field: at, message: `Duplicate value: ${message}` };
    case 'FieldValueInvalid':
      return cause.invalid(at, s.type || 'object', message);
  }
}

/** The value of a list-map item that identifies it: its key fields. */
function listMapKey(s: JSONSchemaProps, item: unknown): string | undefined {
  if (!isRecord(item)) return undefined;
  return JSON.stringify((s['x-kubernetes-list-map-keys'] ?? []).map((k) => item[k] ?? null));
}

/** The validation rules of one served version's schema. */
export class ValidationRules {
  private constructor(
    private readonly root: JSONSchemaProps,
    private readonly apiVersion: string,
  ) {}

  /** The rules of `root`, or undefined when it has none (nothing to check on writes). */
  static of(root: JSONSchemaProps, apiVersion: string): ValidationRules | undefined {
    return hasRules(root) ? new ValidationRules(root, apiVersion) : undefined;
  }

  /** The failures of `obj` (and, on an update, against `old`): one cause per failing rule. */
  check(obj: Record<string, unknown>, old?: Record<string, unknown>): FieldCause[] {
    const out: FieldCause[] = [];
    // At the root, self sees only the metadata a schema may speak of.
    const rootView = (o: Record<string, unknown>) => {
      const meta = isRecord(o['metadata']) ? o['metadata'] : {};
      const kept = Object.fromEntries(['name', 'generateName'].filter((k) => meta[k] !== undefined).map((k) => [k, meta[k]]));
      return { ...o, apiVersion: this.apiVersion, metadata: kept };
    };
    this.walk(this.root, rootView(obj), old !== undefined, old === undefined ? undefined : rootView(old), '', out);
    return out;
  }

  private walk(s: JSONSchemaProps, v: unknown, hasOld: boolean, old: unknown, field: string, out: FieldCause[]): void {
    // Ratcheting: a value the update did not change is not judged again.
    if (hasOld && isDeepStrictEqual(v, old)) return;
    const rules = compileNode(s);
    if (rules.length > 0) {
      const self = toCel(s, v);
      const oldCel = hasOld ? toCel(s, old) : undefined;
      let count: number | undefined;
      const elements = () => (count ??= Math.max(elementCount(v), hasOld ? elementCount(old) : 0));
      for (const r of rules) {
        if (r.unsupported !== undefined) continue;
        if (r.transition && !hasOld && !r.optionalOldSelf) continue;
        const oldSelf = !r.transition ? undefined : r.optionalOldSelf ? (hasOld ? Optional.of(oldCel) : Optional.none()) : oldCel;
        const failed = evaluate(r, self, oldSelf, elements);
        if (failed) out.push(failure(r, field, s, failed.message));
      }
    }
    if (isRecord(v)) {
      const oldRecord = hasOld && isRecord(old) ? old : undefined;
      const extra = typeof s.additionalProperties === 'object' ? s.additionalProperties : undefined;
      for (const [k, x] of Object.entries(v)) {
        const child = s.properties?.[k] ?? extra;
        if (child === undefined || x === undefined) continue;
        const before = oldRecord !== undefined && Object.hasOwn(oldRecord, k);
        this.walk(child, x, before, before ? oldRecord?.[k] : undefined, childPath(field, k), out);
      }
    } else if (Array.isArray(v) && s.items !== undefined) {
      const items = s.items;
      // Only map lists correlate items with the old list (by their keys); elsewhere an item has no "before".
      const oldByKey = new Map<string, unknown>();
      if (hasOld && Array.isArray(old) && s['x-kubernetes-list-type'] === 'map') {
        for (const o of old) {
          const key = listMapKey(s, o);
          if (key !== undefined) oldByKey.set(key, o);
        }
      }
      v.forEach((x, i) => {
        const key = oldByKey.size > 0 ? listMapKey(s, x) : undefined;
        const before = key !== undefined && oldByKey.has(key);
        this.walk(items, x, before, before ? oldByKey.get(key ?? '') : undefined, `${field}[${i}]`, out);
      });
    }
  }
}
