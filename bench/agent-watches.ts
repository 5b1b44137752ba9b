// `npm run bench:agent-watches`: the API server's CPU per pod while every node has an agent-style
// watch of its own pods (`spec.nodeName=<node>`, over HTTP), the fan-out bench:watch-filing
// measures in isolation, here through the whole server on real etcd. BENCH_NODES nodes, one watch
// each; BENCH_PODS pods created bound to the nodes in turn (32 in flight), then deleted; each watch
// must see exactly its node's creates and deletes. The server's CPU is read from /proc for the
// writes and their delivery.
//
// Environment: BENCH_NODES (2000), BENCH_PODS (4000), BENCH_SERVER_NODE_ARGS.
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import {
  benchNamespace,
  benchNode,
  cpuMs,
  env,
  etcdEndpoints,
  expectStatus,
  fmt,
  pod,
  pool,
  postCreated,
  request,
  startBenchApiServer,
  stopBenchApiServer,
} from './apiserver-client.js';

const NODES = env('BENCH_NODES', 2000);
const PODS = env('BENCH_PODS', 4000);
const NS = 'agent-watches';

/** Counts the events of one watch stream by their type, without parsing them. */
class NodeWatch {
  added = 0;
  deleted = 0;
  other = 0;
  private req: http.ClientRequest | undefined;

  open(agent: http.Agent, base: URL, path: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.req = http.get(new URL(path, base), { agent }, (res) => {
        if (res.statusCode !== 200) return reject(new Error(`watch ${path}: HTTP ${res.statusCode}`));
        let rest = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          const text = rest + chunk;
          const lines = text.split('\n');
          rest = lines.pop() ?? '';
          for (const line of lines) {
            if (line.startsWith('{"type":"ADDED"')) this.added++;
            else if (line.startsWith('{"type":"DELETED"')) this.deleted++;
            else if (line !== '' && !line.startsWith('{"type":"BOOKMARK"')) this.other++;
          }
        });
        res.on('error', () => undefined);
        resolve();
      });
      this.req.on('error', reject);
    });
  }

  close(): void {
    this.req?.destroy();
  }
}

async function main(): Promise<void> {
  const endpoints = etcdEndpoints('bench:agent-watches');
  const server = await startBenchApiServer(endpoints, `/bench-${randomUUID().slice(0, 8)}`);
  const pid = server.child.pid;
  const base = new URL(server.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const watchAgent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  const watches: NodeWatch[] = [];
  try {
    await benchNamespace(agent, base, NS);
    const resources = { cpu: '64', memory: '256Gi', pods: '500' };
    await pool(NODES, 32, (i) => postCreated(agent, base, '/api/v1/nodes', benchNode(i, resources)));
    const names = Array.from({ length: NODES }, (_, i) => benchNode(i, resources).metadata.name);
    const list = JSON.parse(expectStatus(await request(agent, base, 'GET', `/api/v1/namespaces/${NS}/pods`), 200, 'list').body.toString('utf8')) as {
      metadata: { resourceVersion: string };
    };
    for (let i = 0; i < NODES; i += 100) {
      await Promise.all(
        names.slice(i, i + 100).map((name) => {
          const w = new NodeWatch();
          watches.push(w);
          const selector = encodeURIComponent(`spec.nodeName=${name}`);
          return w.open(watchAgent, base, `/api/v1/namespaces/${NS}/pods?watch=true&fieldSelector=${selector}&resourceVersion=${list.metadata.resourceVersion}`);
        }),
      );
    }
    const cpu0 = cpuMs(pid);
    const t0 = performance.now();
    const body = (i: number) => {
      const p = pod(`p-${i}`);
      return { ...p, spec: { ...(p.spec as object), nodeName: names[i % NODES] } };
    };
    await pool(PODS, 32, (i) => postCreated(agent, base, `/api/v1/namespaces/${NS}/pods`, body(i)));
    await pool(PODS, 32, async (i) => {
      expectStatus(await request(agent, base, 'DELETE', `/api/v1/namespaces/${NS}/pods/p-${i}?gracePeriodSeconds=0`), 200, `delete p-${i}`);
    });
    const deadline = performance.now() + 30_000;
    const delivered = () => watches.reduce((n, w) => n + w.added + w.deleted, 0);
    while (delivered() < PODS * 2 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const wallMs = performance.now() - t0;
    const serverMs = cpuMs(pid) - cpu0;
    await new Promise((r) => setTimeout(r, 300)); // a late duplicate would count now
    const expected = (i: number) => Math.floor(PODS / NODES) + (i < PODS % NODES ? 1 : 0);
    const wrong = watches.filter((w, i) => w.added !== expected(i) || w.deleted !== expected(i) || w.other !== 0).length;
    console.log(`\ncell API server with one spec.nodeName watch per node (etcd ${endpoints.join(',')}, API server as a child process)\n`);
    console.log(`nodes (watches)  ${NODES}`);
    console.log(`pods             ${PODS} created bound, then deleted (${PODS * 2} events, each for one watch)`);
    console.log(`delivered        ${delivered()} of ${PODS * 2}; watches with a wrong count: ${wrong}`);
    console.log(`wall             ${fmt(wallMs / 1000, 1)} s`);
    console.log(`API server CPU   ${fmt(serverMs / 1000, 2)} s = ${fmt((serverMs * 1000) / PODS, 0)} µs per pod (create + delete + their delivery)`);
    if (wrong > 0 || delivered() !== PODS * 2) process.exitCode = 1;
  } finally {
    watches.forEach((w) => w.close());
    agent.destroy();
    watchAgent.destroy();
    await stopBenchApiServer(server);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
