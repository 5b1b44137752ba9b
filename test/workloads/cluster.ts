// The cluster the workload tests run on: a real API server on the shared test etcd, real node
// agents (hollow nodes, or one real agent running pods as host processes), a real scheduler
// process, the controllers under test in-process (so a test can stop them and start fresh
// instances, as a new controller-manager leader would), and kubectl on a kubeconfig.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Pod } from '../../shared/api/core.js';
import type { ApiClient } from '../../shared/client/http-client.js';
import { NotFoundError } from '../../shared/errors.js';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { startSchedulerProcess, type SchedulerProcess } from '../schedulers/scheduler-process.js';
import { killAllWith, removeDir, startAgent, tempRoot, type AgentProcess } from '../agent/helpers.js';
import { findKubectl, run, waitFor, writeKubeconfig, type RunResult } from '../clients/helpers.js';

export interface Stoppable {
  stop(): Promise<void>;
}

export interface WorkloadClusterOptions<C extends Stoppable> {
  /** Names the temp dir and the nodes (`<name>-node-N`, `<name>-real-1`). */
  name: string;
  /** Hollow nodes (default 4, or 0 with a real agent). */
  hollowNodes?: number;
  /** One real agent running pods as host processes, instead of hollow nodes. */
  realAgent?: boolean;
  /** Extra flags for the agent (hollow or real). */
  agentArgs?: string[];
  /** Starts the controllers under test; none when absent. */
  startControllers?: (client: ApiClient) => Promise<C>;
}

export interface WorkloadCluster<C extends Stoppable> {
  readonly api: TestApiServer;
  readonly client: ApiClient;
  readonly sched: SchedulerProcess;
  readonly kubeconfig: string;
  readonly controllers: C;
  /** Stop the controllers and start fresh instances (new informers, no memory); `between` runs while none runs. */
  restartControllers(between?: () => Promise<void>): Promise<void>;
  kubectl(args: string[], timeoutMs?: number): Promise<RunResult>;
  /** `kubectl apply -f` of `obj` (written to a file of the suite's temp dir) in `namespace`; throws unless it succeeds. */
  apply(namespace: string, obj: unknown): Promise<void>;
}

/** Starts the cluster before the suite's tests and stops it after; call first in a `describe`. */
export function workloadSuite<C extends Stoppable>(o: WorkloadClusterOptions<C>): WorkloadCluster<C> {
  const kubectlBin = findKubectl();
  if (!kubectlBin) throw new Error('kubectl is not on PATH (set $KUBECTL)');
  let api: TestApiServer | undefined;
  let client: ApiClient | undefined;
  let sched: SchedulerProcess | undefined;
  let controllers: C | undefined;
  let agent: AgentProcess | undefined;
  let root = '';
  let kubeconfig = '';
  let manifests = 0;
  const started = <T>(v: T | undefined): T => {
    if (v === undefined) throw new Error(`the ${o.name} suite is used before its before() hook ran`);
    return v;
  };
  before(async function () {
    this.timeout(120_000);
    root = tempRoot(`cell-${o.name}-test-`);
    api = await startTestApiServer({ backend: 'etcd' });
    client = api.client();
    kubeconfig = writeKubeconfig(path.join(root, 'kubeconfig'), api.url);
    const hollow = o.hollowNodes ?? (o.realAgent ? 0 : 4);
    if (o.realAgent) {
      agent = startAgent([`--server=${api.url}`, `--node-name=${o.name}-real-1`, '--node-ip=127.0.0.1', '--address=127.0.0.1', `--root-dir=${path.join(root, 'agent')}`, '--cpu=4', '--memory=4Gi', '--heartbeat-interval=1s', ...(o.agentArgs ?? [])]);
    } else if (hollow > 0) {
      agent = startAgent([`--server=${api.url}`, `--hollow-nodes=${hollow}`, `--node-prefix=${o.name}-node-`, '--node-ip=127.0.0.1', '--cpu=8', '--memory=32Gi', ...(o.agentArgs ?? [])]);
    }
    const expected = o.realAgent ? 1 : hollow;
    const c = client;
    const a = agent;
    await waitFor(async () => {
      const nodes = await c.list<{ items: { status: { conditions?: { type: string; status: string }[] } }[] }>({ resource: 'nodes' });
      return nodes.items.filter((n) => n.status.conditions?.some((x) => x.type === 'Ready' && x.status === 'True')).length >= expected;
    }, `${expected} Ready nodes (agent: ${a?.output().slice(-1000) ?? ''})`, 60_000, 200);
    sched = await startSchedulerProcess({ server: api.url });
    if (o.startControllers) controllers = await o.startControllers(client);
  });
  after(async function () {
    this.timeout(60_000);
    await controllers?.stop();
    if (client) {
      // Pods go first, so a real agent stops its processes before it is stopped itself.
      const pods = await client.list<{ items: Pod[] }>({ resource: 'pods' });
      await Promise.all(pods.items.map((p) => forceDeletePod(started(client), p)));
    }
    await agent?.stop();
    await sched?.stop();
    if (root) killAllWith(root);
    await api?.close();
    if (root) removeDir(root);
  });
  return {
    get api() {
      return started(api);
    },
    get client() {
      return started(client);
    },
    get sched() {
      return started(sched);
    },
    get kubeconfig() {
      return kubeconfig;
    },
    get controllers() {
      return started(controllers);
    },
    async restartControllers(between) {
      const start = o.startControllers;
      if (!start) throw new Error(`the ${o.name} suite runs no controllers`);
      await started(controllers).stop();
      controllers = undefined;
      await between?.();
      controllers = await start(started(client));
    },
    kubectl: (args, timeoutMs = 60_000) => run(kubectlBin, [`--kubeconfig=${kubeconfig}`, ...args], { timeoutMs }),
    async apply(namespace, obj) {
      const file = path.join(root, `manifest-${++manifests}.json`);
      writeFileSync(file, JSON.stringify(obj));
      const r = await run(kubectlBin, [`--kubeconfig=${kubeconfig}`, '-n', namespace, 'apply', '-f', file], { timeoutMs: 60_000 });
      if (r.code !== 0) throw new Error(`kubectl apply -n ${namespace}: exit ${r.code}\n${r.stderr}`);
    },
  };
}

/** Drop a pod's finalizers and delete it at once (test cleanup). */
async function forceDeletePod(client: ApiClient, pod: Pod): Promise<void> {
  const ref = { resource: 'pods', namespace: pod.metadata.namespace, name: pod.metadata.name };
  try {
    if ((pod.metadata.finalizers ?? []).length > 0) await client.patch(ref, { metadata: { finalizers: null } }, 'merge');
    await client.delete(ref, { gracePeriodSeconds: 0 });
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
  }
}

export async function createNamespace(client: ApiClient, name: string): Promise<void> {
  await client.create({ resource: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
}
