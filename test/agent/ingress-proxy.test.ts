// Ingresses served by a real agent (--ingress-address), made with real kubectl: the default
// IngressClass given at creation, routes by host (exact, wildcard) and path (Prefix by element,
// Exact), a default backend, 404 without a route, 503 without an endpoint, another controller's
// class left alone, request bodies and upgrades relayed, X-Forwarded-* set, the status naming the
// agent's address (the ingress-status loop, from the node's annotation), TLS terminated on
// --ingress-tls-address with the Secrets the Ingresses name — plus the routing rules themselves,
// case by case.
import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { routeRequest } from '../../agent/ingress-proxy.js';
import { endpointsControllerDefinition } from '../../controllers/endpoints/controller.js';
import { ingressStatusControllerDefinition } from '../../controllers/ingress/controller.js';
import { IngressSchema, type Ingress } from '../../shared/api/networking.js';
import type { Endpoints } from '../../shared/api/service.js';
import type { ApiClient } from '../../shared/client/http-client.js';
import { findKubectl, run } from '../clients/helpers.js';
import { startControllers } from '../controllers/helpers.js';
import { TEST_TOKENS, type TestApiServer } from '../harness/apiserver.js';
import { freePort } from '../harness/ports.js';
import { ForbiddenError } from '../../shared/errors.js';
import { refusal } from '../harness/refusal.js';
import { rejection } from '../store/helpers.js';
import { issueCertificate, type KeyPair } from '../../shared/pki.js';
import { createPod, pod, startStreamingCluster, tearDownAgentTest, waitFor, waitPod, type AgentProcess } from './helpers.js';

const INGRESS_CLASSES = { group: 'networking.k8s.io', version: 'v1', resource: 'ingressclasses' };
const SERVICES = { version: 'v1', resource: 'services', namespace: 'default' };

/** An HTTP server answering `NAME METHOD URL X-FORWARDED-HOST BODY-BYTES`, echoing upgraded connections. */
const BACKEND = `
const http = require('http');
const s = http.createServer((q, r) => { let n = 0; q.on('data', (c) => (n += c.length)); q.on('end', () => r.end([process.env.NAME, q.method, q.url, q.headers['x-forwarded-host'] || '', n].join(' ') + '\\n')); });
s.on('upgrade', (q, sock) => { sock.write('HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: echo\\r\\nConnection: Upgrade\\r\\n\\r\\n'); sock.pipe(sock); });
s.listen(Number(process.env.PORT), '127.0.0.1');
`;

function request(port: number, host: string, path: string, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: body === undefined ? 'GET' : 'POST', headers: { host }, agent: false, timeout: 5_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: text.trim() }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end(body);
  });
}

/** An HTTPS request to 127.0.0.1:`port` asking for `servername`, trusting `ca` (none: trusting anything): the answer and the certificate's CN and serial. */
function httpsRequest(port: number, servername: string, path: string, ca?: string): Promise<{ status: number; text: string; cn: string; serial: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path, servername, headers: { host: servername }, agent: false, timeout: 5_000, ...(ca ? { ca } : { rejectUnauthorized: false }) }, (res) => {
      const peer = (res.socket as TLSSocket).getPeerCertificate();
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: text.trim(), cn: String(peer.subject?.CN ?? ''), serial: peer.serialNumber ?? '' }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

function ingress(name: string, spec: Record<string, unknown>, created = '2026-01-01T00:00:00Z'): Ingress {
  return IngressSchema.parse({ metadata: { name, namespace: 'default', creationTimestamp: created }, spec });
}
const to = (name: string, number = 80) => ({ service: { name, port: { number } } });

describe('ingress routing rules', () => {
  const rules = [
    ingress('a', {
      rules: [
        { host: 'shop.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: to('shop') }, { path: '/cart', pathType: 'Prefix', backend: to('cart') }, { path: '/cart', pathType: 'Exact', backend: to('cart-exact') }] } },
        { host: '*.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: to('wild') }] } },
        { http: { paths: [{ path: '/api', pathType: 'Prefix', backend: to('api') }] } },
      ],
    }),
    ingress('b', { defaultBackend: to('fallback') }, '2026-02-01T00:00:00Z'),
    ingress('c', { rules: [{ host: 'shop.example.com', http: { paths: [{ path: '/cart/items', pathType: 'Prefix', backend: to('items') }] } }] }, '2026-03-01T00:00:00Z'),
  ];
  const routed = (host: string, path: string) => routeRequest(rules, host, path)?.backend.service?.name;

  it('prefers the exact host, then a wildcard, then any host; the longest path, Exact before Prefix', () => {
    expect(routed('shop.example.com', '/')).to.equal('shop');
    expect(routed('shop.example.com', '/cart')).to.equal('cart-exact');
    expect(routed('shop.example.com', '/cart/')).to.equal('cart');
    expect(routed('shop.example.com', '/cart/items/7')).to.equal('items');
    // Prefix matches whole elements only.
    expect(routed('shop.example.com', '/cartoon')).to.equal('shop');
    expect(routed('blog.example.com', '/anything')).to.equal('wild');
    // A wildcard stands for one label.
    expect(routed('a.b.example.com', '/api/v1')).to.equal('api');
    expect(routed('example.com', '/api')).to.equal('api');
    expect(routed('example.com', '/apis')).to.equal('fallback');
    expect(routed('other.org', '/')).to.equal('fallback');
    expect(routeRequest(rules.filter((i) => i.metadata.name !== 'b'), 'other.org', '/')).to.equal(undefined);
  });

  it('gives a tie to the older Ingress', () => {
    const older = ingress('old', { rules: [{ host: 'x.dev', http: { paths: [{ path: '/', pathType: 'Prefix', backend: to('old') }] } }] }, '2026-01-01T00:00:00Z');
    const newer = ingress('new', { rules: [{ host: 'x.dev', http: { paths: [{ path: '/', pathType: 'Prefix', backend: to('new') }] } }] }, '2026-06-01T00:00:00Z');
    expect(routeRequest([newer, older], 'x.dev', '/')?.backend.service?.name).to.equal('old');
  });
});

describe('agent: Ingresses served on --ingress-address (real agent, real kubectl)', function () {
  this.timeout(120_000);
  const kubectl = findKubectl();
  let api: TestApiServer;
  let agent: AgentProcess;
  let root: string;
  let agentPort: number;
  let admin: ApiClient;
  let kubeconfig: string;
  let controllers: { stop(): Promise<void> };
  let ingressPort: number;
  let tlsPort: number;
  const k = async (...args: string[]) => {
    const r = await run(kubectl!, ['--kubeconfig', kubeconfig, ...args]);
    expect(r.code, `kubectl ${args.join(' ')}: ${r.stderr}`).to.equal(0);
    return r.stdout;
  };
  const get = (host: string, path: string, body?: string) => request(ingressPort, host, path, body);

  /** A pod on node-1 running BACKEND as `name`, labelled app=<app>, its port named http. */
  const backendPod = async (name: string, app: string) => {
    const port = await freePort();
    const p = pod(name, { node: 'node-1', command: [process.execPath, '-e', BACKEND], env: { NAME: name, PORT: String(port) }, grace: 1 });
    (p.metadata as { labels?: Record<string, string> }).labels = { app };
    (p.spec.containers[0] as { ports?: unknown[] }).ports = [{ name: 'http', containerPort: port }];
    await createPod(admin, p);
    await waitPod(admin, name, (x) => x.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false, `${name} ready`);
  };
  const ready = (name: string, count: number) =>
    waitFor(async () => {
      const ep = await admin.get<Endpoints>({ version: 'v1', resource: 'endpoints', namespace: 'default', name }).catch(() => undefined);
      return (ep?.subsets ?? []).reduce((n, s) => n + (s.addresses?.length ?? 0), 0) === count;
    }, `${name} with ${count} ready endpoints`);

  before(async function () {
    if (!kubectl) this.skip(); // no kubectl on this machine: .ci/run installs it, so CI runs this
    ingressPort = await freePort();
    tlsPort = await freePort();
    const c = await startStreamingCluster('cell-agent-ingress-', ['admin'], [`--ingress-address=127.0.0.1:${ingressPort}`, `--ingress-tls-address=127.0.0.1:${tlsPort}`]);
    ({ api, agent, root, agentPort } = c);
    kubeconfig = c.kubeconfigs.admin!;
    admin = api.client(TEST_TOKENS.admin);
    controllers = await startControllers(admin, [endpointsControllerDefinition, ingressStatusControllerDefinition]);
    await admin.create(INGRESS_CLASSES, {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'IngressClass',
      metadata: { name: 'cell', annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } },
      spec: { controller: 'cell.dev/ingress-proxy' },
    });
    await admin.create(INGRESS_CLASSES, { apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'other' }, spec: { controller: 'example.com/elsewhere' } });
    await backendPod('shop-1', 'shop');
    await backendPod('blog-1', 'blog');
    await k('create', 'service', 'clusterip', 'shop', '--tcp=80:http');
    await admin.create(SERVICES, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'blog' }, spec: { selector: { app: 'blog' }, ports: [{ name: 'web', port: 8080, targetPort: 'http' }] } });
    await admin.create(SERVICES, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'empty' }, spec: { selector: { app: 'nothing' }, ports: [{ port: 80 }] } });
    await ready('shop', 1);
    await ready('blog', 1);
  });
  after(async () => {
    await controllers?.stop();
    if (admin) await tearDownAgentTest({ admin, agent, root, close: async () => api?.close() });
  });

  it('routes by host and path to the Services\' endpoints, with the default class, a default backend and X-Forwarded-Host', async () => {
    await k('create', 'ingress', 'web', '--rule=shop.example.com/*=shop:80', '--rule=*.blog.example.com/posts*=blog:web', '--rule=shop.example.com/gone=empty:80');
    await k('create', 'ingress', 'catch-all', '--default-backend=shop:80');
    // The default class was given at creation; the status says where the agent serves it; kubectl shows both.
    const served = await waitFor(async () => {
      const ing = await admin.get<Ingress>({ group: 'networking.k8s.io', version: 'v1', resource: 'ingresses', namespace: 'default', name: 'web' });
      return ing.status?.loadBalancer?.ingress?.length ? ing : undefined;
    }, 'the ingress status');
    expect(served.spec.ingressClassName).to.equal('cell');
    expect(served.status?.loadBalancer?.ingress).to.deep.equal([{ ip: '127.0.0.1', ports: [{ port: ingressPort, protocol: 'TCP' }] }]);
    const table = await k('get', 'ingress', 'web');
    expect(table.split('\n')[1]).to.match(/^web\s+cell\s+shop\.example\.com,\*\.blog\.example\.com\s+127\.0\.0\.1\s+80\s+/);

    const shop = await waitFor(async () => {
      const r = await get('shop.example.com', '/cart?x=1').catch(() => undefined);
      return r?.status === 200 ? r : undefined;
    }, 'the shop through the ingress address');
    expect(shop.text).to.equal('shop-1 GET /cart?x=1 shop.example.com 0');
    expect((await get('news.blog.example.com:80', '/posts/1')).text).to.equal('blog-1 GET /posts/1 news.blog.example.com:80 0');
    // Prefix by element: /postscript is not under /posts, so the default backend has it.
    expect((await get('news.blog.example.com', '/postscript')).text).to.match(/^shop-1 GET \/postscript /);
    expect((await get('unknown.org', '/')).text).to.match(/^shop-1 GET \/ unknown\.org 0$/);
    // A request body goes through whole.
    expect((await get('shop.example.com', '/order', 'x'.repeat(100_000))).text).to.equal('shop-1 POST /order shop.example.com 100000');
    // A Service without a ready endpoint.
    const gone = await get('shop.example.com', '/gone');
    expect(gone.status).to.equal(503);
    expect(gone.text).to.contain('no ready endpoint for service default/empty');

    // Without the default backend, an unrouted request is a 404.
    await k('delete', 'ingress', 'catch-all');
    await waitFor(async () => (await get('unknown.org', '/')).status === 404, 'unknown.org unrouted');
    expect((await get('unknown.org', '/')).text).to.equal('default backend - 404');
  });

  it('leaves another controller\'s Ingresses alone, and relays an upgraded connection', async () => {
    await k('create', 'ingress', 'theirs', '--class=other', '--rule=theirs.example.com/*=shop:80');
    // One of cell's, made after it: once it is served, the agent has seen the other one too.
    await k('create', 'ingress', 'mine', '--rule=mine.example.com/*=shop:80');
    await waitFor(async () => (await get('mine.example.com', '/')).status === 200, 'mine served');
    expect((await get('theirs.example.com', '/')).status).to.equal(404);
    // Its status is its own controller's: once mine has cell's, theirs still has none.
    const status = async (name: string) => (await admin.get<Ingress>({ group: 'networking.k8s.io', version: 'v1', resource: 'ingresses', namespace: 'default', name })).status;
    await waitFor(async () => ((await status('mine'))?.loadBalancer?.ingress?.length ?? 0) > 0, 'mine has its address');
    expect((await status('theirs'))?.loadBalancer?.ingress).to.equal(undefined);

    const echoed = await new Promise<string>((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port: ingressPort }, () => s.write('GET /ws HTTP/1.1\r\nHost: shop.example.com\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n'));
      let got = '';
      s.setEncoding('utf8');
      s.on('data', (c: string) => {
        got += c;
        if (got.includes('\r\n\r\n') && !got.includes('ping')) s.write('ping');
        if (got.endsWith('ping')) {
          s.destroy();
          resolve(got);
        }
      });
      s.on('error', reject);
      setTimeout(() => reject(new Error(`no echo: ${got}`)), 5_000);
    });
    expect(echoed).to.match(/^HTTP\/1\.1 101 Switching Protocols\r\n/);

    const metrics = await (await fetch(`http://127.0.0.1:${agentPort}/metrics`)).text();
    expect(metrics).to.match(/^cell_agent_ingress_requests_total\{result="proxied"\} ([6-9]|\d\d)/m);
    expect(metrics).to.match(/^cell_agent_ingress_requests_total\{result="no_route"\} [1-9]/m);
    expect(metrics).to.match(/^cell_agent_ingress_requests_total\{result="no_endpoint"\} [1-9]/m);
  });
  it('terminates TLS on --ingress-tls-address with the Secret each host\'s Ingress names, picking up a renewed one', async () => {
    const ca = issueCertificate({ commonName: 'ingress test CA', usage: 'ca' });
    const pem = (name: string, pair: KeyPair) => {
      writeFileSync(path.join(root, `${name}.crt`), pair.certPem);
      writeFileSync(path.join(root, `${name}.key`), pair.keyPem);
      return [`--cert=${path.join(root, `${name}.crt`)}`, `--key=${path.join(root, `${name}.key`)}`];
    };
    await k('create', 'secret', 'tls', 'secure-tls', ...pem('secure', issueCertificate({ commonName: 'secure.example.com', usage: 'server', hosts: ['secure.example.com'] }, ca)));
    await k('create', 'secret', 'tls', 'wild-tls', ...pem('wild', issueCertificate({ commonName: '*.tls.example.com', usage: 'server', hosts: ['*.tls.example.com'] }, ca)));
    await k('create', 'ingress', 'secure', '--rule=secure.example.com/*=shop:80,tls=secure-tls', '--rule=*.tls.example.com/*=blog:web,tls=wild-tls');

    const secure = await waitFor(async () => {
      const r = await httpsRequest(tlsPort, 'secure.example.com', '/pay?x=1', ca.certPem).catch(() => undefined);
      return r?.status === 200 ? r : undefined;
    }, 'secure.example.com over TLS with its own certificate');
    expect(secure.cn).to.equal('secure.example.com');
    expect(secure.text).to.equal('shop-1 GET /pay?x=1 secure.example.com 0');
    const wild = await httpsRequest(tlsPort, 'api.tls.example.com', '/posts/2', ca.certPem);
    expect([wild.cn, wild.text]).to.deep.equal(['*.tls.example.com', 'blog-1 GET /posts/2 api.tls.example.com 0']);
    // A host no Ingress has a certificate for gets the fallback certificate, and is routed as on HTTP.
    const other = await httpsRequest(tlsPort, 'nocert.example.org', '/');
    expect([other.cn, other.status]).to.deep.equal(['ingress.local', 404]);
    const untrusted = await rejection(httpsRequest(tlsPort, 'nocert.example.org', '/', ca.certPem));
    expect(String(untrusted)).to.match(/self.signed|unable to verify|certificate/i);
    // The same routes still answer on the HTTP address.
    expect((await get('secure.example.com', '/pay')).text).to.equal('shop-1 GET /pay secure.example.com 0');

    // A renewed certificate in the same Secret is served once the agent reads it again (at the
    // latest a minute on; at once when the Ingresses change, as here).
    const renewed = issueCertificate({ commonName: 'secure.example.com', usage: 'server', hosts: ['secure.example.com'] }, ca);
    const replaced = await run(kubectl!, ['--kubeconfig', kubeconfig, 'create', 'secret', 'tls', 'secure-tls', ...pem('renewed', renewed), '--dry-run=client', '-o', 'yaml']);
    writeFileSync(path.join(root, 'renewed-secret.yaml'), replaced.stdout);
    await k('replace', '-f', path.join(root, 'renewed-secret.yaml'));
    await k('annotate', 'ingress', 'secure', 'renewed=yes');
    await waitFor(async () => (await httpsRequest(tlsPort, 'secure.example.com', '/', ca.certPem)).serial !== secure.serial, 'the renewed certificate served');

    // The node reads exactly the Secrets cell's Ingresses name for TLS, and no others.
    const node = api.client(TEST_TOKENS.node1);
    const secret = (name: string) => ({ version: 'v1', resource: 'secrets', namespace: 'default', name });
    expect((await node.get<{ type: string }>(secret('secure-tls'))).type).to.equal('kubernetes.io/tls');
    await k('create', 'secret', 'tls', 'theirs-tls', ...pem('theirs', issueCertificate({ commonName: 'theirs.example.com', usage: 'server', hosts: ['theirs.example.com'] }, ca)));
    await k('create', 'ingress', 'theirs-tls', '--class=other', '--rule=theirs.example.com/*=shop:80,tls=theirs-tls');
    await k('create', 'secret', 'generic', 'unrelated', '--from-literal=a=b');
    for (const name of ['theirs-tls', 'unrelated']) {
      const refused = await refusal(node.get(secret(name)));
      expect(refused, name).to.be.instanceOf(ForbiddenError);
      expect(refused.message).to.contain("no relationship found between node 'node-1' and this object");
    }
  });
});
