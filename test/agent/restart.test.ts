// restartPolicy and crash-loop back-off with a real agent (back-off shortened by flag), and agent
// restarts: an agent killed with SIGKILL and started again re-adopts the processes still running,
// reports the ones that ended (or vanished) meanwhile, completes deletes that happened while it
// was away, and never runs anything twice.
import { expect } from 'chai';
import type { Pod } from '../../shared/api/core.js';
import { startTestApiServer, TEST_TOKENS, type TestApiServer } from '../harness/apiserver.js';
import {
  containerStatus,
  createPod,
  deleteIfPresent,
  pod,
  podLog,
  processesWith,
  sleep,
  startAgent,
  tempRoot,
  terminated,
  waitGone,
  waitPod,
  type AgentProcess,
  tearDownAgentTest,
  nodeOneAgentArgs,
  waitNodeReady,
} from './helpers.js';

describe('cell-agent: restarts', function () {
  this.timeout(60_000);
  let api: TestApiServer;
  let agent: AgentProcess;
  let root: string;
  const admin = () => api.client(TEST_TOKENS.admin);
  const agentArgs = () =>
    nodeOneAgentArgs(root, [`--server=${api.url}`, `--token=${TEST_TOKENS.node1}`, '--crash-loop-backoff=400ms', '--crash-loop-backoff-max=1600ms']);
  const nodeReady = () => waitNodeReady(admin(), agent);
  /**
   * The container shims of a pod (one per running container): each leads its own process group.
   * The child it forks for the command shows the shim's command line too until it execs — on a
   * loaded machine long enough for `ps` to list it — but is not a group leader.
   */
  const shims = (p: Pod) => processesWith(p.metadata.uid ?? '-').filter((r) => r.args.includes('cell-container') && r.pid === r.pgid);

  before(async function () {
    this.timeout(60_000);
    api = await startTestApiServer({ backend: 'etcd', auth: true });
    root = tempRoot('cell-agent-restart-');
    agent = startAgent(agentArgs());
    await nodeReady();
  });

  after(async function () {
    this.timeout(60_000);
    await tearDownAgentTest({ admin: admin(), agent, root, close: async () => api?.close() });
  });

  it('restarts a crashing container with back-off: CrashLoopBackOff, growing restartCount, previous logs', async () => {
    await createPod(admin(), pod('crash', { node: 'node-1', command: ['sh', '-c', 'echo run at $(date +%s%N); exit 2'] }));
    // Caught while it waits out a back-off: between back-offs it runs for a moment, and a running
    // container (no readiness probe) is ready.
    const p = await waitPod(admin(), 'crash', (x) => {
      const s = containerStatus(x);
      return (s?.restartCount ?? 0) >= 4 && s?.state?.waiting?.reason === 'CrashLoopBackOff';
    }, 'to crash-loop', 30_000);
    expect(p.status.phase).to.equal('Running');
    const s = containerStatus(p)!;
    expect(s.lastState?.terminated).to.include({ exitCode: 2, reason: 'Error' });
    expect(s.ready).to.equal(false);
    // Back-off doubles (400 ms, 800 ms, 1.6 s cap): four restarts take well over a second.
    const start = Date.parse(p.status.startTime!);
    expect(Date.parse(s.lastState!.terminated!.finishedAt!) - start).to.be.greaterThan(1000);
    const prev = await podLog(api.url, TEST_TOKENS.admin, 'crash', 'previous=true');
    expect(prev.status).to.equal(200);
    expect(prev.text).to.match(/^run at \d+\n$/);
    const events = await admin().list<{ items: { reason?: string; involvedObject: { name?: string } }[] }>({ namespace: 'default', resource: 'events' });
    expect(events.items.filter((e) => e.involvedObject.name === 'crash').map((e) => e.reason)).to.include.members(['Started', 'BackOff']);
  });

  it('OnFailure restarts only after a failure; Always restarts even after success', async () => {
    // The pod's working directory outlives a container instance: the second run finds the marker.
    await createPod(admin(), pod('onfail', { node: 'node-1', restartPolicy: 'OnFailure', command: ['sh', '-c', 'if [ -f marker ]; then echo second; exit 0; fi; touch marker; exit 1'] }));
    await createPod(admin(), pod('again', { node: 'node-1', restartPolicy: 'Always', command: ['sh', '-c', 'exit 0'] }));
    const onfail = await waitPod(admin(), 'onfail', (x) => x.status.phase === 'Succeeded', 'to succeed after one restart');
    expect(containerStatus(onfail)?.restartCount).to.equal(1);
    expect(containerStatus(onfail)?.lastState?.terminated?.exitCode).to.equal(1);
    expect(terminated(onfail)).to.include({ exitCode: 0, reason: 'Completed' });
    const again = await waitPod(admin(), 'again', (x) => (containerStatus(x)?.restartCount ?? 0) >= 2, 'to be restarted after exiting 0');
    expect(again.status.phase).to.equal('Running');
    expect(containerStatus(again)?.lastState?.terminated?.reason).to.equal('Completed');
    await deleteIfPresent(admin(), 'crash');
    await deleteIfPresent(admin(), 'again');
    await Promise.all([waitGone(admin(), 'crash'), waitGone(admin(), 'again')]);
  });

  it('an agent killed and restarted re-adopts running pods, reports what ended meanwhile, and forgets nothing', async function () {
    this.timeout(90_000);
    await createPod(admin(), pod('steady', { node: 'node-1', command: ['sleep', '600'] }));
    await createPod(admin(), pod('ends', { node: 'node-1', restartPolicy: 'Never', command: ['sh', '-c', 'sleep 2; exit 5'] }));
    await createPod(admin(), pod('vanish', { node: 'node-1', command: ['sleep', '600'] }));
    await createPod(admin(), pod('dying', { node: 'node-1', grace: 5, command: ['sleep', '600'] }));
    const before = new Map<string, Pod>();
    for (const name of ['steady', 'ends', 'vanish', 'dying']) {
      before.set(name, await waitPod(admin(), name, (x) => x.status.phase === 'Running' && containerStatus(x)?.ready === true, 'to run'));
    }
    const steadyShim = shims(before.get('steady')!);
    expect(steadyShim).to.have.length(1);

    await agent.kill();
    // While the agent is down: one process is killed outright (no exit status left behind), one pod
    // is deleted (nobody confirms it yet), and one exits on its own.
    const vanish = shims(before.get('vanish')!);
    expect(vanish).to.have.length(1);
    process.kill(-vanish[0]!.pgid, 'SIGKILL');
    await admin().delete({ namespace: 'default', resource: 'pods', name: 'dying' });
    await sleep(3000);

    agent = startAgent(agentArgs());
    await nodeReady();

    const ends = await waitPod(admin(), 'ends', (x) => x.status.phase === 'Failed', 'to be reported Failed');
    expect(terminated(ends)).to.include({ exitCode: 5, reason: 'Error' });

    const vanished = await waitPod(admin(), 'vanish', (x) => containerStatus(x)?.restartCount === 1 && containerStatus(x)?.ready === true, 'to be restarted');
    expect(containerStatus(vanished)?.lastState?.terminated).to.include({ exitCode: 137, reason: 'ContainerStatusUnknown' });

    await waitGone(admin(), 'dying');
    expect(shims(before.get('dying')!)).to.deep.equal([]);

    // Re-adopted, not restarted: the same process, the same container, still one of it.
    const steady = await waitPod(admin(), 'steady', (x) => x.status.phase === 'Running', 'to run');
    expect(containerStatus(steady)?.restartCount).to.equal(0);
    expect(containerStatus(steady)?.containerID).to.equal(containerStatus(before.get('steady')!)?.containerID);
    expect(shims(steady).map((r) => r.pid)).to.deep.equal(steadyShim.map((r) => r.pid));
    expect(shims(vanished)).to.have.length(1);
    expect(shims(ends)).to.deep.equal([]);

    // And the re-adopted process is still under control: deleting the pod stops it.
    await admin().delete({ namespace: 'default', resource: 'pods', name: 'steady' });
    await waitGone(admin(), 'steady');
    expect(shims(steady)).to.deep.equal([]);
  });
});
