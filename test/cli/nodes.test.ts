// cellctl cordon / uncordon / drain / top / audit, as a process, against a real API server on
// etcd with nodes whose allocations have usage (pods bound through the binding subresource).
import { expect } from 'chai';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import type { Node, Pod } from '../../shared/api/core.js';
import type { ApiClient } from '../../shared/client/http-client.js';
import { cellctl, createBoundPod, createNode, isolatedEnv, tempDir } from './helpers.js';

describe('cellctl cordon, drain, top, audit', function () {
  this.timeout(60_000);
  let api: TestApiServer;
  let client: ApiClient;
  let env: NodeJS.ProcessEnv;
  const run = (...args: string[]) => cellctl([`--server=${api.url}`, ...args], { env });
  const node = (name: string) => client.get<Node>({ resource: 'nodes', name });
  const podsOn = async (name: string) => (await client.list<{ items: Pod[] }>({ resource: 'pods' }, { fieldSelector: `spec.nodeName=${name}` })).items;

  before(async () => {
    api = await startTestApiServer({ backend: 'etcd' });
    client = api.client();
    env = isolatedEnv(tempDir());
    await createNode(client, 'n1', { cpu: '4', memory: '8Gi', pods: '10' });
    await createNode(client, 'n2', { cpu: '2', memory: '4Gi', pods: '10' });
    await createNode(client, 'n3', { cpu: '2', memory: '4Gi', pods: '10' });
    await client.create({ resource: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'batch' } });
    await createBoundPod(client, 'a', 'n1', { cpu: '1', memory: '1Gi' });
    await createBoundPod(client, 'b', 'n1', { cpu: '500m', memory: '1Gi' });
    await createBoundPod(client, 'c', 'n2', { cpu: '1500m', memory: '512Mi', grace: 5 });
    await createBoundPod(client, 'd', 'n2', { cpu: '100m', memory: '64Mi', namespace: 'batch', grace: 5 });
    await createBoundPod(client, 'e', 'n3', { cpu: '100m', memory: '64Mi' });
  });
  after(async () => api?.close());

  it('top nodes shows allocated against allocatable from the NodeAllocations', async () => {
    const [plain, bars, sorted] = await Promise.all([run('top', 'nodes'), run('top', 'nodes', 'n1', '--bars'), run('top', 'nodes', '--sort-by=cpu', '--no-headers')]);
    expect(plain.code, plain.stderr).to.equal(0);
    const lines = plain.stdout.trimEnd().split('\n');
    expect(lines[0]).to.match(/^NAME +CPU\(requests\) +CPU% +MEMORY\(requests\) +MEMORY% +PODS +PODS%$/);
    expect(lines[1]).to.match(/^n1 +1500m\/4 +37% +2048Mi\/8192Mi +25% +2\/10 +20%$/);
    expect(lines[2]).to.match(/^n2 +1600m\/2 +80% +576Mi\/4096Mi +14% +2\/10 +20%$/);
    // Not a terminal, so no bars unless asked; with --bars, a 10-cell bar per resource.
    expect(plain.stdout).not.to.include('█');
    expect(bars.stdout).to.match(/\nn1 +1500m\/4 +████░░░░░░ +37% +/);
    expect(sorted.stdout.split('\n')[0]).to.match(/^n2 /);
  });

  it('top pods and describe nodeallocation name the pods the ledgers hold by uid', async () => {
    const [here, all, one, ledger] = await Promise.all([
      run('top', 'pods', '--no-headers'),
      run('top', 'pods', '-A', '--no-headers'),
      run('top', 'pods', 'd', '-n', 'batch', '--no-headers'),
      run('describe', 'nodeallocation', 'n2'),
    ]);
    expect(here.code, here.stderr).to.equal(0);
    expect(here.stdout).to.match(/^a +n1 +1 +1024Mi\nb +n1 +500m +1024Mi\nc +n2 +1500m +512Mi\ne +n3 +100m +64Mi\n$/);
    expect(all.stdout).to.match(/^batch +d +n2 +100m +64Mi\ndefault +a +n1 /);
    expect(one.stdout).to.match(/^d +n2 +100m +64Mi\n$/);
    expect(ledger.code, ledger.stderr).to.equal(0);
    expect(ledger.stdout).to.match(/\nPods: +\(2\)\n/);
    expect(ledger.stdout).to.match(/\n {2}default +c +cpu=1500m, memory=512Mi, pods=1\n/);
    expect(ledger.stdout).to.match(/\n {2}batch +d +cpu=100m, memory=64Mi, pods=1\n/);
  });

  it('audit exits 0 and says why the cluster is fine', async () => {
    const [r, json] = await Promise.all([run('audit'), run('audit', '-o', 'json')]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^OK: no violations at revision \d+: 3 nodes, 5 pods \(5 bound\)/);
    expect((JSON.parse(json.stdout) as { ok: boolean; boundPods: number }).ok).to.equal(true);
  });

  it('cordon and uncordon flip spec.unschedulable and say when there was nothing to do', async () => {
    const cordon = await run('cordon', 'n3');
    expect(cordon.stdout).to.equal('node/n3 cordoned\n');
    expect((await node('n3')).spec.unschedulable).to.equal(true);
    const [again, get] = await Promise.all([run('cordon', 'node/n3'), run('get', 'node', 'n3')]);
    expect(again.stdout).to.equal('node/n3 already cordoned\n');
    expect(get.stdout).to.match(/\nn3 +Ready,SchedulingDisabled /);
    const uncordon = await run('uncordon', 'n3');
    expect(uncordon.stdout).to.equal('node/n3 uncordoned\n');
    expect((await node('n3')).spec.unschedulable ?? false).to.equal(false);
    const missing = await run('cordon', 'nope');
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.equal('error: nodes "nope" not found\n');
  });

  it('drain with no agent: cordons, evicts gracefully, reports the pods still terminating at --timeout, exit 1', async () => {
    const r = await run('drain', 'n2', '--timeout=1s');
    expect(r.code).to.equal(1);
    expect(r.stdout).to.equal(
      'node/n2 cordoned\n' +
        // Pods in list order: by namespace, then name.
        'evicting pod batch/d\n' +
        'evicting pod default/c\n' +
        'Summary for node/n2: 0 of 2 pods evicted, 2 still terminating (not confirmed stopped by the node\'s agent)\n' +
        '  batch/d  Terminating\n' +
        '  default/c  Terminating\n',
    );
    expect(r.stderr).to.match(/^error: drain did not complete within 1s: 2 pods still terminating on node n2 \(the node stays cordoned; use --grace-period=0 to delete them without waiting for the agent\)\n$/);
    const pods = await podsOn('n2');
    expect(pods.map((p) => [p.metadata.name, p.metadata.deletionGracePeriodSeconds])).to.have.deep.members([
      ['c', 5],
      ['d', 5],
    ]);
    expect(pods.every((p) => p.metadata.deletionTimestamp)).to.equal(true);
    expect((await node('n2')).spec.unschedulable).to.equal(true);
  });

  it('drain --grace-period=0 evicts at once and finishes with a summary', async () => {
    const r = await run('drain', 'n2', '--grace-period=0');
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^node\/n2 already cordoned\nevicting pod batch\/d\nevicting pod default\/c\npod batch\/d evicted\npod default\/c evicted\nnode\/n2 drained: 2 pods evicted in \d+s\n$/);
    expect(await podsOn('n2')).to.deep.equal([]);
    const [top, audit, empty] = await Promise.all([run('top', 'nodes', 'n2', '--no-headers'), run('audit'), run('drain', 'n2')]);
    expect(top.stdout).to.match(/^n2 +0\/2 +0% +0Mi\/4096Mi +0% +0\/10 +0%\n$/);
    expect(audit.code).to.equal(0);
    expect(empty.stdout).to.equal('node/n2 already cordoned\nnode/n2 drained (no pods were bound to it)\n');
  });
});
