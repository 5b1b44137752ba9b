// `cellctl label TYPE NAME k=v k2- [--overwrite]`: add, change (only with --overwrite, as in
// kubectl) and remove labels with one merge patch per object. Keys and values are checked
// here first, so a typo is reported before anything is sent.
import type { ResourceInfo } from '../../shared/api/registry.js';
import { labelValueErrors, qualifiedNameErrors } from '../../shared/names.js';
import type { Cli } from '../context.js';
import { UsageError } from '../errors.js';
import { objectName } from '../output/printers.js';
import { parseTargets, refFor } from '../resources.js';
import { selectorQuery } from './get.js';
import { reportItemError } from './write-options.js';

export interface LabelOptions {
  overwrite?: boolean;
  selector?: string;
  all?: boolean;
  list?: boolean;
  allNamespaces?: boolean;
}

interface Change {
  key: string;
  /** undefined = remove */
  value?: string;
}

/** `k=v` sets, `k-` removes; everything else is a resource argument. */
export function splitLabelArgs(args: readonly string[]): { resources: string[]; changes: Change[] } {
  const resources: string[] = [];
  const changes: Change[] = [];
  for (const a of args) {
    const eq = a.indexOf('=');
    if (eq >= 0) {
      const key = a.slice(0, eq);
      const value = a.slice(eq + 1);
      const keyErrors = qualifiedNameErrors(key);
      if (keyErrors.length > 0) throw new UsageError(`invalid label key "${key}": ${keyErrors.join('; ')}`);
      const valueErrors = labelValueErrors(value);
      if (valueErrors.length > 0) throw new UsageError(`invalid label value: "${a}": ${valueErrors.join('; ')}`);
      changes.push({ key, value });
    } else if (a.endsWith('-') && changes.length + resources.length > 0 && !a.includes('/')) {
      const key = a.slice(0, -1);
      const keyErrors = qualifiedNameErrors(key);
      if (keyErrors.length > 0) throw new UsageError(`invalid label key "${key}": ${keyErrors.join('; ')}`);
      changes.push({ key });
    } else {
      if (changes.length > 0) throw new UsageError(`all resources must be specified before label changes: ${a}`);
      resources.push(a);
    }
  }
  const seen = new Set<string>();
  for (const c of changes) {
    if (seen.has(c.key)) throw new UsageError(`can not both modify and remove a label in the same command (or set it twice): ${c.key}`);
    seen.add(c.key);
  }
  return { resources, changes };
}

interface Labeled {
  metadata: { name?: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string> };
}

export async function runLabel(cli: Cli, args: string[], o: LabelOptions): Promise<number> {
  const { resources, changes } = splitLabelArgs(args);
  if (changes.length === 0 && !o.list) throw new UsageError('at least one label update is required (KEY=VALUE or KEY-)');
  const { targets } = await parseTargets(cli.types, resources);
  const items: { info: ResourceInfo; namespace: string | undefined; name: string }[] = [];
  for (const t of targets) {
    if (t.names.length > 0) {
      if (o.selector || o.all) throw new UsageError('names cannot be combined with --all or -l');
      items.push(...t.names.map((name) => ({ info: t.info, namespace: cli.namespace, name })));
      continue;
    }
    if (!o.selector && !o.all) throw new UsageError(`resource(s) were provided, but no name was specified (use -l SELECTOR or --all to label several ${t.info.resource})`);
    const list = await cli.client.list<{ items: Labeled[] }>(refFor(t.info, o.allNamespaces ? undefined : cli.namespace), selectorQuery(o));
    items.push(...list.items.map((obj) => ({ info: t.info, namespace: obj.metadata.namespace, name: obj.metadata.name ?? '' })));
  }
  let failed = false;
  for (const it of items) {
    try {
      const ref = refFor(it.info, it.namespace, it.name);
      const live = await cli.client.get<Labeled>(ref);
      const labels = live.metadata.labels ?? {};
      if (o.list) {
        cli.print(`Listing labels for ${objectName(it.info, it.name)}:\n${Object.entries(labels).map(([k, v]) => ` ${k}=${v}\n`).join('')}`);
        continue;
      }
      const patch: Record<string, string | null> = {};
      for (const c of changes) {
        const current = labels[c.key];
        if (c.value === undefined) {
          if (current !== undefined) patch[c.key] = null;
        } else if (current !== c.value) {
          if (current !== undefined && !o.overwrite) {
            throw new UsageError(`'${c.key}' already has a value (${current}), and --overwrite is false`);
          }
          patch[c.key] = c.value;
        }
      }
      const keys = Object.keys(patch);
      if (keys.length === 0) {
        cli.print(`${objectName(it.info, it.name)} not labeled\n`);
        continue;
      }
      // The resourceVersion makes this a compare-and-swap: a concurrent change is a conflict, not lost.
      await cli.client.patch(ref, { metadata: { labels: patch, resourceVersion: live.metadata.resourceVersion } }, 'merge');
      const onlyRemoved = keys.every((k) => patch[k] === null);
      cli.print(`${objectName(it.info, it.name)} ${onlyRemoved ? 'unlabeled' : 'labeled'}\n`);
    } catch (err) {
      if (err instanceof UsageError) cli.error(err.message);
      else reportItemError(cli, err);
      failed = true;
    }
  }
  return failed ? 1 : 0;
}
