// Readiness probes driving a Deployment end to end: one real agent running the pods as host
// processes and probing them, a real scheduler process, the Deployment and ReplicaSet controllers
// in-process, and kubectl. A rollout is complete only once the probes pass, and an update whose
// new pods never pass them stalls with every old pod still serving — the reason probes exist.
import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Deployment } from '../../shared/api/apps.js';
import type { Pod } from '../../shared/api/core.js';
import type { ApiClient } from '../../shared/client/http-client.js';
import { deploymentControllerDefinition } from '../../controllers/deployment/controller.js';
import { garbageCollectorDefinition } from '../../controllers/garbage-collector/controller.js';
import { replicaSetControllerDefinition } from '../../controllers/replicaset/controller.js';
import { removeDir, tempRoot } from '../agent/helpers.js';
import { sleep, waitFor } from '../clients/helpers.js';
import { startControllers } from '../controllers/helpers.js';
import { createNamespace, workloadSuite } from './cluster.js';

const DEPLOYMENTS = { group: 'apps', version: 'v1', resource: 'deployments' } as const;

const isReady = (p: Pod) => p.status.phase === 'Running' && (p.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

function deployment(name: string, readyFile: string) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [
            {
              name: 'main',
              image: 'busybox:1',
              command: ['sleep', '3600'],
              readinessProbe: { exec: { command: ['test', '-f', readyFile] }, periodSeconds: 1 },
              resources: { requests: { cpu: '10m' } },
            },
          ],
        },
      },
    },
  };
}

async function podsOf(client: ApiClient, ns: string, app: string): Promise<Pod[]> {
  return (await client.list<{ items: Pod[] }>({ resource: 'pods', namespace: ns }, { labelSelector: `app=${app}` })).items.filter((p) => p.metadata.deletionTimestamp === undefined);
}

describe('readiness probes gate a Deployment on a real agent', function () {
  this.timeout(180_000);
  const cluster = workloadSuite({
    name: 'ready',
    realAgent: true,
    startControllers: (client) => startControllers(client, [deploymentControllerDefinition, replicaSetControllerDefinition, garbageCollectorDefinition], undefined, 'readiness-test'),
  });
  let dir = '';
  before(() => {
    dir = tempRoot('cell-readiness-files-');
  });
  after(() => removeDir(dir));

  it('completes a rollout only once the probes pass, and stalls an update whose new pods never pass, keeping the old ones serving', async () => {
    const ns = 'readiness';
    await createNamespace(cluster.client, ns);
    const gate = path.join(dir, 'ready');
    await cluster.apply(ns, deployment('gate', gate));
    await waitFor(async () => (await podsOf(cluster.client, ns, 'gate')).filter((p) => p.status.phase === 'Running').length === 2, 'two running pods', 60_000, 200);
    // Running but not ready: three probe periods later, still nothing available.
    await sleep(3000);
    const notYet = await cluster.client.get<Deployment>({ ...DEPLOYMENTS, namespace: ns, name: 'gate' });
    expect(notYet.status.readyReplicas ?? 0).to.equal(0);
    expect(notYet.status.availableReplicas ?? 0).to.equal(0);
    const pending = await cluster.kubectl(['-n', ns, 'rollout', 'status', 'deployment/gate', '--timeout=2s']);
    expect(pending.code, pending.stdout).to.not.equal(0);
    for (const p of await podsOf(cluster.client, ns, 'gate')) {
      expect(p.status.containerStatuses?.[0]?.ready).to.equal(false);
      expect(p.status.conditions?.find((c) => c.type === 'Ready')).to.include({ status: 'False', reason: 'ContainersNotReady' });
    }

    writeFileSync(gate, '');
    const done = await cluster.kubectl(['-n', ns, 'rollout', 'status', 'deployment/gate', '--timeout=60s'], 90_000);
    expect(done.code, done.stderr).to.equal(0);
    const ready = await podsOf(cluster.client, ns, 'gate');
    expect(ready.filter(isReady).map((p) => p.metadata.name).sort()).to.have.length(2);
    const serving = new Set(ready.map((p) => p.metadata.name));

    // An update whose probe looks for a file that never appears: one surge pod, never ready; with
    // maxUnavailable 0 no old pod may go.
    const broken = deployment('gate', path.join(dir, 'never'));
    await cluster.apply(ns, broken);
    await waitFor(async () => (await podsOf(cluster.client, ns, 'gate')).length === 3, 'the surge pod', 60_000, 200);
    await sleep(4000);
    const stalled = await podsOf(cluster.client, ns, 'gate');
    expect(stalled).to.have.length(3);
    expect(stalled.filter(isReady).map((p) => p.metadata.name).sort()).to.deep.equal([...serving].sort());
    const d = await cluster.client.get<Deployment>({ ...DEPLOYMENTS, namespace: ns, name: 'gate' });
    expect(d.status).to.include({ readyReplicas: 2, availableReplicas: 2, updatedReplicas: 1 });
    expect(d.status.unavailableReplicas ?? 0).to.equal(1);
  });
});
