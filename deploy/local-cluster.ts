// `npm start`: a whole cell cluster on this machine — etcd (when an `etcd` binary is on PATH; state
// under .cell/etcd survives restarts) or else the API server's in-memory store, the API server
// over HTTPS with a generated CA (.cell/pki/), client certificates and a token file, the controller
// manager (restarted when it exits, as a supervisor would), two schedulers (`default-scheduler`,
// spread; `batch`, binpack) and three agent nodes. Writes
// .cell/kubeconfig (admin, by client certificate) and one kubeconfig per other process (each with
// its own token and user), prints what runs and what to try, and stops everything cleanly on
// Ctrl-C / SIGTERM.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { CONTROLLER_MANAGER_USER } from '../apiserver/auth/rbac-defaults.js';
import { ApiClient } from '../shared/client/http-client.js';
import { AlreadyExistsError } from '../shared/errors.js';
import { CELL_INGRESS_CONTROLLER, DEFAULT_INGRESS_CLASS_ANNOTATION, NETWORKING_GROUP } from '../shared/api/networking.js';
import { ADMIN_COMMON_NAME, ensureLocalPki, type KeyPair } from '../shared/pki.js';
import { NODE_FLAGS, type Program } from './node-flags.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const STATE = path.resolve(process.env.CELL_STATE_DIR ?? path.join(REPO, '.cell'));
const LOGS = path.join(STATE, 'logs');
const NODES = ['node-1', 'node-2', 'node-3'];
const CONTROLLER_MANAGER_TOKEN = 'controller-manager';
/**
 * Services' cluster IPs come from loopback, which this host answers on without any packet
 * rewriting: the agents listen on each Service's IP and port and relay to its pods, so
 * `curl $WEB_SERVICE_HOST:$WEB_SERVICE_PORT` works from a pod or a shell here.
 */
const SERVICE_CLUSTER_IP_RANGE = '127.96.0.0/16';
/** The kubernetes Service's address (the range's first), which the serving certificate names too. */
const KUBERNETES_SERVICE_IP = '127.96.0.1';

interface ClusterConfig {
  apiPort: number;
  etcdClientPort: number;
  etcdPeerPort: number;
  tokens: Record<string, string>;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** The preferred port when free, else one the OS picks. */
async function pickPort(preferred: number): Promise<number> {
  if (await portFree(preferred)) return preferred;
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Every process's token, by the name cluster.json keeps it under. */
const TOKEN_NAMES = ['admin', 'scheduler', CONTROLLER_MANAGER_TOKEN, ...NODES];

/** Ports and tokens are chosen once and reused, so a second `npm start` finds its state again. */
async function loadOrCreateConfig(): Promise<ClusterConfig> {
  const file = path.join(STATE, 'cluster.json');
  const token = () => randomBytes(16).toString('hex');
  if (existsSync(file)) {
    const cfg = JSON.parse(readFileSync(file, 'utf8')) as ClusterConfig;
    for (const p of [cfg.apiPort, cfg.etcdClientPort, cfg.etcdPeerPort]) {
      if (!(await portFree(p))) throw new Error(`port ${p} (from ${file}) is in use: is another cell cluster running?`);
    }
    // State from an older version may lack a process's token: it gets one now.
    const missing = TOKEN_NAMES.filter((n) => cfg.tokens[n] === undefined);
    if (missing.length > 0) {
      for (const n of missing) cfg.tokens[n] = token();
      writeFileSync(file, JSON.stringify(cfg, null, 2), { mode: 0o600 });
    }
    return cfg;
  }
  const cfg: ClusterConfig = {
    apiPort: await pickPort(6443),
    etcdClientPort: await pickPort(2379),
    etcdPeerPort: await pickPort(2380),
    tokens: Object.fromEntries(TOKEN_NAMES.map((n) => [n, token()])),
  };
  writeFileSync(file, JSON.stringify(cfg, null, 2), { mode: 0o600 });
  return cfg;
}

function writeTokenFile(cfg: ClusterConfig): string {
  const file = path.join(STATE, 'tokens.csv');
  const lines = [
    `${cfg.tokens.admin},admin,admin,"system:masters"`,
    `${cfg.tokens.scheduler},system:scheduler,scheduler,"system:schedulers"`,
    // No group: the default ClusterRoleBinding of that name gives the user exactly what the controllers need.
    `${cfg.tokens[CONTROLLER_MANAGER_TOKEN]},${CONTROLLER_MANAGER_USER},controller-manager`,
    ...NODES.map((n) => `${cfg.tokens[n]},system:node:${n},${n},"system:nodes"`),
  ];
  writeFileSync(file, `${lines.join('\n')}\n`, { mode: 0o600 });
  return file;
}

/** How a kubeconfig's user proves who it is: a bearer token or a client certificate. */
type Credential = { token: string } | { certificate: KeyPair };

function writeKubeconfig(file: string, server: string, credential: Credential, user: string, caPem: string): void {
  const b64 = (pem: string) => Buffer.from(pem).toString('base64');
  const cluster = { server, 'certificate-authority-data': b64(caPem) };
  const userEntry =
    'token' in credential
      ? { token: credential.token }
      : { 'client-certificate-data': b64(credential.certificate.certPem), 'client-key-data': b64(credential.certificate.keyPem) };
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'cell-local', cluster }],
    users: [{ name: user, user: userEntry }],
    contexts: [{ name: 'cell-local', context: { cluster: 'cell-local', user, namespace: 'default' } }],
    'current-context': 'cell-local',
  };
  writeFileSync(file, YAML.stringify(config), { mode: 0o600 });
}

/** The IngressClass the agents serve, made the default (kept as it is when it exists). */
async function ensureIngressClass(admin: ApiClient): Promise<void> {
  const ref = { group: NETWORKING_GROUP, version: 'v1', resource: 'ingressclasses' };
  try {
    await admin.create(ref, {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'IngressClass',
      metadata: { name: 'cell', annotations: { [DEFAULT_INGRESS_CLASS_ANNOTATION]: 'true' } },
      spec: { controller: CELL_INGRESS_CONTROLLER },
    });
  } catch (err) {
    if (!(err instanceof AlreadyExistsError)) throw err;
  }
}

function etcdOnPath(): boolean {
  if (process.env.CELL_NO_ETCD === '1') return false;
  return spawnSync('etcd', ['--version'], { stdio: 'ignore' }).status === 0;
}

interface Managed {
  name: string;
  child: ChildProcess;
}

const running: Managed[] = [];
let stopping = false;

/**
 * Start a process; an unexpected exit stops the cluster, unless `restart` (the controller manager
 * exits when it loses its lease, for its supervisor — here, this — to start it again).
 */
function start(name: string, cmd: string, args: string[], restart = false): Managed {
  const log = createWriteStream(path.join(LOGS, `${name}.log`), { flags: 'a' });
  const child = spawn(cmd, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CELL_LOG_LEVEL: process.env.CELL_LOG_LEVEL ?? 'info' } });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const m = { name, child };
  running.push(m);
  child.on('exit', (code, signal) => {
    if (stopping) return;
    if (restart) {
      console.error(`${name} exited (${signal ?? `code ${code}`}); restarting it`);
      setTimeout(() => {
        if (!stopping) start(name, cmd, args, restart);
      }, 1000);
      return;
    }
    console.error(`\n${name} exited unexpectedly (${signal ?? `code ${code}`}); see ${path.relative(process.cwd(), path.join(LOGS, `${name}.log`))}. Stopping the cluster.`);
    void shutdown(1);
  });
  return m;
}

function node(program: Program, args: string[]): [string, string[]] {
  return [process.execPath, [...NODE_FLAGS[program], '--import', 'tsx', path.join(REPO, program, 'main.ts'), ...args]];
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (stopping) throw new Error('stopping');
    if (Date.now() > deadline) throw new Error(`${what} did not become ready within ${timeoutMs / 1000}s (see ${LOGS})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  // In tiers: agents and schedulers together, then the API server, then etcd.
  const stop = async (ms: Managed[]) =>
    Promise.all(
      ms.map(async (m) => {
        if (m.child.exitCode !== null || m.child.signalCode !== null) return;
        const exited = new Promise<void>((r) => m.child.once('exit', () => r()));
        m.child.kill('SIGTERM');
        // Agents stop their pods first (SIGTERM, SIGKILL after each pod's grace period, 30 s by default).
        const timer = setTimeout(() => m.child.kill('SIGKILL'), m.name.startsWith('agent-') ? 45_000 : 10_000);
        await exited;
        clearTimeout(timer);
      }),
    );
  await stop(running.filter((m) => m.name !== 'apiserver' && m.name !== 'etcd'));
  await stop(running.filter((m) => m.name === 'apiserver'));
  await stop(running.filter((m) => m.name === 'etcd'));
  process.exit(code);
}

async function main(): Promise<void> {
  mkdirSync(LOGS, { recursive: true });
  const cfg = await loadOrCreateConfig();
  const tokenFile = writeTokenFile(cfg);
  // The CA signs the serving certificate (for 127.0.0.1, localhost and the kubernetes Service) and
  // the admin's client certificate; kubectl sends credentials only over TLS, so the cluster always
  // serves HTTPS.
  const pki = ensureLocalPki(path.join(STATE, 'pki'), ['127.0.0.1', 'localhost', KUBERNETES_SERVICE_IP, 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc']);
  const server = `https://127.0.0.1:${cfg.apiPort}`;
  const kubeconfig = path.join(STATE, 'kubeconfig');
  const admin = new ApiClient({
    servers: [server],
    retries: 0,
    timeoutMs: 5000,
    tls: { ca: pki.ca.certPem, cert: pki.admin.certPem, key: pki.admin.keyPem },
  });

  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));

  const withEtcd = etcdOnPath();
  const storeArgs: string[] = [];
  if (withEtcd) {
    const client = `http://127.0.0.1:${cfg.etcdClientPort}`;
    const peer = `http://127.0.0.1:${cfg.etcdPeerPort}`;
    start('etcd', 'etcd', [
      '--name', 'cell-local', '--data-dir', path.join(STATE, 'etcd'),
      '--listen-client-urls', client, '--advertise-client-urls', client,
      '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer,
      '--initial-cluster', `cell-local=${peer}`, '--log-level', 'warn', '--logger', 'zap',
    ]);
    await waitFor('etcd', async () => (await fetch(`${client}/health`)).ok);
    storeArgs.push(`--etcd-servers=${client}`);
  } else {
    storeArgs.push('--store=memory');
    console.log('note: no `etcd` on PATH — the API server keeps state in memory; it is lost when the cluster stops.');
    console.log('      (apt-get install etcd-server, then npm start again, to keep state under .cell/etcd)\n');
  }

  // The API server serves the dashboard from dist/dashboard: build it from the current source (~1 s).
  const dashboardBuild = spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO, 'dashboard', 'build.ts')], { cwd: REPO, stdio: ['ignore', 'ignore', 'inherit'] });
  if (dashboardBuild.status !== 0) console.log('note: the dashboard did not build (see above); /ui/ will say so.\n');
  const tlsArgs = [`--tls-cert-file=${pki.serverCertFile}`, `--tls-private-key-file=${pki.serverKeyFile}`, `--client-ca-file=${pki.caCertFile}`];
  start('apiserver', ...node('apiserver', [...storeArgs, `--port=${cfg.apiPort}`, `--token-auth-file=${tokenFile}`, `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`, ...tlsArgs]));
  await waitFor('the API server', async () => (await admin.request<unknown>('GET', '/version').then(() => true)));
  writeKubeconfig(kubeconfig, server, { certificate: pki.admin }, ADMIN_COMMON_NAME, pki.ca.certPem);
  // Schedulers and agents keep their tokens: both kinds of credential are exercised by npm start.
  for (const n of NODES) writeKubeconfig(path.join(STATE, `${n}.kubeconfig`), server, { token: cfg.tokens[n]! }, `system:node:${n}`, pki.ca.certPem);
  writeKubeconfig(path.join(STATE, 'scheduler.kubeconfig'), server, { token: cfg.tokens.scheduler! }, 'system:scheduler', pki.ca.certPem);
  const controllerManagerKubeconfig = path.join(STATE, 'controller-manager.kubeconfig');
  writeKubeconfig(controllerManagerKubeconfig, server, { token: cfg.tokens[CONTROLLER_MANAGER_TOKEN]! }, CONTROLLER_MANAGER_USER, pki.ca.certPem);

  // The control loops (node lifecycle, pod GC, disruption budgets, workloads) run as their own
  // least-privileged user, system:cell-controller-manager, not as the admin.
  const controllerManagerPort = await pickPort(10257);
  start('controller-manager', ...node('controllers', [`--kubeconfig=${controllerManagerKubeconfig}`, `--port=${controllerManagerPort}`]), true);

  // The agents serve Ingresses too, as an ingress controller on every node would: of the class
  // `cell`, the default, so `kubectl create ingress` needs no --class.
  await ensureIngressClass(admin);
  const ingressPort = await pickPort(8080);
  const ingressTlsPort = await pickPort(8443);

  start('scheduler-default', ...node('schedulers', [`--kubeconfig=${path.join(STATE, 'scheduler.kubeconfig')}`, '--scheduler-name=default-scheduler', '--profile=default']));
  start('scheduler-batch', ...node('schedulers', [`--kubeconfig=${path.join(STATE, 'scheduler.kubeconfig')}`, '--scheduler-name=batch', '--profile=binpack']));
  NODES.forEach((n, i) => {
    start(`agent-${n}`, ...node('agent', [
      `--kubeconfig=${path.join(STATE, `${n}.kubeconfig`)}`, `--node-name=${n}`, '--cpu=4', '--memory=8Gi',
      `--root-dir=${path.join(STATE, 'agents', n)}`, `--labels=topology.kubernetes.io/zone=zone-${(i % 2) + 1}`,
      // Node ports on loopback only, and the loopback cluster IPs (one of the three agents holds
      // each): curl localhost:NODEPORT, curl CLUSTER-IP:PORT.
      '--stop-pods-on-exit', '--service-proxy-address=127.0.0.1', `--ingress-address=127.0.0.1:${ingressPort}`,
      `--ingress-tls-address=127.0.0.1:${ingressTlsPort}`,
    ]));
  });

  // Ready when every node reports Ready.
  await waitFor('the nodes', async () => {
    const list = await admin.list<{ items?: { status?: { conditions?: { type: string; status: string }[] } }[] }>({ resource: 'nodes' });
    const ready = (list.items ?? []).filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    return ready.length >= NODES.length;
  });

  const rel = (p: string) => path.relative(process.cwd(), p) || '.';
  console.log(`cell is running (${withEtcd ? `etcd at 127.0.0.1:${cfg.etcdClientPort}, state in ${rel(path.join(STATE, 'etcd'))}` : 'in-memory store'})`);
  console.log(`  API server   ${server}`);
  console.log(`  controllers  cell-controller-manager (metrics on http://127.0.0.1:${controllerManagerPort}/metrics)`);
  console.log('  schedulers   default-scheduler (spread), batch (binpack)');
  console.log(`  nodes        ${NODES.join(', ')} (4 cpu, 8Gi each)`);
  console.log(`  ingress      http://127.0.0.1:${ingressPort}/ and https://127.0.0.1:${ingressTlsPort}/  (Ingresses of class cell, the default)`);
  console.log(`  logs         ${rel(LOGS)}/`);
  console.log(`  kubeconfig   ${rel(kubeconfig)}  (works with kubectl too)`);
  console.log(`  dashboard    ${server}/ui/  (sign in with the admin token ${cfg.tokens.admin}, kept in ${rel(path.join(STATE, 'cluster.json'))};`);
  console.log(`               the browser will not know the local CA: trust ${rel(pki.caCertFile)} or accept the warning)\n`);
  console.log('Try, in another terminal:');
  console.log(`  export KUBECONFIG=${rel(kubeconfig)}      # cellctl and kubectl both read it`);
  console.log('  npx cellctl get nodes');
  console.log('  npx cellctl apply -f examples/pod.yaml && npx cellctl get pods -w');
  console.log('  npx cellctl top nodes\n');
  console.log('Ctrl-C stops everything.');
}

main().catch((err: unknown) => {
  if (!stopping) {
    console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
    void shutdown(1);
  }
});
