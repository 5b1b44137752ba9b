// The API server serves the built dashboard at /ui/: public static files (with auth on, the page
// loads without a token but the API it calls does not answer), content types, cache headers, the
// index.html fallback for client routes, the /ui redirect, and clear errors (not built, missing
// file, path traversal, wrong method).
import { expect } from 'chai';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createDashboardHandler, defaultDashboardDir } from '../../apiserver/http/dashboard.js';
import { createLogger } from '../../shared/logging.js';
import { startTestApiServer, TEST_TOKENS, type TestApiServer } from '../harness/apiserver.js';
import { buildDashboardOnce } from './build.js';

/**
 * A raw request (no redirect following, and the path sent exactly as written: a URL object would
 * resolve `%2e%2e` segments before sending), for exact status codes and headers.
 */
function get(url: string, method = 'GET'): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const m = /^http:\/\/([^/:]+):(\d+)(\/.*)$/.exec(url);
  if (!m) throw new Error(`not an http URL with a path: ${url}`);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: m[1], port: Number(m[2]), path: m[3], method }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('dashboard: static files at /ui/', function () {
  this.timeout(30_000);
  let api: TestApiServer;
  let script: string;

  before(async () => {
    buildDashboardOnce();
    script = readdirSync(path.join(defaultDashboardDir(), 'assets')).find((f) => f.startsWith('app-') && f.endsWith('.js')) ?? '';
    expect(script, 'the build wrote an app bundle').to.not.equal('');
    api = await startTestApiServer({ backend: 'etcd', auth: true });
  });
  after(async () => api?.close());

  it('serves index.html at /ui/ without a token while the API still demands one', async () => {
    const page = await get(`${api.url}/ui/`);
    expect(page.status).to.equal(200);
    expect(page.headers['content-type']).to.equal('text/html; charset=utf-8');
    expect(page.headers['cache-control']).to.equal('no-cache');
    expect(page.headers['content-security-policy']).to.include("default-src 'self'");
    expect(page.body).to.include(`/ui/assets/${script}`);
    const pods = await get(`${api.url}/api/v1/pods`);
    expect(pods.status).to.equal(401);
    const withToken = await fetch(`${api.url}/api/v1/pods`, { headers: { Authorization: `Bearer ${TEST_TOKENS.viewer}` } });
    expect(withToken.status).to.equal(200);
  });

  it('serves hashed assets with their content type, cached for good; HEAD has no body', async () => {
    const js = await get(`${api.url}/ui/assets/${script}`);
    expect(js.status).to.equal(200);
    expect(js.headers['content-type']).to.equal('text/javascript; charset=utf-8');
    expect(js.headers['cache-control']).to.equal('public, max-age=31536000, immutable');
    expect(js.body.length).to.equal(Number(js.headers['content-length']));
    const css = readdirSync(path.join(defaultDashboardDir(), 'assets')).find((f) => f.endsWith('.css')) ?? '';
    expect((await get(`${api.url}/ui/assets/${css}`)).headers['content-type']).to.equal('text/css; charset=utf-8');
    const head = await get(`${api.url}/ui/assets/${script}`, 'HEAD');
    expect(head.status).to.equal(200);
    expect(head.body).to.equal('');
  });

  it('answers client routes with index.html and redirects /ui to /ui/ (keeping the query)', async () => {
    for (const route of ['/ui/pods', '/ui/pods/default/web-1', '/ui/nodes/node-7', '/ui/events']) {
      const r = await get(`${api.url}${route}`);
      expect(r.status, route).to.equal(200);
      expect(r.body, route).to.include(`/ui/assets/${script}`);
    }
    const redirect = await get(`${api.url}/ui?x=1`);
    expect(redirect.status).to.equal(301);
    expect(redirect.headers.location).to.equal('/ui/?x=1');
  });

  it('answers a missing file, a path out of the root and a write with a Status', async () => {
    const missing = await get(`${api.url}/ui/assets/nope.js`);
    expect(missing.status).to.equal(404);
    expect(JSON.parse(missing.body)).to.include({ kind: 'Status', reason: 'NotFound' });
    for (const sneaky of ['/ui/..%2f..%2fpackage.json', '/ui/%2e%2e/%2e%2e/package.json', '/ui/assets/%00.js']) {
      const r = await get(`${api.url}${sneaky}`);
      expect(r.status, sneaky).to.equal(404);
      expect(r.body, sneaky).to.not.include('"name": "cell"');
    }
    const post = await get(`${api.url}/ui/`, 'POST');
    expect(post.status).to.equal(405);
    expect(post.headers.allow).to.equal('GET, HEAD');
  });

  it('says how to build the dashboard when it is not built', async () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), 'cell-no-dashboard-'));
    const handler = createDashboardHandler(empty, createLogger('test', 'error'));
    const server = http.createServer((req, res) => void handler.handle(req, res, new URL(req.url ?? '/', 'http://x').pathname));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      for (const p of ['/ui/', '/ui/pods', '/ui/assets/app.js']) {
        const r = await get(`${url}${p}`);
        expect(r.status, p).to.equal(404);
        expect(JSON.parse(r.body).message, p).to.match(/dashboard is not built: run `npm run build:dashboard`/);
      }
    } finally {
      server.close();
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
