// `cellctl apply -f`: make the cluster match the manifests. A missing object is created (with
// the last-applied annotation); an existing one gets the three-way merge patch apply-patch.ts
// computes, or nothing at all when it already matches. Prints kubectl's
// `pod/x created|configured|unchanged`. With --server-side the server merges instead
// (server-side apply: one PATCH of the manifest as the field manager, `pod/x serverside-applied`).
import { resourceUrlPath } from '../../shared/client/http-client.js';
import { NotFoundError } from '../../shared/errors.js';
import { planApply, withLastApplied, type JsonObject } from '../apply-patch.js';
import type { Cli } from '../context.js';
import { ManifestError } from '../errors.js';
import { manifestNamespace, readManifests, withNamespace } from '../manifests.js';
import { objectName } from '../output/printers.js';
import { refFor } from '../resources.js';
import { dryRunQuery, reportItemError, type DryRun } from './write-options.js';

export interface ApplyOptions {
  filename: string[];
  recursive?: boolean;
  dryRun?: DryRun;
  serverSide?: { fieldManager: string; force: boolean };
}

export async function runApply(cli: Cli, o: ApplyOptions): Promise<number> {
  const manifests = await readManifests(cli.types, o.filename, 'apply', { recursive: o.recursive ?? false });
  for (const m of manifests) {
    if (!m.object.metadata.name) {
      throw new ManifestError(`${m.source} (document at line ${m.line}): cannot use generateName with apply: give the object a metadata.name`);
    }
  }
  const suffix = o.dryRun === 'server' ? ' (server dry run)' : o.dryRun === 'client' ? ' (dry run)' : '';
  let failed = false;
  for (const m of manifests) {
    const name = m.object.metadata.name!;
    try {
      const ns = manifestNamespace(m, cli.namespace, cli.namespaceExplicit);
      const desired = withNamespace(m, ns) as unknown as JsonObject;
      const ref = refFor(m.info, ns, name);
      if (o.serverSide) {
        if (o.dryRun !== 'client') {
          await cli.client.request('PATCH', resourceUrlPath(ref), {
            body: desired,
            contentType: 'application/apply-patch+yaml',
            query: { ...dryRunQuery(o.dryRun), fieldManager: o.serverSide.fieldManager, ...(o.serverSide.force ? { force: 'true' } : {}) },
          });
        }
        cli.print(`${objectName(m.info, name)} serverside-applied${suffix}\n`);
        continue;
      }
      let live: JsonObject | undefined;
      try {
        live = await cli.client.get<JsonObject>(ref);
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
      }
      let outcome: string;
      if (live === undefined) {
        if (o.dryRun !== 'client') await cli.client.create(refFor(m.info, ns), withLastApplied(desired), dryRunQuery(o.dryRun));
        outcome = 'created';
      } else {
        const plan = planApply(desired, live);
        if (!plan.changed) outcome = 'unchanged';
        else {
          if (o.dryRun !== 'client') {
            // patch() takes no query, and a server dry run needs one: the request is spelled out.
            await cli.client.request('PATCH', resourceUrlPath(ref), {
              body: plan.patch,
              contentType: 'application/merge-patch+json',
              query: dryRunQuery(o.dryRun),
            });
          }
          outcome = 'configured';
        }
      }
      cli.print(`${objectName(m.info, name)} ${outcome}${suffix}\n`);
    } catch (err) {
      reportItemError(cli, err, m);
      failed = true;
    }
  }
  return failed ? 1 : 0;
}
