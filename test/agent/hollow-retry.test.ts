// Hollow mode tries a pod's failed write again. A pod status write (a PATCH) whose connection
// breaks is not retried by the client — it may have been done — and no new watch event comes for
// a pod that is only waiting to start, so a hollow node used to leave it Pending for good (a pod
// bound while its API server was being killed, in the chaos run). Here a proxy in front of the API
// server breaks the connection of chosen PATCHes, unanswered and never forwarded.
import { expect } from 'chai';
import http from 'node:http';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { listenOnLoopback, relay } from '../clients/http-proxy.js';
import { createPod, pod, startAgent, waitFor, waitPod, type AgentProcess } from './helpers.js';

/** Relays every request to `target`, except that each PATCH for which `drop` holds is cut. */
async function startDroppingProxy(target: URL, drop: (path: string) => boolean): Promise<{ url: string; dropped: string[]; close(): Promise<void> }> {
  const dropped: string[] = [];
  const agent = new http.Agent({ keepAlive: true });
  const server = http.createServer((req, res) => {
    const path = req.url ?? '/';
    if (req.method === 'PATCH' && drop(path)) {
      dropped.push(path);
      req.socket.destroy();
      return;
    }
    const out = http.request({ host: target.hostname, port: target.port, method: req.method, path, headers: { ...req.headers, host: target.host }, agent }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    relay(req, res, out);
  });
  const port = await listenOnLoopback(server);
  return {
    url: `http://127.0.0.1:${port}`,
    dropped,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}

describe('cell-agent hollow mode: failed pod writes are tried again', function () {
  this.timeout(60_000);
  let api: TestApiServer;
  let proxy: Awaited<ReturnType<typeof startDroppingProxy>>;
  let agent: AgentProcess | undefined;
  /** Per pod name, which of its status PATCHes (1, 2, …) the proxy cuts. */
  const toDrop = new Map<string, number[]>();
  const patches = new Map<string, number>();

  before(async () => {
    api = await startTestApiServer({ backend: 'etcd' });
    proxy = await startDroppingProxy(new URL(api.url), (path) => {
      const name = /\/pods\/([^/?]+)\/status/.exec(path)?.[1];
      if (name === undefined) return false;
      const nth = (patches.get(name) ?? 0) + 1;
      patches.set(name, nth);
      return toDrop.get(name)?.includes(nth) ?? false;
    });
    agent = startAgent([`--server=${proxy.url}`, '--hollow-nodes=1', '--node-prefix=retry-', '--node-ip=127.0.0.1']);
    await waitFor(async () => {
      const nodes = await api.client().list<{ items: { status: { conditions?: { type: string; status: string }[] } }[] }>({ resource: 'nodes' });
      return nodes.items.some((n) => n.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    }, 'the hollow node Ready', 30_000, 100);
  });

  after(async () => {
    await agent?.stop();
    await proxy?.close();
    await api?.close();
  });

  it('a pod whose Running write was cut goes Running; one whose Succeeded write was cut Succeeds', async () => {
    const client = api.client();
    toDrop.set('starts', [1, 2]);
    await createPod(client, pod('starts', { node: 'retry-0', command: ['x'] }));
    const running = await waitPod(client, 'starts', (p) => p.status.phase === 'Running', 'Running');
    expect(running.status.containerStatuses?.[0]?.state?.running).to.not.equal(undefined);

    // The first write (Running) goes through; the second (Succeeded, after 1 s) is cut.
    toDrop.set('finishes', [2]);
    await createPod(client, pod('finishes', { node: 'retry-0', command: ['x'], restartPolicy: 'Never', annotations: { 'cell.dev/run-seconds': '1' } }));
    await waitPod(client, 'finishes', (p) => p.status.phase === 'Succeeded', 'Succeeded');

    expect(proxy.dropped.filter((p) => p.includes('/pods/starts/')), 'Running writes cut').to.have.length(2);
    expect(proxy.dropped.filter((p) => p.includes('/pods/finishes/')), 'Succeeded writes cut').to.have.length(1);
  });
});
