// The closing note of a chaos run: faults injected with heal times per kind, what became of the
// pods, conflicts, and each invariant's figures and violations.
import { formatTable, percentile } from '../../bench/measure.js';
import type { Crash } from './cluster.js';
import { FAULT_KINDS, type FaultRecord } from './faults.js';
import type { Outcome, Violation } from './invariants.js';
import type { QueueFigures, QueuedJobOutcome } from './queue-invariants.js';
import type { PodKind } from './workload.js';

export interface ChaosSummary {
  seed: number;
  config: string;
  wallSeconds: number;
  setupSeconds: number;
  faults: FaultRecord[];
  created: Record<PodKind, number>;
  recreated: number;
  podGroups: number;
  retriedWrites: number;
  ambiguousCreates: number;
  outcome: Outcome;
  conflicts: number;
  boundBySchedulers: number;
  revisionsChecked: number;
  changesReplayed: number;
  sampledRevisions: number[];
  boundUids: number;
  watch: { consumerEvents: number; etcdEvents: number; compared: number; resumes: number; expired: string[]; errors: number };
  /** The @kubernetes/client-node informer's callbacks against the same history. */
  informer: { events: number; compared: number; restarts: number };
  audit: string;
  /** The Deployments' and Jobs' figures and what each controller-manager-kill met under way. */
  controllers: { deployments: number; replicas: number; rollouts: number; jobs: number; completions: number; jobPodsCreated: number; ownedPods: number; replicaSets: number; daemonPods: number; statefulPods: number; overlaps: string[] };
  /** The queue tenants: the ledgers replayed, and where their Jobs ended. */
  queues: QueueFigures & { sampledRevisions: number; submitted: number; jobs: QueuedJobOutcome };
  crashes: Crash[];
  unclean: { process: string; code: number | null }[];
  violations: Violation[];
  notes: string[];
}

const s = (ms: number | undefined) => (ms === undefined || !Number.isFinite(ms) ? '-' : (ms / 1000).toFixed(2));

export function formatReport(r: ChaosSummary): string {
  const out: string[] = [];
  const ok = r.violations.length === 0;
  out.push(`\n=== cell chaos run, seed ${r.seed}: ${ok ? 'PASS' : `FAIL (${r.violations.length} violations)`} ===`);
  out.push(`${r.config}; wall ${r.wallSeconds.toFixed(0)} s (setup ${r.setupSeconds.toFixed(0)} s)\n`);

  out.push('faults injected (heal time in seconds; see faults.ts for what "healed" means per kind):\n');
  out.push(
    formatTable(
      ['kind', 'count', 'healed', 'min', 'median', 'max'],
      FAULT_KINDS.map((k) => {
        const fs = r.faults.filter((f) => f.kind === k);
        const heals = fs.flatMap((f) => (f.healMs !== undefined ? [f.healMs] : [])).sort((a, b) => a - b);
        return [k, fs.length, heals.length, s(heals[0]), s(percentile(heals, 50)), s(heals.at(-1))];
      }),
    ),
  );
  out.push('');
  out.push(
    formatTable(
      ['#', 'at s', 'kind', 'target', 'down s', 'heal s', 'detail'],
      r.faults.map((f, i) => [i + 1, s(f.atMs), f.kind, f.target, s(f.downMs), f.healMs === undefined ? 'NOT HEALED' : s(f.healMs), f.detail]),
    ),
  );

  const o = r.outcome;
  const created = Object.values(r.created).reduce((a, b) => a + b, 0);
  out.push(`\npods: ${created} created (${Object.entries(r.created).map(([k, v]) => `${v} ${k}`).join(', ')}; ${r.recreated} of them re-creations of finished pods; ${r.podGroups} gangs)`);
  out.push(`  at the end: ${o.bound} bound and running, ${o.finished} succeeded, ${o.failed} failed, ${o.pendingWithReason} pending with a FailedScheduling reason, ` +
    `${o.deletedByWorkload} deleted by the workload after finishing, ${o.preempted} preempted`);
  out.push(`  writes retried through faults: ${r.retriedWrites}; creates that had committed on an attempt that looked failed: ${r.ambiguousCreates}`);
  out.push(`  schedulers: ${r.boundBySchedulers} bindings, ${r.conflicts} conflicts (409s), summed over every process instance's last scrape`);

  out.push('\ninvariants:');
  const count = (inv: Violation['invariant']) => r.violations.filter((v) => v.invariant === inv).length;
  out.push(`  over-commit:  ${count('over-commit') === 0 ? 'none' : 'VIOLATED'} — every one of ${r.revisionsChecked} revisions replayed (${r.changesReplayed} changes) ` +
    `and ${r.sampledRevisions.length} revisions read as ranges (${r.sampledRevisions.join(', ')}); API server audit at the end: ${r.audit}`);
  out.push(`  bound twice:  ${count('bound-twice') === 0 ? 'none' : 'VIOLATED'} — ${r.boundUids} bound pod uids, nodeName never changed, no uid in two ledgers`);
  out.push(`  lost pods:    ${count('lost') === 0 ? 'none' : 'VIOLATED'} — of ${created} created`);
  const w = r.watch;
  out.push(`  watch:        ${count('watch') === 0 ? 'exactly once, in order' : 'VIOLATED'} — consumer ${w.consumerEvents} events vs etcd history ${w.etcdEvents}, ` +
    `${w.compared} compared; ${w.resumes} resumes across API servers, ${w.expired.length} × 410, ${w.errors} broken streams`);
  out.push(`                client-node informer ${r.informer.events} callbacks vs the same history, ${r.informer.compared} compared; ${r.informer.restarts} restarts after errors`);
  const ctl = r.controllers;
  out.push(`  deployments:  ${count('deployment') === 0 ? 'rolled out' : 'VIOLATED'} — ${ctl.deployments} × ${ctl.replicas} replicas, ${ctl.rollouts} rolling updates (all kinds); every pod of the current template, no old ReplicaSet with pods (${ctl.replicaSets} ReplicaSets)`);
  out.push(`  daemonsets:   ${count('daemonset') === 0 ? 'rolled out' : 'VIOLATED'} — ${ctl.daemonPods} daemon pods, one per node, every one of the current template`);
  out.push(`  statefulsets: ${count('statefulset') === 0 ? 'rolled out' : 'VIOLATED'} — ${ctl.statefulPods} pods, exactly the ordinals wanted, every one of the update revision`);
  out.push(`  jobs:         ${count('job') === 0 ? 'complete' : 'VIOLATED'} — ${ctl.jobs} Jobs of ${ctl.completions} completions, ${ctl.jobPodsCreated} pods created in all`);
  out.push(`  orphans:      ${count('orphan') === 0 ? 'none' : 'VIOLATED'} — ${ctl.ownedPods} pods with a controller at the end`);
  for (const line of ctl.overlaps) out.push(`                ${line}`);
  const q = r.queues;
  const preemptions = Object.entries(q.preemptions).map(([reason, n]) => `${n} ${reason}`).join(', ');
  out.push(`  queues:       ${count('queue') === 0 ? 'none over quota' : 'VIOLATED'} — ${q.revisionsChecked} revisions that changed a ClusterQueue or Workload re-checked (${q.cohortChecks} cohort checks, ` +
    `${q.violations} violations) and ${q.sampledRevisions} sampled revisions read as ranges, by the API server's own ledger declaration`);
  const most = [...q.preemptedTimes].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([wl, n]) => `${wl} ${n}×`).join(', ');
  out.push(`                ${q.admissions} admissions, ${q.releases} releases, ${Object.values(q.preemptions).reduce((a, b) => a + b, 0)} preemptions${preemptions ? ` (${preemptions}` : ''}` +
    `${most ? `; most preempted: ${most})` : preemptions ? ')' : ''}`);
  const [mostKey, mostTimes] = [...q.preemptedTimes].sort((a, b) => b[1] - a[1])[0] ?? ['', 0];
  if (mostTimes > 1) {
    // The most preempted Workload's story, and its preemptors' (a preemption loop shows here).
    const trail = q.trails.get(mostKey) ?? [];
    const preemptors = [...new Set(trail.flatMap((t) => / by (\S+)\)$/.exec(t)?.[1] ?? []))];
    const story = (wl: string) => {
      const t = q.trails.get(wl) ?? [];
      return t.length <= 16 ? t.join(' ') : `${t.slice(0, 16).join(' ')} … ${t.length - 16} more`;
    };
    for (const wl of [mostKey, ...preemptors]) out.push(`                ${wl}: ${story(wl)}`);
  }
  out.push(`                peak reserved (borrowed): ${[...q.peaks].map(([id, p]) => `${id} ${p.reserved.toString()} (${p.borrowed.toString()})`).join(', ') || 'none'}`);
  const j = q.jobs;
  out.push(`                queued Jobs: ${q.submitted} submitted; at the end ${j.finished} finished, ${j.running} admitted and running, ${j.pendingWithReason} waiting with a reason`);
  out.push(`  crashes:      ${r.crashes.length === 0 ? 'none (only injected kills)' : r.crashes.map((c) => `${c.process} at ${s(c.atMs)}s (code ${c.code}, signal ${c.signal})`).join('; ')}`);
  if (r.unclean.length > 0) out.push(`  unclean exit on SIGTERM: ${r.unclean.map((u) => `${u.process} (${u.code})`).join(', ')}`);

  if (!ok) {
    out.push('\nviolations:');
    for (const v of r.violations) out.push(`  [${v.invariant}] ${v.message}`);
    for (const c of r.crashes) out.push(`\n--- output of ${c.process} before it exited ---\n${c.output}`);
  }
  if (r.notes.length > 0) out.push(`\nnotes (${r.notes.length}): ${r.notes.slice(0, 5).join(' | ')}`);
  return out.join('\n');
}
