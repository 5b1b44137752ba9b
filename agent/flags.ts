// cell-agent's command line (DESIGN §1): Kubernetes/kubelet spellings where they exist, parsed
// into one validated AgentConfig. Every bad value is a UsageError naming the flag, so main.ts can
// print it with the usage text and exit 2.
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { TaintEffectSchema, type Taint } from '../shared/api/core.js';
import { parseDuration } from '../shared/duration.js';
import { errorMessage } from '../shared/errors.js';
import { isLogLevel, type LogLevel } from '../shared/logging.js';
import { dns1123SubdomainErrors, labelValueErrors, qualifiedNameErrors } from '../shared/names.js';
import { hostIPv4 } from '../shared/host-address.js';
import { Quantity } from '../shared/quantity.js';
import { add, parseResourceList, toResourceList } from '../shared/resources.js';

export const USAGE = `Usage: cell-agent [flags]

Connection:
  --server=URL[,URL...]            API server URL(s); requests fail over between them
  --token=TOKEN                    bearer token (a node token: user system:node:<name>, group system:nodes)
  --kubeconfig=FILE                kubeconfig file (current context: server and token) instead of --server/--token

The node:
  --node-name=NAME                 node name (default: the host name)
  --node-ip=IP                     address reported as InternalIP and used by the API server to reach
                                   the log server (default: the host's first non-loopback IPv4)
  --cpu=QUANTITY                   cpu capacity (default: the host's CPUs)
  --memory=QUANTITY                memory capacity (default: the host's memory)
  --pods=110                       pod capacity
  --kube-reserved=cpu=Q,memory=Q   held back from pods for the agent itself (allocatable = capacity
                                   less --kube-reserved and --system-reserved; default none)
  --system-reserved=cpu=Q,memory=Q held back from pods for the host's own daemons
  --labels=k=v,...                 extra node labels (kubernetes.io/hostname and kubernetes.io/os are always set)
  --taints=k=v:Effect,...          taints registered with the node (Effect: NoSchedule|PreferNoSchedule|NoExecute)
  --root-dir=DIR                   per-pod working directories, logs and state (default: $TMPDIR/cell-agent/<node>)
  --address=0.0.0.0                address the agent's endpoint listens on (logs, usage, exec and
                                   port-forward, for requests an API server signed; /healthz and
                                   /metrics to anyone)
  --service-proxy-address=ADDR     where node ports are opened: each TCP port of a NodePort or
                                   LoadBalancer Service is relayed to the Service's ready endpoints
                                   (default: --address; "none" opens none; hollow nodes open none),
                                   and so are cluster IPs that are this host's (loopback) addresses
  --ingress-address=IP:PORT        serve Ingresses of cell's IngressClasses here (HTTP), as an
                                   ingress controller on every node would (default: none)
  --ingress-tls-address=IP:PORT    serve them here over HTTPS too, terminating TLS with the
                                   Secrets their spec.tls names (default: none)
  --port=0                         log server port (0 = any free port, the default; the kubelet uses 10250);
                                   reported in the Node's status.daemonEndpoints
  --lease-duration=40s             node Lease duration
  --heartbeat-interval=10s         how often the node Lease is renewed
  --node-status-report-interval=5m how often the Node's status is re-posted when nothing changed
  --crash-loop-backoff=10s         first restart back-off; doubles per crash up to --crash-loop-backoff-max
  --crash-loop-backoff-max=5m      back-off cap (reset after a container ran 10 minutes)
  --container-log-max-size=10Mi    log bytes kept per container instance (oldest half dropped beyond it)
  --stats-interval=10s             how often containers' CPU and memory are sampled for the metrics API
                                   (\`kubectl top\`): the window CPU use is averaged over
  --exec-keepalive=30s             how often an exec or port-forward client is pinged; one that misses
                                   two pongs is gone: its connection is dropped (and an exec's command
                                   killed)
  --stop-pods-on-exit              stop every pod's processes when the agent exits (a throwaway local
                                   cluster); by default they keep running and a restarted agent re-adopts them

Hollow mode (many simulated nodes in one process, for scale tests):
  --hollow-nodes=N                 simulate N nodes named <prefix><i>; needs a token that may watch all pods
  --node-prefix=hollow-node-       name prefix of the simulated nodes
  --hollow-write-concurrency=16    API writes in flight at once

Process:
  --metrics-port=PORT              serve Prometheus metrics on this port too (they are always on --port)
  --log-level=info                 error|warn|info|debug
  -h, --help                       show this help
`;

export class UsageError extends Error {}

export interface AgentConfig {
  servers: string[];
  token?: string;
  kubeconfig?: string;
  nodeName: string;
  nodeIP: string;
  cpu: string;
  memory: string;
  pods: number;
  /** --kube-reserved + --system-reserved: cpu and memory held back from pods. */
  reserved: Record<string, string>;
  labels: Record<string, string>;
  taints: Taint[];
  rootDir: string;
  stopPodsOnExit: boolean;
  address: string;
  /** Where node ports are opened; undefined: none. */
  serviceProxyAddress: string | undefined;
  /** Where Ingresses are served; undefined: nowhere. */
  ingressAddress: { host: string; port: number } | undefined;
  /** Where Ingresses are served over HTTPS (needs ingressAddress's informers; served with or without it). */
  ingressTlsAddress: { host: string; port: number } | undefined;
  port: number;
  leaseDurationSeconds: number;
  heartbeatIntervalMs: number;
  nodeStatusReportIntervalMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  containerLogMaxBytes: number;
  /** How often container usage is sampled (the metrics API's window). */
  statsIntervalMs: number;
  /** --exec-keepalive: the ping interval of exec connections. */
  execKeepaliveMs: number;
  hollowNodes: number;
  nodePrefix: string;
  hollowWriteConcurrency: number;
  metricsPort?: number;
  logLevel?: LogLevel;
}

/** `k=v,k2=v2` with Kubernetes' key and value rules. */
export function parseLabels(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const term of text.split(',').map((t) => t.trim()).filter(Boolean)) {
    const eq = term.indexOf('=');
    if (eq <= 0) throw new UsageError(`--labels: "${term}" is not key=value`);
    const key = term.slice(0, eq);
    const value = term.slice(eq + 1);
    const errs = [...qualifiedNameErrors(key), ...labelValueErrors(value)];
    if (errs.length > 0) throw new UsageError(`--labels: "${term}": ${errs.join('; ')}`);
    out[key] = value;
  }
  return out;
}

/** `key=value:Effect` or `key:Effect`, as kubelet's --register-with-taints. */
export function parseTaints(text: string): Taint[] {
  const out: Taint[] = [];
  for (const term of text.split(',').map((t) => t.trim()).filter(Boolean)) {
    const colon = term.lastIndexOf(':');
    if (colon <= 0) throw new UsageError(`--taints: "${term}" is not key[=value]:Effect`);
    const effect = TaintEffectSchema.safeParse(term.slice(colon + 1));
    if (!effect.success) throw new UsageError(`--taints: "${term}": effect must be NoSchedule, PreferNoSchedule or NoExecute`);
    const kv = term.slice(0, colon);
    const eq = kv.indexOf('=');
    const key = eq >= 0 ? kv.slice(0, eq) : kv;
    const value = eq >= 0 ? kv.slice(eq + 1) : undefined;
    const errs = [...qualifiedNameErrors(key), ...(value !== undefined ? labelValueErrors(value) : [])];
    if (errs.length > 0) throw new UsageError(`--taints: "${term}": ${errs.join('; ')}`);
    out.push({ key, ...(value !== undefined && value !== '' ? { value } : {}), effect: effect.data });
  }
  return out;
}

/** --ingress-address: `IP:PORT`, or `none` / unset. */
export function ingressAddress(flag: string | undefined, name = 'ingress-address'): { host: string; port: number } | undefined {
  if (flag === undefined || flag === 'none') return undefined;
  const colon = flag.lastIndexOf(':');
  const host = colon > 0 ? flag.slice(0, colon).replace(/^\[(.*)\]$/, '$1') : '';
  const port = colon > 0 && /^\d+$/.test(flag.slice(colon + 1)) ? Number(flag.slice(colon + 1)) : NaN;
  if (net.isIP(host) === 0 || !(port >= 1 && port <= 65535)) throw new UsageError(`--${name} must be IP:PORT (such as 127.0.0.1:8080) or "none", not "${flag}"`);
  return { host, port };
}

/** --service-proxy-address: an IP, `none`, or (unset) the agent's own --address. */
function serviceProxyAddress(flag: string | undefined, address: string): string | undefined {
  if (flag === 'none') return undefined;
  if (flag !== undefined && net.isIP(flag) === 0) throw new UsageError(`--service-proxy-address must be an IP address or "none", not "${flag}"`);
  return flag ?? address;
}

/** `cpu=500m,memory=1Gi`: what a --*-reserved flag holds back, cpu and memory only. */
export function parseReserved(flag: string, text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const term of text.split(',').map((t) => t.trim()).filter(Boolean)) {
    const eq = term.indexOf('=');
    const name = eq > 0 ? term.slice(0, eq) : '';
    if (name !== 'cpu' && name !== 'memory') throw new UsageError(`--${flag}: "${term}" is not cpu=QUANTITY or memory=QUANTITY`);
    if (name in out) throw new UsageError(`--${flag}: ${name} is given twice`);
    let q: Quantity;
    try {
      q = Quantity.parse(term.slice(eq + 1));
    } catch (err) {
      throw new UsageError(`--${flag}: ${name}: ${errorMessage(err)}`);
    }
    if (q.isNegative()) throw new UsageError(`--${flag}: ${name} must not be negative`);
    out[name] = q.toString();
  }
  return out;
}

/** Both flags' reservations summed; leaving pods nothing of a resource is a usage error. */
function reservedFlags(kube: Record<string, string>, system: Record<string, string>, capacity: { cpu: string; memory: string }): Record<string, string> {
  const total = add(parseResourceList(kube), parseResourceList(system));
  for (const name of total.names()) {
    const of = Quantity.parse(capacity[name as 'cpu' | 'memory']);
    if (total.get(name) >= of.milliValue()) {
      throw new UsageError(`--kube-reserved and --system-reserved hold back ${total.quantity(name).toString()} of ${name}, leaving pods nothing of the node's ${of.toString()}`);
    }
  }
  return toResourceList(total);
}

function quantityFlag(name: string, value: string): string {
  try {
    const q = Quantity.parse(value);
    if (q.isNegative() || q.isZero()) throw new UsageError(`--${name} must be positive`);
    return q.toString();
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`--${name}: ${errorMessage(err)}`);
  }
}

export function parseAgentFlags(argv: string[]): AgentConfig | 'help' {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        server: { type: 'string' },
        token: { type: 'string' },
        kubeconfig: { type: 'string' },
        'node-name': { type: 'string' },
        'node-ip': { type: 'string' },
        cpu: { type: 'string' },
        memory: { type: 'string' },
        pods: { type: 'string', default: '110' },
        'kube-reserved': { type: 'string', default: '' },
        'system-reserved': { type: 'string', default: '' },
        labels: { type: 'string', default: '' },
        taints: { type: 'string', default: '' },
        'root-dir': { type: 'string' },
        'stop-pods-on-exit': { type: 'boolean', default: false },
        address: { type: 'string', default: '0.0.0.0' },
        'service-proxy-address': { type: 'string' },
        'ingress-address': { type: 'string' },
        'ingress-tls-address': { type: 'string' },
        port: { type: 'string', default: '0' },
        'lease-duration': { type: 'string', default: '40s' },
        'heartbeat-interval': { type: 'string', default: '10s' },
        'node-status-report-interval': { type: 'string', default: '5m' },
        'crash-loop-backoff': { type: 'string', default: '10s' },
        'crash-loop-backoff-max': { type: 'string', default: '5m' },
        'container-log-max-size': { type: 'string', default: '10Mi' },
        'stats-interval': { type: 'string', default: '10s' },
        'exec-keepalive': { type: 'string', default: '30s' },
        'hollow-nodes': { type: 'string', default: '0' },
        'node-prefix': { type: 'string', default: 'hollow-node-' },
        'hollow-write-concurrency': { type: 'string', default: '16' },
        'metrics-port': { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (err) {
    throw new UsageError(errorMessage(err));
  }
  if (values.help) return 'help';
  const str = (k: string) => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const int = (k: string, min = 0): number => {
    const v = str(k) ?? '';
    if (!/^\d+$/.test(v) || Number(v) < min) throw new UsageError(`--${k} must be an integer ≥ ${min}, not "${v}"`);
    return Number(v);
  };
  const duration = (k: string, minMs = 1): number => {
    let ms: number;
    try {
      ms = parseDuration(str(k) ?? '');
    } catch (err) {
      throw new UsageError(`--${k}: ${errorMessage(err)}`);
    }
    if (ms < minMs) throw new UsageError(`--${k} must be at least ${minMs} ms`);
    return ms;
  };

  const kubeconfig = str('kubeconfig');
  const servers = (str('server') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (!kubeconfig && servers.length === 0) throw new UsageError('--server or --kubeconfig is required');
  for (const s of servers) {
    try {
      const u = new URL(s);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new UsageError(`--server: "${s}" is not an http(s) URL`);
    } catch (err) {
      if (err instanceof UsageError) throw err;
      throw new UsageError(`--server: "${s}" is not a URL`);
    }
  }

  const hollowNodes = int('hollow-nodes');
  const nodeName = (str('node-name') ?? os.hostname()).toLowerCase();
  if (hollowNodes === 0 && dns1123SubdomainErrors(nodeName).length > 0) throw new UsageError(`--node-name "${nodeName}" is not a valid node name`);
  const level = str('log-level');
  if (level !== undefined && !isLogLevel(level)) throw new UsageError('--log-level must be error, warn, info or debug');

  const leaseMs = duration('lease-duration', 1000);
  const heartbeatMs = duration('heartbeat-interval', 100);
  if (heartbeatMs >= leaseMs) throw new UsageError('--heartbeat-interval must be shorter than --lease-duration');
  const logMax = quantityFlag('container-log-max-size', str('container-log-max-size') ?? '');
  const logMaxBytes = Number(Quantity.parse(logMax).value());
  if (logMaxBytes < 4096) throw new UsageError('--container-log-max-size must be at least 4Ki');

  const cpu = str('cpu') !== undefined ? quantityFlag('cpu', str('cpu')!) : String(os.availableParallelism());
  // Kubernetes reports memory capacity in Ki.
  const memory = str('memory') !== undefined ? quantityFlag('memory', str('memory')!) : `${Math.floor(os.totalmem() / 1024)}Ki`;
  const reserved = reservedFlags(parseReserved('kube-reserved', str('kube-reserved') ?? ''), parseReserved('system-reserved', str('system-reserved') ?? ''), { cpu, memory });

  const cfg: AgentConfig = {
    servers,
    nodeName,
    nodeIP: str('node-ip') ?? hostIPv4(),
    cpu,
    memory,
    reserved,
    pods: int('pods', 1),
    labels: parseLabels(str('labels') ?? ''),
    taints: parseTaints(str('taints') ?? ''),
    rootDir: path.resolve(str('root-dir') ?? path.join(os.tmpdir(), 'cell-agent', hollowNodes > 0 ? 'hollow' : nodeName)),
    stopPodsOnExit: values['stop-pods-on-exit'] === true,
    address: str('address') ?? '0.0.0.0',
    serviceProxyAddress: serviceProxyAddress(str('service-proxy-address'), str('address') ?? '0.0.0.0'),
    ingressAddress: ingressAddress(str('ingress-address')),
    ingressTlsAddress: ingressAddress(str('ingress-tls-address'), 'ingress-tls-address'),
    port: int('port'),
    leaseDurationSeconds: Math.ceil(leaseMs / 1000),
    heartbeatIntervalMs: heartbeatMs,
    nodeStatusReportIntervalMs: duration('node-status-report-interval', 1000),
    backoffBaseMs: duration('crash-loop-backoff', 1),
    backoffMaxMs: duration('crash-loop-backoff-max', 1),
    containerLogMaxBytes: logMaxBytes,
    statsIntervalMs: duration('stats-interval', 100),
    execKeepaliveMs: duration('exec-keepalive', 100),
    hollowNodes,
    nodePrefix: str('node-prefix') ?? 'hollow-node-',
    hollowWriteConcurrency: int('hollow-write-concurrency', 1),
  };
  if (cfg.port > 65535) throw new UsageError('--port must be at most 65535');
  if (cfg.backoffMaxMs < cfg.backoffBaseMs) throw new UsageError('--crash-loop-backoff-max must not be below --crash-loop-backoff');
  if (hollowNodes > 0 && dns1123SubdomainErrors(`${cfg.nodePrefix}0`).length > 0) throw new UsageError(`--node-prefix "${cfg.nodePrefix}" does not make valid node names`);
  const token = str('token');
  if (token !== undefined) cfg.token = token;
  if (kubeconfig !== undefined) cfg.kubeconfig = kubeconfig;
  const metricsPort = str('metrics-port');
  if (metricsPort !== undefined) cfg.metricsPort = int('metrics-port');
  if (level !== undefined && isLogLevel(level)) cfg.logLevel = level;
  return cfg;
}
