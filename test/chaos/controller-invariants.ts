// The controllers' invariants of a chaos run, judged from etcd at the end revision (after the
// settle period) and from the whole history of pod keys:
//   deployment  exactly `replicas` pods not being deleted, all of the ReplicaSet of the current
//               template (its revision and its pod template), and the status saying so
//               (updated = available = replicas, current generation observed); no ReplicaSet of an
//               old template has pods;
//   daemonset   rolled out (every node that should run its pod runs an available one of the current
//               template); never two live pods on a node; every untainted hollow node has one;
//   statefulset rolled out (update revision current, every replica ready); exactly its pods
//               <name>-0 … <name>-(replicas-1), each of the update revision;
//   job         Complete, exactly `completions` succeeded, and no more pods ever created (distinct
//               uids over the run) than completions plus the failures it counted;
//   orphan      no pod or ReplicaSet is owned by an object that no longer exists.
import { CONTROLLER_REVISION_HASH_LABEL, REVISION_ANNOTATION, type DaemonSet, type Deployment, type ReplicaSet, type StatefulSet } from '../../shared/api/apps.js';
import type { Job } from '../../shared/api/batch.js';
import type { Node, Pod } from '../../shared/api/core.js';
import { HOLLOW_LABEL } from '../../agent/hollow.js';
import { daemonSetRolledOut, jobComplete, statefulSetRolledOut } from './controller-workload.js';
import type { EtcdReader, KvChange } from './history.js';
import type { Violation } from './invariants.js';

export interface ControllerFigures {
  deployments: number;
  replicaSets: number;
  /** Daemon pods at the end, over every DaemonSet; StatefulSet pods likewise. */
  daemonPods: number;
  statefulPods: number;
  jobs: number;
  /** Pods owned by a Job, over the whole run. */
  jobPodsCreated: number;
  ownedPods: number;
}

const images = (spec: { containers: { image?: string }[] }) => JSON.stringify(spec.containers.map((c) => c.image ?? ''));

export async function checkControllers(
  reader: EtcdReader,
  revision: number,
  changes: KvChange[],
  namespace: string,
  expected: { deployments: string[]; daemonSets: string[]; statefulSets: string[]; jobs: string[] },
): Promise<{ violations: Violation[]; figures: ControllerFigures }> {
  const [deployments, sets, jobs, pods, daemonSets, statefulSets, nodes] = await Promise.all([
    reader.objectsAt<Deployment>(`/deployments/${namespace}/`, revision),
    reader.objectsAt<ReplicaSet>(`/replicasets/${namespace}/`, revision),
    reader.objectsAt<Job>(`/jobs/${namespace}/`, revision),
    reader.objectsAt<Pod>(`/pods/${namespace}/`, revision),
    reader.objectsAt<DaemonSet>(`/daemonsets/${namespace}/`, revision),
    reader.objectsAt<StatefulSet>(`/statefulsets/${namespace}/`, revision),
    reader.objectsAt<Node>('/nodes/', revision),
  ]);
  const violations: Violation[] = [];
  const controllerOf = (o: { metadata: { ownerReferences?: { uid: string; controller?: boolean }[] } }) => o.metadata.ownerReferences?.find((r) => r.controller === true)?.uid;
  const podsOf = (uid: string | undefined) => pods.filter((p) => uid !== undefined && controllerOf(p) === uid);

  for (const name of expected.deployments) {
    const d = deployments.find((x) => x.metadata.name === name);
    if (!d) {
      violations.push({ invariant: 'deployment', message: `deployment ${name} is gone` });
      continue;
    }
    const want = d.spec.replicas;
    const own = sets.filter((rs) => controllerOf(rs) === d.metadata.uid);
    const revisionOf = (o: { metadata: { annotations?: Record<string, string> } }) => o.metadata.annotations?.[REVISION_ANNOTATION];
    const current = own.filter((rs) => revisionOf(rs) === revisionOf(d) && images(rs.spec.template.spec) === images(d.spec.template.spec));
    if (current.length !== 1) {
      violations.push({ invariant: 'deployment', message: `deployment ${name} (revision ${revisionOf(d)}): ${current.length} ReplicaSets of its current template among ${own.map((rs) => `${rs.metadata.name}@${revisionOf(rs)}`).join(', ')}` });
      continue;
    }
    const cur = current[0]!;
    const live = podsOf(cur.metadata.uid).filter((p) => p.metadata.deletionTimestamp === undefined && p.status.phase !== 'Succeeded' && p.status.phase !== 'Failed');
    if (live.length !== want) violations.push({ invariant: 'deployment', message: `deployment ${name}: ${live.length} live pods of its current ReplicaSet ${cur.metadata.name}, want ${want}` });
    for (const old of own.filter((rs) => rs !== cur)) {
      const left = podsOf(old.metadata.uid);
      if (left.length > 0) violations.push({ invariant: 'deployment', message: `deployment ${name}: old ReplicaSet ${old.metadata.name} still has ${left.length} pods (${left.map((p) => p.metadata.name).join(', ')})` });
    }
    const s = d.status ?? {};
    if (s.observedGeneration !== d.metadata.generation || s.replicas !== want || s.updatedReplicas !== want || s.availableReplicas !== want) {
      violations.push({ invariant: 'deployment', message: `deployment ${name}: status ${JSON.stringify({ observedGeneration: s.observedGeneration, replicas: s.replicas, updated: s.updatedReplicas, available: s.availableReplicas })} for generation ${d.metadata.generation} and ${want} replicas` });
    }
  }

  const live = (p: Pod) => p.metadata.deletionTimestamp === undefined && p.status.phase !== 'Succeeded' && p.status.phase !== 'Failed';
  let daemonPods = 0;
  for (const name of expected.daemonSets) {
    const ds = daemonSets.find((x) => x.metadata.name === name);
    if (!ds) {
      violations.push({ invariant: 'daemonset', message: `daemonset ${name} is gone` });
      continue;
    }
    if (!daemonSetRolledOut(ds)) violations.push({ invariant: 'daemonset', message: `daemonset ${name} not rolled out: status ${JSON.stringify(ds.status)} for generation ${ds.metadata.generation}` });
    const own = podsOf(ds.metadata.uid).filter(live);
    daemonPods += own.length;
    const byNode = new Map<string, Pod[]>();
    for (const p of own) byNode.set(p.spec.nodeName ?? '', [...(byNode.get(p.spec.nodeName ?? '') ?? []), p]);
    for (const [node, here] of byNode) {
      if (here.length > 1) violations.push({ invariant: 'daemonset', message: `daemonset ${name}: ${here.length} live pods on node ${node || '(unbound)'}: ${here.map((p) => p.metadata.name).join(', ')}` });
    }
    const stale = own.filter((p) => images(p.spec) !== images(ds.spec.template.spec));
    if (stale.length > 0) violations.push({ invariant: 'daemonset', message: `daemonset ${name}: ${stale.length} pods of an old template (${stale.map((p) => p.metadata.name).join(', ')})` });
    for (const n of nodes) {
      if (n.metadata.labels?.[HOLLOW_LABEL] === undefined || (n.spec.taints ?? []).length > 0 || n.spec.unschedulable === true) continue;
      if (!byNode.has(n.metadata.name ?? '')) violations.push({ invariant: 'daemonset', message: `daemonset ${name}: untainted hollow node ${n.metadata.name} has no pod` });
    }
  }

  let statefulPods = 0;
  for (const name of expected.statefulSets) {
    const sts = statefulSets.find((x) => x.metadata.name === name);
    if (!sts) {
      violations.push({ invariant: 'statefulset', message: `statefulset ${name} is gone` });
      continue;
    }
    if (!statefulSetRolledOut(sts)) violations.push({ invariant: 'statefulset', message: `statefulset ${name} not rolled out: status ${JSON.stringify(sts.status)} for generation ${sts.metadata.generation}` });
    const own = podsOf(sts.metadata.uid);
    statefulPods += own.length;
    const want = Array.from({ length: sts.spec.replicas }, (_, i) => `${name}-${i}`);
    const names = own.map((p) => p.metadata.name ?? '').sort();
    if (JSON.stringify(names) !== JSON.stringify([...want].sort())) violations.push({ invariant: 'statefulset', message: `statefulset ${name}: pods ${names.join(', ')}, want ${want.join(', ')}` });
    const old = own.filter((p) => p.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL] !== sts.status.updateRevision || !live(p));
    if (old.length > 0) violations.push({ invariant: 'statefulset', message: `statefulset ${name}: pods not live at update revision ${sts.status.updateRevision}: ${old.map((p) => `${p.metadata.name}@${p.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL]}`).join(', ')}` });
  }

  // Pods each Job ever had: distinct uids over the run's history (the Jobs are created in it).
  const jobPodUids = new Map<string, Set<string>>();
  for (const c of changes) {
    if (c.type !== 'put' || c.value?.kind !== 'pod' || c.value.pod.owner === '' || !c.key.startsWith(`/pods/${namespace}/`)) continue;
    const set = jobPodUids.get(c.value.pod.owner) ?? new Set<string>();
    set.add(c.value.pod.uid);
    jobPodUids.set(c.value.pod.owner, set);
  }
  let jobPodsCreated = 0;
  for (const name of expected.jobs) {
    const j = jobs.find((x) => x.metadata.name === name);
    if (!j) {
      violations.push({ invariant: 'job', message: `job ${name} is gone` });
      continue;
    }
    const completions = j.spec.completions ?? 1;
    const succeeded = j.status?.succeeded ?? 0;
    const failed = j.status?.failed ?? 0;
    const created = jobPodUids.get(j.metadata.uid ?? '')?.size ?? 0;
    jobPodsCreated += created;
    if (!jobComplete(j)) violations.push({ invariant: 'job', message: `job ${name} is not Complete: conditions ${JSON.stringify(j.status?.conditions ?? [])}` });
    if (succeeded !== completions) violations.push({ invariant: 'job', message: `job ${name}: ${succeeded} succeeded, want exactly ${completions}` });
    if (created > completions + failed) violations.push({ invariant: 'job', message: `job ${name}: ${created} pods created over the run, more than ${completions} completions + ${failed} failures` });
  }

  // The owners this run creates; other kinds of owner are not this check's business.
  const ownerKinds = new Set(['Deployment', 'ReplicaSet', 'Job', 'DaemonSet', 'StatefulSet']);
  const uids = new Set([...deployments, ...sets, ...jobs, ...daemonSets, ...statefulSets].map((o) => o.metadata.uid));
  const owned: { what: string; refs: { kind: string; name: string; uid: string }[] }[] = [
    ...pods.map((p) => ({ what: `pod ${p.metadata.name}`, refs: p.metadata.ownerReferences ?? [] })),
    ...sets.map((rs) => ({ what: `replicaset ${rs.metadata.name}`, refs: rs.metadata.ownerReferences ?? [] })),
  ];
  for (const o of owned) {
    for (const ref of o.refs) {
      if (ownerKinds.has(ref.kind) && !uids.has(ref.uid)) violations.push({ invariant: 'orphan', message: `${o.what} is owned by ${ref.kind} ${ref.name} (uid ${ref.uid}), which does not exist` });
    }
  }
  const ownedPods = pods.filter((p) => controllerOf(p) !== undefined).length;
  return { violations, figures: { deployments: deployments.length, replicaSets: sets.length, daemonPods, statefulPods, jobs: jobs.length, jobPodsCreated, ownedPods } };
}
