// The scheduler as it runs in a real cluster: against an API server with token auth, connected by
// a kubeconfig file, with only the system:schedulers group's rights (read everything; create
// bindings, placements, events and leases; patch pod and PodGroup status; evict pods).
import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Lease } from '../../shared/api/coordination.js';
import type { ApiClient } from '../../shared/client/http-client.js';
import { startTestApiServer, TEST_TOKENS, type TestApiServer } from '../harness/apiserver.js';
import { createNamespace, createNodes, createPods, eventMessages, getPod, getPodGroup, nodeObject, podObject, waitFor, waitForBound } from './helpers.js';
import { metricValue, startSchedulerProcess, type SchedulerProcess } from './scheduler-process.js';

describe('scheduler with token auth and a kubeconfig', function () {
  this.timeout(60_000);
  let api: TestApiServer;
  let admin: ApiClient;
  let sched: SchedulerProcess;
  const ns = 'secured';

  before(async () => {
    api = await startTestApiServer({ backend: 'etcd', auth: true });
    admin = api.client(TEST_TOKENS.admin);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cell-sched-kubeconfig-'));
    const kubeconfig = path.join(dir, 'config');
    writeFileSync(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'current-context: cell',
        'clusters: [{ name: cell, cluster: { server: "' + api.url + '" } }]',
        'users: [{ name: scheduler, user: { token: ' + TEST_TOKENS.scheduler + ' } }]',
        'contexts: [{ name: cell, context: { cluster: cell, user: scheduler } }]',
      ].join('\n'),
    );
    // startSchedulerProcess passes --server too; an explicit --server wins, the token comes from the file.
    sched = await startSchedulerProcess({ server: api.url, args: [`--kubeconfig=${kubeconfig}`, '--leader-elect', '--leader-elect-lease-duration=3s', '--leader-elect-renew-deadline=2s', '--leader-elect-retry-period=250ms'] });
    await createNamespace(admin, ns);
  });
  after(async () => {
    await sched?.stop();
    await api?.close();
  });

  it('leads, binds, reports unschedulable pods and gang status with a scheduler’s rights only', async () => {
    await waitFor('leadership', async () => metricValue(await sched.metrics(), 'cell_scheduler_leader') === 1);
    const lease = await admin.get<Lease>({ group: 'coordination.k8s.io', version: 'v1', namespace: 'kube-system', resource: 'leases', name: 'default-scheduler' });
    expect(lease.spec.holderIdentity).to.be.a('string').and.not.equal('');

    await createNodes(admin, [nodeObject('s-1', { cpu: '2' })]);
    await admin.create({ group: 'scheduling.x-k8s.io', version: 'v1alpha1', namespace: ns, resource: 'podgroups' }, { apiVersion: 'scheduling.x-k8s.io/v1alpha1', kind: 'PodGroup', metadata: { name: 'pair' }, spec: { minMember: 2 } });
    const member = (n: string) => podObject(n, { labels: { 'scheduling.x-k8s.io/pod-group': 'pair' } });
    await createPods(admin, ns, [podObject('plain'), podObject('too-big', { cpu: '8' }), member('pair-0'), member('pair-1')]);
    await waitForBound(admin, ns, ['plain', 'pair-0', 'pair-1']);
    await waitFor('PodGroup phase Scheduled', async () => (await getPodGroup(admin, ns, 'pair')).status.phase === 'Scheduled');
    await waitFor('FailedScheduling', async () => (await eventMessages(admin, ns, 'too-big', 'FailedScheduling'))[0]);
    const cond = await waitFor('PodScheduled=False', async () => (await getPod(admin, ns, 'too-big'))?.status.conditions?.find((c) => c.type === 'PodScheduled'));
    expect(cond).to.include({ status: 'False', reason: 'Unschedulable' });
    expect(sched.output()).to.not.match(/forbidden/i);
  });

  it('exits 0 on SIGTERM and releases its lease for the next leader', async () => {
    expect(await sched.stop('SIGTERM')).to.equal(0);
    const lease = await admin.get<Lease>({ group: 'coordination.k8s.io', version: 'v1', namespace: 'kube-system', resource: 'leases', name: 'default-scheduler' });
    expect(lease.spec.holderIdentity ?? '').to.equal('');
  });
});
