// `cellctl create -f`: POST every object of the manifests; an object that exists already is an
// error (that is what `apply` is for). Each object succeeds or fails on its own.
import type { Cli } from '../context.js';
import { manifestNamespace, readManifests, withNamespace } from '../manifests.js';
import { objectName } from '../output/printers.js';
import { refFor } from '../resources.js';
import { dryRunQuery, reportItemError, type DryRun } from './write-options.js';

export interface CreateOptions {
  filename: string[];
  recursive?: boolean;
  dryRun?: DryRun;
}

export async function runCreate(cli: Cli, o: CreateOptions): Promise<number> {
  const manifests = await readManifests(o.filename, 'create', { recursive: o.recursive ?? false });
  let failed = false;
  for (const m of manifests) {
    try {
      const ns = manifestNamespace(m, cli.namespace, cli.namespaceExplicit);
      const body = withNamespace(m, ns);
      const name = m.object.metadata.name ?? '';
      if (o.dryRun !== 'client') {
        const created = await cli.client.create<{ metadata?: { name?: string } }>(refFor(m.info, ns), body, dryRunQuery(o.dryRun));
        cli.print(`${objectName(m.info, created.metadata?.name ?? name)} created${o.dryRun === 'server' ? ' (server dry run)' : ''}\n`);
      } else {
        cli.print(`${objectName(m.info, name)} created (dry run)\n`);
      }
    } catch (err) {
      reportItemError(cli, err, m);
      failed = true;
    }
  }
  return failed ? 1 : 0;
}
