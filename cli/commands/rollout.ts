// `cellctl rollout status|history|undo|pause|resume deployment/NAME` (status, history and undo of
// `daemonset/NAME` and `statefulset/NAME` too), with kubectl's messages and semantics: status waits
// until the rollout is complete (or past its progress deadline), history lists the revisions kept
// in the ReplicaSets' annotations (a DaemonSet's or StatefulSet's ControllerRevisions), undo puts
// an old revision's template back (the Deployment controller then reuses that ReplicaSet under a
// new revision; the others renumber that ControllerRevision), and pause / resume flip spec.paused.
import {
  CHANGE_CAUSE_ANNOTATION,
  DEPLOYMENT_PROGRESSING,
  POD_TEMPLATE_HASH_LABEL,
  REASON,
  REVISION_ANNOTATION,
  templateOfRevision,
  type ControllerRevision,
  type DaemonSet,
  type Deployment,
  type ReplicaSet,
  type StatefulSet,
} from '../../shared/api/apps.js';
import type { PodTemplateSpec } from '../../shared/api/core.js';
import { controllerRevisionsResource, replicaSetsResource } from '../../shared/api/registry.js';
import { parseDuration } from '../../shared/duration.js';
import { labelSelectorFromSpec } from '../../shared/labels.js';
import type { Cli } from '../context.js';
import { UsageError, WaitTimeoutError } from '../errors.js';
import { toYaml } from '../output/printers.js';
import { refFor } from '../resources.js';
import { workloadTarget, type WorkloadTarget } from './workload-target.js';

const ROLLOUT_KINDS = ['deployments', 'daemonsets', 'statefulsets'];
/** DaemonSets and StatefulSets have no spec.paused: pause and resume are Deployments' only, as in kubectl. */
const PAUSE_KINDS = ['deployments'];

/** Deployments keep their history in ReplicaSets; DaemonSets and StatefulSets in ControllerRevisions. */
type Kind = 'deployment' | 'daemonset' | 'statefulset';

async function target(cli: Cli, args: string[], verb: string, kinds = ROLLOUT_KINDS): Promise<{ t: WorkloadTarget; ref: ReturnType<typeof refFor>; kind: Kind }> {
  const t = await workloadTarget(cli, args, `rollout ${verb}`, kinds);
  return { t, ref: refFor(t.info, cli.namespace, t.name), kind: t.info.kind.toLowerCase() as Kind };
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

/** kubectl's rollout status for a DaemonSet: every node that should run the pod runs an available one of the current template. */
export function daemonSetRolloutStatus(ds: DaemonSet): { message: string; done: boolean } {
  const name = ds.metadata.name ?? '';
  if (ds.spec.updateStrategy.type !== 'RollingUpdate') throw new UsageError('rollout status is only available for RollingUpdate strategy type');
  if ((ds.metadata.generation ?? 0) > (ds.status.observedGeneration ?? 0)) return { message: 'Waiting for daemon set spec update to be observed...', done: false };
  const want = ds.status.desiredNumberScheduled;
  const updated = ds.status.updatedNumberScheduled ?? 0;
  const available = ds.status.numberAvailable ?? 0;
  if (updated < want) return { message: `Waiting for daemon set "${name}" rollout to finish: ${updated} out of ${want} new pods have been updated...`, done: false };
  if (available < want) return { message: `Waiting for daemon set "${name}" rollout to finish: ${available} of ${want} updated pods are available...`, done: false };
  return { message: `daemon set "${name}" successfully rolled out`, done: true };
}

/** kubectl's rollout status for a StatefulSet: ready pods, then the partition's or the whole update's progress. */
export function statefulSetRolloutStatus(sts: StatefulSet): { message: string; done: boolean } {
  if (sts.spec.updateStrategy.type !== 'RollingUpdate') throw new UsageError('rollout status is only available for RollingUpdate strategy type');
  const s = sts.status;
  if ((sts.metadata.generation ?? 0) > (s.observedGeneration ?? 0)) return { message: 'Waiting for statefulset spec update to be observed...', done: false };
  const ready = s.readyReplicas ?? 0;
  if (ready < sts.spec.replicas) return { message: `Waiting for ${sts.spec.replicas - ready} pods to be ready...`, done: false };
  // As kubectl: a partition that is set (the default sets 0) makes it a partitioned rollout.
  const partition = sts.spec.updateStrategy.rollingUpdate?.partition;
  if (partition !== undefined) {
    const want = sts.spec.replicas - partition;
    const updated = s.updatedReplicas ?? 0;
    if (updated < want) return { message: `Waiting for partitioned roll out to finish: ${updated} out of ${want} new pods have been updated...`, done: false };
    return { message: `partitioned roll out complete: ${updated} new pods have been updated...`, done: true };
  }
  if (s.updateRevision !== s.currentRevision) {
    return { message: `waiting for statefulset rolling update to complete ${s.updatedReplicas ?? 0} pods at revision ${s.updateRevision ?? ''}...`, done: false };
  }
  return { message: `statefulset rolling update complete ${s.currentReplicas ?? 0} pods at revision ${s.currentRevision ?? ''}...`, done: true };
}

export async function runRolloutStatus(cli: Cli, args: string[], o: { timeout?: string; watch?: boolean }): Promise<number> {
  const { ref, kind } = await target(cli, args, 'status');
  const statusOf = async () => {
    if (kind === 'daemonset') return daemonSetRolloutStatus(await cli.client.get<DaemonSet>(ref));
    if (kind === 'statefulset') return statefulSetRolloutStatus(await cli.client.get<StatefulSet>(ref));
    return deploymentRolloutStatus(await cli.client.get<Deployment>(ref));
  };
  const timeoutMs = parseDuration(o.timeout ?? '0s');
  const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : Number.POSITIVE_INFINITY;
  let last = '';
  for (;;) {
    const { message, done } = await statusOf();
    if (message !== last) cli.print(`${message}\n`);
    last = message;
    if (done || o.watch === false) return done ? 0 : 1;
    if (Date.now() > deadline) throw new WaitTimeoutError('timed out waiting for the condition');
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** One entry of a workload's history: its number, the template it records and its change-cause. */
interface Revision {
  number: number;
  template: PodTemplateSpec;
  changeCause: string | undefined;
}

/** A DaemonSet's or StatefulSet's ControllerRevisions: selected by it and controlled by it (by uid), as kubectl finds them. */
async function controllerRevisionsOf(cli: Cli, ds: DaemonSet | StatefulSet): Promise<ControllerRevision[]> {
  const selector = labelSelectorFromSpec(ds.spec.selector).toString();
  const list = await cli.client.list<{ items: ControllerRevision[] }>(refFor(controllerRevisionsResource, ds.metadata.namespace), { labelSelector: selector });
  return list.items.filter((r) => r.metadata.ownerReferences?.some((o) => o.controller === true && o.uid === ds.metadata.uid));
}

/** A workload's revisions, oldest first. */
async function historyOf(cli: Cli, ref: ReturnType<typeof refFor>, kind: Kind): Promise<Revision[]> {
  if (kind !== 'deployment') {
    const ds = await cli.client.get<DaemonSet | StatefulSet>(ref);
    return (await controllerRevisionsOf(cli, ds))
      .map((r) => ({ number: r.revision, template: templateOfRevision(r), changeCause: r.metadata.annotations?.[CHANGE_CAUSE_ANNOTATION] }))
      .sort((a, b) => a.number - b.number);
  }
  const d = await cli.client.get<Deployment>(ref);
  return (await replicaSetsOf(cli, d))
    .filter((rs) => revisionOf(rs) > 0)
    .map((rs) => ({ number: revisionOf(rs), template: withoutHash(rs.spec.template), changeCause: rs.metadata.annotations?.[CHANGE_CAUSE_ANNOTATION] }))
    .sort((a, b) => a.number - b.number);
}

export async function runRolloutHistory(cli: Cli, args: string[], o: { revision?: string }): Promise<number> {
  const { t, ref, kind } = await target(cli, args, 'history');
  const revisions = await historyOf(cli, ref, kind);
  if (o.revision !== undefined && o.revision !== '0') {
    const r = revisions.find((x) => String(x.number) === o.revision);
    if (!r) throw new UsageError(`unable to find the specified revision ${o.revision}`);
    cli.print(`${t.display} with revision #${o.revision}\nPod Template:\n${toYaml(r.template)}`);
    return 0;
  }
  const width = Math.max('REVISION'.length, ...revisions.map((r) => String(r.number).length)) + 2;
  let out = `${t.display} \n${'REVISION'.padEnd(width)}CHANGE-CAUSE\n`;
  for (const r of revisions) out += `${String(r.number).padEnd(width)}${r.changeCause ?? '<none>'}\n`;
  cli.print(`${out}\n`);
  return 0;
}

function withoutHash(template: PodTemplateSpec): PodTemplateSpec {
  const labels = { ...template.metadata.labels };
  delete labels[POD_TEMPLATE_HASH_LABEL];
  return { ...template, metadata: { ...template.metadata, labels } };
}

export async function runRolloutUndo(cli: Cli, args: string[], o: { toRevision?: string }): Promise<number> {
  const { t, ref, kind } = await target(cli, args, 'undo');
  const current = await cli.client.get<Deployment | DaemonSet | StatefulSet>(ref);
  if (kind === 'deployment' && (current as Deployment).spec.paused === true) {
    throw new UsageError(`you cannot rollback a paused deployment; resume it first with 'cellctl rollout resume ${t.display}' and try again`);
  }
  const revisions = await historyOf(cli, ref, kind);
  const wanted = Number.parseInt(o.toRevision ?? '0', 10);
  let r: Revision | undefined;
  if (wanted > 0) {
    r = revisions.find((x) => x.number === wanted);
    if (!r) throw new UsageError(`unable to find specified revision ${wanted} in history`);
  } else {
    // The previous revision: the highest below the current (highest) one.
    const numbers = [...new Set(revisions.map((x) => x.number))].sort((a, b) => b - a);
    if (numbers.length < 2) throw new UsageError(`no rollout history found for ${kind}`);
    r = revisions.find((x) => x.number === numbers[1]);
  }
  if (!r) throw new UsageError(`no rollout history found for ${kind}`);
  if (JSON.stringify(r.template) === JSON.stringify(current.spec.template)) {
    cli.print(`${t.display} skipped rollback (current template already matches revision ${r.number})\n`);
    return 0;
  }
  // As kubectl: the template, and the change-cause of that revision, put back with one JSON patch.
  const annotations = { ...current.metadata.annotations };
  if (r.changeCause !== undefined) annotations[CHANGE_CAUSE_ANNOTATION] = r.changeCause;
  else delete annotations[CHANGE_CAUSE_ANNOTATION];
  await cli.client.patch(
    ref,
    [
      { op: 'replace', path: '/spec/template', value: r.template },
      { op: current.metadata.annotations ? 'replace' : 'add', path: '/metadata/annotations', value: annotations },
    ],
    'json',
  );
  cli.print(`${t.display} rolled back\n`);
  return 0;
}

export async function runRolloutPause(cli: Cli, args: string[], paused: boolean): Promise<number> {
  const verb = paused ? 'pause' : 'resume';
  const { t, ref } = await target(cli, args, verb, PAUSE_KINDS);
  const d = await cli.client.get<Deployment>(ref);
  if ((d.spec.paused === true) === paused) throw new UsageError(`${t.display} is not ${paused ? 'resumed' : 'paused'}`);
  await cli.client.patch(ref, { spec: { paused: paused ? true : null } }, 'merge');
  cli.print(`${t.display} ${paused ? 'paused' : 'resumed'}\n`);
  return 0;
}
