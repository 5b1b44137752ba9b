// Hollow mode at scale: one agent process plays 1,000 nodes against a real API server over real
// etcd with the node lifecycle controller running (an in-process cell-controller-manager). The
// nodes register, stay Ready (leases renewed, no unreachable taint) for a minute, pods bound to
// them go Running at once, annotated ones Succeed on time, deletes are confirmed at once — and the
// process's CPU and memory are reported.
import { expect } from 'chai';
import type { Node, Pod } from '../../shared/api/core.js';
import { CLOCK_TICKS_PER_SECOND, readProcStat, readRssBytes } from '../../agent/procfs.js';
import { startTestApiServer, TEST_TOKENS, type TestApiServer } from '../harness/apiserver.js';
import { startTestControllerManager, type TestControllerManager } from '../controllers/helpers.js';
import { createPod, deleteIfPresent, pod, sleep, startAgent, waitFor, type AgentProcess } from './helpers.js';

const NODES = 1000;
const PREFIX = 'hollow-';
const HOLD_MS = 60_000;

describe('cell-agent hollow mode', function () {
  this.timeout(240_000);
  let api: TestApiServer;
  let agent: AgentProcess | undefined;
  let controllers: TestControllerManager | undefined;
  const admin = () => api.client(TEST_TOKENS.admin);

  before(async () => {
    api = await startTestApiServer({ backend: 'etcd', auth: true });
    controllers = startTestControllerManager(api.url, {
      token: TEST_TOKENS.admin,
      config: { nodeMonitorGracePeriodMs: 30_000, nodeMonitorPeriodMs: 2000, podEvictionTimeoutMs: 60_000, podGcIntervalMs: 20_000 },
    });
  });

  after(async () => {
    await agent?.stop();
    await controllers?.stop();
    await api?.close();
  });

  const hollowNodes = async (): Promise<Node[]> =>
    (await admin().list<{ items: Node[] }>({ resource: 'nodes' }, { labelSelector: 'cell.dev/hollow-agent=hollow' })).items;
  const isReady = (n: Node) => n.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  const tainted = (n: Node) => (n.spec.taints ?? []).some((t) => t.key === 'node.kubernetes.io/unreachable');
  const cpuTicks = (pid: number) => {
    const st = readProcStat(pid);
    if (!st) throw new Error(`process ${pid} is gone`);
    return st.utimeTicks + st.stimeTicks;
  };

  it(`registers ${NODES} nodes that stay Ready for a minute and run their pods; reports CPU and memory`, async () => {
    const started = Date.now();
    agent = startAgent([
      `--server=${api.url}`,
      `--token=${TEST_TOKENS.admin}`,
      `--hollow-nodes=${NODES}`,
      `--node-prefix=${PREFIX}`,
      '--node-ip=127.0.0.1',
      '--cpu=8',
      '--memory=32Gi',
      '--heartbeat-interval=10s',
      '--lease-duration=40s',
    ]);
    const pid = agent.pid;
    await waitFor(async () => {
      const nodes = await hollowNodes();
      return nodes.length === NODES && nodes.every(isReady);
    }, `${NODES} hollow nodes Ready (agent output: ${agent.output().slice(-2000)})`, 150_000, 1000);
    const registrationMs = Date.now() - started;
    const registrationCpuS = cpuTicks(pid) / CLOCK_TICKS_PER_SECOND;

    const t0 = Date.now();
    const ticks0 = cpuTicks(pid);
    let peakRss = readRssBytes(pid) ?? 0;

    // Pods on hollow nodes: Running at once; the annotated ones Succeed after 3 s; deletes confirmed.
    const names: string[] = [];
    for (let i = 0; i < 100; i++) {
      const name = `hp-${i}`;
      names.push(name);
      const annotations = i % 2 === 0 ? { 'cell.dev/run-seconds': '3' } : undefined;
      await createPod(admin(), pod(name, { node: `${PREFIX}${(i * 7) % NODES}`, command: ['ignored'], cpu: '100m', ...(annotations ? { annotations } : {}) }));
    }
    const phases = async () => {
      const pods = (await admin().list<{ items: Pod[] }>({ namespace: 'default', resource: 'pods' })).items;
      return new Map(pods.map((p) => [p.metadata.name ?? '', p.status.phase]));
    };
    await waitFor(async () => {
      const ph = await phases();
      return names.every((n, i) => (i % 2 === 0 ? ph.get(n) === 'Succeeded' : ph.get(n) === 'Running'));
    }, 'hollow pods Running (plain) and Succeeded (run-seconds)', 30_000, 250);
    const plain = names.filter((_, i) => i % 2 === 1);
    const deleteStarted = Date.now();
    await Promise.all(plain.map((n) => deleteIfPresent(admin(), n, 30)));
    await waitFor(async () => {
      const ph = await phases();
      return plain.every((n) => !ph.has(n));
    }, 'graceful deletes confirmed', 20_000, 100);
    const deleteMs = Date.now() - deleteStarted;

    // Hold: every node stays Ready and untainted while leases keep being renewed.
    let checks = 0;
    while (Date.now() - t0 < HOLD_MS) {
      await sleep(5000);
      const nodes = await hollowNodes();
      expect(nodes.length).to.equal(NODES);
      const notReady = nodes.filter((n) => !isReady(n) || tainted(n)).map((n) => n.metadata.name);
      expect(notReady, 'nodes that lost Ready or were tainted').to.deep.equal([]);
      peakRss = Math.max(peakRss, readRssBytes(pid) ?? 0);
      checks++;
    }
    const elapsedS = (Date.now() - t0) / 1000;
    const cpuS = (cpuTicks(pid) - ticks0) / CLOCK_TICKS_PER_SECOND;
    const rss = readRssBytes(pid) ?? 0;
    const leases = (await admin().list<{ items: { spec: { renewTime?: string } }[] }>({ group: 'coordination.k8s.io', version: 'v1', namespace: 'kube-node-lease', resource: 'leases' })).items;
    const fresh = leases.filter((l) => Date.now() - Date.parse(l.spec.renewTime ?? '') < 20_000).length;
    expect(fresh, 'leases renewed within two heartbeat intervals').to.equal(NODES);

    const audit = (await (await fetch(`${api.url}/audit`, { headers: { Authorization: `Bearer ${TEST_TOKENS.admin}` } })).json()) as { ok: boolean };
    expect(audit.ok).to.equal(true);

    const mb = (b: number) => (b / 1024 / 1024).toFixed(1);
    console.log(`      hollow agent, ${NODES} nodes: registered and Ready in ${(registrationMs / 1000).toFixed(1)} s (${registrationCpuS.toFixed(1)} CPU-s incl. start-up);`);
    console.log(`      steady state over ${elapsedS.toFixed(0)} s with 100 pods: ${cpuS.toFixed(2)} CPU-s = ${((cpuS / elapsedS) * 100).toFixed(1)}% of one core; RSS ${mb(rss)} MiB (peak ${mb(peakRss)} MiB);`);
    console.log(`      ${checks} checks all Ready/untainted; ${plain.length} graceful deletes confirmed in ${deleteMs} ms`);
  });
});
