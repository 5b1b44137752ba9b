// cell-controller-manager: leader election between replicas over a Lease kept through the API, a
// replica that loses its lease stopping everything (and the process exiting 1), and the real
// process built by `npm run build` (--help, /healthz, /metrics, SIGTERM). Every replica here runs
// against one API server on real etcd; the node lifecycle controller is what shows who acts.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Lease } from '../../shared/api/coordination.js';
import type { Node } from '../../shared/api/core.js';
import { formatMicroTime } from '../../shared/api/meta.js';
import type { ApiClient } from '../../shared/client/http-client.js';
import { startTestApiServer, TEST_TOKENS, type TestApiServer } from '../harness/apiserver.js';
import { buildDist } from '../harness/build.js';
import { CuttableNetwork } from '../harness/cuttable-network.js';
import { REPO_ROOT } from '../harness/entrypoint.js';
import { sleep, waitFor } from '../clients/helpers.js';
import { metricValue } from '../schedulers/scheduler-process.js';
import { startControllerManagerProcess, startTestControllerManager, type ControllerManagerProcess, type TestControllerManager } from './helpers.js';

const run = promisify(execFile);
const LEASE = { group: 'coordination.k8s.io', version: 'v1', resource: 'leases', namespace: 'kube-system', name: 'cell-controller-manager' };
const GRACE_MS = 2000;
/** Fast node lifecycle, and no eviction within a test. */
const CONFIG = { nodeMonitorGracePeriodMs: GRACE_MS, nodeMonitorPeriodMs: 200, podEvictionTimeoutMs: 600_000 };

const readyOf = (n: Node) => n.status.conditions?.find((c) => c.type === 'Ready')?.status;

async function holder(client: ApiClient): Promise<string | undefined> {
  try {
    return (await client.get<Lease>(LEASE)).spec.holderIdentity || undefined;
  } catch {
    return undefined;
  }
}

/** A Ready node whose agent has gone silent: its Lease exists but is never renewed. */
async function createSilentNode(admin: ApiClient, name: string): Promise<void> {
  const now = new Date();
  await admin.create(
    { resource: 'nodes' },
    {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name },
      status: { capacity: { cpu: '2', memory: '2Gi', pods: '10' }, conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', lastTransitionTime: now.toISOString().replace(/\.\d+Z$/, 'Z') }] },
    },
  );
  await admin.create(
    { group: 'coordination.k8s.io', version: 'v1', resource: 'leases', namespace: 'kube-node-lease' },
    { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace: 'kube-node-lease' }, spec: { holderIdentity: name, leaseDurationSeconds: 2, renewTime: formatMicroTime(now) } },
  );
}

describe('cell-controller-manager', function () {
  this.timeout(120_000);
  let api: TestApiServer;
  const running: TestControllerManager[] = [];
  const processes: ControllerManagerProcess[] = [];
  const admin = () => api.client(TEST_TOKENS.admin);

  beforeEach(async () => {
    api = await startTestApiServer({ backend: 'etcd', auth: true });
  });

  afterEach(async function () {
    this.timeout(60_000);
    await Promise.all(running.splice(0).map((m) => m.stop()));
    await Promise.all(processes.splice(0).map((p) => p.stop('SIGKILL')));
    await api?.close();
  });

  const replica = (identity: string) => {
    const m = startTestControllerManager(api.url, { token: TEST_TOKENS.admin, identity, enabled: ['nodelifecycle'], config: CONFIG });
    running.push(m);
    return m;
  };

  it('two replicas: exactly one leads; stopping the leader hands over at once and the new leader marks a silent node NotReady', async () => {
    const a = replica('replica-a');
    await waitFor(async () => a.manager.isLeader && (await holder(admin())) === 'replica-a', 'replica-a to lead', 10_000, 50);
    const b = replica('replica-b');
    // Both campaign for a while: the holder keeps renewing, the other keeps waiting.
    await sleep(1500);
    expect(await holder(admin())).to.equal('replica-a');
    expect([a.manager.isLeader, b.manager.isLeader]).to.deep.equal([true, false]);
    expect(a.manager.running).to.deep.equal(['nodelifecycle']);
    expect(b.manager.running, 'a waiting replica runs nothing').to.deep.equal([]);

    await a.stop();
    running.splice(running.indexOf(a), 1);
    const stoppedAt = Date.now();
    await waitFor(async () => b.manager.isLeader && (await holder(admin())) === 'replica-b', 'replica-b to lead', 10_000, 50);
    // The lease was released, so the handover does not wait for it to expire.
    expect(Date.now() - stoppedAt, 'handover well within the lease duration (3 s)').to.be.lessThan(2000);
    expect(b.manager.running).to.deep.equal(['nodelifecycle']);

    await createSilentNode(admin(), 'silent-1');
    const created = Date.now();
    const node = await waitFor(async () => {
      const n = await admin().get<Node>({ resource: 'nodes', name: 'silent-1' });
      return readyOf(n) === 'Unknown' && (n.spec.taints ?? []).length === 2 ? n : undefined;
    }, 'silent-1 NotReady (Unknown, tainted) by replica-b', GRACE_MS + 10_000, 100);
    expect(Date.now() - created, 'not before the grace period').to.be.greaterThan(GRACE_MS - 500);
    expect(node.spec.taints?.map((t) => t.effect).sort()).to.deep.equal(['NoExecute', 'NoSchedule']);
  });

  it('a leader cut off from the API server steps down at its renew deadline, before the other replica can take over: never two leaders', async () => {
    const net = await CuttableNetwork.start([], [api.server.port]);
    try {
      const [via] = await net.clientUrls('replica-a');
      const a = startTestControllerManager(via!, { token: TEST_TOKENS.admin, identity: 'replica-a', enabled: ['nodelifecycle'], config: CONFIG });
      running.push(a);
      await waitFor(async () => a.manager.isLeader && (await holder(admin())) === 'replica-a', 'replica-a to lead', 10_000, 50);
      const b = replica('replica-b');
      await sleep(500);
      expect(b.manager.isLeader).to.equal(false);

      // Held, not refused: replica-a's renewals get no answer at all.
      await net.cutClient('replica-a', true);
      const cutAt = Date.now();
      let aStoppedAt: number | undefined;
      void a.manager.done.then(() => (aStoppedAt = Date.now()));
      const overlap: number[] = [];
      await waitFor(async () => {
        if (a.manager.isLeader && b.manager.isLeader) overlap.push(Date.now() - cutAt);
        return b.manager.isLeader && (await holder(admin())) === 'replica-b';
      }, 'replica-b to lead', 15_000, 10);
      const bLeadsAfter = Date.now() - cutAt;
      expect(overlap, 'moments both replicas led').to.deep.equal([]);
      expect(aStoppedAt, 'replica-a stopped').to.not.equal(undefined);
      // The renew deadline is 2 s (FAST_LEADER_ELECTION); the lease, 3 s, has to lapse for replica-b.
      expect(aStoppedAt! - cutAt).to.be.below(3_000);
      expect(aStoppedAt! - cutAt).to.be.below(bLeadsAfter);
      expect(await a.manager.done).to.equal('lost');
    } finally {
      await net.cutClient('replica-a', false);
      await net.stop();
    }
  });

  it('a replica whose lease is taken stops every controller and ends as lost; the leader metric follows', async () => {
    const a = replica('replica-a');
    await waitFor(() => a.manager.isLeader, 'replica-a to lead', 10_000, 50);
    const leaderMetric = async () => metricValue(await a.manager.metrics.registry.metrics(), 'leader_election_master_status', { name: 'cell-controller-manager' });
    expect(await leaderMetric()).to.equal(1);
    // Another holder writes the lease and keeps it fresh (as a partitioned-away leader would see it).
    let stealing = true;
    const steal = (async () => {
      while (stealing) {
        try {
          const lease = await admin().get<Lease>(LEASE);
          await admin().update(LEASE, { ...lease, spec: { ...lease.spec, holderIdentity: 'usurper', renewTime: formatMicroTime(new Date()) } });
        } catch {
          // A renewal of replica-a's raced ours: try again.
        }
        await sleep(100);
      }
    })();
    try {
      const end = await Promise.race([a.manager.done, sleep(10_000).then(() => 'timeout' as const)]);
      expect(end).to.equal('lost');
    } finally {
      stealing = false;
      await steal;
    }
    expect(a.manager.isLeader).to.equal(false);
    expect(a.manager.running).to.deep.equal([]);
    expect(await leaderMetric()).to.equal(0);
    expect(await holder(admin()), 'a replica that lost does not release what it does not hold').to.equal('usurper');
  });

  describe('the process, built by npm run build', function () {
    before(async function () {
      this.timeout(240_000);
      await buildDist();
    });

    it('answers --help, serves /healthz and /metrics, runs the controllers as leader and exits 0 on SIGTERM, releasing the lease', async () => {
      const entry = path.join(REPO_ROOT, 'dist/controllers/main.js');
      const help = await run(entry, ['--help'], { cwd: REPO_ROOT });
      for (const flag of ['--server', '--token', '--kubeconfig', '--controllers', '--leader-elect', '--leader-elect-resource-namespace', '--leader-elect-resource-name', '--node-monitor-grace-period', '--node-monitor-period', '--pod-eviction-timeout', '--port', '--concurrent-job-syncs', '--concurrent-replicaset-syncs', '--concurrent-deployment-syncs', '--concurrent-gc-syncs']) {
        expect(help.stdout, flag).to.contain(flag);
      }
      const bad = await run(entry, ['--controllers=bogus', `--server=${api.url}`], { cwd: REPO_ROOT }).then(
        () => undefined,
        (err: { code?: number; stderr?: string }) => err,
      );
      expect(bad?.code, 'an unknown controller is a usage error').to.equal(2);
      expect(bad?.stderr).to.contain('unknown controller "bogus"');
      const noWorkers = await run(entry, ['--concurrent-job-syncs=0', `--server=${api.url}`], { cwd: REPO_ROOT }).then(
        () => undefined,
        (err: { code?: number; stderr?: string }) => err,
      );
      expect(noWorkers?.code, 'no workers is a usage error').to.equal(2);
      expect(noWorkers?.stderr).to.contain('--concurrent-job-syncs must be at least 1');

      const p = await startControllerManagerProcess({
        server: api.url,
        fromDist: true,
        args: [`--token=${TEST_TOKENS.admin}`, '--node-monitor-grace-period=2s', '--node-monitor-period=200ms', '--leader-elect-lease-duration=3s', '--leader-elect-renew-deadline=2s', '--leader-elect-retry-period=250ms'],
      });
      processes.push(p);
      const health = await fetch(`${p.url}/healthz`);
      expect(health.status).to.equal(200);
      const identity = await waitFor(() => holder(admin()), 'the process to take the lease', 15_000, 100);
      await createSilentNode(admin(), 'silent-2');
      await waitFor(async () => readyOf(await admin().get<Node>({ resource: 'nodes', name: 'silent-2' })) === 'Unknown', `silent-2 Unknown (${p.output()})`, 15_000, 100);
      const metrics = await (await fetch(`${p.url}/metrics`)).text();
      expect(metricValue(metrics, 'leader_election_master_status', { name: 'cell-controller-manager' })).to.equal(1);
      expect(metricValue(metrics, 'cell_controller_syncs_total', { controller: 'nodelifecycle', result: 'success' })).to.be.greaterThan(0);
      expect(metricValue(metrics, 'workqueue_work_duration_seconds_count', { name: 'nodelifecycle' })).to.be.greaterThan(0);
      expect(metricValue(metrics, 'cell_controller_running', { controller: 'podgc' })).to.equal(1);
      expect(metrics).to.contain('process_cpu_seconds_total');

      expect(await p.stop('SIGTERM'), p.output()).to.equal(0);
      const lease = await admin().get<Lease>(LEASE);
      expect(lease.spec.holderIdentity ?? '', `released by ${identity}`).to.equal('');
    });

    it('a killed leader is replaced within the lease duration; a replica whose lease is taken exits 1', async () => {
      const args = [`--token=${TEST_TOKENS.admin}`, '--controllers=nodelifecycle', '--leader-elect-lease-duration=3s', '--leader-elect-renew-deadline=2s', '--leader-elect-retry-period=250ms'];
      const first = await startControllerManagerProcess({ server: api.url, fromDist: true, args });
      processes.push(first);
      const firstId = await waitFor(() => holder(admin()), 'the first process to lead', 15_000, 100);
      const second = await startControllerManagerProcess({ server: api.url, fromDist: true, args });
      processes.push(second);
      await sleep(1000);
      expect(await holder(admin())).to.equal(firstId);
      await first.stop('SIGKILL');
      const killedAt = Date.now();
      const secondId = await waitFor(async () => {
        const h = await holder(admin());
        return h && h !== firstId ? h : undefined;
      }, 'the second process to take over', 15_000, 100);
      // The lease is judged expired 3 s after its holder was last seen renewing; then one retry period.
      expect(Date.now() - killedAt, 'taken over within the lease duration plus a retry period or two').to.be.lessThan(3000 + 1500);

      // Now take the second's lease away: it stops its controllers and exits non-zero, for its supervisor to restart it.
      const lostAt = Date.now();
      let stealing = true;
      const steal = (async () => {
        while (stealing) {
          try {
            const lease = await admin().get<Lease>(LEASE);
            await admin().update(LEASE, { ...lease, spec: { ...lease.spec, holderIdentity: 'usurper', renewTime: formatMicroTime(new Date()) } });
          } catch {
            // raced a renewal of the second process: again
          }
          await sleep(100);
        }
      })();
      try {
        const code = await Promise.race([second.exited, sleep(15_000).then(() => 'still running' as const)]);
        expect(code, second.output()).to.equal(1);
      } finally {
        stealing = false;
        await steal;
      }
      expect(Date.now() - lostAt).to.be.lessThan(10_000);
      expect(second.output()).to.contain('leaderelection lost');
      expect(secondId).to.not.equal(firstId);
    });
  });
});
