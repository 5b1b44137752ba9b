// `-o json|yaml|name|jsonpath=…|wide`: parsing the flag, and printing objects in the
// structured formats (tables are table.ts's). Several objects print as one `kind: List`, the way
// kubectl does, so `cellctl get pods -o json | jq '.items[]'` works the same.
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import type { ResourceInfo } from '../../shared/api/registry.js';
import { errorMessage } from '../../shared/errors.js';
import { UsageError } from '../errors.js';
import { JsonPathError, JsonPathTemplate } from '../../shared/jsonpath.js';

export type OutputFormat =
  | { kind: 'table'; wide: boolean }
  | { kind: 'json' }
  | { kind: 'yaml' }
  | { kind: 'name' }
  | { kind: 'jsonpath'; template: JsonPathTemplate };

/** Parse `-o`'s value; kubectl allows `-o=json` and a quoted template, so both are accepted. */
/** A template from the command line: one that does not parse is a usage error. */
function jsonPathTemplate(source: string): JsonPathTemplate {
  try {
    return new JsonPathTemplate(source);
  } catch (err) {
    if (err instanceof JsonPathError) throw new UsageError(err.message);
    throw err;
  }
}

export function parseOutputFormat(value: string | undefined, allowed: readonly string[] = ['table', 'wide', 'json', 'yaml', 'name', 'jsonpath']): OutputFormat {
  let v = (value ?? '').trim();
  if (v.startsWith('=')) v = v.slice(1);
  const eq = v.indexOf('=');
  const name = eq >= 0 ? v.slice(0, eq) : v;
  let arg = eq >= 0 ? v.slice(eq + 1) : '';
  if (/^'.*'$/s.test(arg) || /^".*"$/s.test(arg)) arg = arg.slice(1, -1);
  const ok = (n: string) => allowed.includes(n);
  const unsupported = () =>
    new UsageError(`unable to match a printer suitable for the output format "${v}", allowed formats are: ${allowed.filter((a) => a !== 'table').map((a) => (a === 'jsonpath' ? 'jsonpath,jsonpath-file' : a)).join(',')}`);
  switch (name) {
    case '':
      return { kind: 'table', wide: false };
    case 'wide':
      if (!ok('wide')) throw unsupported();
      return { kind: 'table', wide: true };
    case 'json':
    case 'yaml':
    case 'name':
      if (!ok(name)) throw unsupported();
      return { kind: name };
    case 'jsonpath':
      if (!ok('jsonpath')) throw unsupported();
      if (arg === '') throw new UsageError('template format specified but no template given');
      return { kind: 'jsonpath', template: jsonPathTemplate(arg) };
    case 'jsonpath-file': {
      if (!ok('jsonpath')) throw unsupported();
      let text: string;
      try {
        text = readFileSync(arg, 'utf8');
      } catch (err) {
        throw new UsageError(`cannot read jsonpath file ${arg}: ${errorMessage(err)}`);
      }
      return { kind: 'jsonpath', template: jsonPathTemplate(text.replace(/\n$/, '')) };
    }
    default:
      throw unsupported();
  }
}

/** `pod`, or `podgroup.scheduling.x-k8s.io`: how kubectl names a resource in `-o name` and messages. */
export function qualifiedKind(info: ResourceInfo): string {
  return info.group === '' ? info.singularName : `${info.singularName}.${info.group}`;
}

export function objectName(info: ResourceInfo, name: string): string {
  return `${qualifiedKind(info)}/${name}`;
}

export function asList(items: unknown[]): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'List', items, metadata: { resourceVersion: '' } };
}

export function toJson(value: unknown): string {
  // kubectl indents JSON by four spaces.
  return `${JSON.stringify(value, null, 4)}\n`;
}

export function toYaml(value: unknown): string {
  // Long strings (a last-applied annotation) stay on one line, as kubectl's YAML printer leaves them.
  return YAML.stringify(value, { lineWidth: 0 });
}

/**
 * The structured formats. `single` = exactly one object was asked for by name: it prints bare,
 * everything else as a List.
 */
export function formatObjects(format: Exclude<OutputFormat, { kind: 'table' }>, objects: { info: ResourceInfo; object: Record<string, unknown> }[], single: boolean): string {
  const data = single && objects.length === 1 ? objects[0]!.object : asList(objects.map((o) => o.object));
  switch (format.kind) {
    case 'json':
      return toJson(data);
    case 'yaml':
      return toYaml(data);
    case 'name':
      return objects.map((o) => `${objectName(o.info, String((o.object.metadata as { name?: string } | undefined)?.name ?? ''))}\n`).join('');
    case 'jsonpath':
      return format.template.execute(data);
  }
}
