// The chaos run's cluster on loopback: a 3-member etcd cluster, two API server replicas on one
// etcd prefix, a controller manager (leader-elected, over both API servers), three scheduler daemons (default-scheduler twice, active-active, and a binpack
// policy), hollow agents and a few real agents. Every process is a ManagedProcess the fault
// injector can kill, restart, pause and resume. The daemons reach the API servers through a
// network that can cut any one of them off (as a load balancer's address would: a killed API
// server resets connections rather than refusing them). Any exit the injector (or the final shutdown) did
// not cause is recorded as a crash: the run fails on it.
import type { ChildProcess } from 'node:child_process';
import { startApiServerProcess, type ApiServerProcess } from '../clients/apiserver-process.js';
import { killAllWith, removeDir, startAgent, tempRoot, type AgentProcess } from '../agent/helpers.js';
import { CuttableNetwork } from '../harness/cuttable-network.js';
import { startEtcdCluster, type EtcdCluster, type EtcdMember } from '../harness/etcd-cluster.js';
import { freePort } from '../harness/ports.js';
import { startSchedulerProcess, type SchedulerProcess } from '../schedulers/scheduler-process.js';
import { startControllerManagerProcess, type ControllerManagerProcess } from '../controllers/helpers.js';
import { ApiClient } from '../../shared/client/http-client.js';
import type { Lease } from '../../shared/api/coordination.js';
import type { Node } from '../../shared/api/core.js';
import { errorMessage } from '../../shared/errors.js';

export type Role = 'etcd' | 'apiserver' | 'controller-manager' | 'scheduler' | 'agent';

export interface Crash {
  process: string;
  code: number | null;
  signal: string | null;
  /** ms since the run began. */
  atMs: number;
  /** Tail of what the process logged. */
  output: string;
}

/**
 * One process of the run, as the fault injector and the shutdown see it: the handles of an etcd
 * member (SIGKILL and wait; start again and wait until it serves; SIGSTOP; SIGCONT) for every kind.
 */
export interface ManagedProcess extends Pick<EtcdMember, 'pid' | 'running' | 'kill' | 'restart' | 'pause' | 'resume'> {
  readonly id: string;
  readonly role: Role;
  /** One health probe (no waiting). */
  healthy(): Promise<boolean>;
  /** SIGTERM at the end of the run; resolves to the exit code (null when killed by a signal). */
  stop(): Promise<number | null>;
  output(): string;
}

export interface ClusterOptions {
  hollowNodes: number;
  hollowAgents: number;
  realAgents: number;
  /** cpu / memory of each hollow node (the workload sizes them). */
  hollowCpu: string;
  hollowMemory: string;
  /** Print etcd's own error log (noisy while members are killed). */
  verbose?: boolean;
}

export const NAMESPACE = 'chaos';
/** Touched by heal probes: a write through the API succeeds. */
export const PROBE_NAMESPACE = 'chaos-probe';
export const REAL_LABEL = 'cell.dev/chaos-real';
/** On every hollow node: the queue tenants' ResourceFlavor stands for these nodes (tenants.ts). */
export const HOLLOW_POOL_LABEL = 'cell.dev/chaos-pool';
export const HOLLOW_POOL = 'hollow';
export const BINPACK_SCHEDULER = 'chaos-binpack';
export const ETCD_PREFIX = '/chaos';
const HEARTBEAT = '5s';
const OUTPUT_TAIL = 4000;

const signalPid = (pid: number | undefined, sig: NodeJS.Signals): void => {
  if (pid === undefined) return;
  try {
    process.kill(pid, sig);
  } catch (err) {
    // Gone already (the injector raced an exit): nothing to signal.
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
};

async function httpOk(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    // Not listening, paused or timed out: simply not healthy right now.
    return false;
  }
}

/** Base for the node processes: exit tracking (crash = an exit nobody asked for). */
abstract class ChildManaged implements ManagedProcess {
  abstract readonly role: Role;
  protected child: ChildProcess | undefined;
  private expectExit = false;

  constructor(
    readonly id: string,
    protected readonly cluster: ChaosCluster,
  ) {}

  protected abstract spawn(): Promise<ChildProcess>;
  abstract healthy(): Promise<boolean>;
  abstract output(): string;

  protected track(child: ChildProcess): void {
    this.child = child;
    this.expectExit = false;
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      if (this.child === child && !this.expectExit) this.unexpectedExit(code, signal);
    };
    if (child.exitCode !== null || child.signalCode !== null) onExit(child.exitCode, child.signalCode);
    else child.once('exit', onExit);
  }

  async start(): Promise<void> {
    this.track(await this.spawn());
  }

  /** An exit nobody asked for: a crash, unless a subclass knows it for a supervised one. */
  protected unexpectedExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.cluster.recordCrash(this.id, code, signal, this.output());
  }

  pid(): number | undefined {
    return this.running() ? this.child?.pid : undefined;
  }

  running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  private async waitExit(): Promise<number | null> {
    const child = this.child;
    if (!child) return null;
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  async kill(): Promise<void> {
    this.expectExit = true;
    signalPid(this.pid(), 'SIGKILL');
    await this.waitExit();
  }

  async restart(): Promise<void> {
    if (this.running()) await this.kill();
    await this.start();
  }

  pause(): void {
    signalPid(this.pid(), 'SIGSTOP');
  }

  resume(): void {
    signalPid(this.pid(), 'SIGCONT');
  }

  async stop(): Promise<number | null> {
    this.expectExit = true;
    if (!this.running()) return this.child?.exitCode ?? null;
    signalPid(this.pid(), 'SIGCONT');
    signalPid(this.pid(), 'SIGTERM');
    const timer = setTimeout(() => signalPid(this.pid(), 'SIGKILL'), 20_000);
    const code = await this.waitExit();
    clearTimeout(timer);
    return code;
  }
}

export class ApiServerManaged extends ChildManaged {
  readonly role = 'apiserver' as const;
  private proc: ApiServerProcess | undefined;

  constructor(id: string, cluster: ChaosCluster, readonly port: number) {
    super(id, cluster);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  protected async spawn(): Promise<ChildProcess> {
    this.proc = await startApiServerProcess({
      // Through links of its own, which the etcd-cut fault cuts.
      etcdEndpoints: await this.cluster.etcd.clientUrls(this.id),
      prefix: ETCD_PREFIX,
      port: this.port,
      // History must stay for the invariant checks, which read etcd at past revisions.
      args: ['--log-level=warn', '--compaction-interval=0'],
      readyTimeoutMs: 60_000,
    });
    return this.proc.child;
  }

  healthy(): Promise<boolean> {
    return httpOk(`${this.url}/readyz`);
  }

  /** Whether /readyz says the server is not ready (503); longer patience than httpOk's, for its etcd check's 2 s. */
  async unready(): Promise<boolean> {
    try {
      const res = await fetch(`${this.url}/readyz`, { signal: AbortSignal.timeout(5000) });
      await res.arrayBuffer();
      return res.status === 503;
    } catch {
      // Not answering at all is another fault than the one this asks about.
      return false;
    }
  }

  output(): string {
    return (this.proc?.output() ?? '').slice(-OUTPUT_TAIL);
  }
}

class SchedulerManaged extends ChildManaged {
  readonly role = 'scheduler' as const;
  private proc: SchedulerProcess | undefined;
  /** Last /metrics text of each process instance (a killed instance keeps its last scrape). */
  readonly scrapes: string[] = [];

  constructor(id: string, cluster: ChaosCluster, readonly schedulerName: string, readonly profile: string) {
    super(id, cluster);
  }

  protected async spawn(): Promise<ChildProcess> {
    this.proc = await startSchedulerProcess({ server: await this.cluster.serverList(this.id), name: this.schedulerName, profile: this.profile, readyTimeoutMs: 60_000 });
    this.scrapes.push('');
    return this.proc.child;
  }

  /** Remember the current instance's counters (called periodically and before a kill). */
  async scrape(): Promise<void> {
    const proc = this.proc;
    if (!proc || !this.running()) return;
    const i = this.scrapes.length - 1;
    try {
      const text = await proc.metrics();
      if (this.proc === proc) this.scrapes[i] = text;
    } catch (err) {
      // Paused or just killed: the previous scrape stands.
      this.cluster.note(`metrics of ${this.id} not read: ${errorMessage(err)}`);
    }
  }

  override async kill(): Promise<void> {
    await this.scrape();
    await super.kill();
  }

  healthy(): Promise<boolean> {
    return this.proc ? httpOk(`${this.proc.metricsUrl}/readyz`) : Promise.resolve(false);
  }

  output(): string {
    return (this.proc?.output() ?? '').slice(-OUTPUT_TAIL);
  }
}

/** Lease timings of the chaos run's controller manager: a restarted one leads again within seconds. */
const MANAGER_LEASE_ARGS = ['--leader-elect-lease-duration=8s', '--leader-elect-renew-deadline=6s', '--leader-elect-retry-period=1s'];

class ControllerManagerManaged extends ChildManaged {
  readonly role = 'controller-manager' as const;
  private proc: ControllerManagerProcess | undefined;
  /** Exits after a lost lease, each restarted as a supervisor would. */
  supervisedRestarts = 0;

  protected async spawn(): Promise<ChildProcess> {
    this.proc = await startControllerManagerProcess({ server: await this.cluster.serverList(this.id), args: MANAGER_LEASE_ARGS });
    return this.proc.child;
  }

  /**
   * Losing the lease (its API writes failing past the renew deadline while etcd or an API server
   * is down) makes the process exit 1 by design: restart it, as systemd or compose would. Any
   * other unasked exit is a crash.
   */
  protected override unexpectedExit(code: number | null, signal: NodeJS.Signals | null): void {
    if (code === 1 && this.output().includes('leaderelection lost')) {
      this.supervisedRestarts++;
      this.cluster.note(`${this.id} lost its lease and exited 1; restarted as its supervisor would`);
      this.start().catch((err: unknown) => this.cluster.recordCrash(this.id, code, signal, `restart after a lost lease failed: ${errorMessage(err)}\n${this.output()}`));
      return;
    }
    super.unexpectedExit(code, signal);
  }

  /** Answers /healthz and holds the lease (the only replica: it must lead). */
  async healthy(): Promise<boolean> {
    if (!this.proc || !(await httpOk(`${this.proc.url}/healthz`))) return false;
    try {
      const text = await (await fetch(`${this.proc.url}/metrics`, { signal: AbortSignal.timeout(2000) })).text();
      return /^leader_election_master_status\{[^}]*\} 1$/m.test(text);
    } catch {
      // Paused or going: not healthy right now.
      return false;
    }
  }

  output(): string {
    return (this.proc?.output() ?? '').slice(-OUTPUT_TAIL);
  }
}

export class AgentManaged extends ChildManaged {
  readonly role = 'agent' as const;
  private proc: AgentProcess | undefined;
  /** When the current process was started: its leases must be renewed after this. */
  private startedAt = 0;

  constructor(id: string, cluster: ChaosCluster, private readonly args: string[], readonly nodeNames: string[]) {
    super(id, cluster);
  }

  protected async spawn(): Promise<ChildProcess> {
    this.startedAt = Date.now();
    this.proc = startAgent(this.args);
    const deadline = Date.now() + 60_000;
    while (!(await this.healthy())) {
      if (this.proc.child.exitCode !== null || this.proc.child.signalCode !== null) throw new Error(`${this.id} exited while starting:\n${this.output()}`);
      if (Date.now() > deadline) throw new Error(`${this.id}: nodes not Ready with fresh leases after 60 s:\n${this.output()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    return this.proc.child;
  }

  /** Every node of this agent Ready, and its Lease renewed by the current process. */
  healthy(): Promise<boolean> {
    return this.healthySince(this.startedAt);
  }

  /** Every node of this agent Ready, and its Lease renewed since `since` (ms). */
  async healthySince(since: number): Promise<boolean> {
    const client = this.cluster.client;
    try {
      const [leases, nodes] = await Promise.all([
        client.list<{ items: Lease[] }>({ group: 'coordination.k8s.io', version: 'v1', namespace: 'kube-node-lease', resource: 'leases' }),
        client.list<{ items: Node[] }>({ resource: 'nodes' }),
      ]);
      const renewed = new Map(leases.items.map((l) => [l.metadata.name ?? '', Date.parse(l.spec.renewTime ?? '') || 0]));
      const ready = new Set(nodes.items.filter((n) => n.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).map((n) => n.metadata.name ?? ''));
      // Leases carry microsecond times; one second of slack for the clock's rounding.
      return this.nodeNames.every((n) => ready.has(n) && (renewed.get(n) ?? 0) >= since - 1000);
    } catch (err) {
      this.cluster.note(`health of ${this.id} not read: ${errorMessage(err)}`);
      return false;
    }
  }

  output(): string {
    return (this.proc?.output() ?? '').slice(-OUTPUT_TAIL);
  }
}

class EtcdManaged implements ManagedProcess {
  readonly role = 'etcd' as const;
  private expectDown = false;
  private crashed = false;

  constructor(
    readonly id: string,
    readonly member: EtcdMember,
    private readonly cluster: ChaosCluster,
  ) {}

  pid(): number | undefined {
    return this.member.pid();
  }

  running(): boolean {
    return this.member.running();
  }

  /** The harness reports no exits: the cluster polls this. */
  checkExit(): void {
    if (!this.expectDown && !this.crashed && !this.member.running()) {
      this.crashed = true;
      this.cluster.recordCrash(this.id, null, null, '(etcd member not running; its log went to stderr)');
    }
  }

  async kill(): Promise<void> {
    this.expectDown = true;
    await this.member.kill();
  }

  async restart(): Promise<void> {
    if (this.member.running()) await this.kill();
    await this.member.restart();
    this.expectDown = false;
    this.crashed = false;
  }

  pause(): void {
    this.member.pause();
  }

  resume(): void {
    this.member.resume();
  }

  healthy(): Promise<boolean> {
    return httpOk(`${this.member.clientUrl}/health`);
  }

  async stop(): Promise<number | null> {
    this.expectDown = true;
    return 0;
  }

  output(): string {
    return '';
  }
}

export class ChaosCluster {
  etcd!: EtcdCluster;
  readonly apiservers: ApiServerManaged[] = [];
  readonly controllerManagers: ControllerManagerManaged[] = [];
  readonly schedulers: SchedulerManaged[] = [];
  readonly agents: AgentManaged[] = [];
  readonly etcdMembers: EtcdManaged[] = [];
  readonly crashes: Crash[] = [];
  /** Minor things worth a line (unreadable metrics, …), not failures. */
  readonly notes: string[] = [];
  client!: ApiClient;
  /** The daemons' links to the API servers. */
  private apiNet!: CuttableNetwork;
  readonly realRoot = tempRoot('cell-chaos-real-');
  private readonly began = Date.now();
  private exitPoll: NodeJS.Timeout | undefined;
  private metricsPoll: NodeJS.Timeout | undefined;

  constructor(private readonly opts: ClusterOptions) {}

  get all(): ManagedProcess[] {
    return [...this.etcdMembers, ...this.apiservers, ...this.controllerManagers, ...this.schedulers, ...this.agents];
  }

  recordCrash(id: string, code: number | null, signal: NodeJS.Signals | null, output: string): void {
    this.crashes.push({ process: id, code, signal, atMs: Date.now() - this.began, output });
  }

  note(text: string): void {
    if (this.notes.length < 200) this.notes.push(text);
  }

  /**
   * Both API servers as daemon `id` reaches them (through links `cutFromApiServers` can cut), its
   * "own" first (so load spreads while both are up).
   */
  async serverList(id: string): Promise<string> {
    const urls = await this.apiNet.clientUrls(id);
    const first = [...id].reduce((s, c) => s + c.charCodeAt(0), 0) % urls.length;
    return [...urls.slice(first), ...urls.slice(0, first)].join(',');
  }

  /** Cuts daemon `id` off from both API servers (cut = false: joins it again); the rest of the cluster carries on. */
  cutFromApiServers(id: string, cut: boolean): Promise<void> {
    return this.apiNet.cutClient(id, cut);
  }

  async start(): Promise<void> {
    this.etcd = await startEtcdCluster({ members: 3, quiet: !this.opts.verbose, partitionable: true });
    this.etcd.members.forEach((m, i) => this.etcdMembers.push(new EtcdManaged(`etcd-${m.name}`, m, this)));
    this.exitPoll = setInterval(() => this.etcdMembers.forEach((m) => m.checkExit()), 500);

    for (let i = 0; i < 2; i++) this.apiservers.push(new ApiServerManaged(`apiserver-${i}`, this, await freePort()));
    await Promise.all(this.apiservers.map((a) => a.start()));
    this.apiNet = await CuttableNetwork.start([], this.apiservers.map((a) => a.port));
    this.client = new ApiClient({ servers: this.apiservers.map((a) => a.url), timeoutMs: 5_000, retries: 2 });
    for (const ns of [NAMESPACE, PROBE_NAMESPACE]) await this.client.create({ resource: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    this.controllerManagers.push(new ControllerManagerManaged('controller-manager', this));
    await Promise.all(this.controllerManagers.map((m) => m.start()));

    const common = async (id: string) => [`--server=${await this.serverList(id)}`, `--heartbeat-interval=${HEARTBEAT}`];
    const perAgent = Math.ceil(this.opts.hollowNodes / this.opts.hollowAgents);
    for (let i = 0; i < this.opts.hollowAgents; i++) {
      const n = Math.min(perAgent, this.opts.hollowNodes - i * perAgent);
      const id = `agent-hollow-${i}`;
      const prefix = `chaos-h${i}-`;
      this.agents.push(
        new AgentManaged(
          id,
          this,
          [...(await common(id)), `--hollow-nodes=${n}`, `--node-prefix=${prefix}`, `--cpu=${this.opts.hollowCpu}`, `--memory=${this.opts.hollowMemory}`, `--labels=${HOLLOW_POOL_LABEL}=${HOLLOW_POOL}`, '--node-ip=127.0.0.1'],
          Array.from({ length: n }, (_, k) => `${prefix}${k}`),
        ),
      );
    }
    for (let i = 0; i < this.opts.realAgents; i++) {
      const id = `agent-real-${i}`;
      const node = `chaos-real-${i}`;
      this.agents.push(
        new AgentManaged(
          id,
          this,
          [
            ...(await common(id)),
            `--node-name=${node}`,
            '--cpu=2',
            '--memory=4Gi',
            `--labels=${REAL_LABEL}=true`,
            // Only the pods meant for real agents (they tolerate this) run real processes.
            `--taints=${REAL_LABEL}=true:NoSchedule`,
            `--root-dir=${this.realRoot}/${node}`,
            '--node-ip=127.0.0.1',
          ],
          [node],
        ),
      );
    }
    await Promise.all(this.agents.map((a) => a.start()));

    this.schedulers.push(
      new SchedulerManaged('scheduler-default-0', this, 'default-scheduler', 'default'),
      new SchedulerManaged('scheduler-default-1', this, 'default-scheduler', 'default'),
      new SchedulerManaged('scheduler-binpack', this, BINPACK_SCHEDULER, 'binpack'),
    );
    await Promise.all(this.schedulers.map((s) => s.start()));
    this.metricsPoll = setInterval(() => void Promise.all(this.schedulers.map((s) => s.scrape())), 5_000);
  }

  /** Start whatever is down (after the fault window), resume anything paused. */
  async ensureAllRunning(): Promise<void> {
    for (const p of this.all) {
      p.resume();
      if (!p.running()) await p.restart();
    }
  }

  /**
   * Graceful shutdown, in tiers (schedulers and agents, then API servers, then etcd). Returns the
   * processes that did not exit with code 0 on SIGTERM.
   */
  async stop(): Promise<{ process: string; code: number | null }[]> {
    if (this.exitPoll) clearInterval(this.exitPoll);
    if (this.metricsPoll) clearInterval(this.metricsPoll);
    await Promise.all(this.schedulers.map((s) => s.scrape()));
    const unclean: { process: string; code: number | null }[] = [];
    const tier = async (ps: ManagedProcess[]) => {
      const codes = await Promise.all(ps.map((p) => p.stop()));
      codes.forEach((code, i) => code !== 0 && unclean.push({ process: ps[i]!.id, code }));
    };
    await tier([...this.controllerManagers, ...this.schedulers, ...this.agents]);
    await tier(this.apiservers);
    await this.apiNet?.stop();
    this.client?.close();
    for (const m of this.etcdMembers) await m.stop();
    await this.etcd?.stop();
    // Container processes the real agents left (they keep running by design when an agent stops).
    killAllWith(this.realRoot);
    removeDir(this.realRoot);
    return unclean;
  }

  /** The schedulers' counters, summed over every process instance each one ever ran. */
  metricTexts(): string[] {
    return this.schedulers.flatMap((s) => s.scrapes);
  }
}
