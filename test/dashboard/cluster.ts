// A real local cluster for the dashboard's browser tests and benchmark: an in-process API server
// with token auth over the test etcd, a hollow agent playing N nodes, optionally one real agent
// (node-1, whose pods are host processes and so have logs), a real cell-scheduler process,
// optionally the controllers (in-process, for Deployments and Jobs), and a TLS front so real
// kubectl can use a token.
import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Node } from '../../shared/api/core.js';
import { startTestApiServer, TEST_TOKENS, type TestApiServer } from '../harness/apiserver.js';
import { startAgent, killAllWith, removeDir, tempRoot, waitFor, type AgentProcess } from '../agent/helpers.js';
import { findKubectl, run, writeKubeconfig } from '../clients/helpers.js';
import { startTlsProxy, TEST_TLS_CERT, type TlsProxy } from '../clients/tls-proxy.js';
import { startSchedulerProcess, type SchedulerProcess } from '../schedulers/scheduler-process.js';
import { startTestControllerManager, type TestControllerManager } from '../controllers/helpers.js';

export interface DashboardCluster {
  api: TestApiServer;
  /** The page's address: the API server itself. */
  uiUrl: string;
  /** A kubeconfig for real kubectl as the admin (token over the TLS front). */
  kubeconfig: string;
  root: string;
  /** Runs real kubectl as the admin; fails the test unless it exits 0; its stdout. */
  kubectl(...args: string[]): Promise<string>;
  /** `kubectl apply` of `manifest`, written to a file named after `name`. */
  apply(name: string, manifest: object): Promise<void>;
  close(): Promise<void>;
}

export async function startDashboardCluster(opts: { hollowNodes: number; realAgent: boolean; agentArgs?: string[]; controllers?: boolean }): Promise<DashboardCluster> {
  const root = tempRoot('cell-dashboard-');
  const api = await startTestApiServer({ backend: 'etcd', auth: true, watchCacheCapacity: 100_000 });
  const agents: AgentProcess[] = [];
  let scheduler: SchedulerProcess | undefined;
  let proxy: TlsProxy | undefined;
  let controllers: TestControllerManager | undefined;
  const admin = api.client(TEST_TOKENS.admin);
  try {
    agents.push(
      startAgent([
        `--server=${api.url}`,
        `--token=${TEST_TOKENS.admin}`,
        `--hollow-nodes=${opts.hollowNodes}`,
        '--node-prefix=hollow-',
        '--node-ip=127.0.0.1',
        '--cpu=8',
        '--memory=32Gi',
        '--heartbeat-interval=10s',
        '--lease-duration=40s',
        ...(opts.agentArgs ?? []),
      ]),
    );
    if (opts.realAgent) {
      const kc = writeKubeconfig(path.join(root, 'node-1.kubeconfig'), api.url, { token: TEST_TOKENS.node1 });
      agents.push(
        startAgent([`--kubeconfig=${kc}`, '--node-name=node-1', '--node-ip=127.0.0.1', '--address=127.0.0.1', `--root-dir=${path.join(root, 'agent')}`, '--cpu=4', '--memory=4Gi', '--heartbeat-interval=1s', '--stats-interval=1s', '--stop-pods-on-exit']),
      );
    }
    const want = opts.hollowNodes + (opts.realAgent ? 1 : 0);
    await waitFor(
      async () => {
        const nodes = (await admin.list<{ items: Node[] }>({ resource: 'nodes' })).items;
        return nodes.filter((n) => n.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length === want;
      },
      `${want} nodes Ready (agents: ${agents.map((a) => a.output().slice(-1000)).join('\n')})`,
      180_000,
      250,
    );
    scheduler = await startSchedulerProcess({ server: api.url, args: [`--token=${TEST_TOKENS.scheduler}`] });
    proxy = await startTlsProxy(api.url);
    if (opts.controllers) controllers = startTestControllerManager(api.url, { token: TEST_TOKENS.admin, leaderElection: false });
    const kubeconfig = writeKubeconfig(path.join(root, 'admin.kubeconfig'), proxy.url, { token: TEST_TOKENS.admin, caCertPem: TEST_TLS_CERT });
    const started = { scheduler, proxy };
    const kubectl = async (...args: string[]) => {
      const bin = findKubectl();
      if (!bin) throw new Error('kubectl is not on PATH (.ci/run installs it)');
      const r = await run(bin, ['--kubeconfig', kubeconfig, ...args]);
      expect(r.code, `kubectl ${args.join(' ')}: ${r.stderr}`).to.equal(0);
      return r.stdout;
    };
    return {
      api,
      uiUrl: `${api.url}/ui/`,
      kubeconfig,
      root,
      kubectl,
      async apply(name, manifest) {
        const file = path.join(root, `${name}.json`);
        writeFileSync(file, JSON.stringify(manifest));
        await kubectl('apply', '-f', file);
      },
      async close() {
        await controllers?.stop();
        await started.proxy.close();
        await started.scheduler.stop();
        await Promise.all(agents.map((a) => a.stop()));
        killAllWith(root);
        await api.close();
        removeDir(root);
      },
    };
  } catch (err) {
    await controllers?.stop();
    await proxy?.close();
    await scheduler?.stop();
    await Promise.all(agents.map((a) => a.kill()));
    killAllWith(root);
    await api.close();
    removeDir(root);
    throw err;
  }
}
