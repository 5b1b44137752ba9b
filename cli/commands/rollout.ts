// `cellctl rollout status|history|undo|pause|resume deployment/NAME`, with kubectl's messages and
// semantics: status waits until the rollout is complete (or past its progress deadline), history
// lists the revisions kept in the ReplicaSets' annotations, undo puts an old revision's template
// back (the Deployment controller then reuses that ReplicaSet under a new revision), and pause /
// resume flip spec.paused.
import {
  CHANGE_CAUSE_ANNOTATION,
  DEPLOYMENT_PROGRESSING,
  POD_TEMPLATE_HASH_LABEL,
  REASON,
  REVISION_ANNOTATION,
  type Deployment,
  type ReplicaSet,
} from '../../shared/api/apps.js';
import type { PodTemplateSpec } from '../../shared/api/core.js';
import { replicaSetsResource } from '../../shared/api/registry.js';
import { parseDuration } from '../../shared/duration.js';
import { labelSelectorFromSpec } from '../../shared/labels.js';
import type { Cli } from '../context.js';
import { UsageError, WaitTimeoutError } from '../errors.js';
import { toYaml } from '../output/printers.js';
import { refFor } from '../resources.js';
import { workloadTarget, type WorkloadTarget } from './workload-target.js';

const ROLLOUT_KINDS = ['deployments'];

function target(cli: Cli, args: string[], verb: string): { t: WorkloadTarget; ref: ReturnType<typeof refFor> } {
  const t = workloadTarget(args, `rollout ${verb}`, ROLLOUT_KINDS);
  return { t, ref: refFor(t.info, cli.namespace, t.name) };
}

function revisionOf(rs: ReplicaSet): number {
  const n = Number.parseInt(rs.metadata.annotations?.[REVISION_ANNOTATION] ?? '', 10);
  return Number.isNaN(n) ? 0 : n;
}

/** The Deployment's ReplicaSets: selected by it and controlled by it (by uid), as kubectl finds them. */
async function replicaSetsOf(cli: Cli, d: Deployment): Promise<ReplicaSet[]> {
  const selector = labelSelectorFromSpec(d.spec.selector).toString();
  const list = await cli.client.list<{ items: ReplicaSet[] }>(refFor(replicaSetsResource, d.metadata.namespace), { labelSelector: selector });
  return list.items.filter((rs) => rs.metadata.ownerReferences?.some((r) => r.controller === true && r.uid === d.metadata.uid));
}

/** kubectl's rollout status for a Deployment: the message and whether the rollout is done. */
export function deploymentRolloutStatus(d: Deployment): { message: string; done: boolean } {
  const name = d.metadata.name ?? '';
  if ((d.metadata.generation ?? 0) > (d.status.observedGeneration ?? 0)) return { message: 'Waiting for deployment spec update to be observed...', done: false };
  const progressing = d.status.conditions?.find((c) => c.type === DEPLOYMENT_PROGRESSING);
  if (progressing?.reason === REASON.progressDeadlineExceeded) throw new WaitTimeoutError(`deployment "${name}" exceeded its progress deadline`);
  const want = d.spec.replicas;
  const updated = d.status.updatedReplicas ?? 0;
  const total = d.status.replicas ?? 0;
  const available = d.status.availableReplicas ?? 0;
  if (updated < want) return { message: `Waiting for deployment "${name}" rollout to finish: ${updated} out of ${want} new replicas have been updated...`, done: false };
  if (total > updated) return { message: `Waiting for deployment "${name}" rollout to finish: ${total - updated} old replicas are pending termination...`, done: false };
  if (available < updated) return { message: `Waiting for deployment "${name}" rollout to finish: ${available} of ${updated} updated replicas are available...`, done: false };
  return { message: `deployment "${name}" successfully rolled out`, done: true };
}

export async function runRolloutStatus(cli: Cli, args: string[], o: { timeout?: string; watch?: boolean }): Promise<number> {
  const { ref } = target(cli, args, 'status');
  const timeoutMs = parseDuration(o.timeout ?? '0s');
  const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : Number.POSITIVE_INFINITY;
  let last = '';
  for (;;) {
    const { message, done } = deploymentRolloutStatus(await cli.client.get<Deployment>(ref));
    if (message !== last) cli.print(`${message}\n`);
    last = message;
    if (done || o.watch === false) return done ? 0 : 1;
    if (Date.now() > deadline) throw new WaitTimeoutError('timed out waiting for the condition');
    await new Promise((r) => setTimeout(r, 500));
  }
}

export async function runRolloutHistory(cli: Cli, args: string[], o: { revision?: string }): Promise<number> {
  const { t, ref } = target(cli, args, 'history');
  const d = await cli.client.get<Deployment>(ref);
  const sets = (await replicaSetsOf(cli, d)).filter((rs) => revisionOf(rs) > 0).sort((a, b) => revisionOf(a) - revisionOf(b));
  if (o.revision !== undefined && o.revision !== '0') {
    const rs = sets.find((r) => String(revisionOf(r)) === o.revision);
    if (!rs) throw new UsageError(`unable to find the specified revision ${o.revision}`);
    cli.print(`${t.display} with revision #${o.revision}\nPod Template:\n${toYaml(withoutHash(rs.spec.template))}`);
    return 0;
  }
  const width = Math.max('REVISION'.length, ...sets.map((rs) => String(revisionOf(rs)).length)) + 2;
  let out = `${t.display} \n${'REVISION'.padEnd(width)}CHANGE-CAUSE\n`;
  for (const rs of sets) out += `${String(revisionOf(rs)).padEnd(width)}${rs.metadata.annotations?.[CHANGE_CAUSE_ANNOTATION] ?? '<none>'}\n`;
  cli.print(`${out}\n`);
  return 0;
}

function withoutHash(template: PodTemplateSpec): PodTemplateSpec {
  const labels = { ...template.metadata.labels };
  delete labels[POD_TEMPLATE_HASH_LABEL];
  return { ...template, metadata: { ...template.metadata, labels } };
}

export async function runRolloutUndo(cli: Cli, args: string[], o: { toRevision?: string }): Promise<number> {
  const { t, ref } = target(cli, args, 'undo');
  const d = await cli.client.get<Deployment>(ref);
  if (d.spec.paused === true) throw new UsageError(`you cannot rollback a paused deployment; resume it first with 'cellctl rollout resume ${t.display}' and try again`);
  const sets = await replicaSetsOf(cli, d);
  const wanted = Number.parseInt(o.toRevision ?? '0', 10);
  let rs: ReplicaSet | undefined;
  if (wanted > 0) {
    rs = sets.find((r) => revisionOf(r) === wanted);
    if (!rs) throw new UsageError(`unable to find specified revision ${wanted} in history`);
  } else {
    // The previous revision: the highest below the current (highest) one.
    const revisions = [...new Set(sets.map(revisionOf))].sort((a, b) => b - a);
    if (revisions.length < 2) throw new UsageError('no rollout history found for deployment');
    rs = sets.find((r) => revisionOf(r) === revisions[1]);
  }
  if (!rs) throw new UsageError('no rollout history found for deployment');
  const template = withoutHash(rs.spec.template);
  if (JSON.stringify(template) === JSON.stringify(d.spec.template)) {
    cli.print(`${t.display} skipped rollback (current template already matches revision ${revisionOf(rs)})\n`);
    return 0;
  }
  // As kubectl: the template, and the change-cause of that revision, put back with one JSON patch.
  const annotations = { ...d.metadata.annotations };
  const cause = rs.metadata.annotations?.[CHANGE_CAUSE_ANNOTATION];
  if (cause !== undefined) annotations[CHANGE_CAUSE_ANNOTATION] = cause;
  else delete annotations[CHANGE_CAUSE_ANNOTATION];
  await cli.client.patch(
    ref,
    [
      { op: 'replace', path: '/spec/template', value: template },
      { op: d.metadata.annotations ? 'replace' : 'add', path: '/metadata/annotations', value: annotations },
    ],
    'json',
  );
  cli.print(`${t.display} rolled back\n`);
  return 0;
}

export async function runRolloutPause(cli: Cli, args: string[], paused: boolean): Promise<number> {
  const verb = paused ? 'pause' : 'resume';
  const { t, ref } = target(cli, args, verb);
  const d = await cli.client.get<Deployment>(ref);
  if ((d.spec.paused === true) === paused) throw new UsageError(`${t.display} is not ${paused ? 'resumed' : 'paused'}`);
  await cli.client.patch(ref, { spec: { paused: paused ? true : null } }, 'merge');
  cli.print(`${t.display} ${paused ? 'paused' : 'resumed'}\n`);
  return 0;
}
