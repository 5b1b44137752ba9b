// A 409 is not always a stale view. When the scheduler's fit check lets through a pod the server's
// ledger refuses — here a profile whose NodeResourcesFit ignores memory, which every node's ledger
// still enforces — the server answers Insufficient on the very ledger version the scheduler decided
// on. The scheduler must not mark that node stale: nothing may ever move its ledger again, and a
// stale mark would keep every other pod off it.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import YAML from 'yaml';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { audit, createNamespace, createNodes, createPods, getPod, nodeObject, podObject, waitFor, waitForBound } from './helpers.js';
import { metricValue, startSchedulerProcess, type SchedulerProcess } from './scheduler-process.js';

describe('scheduler: a refusal on the ledger version it decided on does not mark the node stale', function () {
  this.timeout(60_000);
  const ns = 'stale-guard';
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cell-stale-guard-'));
  let api: TestApiServer;
  let sched: SchedulerProcess;

  before(async () => {
    api = await startTestApiServer({ backend: 'etcd' });
    const profile = YAML.parse(readFileSync('schedulers/profiles/default.yaml', 'utf8')) as { name: string; plugins: { name: string; args?: Record<string, unknown> }[] };
    profile.name = 'ignores-memory';
    const fit = profile.plugins.find((p) => p.name === 'NodeResourcesFit')!;
    fit.args = { ...(fit.args ?? {}), ignoredResources: ['memory'] };
    const file = path.join(dir, 'ignores-memory.yaml');
    writeFileSync(file, YAML.stringify(profile));
    sched = await startSchedulerProcess({ server: api.url, name: 'ignorer', profile: file });
  });
  after(async () => {
    await sched?.stop();
    await api?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps placing pods that fit on a node after one that only the ledger refuses', async () => {
    const client = api.client();
    await createNamespace(client, ns);
    await createNodes(client, [nodeObject('only', { cpu: '4', memory: '1Gi' })]);
    // Too much memory for the node: the scheduler (ignoring memory) tries, the server refuses.
    await createPods(client, ns, [podObject('too-big', { scheduler: 'ignorer', memory: '2Gi' })]);
    await waitFor('a refused commit', async () => metricValue(await sched.metrics(), 'cell_scheduler_conflicts_total', {}) > 0 || undefined);
    await createPods(client, ns, [podObject('small', { scheduler: 'ignorer', memory: '100Mi' })]);
    const bound = await waitForBound(client, ns, ['small'], 15_000);
    expect(bound.get('small')).to.equal('only');
    expect((await getPod(client, ns, 'too-big'))?.spec.nodeName).to.equal(undefined);
    expect((await audit(client)).violations).to.deep.equal([]);
  });
});
