// The pods/log proxy against nodes that lie about their agent (issue #21, item 14). A node writes
// its own address and port, so the API server must (a) connect only inside --agent-address-allow
// and (b) never echo what a non-agent answered: errors name the node and the status code only,
// unless the answer is a Kubernetes Status from the agent.
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { AgentAddressAllowList } from '../../apiserver/controllers/agent-endpoint.js';
import { ParseError } from '../../shared/errors.js';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { expectStatus, nodeBody, podBody, raw } from '../apiserver/helpers.js';

const PODS = '/api/v1/namespaces/default/pods';
const SECRET = 'SECRET-BYTES-0xdeadbeef';

/** A Node whose status says its agent is at `address`:`port`. */
function lyingNode(name: string, address: string, port: number): Record<string, unknown> {
  const n = nodeBody(name) as { status: Record<string, unknown> };
  n.status.addresses = [{ type: 'InternalIP', address }];
  n.status.daemonEndpoints = { kubeletEndpoint: { Port: port } };
  return n;
}

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return (server.address() as AddressInfo).port;
}

describe('pods/log proxy against lying nodes (etcd)', function () {
  this.timeout(60_000);
  let t: TestApiServer;
  let narrow: TestApiServer | undefined;
  /** Requests the fake agent got. */
  let hits = 0;
  let rawHits = 0;

  // Answers by pod name; the path is /containerLogs/{namespace}/{pod}/{container}.
  const fakeAgent = http.createServer((req, res) => {
    hits++;
    const pod = (req.url ?? '').split('?')[0]!.split('/')[3];
    switch (pod) {
      case 'junk-404':
        res.writeHead(404, { 'Content-Type': 'text/plain' });
        res.end(`${SECRET} not an agent\n`);
        return;
      case 'junk-json-500':
        res.writeHead(500, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ error: SECRET }));
        return;
      case 'json-200':
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ secret: SECRET }));
        return;
      case 'status-404':
        res.writeHead(404, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'container main of pod status-404 has no log yet', reason: 'NotFound', code: 404, extra: SECRET }));
        return;
      default:
        res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end('hello from the agent\n');
    }
  });
  // Not HTTP at all: a banner, then close. It reads (and drops) what it is sent: a socket whose
  // input nobody reads never sees the peer's close, and an open socket keeps mocha from exiting.
  const rawSockets = new Set<net.Socket>();
  const rawService = net.createServer((socket) => {
    rawHits++;
    rawSockets.add(socket);
    socket.on('close', () => rawSockets.delete(socket));
    socket.resume();
    socket.end(`${SECRET} banner\r\n\r\n`);
  });

  before(async () => {
    const agentPort = await listen(fakeAgent);
    const rawPort = await listen(rawService);
    t = await startTestApiServer({ backend: 'etcd' });
    const nodes: [string, string, number][] = [
      ['fake', '127.0.0.1', agentPort],
      ['raw', '127.0.0.1', rawPort],
      ['public', '203.0.113.9', agentPort],
      ['metadata', '169.254.169.254', 80],
      ['mapped', '::ffff:169.254.169.254', 80],
      ['unspecified', '0.0.0.0', agentPort],
    ];
    for (const [name, address, port] of nodes) {
      const res = await raw(t.url, 'POST', '/api/v1/nodes', { body: lyingNode(name, address, port) });
      expect(res.status, res.text).to.equal(201);
    }
    const pods: [string, string][] = [
      ['junk-404', 'fake'],
      ['junk-json-500', 'fake'],
      ['json-200', 'fake'],
      ['status-404', 'fake'],
      ['good', 'fake'],
      ['on-raw', 'raw'],
      ['on-public', 'public'],
      ['on-metadata', 'metadata'],
      ['on-mapped', 'mapped'],
      ['on-unspecified', 'unspecified'],
    ];
    for (const [name, node] of pods) {
      const res = await raw(t.url, 'POST', PODS, { body: podBody(name, { nodeName: node }) });
      expect(res.status, res.text).to.equal(201);
    }
  });
  after(async () => {
    await narrow?.close();
    await t?.close();
    fakeAgent.closeAllConnections();
    fakeAgent.close();
    for (const socket of rawSockets) socket.destroy();
    rawService.close();
  });

  const log = (server: TestApiServer, pod: string) => raw(server.url, 'GET', `${PODS}/${pod}/log`);

  it('the real path works: an agent’s text/plain log passes through', async () => {
    const res = await log(t, 'good');
    expect(res.status, res.text).to.equal(200);
    expect(res.text).to.equal('hello from the agent\n');
  });

  it('an agent’s Status passes through, reduced to the Status fields', async () => {
    const s = expectStatus(await log(t, 'status-404'), 404, 'NotFound');
    expect(s.message).to.equal('container main of pod status-404 has no log yet');
    expect(JSON.stringify(s)).to.not.contain(SECRET);
  });

  const junk: [string, number, string, RegExp][] = [
    ['a 404 with a text body', 500, 'junk-404', /node fake answered 404/],
    ['a 500 with JSON that is not a Status', 500, 'junk-json-500', /node fake answered 500/],
    ['a 200 that is not text/plain', 500, 'json-200', /node fake answered 200/],
    ['a reply that is not HTTP', 503, 'on-raw', /node raw/],
  ];
  for (const [what, code, pod, message] of junk) {
    it(`${what}: ${code}, naming the node, never echoing the reply`, async () => {
      const res = await log(t, pod);
      const s = expectStatus(res, code);
      expect(s.message).to.match(message);
      expect(res.text).to.not.contain(SECRET);
    });
  }

  const outside: [string, string][] = [
    ['a public address', 'on-public'],
    ['the link-local metadata address', 'on-metadata'],
    ['an IPv4-mapped link-local address', 'on-mapped'],
    ['0.0.0.0 (which reaches this host)', 'on-unspecified'],
  ];
  for (const [what, pod] of outside) {
    it(`an agent at ${what} is refused without connecting`, async () => {
      const before = hits;
      const res = await log(t, pod);
      const s = expectStatus(res, 500, 'InternalError');
      expect(s.message).to.contain('--agent-address-allow');
      expect(s.message).to.match(/^node \S+ reports its agent at/);
      expect(hits).to.equal(before);
    });
  }

  it('--agent-address-allow narrows the set: loopback refused when only 10.0.0.0/8 is allowed', async () => {
    narrow = await startTestApiServer({ backend: 'etcd', prefix: t.prefix, agentAddressAllow: ['10.0.0.0/8'] });
    const before = hits;
    const s = expectStatus(await log(narrow, 'good'), 500, 'InternalError');
    expect(s.message).to.contain('node fake reports its agent at 127.0.0.1');
    expect(hits).to.equal(before);
    // The default server still reaches the same agent.
    expect((await log(t, 'good')).status).to.equal(200);
    expect(rawHits).to.equal(1);
  });

  it('the allow-list reads CIDRs and bare addresses, and refuses anything else', () => {
    const list = AgentAddressAllowList.parse('10.0.0.0/8, fd00::/8,192.0.2.7');
    expect(list.allows('10.1.2.3')).to.equal(true);
    expect(list.allows('::ffff:10.1.2.3')).to.equal(true);
    expect(list.allows('fd00::1')).to.equal(true);
    expect(list.allows('192.0.2.7')).to.equal(true);
    expect(list.allows('192.0.2.8')).to.equal(false);
    expect(list.allows('127.0.0.1')).to.equal(false);
    expect(list.allows('not-an-ip')).to.equal(false);
    for (const bad of ['', ',', '10.0.0.0/33', '10.0.0.0/', 'example.com/8', '::1/129', '10.0.0.0/8/1']) {
      expect(() => AgentAddressAllowList.parse(bad), bad).to.throw(ParseError);
    }
    const def = AgentAddressAllowList.default();
    for (const ok of ['127.0.0.1', '::1', '10.0.0.1', '172.16.0.1', '192.168.1.1', 'fd00::1']) expect(def.allows(ok), ok).to.equal(true);
    for (const no of ['169.254.169.254', 'fe80::1', '0.0.0.0', '8.8.8.8', '203.0.113.9']) expect(def.allows(no), no).to.equal(false);
  });
});
