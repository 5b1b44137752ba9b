// The request pipeline (apiserver/http/pipeline.ts) as a client sees it: each class of path gets
// exactly the steps it should — public paths no credentials, everything else authentication first,
// non-resource URLs RBAC nonResourceURLs before any 404, /audit its handler's resource check, and
// malformed resource URLs their error — with an Audit-Id and a request metric on every answer.
import { expect } from 'chai';
import { startTestApiServer, TEST_TOKENS, type TestApiServer } from '../harness/apiserver.js';
import { expectStatus, sendAs, waitFor, type Call } from './helpers.js';

describe('apiserver request pipeline (etcd)', function () {
  this.timeout(60_000);
  let t: TestApiServer;
  const as = (who: keyof typeof TEST_TOKENS | undefined, call: Call) => sendAs(t.url, who === undefined ? undefined : TEST_TOKENS[who], call);
  const get = (who: keyof typeof TEST_TOKENS | undefined, path: string) => as(who, { method: 'GET', path });

  before(async () => {
    t = await startTestApiServer({ backend: 'etcd', auth: true });
  });
  after(async () => {
    await t?.close();
  });

  it('serves the public paths without credentials, whatever their method', async () => {
    expect((await get(undefined, '/healthz')).status).to.equal(200);
    // Public, so no 401 — and nothing serves it, so 404.
    expectStatus(await as(undefined, { method: 'POST', path: '/healthz', body: {} }), 404, 'NotFound');
    // Only the exact spellings are public.
    expectStatus(await get(undefined, '/healthz/'), 401, 'Unauthorized');
    const ui = await get(undefined, '/ui');
    expect(ui.status).to.equal(301);
    expect(ui.headers.get('location')).to.equal('/ui/');
  });

  it('authorizes a non-resource URL by RBAC before answering that nothing is there', async () => {
    expectStatus(await get(undefined, '/no-such-path'), 401, 'Unauthorized');
    const forbidden = expectStatus(await get('nobody', '/no-such-path'), 403, 'Forbidden');
    expect(forbidden.message).to.equal('forbidden: User "nobody" cannot get path "/no-such-path"');
    expectStatus(await get('admin', '/no-such-path'), 404, 'NotFound');
    // Discovery is granted to every authenticated user; an unknown group is then a 404.
    expect((await get('nobody', '/apis')).status).to.equal(200);
    expectStatus(await get('nobody', '/apis/no.such.group'), 404, 'NotFound');
  });

  it('leaves /audit to its handler, which authorizes a read of nodeallocations, not a nonResourceURL', async () => {
    expectStatus(await get(undefined, '/audit'), 401, 'Unauthorized');
    // system:nodes may list nodeallocations and holds no nonResourceURL rule for /audit.
    const node = await get('node1', '/audit');
    expect(node.status, node.text.slice(0, 300)).to.equal(200);
    expect((node.body as { ok?: unknown }).ok).to.equal(true);
    const forbidden = expectStatus(await get('nobody', '/audit'), 403, 'Forbidden');
    expect(forbidden.message).to.not.contain('path "/audit"');
  });

  it('authorizes resource URLs as resource verbs, never as nonResourceURLs', async () => {
    const forbidden = expectStatus(await get('nobody', '/api/v1/nodes'), 403, 'Forbidden');
    expect(forbidden.message).to.contain('nodes').and.not.contain('path "');
    expect((await get('viewer', '/api/v1/nodes')).status).to.equal(200);
  });

  it('answers a malformed resource URL with its error, after authentication', async () => {
    for (const path of ['/api/v1/namespaces/%2e%2e/pods', '/api/v1/namespaces/%zz/pods']) {
      expectStatus(await get(undefined, path), 401, 'Unauthorized');
    }
    expectStatus(await get('admin', '/api/v1/namespaces/%2e%2e/pods'), 404, 'NotFound');
    expectStatus(await get('nobody', '/api/v1/namespaces/%2e%2e/pods'), 404, 'NotFound');
    expectStatus(await get('admin', '/api/v1/namespaces/%zz/pods'), 400, 'BadRequest');
  });

  it('gives every answer an Audit-Id and counts it under the verb and resource it addressed', async () => {
    const answers = await Promise.all([
      get(undefined, '/healthz'),
      get(undefined, '/ui'),
      get(undefined, '/api/v1/nodes'),
      get('admin', '/api/v1/namespaces/default/pods'),
      get('admin', '/api/v1/namespaces/default/pods/none'),
      get('admin', '/api/v1'),
      get('admin', '/no-such-path'),
    ]);
    const ids = answers.map((a) => a.headers.get('audit-id'));
    for (const id of ids) expect(id).to.match(/^[0-9a-f-]{36}$/);
    expect(new Set(ids).size).to.equal(ids.length);

    const want = [
      { verb: 'list', resource: 'pods', subresource: '', code: '200' },
      { verb: 'get', resource: 'pods', subresource: '', code: '404' },
      { verb: 'get', resource: '', subresource: '', code: '401' },
      { verb: 'get', resource: '', subresource: '', code: '404' },
      { verb: 'get', resource: '', subresource: '', code: '301' },
    ] as const;
    const key = (l: { verb?: unknown; resource?: unknown; subresource?: unknown; code?: unknown }) => `${String(l.verb)} ${String(l.resource)} ${String(l.subresource)} ${String(l.code)}`;
    await waitFor('the request metrics of every answer', async () => {
      const counted = new Set((await t.server.metrics.requests.get()).values.filter((v) => v.value >= 1).map((v) => key(v.labels)));
      return want.every((w) => counted.has(key(w)));
    });
  });
});
