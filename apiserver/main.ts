#!/usr/bin/env -S node --max-semi-space-size=64
// cell-apiserver: the only process that talks to the store (DESIGN §1).
import { ClusterIPRange, DEFAULT_SERVICE_RANGES, parseNodePortRange, type ServiceRanges } from './services/ranges.js';
import { parseFlags } from '../shared/flags.js';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { errorMessage } from '../shared/errors.js';
import { createLogger } from '../shared/logging.js';
import { AgentAddressAllowList } from './controllers/agent-endpoint.js';
import { OWN_WRITES_LAG_LIMIT } from './registry/own-writes.js';
import { startApiServer } from './server.js';
import { EtcdStore } from './storage/etcd.js';
import { MemoryStore } from './storage/memory.js';
import type { Store } from './storage/store.js';

const USAGE = `Usage: cell-apiserver [flags]

  --etcd-servers=URL[,URL...]   etcd client URLs (default: $ETCD_ENDPOINTS)
  --store=etcd|memory           memory keeps state in this process only (default: etcd when
                                --etcd-servers is given, else memory)
  --etcd-prefix=/registry       key prefix in etcd
  --etcd-readycheck-timeout=2s  how long /readyz waits for etcd to answer a quorum read; an API
                                server that gets no answer is not ready (503), though alive
  --etcd-group-commit=4         transaction batches in flight to etcd; concurrent writes share
                                one etcd request (0 = one request per write)
  --bind-address=127.0.0.1      address to listen on
  --port=6443                   port to listen on (0 = any free port)
  --advertise-address=IP        where clients in the cluster reach this server: its address in
                                the kubernetes Service's Endpoints (default: --bind-address, or
                                this host's first IPv4 when that is 0.0.0.0)
  --endpoint-reconciler-type=lease
                                lease: each API server keeps itself in the kubernetes Service's
                                Endpoints while it lives; none: leave that Service alone
  --token-auth-file=FILE        static token CSV: token,user,uid,"group1,group2"
                                (without it every request is admin and only loopback is allowed)
  --tls-cert-file=FILE          serve HTTPS with this certificate (PEM) ...
  --tls-private-key-file=FILE   ... and key; kubectl sends bearer tokens only over HTTPS
  --client-ca-file=FILE         authenticate client certificates signed by this CA (PEM):
                                user = subject CN, groups = subject O (needs the TLS flags)
  --service-account-issuer=URL  the iss of service account tokens this cluster signs (default
                                https://cell.cluster.local); OpenID Connect discovery names it
  --api-audiences=A[,A...]      what a request's service account token must be for (default: the
                                issuer); new tokens are for these unless they ask otherwise
  --service-account-max-token-expiration=DURATION
                                the longest a requested token lives (default: as requested)
  --service-cluster-ip-range=10.96.0.0/12
                                the IPv4 range Services' cluster IPs are allocated from
  --service-node-port-range=30000-32767
                                the ports NodePort and LoadBalancer Services are given
  --max-request-bytes=3145728   largest request body accepted
  --max-requests-inflight=400   non-watch requests served at once; more get 429 (0 = no limit)
  --request-timeout=60s         deadline of every request but watches and followed logs (a client
                                may ask for less with ?timeout=); past it: 504, connection closed
  --compaction-interval=5m      how often to compact store history (0 = never)
  --event-ttl=1h                how long an Event is kept after its last update (0 = forever)
  --watch-cache-size=20000      recent events kept per resource for watch resumes
  --max-watch-cache-lag=1000    commits of this server a resource's watch cache may be behind
                                before new creates wait for it (429 after 10 s); 0 = no limit
  --watch-queue-bytes=8388608   bytes a watch may have queued before its client counts as too
                                slow and is cut off (it re-watches from its last resourceVersion)
  --agent-address-allow=CIDR[,CIDR...]
                                addresses the pods/log and pods/exec proxies and the metrics API
                                may connect to: a Node reports its agent's address itself, and a
                                node's token could point it anywhere.
                                Default: loopback (127.0.0.0/8, ::1), private networks (10.0.0.0/8,
                                172.16.0.0/12, 192.168.0.0/16, fc00::/7) and this host's own
                                addresses, which covers npm start and agents on the same host or
                                a private network; link-local (169.254.0.0/16, cloud metadata) and
                                public addresses are refused unless listed
  --log-level=info              error|warn|info|debug
  -h, --help                    show this help
`;

const flags = parseFlags('cell-apiserver', USAGE, {
      'etcd-servers': { type: 'string' },
      store: { type: 'string' },
      'etcd-prefix': { type: 'string', default: '/registry' },
      'etcd-group-commit': { type: 'string', default: '4' },
      'etcd-readycheck-timeout': { type: 'string', default: '2s' },
      'bind-address': { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '6443' },
      'advertise-address': { type: 'string' },
      'endpoint-reconciler-type': { type: 'string', default: 'lease' },
      'token-auth-file': { type: 'string' },
      'tls-cert-file': { type: 'string' },
      'tls-private-key-file': { type: 'string' },
      'client-ca-file': { type: 'string' },
      'service-account-issuer': { type: 'string' },
      'api-audiences': { type: 'string' },
      'service-account-max-token-expiration': { type: 'string' },
      'service-cluster-ip-range': { type: 'string', default: DEFAULT_SERVICE_RANGES.clusterIPRange },
      'service-node-port-range': { type: 'string', default: `${DEFAULT_SERVICE_RANGES.nodePorts.first}-${DEFAULT_SERVICE_RANGES.nodePorts.last}` },
      'max-request-bytes': { type: 'string', default: String(3 * 1024 * 1024) },
      'max-requests-inflight': { type: 'string', default: '400' },
      'request-timeout': { type: 'string', default: '60s' },
      'event-ttl': { type: 'string', default: '1h' },
      'compaction-interval': { type: 'string', default: '5m' },
      'watch-cache-size': { type: 'string', default: '20000' },
      'max-watch-cache-lag': { type: 'string', default: String(OWN_WRITES_LAG_LIMIT) },
      'watch-queue-bytes': { type: 'string', default: String(8 * 1024 * 1024) },
      'agent-address-allow': { type: 'string' },
      'log-level': { type: 'string' },
});
const fail: (message: string) => never = flags.fail;
const { str, int } = flags;
const log = createLogger('apiserver', flags.logLevel());

const endpoints = (str('etcd-servers') ?? process.env.ETCD_ENDPOINTS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
const storeKind = str('store') ?? (endpoints.length > 0 ? 'etcd' : 'memory');
if (storeKind !== 'etcd' && storeKind !== 'memory') fail(`--store must be etcd or memory, not "${storeKind}"`);
if (storeKind === 'etcd' && endpoints.length === 0) fail('--store=etcd needs --etcd-servers');

const compactionIntervalMs = flags.duration('compaction-interval');
const storeReadyTimeoutMs = flags.duration('etcd-readycheck-timeout');
if (storeReadyTimeoutMs <= 0) fail('--etcd-readycheck-timeout must be more than 0');

let agentAddressAllow: readonly string[] | undefined;
const allowText = str('agent-address-allow');
if (allowText !== undefined) {
  try {
    agentAddressAllow = AgentAddressAllowList.parse(allowText).cidrs;
  } catch (err) {
    fail(`--agent-address-allow: ${errorMessage(err)}`);
  }
}

let tokenCsv: string | undefined;
const tokenFile = str('token-auth-file');
if (tokenFile) {
  try {
    tokenCsv = readFileSync(tokenFile, 'utf8');
  } catch (err) {
    fail(`cannot read --token-auth-file: ${errorMessage(err)}`);
  }
}

let tls: { cert: string; key: string; clientCa?: string } | undefined;
const certFile = str('tls-cert-file');
const keyFile = str('tls-private-key-file');
if ((certFile === undefined) !== (keyFile === undefined)) fail('--tls-cert-file and --tls-private-key-file go together');
if (certFile && keyFile) {
  try {
    tls = { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
  } catch (err) {
    fail(`cannot read the TLS certificate or key: ${errorMessage(err)}`);
  }
}
const clientCaFile = str('client-ca-file');
if (clientCaFile !== undefined) {
  // Client certificates travel only in a TLS handshake.
  if (!tls) fail('--client-ca-file needs --tls-cert-file and --tls-private-key-file');
  try {
    tls.clientCa = readFileSync(clientCaFile, 'utf8');
  } catch (err) {
    fail(`cannot read --client-ca-file: ${errorMessage(err)}`);
  }
  try {
    new X509Certificate(tls.clientCa);
  } catch (err) {
    fail(`--client-ca-file ${clientCaFile} holds no readable PEM certificate: ${errorMessage(err)}`);
  }
}

const serviceAccountIssuer = str('service-account-issuer');
if (serviceAccountIssuer !== undefined && !/^https?:\/\/[^\s/]/.test(serviceAccountIssuer)) fail(`--service-account-issuer must be an http(s) URL, not "${serviceAccountIssuer}"`);
const apiAudiences = str('api-audiences')?.split(',').map((a) => a.trim()).filter((a) => a !== '');
if (apiAudiences !== undefined && apiAudiences.length === 0) fail('--api-audiences names no audience');
let serviceAccountMaxTokenExpirationSeconds: number | undefined;
if (str('service-account-max-token-expiration') !== undefined) {
  serviceAccountMaxTokenExpirationSeconds = Math.floor(flags.duration('service-account-max-token-expiration') / 1000);
  if (serviceAccountMaxTokenExpirationSeconds < 600) fail('--service-account-max-token-expiration must be at least 10m');
}

const advertiseAddress = str('advertise-address');
if (advertiseAddress !== undefined && !isIP(advertiseAddress)) fail(`--advertise-address must be an IP address, not "${advertiseAddress}"`);
const reconcilerType = str('endpoint-reconciler-type') ?? 'lease';
if (reconcilerType !== 'lease' && reconcilerType !== 'none') fail(`--endpoint-reconciler-type must be lease or none, not "${reconcilerType}"`);

let serviceRanges: ServiceRanges;
try {
  const clusterIPRange = new ClusterIPRange(str('service-cluster-ip-range') ?? DEFAULT_SERVICE_RANGES.clusterIPRange).cidr;
  serviceRanges = { clusterIPRange, nodePorts: parseNodePortRange(str('service-node-port-range') ?? '') };
} catch (err) {
  fail(`--service-cluster-ip-range / --service-node-port-range: ${errorMessage(err)}`);
}

const prefix = str('etcd-prefix') ?? '/registry';
const store: Store =
  storeKind === 'etcd' ? new EtcdStore({ endpoints, prefix, groupCommitInFlight: int('etcd-group-commit') }) : new MemoryStore();
if (storeKind === 'memory') log.warn('using the in-memory store: state is lost when this process exits');

try {
  const server = await startApiServer({
    store,
    bindAddress: str('bind-address') ?? '127.0.0.1',
    port: int('port'),
    ...(tokenCsv !== undefined ? { tokenCsv } : {}),
    ...(tls ? { tls } : {}),
    maxRequestBytes: int('max-request-bytes'),
    maxRequestsInflight: int('max-requests-inflight'),
    requestTimeoutMs: flags.duration('request-timeout'),
    storeReadyTimeoutMs,
    compactionIntervalMs,
    watchCacheCapacity: int('watch-cache-size'),
    maxWatchCacheLag: int('max-watch-cache-lag'),
    eventTtlSeconds: Math.round(flags.duration('event-ttl') / 1000),
    watchMaxQueuedBytes: int('watch-queue-bytes'),
    ...(agentAddressAllow ? { agentAddressAllow } : {}),
    serviceRanges,
    kubernetesService: reconcilerType === 'none' ? false : { ...(advertiseAddress !== undefined ? { advertiseAddress } : {}) },
    ...(serviceAccountIssuer !== undefined ? { serviceAccountIssuer } : {}),
    ...(apiAudiences !== undefined ? { apiAudiences } : {}),
    ...(serviceAccountMaxTokenExpirationSeconds !== undefined ? { serviceAccountMaxTokenExpirationSeconds } : {}),
    log,
  });
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal });
    void server
      .close()
      .then(() => store.close())
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        log.error('shutdown failed', { error: errorMessage(err) });
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
} catch (err) {
  log.error('API server failed to start', { error: errorMessage(err) });
  await store.close();
  process.exit(1);
}
