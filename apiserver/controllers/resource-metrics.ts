// The metrics API (`metrics.k8s.io/v1beta1` NodeMetrics and PodMetrics), what `kubectl top`
// reads. In Kubernetes metrics-server serves it behind the aggregator, scraping every kubelet;
// here the API server serves it itself, asking the agents concerned for their latest usage
// sample (GET /stats/resource, agent/resource-usage.ts) when a request comes: `top nodes` asks
// every node that reports an agent endpoint, `top pods` only the nodes of the pods selected.
// Nothing is stored. A node whose agent does not answer in time, or answers with anything but
// a valid sample, is left out of a list (as metrics-server leaves out nodes it could not
// scrape) and is a 404 for a get; a pod is listed once its containers ran through one window.
import http from 'node:http';
import type { Node, Pod } from '../../shared/api/core.js';
import { formatTime } from '../../shared/api/meta.js';
import {
  METRICS_API_VERSION,
  METRICS_GROUP,
  METRICS_VERSION,
  NodeUsageSampleSchema,
  type NodeMetrics,
  type NodeUsageSample,
  type PodMetrics,
  type UsageSample,
} from '../../shared/api/metrics.js';
import { METRICS_RESOURCES, nodeMetricsResource } from '../../shared/api/registry.js';
import { BadRequestError, MethodNotAllowedError, NotFoundError, UnavailableError, errorMessage } from '../../shared/errors.js';
import { parseFieldSelector } from '../../shared/fields.js';
import { parseLabelSelector } from '../../shared/labels.js';
import type { Logger } from '../../shared/logging.js';
import type { Authorizer } from '../auth/authorizer.js';
import type { UserInfo } from '../auth/tokens.js';
import type { HandledGroup } from '../http/discovery.js';
import type { ResourcePath } from '../http/paths.js';
import { boolParam } from '../http/query.js';
import type { ServedResource } from '../http/resources.js';
import type { KubeObject } from '../registry/object.js';
import type { AgentProxyKey } from '../auth/agent-proxy-key.js';
import { agentTarget, codeOf, hasAgentEndpoint, type AgentAddressAllowList } from './agent-endpoint.js';

/** How long one agent may take to answer. */
const SAMPLE_TIMEOUT_MS = 5_000;
/** Agents asked at once. */
const SAMPLE_CONCURRENCY = 32;
/**
 * No agent is asked once a request has spent this long asking others: the nodes not reached by
 * then are left out, so a cluster with many silent agents still answers `top` in seconds.
 */
const FAN_OUT_DEADLINE_MS = 10_000;
/** Largest sample read from an agent (a node of 10,000 pods is well under it). */
const MAX_SAMPLE_BYTES = 8 * 1024 * 1024;

/** The group as discovery lists it, beside the stored kinds. */
export const METRICS_DISCOVERY: HandledGroup = {
  group: METRICS_GROUP,
  version: METRICS_VERSION,
  resources: METRICS_RESOURCES.map((r) => ({ name: r.resource, singularName: r.singularName, namespaced: r.namespaced, kind: r.kind, verbs: r.verbs })),
};

/** An agent's usage sample (agent/log-server.ts). */
const STATS_PATH = '/stats/resource';
/** Who the agent is told asks, for what no one user asks alone. */
const API_SERVER_USER = 'system:apiserver';

export interface ResourceMetricsDeps {
  served(resource: string): ServedResource;
  authorizer: Authorizer;
  agentAddressAllow: AgentAddressAllowList;
  /** Signs each request to an agent (which serves nothing unsigned). */
  signer: AgentProxyKey;
  log: Logger;
}

/** `12345n` for nanocores, `2048Ki` for bytes: the forms metrics-server answers with. */
function usageOf(u: UsageSample): { cpu: string; memory: string } {
  return { cpu: `${u.cpuNanoCores}n`, memory: `${Math.round(u.memoryBytes / 1024)}Ki` };
}

/** The window as Go prints a duration: `10s`, `9.998s`, `500ms`. */
function windowOf(seconds: number): string {
  const ms = Math.max(1, Math.round(seconds * 1000));
  return ms < 1000 ? `${ms}ms` : `${ms / 1000}s`;
}

/** Runs `f` over `items`, at most `limit` at once, starting none after `deadline` (ms since the epoch). */
async function eachLimited<T>(items: readonly T[], limit: number, deadline: number, f: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length && Date.now() < deadline) await f(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** What the server holds of one node's samples. */
interface CachedSample {
  /** The latest sample fetched, until the agent's next one is due. */
  sample?: NodeUsageSample;
  freshUntil: number;
  /** A fetch under way, shared by concurrent requests. */
  pending?: Promise<NodeUsageSample>;
}

/** Whether the node's Ready condition is True: an agent that stopped renewing is not asked. */
function isReady(node: Node): boolean {
  return node.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

export class ResourceMetricsApi {
  /**
   * By node name. An agent's sample changes once per window, so a sample is reused until the
   * next is due (its timestamp plus its window): `top` run by many users, or again and again,
   * asks each agent once per window.
   */
  private readonly cache = new Map<string, CachedSample>();

  constructor(private readonly d: ResourceMetricsDeps) {}

  /** Serves one request under /apis/metrics.k8s.io/v1beta1; throws CellErrors (the router answers them). */
  async serve(req: http.IncomingMessage, user: UserInfo, path: ResourcePath, query: URLSearchParams): Promise<unknown> {
    const entry = METRICS_RESOURCES.find((r) => r.resource === path.resource);
    if (path.version !== METRICS_VERSION || !entry || path.subresource !== undefined || (path.namespace !== undefined && !entry.namespaced)) {
      throw new NotFoundError('the server could not find the requested resource');
    }
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') throw new MethodNotAllowedError('the server does not allow this method on the requested resource');
    if (boolParam(query, 'watch') === true) throw new MethodNotAllowedError('the metrics API cannot be watched: list it again');
    const verb = path.name === undefined ? 'list' : 'get';
    this.d.authorizer.authorize(user, {
      verb,
      group: METRICS_GROUP,
      resource: entry.resource,
      ...(path.namespace !== undefined ? { namespace: path.namespace } : {}),
      ...(path.name !== undefined ? { name: path.name } : {}),
    });
    return entry === nodeMetricsResource ? this.nodes(path, query) : this.pods(path, query);
  }

  private async nodes(path: ResourcePath, query: URLSearchParams): Promise<unknown> {
    const nodesServed = this.d.served('nodes');
    let nodes: Node[];
    if (path.name !== undefined) {
      nodes = [(await nodesServed.rest.get(undefined, path.name)) as unknown as Node];
    } else {
      const matches = this.matcher(query, nodesServed);
      nodes = (await nodesServed.rest.list({ resourceVersion: '0', ...(matches ? { matches } : {}) })).items as unknown as Node[];
    }
    const samples = await this.samples(nodes);
    const items: NodeMetrics[] = [];
    for (const node of nodes) {
      const sample = samples.get(node.metadata.name ?? '');
      if (!sample) continue;
      items.push({
        apiVersion: METRICS_API_VERSION,
        kind: 'NodeMetrics',
        metadata: { name: node.metadata.name ?? '', labels: node.metadata.labels ?? {}, creationTimestamp: formatTime(new Date()) },
        timestamp: sample.timestamp,
        window: windowOf(sample.windowSeconds),
        usage: usageOf(sample.node),
      });
    }
    if (path.name !== undefined) {
      if (items.length === 0) throw new NotFoundError(`nodemetrics.metrics.k8s.io "${path.name}" not found`, { group: METRICS_GROUP, kind: 'nodes', name: path.name });
      return items[0];
    }
    return { apiVersion: METRICS_API_VERSION, kind: 'NodeMetricsList', metadata: {}, items };
  }

  private async pods(path: ResourcePath, query: URLSearchParams): Promise<unknown> {
    const podsServed = this.d.served('pods');
    let pods: Pod[];
    if (path.name !== undefined) {
      pods = [(await podsServed.rest.get(path.namespace, path.name)) as unknown as Pod];
    } else {
      const matches = this.matcher(query, podsServed);
      const q = { resourceVersion: '0', ...(path.namespace !== undefined ? { namespace: path.namespace } : {}), ...(matches ? { matches } : {}) };
      pods = (await podsServed.rest.list(q)).items as unknown as Pod[];
    }
    const running = pods.filter((p) => p.spec.nodeName && p.status.phase === 'Running');
    const wanted = new Set(running.map((p) => p.spec.nodeName!));
    const nodes =
      wanted.size === 0
        ? []
        : ((await this.d.served('nodes').rest.list({ resourceVersion: '0', matches: (n: KubeObject) => wanted.has(n.metadata.name ?? '') })).items as unknown as Node[]);
    const samples = await this.samples(nodes);
    const items: PodMetrics[] = [];
    for (const pod of running) {
      const sampled = samples.get(pod.spec.nodeName!)?.pods.find((p) => p.uid === pod.metadata.uid);
      if (!sampled) continue;
      const sample = samples.get(pod.spec.nodeName!)!;
      items.push({
        apiVersion: METRICS_API_VERSION,
        kind: 'PodMetrics',
        metadata: {
          name: pod.metadata.name ?? '',
          namespace: pod.metadata.namespace ?? '',
          labels: pod.metadata.labels ?? {},
          creationTimestamp: formatTime(new Date()),
        },
        timestamp: sample.timestamp,
        window: windowOf(sample.windowSeconds),
        containers: sampled.containers.map((c) => ({ name: c.name, usage: usageOf(c.usage) })),
      });
    }
    if (path.name !== undefined) {
      if (items.length === 0) throw new NotFoundError(`podmetrics.metrics.k8s.io "${path.namespace}/${path.name}" not found`, { group: METRICS_GROUP, kind: 'pods', name: path.name });
      return items[0];
    }
    return { apiVersion: METRICS_API_VERSION, kind: 'PodMetricsList', metadata: {}, items };
  }

  /** The label and field selectors of a list, checked against what the resource supports. */
  private matcher(query: URLSearchParams, served: ServedResource): ((obj: KubeObject) => boolean) | undefined {
    const labels = parseLabelSelector(query.get('labelSelector') ?? '');
    const fields = parseFieldSelector(query.get('fieldSelector') ?? '');
    for (const r of fields.requirements) {
      if (!served.fieldSelectors.includes(r.field)) throw new BadRequestError(`field label not supported: ${r.field} (supported: ${served.fieldSelectors.join(', ')})`);
    }
    if (labels.isEverything() && fields.isEverything()) return undefined;
    return (obj) => labels.matches(obj.metadata.labels ?? {}) && fields.matchesBy((f) => served.fieldValue(obj, f));
  }

  /** The latest sample of each Ready node that answered; the others are logged and left out. */
  private async samples(nodes: readonly Node[]): Promise<Map<string, NodeUsageSample>> {
    const out = new Map<string, NodeUsageSample>();
    const asked = nodes.filter((n) => isReady(n) && hasAgentEndpoint(n));
    this.forgetStale();
    await eachLimited(asked, SAMPLE_CONCURRENCY, Date.now() + FAN_OUT_DEADLINE_MS, async (node) => {
      const name = node.metadata.name ?? '';
      try {
        out.set(name, await this.cachedSample(node));
      } catch (err) {
        this.d.log.debug('no resource usage sample from a node agent', { node: name, error: errorMessage(err) });
      }
    });
    return out;
  }

  /** Drops samples nobody asked for in a minute (nodes deleted, or no longer looked at). */
  private forgetStale(): void {
    const before = Date.now() - 60_000;
    for (const [name, entry] of this.cache) if (!entry.pending && entry.freshUntil < before) this.cache.delete(name);
  }

  private cachedSample(node: Node): Promise<NodeUsageSample> {
    const name = node.metadata.name ?? '';
    const entry = this.cache.get(name) ?? { freshUntil: 0 };
    if (entry.sample && Date.now() < entry.freshUntil) return Promise.resolve(entry.sample);
    if (entry.pending) return entry.pending;
    const pending = this.sample(node).then(
      (sample) => {
        // The agent's next sample is due a window after this one; an agent clock running ahead
        // must not keep this one longer than a window from now.
        const window = sample.windowSeconds * 1000;
        const next = Math.min(Date.parse(sample.timestamp) + window, Date.now() + window);
        this.cache.set(name, { sample, freshUntil: Number.isFinite(next) ? next : 0 });
        return sample;
      },
      (err: unknown) => {
        this.cache.delete(name);
        throw err;
      },
    );
    this.cache.set(name, { ...entry, pending });
    return pending;
  }

  private async sample(node: Node): Promise<NodeUsageSample> {
    const name = node.metadata.name ?? '';
    const { host, port } = await agentTarget(node, this.d.agentAddressAllow, 'sample usage from');
    const text = await new Promise<string>((resolve, reject) => {
      // One sample serves every user who asks within its window: fetched as the API server itself.
      const signed = this.d.signer.sign({ node: name, method: 'GET', path: STATS_PATH, user: API_SERVER_USER });
      const r = http.request({ host, port, path: STATS_PATH, method: 'GET', headers: { Accept: 'application/json', ...signed }, timeout: SAMPLE_TIMEOUT_MS });
      r.once('timeout', () => r.destroy(new UnavailableError(`the agent of node ${name} did not answer within ${SAMPLE_TIMEOUT_MS} ms`)));
      r.once('error', (err) => reject(err instanceof UnavailableError ? err : new UnavailableError(`cannot reach the agent of node ${name}${codeOf(err)}`)));
      r.once('response', (resp) => {
        if (resp.statusCode !== 200) {
          resp.resume();
          reject(new UnavailableError(`the agent of node ${name} answered ${resp.statusCode ?? 0}`));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        resp.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_SAMPLE_BYTES) r.destroy(new UnavailableError(`the agent of node ${name} sent more than ${MAX_SAMPLE_BYTES} bytes`));
          else chunks.push(c);
        });
        resp.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        resp.once('error', reject);
      });
      r.end();
    });
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (err) {
      throw new UnavailableError(`the agent of node ${name} sent something other than JSON (${errorMessage(err)})`);
    }
    const parsed = NodeUsageSampleSchema.safeParse(raw);
    // An agent answers for its own node only: a sample naming another is not taken.
    if (!parsed.success || parsed.data.nodeName !== name) throw new UnavailableError(`the agent of node ${name} sent no valid usage sample`);
    return parsed.data;
  }
}
