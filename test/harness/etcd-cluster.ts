// Starts a multi-member etcd cluster on loopback (each member its own ports and data dir), with
// handles to kill, restart, pause and resume single members: the fault injection of the HA and chaos
// tests (DESIGN §7: "a member or leader can die mid-run with nothing lost").
import { rmSync } from 'node:fs';
import { durabilityArgs, EtcdProcess, tempDataDir } from './etcd.js';
import { CuttableNetwork } from './cuttable-network.js';
import { freePort } from './ports.js';

export interface EtcdMember {
  name: string; // 'm0','m1','m2'
  clientUrl: string; // http://127.0.0.1:PORT
  pid(): number | undefined;
  running(): boolean;
  /** SIGKILL, wait for exit, keep data dir. */
  kill(): Promise<void>;
  /**
   * Start again, same ports/data dir, rejoins the cluster; resolves when its /health is ok — or,
   * when too few other members run for a quorum, as soon as it serves HTTP.
   */
  restart(): Promise<void>;
  /** SIGSTOP: the process stays, silent (no errors, no answers). */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  /** Whether the member answers and knows a leader (after a partition heals: it has rejoined). */
  hasLeader(): Promise<boolean>;
}

export interface EtcdCluster {
  endpoints: string[]; // client URLs of all members
  members: EtcdMember[];
  /** Index of the current leader (asks a live member's maintenance status), retrying until one is known or timeoutMs. */
  leaderIndex(timeoutMs?: number): Promise<number>;
  /**
   * A network partition (only with `partitionable`): the `isolated` members' raft traffic with the
   * others stops, as if the wire were cut; clients still reach every member.
   */
  partition(isolated: number[]): Promise<void>;
  /** Ends the partition. */
  heal(): Promise<void>;
  /**
   * The members' client URLs for one named client, through links that `cutClient` can cut (only
   * with `partitionable`); the same URLs for every call with that name.
   */
  clientUrls(client: string): Promise<string[]>;
  /** Cuts `client` off from every member, or (cut = false) joins it again. */
  cutClient(client: string, cut: boolean): Promise<void>;
  /** Kill all and remove data dirs. */
  stop(): Promise<void>;
}

/** The part of etcd's `/v3/maintenance/status` (gRPC gateway) answer the harness reads; ids are decimal strings. */
interface StatusBody {
  header?: { member_id?: string; raft_term?: string };
  leader?: string;
  raftTerm?: string;
}

interface MemberState {
  proc: EtcdProcess;
  dataDir: string;
  paused: boolean;
}

/** The member's own id and the leader it knows, or undefined when it does not answer in time. */
async function memberStatus(clientUrl: string): Promise<{ id: string; leader: string; term: bigint } | undefined> {
  try {
    const res = await fetch(`${clientUrl}/v3/maintenance/status`, {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
      signal: AbortSignal.timeout(1_000),
    });
    if (!res.ok) return undefined;
    const body = (await res.json()) as StatusBody;
    const id = body.header?.member_id;
    if (!id || !body.leader) return undefined;
    return { id, leader: body.leader, term: BigInt(body.raftTerm ?? body.header?.raft_term ?? '0') };
  } catch {
    // Down, paused or not listening yet: leaderIndex asks the other members and polls again.
    return undefined;
  }
}

export interface EtcdClusterOptions {
  members?: number;
  quiet?: boolean;
  fsync?: boolean;
  /** Route the members' peer traffic through proxies (cuttable-network.ts), so that `partition` and `cutClient` work. */
  partitionable?: boolean;
}

export async function startEtcdCluster(opts: EtcdClusterOptions = {}): Promise<EtcdCluster> {
  const n = opts.members ?? 3;
  const token = `cell-test-${process.pid}-${Date.now()}`;
  const names = Array.from({ length: n }, (_, i) => `m${i}`);
  const clientUrls: string[] = [];
  const peerUrls: string[] = [];
  /** What the members know each other by: the proxy's ports when partitionable. */
  const advertisedPeerUrls: string[] = [];
  for (let i = 0; i < n; i++) {
    clientUrls.push(`http://127.0.0.1:${await freePort()}`);
    peerUrls.push(`http://127.0.0.1:${await freePort()}`);
    advertisedPeerUrls.push(opts.partitionable ? `http://127.0.0.1:${await freePort()}` : peerUrls[i]!);
  }
  const network = opts.partitionable
    ? await CuttableNetwork.start(
        peerUrls.map((u, i) => ({ member: i, listenPort: Number(new URL(advertisedPeerUrls[i]!).port), targetPort: Number(new URL(u).port) })),
        clientUrls.map((u) => Number(new URL(u).port)),
      )
    : undefined;
  const initialCluster = names.map((name, i) => `${name}=${advertisedPeerUrls[i]}`).join(',');
  const states: MemberState[] = names.map((name, i) => {
    const dataDir = tempDataDir();
    const args = [
      '--name', name,
      '--data-dir', dataDir,
      '--listen-client-urls', clientUrls[i]!,
      '--advertise-client-urls', clientUrls[i]!,
      '--listen-peer-urls', peerUrls[i]!,
      '--initial-advertise-peer-urls', advertisedPeerUrls[i]!,
      '--initial-cluster', initialCluster,
      '--initial-cluster-token', token,
      // Ignored once the data dir holds a member, so restart() rejoins rather than re-bootstraps.
      '--initial-cluster-state', 'new',
      // Loopback round trips are sub-millisecond: short timeouts make a lost leader heal in ~1 s
      // rather than etcd's default several seconds, which keeps the fault tests short.
      '--heartbeat-interval', '50',
      '--election-timeout', '500',
      // As deploy/compose.yaml: a member back from a partition does not depose a working leader.
      '--pre-vote=true',
      '--log-level', 'error',
      '--logger', 'zap',
      ...durabilityArgs(opts.fsync),
    ];
    return { proc: new EtcdProcess(clientUrls[i]!, args, opts.quiet ?? false), dataDir, paused: false };
  });
  const quorum = Math.floor(n / 2) + 1;
  // Health (a leader) needs a quorum of running members; without one, a member that serves is all
  // a restart can wait for.
  const readiness = () => (states.filter((s) => s.proc.running).length >= quorum ? 'healthy' : 'serving');

  // Members wait for each other to form the first quorum, so they must all start at once.
  try {
    await Promise.all(states.map((s) => s.proc.start(readiness)));
  } catch (err) {
    await Promise.all(states.map((s) => s.proc.kill()));
    for (const s of states) rmSync(s.dataDir, { recursive: true, force: true });
    await network?.stop();
    throw err;
  }
  if (network) {
    // The proxies tell senders apart by raft member id: learn each member's.
    const ids: Record<string, number> = {};
    const deadline = Date.now() + 15_000;
    for (let i = 0; i < n; i++) {
      let st;
      while (!(st = await memberStatus(clientUrls[i]!))) {
        if (Date.now() > deadline) throw new Error(`etcd member ${names[i]} did not report its id`);
        await new Promise((r) => setTimeout(r, 100));
      }
      ids[BigInt(st.id).toString(16)] = i;
    }
    await network.learnIds(ids);
  }

  const members: EtcdMember[] = states.map((s, i) => ({
    name: names[i]!,
    clientUrl: clientUrls[i]!,
    pid: () => s.proc.pid,
    running: () => s.proc.running,
    async kill() {
      await s.proc.kill();
      s.paused = false;
    },
    async restart() {
      s.paused = false;
      await s.proc.start(readiness);
    },
    pause() {
      s.proc.signal('SIGSTOP');
      s.paused = s.proc.running;
    },
    resume() {
      s.proc.signal('SIGCONT');
      s.paused = false;
    },
    async hasLeader() {
      const st = await memberStatus(clientUrls[i]!);
      return st !== undefined && st.leader !== '0';
    },
  }));

  return {
    endpoints: clientUrls,
    members,
    async leaderIndex(timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const live = states.map((s, i) => (s.proc.running && !s.paused ? i : -1)).filter((i) => i >= 0);
        const answers = await Promise.all(live.map(async (i) => ({ i, st: await memberStatus(clientUrls[i]!) })));
        // Trust a member only about itself: the leader is a member reporting itself as leader (the
        // highest term wins, should a deposed leader not have heard of its successor yet).
        let best: { i: number; term: bigint } | undefined;
        for (const { i, st } of answers) {
          if (st && st.leader !== '0' && st.leader === st.id && (!best || st.term > best.term)) best = { i, term: st.term };
        }
        if (best) return best.i;
        if (Date.now() > deadline) throw new Error(`no etcd leader known after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async partition(isolated) {
      if (!network) throw new Error('this etcd cluster was not started partitionable');
      await network.partition(isolated);
    },
    async heal() {
      if (!network) throw new Error('this etcd cluster was not started partitionable');
      await network.heal();
    },
    clientUrls(client) {
      if (!network) return Promise.reject(new Error('this etcd cluster was not started partitionable'));
      return network.clientUrls(client);
    },
    async cutClient(client, cut) {
      if (!network) throw new Error('this etcd cluster was not started partitionable');
      await network.cutClient(client, cut);
    },
    async stop() {
      await network?.stop();
      await Promise.all(states.map((s) => s.proc.terminate()));
      for (const s of states) rmSync(s.dataDir, { recursive: true, force: true });
    },
  };
}
