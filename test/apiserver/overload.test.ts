// Past --max-requests-inflight the server sheds load with 429 + Retry-After instead of queueing,
// watches do not hold slots, and the project's client backs off and gets through.
import http from 'node:http';
import { expect } from 'chai';
import { ApiClient } from '../../shared/client/http-client.js';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { podObject, pool } from '../placement/fixtures.js';
import { waitFor } from './helpers.js';

describe('overload (etcd)', function () {
  this.timeout(60_000);
  let t: TestApiServer;
  before(async () => {
    t = await startTestApiServer({ backend: 'etcd', maxRequestsInflight: 4 });
    // The tiny in-flight limit may refuse some of these creates too: a retrying client gets through.
    const client = new ApiClient({ servers: [t.url], retries: 20 });
    await pool(200, 8, (i) => client.create({ namespace: 'default', resource: 'pods' }, podObject(`p${i}`, '10m')).then(() => undefined));
  });
  after(async () => t.close());

  it('answers 429 with Retry-After past the limit, and stays up', async () => {
    // Four creates whose bodies never finish hold the four slots for as long as the test wants —
    // whatever the machine's speed, which decides how many of a burst of quick requests overlap.
    const u = new URL(t.url);
    const held = Array.from({ length: 4 }, () => {
      const req = http.request({ host: u.hostname, port: u.port, method: 'POST', path: '/api/v1/namespaces/default/pods', agent: false, headers: { 'content-type': 'application/json', 'content-length': '1000' } });
      req.on('error', () => undefined); // destroyed below, on purpose
      req.write('{');
      return req;
    });
    try {
      // Once the held creates have reached the server, a list finds no slot.
      const refused = await waitFor('a list refused while the held creates take every slot', async () => {
        const res = await fetch(`${t.url}/api/v1/namespaces/default/pods`);
        if (res.status === 429) return res;
        expect(res.status).to.equal(200);
        await res.arrayBuffer();
        return undefined;
      });
      expect(refused.headers.get('retry-after')).to.equal('1');
      const body = (await refused.json()) as { kind?: string; reason?: string };
      expect(body.kind).to.equal('Status');
      expect(body.reason).to.equal('TooManyRequests');
      expect((await fetch(`${t.url}/readyz`)).status).to.equal(200);
    } finally {
      for (const req of held) req.destroy();
    }

    // Their clients gave up: the slots come back, and a burst is served or refused, nothing else.
    await waitFor('the held slots to come back', async () => (await fetch(`${t.url}/api/v1/namespaces/default/pods?limit=1`)).status === 200);
    const statuses = await Promise.all(Array.from({ length: 60 }, async () => (await fetch(`${t.url}/api/v1/namespaces/default/pods`)).status));
    expect(statuses.every((s) => s === 200 || s === 429), `statuses ${statuses.join(',')}`).to.equal(true);
    expect((await fetch(`${t.url}/readyz`)).status).to.equal(200);
  });

  it('open watches do not use up the in-flight slots', async () => {
    const controllers = Array.from({ length: 10 }, () => new AbortController());
    const opened = await Promise.all(controllers.map((c) => fetch(`${t.url}/api/v1/namespaces/default/pods?watch=true&resourceVersion=0`, { signal: c.signal })));
    expect(opened.every((r) => r.status === 200)).to.equal(true);
    const res = await fetch(`${t.url}/api/v1/namespaces/default/pods?limit=1`);
    expect(res.status).to.equal(200);
    controllers.forEach((c) => c.abort());
  });

  it('the client backs off on 429 and every request gets through', async () => {
    const client = new ApiClient({ servers: [t.url], retries: 20 });
    const results = await Promise.all(Array.from({ length: 60 }, () => client.list<{ items: unknown[] }>({ namespace: 'default', resource: 'pods' })));
    expect(results.every((r) => r.items.length === 200)).to.equal(true);
  });
});
