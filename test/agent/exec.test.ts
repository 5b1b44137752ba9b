// kubectl exec end to end: real kubectl (and the official JavaScript client) → the API server over
// TLS (real etcd, RBAC) → a real cell-agent process, which runs the command as the container's
// processes run and carries its streams in Kubernetes' channel protocol. Asserts what a user sees
// (output, errors, exit codes, stdin, a terminal, kubectl cp) and what keeps it safe: RBAC's
// `create` on pods/exec, and an agent that runs nothing an API server did not sign — not unsigned,
// not signed with another key, for another node or another command, too old, or a second time.
import { Exec, KubeConfig, type V1Status } from '@kubernetes/client-node';
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import WebSocket from 'ws';
import { AGENT_PROXY_KEY_STORAGE_KEY } from '../../apiserver/auth/agent-proxy-key.js';
import type { Pod } from '../../shared/api/core.js';
import { proxySignatureHeaders, signingKeyOf, type SigningKey } from '../../shared/proxy-signature.js';
import { TEST_TOKENS, type TestApiServer } from '../harness/apiserver.js';
import { TEST_TLS_CERT } from '../harness/tls.js';
import { findKubectl, run } from '../clients/helpers.js';
import { cellctl, isolatedEnv } from '../cli/helpers.js';
import { containerStatus, createPod, nodeOneAgentArgs, pod, processesWith, runPythonPodScript, startAgent, startStreamingCluster, tearDownAgentTest, waitFor, waitNodeReady, waitPod, type AgentProcess } from './helpers.js';

interface WsExecResult {
  /** The HTTP status when the upgrade was refused. */
  refused?: number;
  body?: string;
  protocol?: string;
  stdout: string;
  stderr: string;
  /** The final Status from the error stream. */
  status?: { status?: string; reason?: string; message?: string; details?: { causes?: { reason?: string; message?: string }[] } };
}

/** A hand-made channel-protocol client: the upgrade, stdin as one message (then v5's close), all output. */
function wsExec(url: string, o: { protocols: string[]; headers?: Record<string, string>; ca?: string; stdin?: Buffer; autoPong?: boolean }): Promise<WsExecResult> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, o.protocols, { headers: o.headers ?? {}, autoPong: o.autoPong ?? true, ...(o.ca ? { ca: o.ca } : {}) });
    const out: WsExecResult = { stdout: '', stderr: '' };
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ ...out, refused: res.statusCode ?? 0, body }));
    });
    ws.on('open', () => {
      out.protocol = ws.protocol;
      if (o.stdin) {
        ws.send(Buffer.concat([Buffer.from([0]), o.stdin]));
        if (ws.protocol === 'v5.channel.k8s.io') ws.send(Buffer.from([255, 0]));
      }
    });
    ws.on('message', (data: Buffer) => {
      const text = data.subarray(1).toString('utf8');
      if (data[0] === 1) out.stdout += text;
      else if (data[0] === 2) out.stderr += text;
      else if (data[0] === 3) out.status = JSON.parse(text) as WsExecResult['status'];
    });
    ws.on('close', () => resolve(out));
    ws.on('error', (err) => {
      // A refused upgrade is reported through unexpected-response.
      if (!/Unexpected server response/.test(err.message)) reject(err);
    });
  });
}

describe('pods/exec: kubectl exec through the API server to the agent', function () {
  this.timeout(90_000);
  let api: TestApiServer;
  let agent: AgentProcess;
  let root: string;
  let agentPort: number;
  let nodeConfig: string;
  const admin = () => api.client(TEST_TOKENS.admin);
  const kubectl = findKubectl();
  const kubeconfigs: Record<string, string> = {};

  const k = (user: keyof typeof kubeconfigs, args: string[], timeoutMs = 30_000) => run(kubectl!, ['--kubeconfig', kubeconfigs[user]!, ...args], { timeoutMs });
  const execPath = (name: string, query: string) => `/api/v1/namespaces/default/pods/${name}/exec?${query}`;

  before(async function () {
    this.timeout(60_000);
    const c = await startStreamingCluster('cell-agent-exec-', ['admin', 'viewer', 'nobody', 'node1']);
    ({ api, agent, root, nodeConfig, agentPort } = c);
    Object.assign(kubeconfigs, c.kubeconfigs);
    await createPod(admin(), pod('shell', { node: 'node-1', command: ['sleep', '600'], env: { GREETING: 'hello from the container' }, grace: 1 }));
    await createPod(admin(), pod('pair', { node: 'node-1', command: ['sleep', '600'], containers: [{ name: 'sidecar', command: ['sleep', '600'] }], grace: 1 }));
    for (const name of ['shell', 'pair']) await waitPod(admin(), name, (p) => containerStatus(p)?.ready === true, 'to run');
  });

  after(async function () {
    this.timeout(60_000);
    await tearDownAgentTest({ admin: admin(), agent, root, close: async () => api?.close() });
  });

  it('runs a command as the container runs: its environment, its directory; output, errors and the exit code come back', async function () {
    if (!kubectl) this.skip(); // no kubectl on this machine: .ci/run installs it, so CI runs this
    const r = await k('admin', ['exec', 'shell', '--', 'sh', '-c', 'echo "$GREETING"; pwd; echo "to stderr" >&2; exit 3']);
    expect(r.code, r.stderr).to.equal(3);
    const [greeting, dir] = r.stdout.trim().split('\n');
    expect(greeting).to.equal('hello from the container');
    expect(dir).to.match(/\/work$/);
    expect(dir!.startsWith(root), dir).to.equal(true);
    expect(r.stderr).to.include('to stderr');
    expect(r.stderr).to.include('command terminated with exit code 3');

    const ok = await k('admin', ['exec', 'pair', '-c', 'sidecar', '--', 'sh', '-c', 'echo $HOSTNAME']);
    expect(ok.code, ok.stderr).to.equal(0);
    expect(ok.stdout.trim()).to.equal('pair');

    const missing = await k('admin', ['exec', 'shell', '--', 'no-such-command-here']);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.include('"no-such-command-here": executable file not found');
  });

  it('passes stdin through (-i), gives a terminal the client\u2019s size (-t), and carries kubectl cp both ways', async function () {
    if (!kubectl) this.skip(); // as above
    const input = randomBytes(256 * 1024).toString('base64');
    const child = spawn(kubectl!, ['--kubeconfig', kubeconfigs.admin!, 'exec', '-i', 'shell', '--', 'sh', '-c', 'wc -c; echo done'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stdin.end(input);
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    expect(code).to.equal(0);
    expect(stdout.trim().split(/\s+/)).to.deep.equal([String(input.length), 'done']);

    // `script` gives kubectl a terminal of a known size; kubectl sends it, the command sees it.
    const tty = await run('script', ['-qec', `stty cols 123 rows 45; ${kubectl} --kubeconfig ${kubeconfigs.admin} exec -it shell -- sh -c 'stty size; test -t 0 && echo on-a-terminal; exit 4'`, '/dev/null'], { timeoutMs: 30_000 });
    expect(tty.stdout).to.include('45 123');
    expect(tty.stdout).to.include('on-a-terminal');
    expect(tty.code).to.equal(4);

    const file = path.join(root, 'payload.bin');
    writeFileSync(file, randomBytes(300 * 1024));
    const cpIn = await k('admin', ['cp', file, 'shell:copied.bin']);
    expect(cpIn.code, cpIn.stderr).to.equal(0);
    const back = path.join(root, 'back.bin');
    const cpOut = await k('admin', ['cp', 'shell:copied.bin', back]);
    expect(cpOut.code, cpOut.stderr).to.equal(0);
    expect(readFileSync(back).equals(readFileSync(file))).to.equal(true);
  });

  it('cellctl exec: output, errors, the exit code, stdin, a terminal, and the default container said', async () => {
    const ctl = (args: string[], input?: string) => cellctl(['--kubeconfig', kubeconfigs.admin!, ...args], { env: isolatedEnv(root), ...(input !== undefined ? { input } : {}) });
    const r = await ctl(['exec', 'shell', '--', 'sh', '-c', 'echo "$GREETING"; echo oops >&2; exit 9']);
    expect(r.code, r.stderr).to.equal(9);
    expect(r.stdout).to.equal('hello from the container\n');
    expect(r.stderr).to.include('oops');
    expect(r.stderr).to.include('command terminated with exit code 9');
    const piped = await ctl(['exec', '-i', 'pod/shell', '--', 'sh', '-c', 'tr a-z A-Z; echo end'], 'shout\n');
    expect(piped.code, piped.stderr).to.equal(0);
    expect(piped.stdout).to.equal('SHOUT\nend\n');
    const pair = await ctl(['exec', 'pair', '--', 'sh', '-c', 'echo $HOSTNAME']);
    expect(pair.code, pair.stderr).to.equal(0);
    expect(pair.stderr).to.include('Defaulted container "main" out of: main, sidecar');
    const wrong = await ctl(['exec', 'shell', '-c', 'nope', '--', 'true']);
    expect(wrong.code).to.equal(1);
    expect(wrong.stderr).to.include('container nope is not valid for pod shell');
    // -t without a terminal is dropped with kubectl's note; the command still runs.
    const noTty = await ctl(['exec', '-t', 'shell', '--', 'sh', '-c', 'test -t 1 || echo no-terminal']);
    expect(noTty.stdout).to.equal('no-terminal\n');
    expect(noTty.stderr).to.include('Unable to use a TTY');
    const tty = await run('script', ['-qec', `stty cols 77 rows 22; ${process.execPath} --import tsx ${path.join(process.cwd(), 'cli/main.ts')} --kubeconfig ${kubeconfigs.admin} exec -it shell -- stty size`, '/dev/null'], { timeoutMs: 30_000 });
    expect(tty.stdout).to.include('22 77');
    expect(tty.code).to.equal(0);
  });

  it('stops the command, and what it started, when the client goes away', async function () {
    if (!kubectl) this.skip(); // as above
    const marker = `sleep ${4000 + Math.floor(Math.random() * 1000)}`;
    const running = () => processesWith(marker).filter((p) => p.args === marker || p.args.startsWith(`sh -c ${marker}`));
    const child = spawn(kubectl!, ['--kubeconfig', kubeconfigs.admin!, 'exec', 'shell', '--', 'sh', '-c', `${marker} & ${marker}`], { stdio: 'ignore' });
    await waitFor(() => running().length >= 2, `the exec'd "${marker}" processes to run`, 20_000, 50);
    child.kill('SIGKILL');
    await waitFor(() => running().length === 0, `the exec'd "${marker}" processes to be gone`, 20_000, 50);

    // A client that is there but answers no ping (its peer vanished) is dropped within two intervals.
    const seconds = 5000 + Math.floor(Math.random() * 1000);
    const silent = `sleep ${seconds}`;
    const started = Date.now();
    const ended = wsExec(`${api.url.replace('https', 'wss')}${execPath('shell', `command=sleep&command=${seconds}&stdout=true`)}`, {
      protocols: ['v5.channel.k8s.io'],
      headers: { Authorization: `Bearer ${TEST_TOKENS.admin}` },
      ca: TEST_TLS_CERT,
      autoPong: false,
    });
    await waitFor(() => processesWith(silent).some((p) => p.args === silent), `"${silent}" to run`, 20_000, 50);
    await ended;
    expect(Date.now() - started).to.be.lessThan(15_000);
    await waitFor(() => !processesWith(silent).some((p) => p.args === silent), `"${silent}" to be killed`, 10_000, 50);
  });

  it('is allowed by create on pods/exec — which viewers and nodes do not have — and refuses what Kubernetes refuses', async function () {
    if (!kubectl) this.skip(); // as above
    for (const user of ['viewer', 'nobody', 'node1'] as const) {
      const r = await k(user, ['exec', 'shell', '--', 'touch', 'forbidden-was-run']);
      expect(r.code, `${user}: ${r.stderr}`).to.not.equal(0);
      expect(r.stderr).to.match(/cannot create resource "pods\/exec" in API group ""|forbidden/i);
    }
    const dir = (await k('admin', ['exec', 'shell', '--', 'pwd'])).stdout.trim();
    expect(existsSync(path.join(dir, 'forbidden-was-run'))).to.equal(false);

    // The same user may once a RoleBinding gives edit in the namespace (edit includes pods/exec).
    await admin().create({ group: 'rbac.authorization.k8s.io', version: 'v1', namespace: 'default', resource: 'rolebindings' }, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'nobody-edits', namespace: 'default' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' },
      subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'nobody' }],
    });
    const allowed = await waitFor(async () => {
      const r = await k('nobody', ['exec', 'shell', '--', 'echo', 'editor']);
      return r.code === 0 ? r : undefined;
    }, 'the editor to exec', 10_000, 200);
    expect(allowed.stdout.trim()).to.equal('editor');

    const ask = async (p: string, headers: Record<string, string> = {}, method = 'GET') => {
      return new Promise<{ status: number; body: { reason?: string; message?: string } }>((resolve, reject) => {
        const req = https.request(`${api.url}${p}`, { method, ca: TEST_TLS_CERT, headers: { Authorization: `Bearer ${TEST_TOKENS.admin}`, ...headers } }, (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (d: string) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as { reason?: string; message?: string } }));
        });
        req.on('error', reject);
        req.end();
      });
    };
    const noCommand = await ask(execPath('shell', 'stdout=true'));
    expect(noCommand).to.deep.include({ status: 400 });
    expect(noCommand.body.message).to.equal('you must specify at least 1 command');
    const noStream = await ask(execPath('shell', 'command=true'));
    expect(noStream.body.message).to.equal('you must specify at least 1 of stdin, stdout, stderr');
    const plain = await ask(execPath('shell', 'command=true&stdout=true'));
    expect(plain.status).to.equal(400);
    expect(plain.body.message).to.equal('Upgrade request required');
    const spdy = await ask(execPath('shell', 'command=true&stdout=true'), { Connection: 'Upgrade', Upgrade: 'SPDY/3.1' }, 'POST');
    expect(spdy.status).to.equal(400);
    expect(spdy.body.message).to.match(/WebSocket only/);
    // A client offering to upgrade an ordinary request (h2c) gets the ordinary answer.
    const list = await new Promise<{ status: number; kind: string }>((resolve, reject) => {
      const req = https.request(`${api.url}/api/v1/namespaces/default/pods`, { ca: TEST_TLS_CERT, headers: { Authorization: `Bearer ${TEST_TOKENS.admin}`, Connection: 'Upgrade', Upgrade: 'h2c' } }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, kind: (JSON.parse(text) as { kind: string }).kind }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(list).to.deep.equal({ status: 200, kind: 'PodList' });
    const which = await ask(execPath('pair', 'command=true&stdout=true'));
    expect(which.body.message).to.equal('a container name must be specified for pod pair, choose one of: [main sidecar]');

    await createPod(admin(), pod('finished', { node: 'node-1', command: ['true'], restartPolicy: 'Never' }));
    await waitPod(admin(), 'finished', (p) => p.status.phase === 'Succeeded', 'to succeed');
    const done = await k('admin', ['exec', 'finished', '--', 'true']);
    expect(done.stderr).to.include('cannot exec into a container in a completed pod; current phase is Succeeded');
    await createPod(admin(), pod('unbound', { command: ['true'] }));
    const unbound = await k('admin', ['exec', 'unbound', '--', 'true']);
    expect(unbound.stderr).to.include('pod unbound does not have a host assigned');
  });

  it('speaks v4.channel.k8s.io too (the official Python client), and the official JavaScript client\u2019s Exec works', async () => {
    const v4 = await wsExec(`${api.url.replace('https', 'wss')}${execPath('shell', 'command=sh&command=-c&command=head%20-c%2010%3B%20exit%207&stdin=true&stdout=true&stderr=true')}`, {
      protocols: ['v4.channel.k8s.io'],
      headers: { Authorization: `Bearer ${TEST_TOKENS.admin}` },
      ca: TEST_TLS_CERT,
      stdin: Buffer.from('through v4'),
    });
    // v4 cannot close stdin (v5 can): the command reads what it needs and exits.
    expect(v4.refused, v4.body).to.equal(undefined);
    expect(v4.protocol).to.equal('v4.channel.k8s.io');
    expect(v4.stdout).to.equal('through v4');
    expect(v4.status).to.deep.include({ status: 'Failure', reason: 'NonZeroExitCode' });
    expect(v4.status?.details?.causes).to.deep.equal([{ reason: 'ExitCode', message: '7' }]);

    // The official Python client (Debian's python3-kubernetes, which .ci/run installs) offers v4 only.
    const py = await runPythonPodScript({ api, root }, 'cell_exec.py', 'shell', ['--stdin', 'from python\n', '--', 'sh', '-c', 'read line; echo "got: $line"; echo "to stderr" >&2; exit 6']);
    expect(py.code, py.stderr).to.equal(0);
    expect(JSON.parse(py.stdout)).to.deep.equal({ stdout: 'got: from python\n', stderr: 'to stderr\n', returncode: 6 });

    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigs.admin!);
    const stdout = new PassThrough();
    let text = '';
    stdout.setEncoding('utf8').on('data', (d: string) => (text += d));
    const status = await new Promise<V1Status>((resolve, reject) => {
      new Exec(kc)
        .exec('default', 'shell', 'main', ['sh', '-c', 'echo official; exit 5'], stdout, new Writable({ write: (_c, _e, cb) => cb() }), null, false, (s) => resolve(s))
        .catch(reject);
    });
    expect(text).to.equal('official\n');
    expect(status).to.deep.include({ status: 'Failure', reason: 'NonZeroExitCode' });
    expect(status.details?.causes).to.deep.equal([{ reason: 'ExitCode', message: '5' }]);
  });

  it('on the agent, runs only what an API server signed for this node, this command, recently, once; serves logs and usage only signed', async () => {
    const stored = await api.store.get(AGENT_PROXY_KEY_STORAGE_KEY);
    const parsed = JSON.parse(stored!.value) as { kid: string; privateKeyPem: string };
    const clusterKey = signingKeyOf(parsed.kid, parsed.privateKeyPem);
    const shell = await admin().get<Pod>({ namespace: 'default', resource: 'pods', name: 'shell' });
    const dir = (await wsExecSigned(clusterKey, 'node-1', ['pwd'])).stdout.trim();
    expect(dir).to.match(/\/work$/);

    async function wsExecSigned(key: SigningKey, node: string, command: string[], o: { signedCommand?: string[]; now?: number; headers?: Record<string, string> } = {}): Promise<WsExecResult> {
      const query = (cmd: string[]) => `${cmd.map((c) => `command=${encodeURIComponent(c)}`).join('&')}&stdout=true&stderr=true&podUID=${shell.metadata.uid}`;
      const signedPath = `/exec/default/shell/main?${query(o.signedCommand ?? command)}`;
      const headers = o.headers ?? proxySignatureHeaders(key, { node, method: 'GET', path: signedPath, user: 'test' }, o.now);
      return wsExec(`ws://127.0.0.1:${agentPort}/exec/default/shell/main?${query(command)}`, { protocols: ['v5.channel.k8s.io'], headers });
    }

    const touched = (name: string) => existsSync(path.join(dir, name));
    const expectRefused = (r: WsExecResult, pattern: RegExp) => {
      expect(r.refused, JSON.stringify(r)).to.equal(401);
      expect((JSON.parse(r.body!) as { message: string }).message).to.match(pattern);
    };
    // Unsigned.
    expectRefused(await wsExecSigned(clusterKey, 'node-1', ['touch', 'unsigned'], { headers: {} }), /carries no x-cell-proxy-key-id header/);
    // Signed with a key that is not the cluster's (its id borrowed, then its own).
    const { privateKey } = generateKeyPairSync('ed25519');
    expectRefused(await wsExecSigned({ kid: clusterKey.kid, privateKey }, 'node-1', ['touch', 'forged']), /does not match/);
    expectRefused(await wsExecSigned({ kid: 'someone-else', privateKey }, 'node-1', ['touch', 'forged']), /no API server of this cluster holds/);
    // Signed for another node, another command, or too long ago.
    expectRefused(await wsExecSigned(clusterKey, 'node-2', ['touch', 'other-node']), /signed for node "node-2"/);
    expectRefused(await wsExecSigned(clusterKey, 'node-1', ['touch', 'swapped'], { signedCommand: ['true'] }), /does not match/);
    expectRefused(await wsExecSigned(clusterKey, 'node-1', ['touch', 'stale'], { now: Date.now() - 10 * 60_000 }), /from this node's clock/);
    // Good once; the same signed request again is a replay.
    const query = `command=touch&command=once&stdout=true&podUID=${shell.metadata.uid}`;
    const headers = proxySignatureHeaders(clusterKey, { node: 'node-1', method: 'GET', path: `/exec/default/shell/main?${query}`, user: 'test' });
    const first = await wsExec(`ws://127.0.0.1:${agentPort}/exec/default/shell/main?${query}`, { protocols: ['v5.channel.k8s.io'], headers });
    expect(first.status).to.deep.include({ status: 'Success' });
    expect(touched('once')).to.equal(true);
    expectRefused(await wsExec(`ws://127.0.0.1:${agentPort}/exec/default/shell/main?${query}`, { protocols: ['v5.channel.k8s.io'], headers }), /used already/);
    for (const name of ['unsigned', 'forged', 'other-node', 'swapped', 'stale']) expect(touched(name), name).to.equal(false);

    // Logs and usage too are the API servers' to read; health and metrics are anyone's.
    const agentUrl = `http://127.0.0.1:${agentPort}`;
    for (const p of ['/containerLogs/default/shell/main', '/stats/resource']) {
      const unsigned = await fetch(`${agentUrl}${p}`);
      expect(unsigned.status, p).to.equal(401);
      expect(((await unsigned.json()) as { reason: string }).reason).to.equal('Unauthorized');
      const signed = await fetch(`${agentUrl}${p}`, { headers: proxySignatureHeaders(clusterKey, { node: 'node-1', method: 'GET', path: p, user: 'test' }) });
      // The usage sample may not be ready yet (503); never 401 once signed.
      expect([200, 503], p).to.include(signed.status);
      await signed.arrayBuffer();
    }
    expect((await fetch(`${agentUrl}/healthz`)).status).to.equal(200);
    const metrics = await fetch(`${agentUrl}/metrics`);
    expect(metrics.status).to.equal(200);
    // Every refusal above is counted (operators watch for probes); no exec is left running.
    const text = await metrics.text();
    const value = (series: string) => Number(new RegExp(`^${series.replace(/[{}"]/g, (c) => `\\${c}`)} (\\d+)$`, 'm').exec(text)?.[1] ?? NaN);
    expect(value('cell_agent_signature_checks_total{result="refused"}')).to.be.at.least(9);
    expect(value('cell_agent_signature_checks_total{result="accepted"}')).to.be.at.least(2);
    expect(value('cell_agent_exec_sessions')).to.equal(0);
  });
  it('an agent killed outright stops, when it starts again, the commands it was running for exec', async () => {
    const seconds = 6000 + Math.floor(Math.random() * 1000);
    const marker = `sleep ${seconds}`;
    const running = () => processesWith(marker).some((p) => p.args === marker);
    const session = wsExec(`${api.url.replace('https', 'wss')}${execPath('shell', `command=sleep&command=${seconds}&stdout=true`)}`, {
      protocols: ['v5.channel.k8s.io'],
      headers: { Authorization: `Bearer ${TEST_TOKENS.admin}` },
      ca: TEST_TLS_CERT,
    });
    await waitFor(running, `"${marker}" to run`, 20_000, 50);
    await agent.kill();
    // The connection went with the agent; the command did not (it leads its own process group).
    await session;
    expect(running()).to.equal(true);
    agent = startAgent(nodeOneAgentArgs(root, [`--kubeconfig=${nodeConfig}`, '--exec-keepalive=1s']));
    await waitFor(() => !running(), `the restarted agent to stop "${marker}"`, 30_000, 100);
    await waitNodeReady(admin(), agent);
  });
});
