// cellctl config / kubeconfig handling / tokens / completion / logs, as a process.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { expect } from 'chai';
import YAML from 'yaml';
import { startTestApiServer, TEST_TOKENS, type TestApiServer } from '../harness/apiserver.js';
import { cellctl, cellctlRunning, createNode, isolatedEnv, podManifest, runProcess, tempDir, waitFor, writeKubeconfig } from './helpers.js';

describe('cellctl config, auth, completion, logs', function () {
  this.timeout(60_000);
  let api: TestApiServer;
  let dir: string;
  let kubeconfig: string;

  before(async () => {
    api = await startTestApiServer({ backend: 'etcd', auth: true });
    await api.client(TEST_TOKENS.admin).create({ resource: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'dev' } });
    await api.client(TEST_TOKENS.admin).create({ resource: 'pods', namespace: 'dev' }, podManifest('dev-pod', { namespace: 'dev' }));
    dir = tempDir();
    kubeconfig = writeKubeconfig(path.join(dir, 'config'), [
      { name: 'admin', server: api.url, token: TEST_TOKENS.admin },
      { name: 'viewer-dev', server: api.url, token: TEST_TOKENS.viewer, namespace: 'dev' },
      { name: 'nobody', server: api.url, token: 'wrong-token' },
    ]);
  });
  after(async () => api?.close());

  it('--kubeconfig and $CELLCONFIG: the current context gives server, token and namespace; use-context switches', async () => {
    const env = isolatedEnv(dir);
    const [current, view] = await Promise.all([cellctl([`--kubeconfig=${kubeconfig}`, 'config', 'current-context'], { env }), cellctl([`--kubeconfig=${kubeconfig}`, 'config', 'view'], { env })]);
    expect(current.stdout).to.equal('admin\n');
    const shown = YAML.parse(view.stdout) as { users: { user: { token?: string } }[]; 'current-context': string };
    expect(shown['current-context']).to.equal('admin');
    expect(shown.users.map((u) => u.user.token)).to.deep.equal(['REDACTED', 'REDACTED', 'REDACTED']);
    expect(view.stdout).not.to.include(TEST_TOKENS.admin);

    const switched = await cellctl([`--kubeconfig=${kubeconfig}`, 'config', 'use-context', 'viewer-dev'], { env });
    expect(switched.stdout).to.equal('Switched to context "viewer-dev".\n');
    expect((JSON.parse(JSON.stringify(YAML.parse(readFileSync(kubeconfig, 'utf8')))) as { 'current-context': string })['current-context']).to.equal('viewer-dev');

    // Through $CELLCONFIG now: the viewer context's namespace (dev) and token apply.
    const viaEnv = isolatedEnv(dir, { CELLCONFIG: kubeconfig });
    const [pods, denied, missing] = await Promise.all([
      cellctl(['get', 'pods', '-o', 'name'], { env: viaEnv }),
      cellctl(['create', '-f', '-'], { env: viaEnv, input: JSON.stringify(podManifest('nope', { namespace: 'dev' })) }),
      cellctl(['config', 'use-context', 'does-not-exist'], { env: viaEnv }),
    ]);
    expect(pods.stdout).to.equal('pod/dev-pod\n');
    expect(denied.code).to.equal(1);
    expect(denied.stderr).to.match(/^error: .*forbidden.*\n$/i);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.equal('error: no context exists with the name: "does-not-exist"\n');

    // --context picks another context for one command without switching.
    const other = await cellctl(['--context=admin', 'create', '-f', '-'], { env: viaEnv, input: JSON.stringify(podManifest('by-admin')) });
    expect(other.stdout, other.stderr).to.equal('pod/by-admin created\n');
    const back = await cellctl(['config', 'use-context', 'admin'], { env: viaEnv });
    expect(back.code).to.equal(0);
    const contexts = await cellctl(['config', 'get-contexts'], { env: viaEnv });
    expect(contexts.stdout).to.match(/^CURRENT +NAME +CLUSTER +AUTHINFO +NAMESPACE\n\* +admin +admin-cluster +admin-user\n +viewer-dev +viewer-dev-cluster +viewer-dev-user +dev\n/);
  });

  it('flags beat the kubeconfig: --token, --server, -n', async () => {
    const env = isolatedEnv(dir, { CELLCONFIG: kubeconfig });
    const [bad, flagToken, noConfig] = await Promise.all([
      cellctl(['--token=wrong', 'get', 'pods'], { env }),
      cellctl([`--server=${api.url}`, `--token=${TEST_TOKENS.viewer}`, '-n', 'dev', 'get', 'pods', '-o', 'name'], { env: isolatedEnv(tempDir()) }),
      cellctl(['get', 'pods'], { env: isolatedEnv(tempDir()) }),
    ]);
    expect(bad.code).to.equal(1);
    expect(bad.stderr).to.match(/^error: You must be logged in to the server \(Unauthorized\)/);
    expect(flagToken.stdout).to.equal('pod/dev-pod\n');
    expect(noConfig.code).to.equal(1);
    expect(noConfig.stderr).to.match(/^error: no server configured: pass --server=URL or --kubeconfig=FILE, or set \$CELLCONFIG \(.*\.cell\/config does not exist\)\n$/);
  });

  it('config set-context --current --namespace changes the default namespace, keeping the rest of the file', async () => {
    const file = path.join(dir, 'edited.yaml');
    writeFileSync(file, `# my cluster\napiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: ${api.url}\nusers:\n- name: u\n  user:\n    token: ${TEST_TOKENS.admin}\ncontexts:\n- name: main\n  context:\n    cluster: c\n    user: u\ncurrent-context: main\n`);
    const env = isolatedEnv(dir);
    const set = await cellctl([`--kubeconfig=${file}`, 'config', 'set-context', '--current', '--namespace=dev'], { env });
    expect(set.stdout).to.equal('Context "main" modified.\n');
    const text = readFileSync(file, 'utf8');
    expect(text).to.match(/^# my cluster\n/);
    expect(text).to.include('namespace: dev');
    const pods = await cellctl([`--kubeconfig=${file}`, 'get', 'pods', '-o', 'name'], { env });
    expect(pods.stdout).to.equal('pod/dev-pod\n');
  });

  it('completion bash|zsh prints a script naming the commands and resource types', async () => {
    const env = isolatedEnv(dir);
    const [bash, zsh, fish] = await Promise.all([cellctl(['completion', 'bash'], { env }), cellctl(['completion', 'zsh'], { env }), cellctl(['completion', 'fish'], { env })]);
    expect(bash.code).to.equal(0);
    expect(bash.stdout).to.include('complete -o default -F _cellctl cellctl');
    for (const word of ['get', 'describe', 'apply', 'drain', 'podgroups', 'nodeallocations', '--all-namespaces', '--grace-period']) expect(bash.stdout).to.include(word);
    expect(zsh.stdout).to.match(/^#compdef cellctl\n/);
    expect(zsh.stdout).to.include('bashcompinit');
    expect(fish.code).to.equal(1);
    expect(fish.stderr).to.equal('error: unsupported shell type "fish" (supported: bash, zsh)\n');
  });

  it('audit lists violations and exits 1 (stub API server: a real one never violates)', async () => {
    const report = {
      kind: 'AllocationAudit',
      revision: 42,
      nodes: 2,
      pods: 3,
      boundPods: 3,
      ok: false,
      violations: [{ kind: 'OverCommitted', node: 'n1', message: 'node n1 is over-committed on cpu: requested 5, allocatable 4' }],
    };
    const stub = http.createServer((req, res) => {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify(req.url === '/audit' ? report : {}));
    });
    await new Promise<void>((r) => stub.listen(0, '127.0.0.1', () => r()));
    try {
      const r = await cellctl([`--server=http://127.0.0.1:${(stub.address() as AddressInfo).port}`, 'audit'], { env: isolatedEnv(dir) });
      expect(r.code).to.equal(1);
      expect(r.stdout).to.equal(
        'FAILED: 1 violation at revision 42: 2 nodes, 3 pods (3 bound)\n\n' +
          'KIND            NODE   POD   MESSAGE\n' +
          'OverCommitted   n1           node n1 is over-committed on cpu: requested 5, allocatable 4\n',
      );
    } finally {
      await new Promise<void>((r) => stub.close(() => r()));
    }
  });

  it('colours only on a terminal, and not with NO_COLOR', async function () {
    // `script` (util-linux) gives the command a pseudo-terminal; without it there is no TTY to test.
    const script = ['/usr/bin/script', '/bin/script'].find((p) => existsSync(p));
    if (!script) this.skip();
    const cmd = `${process.execPath} --import tsx cli/main.ts --server=${api.url} --token=${TEST_TOKENS.admin} get pod nope`;
    const [tty, noColor] = await Promise.all([
      runProcess(script!, ['-qec', cmd, '/dev/null'], { env: isolatedEnv(dir, { TERM: 'xterm' }) }),
      runProcess(script!, ['-qec', cmd, '/dev/null'], { env: isolatedEnv(dir, { TERM: 'xterm', NO_COLOR: '1' }) }),
    ]);
    expect(tty.stdout).to.include('\u001b[31merror:\u001b[39m pods "nope" not found');
    expect(noColor.stdout).to.include('error: pods "nope" not found');
    expect(noColor.stdout).not.to.include('\u001b[');
  });

  it('logs: through the API server\'s log proxy to the node\'s agent (a stub agent), with -c, --tail, --previous, -f', async () => {
    // A stand-in for the agent's log server: the API server proxies GET .../pods/{name}/log to it.
    const requests: string[] = [];
    const agent = http.createServer((req, res) => {
      requests.push(req.url ?? '');
      const url = new URL(req.url ?? '', 'http://agent');
      const container = url.pathname.split('/').pop();
      res.setHeader('Content-Type', 'text/plain');
      res.write(`line 1 from ${container}\n`);
      if (url.searchParams.get('follow') === 'true') {
        const timer = setInterval(() => res.write('tick\n'), 100);
        req.on('close', () => clearInterval(timer));
      } else res.end('line 2\n');
    });
    await new Promise<void>((r) => agent.listen(0, '127.0.0.1', () => r()));
    const admin = api.client(TEST_TOKENS.admin);
    await createNode(admin, 'log-node', { cpu: '2', memory: '2Gi', pods: '10' });
    await admin.patch(
      { resource: 'nodes', name: 'log-node', subresource: 'status' },
      { status: { addresses: [{ type: 'InternalIP', address: '127.0.0.1' }], daemonEndpoints: { kubeletEndpoint: { Port: (agent.address() as AddressInfo).port } } } },
      'merge',
    );
    const pod = podManifest('logger');
    (pod.spec as { containers: unknown[] }).containers.push({ name: 'sidecar', image: 'x' });
    await admin.create({ resource: 'pods', namespace: 'default' }, pod);
    await admin.create({ resource: 'pods', namespace: 'default', name: 'logger', subresource: 'binding' }, { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'logger' }, target: { kind: 'Node', name: 'log-node' } });
    await admin.create({ resource: 'pods', namespace: 'default' }, podManifest('unbound'));
    const env = isolatedEnv(dir);
    const base = [`--server=${api.url}`, `--token=${TEST_TOKENS.admin}`];
    try {
      const [plain, sidecar, missing, badContainer, unbound] = await Promise.all([
        cellctl([...base, 'logs', 'logger', '--tail=5'], { env }),
        cellctl([...base, 'logs', 'pod/logger', '-c', 'sidecar', '--previous'], { env }),
        cellctl([...base, 'logs', 'missing'], { env }),
        cellctl([...base, 'logs', 'logger', '-c', 'nope'], { env }),
        cellctl([...base, 'logs', 'unbound'], { env }),
      ]);
      expect(plain.stdout, plain.stderr).to.equal('line 1 from main\nline 2\n');
      expect(plain.stderr).to.equal('Defaulted container "main" out of: main, sidecar\n');
      expect(sidecar.stdout).to.equal('line 1 from sidecar\nline 2\n');
      expect(requests.some((u) => u.startsWith('/containerLogs/default/logger/main?') && u.includes('tailLines=5'))).to.equal(true);
      expect(requests.some((u) => u.startsWith('/containerLogs/default/logger/sidecar?') && u.includes('previous=true'))).to.equal(true);
      expect(missing.code).to.equal(1);
      expect(missing.stderr).to.equal('error: pods "missing" not found\n');
      expect(badContainer.stderr).to.equal('error: container nope is not valid for pod logger (choose one of: main, sidecar)\n');
      expect(unbound.code).to.equal(1);
      expect(unbound.stderr).to.equal('error: pod unbound does not have a host assigned\n');

      const follow = cellctlRunning([...base, 'logs', '-f', 'logger', '-c', 'main'], env);
      await waitFor(() => follow.stdout().split('tick').length > 2, 'followed output');
      expect(await follow.interrupt()).to.equal(0);
      expect(follow.stdout()).to.match(/^line 1 from main\n(tick\n)+/);
      expect(follow.stderr()).to.equal('');
    } finally {
      agent.closeAllConnections();
      await new Promise<void>((r) => agent.close(() => r()));
    }
  });
});
