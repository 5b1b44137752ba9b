// Real, unmodified kubectl against the API server over real etcd (DESIGN §2: "real Kubernetes
// clients must be able to use it unchanged"). kubectl is found on PATH ($KUBECTL overrides); the
// commands used here work the same with kubectl 1.20 (Debian's kubernetes-client, what CI installs)
// and current releases.
import { expect } from 'chai';
import { writeFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { NotFoundError } from '../../shared/errors.js';
import { startTestApiServer, TEST_TOKENS, type TestApiServer } from '../harness/apiserver.js';
import { findKubectl, run, spawnStreaming, tempDir, waitFor, writeKubeconfig, expectOk, rows, type RunResult } from './helpers.js';
import { TEST_TLS_CERT, TEST_TLS_KEY } from '../harness/tls.js';

interface Meta {
  name?: string;
  namespace?: string;
  labels?: Record<string, string>;
  resourceVersion?: string;
}
interface Obj {
  metadata: Meta;
}

function podYaml(name: string, labels: Record<string, string>): string {
  const labelLines = Object.entries(labels)
    .map(([k, v]) => `    ${k}: ${v}`)
    .join('\n');
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  labels:
${labelLines}
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
}

function podObject(name: string, labels: Record<string, string> = {}) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels },
    spec: { containers: [{ name: 'main', image: 'busybox', command: ['sleep', '3600'] }] },
  };
}

function header(stdout: string): string[] {
  return (stdout.split('\n')[0] ?? '').trim().split(/\s{2,}/);
}

const kubectlBin = findKubectl();

function kubectlSuite(mode: 'no auth' | 'token auth'): void {
  describe(`kubectl against cell-apiserver on etcd (${mode})`, function () {
    this.timeout(60_000);
    let srv: TestApiServer;
    /** What kubectl talks to: the server itself, or (token auth) the TLS front of it. */
    let serverUrl: string;
    let dir: string;
    let kubeconfig: string;
    let kubectlPath: string;
    const token = mode === 'token auth' ? TEST_TOKENS.admin : undefined;
    const api = () => srv.client(token);

    /** `kubectl --kubeconfig=… ARGS`, with its own HOME and cache dir so no discovery cache leaks in. */
    const kubectl = (...args: string[]): Promise<RunResult> =>
      run(kubectlPath, [`--kubeconfig=${kubeconfig}`, `--cache-dir=${path.join(dir, 'cache')}`, ...args], { env: kubectlEnv(), cwd: dir });
    const kubectlEnv = (): NodeJS.ProcessEnv => {
      const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '', HOME: dir, LANG: 'C' };
      return env;
    };
    const file = (name: string, content: string): string => {
      const p = path.join(dir, name);
      writeFileSync(p, content);
      return p;
    };
    const getPod = (name: string, namespace = 'default') => api().get<Obj>({ resource: 'pods', namespace, name });
    const podGone = async (name: string, namespace = 'default'): Promise<boolean> => {
      try {
        await getPod(name, namespace);
        return false;
      } catch (err) {
        if (err instanceof NotFoundError) return true;
        throw err;
      }
    };

    before(async function () {
      if (!kubectlBin) {
        // CI always installs kubectl (Debian's kubernetes-client); a developer machine may lack it.
        if (process.env.CI) throw new Error('kubectl is not on PATH');
        console.warn('    (kubectl not on PATH: skipping the kubectl client tests)');
        this.skip();
      }
      kubectlPath = kubectlBin;
      // kubectl only sends a bearer token over TLS (client-go drops credentials for http://
      // servers): the token-auth run serves HTTPS.
      srv = await startTestApiServer({ backend: 'etcd', ...(token ? { auth: true, tls: { cert: TEST_TLS_CERT, key: TEST_TLS_KEY } } : {}) });
      serverUrl = srv.url;
      dir = tempDir('cell-kubectl-');
      kubeconfig = writeKubeconfig(path.join(dir, 'kubeconfig'), serverUrl, token ? { token, caCertPem: TEST_TLS_CERT } : {});
    });

    after(async function () {
      await srv?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('reports its version and the server version', async function () {
      const r = expectOk(await kubectl('version', '-o', 'json'), 'kubectl version');
      const v = JSON.parse(r.stdout) as { clientVersion?: { gitVersion?: string }; serverVersion?: { gitVersion?: string } };
      expect(v.clientVersion?.gitVersion).to.match(/^v1\./);
      expect(v.serverVersion?.gitVersion).to.match(/cell/);
    });

    it('api-resources lists pods, nodes, podgroups and nodeallocations', async function () {
      const r = expectOk(await kubectl('api-resources'), 'kubectl api-resources');
      // Names repeat across groups (metrics.k8s.io has its own pods and nodes): the core row comes first.
      const byName = new Map<string, string[]>();
      for (const cols of rows(r.stdout)) if (!byName.has(cols[0]!)) byName.set(cols[0]!, cols);
      expect(rows(r.stdout).filter((cols) => cols.includes('metrics.k8s.io/v1beta1')).map((cols) => cols[0]).sort()).to.deep.equal(['nodes', 'pods']);
      for (const name of ['pods', 'nodes', 'namespaces', 'events', 'leases', 'podgroups', 'nodeallocations']) {
        expect(byName.has(name), `api-resources should list ${name}:\n${r.stdout}`).to.equal(true);
      }
      expect(byName.get('pods')).to.include('Pod');
      expect(byName.get('pods')).to.include('v1');
      expect(byName.get('podgroups')).to.include('scheduling.x-k8s.io/v1alpha1');
      expect(byName.get('nodeallocations')).to.include('scheduling.cell.dev/v1alpha1');
      // Subresources are not resource types of their own.
      expect(byName.has('pods/binding')).to.equal(false);
    });

    it('get pods on an empty namespace says there are none', async function () {
      expectOk(await kubectl('create', 'namespace', 'empty-ns'), 'kubectl create namespace');
      const r = expectOk(await kubectl('get', 'pods', '-n', 'empty-ns'), 'kubectl get pods');
      expect(r.stdout.trim()).to.equal('');
      expect(r.stderr).to.match(/No resources found in empty-ns namespace/);
    });

    it('apply -f creates a pod, and get pods shows it Pending in READY/STATUS columns', async function () {
      const podFile = file('web.yaml', podYaml('web', { app: 'web' }));
      const r = expectOk(await kubectl('apply', '-f', podFile), 'kubectl apply');
      expect(r.stdout.trim()).to.equal('pod/web created');
      const pod = await getPod('web');
      expect(pod.metadata.labels).to.deep.equal({ app: 'web' });

      const g = expectOk(await kubectl('get', 'pods'), 'kubectl get pods');
      expect(header(g.stdout)).to.deep.equal(['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE']);
      const [row, ...others] = rows(g.stdout);
      expect(others).to.deep.equal([]);
      expect(row?.slice(0, 4)).to.deep.equal(['web', '0/1', 'Pending', '0']);
      expect(row?.[4]).to.match(/^\d+s$/);
    });

    it('get pods -o wide adds the IP, NODE and NOMINATED NODE columns', async function () {
      const g = expectOk(await kubectl('get', 'pods', '-o', 'wide'), 'kubectl get pods -o wide');
      const h = header(g.stdout);
      expect(h.slice(0, 5)).to.deep.equal(['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE']);
      expect(h).to.include.members(['IP', 'NODE', 'NOMINATED NODE']);
      const row = rows(g.stdout)[0] ?? [];
      expect(row[0]).to.equal('web');
      expect(row[h.indexOf('NODE')]).to.equal('<none>');
    });

    it('get pod -o yaml / -o json return the object', async function () {
      const r = expectOk(await kubectl('get', 'pod', 'web', '-o', 'json'), 'kubectl get -o json');
      const obj = JSON.parse(r.stdout) as Obj & { kind?: string; apiVersion?: string };
      expect(obj.kind).to.equal('Pod');
      expect(obj.apiVersion).to.equal('v1');
      expect(obj.metadata.name).to.equal('web');
      const y = expectOk(await kubectl('get', 'pod', 'web', '-o', 'yaml'), 'kubectl get -o yaml');
      expect(y.stdout).to.match(/^kind: Pod$/m);
    });

    it('label pod adds a label that jsonpath reads back', async function () {
      const r = expectOk(await kubectl('label', 'pod', 'web', 'tier=x'), 'kubectl label');
      expect(r.stdout.trim()).to.equal('pod/web labeled');
      const j = expectOk(await kubectl('get', 'pod', 'web', '-o', 'jsonpath={.metadata.labels.tier}'), 'kubectl get -o jsonpath');
      expect(j.stdout).to.equal('x');
      expect((await getPod('web')).metadata.labels).to.deep.equal({ app: 'web', tier: 'x' });
    });

    it('apply -f the same file again is "unchanged" and writes nothing', async function () {
      const before = await getPod('web');
      const r = expectOk(await kubectl('apply', '-f', path.join(dir, 'web.yaml')), 'kubectl apply (again)');
      expect(r.stdout.trim()).to.equal('pod/web unchanged');
      const after = await getPod('web');
      expect(after.metadata.resourceVersion).to.equal(before.metadata.resourceVersion);
    });

    it('apply -f a modified file is "configured" and the change is visible', async function () {
      const podFile = file('web.yaml', podYaml('web', { app: 'web-v2' }));
      const r = expectOk(await kubectl('apply', '-f', podFile), 'kubectl apply (modified)');
      expect(r.stdout.trim()).to.equal('pod/web configured');
      // The label set by `kubectl label` is not in the file, and apply leaves it alone.
      expect((await getPod('web')).metadata.labels).to.deep.equal({ app: 'web-v2', tier: 'x' });
      const j = expectOk(await kubectl('get', 'pod', 'web', '-o', 'jsonpath={.metadata.labels.app}'), 'kubectl get -o jsonpath');
      expect(j.stdout).to.equal('web-v2');
      const l = expectOk(await kubectl('get', 'pods', '-l', 'app=web-v2', '-o', 'name'), 'kubectl get -l');
      expect(l.stdout.trim()).to.equal('pod/web');
      const none = expectOk(await kubectl('get', 'pods', '-l', 'app=web', '-o', 'name'), 'kubectl get -l (no match)');
      expect(none.stdout.trim()).to.equal('');
    });

    it('get nodes shows Ready for a node whose Ready condition is True', async function () {
      const node = (name: string, ready: 'True' | 'False') => ({
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name, labels: { 'node-role.kubernetes.io/worker': '' } },
        spec: {},
        status: {
          capacity: { cpu: '4', memory: '8Gi', pods: '110' },
          allocatable: { cpu: '4', memory: '8Gi', pods: '110' },
          conditions: [{ type: 'Ready', status: ready, reason: ready === 'True' ? 'AgentReady' : 'AgentNotReady' }],
          nodeInfo: { kubeletVersion: 'cell-agent/test' },
        },
      });
      await api().create({ resource: 'nodes' }, node('node-a', 'True'));
      await api().create({ resource: 'nodes' }, node('node-b', 'False'));
      const r = expectOk(await kubectl('get', 'nodes'), 'kubectl get nodes');
      expect(header(r.stdout)).to.deep.equal(['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION']);
      const byName = new Map(rows(r.stdout).map((cols) => [cols[0], cols]));
      expect(byName.get('node-a')?.slice(0, 3)).to.deep.equal(['node-a', 'Ready', 'worker']);
      expect(byName.get('node-a')?.[4]).to.equal('cell-agent/test');
      expect(byName.get('node-b')?.slice(0, 2)).to.deep.equal(['node-b', 'NotReady']);
      // Short name from discovery.
      const no = expectOk(await kubectl('get', 'no', 'node-a', '-o', 'name'), 'kubectl get no');
      expect(no.stdout.trim()).to.equal('node/node-a');
    });

    it('get pods -w streams additions, changes and deletions', async function () {
      const w = spawnStreaming(kubectlPath, [`--kubeconfig=${kubeconfig}`, `--cache-dir=${path.join(dir, 'cache')}`, 'get', 'pods', '-w'], {
        env: kubectlEnv(),
        cwd: dir,
      });
      try {
        // Complete lines only: kubectl writes its table cell by cell (one write per cell), so a
        // read can end mid-line, even right after the header.
        const linesFor = (name: string) =>
          w
            .stdout()
            .split('\n')
            .slice(0, -1)
            .filter((l) => l.split(/\s+/)[0] === name);
        // kubectl prints the initial list, then watches from that list's resourceVersion: once the
        // row of "web" (in that list) is out, nothing written after this point can be missed.
        await waitFor(() => linesFor('web').length >= 1, 'kubectl get -w to print the initial list (the row of pod "web")');
        expect(w.stdout()).to.match(/^NAME\s+READY\s+STATUS/);
        expect(linesFor('web')).to.have.length(1);

        await api().create({ resource: 'pods', namespace: 'default' }, podObject('watched', { app: 'w' }));
        await waitFor(() => linesFor('watched').length >= 1, 'the ADDED line for pod "watched"');
        expect(linesFor('watched')[0]).to.match(/^watched\s+0\/1\s+Pending\s+0\s+/);

        await api().patch({ resource: 'pods', namespace: 'default', name: 'watched' }, { metadata: { labels: { step: 'two' } } });
        await waitFor(() => linesFor('watched').length >= 2, 'the MODIFIED line for pod "watched"');

        await api().delete({ resource: 'pods', namespace: 'default', name: 'watched' });
        await waitFor(() => linesFor('watched').length >= 3, 'the DELETED line for pod "watched"');
        expect(w.child.exitCode, `kubectl get -w exited early: ${w.stderr()}`).to.equal(null);
      } finally {
        await w.stop();
      }
      expect(w.stderr()).to.not.match(/error/i);
    });

    it('delete pod removes an unbound pod at once', async function () {
      await api().create({ resource: 'pods', namespace: 'default' }, podObject('doomed'));
      const started = Date.now();
      const r = expectOk(await kubectl('delete', 'pod', 'doomed'), 'kubectl delete pod');
      expect(r.stdout.trim()).to.equal('pod "doomed" deleted');
      // No graceful wait for an unbound pod: kubectl's wait for the deletion ends immediately.
      expect(Date.now() - started).to.be.below(10_000);
      expect(await podGone('doomed')).to.equal(true);
      const g = await kubectl('get', 'pod', 'doomed');
      expect(g.code).to.not.equal(0);
      expect(g.stderr).to.match(/NotFound|not found/);
    });

    it('delete -f deletes what the file names', async function () {
      const multi = file('two.yaml', `${podYaml('one', { batch: 'b' })}---\n${podYaml('two', { batch: 'b' })}`);
      const a = expectOk(await kubectl('apply', '-f', multi), 'kubectl apply (two pods)');
      expect(a.stdout.trim().split('\n').sort()).to.deep.equal(['pod/one created', 'pod/two created']);
      const r = expectOk(await kubectl('delete', '-f', multi), 'kubectl delete -f');
      expect(r.stdout.trim().split('\n').sort()).to.deep.equal(['pod "one" deleted', 'pod "two" deleted']);
      expect(await podGone('one')).to.equal(true);
      expect(await podGone('two')).to.equal(true);
      const d = expectOk(await kubectl('delete', '-f', path.join(dir, 'web.yaml')), 'kubectl delete -f web.yaml');
      expect(d.stdout.trim()).to.equal('pod "web" deleted');
      expect(await podGone('web')).to.equal(true);
    });

    it('get ns lists the bootstrap namespaces and the one created', async function () {
      const r = expectOk(await kubectl('get', 'ns'), 'kubectl get ns');
      expect(header(r.stdout)).to.deep.equal(['NAME', 'STATUS', 'AGE']);
      const byName = new Map(rows(r.stdout).map((cols) => [cols[0], cols]));
      for (const ns of ['default', 'kube-system', 'kube-node-lease', 'empty-ns']) {
        expect(byName.get(ns)?.[1], `namespace ${ns} in:\n${r.stdout}`).to.equal('Active');
      }
    });

    it('get podgroups shows a PodGroup created through the API', async function () {
      await api().create(
        { group: 'scheduling.x-k8s.io', version: 'v1alpha1', resource: 'podgroups', namespace: 'default' },
        {
          apiVersion: 'scheduling.x-k8s.io/v1alpha1',
          kind: 'PodGroup',
          metadata: { name: 'gang' },
          spec: { minMember: 3, scheduleTimeoutSeconds: 60 },
        },
      );
      const r = expectOk(await kubectl('get', 'podgroups'), 'kubectl get podgroups');
      const h = header(r.stdout);
      expect(h[0]).to.equal('NAME');
      expect(h).to.include('MINMEMBER');
      const row = rows(r.stdout)[0] ?? [];
      expect(row[0]).to.equal('gang');
      expect(row[h.indexOf('MINMEMBER')]).to.equal('3');
      const short = expectOk(await kubectl('get', 'pg', 'gang', '-o', 'jsonpath={.spec.minMember}'), 'kubectl get pg');
      expect(short.stdout).to.equal('3');
    });

    it('create configmap / secret generic make what kubectl describes and decodes', async function () {
      const envFile = file('app.env', 'MODE=fast\nLEVEL=3\nEXTRA=yes\n');
      expectOk(await kubectl('create', 'configmap', 'app', `--from-env-file=${envFile}`), 'create configmap');
      expectOk(await kubectl('create', 'secret', 'generic', 'db', '--from-literal=password=s3cret', '--type=Opaque'), 'create secret');
      const cms = expectOk(await kubectl('get', 'cm', 'app'), 'get cm');
      expect(header(cms.stdout)).to.deep.equal(['NAME', 'DATA', 'AGE']);
      expect(rows(cms.stdout)[0]?.slice(0, 2)).to.deep.equal(['app', '3']);
      const secrets = expectOk(await kubectl('get', 'secrets', 'db'), 'get secrets');
      expect(header(secrets.stdout)).to.deep.equal(['NAME', 'TYPE', 'DATA', 'AGE']);
      expect(rows(secrets.stdout)[0]?.slice(0, 3)).to.deep.equal(['db', 'Opaque', '1']);
      const pw = expectOk(await kubectl('get', 'secret', 'db', '-o', 'jsonpath={.data.password}'), 'jsonpath');
      expect(Buffer.from(pw.stdout, 'base64').toString()).to.equal('s3cret');
      // `describe secret` shows sizes, never the values.
      const described = expectOk(await kubectl('describe', 'secret', 'db'), 'describe secret');
      expect(described.stdout).to.match(/password:\s+6 bytes/);
      expect(described.stdout).to.not.include('s3cret');
      // Server-side validation with its field: a key kubectl itself does not check.
      const bad = await kubectl('create', 'configmap', 'bad', '--from-literal=..x=1');
      expect(bad.code).to.not.equal(0);
    });

    it('create priorityclass, and a pod naming it gets its priority; get pc shows the system classes too', async function () {
      expectOk(await kubectl('create', 'priorityclass', 'urgent', '--value=5000', '--description=page someone', '--preemption-policy=Never'), 'create priorityclass');
      const pcs = expectOk(await kubectl('get', 'pc'), 'get pc');
      expect(header(pcs.stdout)).to.deep.equal(['NAME', 'VALUE', 'GLOBAL-DEFAULT', 'AGE', 'PREEMPTIONPOLICY']);
      const byName = new Map(rows(pcs.stdout).map((r) => [r[0], r]));
      expect(byName.get('urgent')?.slice(1, 3)).to.deep.equal(['5000', 'false']);
      expect(byName.get('urgent')?.[4]).to.equal('Never');
      expect(byName.get('system-node-critical')?.[1]).to.equal('2000001000');
      const manifest = { ...podObject('urgent-pod'), spec: { ...podObject('urgent-pod').spec, priorityClassName: 'urgent' } };
      expectOk(await kubectl('apply', '-f', file('urgent-pod.json', JSON.stringify(manifest))), 'apply a pod naming the class');
      const got = expectOk(await kubectl('get', 'pod', 'urgent-pod', '-o', 'jsonpath={.spec.priority} {.spec.preemptionPolicy}'), 'jsonpath');
      expect(got.stdout).to.equal('5000 Never');
      const missing = { ...podObject('lost-pod'), spec: { ...podObject('lost-pod').spec, priorityClassName: 'no-such-class' } };
      const refused = await kubectl('apply', '-f', file('lost-pod.json', JSON.stringify(missing)));
      expect(refused.code).to.not.equal(0);
      expect(refused.stderr).to.contain('no PriorityClass with name no-such-class was found');
    });

    it('a LimitRange applied with kubectl fills in what kubectl run leaves out; get limits and describe show it', async function () {
      const range = { apiVersion: 'v1', kind: 'LimitRange', metadata: { name: 'defaults' }, spec: { limits: [{ type: 'Container', default: { cpu: '500m' }, defaultRequest: { cpu: '100m' }, max: { cpu: '2' } }] } };
      expectOk(await kubectl('apply', '-f', file('limits.json', JSON.stringify(range))), 'apply limitrange');
      const listed = expectOk(await kubectl('get', 'limits'), 'get limits');
      expect(header(listed.stdout)).to.deep.equal(['NAME', 'CREATED AT']);
      expect(rows(listed.stdout)[0]?.[0]).to.equal('defaults');
      const described = expectOk(await kubectl('describe', 'limitrange', 'defaults'), 'describe limitrange');
      expect(described.stdout).to.match(/Container\s+cpu\s+-\s+2\s+100m\s+500m\s+-/);
      expectOk(await kubectl('run', 'bare', '--image=busybox', '--restart=Never', '--command', '--', 'sleep', '3600'), 'kubectl run');
      const got = expectOk(await kubectl('get', 'pod', 'bare', '-o', 'jsonpath={.spec.containers[0].resources.requests.cpu} {.spec.containers[0].resources.limits.cpu}'), 'jsonpath');
      expect(got.stdout).to.equal('100m 500m');
      const refused = await kubectl('run', 'greedy', '--image=busybox', '--restart=Never', '--overrides={"spec":{"containers":[{"name":"greedy","image":"busybox","resources":{"limits":{"cpu":"4"}}}]}}');
      expect(refused.code).to.not.equal(0);
      expect(refused.stderr).to.contain('maximum cpu usage per Container is 2, but limit is 4');
      expectOk(await kubectl('delete', 'limitrange', 'defaults'), 'delete limitrange');
    });

    it('get nodeallocations works (read-only resource)', async function () {
      const r = expectOk(await kubectl('get', 'nodeallocations'), 'kubectl get nodeallocations');
      expect(r.code).to.equal(0);
    });

    it('custom resources: a CRD applied with kubectl becomes a kind kubectl applies, lists with its printer columns, explains, scales (within its CEL rule) and deletes', async function () {
      const crd = file(
        'crd.yaml',
        `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gizmos.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: gizmos, singular: gizmo, kind: Gizmo, shortNames: [gz]}
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
      scale: {specReplicasPath: .spec.replicas, statusReplicasPath: .status.replicas}
    additionalPrinterColumns:
    - {name: Size, type: integer, jsonPath: .spec.size}
    - {name: Color, type: string, jsonPath: .spec.color}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [size]
            x-kubernetes-validations:
            - {rule: "!has(self.replicas) || self.replicas <= self.size * 10", message: at most ten replicas per size}
            properties:
              size: {type: integer, minimum: 1, description: How big the gizmo is.}
              color: {type: string, default: red}
              replicas: {type: integer}
          status:
            type: object
            properties:
              replicas: {type: integer}
`,
      );
      expect(expectOk(await kubectl('apply', '-f', crd), 'kubectl apply crd').stdout.trim()).to.equal('customresourcedefinition.apiextensions.k8s.io/gizmos.example.com created');
      expectOk(await kubectl('wait', '--for', 'condition=established', '--timeout=20s', 'crd/gizmos.example.com'), 'kubectl wait established');
      const w = file('gizmo.yaml', 'apiVersion: example.com/v1\nkind: Gizmo\nmetadata:\n  name: w1\nspec:\n  size: 3\n  replicas: 1\n');
      expect(expectOk(await kubectl('apply', '-f', w), 'kubectl apply gizmo').stdout.trim()).to.equal('gizmo.example.com/w1 created');
      const g = expectOk(await kubectl('get', 'gz'), 'kubectl get gz');
      expect(header(g.stdout)).to.deep.equal(['NAME', 'SIZE', 'COLOR']);
      expect(rows(g.stdout)).to.deep.equal([['w1', '3', 'red']]);
      const bad = await kubectl('apply', '-f', file('bad.yaml', 'apiVersion: example.com/v1\nkind: Gizmo\nmetadata:\n  name: w2\nspec:\n  size: 0\n'));
      expect(bad.code).to.not.equal(0);
      expect(bad.stderr).to.match(/spec\.size/);
      const explain = expectOk(await kubectl('explain', 'gizmos.spec.size'), 'kubectl explain');
      expect(explain.stdout).to.contain('How big the gizmo is.');
      expectOk(await kubectl('scale', 'gizmo/w1', '--replicas=3'), 'kubectl scale');
      expect(expectOk(await kubectl('get', 'gizmo', 'w1', '-o', 'jsonpath={.spec.replicas}'), 'jsonpath').stdout).to.equal('3');
      // The definition's CEL rule holds on every path: scale, and apply.
      const tooMany = await kubectl('scale', 'gizmo/w1', '--replicas=31');
      expect(tooMany.code).to.not.equal(0);
      expect(tooMany.stderr).to.contain('spec: Invalid value: "object": at most ten replicas per size');
      const overApplied = await kubectl('apply', '-f', file('over.yaml', 'apiVersion: example.com/v1\nkind: Gizmo\nmetadata:\n  name: w3\nspec:\n  size: 1\n  replicas: 11\n'));
      expect(overApplied.code).to.not.equal(0);
      expect(overApplied.stderr).to.contain('at most ten replicas per size');
      expect(expectOk(await kubectl('get', 'gizmo', 'w1', '-o', 'jsonpath={.spec.replicas}'), 'jsonpath').stdout).to.equal('3');
      expectOk(await kubectl('delete', 'crd', 'gizmos.example.com'), 'kubectl delete crd');
      const gone = await kubectl('get', 'gizmos');
      expect(gone.code).to.not.equal(0);
      // kubectl's discovery cache may still name the kind: the server then answers NotFound.
      expect(gone.stderr).to.match(/the server doesn't have a resource type "gizmos"|NotFound/);
    });

    it('an unknown resource type fails with a message naming it', async function () {
      const r = await kubectl('get', 'widgets');
      expect(r.code).to.not.equal(0);
      expect(r.stderr).to.match(/the server doesn't have a resource type "widgets"/);
    });

    if (mode === 'token auth') {
      it('a bad token is refused as Unauthorized', async function () {
        const bad = writeKubeconfig(path.join(dir, 'bad-kubeconfig'), serverUrl, { token: 'not-a-token', caCertPem: TEST_TLS_CERT });
        const r = await run(kubectlPath, [`--kubeconfig=${bad}`, `--cache-dir=${path.join(dir, 'cache-bad')}`, 'get', 'pods'], {
          env: kubectlEnv(),
          cwd: dir,
        });
        expect(r.code).to.not.equal(0);
        expect(r.stderr).to.match(/You must be logged in to the server/);
      });

      it('a viewer token can read but not write (Forbidden)', async function () {
        const viewer = writeKubeconfig(path.join(dir, 'viewer-kubeconfig'), serverUrl, { token: TEST_TOKENS.viewer, caCertPem: TEST_TLS_CERT });
        const base = [`--kubeconfig=${viewer}`, `--cache-dir=${path.join(dir, 'cache-viewer')}`];
        const g = await run(kubectlPath, [...base, 'get', 'pods'], { env: kubectlEnv(), cwd: dir });
        expect(g.code, g.stderr).to.equal(0);
        const podFile = file('viewer.yaml', podYaml('from-viewer', { app: 'v' }));
        const c = await run(kubectlPath, [...base, 'apply', '-f', podFile], { env: kubectlEnv(), cwd: dir });
        expect(c.code).to.not.equal(0);
        expect(c.stderr).to.match(/forbidden/i);
        expect(await podGone('from-viewer')).to.equal(true);
      });
    }
  });
}

kubectlSuite('no auth');
kubectlSuite('token auth');
