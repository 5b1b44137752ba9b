// The cluster's key for what API servers ask of agents (apiserver/auth/agent-proxy-key.ts): API
// server replicas started at once on one etcd prefix race to make it and end up with one, so an
// agent trusts whichever replica forwards a request; its public half is served to nodes (and
// admins), not to every user; the private half is in no API answer.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { PROXY_KEYS_PATH, checkProxySignature, publicKeyOf, type ProxyKeySet } from '../../shared/proxy-signature.js';
import { AgentProxyKey } from '../../apiserver/auth/agent-proxy-key.js';
import { EtcdStore } from '../../apiserver/storage/etcd.js';
import { createLogger } from '../../shared/logging.js';
import { etcdEndpoints, startTestApiServer, TEST_TOKENS, type TestApiServer } from '../harness/apiserver.js';

describe('the cluster key API servers sign requests to agents with', function () {
  this.timeout(30_000);
  let servers: TestApiServer[] = [];

  afterEach(async () => {
    await Promise.all(servers.map((s) => s.close()));
    servers = [];
  });

  it('is one key for every replica, however many start at once', async () => {
    const prefix = `/cell-test-${randomUUID()}`;
    servers = await Promise.all([0, 1, 2].map(() => startTestApiServer({ backend: 'etcd', auth: true, prefix })));
    const sets = await Promise.all(
      servers.map(async (s) => {
        const res = await fetch(`${s.url}${PROXY_KEYS_PATH}`, { headers: { Authorization: `Bearer ${TEST_TOKENS.node1}` } });
        expect(res.status).to.equal(200);
        return (await res.json()) as ProxyKeySet;
      }),
    );
    expect(sets[0]!.keys).to.have.length(1);
    expect(sets[1]).to.deep.equal(sets[0]);
    expect(sets[2]).to.deep.equal(sets[0]);
    expect(sets[0]!.keys[0]).to.not.have.property('d');

    // What one replica signs, an agent that read another replica's keys accepts.
    const store = new EtcdStore({ endpoints: etcdEndpoints(), prefix });
    try {
      const key = await AgentProxyKey.load(store, createLogger('test', 'error'));
      const path = '/exec/default/p/c?command=true&stdout=true';
      const headers = key.sign({ node: 'node-1', method: 'GET', path, user: 'alice' });
      const published = new Map(sets[1]!.keys.map((k) => [k.kid, publicKeyOf(k)]));
      expect(checkProxySignature(headers, { node: 'node-1', method: 'GET', path }, (kid) => published.get(kid))).to.include({ user: 'alice' });
    } finally {
      await store.close();
    }

    // Nodes and admins read the public keys; other users are not given them.
    const as = (token: string) => fetch(`${servers[0]!.url}${PROXY_KEYS_PATH}`, { headers: { Authorization: `Bearer ${token}` } }).then((r) => r.status);
    expect(await as(TEST_TOKENS.admin)).to.equal(200);
    expect(await as(TEST_TOKENS.viewer)).to.equal(403);
    expect(await as(TEST_TOKENS.nobody)).to.equal(403);
    expect(await as('no-such-token')).to.equal(401);
  });
});
