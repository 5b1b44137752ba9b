// The client's failover between API servers, over real HTTP: a create goes to the next server only
// when it certainly never reached the first (connection refused); a create the first server took
// but did not answer (a timeout) is not sent again, since a second create of a generateName object
// would make a second object. A server that answers 503 is left for the next one.
import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiClient } from '../../shared/client/http-client.js';
import { UnavailableError, UnreachableError } from '../../shared/errors.js';

interface FakeServer {
  url: string;
  posts: number;
  requests: number;
  close(): Promise<void>;
}

/**
 * An HTTP server that counts requests and answers each with the object (201 for a POST); with
 * `hang` it never answers, with `unavailable` it answers 503, as a server whose store is
 * unreachable does.
 */
async function fakeServer(mode: 'answer' | 'hang' | 'unavailable' | boolean): Promise<FakeServer> {
  const behaviour = mode === true ? 'hang' : mode === false ? 'answer' : mode;
  const state = { posts: 0, requests: 0 };
  const sockets = new Set<import('node:net').Socket>();
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      state.requests++;
      if (req.method === 'POST') state.posts++;
      if (behaviour === 'hang') return;
      if (behaviour === 'unavailable') {
        res.writeHead(503, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ apiVersion: 'v1', kind: 'Status', status: 'Failure', reason: 'ServiceUnavailable', code: 503, message: 'etcd unavailable' }));
        return;
      }
      res.writeHead(req.method === 'POST' ? 201 : 200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `p-${state.posts}` } }));
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get posts() {
      return state.posts;
    },
    get requests() {
      return state.requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A URL nothing listens on: a server started and closed again, so connecting is refused. */
async function refusingUrl(): Promise<string> {
  const s = await fakeServer(false);
  await s.close();
  return s.url;
}

const podRef = { resource: 'pods', namespace: 'default' };
const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { generateName: 'p-' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } };

describe('client failover between API servers', function () {
  this.timeout(20_000);
  const open: FakeServer[] = [];
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close();
  });

  it('sends a create to the next server when the first refused the connection', async () => {
    const b = await fakeServer(false);
    open.push(b);
    const client = new ApiClient({ servers: [await refusingUrl(), b.url], timeoutMs: 2_000 });
    try {
      const created = await client.create<{ metadata: { name: string } }>(podRef, pod);
      expect(created.metadata.name).to.equal('p-1');
      expect(b.posts).to.equal(1);
    } finally {
      client.close();
    }
  });

  it('does not send a create again when the first server took it and did not answer in time', async () => {
    const a = await fakeServer(true);
    const b = await fakeServer(false);
    open.push(a, b);
    const client = new ApiClient({ servers: [a.url, b.url], timeoutMs: 300 });
    try {
      const err = await client.create(podRef, pod).then(() => undefined, (e: unknown) => e);
      expect(err).to.be.instanceOf(UnavailableError);
      expect(err).to.not.be.instanceOf(UnreachableError);
      expect(a.posts, 'the first server got the create').to.equal(1);
      expect(b.posts, 'and it was not sent again').to.equal(0);
      // The client has moved on: its next request goes to the second server.
      const next = await client.create<{ metadata: { name: string } }>(podRef, pod);
      expect(next.metadata.name).to.equal('p-1');
      expect(a.posts).to.equal(1);
    } finally {
      client.close();
    }
  });

  it('moves on from a server that answers 503 (up, but its store unreachable): a GET is tried on the next at once, a create is not sent again', async () => {
    const a = await fakeServer('unavailable');
    const b = await fakeServer('answer');
    open.push(a, b);
    const client = new ApiClient({ servers: [a.url, b.url], timeoutMs: 2_000 });
    try {
      const got = await client.get<{ metadata: { name: string } }>({ ...podRef, name: 'p-0' });
      expect(got.metadata.name).to.equal('p-0');
      expect(a.requests, 'the first server was asked once').to.equal(1);
      expect(b.requests, 'then the second').to.equal(1);

      const other = new ApiClient({ servers: [a.url, b.url], timeoutMs: 2_000 });
      try {
        const err = await other.create(podRef, pod).then(() => undefined, (e: unknown) => e);
        expect(err, 'a create answered 503 fails to its caller').to.be.instanceOf(UnavailableError);
        expect(b.posts, 'and is not sent again').to.equal(0);
        await other.create(podRef, pod);
        expect(a.posts, 'the next create goes to the second server').to.equal(1);
        expect(b.posts).to.equal(1);
      } finally {
        other.close();
      }
    } finally {
      client.close();
    }
  });
});
