// A scheduler in another language commits as safely as cell-scheduler: the Python example
// (examples/python-scheduler/scheduler.py, the official Kubernetes client, Binding subresource)
// and a cell-scheduler own the SAME scheduler name and race for the same pods onto the same few
// nodes. More pods than fit; in the end no pod is bound twice, no node is over-committed (the API
// server's audit), and the Python scheduler both won binds and lost races (409s) along the way.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { expect } from 'chai';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { REPO_ROOT } from '../harness/entrypoint.js';
import { audit, createNamespace, createNodes, createPods, listPods, nodeObject, podObject, waitFor } from './helpers.js';
import { metricValue, startSchedulerProcess, type SchedulerProcess } from './scheduler-process.js';

const PYTHON = process.env.CELL_PYTHON ?? '/usr/bin/python3';
const NAME = 'racer';
const NS = 'python-race';
const NODES = 3;
const PER_NODE = 4; // 1 cpu each, 250m per pod
const CAPACITY = NODES * PER_NODE;
const WAVES = 6;
const PER_WAVE = 4; // 24 pods for 12 places

interface PyLine {
  event: string;
  pod?: string;
  node?: string;
  bound?: number;
  conflicts?: number;
  errors?: number;
}

describe('a Python scheduler and cell-scheduler race for the same pods', function () {
  this.timeout(60_000);
  let api: TestApiServer;
  let py: ChildProcess | undefined;
  let cell: SchedulerProcess | undefined;
  const lines: PyLine[] = [];
  let pyOut = '';
  let pyErr = '';

  before(async () => {
    api = await startTestApiServer({ backend: 'etcd' });
  });
  after(async () => {
    await cell?.stop();
    if (py && py.exitCode === null && py.signalCode === null) {
      const exited = new Promise((resolve) => py!.once('exit', resolve));
      py.kill('SIGTERM');
      await exited;
    }
    await api?.close();
  });

  it('no pod bound twice, no node over-committed; the Python scheduler bound some and lost some races', async () => {
    const client = api.client();
    await createNamespace(client, NS);
    await createNodes(client, Array.from({ length: NODES }, (_, i) => nodeObject(`small-${i}`, { cpu: '1', memory: '4Gi' })));

    py = spawn(PYTHON, [path.join(REPO_ROOT, 'examples/python-scheduler/scheduler.py'), `--server=${api.url}`, `--scheduler-name=${NAME}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    py.stdout!.setEncoding('utf8').on('data', (d: string) => {
      pyOut += d;
      let nl: number;
      while ((nl = pyOut.indexOf('\n')) >= 0) {
        const line = pyOut.slice(0, nl);
        pyOut = pyOut.slice(nl + 1);
        if (line.trim()) lines.push(JSON.parse(line) as PyLine);
      }
    });
    py.stderr!.setEncoding('utf8').on('data', (d: string) => (pyErr = (pyErr + d).slice(-8000)));
    const pyState = () => `python stderr: ${pyErr.slice(-2000)}`;
    await waitFor(`the Python scheduler to be ready (${pyState()})`, async () => lines.some((l) => l.event === 'ready') || (py!.exitCode !== null ? Promise.reject(new Error(pyState())) : false), 20_000);

    // Waves of pods created at once. The first goes to the Python scheduler alone (cell-scheduler
    // starts after it): cell-scheduler reacts faster, so whether Python wins any race is timing,
    // and the check that it binds must not rest on that. Every later wave both reach for together.
    const boundPods = async () => (await listPods(client, NS)).filter((p) => p.spec.nodeName);
    for (let w = 0; w < WAVES; w++) {
      if (w === 1) cell = await startSchedulerProcess({ server: api.url, name: NAME });
      await createPods(client, NS, Array.from({ length: PER_WAVE }, (_, i) => podObject(`p-${w}-${i}`, { scheduler: NAME, cpu: '250m' })));
      const want = Math.min(CAPACITY, (w + 1) * PER_WAVE);
      await waitFor(`${want} pods bound after wave ${w}`, async () => (await boundPods()).length >= want, 20_000);
    }

    // Every place taken: nothing more can be bound, and the rest stay pending.
    const bound = await boundPods();
    expect(bound.length).to.equal(CAPACITY);
    const report = await audit(client);
    expect(report.ok, JSON.stringify(report.violations)).to.equal(true);
    expect(report.violations).to.deep.equal([]);

    // No pod bound twice: each successful bind (Python's lines + cell-scheduler's counter) is a distinct bound pod.
    const pyBound = lines.filter((l) => l.event === 'bound');
    const cellBound = metricValue(await cell!.metrics(), 'cell_scheduler_bound_pods_total');
    expect(pyBound.length + cellBound, `python ${pyBound.length} + cell ${cellBound}`).to.equal(CAPACITY);
    const nodeOf = new Map(bound.map((p) => [`${NS}/${p.metadata.name ?? ''}`, p.spec.nodeName]));
    for (const l of pyBound) expect(nodeOf.get(l.pod ?? ''), `python bound ${l.pod} to ${l.node}`).to.equal(l.node);
    expect(new Set(pyBound.map((l) => l.pod)).size).to.equal(pyBound.length);

    const conflicts = lines.filter((l) => l.event === 'conflict').length;
    expect(pyBound.length, 'binds won by the Python scheduler').to.be.greaterThan(0);
    expect(cellBound, 'binds won by cell-scheduler').to.be.greaterThan(0);
    expect(conflicts, 'races (409s) lost by the Python scheduler').to.be.greaterThan(0);
    expect(lines.filter((l) => l.event === 'error'), pyState()).to.deep.equal([]);
  });
});
