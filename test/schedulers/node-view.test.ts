// The scheduler's pod and node watches are separate streams: a pod can reach it before a node that
// was written ahead of the pod. A pod's first FailedScheduling verdict must still count that node.
// Here the scheduler talks to the API server through a proxy that holds back the node watch, so the
// pod arrives first every time (on a loaded CI machine it sometimes does by itself).
import { expect } from 'chai';
import http from 'node:http';
import { listenOnLoopback, relay } from '../clients/http-proxy.js';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { createNamespace, createNodes, createPods, eventMessages, nodeObject, podObject, waitFor } from './helpers.js';
import { startSchedulerProcess, type SchedulerProcess } from './scheduler-process.js';

interface NodeWatchGate {
  url: string;
  /** Node lists (not watches) that went through, e.g. the scheduler checking its node view. */
  readonly nodeLists: number;
  /** Hold what node watches send from now on… */
  hold(): void;
  /** …and send it on, in order. */
  release(): void;
  close(): Promise<void>;
}

async function startNodeWatchGate(upstream: string): Promise<NodeWatchGate> {
  const target = new URL(upstream);
  let holding = false;
  let held: (() => void)[] = [];
  let nodeLists = 0;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', upstream);
    const isNodes = url.pathname === '/api/v1/nodes' && req.method === 'GET';
    const nodeWatch = isNodes && url.searchParams.get('watch') === 'true';
    if (isNodes && !nodeWatch) nodeLists++;
    const out = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      if (!nodeWatch) {
        up.pipe(res);
        return;
      }
      const send = (fn: () => void) => (holding ? held.push(fn) : fn());
      up.on('data', (chunk: Buffer) => send(() => res.write(chunk)));
      up.on('end', () => send(() => res.end()));
    });
    relay(req, res, out);
  });
  const port = await listenOnLoopback(server);
  return {
    url: `http://127.0.0.1:${port}`,
    get nodeLists() {
      return nodeLists;
    },
    hold() {
      holding = true;
    },
    release() {
      holding = false;
      const pending = held;
      held = [];
      for (const fn of pending) fn();
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('scheduler: a node view older than the pod', function () {
  this.timeout(60_000);
  const ns = 'node-view';
  let api: TestApiServer;
  let gate: NodeWatchGate;
  let sched: SchedulerProcess;

  before(async () => {
    api = await startTestApiServer({ backend: 'etcd' });
    gate = await startNodeWatchGate(api.url);
    await createNamespace(api.client(), ns);
    await createNodes(api.client(), [nodeObject('open')]);
    sched = await startSchedulerProcess({ server: gate.url });
  });
  after(async () => {
    gate?.release();
    await sched?.stop();
    await gate?.close();
    await api?.close();
  });

  it('a pod that arrives before a node written ahead of it is diagnosed against that node too', async () => {
    const client = api.client();
    // Ready means the informers have listed: the scheduler knows "open"; "gpu" comes only by watch.
    gate.hold();
    await createNodes(client, [nodeObject('gpu', { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] })]);
    await createPods(client, ns, [podObject('wants-gpu-node', { spec: { nodeSelector: { 'kubernetes.io/hostname': 'gpu' } } })]);
    const listsBefore = gate.nodeLists;
    // The scheduler has taken the pod up: it checks its node view with a list (or, without that
    // check, it has already reported a verdict).
    await waitFor('the scheduler to take up the pod', async () =>
      gate.nodeLists > listsBefore || (await eventMessages(client, ns, 'wants-gpu-node', 'FailedScheduling')).length > 0,
    );
    gate.release();
    const messages = await waitFor('a FailedScheduling event', async () => {
      const m = await eventMessages(client, ns, 'wants-gpu-node', 'FailedScheduling');
      return m.length > 0 ? m : undefined;
    });
    for (const m of messages) {
      expect(m).to.match(/^0\/2 nodes are available: 1 node\(s\) didn't match Pod's node affinity\/selector, 1 node\(s\) had untolerated taint \{dedicated: gpu\}\./);
    }
  });
});
