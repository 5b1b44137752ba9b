// Node ports through a real agent process: pods serving HTTP on node-1 behind a NodePort Service
// (its Endpoints kept by the endpoints controller) are reached through the agent's node port, in
// turn; ClientIP affinity sticks to one; an endpoint that goes is no longer chosen; a port with no
// ready endpoint closes the connection; the port closes with its Service and opens again when one
// claims it; a loopback cluster IP is served too, and a pod finds it through its environment's
// Service variables; UDP flows are relayed as well, beside TCP on the same port number; proxies
// sharing a host share the ports, another taking a port over when its holder goes.
import { expect } from 'chai';
import dgram from 'node:dgram';
import net from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { endpointsControllerDefinition } from '../../controllers/endpoints/controller.js';
import type { Endpoints, Service } from '../../shared/api/service.js';
import { Informer } from '../../shared/client/informer.js';
import type { ApiClient } from '../../shared/client/http-client.js';
import { TEST_TOKENS, type TestApiServer } from '../harness/apiserver.js';
import { freePort } from '../harness/ports.js';
import { startControllers } from '../controllers/helpers.js';
import { ServiceProxy } from '../../agent/service-proxy.js';
import { createLogger } from '../../shared/logging.js';
import { createPod, deleteIfPresent, nodeOneAgentArgs, pod, startAgent, startStreamingCluster, tearDownAgentTest, waitFor, waitNodeReady, waitPod, type AgentProcess } from './helpers.js';

const SERVICES = { version: 'v1', resource: 'services', namespace: 'default' };
const SERVICES_ALL = { version: 'v1', resource: 'services' };
/** A loopback cluster IP range, so the agent can serve cluster IPs without root (one per run: a local cluster may use another). */
const CLUSTER_IP_RANGE = `127.${100 + Math.floor(Math.random() * 150)}.0.0/16`;

/** One GET on a fresh connection (no keep-alive, so each request is a new relayed connection). */
function get(port: number, host = '127.0.0.1'): Promise<{ ok: true; body: string } | { ok: false; error: string }> {
  return new Promise((resolve) => {
    const req = http.get({ host, port, path: '/', agent: false, timeout: 5_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ ok: true, body: body.trim() }));
      res.on('error', (e) => resolve({ ok: false, error: e.message }));
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ ok: false, error: e.code ?? e.message }));
    req.on('timeout', () => req.destroy(new Error('timeout')));
  });
}

/** Answers each datagram with `NAME datagram`, and each TCP connection with `NAME tcp`, on one port number. */
const ECHO = `
const dgram = require('dgram');
const net = require('net');
const port = Number(process.env.PORT);
const u = dgram.createSocket('udp4');
u.on('message', (m, r) => u.send(process.env.NAME + ' ' + m, r.port, r.address));
u.bind(port, '127.0.0.1');
net.createServer((s) => s.end(process.env.NAME + ' tcp\\n')).listen(port, '127.0.0.1');
`;

/** One datagram from `socket` to ip:port, and the reply, or undefined after 1 s. */
function ask(socket: dgram.Socket, ip: string, port: number, text: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      socket.off('message', onMessage);
      resolve(undefined);
    }, 1_000);
    const onMessage = (m: Buffer) => {
      clearTimeout(timer);
      socket.off('message', onMessage);
      resolve(m.toString());
    };
    socket.on('message', onMessage);
    socket.send(text, port, ip);
  });
}

/** A fresh client socket (a new flow), bound and ready. */
async function udpClient(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  return s;
}

describe('agent: node ports relayed to a Service\'s endpoints (real agent)', function () {
  this.timeout(120_000);
  let api: TestApiServer;
  let agent: AgentProcess;
  let root: string;
  let agentPort: number;
  let nodeConfig: string;
  let admin: ApiClient;
  let controllers: { stop(): Promise<void> };
  const nodePorts: number[] = [];
  const podPorts: Record<string, number> = {};

  /** A pod on node-1 serving its own name over HTTP on a port named `http`. */
  const webPod = async (name: string) => {
    const dir = path.join(root, 'www', name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'index.html'), `${name}\n`);
    podPorts[name] = await freePort();
    const p = pod(name, { node: 'node-1', command: ['python3', '-m', 'http.server', String(podPorts[name]), '--bind', '127.0.0.1', '--directory', dir], grace: 1 });
    (p.metadata as { labels?: Record<string, string> }).labels = { app: 'web' };
    (p.spec.containers[0] as { ports?: unknown[] }).ports = [{ name: 'http', containerPort: podPorts[name] }];
    await createPod(admin, p);
    await waitPod(admin, name, (x) => x.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false, `${name} ready`);
    // Serving, not only started.
    await waitFor(async () => (await get(podPorts[name]!)).ok, `${name} answering`);
  };
  const ready = (name: string, count: number) =>
    waitFor(async () => {
      const ep = await admin.get<Endpoints>({ version: 'v1', resource: 'endpoints', namespace: 'default', name }).catch(() => undefined);
      return (ep?.subsets ?? []).reduce((n, s) => n + (s.addresses?.length ?? 0), 0) === count;
    }, `${name} with ${count} ready endpoints`);
  const service = (name: string, nodePort: number, extra: Record<string, unknown> = {}) =>
    admin.create(SERVICES, { apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { type: 'NodePort', selector: { app: 'web' }, ports: [{ port: 80, targetPort: 'http', nodePort }], ...extra } });

  before(async () => {
    // Node ports the host has free, made the whole node port range so the Services may ask for them.
    for (let i = 0; i < 2; i++) nodePorts.push(await freePort());
    const range = { first: Math.min(...nodePorts), last: Math.max(...nodePorts) };
    const c = await startStreamingCluster('cell-agent-service-proxy-', [], [], { serviceRanges: { clusterIPRange: CLUSTER_IP_RANGE, nodePorts: range } });
    ({ api, agent, root, agentPort, nodeConfig } = c);
    admin = api.client(TEST_TOKENS.admin);
    controllers = await startControllers(admin, [endpointsControllerDefinition]);
    await webPod('web-a');
    await webPod('web-b');
  });
  after(async () => {
    await controllers?.stop();
    await tearDownAgentTest({ admin, agent, root, close: async () => api?.close() });
  });

  it('relays each connection to a ready endpoint in turn, and drops one that goes', async () => {
    const port = nodePorts[0]!;
    await service('web', port);
    await ready('web', 2);
    // The agent's own view of the Endpoints catches up a moment after the API's: both answer once.
    const answered = new Set<string>();
    await waitFor(async () => {
      const r = await get(port);
      if (r.ok) answered.add(r.body);
      return answered.size === 2;
    }, 'both endpoints answering through the node port');
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await get(port);
      expect(r.ok, JSON.stringify(r)).to.equal(true);
      if (r.ok) seen.push(r.body);
    }
    expect(new Set(seen)).to.deep.equal(new Set(['web-a', 'web-b']));
    // In turn: never the same one twice running.
    for (let i = 1; i < seen.length; i++) expect(seen[i]).to.not.equal(seen[i - 1]);

    await deleteIfPresent(admin, 'web-b');
    await ready('web', 1);
    await waitFor(async () => {
      for (let i = 0; i < 4; i++) if (JSON.stringify(await get(port)) !== JSON.stringify({ ok: true, body: 'web-a' })) return false;
      return true;
    }, 'only web-a answering, four times running');
  });

  it('sticks to one endpoint with ClientIP affinity, closes with no endpoint, and closes the port with its Service', async () => {
    await webPod('web-b');
    await ready('web', 2);
    const port = nodePorts[1]!;
    await service('sticky', port, { sessionAffinity: 'ClientIP' });
    await ready('sticky', 2);
    await waitFor(async () => (await get(port)).ok, 'the sticky node port answering');
    const first = await get(port);
    expect(first.ok).to.equal(true);
    for (let i = 0; i < 5; i++) expect(await get(port)).to.deep.equal(first);

    // No pod selected: the connection is closed rather than left hanging.
    await admin.patch({ ...SERVICES, name: 'sticky' }, { spec: { selector: { app: 'nothing' } } });
    await ready('sticky', 0);
    const none = await waitFor(async () => {
      const r = await get(port);
      return r.ok ? undefined : r;
    }, 'no endpoint: connection closed');
    expect(none.error).to.be.oneOf(['ECONNRESET', 'socket hang up']);

    // The Service goes: so does the port; the first one is untouched.
    await admin.delete({ ...SERVICES, name: 'sticky' });
    await waitFor(async () => {
      const r = await get(port);
      return !r.ok && r.error === 'ECONNREFUSED';
    }, 'node port closed');
    expect((await get(nodePorts[0]!)).ok).to.equal(true);
    // Another Service may claim the freed port, and is served on it.
    await service('again', port);
    await ready('again', 2);
    await waitFor(async () => (await get(port)).ok, 'the port open again');

    // What operators see: both ports open, and each outcome counted.
    const text = await (await fetch(`http://127.0.0.1:${agentPort}/metrics`)).text();
    const value = (series: string) => Number(new RegExp(`^${series.replace(/[{}"]/g, (c) => `\\${c}`)} (\\d+)$`, 'm').exec(text)?.[1] ?? NaN);
    expect(value('cell_agent_node_ports_open')).to.equal(2);
    expect(value('cell_agent_service_connections_total{result="relayed",via="node_port"}')).to.be.at.least(20);
    expect(value('cell_agent_service_connections_total{result="no_endpoint",via="node_port"}')).to.be.at.least(1);
  });

  it('serves a loopback cluster IP, and a pod reaches its Service through the variables in its environment', async () => {
    const svc = await admin.create<Service>(SERVICES, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'front-end' },
      spec: { selector: { app: 'web' }, ports: [{ name: 'web', port: 8080, targetPort: 'http' }, { name: 'spare', port: 8081, targetPort: 'http' }] },
    });
    const ip = svc.spec.clusterIP!;
    expect(ip.startsWith('127.')).to.equal(true);
    await ready('front-end', 2);
    // From the host: the cluster IP answers, in turn.
    const answered = new Set<string>();
    await waitFor(async () => {
      const r = await get(8080, ip);
      if (r.ok) answered.add(r.body);
      return answered.size === 2;
    }, 'both endpoints answering through the cluster IP');
    // From a pod: the Service's address comes from the environment, as in Kubernetes; the
    // container's own env wins over a Service variable and may refer to one.
    const client = pod('client', {
      node: 'node-1',
      restartPolicy: 'Never',
      grace: 1,
      env: { FRONT_END_SERVICE_PORT_SPARE: 'mine', TARGET: 'http://$(FRONT_END_SERVICE_HOST):$(FRONT_END_SERVICE_PORT_WEB)/' },
      command: ['python3', '-c', [
        'import os, urllib.request',
        'for k in sorted(os.environ):',
        '    if k.startswith(("FRONT_END_", "KUBERNETES_SERVICE")) or k == "TARGET": print(k + "=" + os.environ[k])',
        'print("BODY=" + urllib.request.urlopen(os.environ["TARGET"], timeout=5).read().decode().strip())',
      ].join('\n')],
    });
    await createPod(admin, client);
    await waitPod(admin, 'client', (x) => x.status.phase === 'Succeeded' || x.status.phase === 'Failed', 'client finished', 30_000);
    const log = await new Response(await admin.stream('/api/v1/namespaces/default/pods/client/log')).text();
    const env = Object.fromEntries(log.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    expect(env).to.deep.equal({
      FRONT_END_SERVICE_HOST: ip,
      FRONT_END_SERVICE_PORT: '8080',
      FRONT_END_SERVICE_PORT_WEB: '8080',
      FRONT_END_SERVICE_PORT_SPARE: 'mine',
      FRONT_END_PORT: `tcp://${ip}:8080`,
      FRONT_END_PORT_8080_TCP: `tcp://${ip}:8080`,
      FRONT_END_PORT_8080_TCP_PROTO: 'tcp',
      FRONT_END_PORT_8080_TCP_PORT: '8080',
      FRONT_END_PORT_8080_TCP_ADDR: ip,
      FRONT_END_PORT_8081_TCP: `tcp://${ip}:8081`,
      FRONT_END_PORT_8081_TCP_PROTO: 'tcp',
      FRONT_END_PORT_8081_TCP_PORT: '8081',
      FRONT_END_PORT_8081_TCP_ADDR: ip,
      TARGET: `http://${ip}:8080/`,
      // Every pod is told where the API server is: the kubernetes Service, on the range's first IP.
      KUBERNETES_SERVICE_HOST: CLUSTER_IP_RANGE.replace(/0\.0\/16$/, '0.1'),
      KUBERNETES_SERVICE_PORT: '443',
      KUBERNETES_SERVICE_PORT_HTTPS: '443',
      BODY: env.BODY,
    });
    expect(['web-a', 'web-b']).to.include(env.BODY);
    await deleteIfPresent(admin, 'client');

    // The Service goes: so does its cluster IP port.
    await admin.delete({ ...SERVICES, name: 'front-end' });
    await waitFor(async () => {
      const r = await get(8080, ip);
      return !r.ok && r.error === 'ECONNREFUSED';
    }, 'cluster IP closed');
    const text = await (await fetch(`http://127.0.0.1:${agentPort}/metrics`)).text();
    expect(text).to.match(/^cell_agent_service_connections_total\{result="relayed",via="cluster_ip"\} [1-9]/m);
  });

  it('relays UDP: each client\'s flow to one endpoint, new flows in turn, beside TCP on the same port number', async () => {
    for (const name of ['echo-a', 'echo-b']) {
      const port = await freePort();
      const p = pod(name, { node: 'node-1', command: [process.execPath, '-e', ECHO], env: { NAME: name, PORT: String(port) }, grace: 1 });
      (p.metadata as { labels?: Record<string, string> }).labels = { app: 'echo' };
      (p.spec.containers[0] as { ports?: unknown[] }).ports = [{ name: 'echo-udp', containerPort: port, protocol: 'UDP' }, { name: 'echo-tcp', containerPort: port }];
      await createPod(admin, p);
      await waitPod(admin, name, (x) => x.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false, `${name} ready`);
    }
    const svc = await admin.create<Service>(SERVICES, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'echo' },
      spec: { selector: { app: 'echo' }, ports: [{ name: 'dns', protocol: 'UDP', port: 5300, targetPort: 'echo-udp' }, { name: 'dns-tcp', protocol: 'TCP', port: 5300, targetPort: 'echo-tcp' }] },
    });
    const ip = svc.spec.clusterIP!;
    await ready('echo', 2);
    const clients: dgram.Socket[] = [];
    try {
      // The agent's view of the Endpoints catches up a moment after the API's: both answer once.
      const answered = new Set<string>();
      await waitFor(async () => {
        const c = await udpClient();
        clients.push(c);
        const reply = await ask(c, ip, 5300, 'hello');
        if (reply) answered.add(reply);
        return answered.size === 2;
      }, 'both endpoints answering datagrams through the cluster IP');
      expect(answered).to.deep.equal(new Set(['echo-a hello', 'echo-b hello']));
      // New flows (a new client socket each) go to the endpoints in turn.
      const answers: string[] = [];
      for (let i = 0; i < 4; i++) {
        const c = await udpClient();
        clients.push(c);
        answers.push((await ask(c, ip, 5300, `n${i}`)) ?? 'none');
      }
      expect(answers.map((a) => a.split(' ')[1])).to.deep.equal(['n0', 'n1', 'n2', 'n3']);
      expect(new Set(answers.map((a) => a.split(' ')[0]))).to.deep.equal(new Set(['echo-a', 'echo-b']));
      for (let i = 1; i < answers.length; i++) expect(answers[i]!.split(' ')[0]).to.not.equal(answers[i - 1]!.split(' ')[0]);
      // One client's datagrams stay with its endpoint.
      const one = await udpClient();
      clients.push(one);
      const replies: string[] = [];
      for (let i = 0; i < 3; i++) replies.push(((await ask(one, ip, 5300, 'again')) ?? 'none').split(' ')[0]!);
      expect(new Set(replies).size, replies.join()).to.equal(1);
      expect(replies[0]).to.match(/^echo-[ab]$/);
    } finally {
      for (const c of clients) c.close();
    }
    // TCP on the same port number goes to the TCP port.
    const tcp = await new Promise<string>((resolve, reject) => {
      let got = '';
      const s = net.connect({ host: ip, port: 5300 });
      s.setEncoding('utf8');
      s.on('data', (c: string) => (got += c));
      s.on('end', () => resolve(got.trim()));
      s.on('error', reject);
    });
    expect(tcp).to.match(/^echo-[ab] tcp$/);
    await admin.delete({ ...SERVICES, name: 'echo' });
    for (const name of ['echo-a', 'echo-b']) await deleteIfPresent(admin, name);
  });

  it('shares a port between proxies on one host: one holds it, another takes it over when the holder stops', async () => {
    const port = nodePorts[1]!;
    await waitFor(async () => (await get(port)).ok, 'the port served by the agent');
    // Two more proxies for the same node, in this process: the agent holds the port already.
    const log = createLogger('service-proxy-test', 'error');
    const proxy = async () => {
      const services = new Informer<Service>({ client: admin, ref: SERVICES_ALL, log });
      const endpoints = new Informer<Endpoints>({ client: admin, ref: { version: 'v1', resource: 'endpoints' }, log });
      await Promise.all([services.start(), endpoints.start()]);
      const p = new ServiceProxy({ services, endpoints, nodeName: 'node-1', address: '127.0.0.1', log, retryMs: 200 });
      await p.start();
      return { openPorts: () => p.openPorts(), stop: async () => Promise.all([p.stop(), services.stop(), endpoints.stop()]) };
    };
    const second = await proxy();
    const third = await proxy();
    try {
      expect(second.openPorts()).to.deep.equal([]);
      expect(third.openPorts()).to.deep.equal([]);
      // The agent goes: one of the two takes the port over, and it is served again.
      await agent.stop();
      await waitFor(() => second.openPorts().length + third.openPorts().length === 2 || undefined, 'both node ports taken over', 10_000);
      expect(second.openPorts().filter((p) => third.openPorts().includes(p))).to.deep.equal([]);
      const r = await waitFor(async () => {
        const got = await get(port);
        return got.ok ? got : undefined;
      }, 'served again');
      expect(['web-a', 'web-b']).to.include(r.body);
    } finally {
      await second.stop();
      await third.stop();
      // The agent back, to stop the pods it re-adopts when the suite ends.
      agent = startAgent(nodeOneAgentArgs(root, [`--kubeconfig=${nodeConfig}`]));
      await waitNodeReady(admin, agent);
    }
  });
});
