// The fault injector: a schedule drawn from the seed (the same seed, the same faults in the same
// order at the same offsets), run one fault at a time during the workload's creation window.
// Every schedule holds each kind at least once, the etcd leader kill included. Heal time, per kind:
//   etcd-leader-kill, etcd-member-kill   kill → a write through the API succeeds (the member is
//                                        restarted after its down time; its rejoin is timed too)
//   apiserver-kill                       kill → the restarted server is ready (/readyz)
//   scheduler-kill                       kill → the restarted daemon is ready (informers synced)
//   controller-manager-kill              kill → the restarted manager holds the lease again (the
//                                        killed one did not release it: up to a lease duration)
//   agent-kill                           kill → every node of the agent Ready, leases renewed by the new process
//   pause (SIGSTOP, 1–5 s, then SIGCONT) SIGCONT → the process answers its health probe and an API write succeeds
//   etcd-partition                       cut → a write through the API succeeds (the leader, or a follower,
//                                        cut off from its peers while every client still reaches it; the
//                                        partition heals after its down time, and the rejoin is timed)
//   apiserver-etcd-cut                   cut → a write through the API succeeds (one API server loses every
//                                        etcd member while its clients still reach it; it must also say
//                                        so on /readyz, or the fault counts as not healed; joined again
//                                        after its down time, when its own write and /readyz are timed too)
//   apiserver-link-cut                   joined again → the daemon healthy (a scheduler, an agent or the
//                                        controller manager cut off from both API servers for its down time,
//                                        its requests held, not refused; an agent's leases renewed after
//                                        the join, the manager leading, a scheduler ready)
import { ApiClient } from '../../shared/client/http-client.js';
import { errorMessage } from '../../shared/errors.js';
import { AgentManaged, PROBE_NAMESPACE, type ChaosCluster, type ManagedProcess } from './cluster.js';

export type FaultKind =
  | 'etcd-leader-kill'
  | 'etcd-member-kill'
  | 'etcd-partition'
  | 'apiserver-etcd-cut'
  | 'apiserver-link-cut'
  | 'apiserver-kill'
  | 'controller-manager-kill'
  | 'scheduler-kill'
  | 'agent-kill'
  | 'pause';
export const FAULT_KINDS: readonly FaultKind[] = [
  'etcd-leader-kill',
  'etcd-member-kill',
  'etcd-partition',
  'apiserver-etcd-cut',
  'apiserver-link-cut',
  'apiserver-kill',
  'controller-manager-kill',
  'scheduler-kill',
  'agent-kill',
  'pause',
];

/** Relative frequency of each kind beyond the one of each every schedule has. */
const WEIGHTS: Record<FaultKind, number> = {
  'etcd-leader-kill': 2,
  'etcd-member-kill': 1,
  'etcd-partition': 2,
  'apiserver-etcd-cut': 1,
  'apiserver-link-cut': 2,
  'apiserver-kill': 2,
  'controller-manager-kill': 1,
  'scheduler-kill': 2,
  'agent-kill': 1,
  pause: 3,
};

export interface PlannedFault {
  kind: FaultKind;
  /** ms after the window opens. */
  atMs: number;
  /** How long the process stays down (kills) or stopped (pause). */
  downMs: number;
  /** A number in [0,1) that picks the target among the candidates at run time. */
  pick: number;
}

export interface FaultRecord {
  kind: FaultKind;
  target: string;
  /** ms after the window opened. */
  atMs: number;
  downMs: number;
  /** undefined: did not heal within the limit. */
  healMs?: number;
  detail: string;
}

const HEAL_LIMIT_MS = 120_000;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The seeded schedule: `count` faults spread over `windowMs`, each kind at least once. */
export function planFaults(random: () => number, windowMs: number, count: number): PlannedFault[] {
  const kinds: FaultKind[] = [...FAULT_KINDS];
  const total = Object.values(WEIGHTS).reduce((a, b) => a + b, 0);
  while (kinds.length < count) {
    let r = random() * total;
    const k = FAULT_KINDS.find((kind) => (r -= WEIGHTS[kind]) < 0) ?? 'pause';
    kinds.push(k);
  }
  // Fisher–Yates with the seeded generator.
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [kinds[i], kinds[j]] = [kinds[j]!, kinds[i]!];
  }
  const slot = windowMs / kinds.length;
  return kinds.map((kind, i) => ({
    kind,
    atMs: Math.round(i * slot + random() * slot * 0.3),
    downMs: Math.round(kind === 'pause' ? 1000 + random() * 4000 : 500 + random() * 2500),
    pick: random(),
  }));
}

export class FaultInjector {
  readonly records: FaultRecord[] = [];
  private stopped = false;
  private probeSeq = 0;

  constructor(
    private readonly cluster: ChaosCluster,
    /** A client over both API servers, for the write probe. */
    private readonly client: ApiClient,
    private readonly log: (line: string) => void,
  ) {}

  stop(): void {
    this.stopped = true;
  }

  async run(plan: PlannedFault[]): Promise<void> {
    const t0 = Date.now();
    for (const f of plan) {
      const wait = t0 + f.atMs - Date.now();
      if (wait > 0) await sleep(wait);
      if (this.stopped) return;
      const rec = await this.inject(f, Date.now() - t0);
      this.records.push(rec);
      this.log(`fault ${this.records.length}/${plan.length} at ${(rec.atMs / 1000).toFixed(1)}s: ${rec.kind} ${rec.target}, down ${rec.downMs} ms, ` +
        `${rec.healMs !== undefined ? `healed in ${rec.healMs} ms` : 'DID NOT HEAL'}${rec.detail ? ` (${rec.detail})` : ''}`);
    }
  }

  /** Poll `cond` until true; ms from `since`, or undefined at the limit. */
  private async until(cond: () => Promise<boolean>, since: number): Promise<number | undefined> {
    while (Date.now() - since < HEAL_LIMIT_MS) {
      if (await cond()) return Date.now() - since;
      await sleep(50);
    }
    return undefined;
  }

  /** One write through the API (either server, or `via`): an annotation on the probe namespace. */
  private async writeOk(via: ApiClient = this.client): Promise<boolean> {
    try {
      await via.patch({ resource: 'namespaces', name: PROBE_NAMESPACE }, { metadata: { annotations: { 'chaos.cell.dev/probe': String(++this.probeSeq) } } });
      return true;
    } catch (err) {
      // Expected while the fault lasts; the poll tries again.
      if (this.probeSeq % 50 === 0) this.log(`  probe write failed: ${errorMessage(err)}`);
      return false;
    }
  }

  private choose<T>(items: readonly T[], pick: number): T {
    return items[Math.floor(pick * items.length)]!;
  }

  private async inject(f: PlannedFault, atMs: number): Promise<FaultRecord> {
    const c = this.cluster;
    const rec = (target: ManagedProcess | string, healMs: number | undefined, detail = ''): FaultRecord => ({
      kind: f.kind,
      target: typeof target === 'string' ? target : target.id,
      atMs,
      downMs: f.downMs,
      ...(healMs !== undefined ? { healMs } : {}),
      detail,
    });
    switch (f.kind) {
      case 'etcd-leader-kill':
      case 'etcd-member-kill': {
        const leader = await c.etcd.leaderIndex(30_000);
        const candidates = f.kind === 'etcd-leader-kill' ? [leader] : c.etcdMembers.map((_, i) => i).filter((i) => i !== leader);
        const target = c.etcdMembers[this.choose(candidates, f.pick)]!;
        const killedAt = Date.now();
        await target.kill();
        const heal = await this.until(() => this.writeOk(), killedAt);
        const rest = killedAt + f.downMs - Date.now();
        if (rest > 0) await sleep(rest);
        const restartAt = Date.now();
        await target.restart();
        const newLeader = await c.etcd.leaderIndex(30_000);
        return rec(target, heal, `rejoined in ${Date.now() - restartAt} ms; leader now ${c.etcdMembers[newLeader]!.id}`);
      }
      case 'etcd-partition': {
        // Half the picks cut off the leader, which keeps the calls it holds unanswered until the
        // API servers notice it lost its quorum; the rest a follower.
        const leader = await c.etcd.leaderIndex(30_000);
        const followers = c.etcdMembers.map((_, i) => i).filter((i) => i !== leader);
        const index = f.pick < 0.5 ? leader : this.choose(followers, (f.pick - 0.5) * 2);
        const target = c.etcdMembers[index]!;
        const cutAt = Date.now();
        await c.etcd.partition([index]);
        const heal = await this.until(() => this.writeOk(), cutAt);
        const rest = cutAt + f.downMs - Date.now();
        if (rest > 0) await sleep(rest);
        const joinedAt = Date.now();
        await c.etcd.heal();
        const rejoin = await this.until(() => c.etcd.members[index]!.hasLeader(), joinedAt);
        const newLeader = await c.etcd.leaderIndex(30_000);
        return rec(target, heal, `${index === leader ? 'the leader' : 'a follower'}; rejoined in ${rejoin === undefined ? 'never' : `${rejoin} ms`}; leader now ${c.etcdMembers[newLeader]!.id}`);
      }
      case 'apiserver-etcd-cut': {
        const target = this.choose(c.apiservers, f.pick);
        const cutAt = Date.now();
        await c.etcd.cutClient(target.id, true);
        // The cut lasts until both are seen: the cluster writing again, and the server saying it is not ready.
        const [heal, unready] = await Promise.all([this.until(() => this.writeOk(), cutAt), this.until(() => target.unready(), cutAt)]);
        const rest = cutAt + f.downMs - Date.now();
        if (rest > 0) await sleep(rest);
        const joinedAt = Date.now();
        await c.etcd.cutClient(target.id, false);
        const own = new ApiClient({ servers: [target.url], timeoutMs: 5_000, retries: 0 });
        const [back, ready] = await Promise.all([this.until(() => this.writeOk(own), joinedAt), this.until(() => target.healthy(), joinedAt)]);
        own.close();
        const ms = (v: number | undefined) => (v === undefined ? 'never' : `${v} ms`);
        // A server that never says it is unready would keep a load balancer sending it requests it cannot serve.
        return rec(target, unready === undefined ? undefined : heal, `/readyz 503 after ${ms(unready)}; joined again: its own writes after ${ms(back)}, ready after ${ms(ready)}`);
      }
      case 'apiserver-link-cut': {
        const target = this.choose([...c.schedulers, ...c.agents, ...c.controllerManagers], f.pick);
        await c.cutFromApiServers(target.id, true);
        await sleep(f.downMs);
        const joinedAt = Date.now();
        await c.cutFromApiServers(target.id, false);
        const heal = await this.until(() => (target instanceof AgentManaged ? target.healthySince(joinedAt) : target.healthy()), joinedAt);
        return rec(target, heal, target instanceof AgentManaged ? 'healed = every lease renewed after the join' : '');
      }
      case 'controller-manager-kill': {
        const target = this.choose(c.controllerManagers, f.pick);
        const killedAt = Date.now();
        await target.kill();
        await sleep(f.downMs);
        try {
          await target.restart();
        } catch (err) {
          return rec(target, undefined, `restart failed: ${errorMessage(err)}`);
        }
        const heal = await this.until(() => target.healthy(), killedAt);
        return rec(target, heal, 'healed = leading again');
      }
      case 'apiserver-kill':
      case 'scheduler-kill':
      case 'agent-kill': {
        const pool: readonly ManagedProcess[] = f.kind === 'apiserver-kill' ? c.apiservers : f.kind === 'scheduler-kill' ? c.schedulers : c.agents;
        const target = this.choose(pool, f.pick);
        const killedAt = Date.now();
        await target.kill();
        await sleep(f.downMs);
        try {
          await target.restart();
        } catch (err) {
          return rec(target, undefined, `restart failed: ${errorMessage(err)}`);
        }
        return rec(target, Date.now() - killedAt);
      }
      case 'pause': {
        const target = this.choose(c.all, f.pick);
        target.pause();
        await sleep(f.downMs);
        target.resume();
        const resumedAt = Date.now();
        const heal = await this.until(async () => (await target.healthy()) && (await this.writeOk()), resumedAt);
        return rec(target, heal);
      }
    }
  }
}
