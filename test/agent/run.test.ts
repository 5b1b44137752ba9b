// A real cell-agent process (node token, --kubeconfig) against a real API server over real etcd:
// pods run as host processes with their env and args, end with their exact exit codes, their logs
// are served through the API server (and to real kubectl), deletes are graceful, node restriction
// holds for the agent's token, and a pod that does not fit the node is rejected.
import { expect } from 'chai';
import path from 'node:path';
import type { Node, Pod } from '../../shared/api/core.js';
import type { NodeAllocation } from '../../shared/api/scheduling.js';
import { ForbiddenError } from '../../shared/errors.js';
import { startTestApiServer, TEST_TOKENS, type TestApiServer } from '../harness/apiserver.js';
import { findKubectl, run, writeKubeconfig } from '../clients/helpers.js';
import { startTlsProxy, TEST_TLS_CERT } from '../clients/tls-proxy.js';
import {
  bind,
  containerStatus,
  createPod,
  getPod,
  pod,
  podLog,
  processesWith,
  startAgent,
  tempRoot,
  terminated,
  waitFor,
  waitGone,
  waitPod,
  type AgentProcess,
  tearDownAgentTest,
  nodeOneAgentArgs,
  waitNodeReady,
} from './helpers.js';

describe('cell-agent: running pods', function () {
  this.timeout(60_000);
  let api: TestApiServer;
  let agent: AgentProcess;
  let root: string;
  const admin = () => api.client(TEST_TOKENS.admin);
  const node1 = () => api.client(TEST_TOKENS.node1);

  before(async function () {
    this.timeout(60_000);
    api = await startTestApiServer({ backend: 'etcd', auth: true });
    root = tempRoot('cell-agent-run-');
    const kubeconfig = writeKubeconfig(path.join(root, 'node-1.kubeconfig'), api.url, { token: TEST_TOKENS.node1 });
    agent = startAgent(nodeOneAgentArgs(root, [`--kubeconfig=${kubeconfig}`, '--labels=zone=a,tier=test', '--taints=dedicated=test:PreferNoSchedule', '--kube-reserved=cpu=500m,memory=256Mi', '--system-reserved=memory=256Mi']));
    await waitNodeReady(admin(), agent);
  });

  after(async function () {
    this.timeout(60_000);
    await tearDownAgentTest({ admin: admin(), agent, root, close: async () => api?.close() });
  });

  it('registers the node with capacity, allocatable (less what is reserved), labels, taints, addresses and the log port', async () => {
    const n = await admin().get<Node>({ resource: 'nodes', name: 'node-1' });
    expect(n.status.capacity).to.include({ cpu: '4', memory: '4Gi', pods: '110' });
    expect(n.status.allocatable).to.deep.equal({ cpu: '3500m', memory: '3584Mi', pods: '110' });
    // The ledger the schedulers place against has the same allocatable.
    const ledger = await admin().get<NodeAllocation>({ group: 'scheduling.cell.dev', version: 'v1alpha1', resource: 'nodeallocations', name: 'node-1' });
    expect(ledger.spec.allocatable).to.include({ cpu: '3500m', memory: '3584Mi' });
    expect(n.metadata.labels).to.include({ zone: 'a', tier: 'test', 'kubernetes.io/hostname': 'node-1', 'kubernetes.io/os': process.platform });
    expect(n.spec.taints).to.deep.equal([{ key: 'dedicated', value: 'test', effect: 'PreferNoSchedule' }]);
    expect(n.status.addresses).to.deep.include({ type: 'InternalIP', address: '127.0.0.1' });
    expect(n.status.daemonEndpoints?.kubeletEndpoint?.Port).to.be.greaterThan(0);
    expect(n.status.nodeInfo?.kubeletVersion).to.match(/^v1\./);
    const lease = await waitFor(
      () => admin().get<{ spec: { holderIdentity?: string; renewTime?: string } }>({ group: 'coordination.k8s.io', version: 'v1', namespace: 'kube-node-lease', resource: 'leases', name: 'node-1' }),
      'the node lease',
      10_000,
      100,
    );
    expect(lease.spec.holderIdentity).to.equal('node-1');
    const first = lease.spec.renewTime;
    await waitFor(async () => {
      const l = await admin().get<{ spec: { renewTime?: string } }>({ group: 'coordination.k8s.io', version: 'v1', namespace: 'kube-node-lease', resource: 'leases', name: 'node-1' });
      return l.spec.renewTime !== first;
    }, 'the node lease to be renewed', 10_000, 100);
  });

  it('runs pods to Succeeded and Failed with the exact exit code', async () => {
    await createPod(admin(), pod('exit-zero', { command: ['sh', '-c', 'echo done'], restartPolicy: 'Never' }));
    await bind(admin(), 'exit-zero', 'node-1');
    await createPod(admin(), pod('exit-seven', { node: 'node-1', command: ['sh', '-c', 'exit 7'], restartPolicy: 'Never' }));
    const ok = await waitPod(admin(), 'exit-zero', (p) => p.status.phase === 'Succeeded', 'to succeed');
    const bad = await waitPod(admin(), 'exit-seven', (p) => p.status.phase === 'Failed', 'to fail');
    expect(terminated(ok)).to.include({ exitCode: 0, reason: 'Completed' });
    expect(terminated(bad)).to.include({ exitCode: 7, reason: 'Error' });
    for (const p of [ok, bad]) {
      expect(p.status.hostIP).to.equal('127.0.0.1');
      expect(p.status.podIP).to.equal('127.0.0.1');
      expect(p.status.startTime).to.be.a('string');
      expect(p.status.conditions?.find((c) => c.type === 'Ready')).to.include({ status: 'False', reason: 'PodCompleted' });
      expect(p.status.conditions?.find((c) => c.type === 'PodScheduled')?.status).to.equal(p.metadata.name === 'exit-zero' ? 'True' : undefined);
    }
    // A finished pod no longer holds its share of the node.
    const alloc = await admin().get<NodeAllocation>({ group: 'scheduling.cell.dev', version: 'v1alpha1', resource: 'nodeallocations', name: 'node-1' });
    expect(alloc.spec.pods.map((e) => e.uid)).to.not.include.members([ok.metadata.uid, bad.metadata.uid]);
  });

  it('reports a command that cannot start as StartError (exit 128)', async () => {
    await createPod(admin(), pod('no-such-cmd', { node: 'node-1', command: ['definitely-not-a-command-here'], restartPolicy: 'Never' }));
    const p = await waitPod(admin(), 'no-such-cmd', (x) => x.status.phase === 'Failed', 'to fail');
    expect(terminated(p)).to.include({ exitCode: 128, reason: 'StartError' });
    expect(terminated(p)?.message).to.match(/executable file not found/);
  });

  it('runs init containers first, one at a time, then the app containers', async () => {
    await createPod(admin(), {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'with-init', namespace: 'default' },
      spec: {
        nodeName: 'node-1',
        restartPolicy: 'Never',
        initContainers: [
          { name: 'first', image: 'busybox', command: ['sh', '-c', 'echo one > order'] },
          { name: 'second', image: 'busybox', command: ['sh', '-c', 'echo two >> order'] },
        ],
        containers: [
          { name: 'app', image: 'busybox', command: ['sh', '-c', 'cat order'] },
          { name: 'side', image: 'busybox', command: ['true'] },
        ],
      },
    });
    const p = await waitPod(admin(), 'with-init', (x) => x.status.phase === 'Succeeded', 'to succeed');
    expect(p.status.initContainerStatuses?.map((c) => [c.name, c.state?.terminated?.exitCode])).to.deep.equal([['first', 0], ['second', 0]]);
    expect(p.status.conditions?.find((c) => c.type === 'Initialized')?.status).to.equal('True');
    expect(await podLog(api.url, TEST_TOKENS.admin, 'with-init', 'container=app')).to.deep.equal({ status: 200, text: 'one\ntwo\n' });
    const ambiguous = await podLog(api.url, TEST_TOKENS.admin, 'with-init');
    expect(ambiguous.status).to.equal(400);
    expect(JSON.parse(ambiguous.text).message).to.equal('a container name must be specified for pod with-init, choose one of: [app side] or one of the init containers: [first second]');
  });

  it('passes env and args, and serves logs through the API server and to kubectl', async () => {
    await createPod(admin(), pod('echo', {
      node: 'node-1',
      command: ['sh', '-c', 'echo "FOO=$FOO ARG=$0 HOSTNAME=$HOSTNAME"; for i in 1 2 3 4 5; do echo line $i; done; exec sleep 600'],
      args: ['got-$(BAR)'],
      env: { FOO: 'foo value', BAR: 'bar-value' },
    }));
    await waitPod(admin(), 'echo', (p) => p.status.phase === 'Running' && containerStatus(p)?.ready === true, 'to run');
    const expected = 'FOO=foo value ARG=got-bar-value HOSTNAME=echo\nline 1\nline 2\nline 3\nline 4\nline 5\n';
    await waitFor(async () => (await podLog(api.url, TEST_TOKENS.admin, 'echo')).text === expected, 'the whole log', 10_000, 100);
    expect(await podLog(api.url, TEST_TOKENS.admin, 'echo', 'tailLines=2')).to.deep.equal({ status: 200, text: 'line 4\nline 5\n' });
    expect(await podLog(api.url, TEST_TOKENS.admin, 'echo', 'limitBytes=4')).to.deep.equal({ status: 200, text: 'FOO=' });
    expect(await podLog(api.url, TEST_TOKENS.viewer, 'echo', 'container=main&tailLines=1')).to.deep.equal({ status: 200, text: 'line 5\n' });

    // Errors come back as Status objects.
    const wrong = await podLog(api.url, TEST_TOKENS.admin, 'echo', 'container=nope');
    expect(wrong.status).to.equal(400);
    expect(JSON.parse(wrong.text)).to.include({ kind: 'Status', reason: 'BadRequest' });
    expect((await podLog(api.url, TEST_TOKENS.admin, 'echo', 'previous=true')).status).to.equal(400);
    expect((await podLog(api.url, TEST_TOKENS.admin, 'nonexistent')).status).to.equal(404);
    expect((await podLog(api.url, TEST_TOKENS.nobody, 'echo')).status).to.equal(403);
    await createPod(admin(), pod('unbound', { command: ['true'] }));
    const unbound = await podLog(api.url, TEST_TOKENS.admin, 'unbound');
    expect(unbound.status).to.equal(400);
    expect(JSON.parse(unbound.text).message).to.match(/does not have a host assigned/);

    // follow: a stream that ends when the container does, with every line.
    await createPod(admin(), pod('ticker', { node: 'node-1', command: ['sh', '-c', 'for i in 1 2 3 4 5 6; do echo tick $i; sleep 0.3; done'], restartPolicy: 'Never' }));
    await waitPod(admin(), 'ticker', (p) => p.status.phase !== 'Pending', 'to start');
    const followed = await podLog(api.url, TEST_TOKENS.admin, 'ticker', 'follow=true');
    expect(followed).to.deep.equal({ status: 200, text: 'tick 1\ntick 2\ntick 3\ntick 4\ntick 5\ntick 6\n' });

    const kubectl = findKubectl();
    if (kubectl) {
      // kubectl sends a token only over TLS: a TLS front for the API server.
      const proxy = await startTlsProxy(api.url);
      const adminKubeconfig = writeKubeconfig(path.join(root, 'admin.kubeconfig'), proxy.url, { token: TEST_TOKENS.admin, caCertPem: TEST_TLS_CERT });
      try {
        const all = await run(kubectl, ['--kubeconfig', adminKubeconfig, 'logs', 'echo']);
        expect(all.code, all.stderr).to.equal(0);
        expect(all.stdout).to.equal(expected);
        const tail = await run(kubectl, ['--kubeconfig', adminKubeconfig, 'logs', 'echo', '--tail=1', '-c', 'main']);
        expect(tail.stdout).to.equal('line 5\n');
        const follow = await run(kubectl, ['--kubeconfig', adminKubeconfig, 'logs', '-f', 'ticker']);
        expect(follow.stdout).to.equal('tick 1\ntick 2\ntick 3\ntick 4\ntick 5\ntick 6\n');
      } finally {
        await proxy.close();
      }
    } else {
      console.log('      (kubectl not found: the kubectl part was skipped)');
    }
  });

  it('stops a deleted pod gracefully: SIGTERM, SIGKILL after the grace period, then confirms the delete', async () => {
    await createPod(admin(), pod('trapper', { node: 'node-1', grace: 20, command: ['sh', '-c', 'trap "echo bye; exit 0" TERM; while true; do sleep 0.1; done'] }));
    await createPod(admin(), pod('stubborn', { node: 'node-1', grace: 2, command: ['sh', '-c', 'trap "" TERM; while true; do sleep 0.1; done'] }));
    const [trapper, stubborn] = await Promise.all([
      waitPod(admin(), 'trapper', (p) => p.status.phase === 'Running', 'to run'),
      waitPod(admin(), 'stubborn', (p) => p.status.phase === 'Running', 'to run'),
    ]);
    const uids = [trapper.metadata.uid!, stubborn.metadata.uid!];
    // One shim per container (its command line holds the pod's uid).
    expect(uids.map((u) => processesWith(u).length)).to.deep.equal([1, 1]);

    let t0 = Date.now();
    await admin().delete({ namespace: 'default', resource: 'pods', name: 'trapper' });
    const marked = await getPod(admin(), 'trapper');
    expect(marked?.metadata.deletionGracePeriodSeconds, 'a bound pod is deleted gracefully').to.equal(20);
    await waitGone(admin(), 'trapper');
    const trapperMs = Date.now() - t0;
    expect(trapperMs, 'a process that exits on SIGTERM is not waited for').to.be.lessThan(10_000);

    t0 = Date.now();
    await admin().delete({ namespace: 'default', resource: 'pods', name: 'stubborn' });
    await waitGone(admin(), 'stubborn');
    const stubbornMs = Date.now() - t0;
    expect(stubbornMs, 'a process that ignores SIGTERM is killed after its grace period').to.be.within(1_900, 15_000);
    for (const uid of uids) expect(processesWith(uid), `processes of pod ${uid}`).to.deep.equal([]);

    const events = await admin().list<{ items: { reason?: string; involvedObject: { name?: string } }[] }>({ namespace: 'default', resource: 'events' });
    const reasons = events.items.filter((e) => e.involvedObject.name === 'stubborn').map((e) => e.reason);
    expect(reasons).to.include.members(['Started', 'Killing']);
  });

  it('holds node restriction: its token reaches only its own node, lease and pods', async () => {
    await admin().create({ resource: 'nodes' }, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-2' }, status: { capacity: { cpu: '2', memory: '2Gi', pods: '10' } } });
    await createPod(admin(), pod('elsewhere', { node: 'node-2', command: ['sleep', '600'] }));
    await createPod(admin(), pod('mine', { node: 'node-1', command: ['sleep', '600'] }));
    const n1 = node1();
    const forbidden = async (what: string, fn: () => Promise<unknown>) => {
      let err: unknown;
      try {
        await fn();
      } catch (e) {
        err = e;
      }
      expect(err, what).to.be.instanceOf(ForbiddenError);
    };
    await forbidden('get a pod of node-2', () => n1.get({ namespace: 'default', resource: 'pods', name: 'elsewhere' }));
    const other = (await getPod(admin(), 'elsewhere'))!;
    await forbidden('update its status', () => n1.update({ namespace: 'default', resource: 'pods', name: 'elsewhere', subresource: 'status' }, { ...other, status: { phase: 'Failed' } }));
    await forbidden('delete it', () => n1.delete({ namespace: 'default', resource: 'pods', name: 'elsewhere' }, { gracePeriodSeconds: 0 }));
    await forbidden('list all pods', () => n1.list({ resource: 'pods' }));
    await forbidden('list node-2 pods', () => n1.list({ resource: 'pods' }, { fieldSelector: 'spec.nodeName=node-2' }));
    await forbidden('patch node-2', () => n1.patch({ resource: 'nodes', name: 'node-2' }, { metadata: { labels: { x: 'y' } } }));
    await forbidden('renew node-2 lease', () => n1.create({ group: 'coordination.k8s.io', version: 'v1', namespace: 'kube-node-lease', resource: 'leases' }, { metadata: { name: 'node-2' }, spec: { holderIdentity: 'node-2' } }));
    // What it needs, it may do.
    expect((await n1.get<Pod>({ namespace: 'default', resource: 'pods', name: 'mine' })).spec.nodeName).to.equal('node-1');
    expect((await n1.list<{ items: Pod[] }>({ resource: 'pods' }, { fieldSelector: 'spec.nodeName=node-1' })).items.length).to.be.greaterThan(0);
    await waitPod(admin(), 'mine', (p) => p.status.phase === 'Running', 'to run under the node token');
    expect((await getPod(admin(), 'elsewhere'))?.status.phase, 'nobody runs node-2 pods').to.equal('Pending');
    await admin().delete({ resource: 'nodes', name: 'node-2' });
  });

  it('rejects a pod that does not fit its capacity (OutOfcpu) even when the ledger admitted it', async () => {
    // The API's view of node-1 claims more cpu than the agent has: the ledger admits, the agent refuses.
    await admin().patch({ resource: 'nodes', name: 'node-1', subresource: 'status' }, { status: { allocatable: { cpu: '16', memory: '4Gi', pods: '110' } } }, 'strategic');
    try {
      await createPod(admin(), pod('big-1', { node: 'node-1', command: ['sleep', '600'], cpu: '3' }));
      await waitPod(admin(), 'big-1', (p) => p.status.phase === 'Running', 'to run');
      await createPod(admin(), pod('big-2', { node: 'node-1', command: ['sleep', '600'], cpu: '3' }));
      const rejected = await waitPod(admin(), 'big-2', (p) => p.status.phase === 'Failed', 'to be rejected');
      expect(rejected.status.reason).to.equal('OutOfcpu');
      expect(rejected.status.message).to.match(/didn't have enough resource: cpu/);
      const audit = await (await fetch(`${api.url}/audit`, { headers: { Authorization: `Bearer ${TEST_TOKENS.admin}` } })).json() as { ok: boolean };
      expect(audit.ok).to.equal(true);
    } finally {
      await admin().patch({ resource: 'nodes', name: 'node-1', subresource: 'status' }, { status: { allocatable: { cpu: '4', memory: '4Gi', pods: '110' } } }, 'strategic');
    }
  });
});
