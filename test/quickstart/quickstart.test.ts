// The README's quick start, as a newcomer runs it: `npm start` (deploy/local-cluster.ts) brings up
// the whole cluster, cellctl finds 3 Ready nodes, the examples run (a pod to completion with its
// logs, two schedulers, a gang, preemption, a custom resource), a Service's cluster IP answers, an
// Ingress answers over HTTP and HTTPS, and SIGTERM leaves no process behind. Run once on
// etcd and once on the memory store (CELL_NO_ETCD=1 makes the launcher behave as if no etcd binary
// were on PATH; hiding /usr/bin itself would hide node too). The state dir is a temp dir, not .cell/.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { ApiClient } from '../../shared/client/http-client.js';
import { loadKubeconfig } from '../../shared/client/kubeconfig.js';

const run = promisify(execFile);
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Processes whose command line mentions `needle`. */
async function processesWith(needle: string): Promise<string[]> {
  const { stdout } = await run('ps', ['-eo', 'pid,args']);
  return stdout.split('\n').filter((l) => l.includes(needle) && !l.includes('ps -eo'));
}

for (const store of ['etcd', 'memory'] as const) {
  describe(`quick start: npm start (${store})`, function () {
    this.timeout(240_000);
    let state: string;
    let launcher: ChildProcess;
    let output = '';

    const cellctl = async (...args: string[]) => {
      const { stdout } = await run(process.execPath, ['--import', 'tsx', path.join(REPO, 'cli/main.ts'), ...args], {
        cwd: REPO,
        env: { ...process.env, CELLCONFIG: path.join(state, 'kubeconfig'), NO_COLOR: '1' },
      });
      return stdout;
    };
    const phase = async (pod: string) => (await cellctl('get', 'pod', pod, '-o', 'jsonpath={.status.phase}')).trim();
    const nodeOf = async (pod: string) => (await cellctl('get', 'pod', pod, '-o', 'jsonpath={.spec.nodeName}')).trim();

    before(async () => {
      state = mkdtempSync(path.join(os.tmpdir(), 'cell-quickstart-'));
      launcher = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'deploy/local-cluster.ts')], {
        cwd: REPO,
        env: { ...process.env, CELL_STATE_DIR: state, ...(store === 'memory' ? { CELL_NO_ETCD: '1' } : {}) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      launcher.stdout!.on('data', (d: Buffer) => (output += d.toString()));
      launcher.stderr!.on('data', (d: Buffer) => (output += d.toString()));
      await until('the cluster to be ready', async () => (output.includes('Ctrl-C stops everything') ? true : launcher.exitCode !== null ? Promise.reject(new Error(output)) : undefined), 120_000);
    });

    after(async () => {
      if (launcher.exitCode === null) {
        launcher.kill('SIGKILL');
      }
      // Anything the launcher started and left behind would show up in the next test's ps check.
      for (const line of await processesWith(state)) {
        const pid = Number(line.trim().split(/\s+/)[0]);
        if (pid) process.kill(pid, 'SIGKILL');
      }
      rmSync(state, { recursive: true, force: true });
    });

    it('says what runs and what to try', () => {
      expect(output).to.contain('API server');
      expect(output).to.contain('npx cellctl get nodes');
      if (store === 'memory') expect(output).to.contain('in memory');
      else expect(output).to.contain('etcd at 127.0.0.1');
    });

    it('cellctl get nodes shows 3 Ready nodes', async () => {
      const out = await cellctl('get', 'nodes');
      const ready = out.split('\n').filter((l) => /^node-\d\s+Ready\s/.test(l));
      expect(ready, out).to.have.length(3);
    });

    it('examples/pod.yaml runs to completion and its logs are readable', async () => {
      expect(await cellctl('apply', '-f', 'examples/pod.yaml')).to.contain('pod/hello created');
      await until('hello to succeed', async () => ((await phase('hello')) === 'Succeeded' ? true : undefined), 90_000);
      const logs = await cellctl('logs', 'hello');
      expect(logs).to.match(/hello from .* at \d\d:\d\d:\d\d\nbye\n/);
    });

    it('examples/two-schedulers.yaml: each scheduler binds its own pods', async () => {
      await cellctl('apply', '-f', 'examples/two-schedulers.yaml');
      for (const pod of ['service-1', 'service-2', 'batch-1', 'batch-2']) {
        await until(`${pod} to be bound`, async () => ((await nodeOf(pod)) !== '' ? true : undefined), 60_000);
      }
      // Which nodes each policy picks is asserted by the scheduler tests (test/schedulers/profiles).
    });

    it('examples/gang.yaml: the whole gang is placed', async () => {
      await cellctl('apply', '-f', 'examples/gang.yaml');
      for (const pod of ['trainer-0', 'trainer-1', 'trainer-2']) {
        await until(`${pod} to be bound`, async () => ((await nodeOf(pod)) !== '' ? true : undefined), 60_000);
      }
    });

    it('examples/taint-toleration.yaml: the tolerating pod runs on the tainted node', async () => {
      const kc = loadKubeconfig(path.join(state, 'kubeconfig'));
      const client = new ApiClient({ servers: kc.servers, ...(kc.token ? { token: kc.token } : {}), ...(kc.tls ? { tls: kc.tls } : {}) });
      await client.patch({ resource: 'nodes', name: 'node-3' }, { spec: { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] } });
      client.close();
      await cellctl('apply', '-f', 'examples/taint-toleration.yaml');
      await until('gpu-job to succeed', async () => ((await phase('gpu-job')) === 'Succeeded' ? true : undefined), 60_000);
      expect(await nodeOf('gpu-job')).to.equal('node-3');
    });

    it('examples/preemption.yaml: the important pod evicts one low-priority filler', async () => {
      // The example assumes an empty cluster of three untainted nodes, as its comment says.
      const kc = loadKubeconfig(path.join(state, 'kubeconfig'));
      const client = new ApiClient({ servers: kc.servers, ...(kc.token ? { token: kc.token } : {}), ...(kc.tls ? { tls: kc.tls } : {}) });
      await client.patch({ resource: 'nodes', name: 'node-3' }, { spec: { taints: null } });
      client.close();
      await cellctl('delete', 'pods', '--all', '--wait', '--timeout=60s');
      await cellctl('apply', '-f', 'examples/preemption-fillers.yaml');
      for (const f of ['filler-1', 'filler-2', 'filler-3']) {
        await until(`${f} to be bound`, async () => ((await nodeOf(f)) !== '' ? true : undefined), 60_000);
      }
      await cellctl('apply', '-f', 'examples/preemption.yaml');
      await until('important to be bound', async () => ((await nodeOf('important')) !== '' ? true : undefined), 90_000);
      const fillers = await Promise.all(['filler-1', 'filler-2', 'filler-3'].map(async (f) => {
        try {
          return (await cellctl('get', 'pod', f, '-o', 'jsonpath={.metadata.deletionTimestamp}')).trim() === '' ? 'kept' : 'evicted';
        } catch {
          return 'evicted'; // already gone
        }
      }));
      expect(fillers.filter((f) => f === 'evicted').length, fillers.join(',')).to.be.greaterThan(0);
    });

    it('a Service\'s loopback cluster IP answers from this host, and the kubernetes Service leads to the API server', async () => {
      const kc = loadKubeconfig(path.join(state, 'kubeconfig'));
      const client = new ApiClient({ servers: kc.servers, ...(kc.token ? { token: kc.token } : {}), ...(kc.tls ? { tls: kc.tls } : {}) });
      // A backend outside the cluster, behind a Service without a selector and Endpoints written by hand.
      const backend = http.createServer((_req, res) => res.end('backend\n'));
      await new Promise<void>((r) => backend.listen(0, '127.0.0.1', () => r()));
      try {
        const port = (backend.address() as AddressInfo).port;
        const svc = await client.create<{ spec: { clusterIP: string } }>({ resource: 'services', namespace: 'default' }, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'outside' }, spec: { ports: [{ port: 8080 }] } });
        await client.create({ resource: 'endpoints', namespace: 'default' }, { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'outside' }, subsets: [{ addresses: [{ ip: '127.0.0.1' }], ports: [{ port }] }] });
        expect(svc.spec.clusterIP).to.match(/^127\.96\./);
        const body = await until('the cluster IP answering', async () => {
          const res = await fetch(`http://${svc.spec.clusterIP}:8080/`);
          return res.ok ? res.text() : undefined;
        });
        expect(body).to.equal('backend\n');
        const kubernetes = await client.get<{ spec: { clusterIP: string } }>({ resource: 'services', namespace: 'default', name: 'kubernetes' });
        expect(kubernetes.spec.clusterIP).to.equal('127.96.0.1');
        const eps = await client.get<{ subsets: { addresses: { ip: string }[]; ports: { port: number }[] }[] }>({ resource: 'endpoints', namespace: 'default', name: 'kubernetes' });
        expect(eps.subsets.map((s) => [s.addresses.map((a) => a.ip), s.ports.map((p) => p.port)])).to.deep.equal([[['127.0.0.1'], [Number(new URL(kc.servers[0]!).port)]]]);
        await client.delete({ resource: 'services', namespace: 'default', name: 'outside' });
      } finally {
        client.close();
        backend.close();
      }
    });

    it('the agents serve Ingresses at the HTTP and HTTPS addresses it printed', async () => {
      const m = /ingress\s+http:\/\/127\.0\.0\.1:(\d+)\/ and https:\/\/127\.0\.0\.1:(\d+)\//.exec(output);
      expect(m, output).to.not.equal(null);
      const [httpPort, httpsPort] = [Number(m![1]), Number(m![2])];
      const kc = loadKubeconfig(path.join(state, 'kubeconfig'));
      const client = new ApiClient({ servers: kc.servers, ...(kc.token ? { token: kc.token } : {}), ...(kc.tls ? { tls: kc.tls } : {}) });
      const backend = http.createServer((req, res) => res.end(`backend ${String(req.headers['x-forwarded-proto'])}\n`));
      await new Promise<void>((r) => backend.listen(0, '127.0.0.1', () => r()));
      try {
        const port = (backend.address() as AddressInfo).port;
        await client.create({ resource: 'services', namespace: 'default' }, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'routed' }, spec: { ports: [{ port: 80 }] } });
        await client.create({ resource: 'endpoints', namespace: 'default' }, { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'routed' }, subsets: [{ addresses: [{ ip: '127.0.0.1' }], ports: [{ port }] }] });
        await client.create({ group: 'networking.k8s.io', version: 'v1', resource: 'ingresses', namespace: 'default' }, {
          apiVersion: 'networking.k8s.io/v1',
          kind: 'Ingress',
          metadata: { name: 'routed' },
          spec: { rules: [{ host: 'quick.local', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'routed', port: { number: 80 } } } }] } }] },
        });
        // fetch() will not send a Host header of its own: node's http and https clients do.
        const ask = (tls: boolean) =>
          new Promise<{ text: string; cn: string } | undefined>((resolve) => {
            const opts = { host: '127.0.0.1', port: tls ? httpsPort : httpPort, headers: { host: 'quick.local' }, agent: false };
            const done = (res: http.IncomingMessage) => {
              const cn = tls ? String((res.socket as TLSSocket).getPeerCertificate().subject?.CN ?? '') : '';
              let text = '';
              res.on('data', (c: Buffer) => (text += c.toString()));
              res.on('end', () => resolve(res.statusCode === 200 ? { text, cn } : undefined));
            };
            const req = tls ? https.get({ ...opts, servername: 'quick.local', rejectUnauthorized: false }, done) : http.get(opts, done);
            req.on('error', () => resolve(undefined));
          });
        expect(await until('the ingress answering over HTTP', () => ask(false))).to.deep.equal({ text: 'backend http\n', cn: '' });
        // No Secret names quick.local: the agents' fallback certificate, and the same route.
        expect(await until('the ingress answering over HTTPS', () => ask(true))).to.deep.equal({ text: 'backend https\n', cn: 'ingress.local' });
        await client.delete({ group: 'networking.k8s.io', version: 'v1', resource: 'ingresses', namespace: 'default', name: 'routed' });
        await client.delete({ resource: 'services', namespace: 'default', name: 'routed' });
      } finally {
        client.close();
        backend.close();
      }
    });

    it('examples/crd.yaml adds a kind that examples/backup.yaml makes an object of, and cellctl lists it with its columns', async () => {
      expect(await cellctl('apply', '-f', 'examples/crd.yaml')).to.contain('customresourcedefinition.apiextensions.k8s.io/backups.example.com created');
      await until('the Backup kind served', async () => ((await cellctl('apply', '-f', 'examples/backup.yaml')).includes('backup.example.com/nightly') ? true : undefined), 20_000);
      const table = await cellctl('get', 'backups');
      expect(table.split('\n')[0]).to.match(/^NAME\s+SCHEDULE\s+KEEP\s+LAST\s+AGE$/);
      expect(table).to.match(/^nightly\s+0 3 \* \* \*\s+7\s+<none>\s+\S+$/m);
    });

    it('the audit is clean and SIGTERM stops every process it started', async () => {
      expect(await cellctl('audit')).to.match(/^OK/);
      const exited = new Promise<number | null>((r) => launcher.once('exit', (code) => r(code)));
      launcher.kill('SIGTERM');
      expect(await exited).to.equal(0);
      expect(await processesWith(state)).to.deep.equal([]);
    });
  });
}
