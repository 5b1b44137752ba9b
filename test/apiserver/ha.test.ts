// Two API servers on a 3-member etcd cluster (DESIGN §7, issue #8). A client with both URLs keeps
// creating pods and a watch consumer keeps watching while the etcd leader is SIGKILLed and then
// API server A is: requests recover, the watch resumes on B with nothing missed or repeated, the
// leader-elected controllers move to B (two cell-controller-manager replicas, one talking to each
// server: B's takes the lease and marks a node whose agent died Unknown), and agents, a scheduler
// and cellctl given several URLs (flag or kubeconfig) fail over to B.
import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Lease } from '../../shared/api/coordination.js';
import type { Node, Pod } from '../../shared/api/core.js';
import { ApiClient, type WatchEvent } from '../../shared/client/http-client.js';
import { SERVERS_EXTENSION } from '../../shared/client/kubeconfig.js';
import { statusOf } from '../../apiserver/http/status.js';
import { errorFromStatus } from '../../shared/client/http-client.js';
import { AlreadyExistsError, OutcomeUnknownError, TimeoutError, UnavailableError, errorMessage } from '../../shared/errors.js';
import { killAllWith, removeDir, startAgent, tempRoot, type AgentProcess } from '../agent/helpers.js';
import { cellctl, isolatedEnv } from '../cli/helpers.js';
import { startApiServerProcess, type ApiServerProcess } from '../clients/apiserver-process.js';
import { sleep, waitFor } from '../clients/helpers.js';
import { startEtcdCluster, type EtcdCluster } from '../harness/etcd-cluster.js';
import { freePort } from '../harness/ports.js';
import { startSchedulerProcess, type SchedulerProcess } from '../schedulers/scheduler-process.js';
import { startControllerManagerProcess, type ControllerManagerProcess } from '../controllers/helpers.js';

const NS = 'ha';
const LEASE = { group: 'coordination.k8s.io', resource: 'leases', namespace: 'kube-system', name: 'cell-controller-manager' };

interface PodList {
  metadata: { resourceVersion?: string };
  items: Pod[];
}

function podManifest(name: string, spec: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS },
    spec: {
      // No scheduler owns these: the watch sees each exactly once, as ADDED.
      schedulerName: 'ha-nobody',
      containers: [{ name: 'main', image: 'busybox', command: ['sleep', '3600'], resources: { requests: { cpu: '10m', memory: '8Mi' } } }],
      ...spec,
    },
  };
}

function readyStatus(node: Node | undefined): string | undefined {
  return node?.status?.conditions?.find((c) => c.type === 'Ready')?.status;
}

/** Creates pods one after another, keeping score of every outcome. */
class PodWriter {
  readonly acked: string[] = [];
  /** 504 (outcome unknown) or a connection lost mid-request: the pod may or may not exist. */
  readonly unknown: string[] = [];
  readonly acks: { startedAt: number; at: number }[] = [];
  unavailable = 0;
  readonly unexpected: string[] = [];
  private stopped = false;
  private done: Promise<void> | undefined;

  constructor(private readonly client: ApiClient) {}

  start(): void {
    this.done = (async () => {
      for (let i = 0; !this.stopped; i++) {
        const name = `w-${i}`;
        const startedAt = Date.now();
        try {
          await this.client.create({ resource: 'pods', namespace: NS }, podManifest(name));
          this.acked.push(name);
          this.acks.push({ startedAt, at: Date.now() });
        } catch (err) {
          if (err instanceof TimeoutError) {
            this.unknown.push(name);
          } else if (err instanceof AlreadyExistsError) {
            // The client re-sent the POST to the other server after the connection to the first
            // broke, and the first attempt had committed.
            this.unknown.push(name);
          } else if (err instanceof UnavailableError) {
            this.unavailable++;
            this.unknown.push(name); // a POST whose connection broke may have committed too
            await sleep(100);
          } else {
            this.unexpected.push(`${name}: ${err instanceof Error ? err.name : typeof err}: ${errorMessage(err)}`);
            await sleep(100);
          }
        }
        await sleep(20);
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }

  /** How long after `since` the first create that started after it succeeded. */
  async healedAfter(since: number): Promise<number> {
    const ack = await waitFor(() => this.acks.find((a) => a.startedAt >= since), 'a create to succeed again', 60_000);
    return ack.at - since;
  }
}

/** A watch consumer that resumes from the last resourceVersion it saw, as client-go's reflector does. */
class ResumingWatch {
  readonly events: { type: string; name: string; rv: number }[] = [];
  readonly errors: string[] = [];
  resumes = 0;
  private readonly abort = new AbortController();
  private done: Promise<void> | undefined;

  constructor(
    private readonly client: ApiClient,
    private rv: string,
  ) {}

  start(): void {
    this.done = (async () => {
      while (!this.abort.signal.aborted) {
        try {
          await this.client.watch<Pod>(
            { resource: 'pods', namespace: NS },
            { resourceVersion: this.rv, allowWatchBookmarks: true },
            (ev: WatchEvent<Pod>) => this.onEvent(ev),
            this.abort.signal,
          );
        } catch (err) {
          // The server died or could not be reached: resume (on the next URL) from this.rv.
          if (!(err instanceof UnavailableError)) this.errors.push(`${err instanceof Error ? err.name : 'error'}: ${errorMessage(err)}`);
        }
        if (this.abort.signal.aborted) break;
        this.resumes++;
        await sleep(100);
      }
    })();
  }

  private onEvent(ev: WatchEvent<Pod>): void {
    if (ev.type === 'ERROR') {
      this.errors.push(`ERROR event: ${JSON.stringify(ev.object)}`);
      return;
    }
    const rv = ev.object.metadata?.resourceVersion ?? '';
    if (ev.type !== 'BOOKMARK') this.events.push({ type: ev.type, name: ev.object.metadata?.name ?? '', rv: Number(rv) });
    this.rv = rv;
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.done;
  }
}

describe('HA: two API servers on a 3-member etcd cluster', function () {
  this.timeout(180_000);

  it('an etcd write with an unknown outcome is a 504 Timeout Status with Retry-After, which clients do not retry blindly', function () {
    const status = statusOf(new OutcomeUnknownError('etcd write outcome unknown'));
    expect(status).to.include({ code: 504, reason: 'Timeout' });
    expect(status.details?.retryAfterSeconds).to.equal(1);
    expect(statusOf(new UnavailableError('etcd unavailable')).details?.retryAfterSeconds).to.equal(1);
    // The client's error for it is a TimeoutError, which ApiClient.request never re-sends.
    expect(errorFromStatus(status)).to.be.instanceOf(TimeoutError);
  });

  let cluster: EtcdCluster | undefined;
  let a: ApiServerProcess | undefined;
  let b: ApiServerProcess | undefined;
  let scheduler: SchedulerProcess | undefined;
  const managers: ControllerManagerProcess[] = [];
  const agents: AgentProcess[] = [];
  let root = '';

  after(async function () {
    for (const ag of agents) await ag.kill();
    if (root) {
      killAllWith(root);
      removeDir(root);
    }
    await scheduler?.stop('SIGKILL');
    for (const m of managers) await m.stop('SIGKILL');
    await a?.stop('SIGKILL');
    await b?.stop('SIGKILL');
    await cluster?.stop();
  });

  it('survives the etcd leader and an API server dying: clients fail over, the watch loses nothing, controllers move', async function () {
    cluster = await startEtcdCluster({ quiet: true });
    root = tempRoot('cell-ha-');
    const prefix = `/ha-${process.pid}`;
    const args = ['--log-level=warn'];
    // Fast node lifecycle, so that B's controllers are seen acting within the test.
    const managerArgs = ['--node-monitor-grace-period=4s', '--node-monitor-period=1s', '--pod-eviction-timeout=10m'];
    const [portA, portB] = [await freePort(), await freePort()];
    a = await startApiServerProcess({ etcdEndpoints: cluster.endpoints, prefix, port: portA, args });
    const admin = new ApiClient({ servers: [a.url], timeoutMs: 15_000 });
    // A's controller manager first, alone: it takes the leader lease, so we know who leads.
    managers.push(await startControllerManagerProcess({ server: a.url, args: managerArgs }));
    const holderA = await waitFor(async () => (await admin.get<Lease>(LEASE)).spec?.holderIdentity || undefined, 'A\'s controller manager to lead', 30_000, 200);
    b = await startApiServerProcess({ etcdEndpoints: cluster.endpoints, prefix, port: portB, args });
    managers.push(await startControllerManagerProcess({ server: b.url, args: managerArgs }));
    const both = `${a.url},${b.url}`;
    await admin.create({ resource: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });

    // Two agents and a scheduler, each given both URLs (A first).
    const agentArgs = (name: string) => [
      `--server=${both}`,
      `--node-name=${name}`,
      '--cpu=2',
      '--memory=2Gi',
      `--labels=ha.cell.dev/node=${name}`,
      '--heartbeat-interval=1s',
      '--lease-duration=4s',
      `--root-dir=${path.join(root, name)}`,
      '--stop-pods-on-exit',
    ];
    agents.push(startAgent(agentArgs('n-live')), startAgent(agentArgs('n-stale')));
    scheduler = await startSchedulerProcess({ server: both });
    for (const n of ['n-live', 'n-stale']) {
      await waitFor(async () => readyStatus(await admin.get<Node>({ resource: 'nodes', name: n }).catch(() => undefined)) === 'True', `${n} Ready`, 60_000, 200);
    }

    const writerClient = new ApiClient({ servers: [a.url, b.url], timeoutMs: 15_000 });
    const watchClient = new ApiClient({ servers: [a.url, b.url], timeoutMs: 15_000 });
    const list = await watchClient.list<PodList>({ resource: 'pods', namespace: NS });
    const watch = new ResumingWatch(watchClient, list.metadata.resourceVersion ?? '0');
    watch.start();
    const writer = new PodWriter(writerClient);
    writer.start();
    try {
      // 1. SIGKILL the etcd leader; restart it after a moment.
      await waitFor(() => writer.acked.length >= 20, '20 pods created', 60_000);
      const leader = await cluster.leaderIndex();
      const etcdKilledAt = Date.now();
      await cluster.members[leader]!.kill();
      const etcdHeal = await writer.healedAfter(etcdKilledAt);
      await sleep(1_000);
      await cluster.members[leader]!.restart();

      // 2. SIGKILL API server A (where the leading controller manager and both clients are connected).
      const n2 = writer.acked.length;
      await waitFor(() => writer.acked.length >= n2 + 20, '20 more pods', 60_000);
      const aKilledAt = Date.now();
      await a.stop('SIGKILL');
      const apiHeal = await writer.healedAfter(aKilledAt);
      const n3 = writer.acked.length;
      await waitFor(() => writer.acked.length >= n3 + 20, '20 pods through B', 60_000);

      // 3. The controllers move to B: the lease changes hands (A's manager cannot renew it and
      //    exits, B's takes it), and a node whose agent dies now is marked Unknown by B's manager,
      //    while the agent that failed over stays Ready.
      const bClient = new ApiClient({ servers: [b.url], timeoutMs: 15_000 });
      await waitFor(async () => {
        const h = (await bClient.get<Lease>(LEASE)).spec?.holderIdentity;
        return h && h !== holderA ? h : undefined;
      }, 'B to take the controllers lease', 60_000, 200);
      const takeoverMs = Date.now() - aKilledAt;
      await agents[1]!.kill();
      const staleKilledAt = Date.now();
      await waitFor(async () => readyStatus(await bClient.get<Node>({ resource: 'nodes', name: 'n-stale' })) === 'Unknown', 'n-stale marked Unknown by B', 60_000, 200);
      const markedMs = Date.now() - staleKilledAt;
      const live = await bClient.get<Node>({ resource: 'nodes', name: 'n-live' });
      expect(readyStatus(live), 'n-live (its agent failed over to B) stays Ready').to.equal('True');

      // 4. The scheduler (connected to A first) fails over too: it binds a pod through B.
      await bClient.create({ resource: 'pods', namespace: NS }, podManifest('scheduled', { schedulerName: 'default-scheduler', nodeSelector: { 'ha.cell.dev/node': 'n-live' } }));
      await waitFor(async () => (await bClient.get<Pod>({ resource: 'pods', namespace: NS, name: 'scheduled' })).spec?.nodeName === 'n-live', 'the scheduler to bind a pod through B', 60_000, 200);

      await writer.stop();
      // 5. Nothing lost, nothing twice: every pod that exists was seen exactly once, as ADDED,
      //    in resourceVersion order; every acknowledged create exists.
      const final = await bClient.list<PodList>({ resource: 'pods', namespace: NS });
      const names = new Set(final.items.map((p) => p.metadata.name ?? ''));
      for (const n of writer.acked) expect(names.has(n), `acknowledged pod ${n} exists`).to.equal(true);
      // …and every pod that exists was created by a request that succeeded or whose outcome was unknown.
      const attempted = new Set([...writer.acked, ...writer.unknown, 'scheduled']);
      for (const n of names) expect(attempted.has(n), `pod ${n} was acked or unknown`).to.equal(true);
      const expected = [...names].filter((n) => n.startsWith('w-'));
      await waitFor(() => expected.every((n) => watch.events.some((e) => e.name === n)), 'the watch to catch up', 30_000, 100);
      await sleep(300); // a duplicate delivered late would show up now
      const writerPods = watch.events.filter((e) => e.name.startsWith('w-'));
      expect(watch.errors, 'watch errors').to.deep.equal([]);
      expect(writerPods.map((e) => e.type).filter((t) => t !== 'ADDED'), 'only ADDED events for unscheduled pods').to.deep.equal([]);
      const seen = writerPods.map((e) => e.name);
      expect(new Set(seen).size, 'no pod seen twice').to.equal(seen.length);
      expect([...seen].sort()).to.deep.equal(expected.sort());
      for (let i = 1; i < watch.events.length; i++) {
        expect(watch.events[i]!.rv, `resourceVersion order at event ${i}`).to.be.at.least(watch.events[i - 1]!.rv);
      }
      expect(watch.resumes, 'the watch was broken (A died) and resumed').to.be.greaterThan(0);
      expect(writer.unexpected, 'unexpected errors').to.deep.equal([]);

      // 6. cellctl fails over from the dead A, given both servers by flag or by kubeconfig.
      const env = isolatedEnv(root);
      const byFlag = await cellctl([`--server=${both}`, 'get', 'pods', '-n', NS, 'scheduled', '-o', 'name'], { env });
      expect(byFlag.stdout.trim(), byFlag.stderr).to.equal('pod/scheduled');
      const kubeconfig = path.join(root, 'kubeconfig');
      writeFileSync(
        kubeconfig,
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [{ name: 'ha', cluster: { server: a.url, extensions: [{ name: SERVERS_EXTENSION, extension: { servers: [a.url, b.url] } }] } }],
          users: [{ name: 'ha', user: {} }],
          contexts: [{ name: 'ha', context: { cluster: 'ha', user: 'ha', namespace: NS } }],
          'current-context': 'ha',
        }),
      );
      const byConfig = await cellctl(['--kubeconfig', kubeconfig, 'get', 'pods', 'scheduled', '-o', 'name'], { env });
      expect(byConfig.stdout.trim(), byConfig.stderr).to.equal('pod/scheduled');

      console.log(
        `      ${writer.acked.length} pods acked, ${writer.unknown.length} unknown outcome, ${watch.events.length} watch events, ` +
          `${watch.resumes} watch resumes; creates resumed ${etcdHeal} ms after the etcd leader died and ${apiHeal} ms after ` +
          `API server A died; B took the controllers lease ${takeoverMs} ms after A died and marked a dead node Unknown ` +
          `${markedMs} ms after its agent died`,
      );
      bClient.close();
    } finally {
      await writer.stop();
      await watch.stop();
      writerClient.close();
      watchClient.close();
      admin.close();
    }
  });
});
