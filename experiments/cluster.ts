// The cluster an experiment runs on: etcd, a cell-apiserver process, one hollow cell-agent playing
// every node, and per run a fresh set of cell-scheduler daemons — all real processes, started with
// the launchers the tests and benchmarks use (test/harness, test/clients, test/schedulers,
// test/agent), so `CELL_RUN_FROM=dist` runs the compiled binaries here too.
//
// One cluster serves all the runs of an experiment: each run gets its own namespace and its own
// scheduler names, and its pods are deleted afterwards (freeing the nodes' allocations) before the
// next run starts. That keeps the start-up cost, which dominates a small run, out of every run.
import { randomUUID } from 'node:crypto';
import type { Node } from '../shared/api/core.js';
import { ApiClient } from '../shared/client/http-client.js';
import { startAgent, type AgentProcess } from '../test/agent/helpers.js';
import { startApiServerProcess, type ApiServerProcess } from '../test/clients/apiserver-process.js';
import { startEtcd, type EtcdServer } from '../test/harness/etcd.js';
import { freePort } from '../test/harness/ports.js';
import { startSchedulerProcess, type SchedulerProcess } from '../test/schedulers/scheduler-process.js';

export interface ClusterOptions {
  nodes: number;
  /** Each node's capacity. */
  cpu: string;
  memory: string;
  /** Pods per node. */
  pods: number;
  /** etcd to use (default $ETCD_ENDPOINTS, else a fresh one started here). */
  etcdEndpoints?: string[];
}

export interface SchedulerSpec {
  name: string;
  /** A shipped profile name or a YAML file. */
  profile: string;
  conflictMode: 'fine' | 'coarse';
  /** Extra flags: the decision-time knob. */
  args: string[];
}

const NODE_PREFIX = 'exp-node-';
const READY_TIMEOUT_MS = 120_000;

function isReady(n: Node): boolean {
  return n.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

export class ExperimentCluster {
  private constructor(
    readonly client: ApiClient,
    private readonly apiserver: ApiServerProcess,
    private readonly agent: AgentProcess,
    private readonly etcd: EtcdServer | undefined,
    readonly options: ClusterOptions,
  ) {}

  get url(): string {
    return this.apiserver.url;
  }

  static async start(opts: ClusterOptions): Promise<ExperimentCluster> {
    const given = opts.etcdEndpoints ?? (process.env.ETCD_ENDPOINTS ?? '').split(',').map((e) => e.trim()).filter(Boolean);
    const etcd = given.length === 0 ? await startEtcd({ quiet: true }) : undefined;
    const endpoints = etcd ? [etcd.endpoint] : given;
    let apiserver: ApiServerProcess | undefined;
    let agent: AgentProcess | undefined;
    try {
      apiserver = await startApiServerProcess({
        etcdEndpoints: endpoints,
        prefix: `/cell-exp-${randomUUID()}`,
        port: await freePort(),
        args: ['--log-level=warn', '--compaction-interval=0'],
        readyTimeoutMs: READY_TIMEOUT_MS,
      });
      const client = new ApiClient({ servers: [apiserver.url], retries: 5 });
      agent = startAgent([
        `--server=${apiserver.url}`,
        `--hollow-nodes=${opts.nodes}`,
        `--node-prefix=${NODE_PREFIX}`,
        '--node-ip=127.0.0.1',
        `--cpu=${opts.cpu}`,
        `--memory=${opts.memory}`,
        `--pods=${opts.pods}`,
      ]);
      const cluster = new ExperimentCluster(client, apiserver, agent, etcd, opts);
      await cluster.waitForNodes();
      await cluster.warmUp();
      return cluster;
    } catch (err) {
      await agent?.stop();
      await apiserver?.stop();
      await etcd?.stop();
      throw err;
    }
  }

  private async waitForNodes(): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      const nodes = (await this.client.list<{ items: Node[] }>({ resource: 'nodes' })).items;
      if (nodes.filter((n) => n.metadata.name?.startsWith(NODE_PREFIX) && isReady(n)).length >= this.options.nodes) return;
      if (Date.now() > deadline) throw new Error(`only ${nodes.length} of ${this.options.nodes} hollow nodes Ready:\n${this.agent.output().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /**
   * Pods placed straight on the nodes (spec.nodeName), run and deleted: the API server's and the
   * agent's paths are compiled and warm before the first measured run, which would otherwise pay
   * for it alone (a first run measured several times slower than the same run later).
   */
  private async warmUp(): Promise<void> {
    const namespace = 'exp-warm-up';
    await this.createNamespace(namespace);
    const pods = Math.min(200, this.options.nodes * 10);
    for (let round = 0; round < 2; round++) {
      await Promise.all(
        Array.from({ length: pods }, (_, i) =>
          this.client.create({ namespace, resource: 'pods' }, {
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: { name: `warm-${round}-${i}` },
            spec: {
              nodeName: `${NODE_PREFIX}${i % this.options.nodes}`,
              restartPolicy: 'Never',
              containers: [{ name: 'task', image: 'busybox', command: ['true'], resources: { requests: { cpu: '10m', memory: '1Mi' } } }],
            },
          }),
        ),
      );
      await this.clearNamespace(namespace);
    }
  }

  /** A namespace of the run's own. */
  async createNamespace(name: string): Promise<void> {
    await this.client.create({ resource: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  }

  /** Start the run's schedulers side by side; all are ready (informers listed) when this resolves. */
  async startSchedulers(specs: readonly SchedulerSpec[]): Promise<SchedulerProcess[]> {
    const started = await Promise.allSettled(
      specs.map((s) =>
        startSchedulerProcess({
          server: this.url,
          name: s.name,
          profile: s.profile,
          args: [`--conflict-mode=${s.conflictMode}`, ...s.args],
          logLevel: 'error',
          readyTimeoutMs: READY_TIMEOUT_MS,
        }),
      ),
    );
    const ok = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await Promise.all(ok.map((p) => p.stop()));
      throw failed.reason instanceof Error ? failed.reason : new Error(String(failed.reason));
    }
    return ok;
  }

  /**
   * Delete the run's pods (a bound pod's delete frees its node allocation once the hollow agent
   * confirms it) and wait until none is left, so the next run starts on empty nodes.
   */
  async clearNamespace(namespace: string, timeoutMs = 60_000): Promise<void> {
    await this.client.request('DELETE', `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`, { query: { gracePeriodSeconds: '0' } });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const left = (await this.client.list<{ items: unknown[] }>({ namespace, resource: 'pods' })).items.length;
      if (left === 0) return;
      if (Date.now() > deadline) throw new Error(`${left} pods of ${namespace} still there ${timeoutMs} ms after their deletion`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async stop(): Promise<void> {
    this.client.close();
    await this.agent.stop();
    await this.apiserver.stop();
    await this.etcd?.stop();
  }
}
