// kubectl port-forward end to end: real kubectl → the API server over TLS (real etcd, RBAC) → a
// real cell-agent process → a server in a pod. Asserts what a user sees (bytes through many
// connections at once, exactly; the pod closing a connection; Kubernetes' error for a closed port)
// on both ways kubectl reaches the pod — SPDY/3.1 on the upgraded connection and SPDY tunnelled in
// a WebSocket (kubectl 1.31+) — and through the official Python client's WebSocket channels (and
// cellctl's); and what keeps it safe: RBAC's `create` on pods/portforward, an
// agent that serves only what an API server signed, and a broken client losing only its own
// connection.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import https from 'node:https';
import net from 'node:net';
import WebSocket from 'ws';
import { TEST_TOKENS, type TestApiServer } from '../harness/apiserver.js';
import { freePort } from '../harness/ports.js';
import { TEST_TLS_CERT } from '../harness/tls.js';
import { findKubectl, run, spawnStreaming, type Streaming } from '../clients/helpers.js';
import { containerStatus, createPod, nodeOneAgentArgs, pod, runPythonPodScript, sleep, startAgent, startStreamingCluster, tearDownAgentTest, waitFor, waitNodeReady, waitPod, type AgentProcess } from './helpers.js';
import { SpdyTestClient, type Transport } from './spdy-client.js';
import { cellctl, cellctlRunning, isolatedEnv } from '../cli/helpers.js';

/** Sends `payload` on a new connection to `port` and reads back as many bytes (the pod echoes). */
function echoThrough(port: number, payload: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    const got: Buffer[] = [];
    let size = 0;
    s.on('data', (d: Buffer) => {
      got.push(d);
      size += d.length;
      if (size >= payload.length) {
        s.end();
        resolve(Buffer.concat(got));
      }
    });
    s.on('error', reject);
    s.on('close', () => reject(new Error(`closed after ${size} of ${payload.length} bytes`)));
    // In pieces, as an application writes.
    for (let at = 0; at < payload.length; at += 48 * 1024) s.write(payload.subarray(at, at + 48 * 1024));
  });
}

/** Everything read from a new connection to `port` until the far end closes it. */
function readAll(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let text = '';
    s.setEncoding('utf8').on('data', (d: string) => (text += d));
    s.on('end', () => resolve(text));
    s.on('error', reject);
  });
}

describe('pods/portforward: kubectl port-forward through the API server to the agent', function () {
  this.timeout(120_000);
  let api: TestApiServer;
  let agent: AgentProcess;
  let root: string;
  let nodeConfig: string;
  let agentPort: number;
  /** The pod's echo server, the pod's greeter (writes a line and closes), and a port nobody serves. */
  let echoPort: number;
  let greetPort: number;
  let closedPort: number;
  const admin = () => api.client(TEST_TOKENS.admin);
  const kubectl = findKubectl();
  const kubeconfigs: Record<string, string> = {};
  const forwards: Streaming[] = [];
  const connect = (transport: Transport, token = TEST_TOKENS.admin, podName = 'echo') => SpdyTestClient.connect({ url: api.url, pod: podName, token, ca: TEST_TLS_CERT, transport });

  /** `kubectl port-forward pod/echo :port…` running; the local ports it chose, in order. */
  async function kubectlForward(user: string, ports: number[], env: NodeJS.ProcessEnv = {}): Promise<{ local: number[]; proc: Streaming }> {
    const proc = spawnStreaming(kubectl!, ['--kubeconfig', kubeconfigs[user]!, 'port-forward', 'pod/echo', ...ports.map((p) => `:${p}`)], { env: { ...process.env, ...env } });
    forwards.push(proc);
    const local = await waitFor(() => {
      const found = ports.map((p) => new RegExp(`Forwarding from 127\\.0\\.0\\.1:(\\d+) -> ${p}`).exec(proc.stdout())?.[1]);
      return found.every((f) => f !== undefined) ? found.map(Number) : undefined;
    }, `kubectl port-forward to start (stdout: ${proc.stdout()}, stderr: ${proc.stderr()})`, 30_000, 50);
    return { local, proc };
  }

  before(async function () {
    this.timeout(60_000);
    const c = await startStreamingCluster('cell-agent-port-forward-', ['admin', 'viewer', 'nobody', 'node1']);
    ({ api, agent, root, agentPort, nodeConfig } = c);
    Object.assign(kubeconfigs, c.kubeconfigs);
    [echoPort, greetPort, closedPort] = [await freePort(), await freePort(), await freePort()];
    const server = [
      `const net = require('net');`,
      `net.createServer((s) => { s.on('error', () => {}); s.pipe(s); }).listen(${echoPort}, '127.0.0.1');`,
      `net.createServer((s) => { s.on('error', () => {}); s.end('hello from the pod\\n'); }).listen(${greetPort}, '127.0.0.1');`,
    ].join('\n');
    await createPod(admin(), pod('echo', { node: 'node-1', command: [process.execPath, '-e', server], grace: 1 }));
    await waitPod(admin(), 'echo', (p) => containerStatus(p)?.ready === true, 'to run');
    // Running is not yet listening.
    await waitFor(() => new Promise<boolean>((resolve) => net.connect(echoPort, '127.0.0.1').on('connect', function (this: net.Socket) { this.destroy(); resolve(true); }).on('error', () => resolve(false))), 'the pod to listen', 20_000, 100);
  });

  afterEach(async () => {
    await Promise.all(forwards.splice(0).map((f) => f.stop()));
  });

  after(async function () {
    this.timeout(60_000);
    await tearDownAgentTest({ admin: admin(), agent, root, close: async () => api?.close() });
  });

  it('kubectl port-forward carries many connections at once, every byte exactly, and the pod closing a connection closes it', async function () {
    if (!kubectl) this.skip(); // no kubectl on this machine: .ci/run installs it, so CI runs this
    const { local, proc } = await kubectlForward('admin', [echoPort, greetPort]);
    const payloads = Array.from({ length: 8 }, (_, i) => randomBytes(256 * 1024 + i * 4099));
    const echoed = await Promise.all(payloads.map((p) => echoThrough(local[0]!, p)));
    echoed.forEach((e, i) => expect(e.equals(payloads[i]!), `connection ${i}: ${e.length} bytes back of ${payloads[i]!.length}`).to.equal(true));
    // One after another, too: each connection is its own pair of streams.
    for (let i = 0; i < 20; i++) expect(await readAll(local[1]!)).to.equal('hello from the pod\n');
    expect(proc.child.exitCode, proc.stderr()).to.equal(null);
    expect(proc.stderr()).to.not.match(/error|lost/i);
  });

  it('a port nothing listens on: kubectl prints Kubernetes\u2019 error and stops, as it does against a kubelet', async function () {
    if (!kubectl) this.skip(); // as above
    const { local, proc } = await kubectlForward('admin', [closedPort]);
    await new Promise<void>((resolve) => net.connect(local[0]!, '127.0.0.1').on('close', () => resolve()).on('error', () => undefined));
    await waitFor(() => proc.child.exitCode !== null, `kubectl to stop (stderr: ${proc.stderr()})`, 20_000, 50);
    expect(proc.stderr()).to.match(new RegExp(`error forwarding port ${closedPort} to pod default/echo, uid [0-9a-f-]+: failed to connect to localhost:${closedPort}: connection refused`));
    expect(proc.stderr()).to.include('lost connection to pod');
  });

  for (const transport of ['spdy', 'websocket'] as const) {
    it(`over ${transport === 'spdy' ? 'SPDY/3.1 on the upgraded connection' : 'a WebSocket tunnelling SPDY (SPDY/3.1+portforward.k8s.io)'}: streams in pairs, data both ways, errors on the error stream, pings answered`, async () => {
      const c = await connect(transport);
      try {
        // Four connections interleaved on one session.
        const payloads = Array.from({ length: 4 }, (_, i) => randomBytes(200 * 1024 + i * 777));
        await Promise.all(
          payloads.map(async (payload, i) => {
            const { error, data } = await c.forward(echoPort, i);
            for (let at = 0; at < payload.length; at += 60 * 1024) c.sendData(data, payload.subarray(at, at + 60 * 1024), false);
            const back = await c.until(data, (s) => s.bytes.length >= payload.length);
            expect(back.bytes.equals(payload), `pair ${i}`).to.equal(true);
            // The client's FIN ends the forwarded connection: both streams finish, no error.
            c.sendData(data, Buffer.alloc(0), true);
            expect((await c.until(data, (s) => s.ended)).bytes.length).to.equal(payload.length);
            const err = await c.until(error, (s) => s.ended);
            expect(err.bytes.toString()).to.equal('');
          }),
        );
        // The pod closes: the data stream ends after what it sent.
        const greet = await c.forward(greetPort, 10);
        expect((await c.until(greet.data, (s) => s.ended)).bytes.toString()).to.equal('hello from the pod\n');
        expect((await c.until(greet.error, (s) => s.ended)).bytes.toString()).to.equal('');
        // Nothing listens: the error stream says so and both end.
        const refused = await c.forward(closedPort, 11);
        const err = await c.until(refused.error, (s) => s.ended);
        expect(err.bytes.toString()).to.match(new RegExp(`^error forwarding port ${closedPort} to pod default/echo, uid [0-9a-f-]+: failed to connect to localhost:${closedPort}: connection refused$`));
        expect((await c.until(refused.data, (s) => s.ended)).bytes.length).to.equal(0);
        // A bad port is refused outright (RST_STREAM).
        const bad = await c.open([['port', '70000'], ['requestid', '12'], ['streamtype', 'data']]);
        expect((await c.until(bad, (s) => s.reset)).reset).to.equal(true);
        // The client's ping comes back with its id.
        c.ping(7);
        await waitFor(() => c.controlFrames.find(([type, p]) => type === 6 && p.readUInt32BE(0) === 7), 'the ping answered');
      } finally {
        c.close();
      }
    });
  }

  it('the official Python client’s port-forward (the WebSocket channel protocol, v4.channel.k8s.io): both ports in one call, bytes exactly', async () => {
    const py = await runPythonPodScript({ api, root }, 'cell_port_forward.py', 'echo', ['--echo-port', String(echoPort), '--echo-bytes', String(300 * 1024), '--greet-port', String(greetPort)]);
    expect(py.code, py.stderr).to.equal(0);
    expect(JSON.parse(py.stdout)).to.deep.equal({ echoed: true, echo_bytes: 300 * 1024, greeting: 'hello from the pod\n' });
  });

  it('the channel protocol: each channel announced with its port, errors on the error channel, the WebSocket closed when every port\u2019s connection has ended', async () => {
    const open = (query: string) =>
      new Promise<{ refused?: number; body?: string; messages: Buffer[]; closeCode?: number }>((resolve, reject) => {
        const ws = new WebSocket(`${api.url.replace('https', 'wss')}/api/v1/namespaces/default/pods/echo/portforward${query}`, ['v4.channel.k8s.io'], { headers: { Authorization: `Bearer ${TEST_TOKENS.admin}` }, ca: TEST_TLS_CERT });
        const messages: Buffer[] = [];
        ws.on('message', (d: Buffer) => messages.push(d));
        ws.on('close', (code) => resolve({ messages, closeCode: code }));
        ws.on('unexpected-response', (_req, res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (d: string) => (body += d));
          res.on('end', () => resolve({ refused: res.statusCode ?? 0, body, messages }));
        });
        ws.on('error', (err) => {
          if (!/Unexpected server response/.test(err.message)) reject(err);
        });
      });
    const r = await open(`?ports=${closedPort},${greetPort}`);
    expect(r.closeCode).to.equal(1000);
    const port = (p: number) => [p & 0xff, p >> 8];
    const byChannel = (c: number) => r.messages.filter((m) => m[0] === c).map((m) => m.subarray(1));
    for (const [channel, p] of [[0, closedPort], [1, closedPort], [2, greetPort], [3, greetPort]] as const) expect([...byChannel(channel)[0]!], `channel ${channel}`).to.deep.equal(port(p));
    expect(Buffer.concat(byChannel(1).slice(1)).toString()).to.match(new RegExp(`^error forwarding port ${closedPort} to pod default/echo, uid [0-9a-f-]+: failed to connect to localhost:${closedPort}: connection refused$`));
    expect(Buffer.concat(byChannel(2).slice(1)).toString()).to.equal('hello from the pod\n');
    expect(byChannel(3).length).to.equal(1);
    const none = await open('');
    expect(none.refused).to.equal(400);
    expect(none.body).to.include('query parameter \\"ports\\" is required');
    const bad = await open('?ports=0');
    expect(bad.refused).to.equal(400);
  });

  it('cellctl port-forward: local ports to the pod\u2019s, each connection on its own, a refused one reported alone; Ctrl-C stops it', async () => {
    const ctl = cellctlRunning(['--kubeconfig', kubeconfigs.admin!, 'port-forward', 'pod/echo', `:${echoPort}`, `:${closedPort}`], isolatedEnv(root));
    const local = await waitFor(() => {
      const found = [echoPort, closedPort].map((p) => new RegExp(`Forwarding from 127\\.0\\.0\\.1:(\\d+) -> ${p}`).exec(ctl.stdout())?.[1]);
      return found.every((f) => f !== undefined) ? found.map(Number) : undefined;
    }, `cellctl port-forward to start (stderr: ${ctl.stderr()})`, 30_000, 50);
    const payloads = Array.from({ length: 4 }, (_, i) => randomBytes(128 * 1024 + i * 333));
    const echoed = await Promise.all(payloads.map((p) => echoThrough(local[0]!, p)));
    echoed.forEach((e, i) => expect(e.equals(payloads[i]!), `connection ${i}`).to.equal(true));
    await new Promise<void>((resolve) => net.connect(local[1]!, '127.0.0.1').on('close', () => resolve()).on('error', () => undefined));
    await waitFor(() => /connection refused/.test(ctl.stderr()), 'the refusal reported');
    expect(ctl.stderr()).to.match(new RegExp(`error: an error occurred forwarding ${local[1]} -> ${closedPort}: error forwarding port ${closedPort} to pod default/echo`));
    // Still forwarding after the failure.
    expect((await echoThrough(local[0]!, payloads[0]!)).equals(payloads[0]!)).to.equal(true);
    expect(ctl.stdout()).to.include(`Handling connection for ${local[0]}`);
    expect(await ctl.interrupt()).to.equal(0);
    const bad = await cellctl(['--kubeconfig', kubeconfigs.admin!, 'port-forward', 'echo', '99999'], { env: isolatedEnv(root) });
    expect(bad.code).to.not.equal(0);
    expect(bad.stderr).to.include('invalid port "99999": ports are 1-65535');
  });

  it('streams are let go when their connection ends: 1,100 connections one after another on one session (more streams than may be open at once)', async () => {
    const c = await connect('spdy');
    try {
      for (let i = 0; i < 1100; i++) {
        const { error, data } = await c.forward(greetPort, i);
        expect((await c.until(data, (s) => s.ended || s.reset)).bytes.toString(), `connection ${i}`).to.equal('hello from the pod\n');
        c.sendData(data, Buffer.alloc(0), true);
        await c.until(error, (s) => s.ended);
      }
    } finally {
      c.close();
    }
  });

  it('a client that breaks the protocol loses its own connection only; the agent serves the next', async () => {
    const other = await connect('websocket');
    const broken = await connect('spdy');
    // A control frame of SPDY version 2.
    broken.sendRaw(Buffer.from([0x80, 0x02, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0a, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]));
    await broken.closedPromise();
    expect(broken.controlFrames.map(([type]) => type)).to.deep.equal([7]);
    // The agent is up and the other session unharmed.
    expect(agent.child.exitCode).to.equal(null);
    try {
      const { data } = await other.forward(greetPort, 1);
      expect((await other.until(data, (s) => s.ended)).bytes.toString()).to.equal('hello from the pod\n');
    } finally {
      other.close();
    }
  });

  it('is allowed by create on pods/portforward — which viewers and nodes do not have — and refuses what Kubernetes refuses', async () => {
    for (const [user, token] of [['viewer', TEST_TOKENS.viewer], ['nobody', TEST_TOKENS.nobody], ['node1', TEST_TOKENS.node1]] as const) {
      for (const transport of ['spdy', 'websocket'] as const) {
        const refused = await connect(transport, token).then(
          () => 'connected',
          (err: Error) => err.message,
        );
        expect(refused, `${user} over ${transport}`).to.match(/^refused 403: .*cannot create resource \\?"pods\/portforward\\?" in API group \\?"\\?"/);
      }
    }
    if (kubectl) {
      const r = await run(kubectl, ['--kubeconfig', kubeconfigs.viewer!, 'port-forward', 'pod/echo', `:${echoPort}`], { timeoutMs: 30_000 });
      expect(r.code).to.not.equal(0);
      expect(r.stderr).to.match(/forbidden|cannot create resource "pods\/portforward"/i);
    }
    // The same user may once a RoleBinding gives edit in the namespace (edit includes pods/portforward).
    await admin().create({ group: 'rbac.authorization.k8s.io', version: 'v1', namespace: 'default', resource: 'rolebindings' }, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'nobody-edits', namespace: 'default' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' },
      subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'nobody' }],
    });
    const editor = await waitFor(() => connect('spdy', TEST_TOKENS.nobody).catch(() => undefined), 'the editor to port-forward', 10_000, 200);
    try {
      const { data } = await editor.forward(greetPort, 0);
      expect((await editor.until(data, (s) => s.ended)).bytes.toString()).to.equal('hello from the pod\n');
    } finally {
      editor.close();
    }

    // No upgrade; a completed pod; a pod bound nowhere.
    const plain = await new Promise<{ status: number; message: string }>((resolve, reject) => {
      const req = https.request(`${api.url}/api/v1/namespaces/default/pods/echo/portforward`, { method: 'POST', ca: TEST_TLS_CERT, headers: { Authorization: `Bearer ${TEST_TOKENS.admin}` } }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, message: (JSON.parse(text) as { message: string }).message }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(plain.status).to.equal(400);
    expect(plain.message).to.match(/^Upgrade request required/);
    await createPod(admin(), pod('finished', { node: 'node-1', command: ['true'], restartPolicy: 'Never' }));
    await waitPod(admin(), 'finished', (p) => p.status.phase === 'Succeeded', 'to succeed');
    for (const transport of ['spdy', 'websocket'] as const) {
      const done = await connect(transport, TEST_TOKENS.admin, 'finished').then(() => 'connected', (err: Error) => err.message);
      expect(done).to.match(/^refused 400: .*cannot forward ports to a completed pod; current phase is Succeeded/);
    }
    await createPod(admin(), pod('unbound', { command: ['true'] }));
    const unbound = await connect('spdy', TEST_TOKENS.admin, 'unbound').then(() => 'connected', (err: Error) => err.message);
    expect(unbound).to.match(/^refused 400: .*pod unbound does not have a host assigned/);

    // The agent itself serves only what an API server signed.
    const unsigned = await new Promise<number>((resolve, reject) => {
      const s = net.connect(agentPort, '127.0.0.1', () => s.write('POST /portForward/default/echo HTTP/1.1\r\nHost: agent\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nContent-Length: 0\r\n\r\n'));
      let text = '';
      s.setEncoding('utf8').on('data', (d: string) => (text += d));
      s.on('end', () => resolve(Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1] ?? 0)));
      s.on('error', reject);
    });
    expect(unsigned).to.equal(401);
  });

  it('an agent that stops ends every forward it carries — SPDY, tunnelled SPDY and channel clients — and exits; restarted, it forwards again', async function () {
    this.timeout(90_000);
    const spdy = await connect('spdy');
    const tunnelled = await connect('websocket');
    for (const [i, c] of [spdy, tunnelled].entries()) {
      const { data } = await c.forward(echoPort, i);
      c.sendData(data, Buffer.from('still here'), false);
      await c.until(data, (st) => st.bytes.length >= 10);
    }
    const channel = new WebSocket(`${api.url.replace('https', 'wss')}/api/v1/namespaces/default/pods/echo/portforward?ports=${echoPort}`, ['v4.channel.k8s.io'], { headers: { Authorization: `Bearer ${TEST_TOKENS.admin}` }, ca: TEST_TLS_CERT });
    const channelClosed = new Promise<void>((resolve) => channel.once('close', () => resolve()));
    await new Promise<void>((resolve, reject) => channel.once('open', () => resolve()).once('error', reject));
    // The agent waits for its connections to go before it exits: one it left open would hold it.
    const exited = await Promise.race([agent.stop().then(() => true), sleep(10_000).then(() => false)]);
    if (!exited) await agent.kill();
    expect(exited, `the agent to exit within 10 s of SIGTERM (output: ${agent.output()})`).to.equal(true);
    await Promise.all([spdy.closedPromise(), tunnelled.closedPromise(), channelClosed]);
    agent = startAgent(nodeOneAgentArgs(root, [`--kubeconfig=${nodeConfig}`, '--exec-keepalive=1s']));
    await waitNodeReady(admin(), agent);
    const again = await waitFor(() => connect('spdy').catch(() => undefined), 'the restarted agent to port-forward', 20_000, 200);
    try {
      const { data } = await again.forward(greetPort, 0);
      expect((await again.until(data, (st) => st.ended)).bytes.toString()).to.equal('hello from the pod\n');
    } finally {
      again.close();
    }
  });
});
