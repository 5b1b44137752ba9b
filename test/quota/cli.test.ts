// ResourceQuota through real clients: unmodified kubectl (`create quota`, `get quota`, `describe
// quota`, and `run` refused by the quota, as its error output shows it) and cellctl (`create quota`,
// `describe quota`, `get quota`), against an API server on etcd with the quota controller running.
import { expect } from 'chai';
import { rmSync } from 'node:fs';
import path from 'node:path';
import type { ApiClient } from '../../shared/client/http-client.js';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { expectOk, findKubectl, rows, run, tempDir, writeKubeconfig, type RunResult } from '../clients/helpers.js';
import { cellctl, isolatedEnv } from '../cli/helpers.js';
import { counted, createNamespace, InProcessQuotaController } from './helpers.js';

describe('ResourceQuota with kubectl and cellctl', function () {
  this.timeout(120_000);
  let srv: TestApiServer;
  let api: ApiClient;
  let controller: InProcessQuotaController;
  let dir: string;
  let kubeconfig: string;
  let ns: string;
  const kubectlBin = findKubectl();

  const kubectl = (...args: string[]): Promise<RunResult> => {
    if (!kubectlBin) throw new Error('kubectl is not on PATH');
    return run(kubectlBin, [`--kubeconfig=${kubeconfig}`, `--cache-dir=${path.join(dir, 'cache')}`, '-n', ns, ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: dir, LANG: 'C' },
      cwd: dir,
      timeoutMs: 45_000,
    });
  };
  const cell = (...args: string[]) => cellctl([`--server=${srv.url}`, '-n', ns, ...args], { env: isolatedEnv(dir) });

  /** `kubectl run` of a pod requesting `cpu` and 1Gi (kubectl run has no resource flags: an override). */
  const kubectlRun = (name: string, cpu?: string) =>
    kubectl(
      'run', name, '--image=busybox', '--restart=Never',
      ...(cpu
        ? [`--overrides=${JSON.stringify({ spec: { schedulerName: 'quota-test-nobody', containers: [{ name, image: 'busybox', resources: { requests: { cpu, memory: '1Gi' } } }] } })}`]
        : []),
    );

  before(async function () {
    if (!kubectlBin) throw new Error('kubectl is not on PATH: these tests drive real kubectl');
    srv = await startTestApiServer({ backend: 'etcd' });
    api = srv.client();
    controller = new InProcessQuotaController(api);
    await controller.start();
    dir = tempDir('cell-quota-');
    kubeconfig = writeKubeconfig(path.join(dir, 'kubeconfig'), srv.url);
    ns = await createNamespace(api, 'cli');
  });

  after(async () => {
    await controller?.stop();
    await srv?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('kubectl create quota / get quota / describe quota show the limits and what is used', async () => {
    const c = expectOk(await kubectl('create', 'quota', 'q', '--hard=cpu=2,memory=4Gi,pods=3'), 'kubectl create quota');
    expect(c.stdout.trim()).to.equal('resourcequota/q created');
    await counted(api, ns, 'q');
    expectOk(await kubectlRun('a', '1'), 'kubectl run a');
    expectOk(await kubectlRun('b', '1'), 'kubectl run b');
    const g = expectOk(await kubectl('get', 'quota'), 'kubectl get quota');
    expect(g.stdout.split('\n')[0]!.trim().split(/\s+/)).to.deep.equal(['NAME', 'AGE', 'REQUEST', 'LIMIT']);
    const [row] = rows(g.stdout);
    expect(row![0]).to.equal('q');
    expect(row![2]).to.equal('cpu: 2/2, memory: 2Gi/4Gi, pods: 2/3');
    const d = expectOk(await kubectl('describe', 'quota', 'q'), 'kubectl describe quota');
    const lines = d.stdout.split('\n').map((l) => l.trim().split(/\s+/));
    expect(lines).to.deep.include(['Name:', 'q']);
    expect(lines).to.deep.include(['Resource', 'Used', 'Hard']);
    expect(lines).to.deep.include(['cpu', '2', '2']);
    expect(lines).to.deep.include(['memory', '2Gi', '4Gi']);
    expect(lines).to.deep.include(['pods', '2', '3']);
  });

  it('kubectl run over the quota fails with the server\'s Forbidden message', async () => {
    const over = await kubectlRun('c', '1');
    expect(over.code).to.not.equal(0);
    expect(over.stderr.trim()).to.equal('Error from server (Forbidden): pods "c" is forbidden: exceeded quota: q, requested: cpu=1, used: cpu=2, limited: cpu=2');
    // No requests at all: the quota limits cpu and memory, so each container must state them.
    const bare = await kubectlRun('bare');
    expect(bare.code).to.not.equal(0);
    expect(bare.stderr.trim()).to.equal('Error from server (Forbidden): pods "bare" is forbidden: failed quota: q: must specify cpu for: bare; memory for: bare');
  });

  it('cellctl create quota, get quota and describe quota', async () => {
    const c = await cell('create', 'quota', 'objects', '--hard=count/pods=10,pods=5');
    expect(c.code, c.stderr).to.equal(0);
    expect(c.stdout.trim()).to.equal('resourcequota/objects created');
    await counted(api, ns, 'objects');
    const d = await cell('describe', 'quota', 'objects');
    expect(d.code, d.stderr).to.equal(0);
    const lines = d.stdout.split('\n').map((l) => l.trim().split(/\s+/));
    expect(lines).to.deep.include(['Resource', 'Used', 'Hard']);
    expect(lines).to.deep.include(['count/pods', '2', '10']);
    expect(lines).to.deep.include(['pods', '2', '5']);
    const g = await cell('get', 'quota');
    expect(g.code, g.stderr).to.equal(0);
    expect(g.stdout).to.contain('count/pods: 2/10, pods: 2/5');
    const bad = await cell('create', 'quota', 'bad', '--hard=pods');
    expect(bad.code).to.not.equal(0);
    expect(bad.stderr).to.contain('invalid --hard entry "pods"');
    const neg = await cell('create', 'quota', 'neg', '--hard=pods=-1');
    expect(neg.code).to.not.equal(0);
    expect(neg.stderr).to.contain('spec.hard.pods');
    // cellctl audit checks the quota ledgers beside the node ledgers.
    const au = await cell('audit');
    expect(au.code, au.stdout + au.stderr).to.equal(0);
    expect(au.stdout).to.match(/^OK: no violations at revision \d+: 0 nodes, 2 pods \(0 bound\), 2 quotas, 1 service IP and port claim; .*every counted quota matches what it governs and is not over, no cluster IP or node port is held twice\n$/);
  });
});
