// Draining a node under a PodDisruptionBudget, with real kubectl (1.32, on PATH) and cellctl as
// processes against a real API server on etcd. kubectl finds the eviction subresource through
// discovery (pods/eviction, group policy, version v1) and evicts; a budget that allows nothing
// keeps every pod in place until drain gives up, and a budget patched down lets the drain finish.
// No agent runs: pods are bound and reported Running/Ready through the API as an agent would, and a
// stand-in confirms evicted pods stopped (deletes them with grace 0) as the agent would.
import { expect } from 'chai';
import path from 'node:path';
import type { Pod } from '../../shared/api/core.js';
import { NotFoundError } from '../../shared/errors.js';
import type { ApiClient } from '../../shared/client/http-client.js';
import type { TestApiServer } from '../harness/apiserver.js';
import { cellctl, cellctlRunning, isolatedEnv, tempDir as cliTempDir } from '../cli/helpers.js';
import { findKubectl, run, tempDir, waitFor, writeKubeconfig } from '../clients/helpers.js';
import { createBudget, createNode, runningPod, sleep, startDisruptionServer, waitForBudget } from './helpers.js';

/** The agent's part: every pod on `node` marked for deletion is confirmed stopped (deleted at once). */
function standInAgent(client: ApiClient, node: string): () => Promise<void> {
  let running = true;
  const loop = (async () => {
    while (running) {
      const pods = (await client.list<{ items: Pod[] }>({ resource: 'pods' }, { fieldSelector: `spec.nodeName=${node}` })).items;
      for (const p of pods.filter((x) => x.metadata.deletionTimestamp)) {
        try {
          await client.delete({ resource: 'pods', namespace: p.metadata.namespace ?? '', name: p.metadata.name ?? '' }, { gracePeriodSeconds: 0 });
        } catch (err) {
          if (!(err instanceof NotFoundError)) throw err;
        }
      }
      await sleep(100);
    }
  })();
  return async () => {
    running = false;
    await loop;
  };
}

const kubectl = findKubectl();

describe('drain under a disruption budget (kubectl 1.32 and cellctl)', function () {
  this.timeout(90_000);
  let api: TestApiServer;
  let client: ApiClient;
  const podsOn = async (node: string) => (await client.list<{ items: Pod[] }>({ resource: 'pods' }, { fieldSelector: `spec.nodeName=${node}` })).items;

  /** A namespace and node with three ready pods (owned by a ReplicaSet, as kubectl drain expects) under one budget. */
  async function setup(ns: string, node: string, minAvailable: number): Promise<void> {
    await client.create({ resource: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    await createNode(client, node, { cpu: '8', memory: '8Gi', pods: '20' });
    for (const name of ['web-0', 'web-1', 'web-2']) await runningPod(client, name, node, { namespace: ns, labels: { app: 'web' }, owned: true, grace: 30 });
    await createBudget(client, 'web', { minAvailable, selector: { matchLabels: { app: 'web' } } }, ns);
    await waitForBudget(client, 'web', (b) => b.status.currentHealthy === 3, ns);
  }

  async function lowerBudget(ns: string, minAvailable: number): Promise<void> {
    await client.patch({ group: 'policy', version: 'v1', resource: 'poddisruptionbudgets', namespace: ns, name: 'web' }, { spec: { minAvailable } }, 'merge');
    await waitForBudget(client, 'web', (b) => b.status.observedGeneration === 2 && b.status.disruptionsAllowed > 0, ns);
  }

  before(async () => {
    api = await startDisruptionServer();
    client = api.client();
  });
  after(async () => api?.close());

  it('kubectl finds the eviction subresource in discovery', async () => {
    const res = await fetch(`${api.url}/api/v1`);
    const list = (await res.json()) as { resources: { name: string; kind: string; group?: string; version?: string; verbs: string[] }[] };
    expect(list.resources.find((r) => r.name === 'pods/eviction')).to.deep.include({ kind: 'Eviction', group: 'policy', version: 'v1', verbs: ['create'] });
    const policy = (await (await fetch(`${api.url}/apis/policy/v1`)).json()) as { resources: { name: string; shortNames?: string[] }[] };
    expect(policy.resources.map((r) => r.name)).to.deep.equal(['poddisruptionbudgets', 'poddisruptionbudgets/status']);
    expect(policy.resources[0]!.shortNames).to.deep.equal(['pdb']);
  });

  it('kubectl drain is blocked by the budget until its timeout, then finishes once the budget allows it', async function () {
    if (!kubectl) throw new Error('kubectl is not on PATH (these tests need kubectl 1.32)');
    await setup('kd', 'kd-node', 3);
    const dir = tempDir('pdb-kubectl-');
    const kubeconfig = writeKubeconfig(path.join(dir, 'config'), api.url, { namespace: 'kd' });
    const env = { ...process.env, KUBECONFIG: kubeconfig, HOME: dir };
    const drain = () => run(kubectl, ['drain', 'kd-node', '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=4s'], { env, timeoutMs: 60_000 });

    const create = await run(kubectl, ['create', 'pdb', 'db', '--selector=app=db', '--max-unavailable=50%'], { env });
    expect(create.code, create.stderr).to.equal(0);
    expect(create.stdout).to.equal('poddisruptionbudget.policy/db created\n');
    await waitForBudget(client, 'db', () => true, 'kd');
    const get = await run(kubectl, ['get', 'pdb', '-n', 'kd'], { env });
    expect(get.code, get.stderr).to.equal(0);
    expect(get.stdout).to.match(/^NAME +MIN AVAILABLE +MAX UNAVAILABLE +ALLOWED DISRUPTIONS +AGE\ndb +N\/A +50% +0 +\d+s\nweb +3 +N\/A +0 +\d+s\n$/);

    const blocked = await drain();
    expect(blocked.code, blocked.stdout + blocked.stderr).to.not.equal(0);
    expect(blocked.stderr).to.include(`error when evicting pods/"web-0" -n "kd" (will retry after 5s): Cannot evict pod as it would violate the pod's disruption budget.`);
    expect(blocked.stderr).to.include('global timeout reached: 4s');
    const still = await podsOn('kd-node');
    expect(still.map((p) => p.metadata.name)).to.deep.equal(['web-0', 'web-1', 'web-2']);
    expect(still.every((p) => p.metadata.deletionTimestamp === undefined)).to.equal(true);
    expect((await client.get<{ spec: { unschedulable?: boolean } }>({ resource: 'nodes', name: 'kd-node' })).spec.unschedulable).to.equal(true);

    await lowerBudget('kd', 0);
    const stop = standInAgent(client, 'kd-node');
    try {
      const ok = await run(kubectl, ['drain', 'kd-node', '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=30s'], { env, timeoutMs: 60_000 });
      expect(ok.code, ok.stdout + ok.stderr).to.equal(0);
      expect(ok.stdout).to.include('pod/web-0 evicted');
      expect(ok.stdout).to.include('node/kd-node drained');
    } finally {
      await stop();
    }
    expect(await podsOn('kd-node')).to.deep.equal([]);
  });

  it('cellctl drain: blocked pods are retried, the blocking budget is named, and the drain completes when the budget is lowered', async () => {
    await setup('cd', 'cd-node', 2);
    const env = isolatedEnv(cliTempDir());
    const get = await cellctl([`--server=${api.url}`, 'get', 'pdb', '-n', 'cd'], { env });
    expect(get.code, get.stderr).to.equal(0);
    expect(get.stdout).to.match(/^NAME +MIN AVAILABLE +MAX UNAVAILABLE +ALLOWED DISRUPTIONS +AGE\nweb +2 +N\/A +1 +\d+s\n$/);
    // One eviction is allowed (3 healthy, 2 needed); the other two are blocked until --timeout.
    const first = await cellctl([`--server=${api.url}`, 'drain', 'cd-node', '--timeout=2s'], { env, timeoutMs: 30_000 });
    expect(first.code).to.equal(1);
    expect(first.stdout).to.match(/^node\/cd-node cordoned\nevicting pod cd\/web-0\n/);
    expect(first.stdout).to.include('Summary for node/cd-node: 0 of 3 pods evicted, 1 still terminating (not confirmed stopped by the node\'s agent), 2 blocked by a disruption budget\n');
    expect(first.stdout).to.include('  cd/web-1  Blocked by a disruption budget\n');
    expect(first.stderr).to.include(`error when evicting pods/"web-1" -n "cd" (will retry after 5s): Cannot evict pod as it would violate the pod's disruption budget.\n  blocked by poddisruptionbudget/web in namespace cd needs 2 healthy pods and has 2\n`);
    expect(first.stderr).to.include('error: drain did not complete within 2s: 1 pod still terminating and 2 pods blocked by disruption budgets on node cd-node (the node stays cordoned; run drain again once the budgets allow it)');
    const pods = await podsOn('cd-node');
    expect(pods.filter((p) => p.metadata.deletionTimestamp).map((p) => p.metadata.name)).to.deep.equal(['web-0']);

    // Run again with the agent confirming stops; lower the budget while it retries.
    const stop = standInAgent(client, 'cd-node');
    try {
      const second = cellctlRunning([`--server=${api.url}`, 'drain', 'cd-node', '--timeout=40s'], env);
      // Lowered only once this drain has been refused and is retrying, however slow its start.
      const refusal = 'error when evicting pods/"web-1" -n "cd" (will retry after 5s)';
      await waitFor(() => second.stderr().includes(refusal), 'the drain to be refused by the budget', 30_000);
      await lowerBudget('cd', 0);
      const code = await second.exit;
      const r = { code, stdout: second.stdout(), stderr: second.stderr() };
      expect(r.code, r.stdout + r.stderr).to.equal(0);
      expect(r.stdout).to.include('evicting pod cd/web-1\n');
      expect(r.stdout).to.include('evicting pod cd/web-2\n');
      // web-0 (evicted by the first run) may be gone before this run lists the pods.
      expect(r.stdout).to.match(/node\/cd-node drained: [23] pods evicted in \d+s\n$/);
    } finally {
      await stop();
    }
    expect(await podsOn('cd-node')).to.deep.equal([]);
  });
});
