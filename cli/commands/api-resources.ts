// `cellctl api-resources`: the resource types the server serves, with the names `get` accepts —
// the built-in ones, then what its discovery documents add (custom resources), as kubectl lists them.
import type { Cli } from '../context.js';
import { UsageError } from '../errors.js';
import { parseOutputFormat } from '../output/printers.js';
import { formatRows } from '../output/table.js';

export async function runApiResources(cli: Cli, o: { output?: string; namespaced?: string | boolean; headers?: boolean }): Promise<number> {
  const format = parseOutputFormat(o.output, ['table', 'wide', 'name']);
  let namespaced: boolean | undefined;
  if (o.namespaced !== undefined) {
    if (o.namespaced === true || o.namespaced === 'true') namespaced = true;
    else if (o.namespaced === 'false') namespaced = false;
    else throw new UsageError(`--namespaced must be true or false, not "${String(o.namespaced)}"`);
  }
  const resources = (await cli.types.listed()).filter((r) => namespaced === undefined || r.namespaced === namespaced);
  if (format.kind === 'name') {
    cli.print(resources.map((r) => `${r.group === '' ? r.resource : `${r.resource}.${r.group}`}\n`).join(''));
    return 0;
  }
  const wide = format.kind === 'table' && format.wide;
  const header = ['NAME', 'SHORTNAMES', 'APIVERSION', 'NAMESPACED', 'KIND', ...(wide ? ['VERBS', 'CATEGORIES'] : [])];
  const rows = resources.map((r) => [
    r.resource,
    r.shortNames.join(','),
    r.apiVersion,
    String(r.namespaced),
    r.kind,
    ...(wide ? [`[${r.verbs.join(' ')}]`, r.categories.join(',')] : []),
  ]);
  cli.print(formatRows(o.headers === false ? rows : [header, ...rows]));
  return 0;
}
