// Real kubectl with its default flags against the API server over real etcd: `apply` validates
// (it reads /openapi/v3, finds that the server validates fields itself, and sends
// fieldValidation=Strict), and `explain` renders every served kind from /openapi/v3.
import { expect } from 'chai';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { RESOURCES } from '../../shared/api/registry.js';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { findKubectl, run, tempDir, writeKubeconfig, expectOk, type RunResult } from '../clients/helpers.js';

const POD = `apiVersion: v1
kind: Pod
metadata:
  name: web
  labels:
    app: web
spec:
  containers:
  - name: main
    image: busybox
    command: ["sleep", "3600"]
    resources:
      requests:
        cpu: 100m
        memory: 64Mi
`;

describe('kubectl apply and explain with the OpenAPI documents', function () {
  this.timeout(60_000);
  let srv: TestApiServer;
  let dir: string;
  let kubeconfig: string;
  let kubectlPath: string;

  /** kubectl with default flags, its own HOME and a fresh cache dir (nothing cached from another run). */
  const kubectl = (...args: string[]): Promise<RunResult> =>
    run(kubectlPath, [`--kubeconfig=${kubeconfig}`, `--cache-dir=${path.join(dir, 'cache')}`, ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: dir, LANG: 'C' },
      cwd: dir,
    });
  const file = (name: string, content: string): string => {
    const p = path.join(dir, name);
    writeFileSync(p, content);
    return p;
  };

  before(async function () {
    const found = findKubectl();
    if (!found) throw new Error('kubectl is not on PATH (set $KUBECTL)');
    kubectlPath = found;
    srv = await startTestApiServer({ backend: 'etcd' });
    dir = tempDir('cell-openapi-');
    kubeconfig = writeKubeconfig(path.join(dir, 'kubeconfig'), srv.url);
  });

  after(async function () {
    await srv?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('apply -f with default validation creates a pod, then reports it unchanged, then configured', async function () {
    const podFile = file('web.yaml', POD);
    const created = expectOk(await kubectl('apply', '-f', podFile), 'kubectl apply');
    expect(created.stdout.trim()).to.equal('pod/web created');
    const pod = await srv.client().get<{ metadata: { labels?: Record<string, string> } }>({ resource: 'pods', namespace: 'default', name: 'web' });
    expect(pod.metadata.labels).to.deep.equal({ app: 'web' });

    const again = expectOk(await kubectl('apply', '-f', podFile), 'kubectl apply (again)');
    expect(again.stdout.trim()).to.equal('pod/web unchanged');

    file('web.yaml', POD.replace('app: web', 'app: web\n    tier: front'));
    const changed = expectOk(await kubectl('apply', '-f', podFile), 'kubectl apply (modified)');
    expect(changed.stdout.trim()).to.equal('pod/web configured');
    const after = await srv.client().get<{ metadata: { labels?: Record<string, string> } }>({ resource: 'pods', namespace: 'default', name: 'web' });
    expect(after.metadata.labels).to.deep.equal({ app: 'web', tier: 'front' });
  });

  it('apply -f refuses a misspelled field, naming it, and creates nothing', async function () {
    const bad = file('typo.yaml', POD.replace('name: web', 'name: typo').replace('image: busybox', 'image: busybox\n    imagee: busybox'));
    const r = await kubectl('apply', '-f', bad);
    expect(r.code, `stdout: ${r.stdout}`).to.not.equal(0);
    expect(r.stderr).to.include('unknown field "spec.containers[0].imagee"');
    const list = await srv.client().list<{ items: { metadata: { name?: string } }[] }>({ resource: 'pods', namespace: 'default' });
    expect(list.items.map((p) => p.metadata.name)).to.not.include('typo');
  });

  it('apply -f of a pod with probes stores them (a named port as a string), reapplies unchanged, and refuses a misspelled probe field', async function () {
    const probed = POD.replace('name: web', 'name: probed').replace('    resources:', `    ports:
    - name: http
      containerPort: 8080
    readinessProbe:
      httpGet:
        path: /healthz
        port: http
        httpHeaders:
        - name: X-Probe
          value: ready
      periodSeconds: 5
    livenessProbe:
      tcpSocket:
        port: 8080
      initialDelaySeconds: 3
    startupProbe:
      exec:
        command: ["test", "-f", "/tmp/started"]
      failureThreshold: 30
    resources:`);
    const created = expectOk(await kubectl('apply', '-f', file('probed.yaml', probed)), 'kubectl apply (probes)');
    expect(created.stdout.trim()).to.equal('pod/probed created');
    const pod = await srv.client().get<{ spec: { containers: Record<string, unknown>[] } }>({ resource: 'pods', namespace: 'default', name: 'probed' });
    expect(pod.spec.containers[0]!.readinessProbe).to.deep.equal({
      httpGet: { path: '/healthz', port: 'http', scheme: 'HTTP', httpHeaders: [{ name: 'X-Probe', value: 'ready' }] },
      periodSeconds: 5, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3,
    });
    expect(pod.spec.containers[0]!.livenessProbe).to.deep.include({ tcpSocket: { port: 8080 }, initialDelaySeconds: 3 });
    expect(pod.spec.containers[0]!.startupProbe).to.deep.include({ exec: { command: ['test', '-f', '/tmp/started'] }, failureThreshold: 30 });
    const again = expectOk(await kubectl('apply', '-f', file('probed.yaml', probed)), 'kubectl apply (probes, again)');
    expect(again.stdout.trim()).to.equal('pod/probed unchanged');
    const typo = await kubectl('apply', '-f', file('probed-typo.yaml', probed.replace('name: probed', 'name: probed2').replace('periodSeconds: 5', 'periodSecond: 5')));
    expect(typo.code).to.not.equal(0);
    expect(typo.stderr).to.include('unknown field "spec.containers[0].readinessProbe.periodSecond"');
  });

  it('apply -f of a pod with lifecycle hooks stores them, reapplies unchanged, and refuses a misspelled hook field', async function () {
    const hooked = POD.replace('name: web', 'name: hooked').replace('    resources:', `    lifecycle:
      postStart:
        exec:
          command: ["sh", "-c", "echo started > /tmp/hooked"]
      preStop:
        httpGet:
          path: /shutdown
          port: 8080
    resources:`);
    const created = expectOk(await kubectl('apply', '-f', file('hooked.yaml', hooked)), 'kubectl apply (hooks)');
    expect(created.stdout.trim()).to.equal('pod/hooked created');
    const pod = await srv.client().get<{ spec: { containers: Record<string, unknown>[] } }>({ resource: 'pods', namespace: 'default', name: 'hooked' });
    expect(pod.spec.containers[0]!.lifecycle).to.deep.equal({
      postStart: { exec: { command: ['sh', '-c', 'echo started > /tmp/hooked'] } },
      preStop: { httpGet: { path: '/shutdown', port: 8080, scheme: 'HTTP' } },
    });
    const again = expectOk(await kubectl('apply', '-f', file('hooked.yaml', hooked)), 'kubectl apply (hooks, again)');
    expect(again.stdout.trim()).to.equal('pod/hooked unchanged');
    const typo = await kubectl('apply', '-f', file('hooked-typo.yaml', hooked.replace('name: hooked', 'name: hooked2').replace('preStop:', 'preStopp:')));
    expect(typo.code).to.not.equal(0);
    expect(typo.stderr).to.include('unknown field "spec.containers[0].lifecycle.preStopp"');
  });

  it('apply -f of a PodGroup (a cell-served, non-Kubernetes group) validates server-side too', async function () {
    const pg = `apiVersion: scheduling.x-k8s.io/v1alpha1
kind: PodGroup
metadata:
  name: gang
spec:
  minMember: 2
`;
    const ok = expectOk(await kubectl('apply', '-f', file('pg.yaml', pg)), 'kubectl apply podgroup');
    expect(ok.stdout.trim()).to.equal('podgroup.scheduling.x-k8s.io/gang created');
    const bad = await kubectl('apply', '-f', file('pg-bad.yaml', pg.replace('gang', 'gang2').replace('minMember', 'minMembers')));
    expect(bad.code).to.not.equal(0);
    expect(bad.stderr).to.include('unknown field "spec.minMembers"');
  });

  it('explain pods.spec.containers.resources prints the field and its sub-fields with their docs', async function () {
    const r = expectOk(await kubectl('explain', 'pods.spec.containers.resources'), 'kubectl explain');
    expect(r.stdout).to.match(/^KIND:\s+Pod$/m);
    expect(r.stdout).to.match(/^VERSION:\s+v1$/m);
    expect(r.stdout).to.match(/^FIELD: resources <ResourceRequirements>$/m);
    // Descriptions come from the zod schemas' .describe() texts (kubectl wraps them at 80 columns).
    expect(r.stdout).to.include('Compute resources of a container');
    expect(r.stdout).to.include('The most of each resource the container may use.');
    expect(r.stdout).to.match(/^\s+limits\s+<map\[string\]Quantity>$/m);
    expect(r.stdout).to.match(/^\s+requests\s+<map\[string\]Quantity>$/m);
    expect(r.stdout).to.include('The pod is placed only on a node');
  });

  it('explain --output=plaintext-openapiv2 reads the gnostic protobuf /openapi/v2', async function () {
    // kubectl's v2 explain decodes openapi_v2.Document and builds its models, refusing dangling refs.
    const r = expectOk(await kubectl('explain', '--output=plaintext-openapiv2', 'pods.spec.containers.resources'), 'kubectl explain (v2)');
    expect(r.stdout).to.match(/^KIND:\s+Pod$/m);
    expect(r.stdout).to.match(/^\s+requests\s+<map\[string\]string>$/m);
    expect(r.stdout).to.include('The most of each resource the container may use.');
    const p = expectOk(await kubectl('explain', '--output=plaintext-openapiv2', 'placements.spec.bindings'), 'kubectl explain placements (v2)');
    expect(p.stdout).to.match(/^\s+podName\s+<string> -required-$/m);
    expect(p.stdout).to.match(/^\s+nodeName\s+<string> -required-$/m);
  });

  it('explain pods lists the top-level fields, marking spec required', async function () {
    const r = expectOk(await kubectl('explain', 'pods'), 'kubectl explain pods');
    expect(r.stdout).to.include('the unit cell schedules');
    expect(r.stdout).to.match(/^\s+spec\s+<PodSpec> -required-$/m);
    expect(r.stdout).to.match(/^\s+metadata\s+<ObjectMeta>$/m);
  });

  it('explain works for every served kind', async function () {
    for (const res of RESOURCES) {
      const name = res.group === '' ? res.resource : `${res.resource}.${res.group}`;
      const r = expectOk(await kubectl('explain', name), `kubectl explain ${name}`);
      expect(r.stdout, name).to.match(new RegExp(`^KIND:\\s+${res.kind}$`, 'm'));
      expect(r.stdout, name).to.match(new RegExp(`^VERSION:\\s+${res.version}$`, 'm'));
      if (res.group !== '') expect(r.stdout, name).to.match(new RegExp(`^GROUP:\\s+${res.group.replace(/\./g, '\\.')}$`, 'm'));
      expect(r.stdout, name).to.match(/^FIELDS:$/m);
    }
  });
});
