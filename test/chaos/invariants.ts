// The invariants of a chaos run (DESIGN §3, §8), judged from etcd itself:
//   over-commit  at EVERY revision of the run (the history replayed), and again at sampled
//                revisions read as ranges at that revision: per node, the requests of its bound,
//                unfinished pods stay within its allocatable;
//   bound twice  per pod uid, spec.nodeName never changes once set, and no uid is ever in two nodes'
//                allocation ledgers at once;
//   lost         every pod the workload created (and did not delete) ends bound, finished, or
//                pending with a FailedScheduling reason; one gone must have been preempted;
//   watch        the watch consumer's (key, resourceVersion, type) sequence equals etcd's history
//                of the namespace's pod keys over the same revisions: every change once, in order;
//   deployment, job, orphan   the controllers' end state (controller-invariants.ts);
//   queue        at every revision that changed a ClusterQueue or Workload, the queue ledgers of
//                the cohorts it touched, and the queued Jobs' end state (queue-invariants.ts).
import type { CreatedPod } from './workload.js';
import { isTerminal, type EtcdReader, type KvChange, type NodeRec, type PodRec } from './history.js';
import { QueueReplay, type QueueFigures } from './queue-invariants.js';
import type { SeenEvent } from './watch.js';

export interface Violation {
  invariant: 'over-commit' | 'bound-twice' | 'lost' | 'watch' | 'crash' | 'heal' | 'deployment' | 'daemonset' | 'statefulset' | 'job' | 'orphan' | 'queue';
  message: string;
}

const MAX_LISTED = 20;

function fmtMilli(v: bigint): string {
  return `${v}m`;
}

/** Per-node usage of bound, unfinished pods, kept up to date as pods change. */
class Usage {
  readonly pods = new Map<string, PodRec>();
  readonly nodes = new Map<string, NodeRec>();
  private readonly used = new Map<string, NodeRec>();

  private add(node: string, p: PodRec, sign: bigint): void {
    const u = this.used.get(node) ?? { cpu: 0n, memory: 0n, pods: 0n };
    u.cpu += sign * p.cpu;
    u.memory += sign * p.memory;
    u.pods += sign * 1000n;
    this.used.set(node, u);
  }

  /** Set (or, with undefined, remove) a pod; returns the nodes whose usage changed. */
  setPod(key: string, p: PodRec | undefined): string[] {
    const touched: string[] = [];
    const old = this.pods.get(key);
    if (old && old.node !== '' && !isTerminal(old.phase)) {
      this.add(old.node, old, -1n);
      touched.push(old.node);
    }
    if (p) this.pods.set(key, p);
    else this.pods.delete(key);
    if (p && p.node !== '' && !isTerminal(p.phase)) {
      this.add(p.node, p, 1n);
      touched.push(p.node);
    }
    return touched;
  }

  /** Over-commit findings for `node` (empty when it fits). */
  check(node: string): string[] {
    const u = this.used.get(node);
    if (!u) return [];
    const a = this.nodes.get(node);
    if (!a) return u.pods > 0n ? [`${u.pods / 1000n} unfinished pods bound to node ${node}, which does not exist`] : [];
    const out: string[] = [];
    if (u.cpu > a.cpu) out.push(`node ${node} over-committed on cpu: ${fmtMilli(u.cpu)} > ${fmtMilli(a.cpu)}`);
    if (u.memory > a.memory) out.push(`node ${node} over-committed on memory: ${u.memory / 1000n} > ${a.memory / 1000n} bytes`);
    if (u.pods > a.pods) out.push(`node ${node} over-committed on pods: ${u.pods / 1000n} > ${a.pods / 1000n}`);
    return out;
  }

  allNodes(): string[] {
    return [...new Set([...this.used.keys(), ...this.nodes.keys()])];
  }
}

export interface ReplayResult {
  revisionsChecked: number;
  changes: number;
  firstRevision: number;
  lastRevision: number;
  /** Bound pods (distinct uids) seen over the run. */
  boundUids: number;
  violations: Violation[];
  /** The namespace's pod changes as a watch would report them. */
  podEvents: SeenEvent[];
  /** Final state at the last revision, by pod key. */
  finalPods: Map<string, PodRec>;
  /** Per uid: its key, whether it was ever deleted, and whether it had been preempted before that. */
  uids: Map<string, { key: string; deleted: boolean; preempted: boolean }>;
  /** Uids with a FailedScheduling event. */
  failedScheduling: Set<string>;
  /** Preemption victims (DisruptionTarget set before deletion). */
  preempted: number;
  /** Each of the namespace's pod keys' changes, compactly, for violation messages. */
  trails: Map<string, string[]>;
  /** The queue ledgers' replay. */
  queues: QueueFigures;
}

/**
 * Replay the history from the state at `startRevision` to the last change, checking over-commit,
 * double binding and the queue ledgers after every revision.
 */
export async function replay(reader: Pick<EtcdReader, 'rangeAt'>, startRevision: number, changes: KvChange[], namespace: string): Promise<ReplayResult> {
  const usage = new Usage();
  const violations: Violation[] = [];
  const uids = new Map<string, { key: string; deleted: boolean; preempted: boolean }>();
  const failedScheduling = new Set<string>();
  const ledgers = new Map<string, string[]>();
  const ledgerOf = new Map<string, string>();
  const boundTo = new Map<string, string>();
  const podPrefix = `/pods/${namespace}/`;
  const podEvents: SeenEvent[] = [];
  const trails = new Map<string, string[]>();
  let preempted = 0;
  const push = (v: Violation) => {
    if (violations.filter((x) => x.invariant === v.invariant).length < MAX_LISTED) violations.push(v);
    else overflow.set(v.invariant, (overflow.get(v.invariant) ?? 0) + 1);
  };
  const overflow = new Map<Violation['invariant'], number>();
  const queues = new QueueReplay(push);

  const setLedger = (node: string, list: string[] | undefined, rev: number, dirty: Set<string>) => {
    for (const uid of ledgers.get(node) ?? []) if (ledgerOf.get(uid) === node) ledgerOf.delete(uid);
    if (list) ledgers.set(node, list);
    else ledgers.delete(node);
    for (const uid of list ?? []) {
      const other = ledgerOf.get(uid);
      if (other !== undefined && other !== node) dirty.add(`${uid} ${other} ${node} ${rev}`);
      ledgerOf.set(uid, node);
    }
  };
  const notePod = (key: string, p: PodRec | undefined, rev: number) => {
    if (!p) return;
    const info = uids.get(p.uid) ?? { key, deleted: false, preempted: false };
    if (p.preempted) info.preempted = true;
    uids.set(p.uid, info);
    if (p.node !== '') {
      const was = boundTo.get(p.uid);
      if (was !== undefined && was !== p.node) push({ invariant: 'bound-twice', message: `pod ${key} (uid ${p.uid}) moved from node ${was} to ${p.node} at revision ${rev}` });
      boundTo.set(p.uid, p.node);
    } else if (boundTo.has(p.uid)) {
      push({ invariant: 'bound-twice', message: `pod ${key} (uid ${p.uid}) lost its nodeName ${boundTo.get(p.uid)} at revision ${rev}` });
    }
  };

  // The state at the start revision.
  const initial = await reader.rangeAt('/', startRevision);
  const initDirty = new Set<string>();
  for (const { key, value } of initial) {
    const name = key.split('/').pop() ?? '';
    if (value.kind === 'pod') {
      usage.setPod(key, value.pod);
      notePod(key, value.pod, startRevision);
    } else if (value.kind === 'node') usage.nodes.set(name, value.node);
    else if (value.kind === 'ledger') setLedger(name, value.uids, startRevision, initDirty);
    else queues.apply(key, value, startRevision);
  }
  let revisionsChecked = 0;
  const checkRevision = (rev: number, touched: Set<string>, dirty: Set<string>) => {
    revisionsChecked++;
    for (const n of touched) for (const m of usage.check(n)) push({ invariant: 'over-commit', message: `${m} at revision ${rev}` });
    for (const d of dirty) {
      const [uid, a, b] = d.split(' ');
      // Still in both after the whole revision (a pod moving ledgers in one txn would be fine).
      if (ledgerOf.get(uid!) !== undefined && (ledgers.get(a!) ?? []).includes(uid!) && (ledgers.get(b!) ?? []).includes(uid!)) {
        push({ invariant: 'bound-twice', message: `pod uid ${uid} is in the allocation ledgers of ${a} and ${b} at revision ${rev}` });
      }
    }
    queues.endRevision(rev);
  };
  for (const n of usage.allNodes()) for (const m of usage.check(n)) push({ invariant: 'over-commit', message: `${m} at revision ${startRevision}` });
  checkRevision(startRevision, new Set(), initDirty);

  let rev = -1;
  let touched = new Set<string>();
  let dirty = new Set<string>();
  for (const c of changes) {
    if (c.revision !== rev) {
      if (rev >= 0) checkRevision(rev, touched, dirty);
      if (c.revision < rev) push({ invariant: 'watch', message: `etcd history out of order: revision ${c.revision} after ${rev}` });
      rev = c.revision;
      touched = new Set();
      dirty = new Set();
    }
    const resource = c.key.split('/')[1];
    const name = c.key.split('/').pop() ?? '';
    if (resource === 'pods') {
      const old = usage.pods.get(c.key);
      const next = c.type === 'put' && c.value?.kind === 'pod' ? c.value.pod : undefined;
      if (c.type === 'delete' && old) {
        const info = uids.get(old.uid);
        if (info) {
          info.deleted = true;
          if (old.preempted) {
            info.preempted = true;
            preempted++;
          }
        }
      }
      for (const n of usage.setPod(c.key, next)) touched.add(n);
      notePod(c.key, next, c.revision);
      if (c.key.startsWith(podPrefix)) {
        const type = c.type === 'delete' ? 'DELETED' : c.createRevision === c.revision ? 'ADDED' : 'MODIFIED';
        podEvents.push({ key: `${namespace}/${name}`, rv: c.version, type });
        const trail = trails.get(c.key) ?? [];
        trail.push(next ? `${c.revision}:${type}:${next.phase}${next.node ? `@${next.node}` : ''}${next.deleting ? ':deleting' : ''}` : `${c.revision}:DELETED`);
        trails.set(c.key, trail);
      }
    } else if (resource === 'nodes') {
      if (c.type === 'put' && c.value?.kind === 'node') usage.nodes.set(name, c.value.node);
      else usage.nodes.delete(name);
      touched.add(name);
    } else if (resource === 'nodeallocations') {
      setLedger(name, c.type === 'put' && c.value?.kind === 'ledger' ? c.value.uids : undefined, c.revision, dirty);
    } else if (resource === 'events' && c.type === 'put' && c.value?.kind === 'event' && c.value.event.reason === 'FailedScheduling') {
      failedScheduling.add(c.value.event.uid);
    } else {
      queues.apply(c.key, c.type === 'put' ? c.value : undefined, c.revision);
    }
  }
  if (rev >= 0) checkRevision(rev, touched, dirty);
  for (const [inv, n] of overflow) violations.push({ invariant: inv, message: `… and ${n} more ${inv} violations` });
  return {
    revisionsChecked,
    changes: changes.length,
    firstRevision: startRevision,
    lastRevision: rev >= 0 ? rev : startRevision,
    boundUids: boundTo.size,
    violations,
    podEvents,
    finalPods: new Map([...usage.pods].filter(([k]) => k.startsWith(podPrefix))),
    uids,
    failedScheduling,
    preempted,
    trails,
    queues: queues.figures,
  };
}

/** Over-commit at one revision, from ranges read at that revision (independent of the replay). */
export async function checkAtRevision(reader: EtcdReader, revision: number): Promise<Violation[]> {
  const [pods, nodes] = await Promise.all([reader.rangeAt('/pods/', revision), reader.rangeAt('/nodes/', revision)]);
  const usage = new Usage();
  for (const { key, value } of nodes) if (value.kind === 'node') usage.nodes.set(key.split('/').pop() ?? '', value.node);
  for (const { key, value } of pods) if (value.kind === 'pod') usage.setPod(key, value.pod);
  return usage.allNodes().flatMap((n) => usage.check(n).map((m) => ({ invariant: 'over-commit' as const, message: `${m} at sampled revision ${revision}` })));
}

export interface Outcome {
  bound: number;
  finished: number;
  failed: number;
  pendingWithReason: number;
  deletedByWorkload: number;
  preempted: number;
  /** Pods still bound but not finished, of kinds that should finish (informational). */
  violations: Violation[];
}

/** Where every pod the workload created ended up. */
export function podOutcomes(created: Iterable<CreatedPod>, r: ReplayResult, namespace: string): Outcome {
  const out: Outcome = { bound: 0, finished: 0, failed: 0, pendingWithReason: 0, deletedByWorkload: 0, preempted: 0, violations: [] };
  const byKey = new Map<string, string>();
  for (const [uid, info] of r.uids) if (!byKey.has(info.key)) byKey.set(info.key, uid);
  const lost = (m: string) => {
    if (out.violations.length < MAX_LISTED) out.violations.push({ invariant: 'lost', message: m });
  };
  let lostCount = 0;
  for (const c of created) {
    const key = `/pods/${namespace}/${c.name}`;
    const uid = byKey.get(key);
    const now = r.finalPods.get(key);
    if (c.deletedByWorkload) {
      out.deletedByWorkload++;
      if (now) {
        lostCount++;
        lost(`pod ${c.name} was deleted by the workload (${c.deletedNote ?? ''}) but is still there (phase ${now.phase}${now.deleting ? ', terminating' : ''}); history: ${(r.trails.get(key) ?? []).join(' ')}`);
      }
      continue;
    }
    if (!now) {
      if (uid !== undefined && r.uids.get(uid)?.preempted) {
        out.preempted++;
        continue;
      }
      lostCount++;
      lost(uid === undefined ? `pod ${c.name} (${c.kind}) was created (the API said so) but never appears in etcd` : `pod ${c.name} (${c.kind}) was deleted without being preempted or deleted by the workload`);
      continue;
    }
    if (now.deleting) {
      lostCount++;
      lost(`pod ${c.name} (${c.kind}) is still terminating at the end; history: ${(r.trails.get(key) ?? []).join(' ')}`);
    } else if (now.phase === 'Succeeded') out.finished++;
    else if (now.phase === 'Failed') out.failed++;
    else if (now.node !== '') out.bound++;
    else if (now.unschedulable || r.failedScheduling.has(now.uid)) out.pendingWithReason++;
    else {
      lostCount++;
      lost(`pod ${c.name} (${c.kind}) is pending with no FailedScheduling reason; history: ${(r.trails.get(key) ?? []).join(' ')}`);
    }
  }
  if (lostCount > out.violations.length) out.violations.push({ invariant: 'lost', message: `${lostCount} pods in all` });
  return out;
}

/** The consumer's events against etcd's, over the same revisions: equal, or the first difference. */
export function compareWatch(seen: SeenEvent[], expectedInEtcdOrder: SeenEvent[], upTo: number): { violations: Violation[]; compared: number } {
  const inRange = seen.filter((e) => e.rv <= upTo);
  // Every write has its own resourceVersion, and watchers get them in etcd's order: strictly
  // increasing, one to one with etcd's history.
  for (let i = 1; i < inRange.length; i++) {
    if (inRange[i]!.rv <= inRange[i - 1]!.rv) {
      return { compared: i, violations: [{ invariant: 'watch', message: `watch consumer saw resourceVersion ${inRange[i]!.rv} (${inRange[i]!.key}) after ${inRange[i - 1]!.rv}: out of order or twice` }] };
    }
  }
  const byRevisionThenKey = (a: SeenEvent, b: SeenEvent) => a.rv - b.rv || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
  const got = [...inRange].sort(byRevisionThenKey);
  const expected = [...expectedInEtcdOrder].sort(byRevisionThenKey);
  const fmt = (e: SeenEvent | undefined) => (e ? `${e.type} ${e.key}@${e.rv}` : 'nothing');
  const n = Math.max(got.length, expected.length);
  for (let i = 0; i < n; i++) {
    const a = got[i];
    const b = expected[i];
    if (!a || !b || a.key !== b.key || a.rv !== b.rv || a.type !== b.type) {
      const seenKeys = new Map<string, number>();
      for (const e of got) seenKeys.set(`${e.key}@${e.rv}`, (seenKeys.get(`${e.key}@${e.rv}`) ?? 0) + 1);
      const dup = [...seenKeys.values()].filter((v) => v > 1).length;
      const want = new Set(expected.map((e) => `${e.key}@${e.rv}`));
      const missing = expected.filter((e) => !seenKeys.has(`${e.key}@${e.rv}`)).length;
      const extra = got.filter((e) => !want.has(`${e.key}@${e.rv}`)).length;
      return {
        compared: i,
        violations: [{
          invariant: 'watch',
          message: `watch consumer and etcd history differ at event ${i}: consumer saw ${fmt(a)}, etcd has ${fmt(b)} ` +
            `(consumer ${got.length} events, etcd ${expected.length}; ${missing} missed, ${dup} seen twice, ${extra} not in etcd)`,
        }],
      };
    }
  }
  return { compared: n, violations: [] };
}
