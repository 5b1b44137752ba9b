// The agent's pure rules, without processes: back-off, $(VAR) expansion, the kubelet's phase
// rules, admission, log tails, flag parsing and kubeconfig loading. (The node lifecycle's node
// transformations and the --controllers flag: test/controllers/units.test.ts.)
import { expect } from 'chai';
import { appendFileSync, statSync, writeFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import path from 'node:path';
import { admissionFailure } from '../../agent/agent.js';
import { containerArgv, containerEnv, expandVars } from '../../agent/container-env.js';
import { parseAgentFlags, parseLabels, parseTaints, UsageError } from '../../agent/flags.js';
import { allocatableOf } from '../../agent/registration.js';
import { prefixLabelValue } from '../../agent/hollow.js';
import { LogFiles, tailStart } from '../../agent/logs.js';
import type { ContainerRecord, PodRecord } from '../../agent/pod-state.js';
import { formatBackOff, nextBackOff, shouldRestart } from '../../agent/restart-policy.js';
import { computeStatus, mergeStatus, podPhase } from '../../agent/status.js';
import { PodSchema, type Pod } from '../../shared/api/core.js';
import { ServiceSchema, type Service } from '../../shared/api/service.js';
import { serviceEnv } from '../../agent/service-env.js';
import { loadKubeconfig } from '../../shared/client/kubeconfig.js';
import { parseResourceList } from '../../shared/resources.js';
import { removeDir, tempRoot } from './helpers.js';
import { createLogger } from '../../shared/logging.js';

function mkPod(restartPolicy: 'Always' | 'OnFailure' | 'Never', containers = ['a']): Pod {
  return PodSchema.parse({
    metadata: { name: 'p', namespace: 'default', uid: 'u1' },
    spec: { restartPolicy, containers: containers.map((name) => ({ name, image: 'x', resources: { requests: { cpu: '1' } } })) },
  });
}

function rec(name: string, over: Partial<ContainerRecord> = {}): ContainerRecord {
  return { name, init: false, restartCount: 0, nextInstance: 1, backoffMs: 0, done: false, ...over };
}

function record(containers: ContainerRecord[]): PodRecord {
  return { version: 1, uid: 'u1', namespace: 'default', name: 'p', startTime: 1_700_000_000_000, containers };
}

const running = { instance: 0, pid: 1, startedAt: 1_700_000_000_000, exitPath: '/x', logPath: '/y' };
const exited = (exitCode: number) => ({ instance: 0, exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', startedAt: 1_700_000_000_000, finishedAt: 1_700_000_001_000 });

describe('agent rules', () => {
  it('back-off: first restart at once, then base doubling to the cap; a long run resets it', () => {
    const cfg = { baseMs: 10_000, maxMs: 300_000, resetAfterMs: 600_000 };
    const delays: number[] = [];
    let current = 0;
    for (let i = 0; i < 8; i++) {
      const { delayMs, nextMs } = nextBackOff(cfg, current, 1000);
      delays.push(delayMs);
      current = nextMs;
    }
    expect(delays).to.deep.equal([0, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000]);
    expect(nextBackOff(cfg, 300_000, 600_000)).to.deep.equal({ delayMs: 0, nextMs: 10_000 });
    expect(formatBackOff(10_000)).to.equal('10s');
    expect(formatBackOff(300_000)).to.equal('5m0s');
    expect(formatBackOff(400)).to.equal('400ms');
    expect([shouldRestart('Always', 0), shouldRestart('OnFailure', 0), shouldRestart('OnFailure', 1), shouldRestart('Never', 1)]).to.deep.equal([true, false, true, false]);
  });

  it('expands $(VAR) as Kubernetes does, env in order, never the agent environment', () => {
    expect(expandVars('a-$(X)-$(MISSING)-$$(X)-$$-$', { X: '1' })).to.equal('a-1-$(MISSING)-$(X)-$-$');
    expect(expandVars('$(unterminated', { unterminated: 'no' })).to.equal('$(unterminated');
    const pod = mkPod('Always');
    const c = { name: 'a', image: 'x', resources: {}, command: ['echo', '$(B)'], args: ['$(HOSTNAME)'], env: [{ name: 'A', value: 'one' }, { name: 'B', value: '$(A)-two' }] };
    process.env.CELL_AGENT_SECRET_FOR_TEST = 'leak';
    try {
      const env = containerEnv(pod, c, '/work', { hostIP: '10.0.0.1', allocatable: {} });
      expect(env).to.include({ A: 'one', B: 'one-two', HOME: '/work', HOSTNAME: 'p' });
      expect(env).to.not.have.property('CELL_AGENT_SECRET_FOR_TEST');
      expect(containerArgv(c, env)).to.deep.equal(['echo', 'one-two', 'p']);
    } finally {
      delete process.env.CELL_AGENT_SECRET_FOR_TEST;
    }
  });

  it('describes Services in the environment as the kubelet does: own namespace, the API server\'s always, cluster IPs only', () => {
    const svc = (namespace: string, name: string, spec: Record<string, unknown>): Service => ServiceSchema.parse({ metadata: { namespace, name }, spec });
    const services = [
      svc('default', 'kubernetes', { clusterIP: '10.96.0.1', ports: [{ name: 'https', port: 443 }] }),
      svc('shop', 'cart-db', { clusterIP: '10.96.0.7', ports: [{ port: 5432 }] }),
      svc('shop', 'headless', { clusterIP: 'None', ports: [{ port: 80 }] }),
      svc('shop', 'elsewhere', { type: 'ExternalName', externalName: 'db.example.com' }),
      svc('other', 'web', { clusterIP: '10.96.0.9', ports: [{ port: 80 }] }),
    ];
    const inShop = (spec: Record<string, unknown> = {}) => PodSchema.parse({ metadata: { name: 'p', namespace: 'shop' }, spec: { containers: [{ name: 'a', image: 'x' }], ...spec } });
    expect(serviceEnv(inShop(), services)).to.deep.equal({
      CART_DB_SERVICE_HOST: '10.96.0.7',
      CART_DB_SERVICE_PORT: '5432',
      CART_DB_PORT: 'tcp://10.96.0.7:5432',
      CART_DB_PORT_5432_TCP: 'tcp://10.96.0.7:5432',
      CART_DB_PORT_5432_TCP_PROTO: 'tcp',
      CART_DB_PORT_5432_TCP_PORT: '5432',
      CART_DB_PORT_5432_TCP_ADDR: '10.96.0.7',
      KUBERNETES_SERVICE_HOST: '10.96.0.1',
      KUBERNETES_SERVICE_PORT: '443',
      KUBERNETES_SERVICE_PORT_HTTPS: '443',
      KUBERNETES_PORT: 'tcp://10.96.0.1:443',
      KUBERNETES_PORT_443_TCP: 'tcp://10.96.0.1:443',
      KUBERNETES_PORT_443_TCP_PROTO: 'tcp',
      KUBERNETES_PORT_443_TCP_PORT: '443',
      KUBERNETES_PORT_443_TCP_ADDR: '10.96.0.1',
    });
    // Without links only the API server is described; a Service of the pod's namespace named like it wins.
    expect(Object.keys(serviceEnv(inShop({ enableServiceLinks: false }), services)).every((k) => k.startsWith('KUBERNETES_'))).to.equal(true);
    const shadow = [...services, svc('shop', 'kubernetes', { clusterIP: '10.96.0.3', ports: [{ port: 8443 }] })];
    expect(serviceEnv(inShop(), shadow).KUBERNETES_SERVICE_HOST).to.equal('10.96.0.3');
    // The container's own variables win, and may refer to a Service's.
    const c = { name: 'a', image: 'x', env: [{ name: 'CART_DB_SERVICE_PORT', value: '1' }, { name: 'DSN', value: 'pg://$(CART_DB_SERVICE_HOST)' }] };
    const env = containerEnv(inShop(), PodSchema.parse({ metadata: { name: 'p' }, spec: { containers: [c] } }).spec.containers[0]!, '/w', { hostIP: '10.0.0.1', allocatable: {}, services: () => services });
    expect(env.CART_DB_SERVICE_PORT).to.equal('1');
    expect(env.DSN).to.equal('pg://10.96.0.7');
    expect(env.KUBERNETES_SERVICE_HOST).to.equal('10.96.0.1');
  });

  it('derives the pod phase with the kubelet rules', () => {
    expect(podPhase(mkPod('Always'), record([rec('a', { nextInstance: 0 })]))).to.equal('Pending');
    expect(podPhase(mkPod('Always'), record([rec('a', { running })]))).to.equal('Running');
    expect(podPhase(mkPod('Always'), record([rec('a', { terminated: exited(0), done: false, restartAt: 1 })]))).to.equal('Running');
    expect(podPhase(mkPod('Never'), record([rec('a', { terminated: exited(0), done: true })]))).to.equal('Succeeded');
    expect(podPhase(mkPod('Never', ['a', 'b']), record([rec('a', { terminated: exited(0), done: true }), rec('b', { terminated: exited(3), done: true })]))).to.equal('Failed');
    expect(podPhase(mkPod('Never', ['a', 'b']), record([rec('a', { terminated: exited(3), done: true }), rec('b', { running })]))).to.equal('Running');
    expect(podPhase(mkPod('OnFailure'), record([rec('a', { terminated: exited(1), restartAt: 5 })]))).to.equal('Running');
    expect(podPhase(mkPod('OnFailure'), record([rec('a', { terminated: exited(0), done: true })]))).to.equal('Succeeded');
    const init = record([rec('i', { init: true, terminated: exited(1), done: true }), rec('a', { nextInstance: 0 })]);
    expect(podPhase(mkPod('Never'), init)).to.equal('Failed');
  });

  it('reports a running container by what its probes say: ready, started, and the pod\'s Ready and ContainersReady', () => {
    const pod = mkPod('Always', ['a', 'b']);
    const recs = record([rec('a', { running }), rec('b', { running })]);
    const st = computeStatus(pod, recs, '10.0.0.1', () => '', (r) => (r.name === 'a' ? { started: true, ready: false } : undefined));
    expect(st.containerStatuses.map((c) => [c.name, c.ready, c.started])).to.deep.equal([['a', false, true], ['b', true, true]]);
    for (const type of ['Ready', 'ContainersReady']) {
      expect(st.conditions.find((c) => c.type === type)).to.deep.equal({ type, status: 'False', reason: 'ContainersNotReady', message: 'containers with unready status: [a]' });
    }
    const starting = computeStatus(pod, recs, '10.0.0.1', () => '', () => ({ started: false, ready: false }));
    expect(starting.containerStatuses.map((c) => c.started)).to.deep.equal([false, false]);
    const passing = computeStatus(pod, recs, '10.0.0.1', () => '', () => ({ started: true, ready: true }));
    expect(passing.conditions.find((c) => c.type === 'Ready')?.status).to.equal('True');
  });

  it('reports CrashLoopBackOff with the last termination, and keeps other writers\' conditions', () => {
    const pod = mkPod('Always');
    const st = computeStatus(pod, record([rec('a', { terminated: exited(2), restartAt: Date.now() + 10_000, restartCount: 3 })]), '10.0.0.1', () => 'back-off 10s');
    const cs = st.containerStatuses[0]!;
    expect(cs.state).to.deep.equal({ waiting: { reason: 'CrashLoopBackOff', message: 'back-off 10s' } });
    expect(cs.lastState?.terminated).to.include({ exitCode: 2, reason: 'Error' });
    expect(cs.restartCount).to.equal(3);
    expect(st.conditions.find((c) => c.type === 'Ready')).to.include({ status: 'False', reason: 'ContainersNotReady' });
    const merged = mergeStatus({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: '2020-01-01T00:00:00Z' }] }, st, Date.parse('2021-01-01T00:00:00Z'));
    expect(merged.conditions?.map((c) => c.type)).to.deep.equal(['PodScheduled', 'Initialized', 'Ready', 'ContainersReady']);
    expect(merged.conditions?.[1]?.lastTransitionTime).to.equal('2021-01-01T00:00:00Z');
    // A second merge with nothing changed is the same status (no write).
    expect(mergeStatus(merged, st, Date.now())).to.deep.equal(merged);
  });

  it('admits pods within capacity and rejects the rest as OutOf<resource>', () => {
    const cap = parseResourceList({ cpu: '2', memory: '1Gi', pods: '3' });
    const pod = mkPod('Always');
    expect(admissionFailure(cap, parseResourceList({ cpu: '1', pods: '1' }), pod)).to.equal(undefined);
    expect(admissionFailure(cap, parseResourceList({ cpu: '1500m' }), pod)?.reason).to.equal('OutOfcpu');
    expect(admissionFailure(cap, parseResourceList({ pods: '3' }), pod)?.reason).to.equal('OutOfpods');
    const gpu = PodSchema.parse({ metadata: { name: 'g' }, spec: { containers: [{ name: 'a', image: 'x', resources: { requests: { 'example.com/gpu': '1' } } }] } });
    expect(admissionFailure(cap, parseResourceList({}), gpu)?.reason).to.equal('OutOfexample.com/gpu');
  });

  it('finds where the last N lines start', () => {
    const b = Buffer.from('a\nb\nc\n');
    expect(b.subarray(tailStart(b, 2)).toString()).to.equal('b\nc\n');
    expect(b.subarray(tailStart(b, 10)).toString()).to.equal('a\nb\nc\n');
    expect(b.subarray(tailStart(b, 0)).toString()).to.equal('');
    const partial = Buffer.from('a\nb\nc');
    expect(partial.subarray(tailStart(partial, 1)).toString()).to.equal('c');
  });

  it('keeps a container log within its bound, and reads and follows across a rotation', async () => {
    const dir = tempRoot('cell-logs-');
    try {
      const logs = new LogFiles(dir, 8192, createLogger('test', 'silent'));
      logs.prepareInstance('uid', 'main', 0);
      const file = logs.instanceLog('uid', 'main', 0);
      const lines = Array.from({ length: 900 }, (_, i) => `line ${String(i).padStart(4, '0')}\n`);
      appendFileSync(file, lines.slice(0, 420).join(''));
      logs.enforceLimit(file);
      expect(statSync(file).size, 'live file truncated after the copy').to.equal(0);
      appendFileSync(file, lines.slice(420, 450).join(''));
      const all = (await logs.read(file)).data.toString();
      expect(all).to.equal(lines.slice(0, 450).join(''));
      expect((await logs.read(file, { tailLines: 2 })).data.toString()).to.equal(lines.slice(448, 450).join(''));

      // A follower keeps up through the next rotation and ends when the instance does.
      const out = new PassThrough();
      let text = '';
      out.on('data', (d: Buffer) => (text += d.toString()));
      let running = true;
      const follow = logs.follow(file, { tailLines: 1 }, out, () => running, new AbortController().signal);
      await new Promise((r) => setTimeout(r, 300));
      appendFileSync(file, lines.slice(450, 880).join(''));
      await new Promise((r) => setTimeout(r, 300));
      logs.enforceLimit(file);
      appendFileSync(file, lines.slice(880, 900).join(''));
      running = false;
      await follow;
      expect(text).to.equal(lines.slice(449, 900).join(''));
      // Rotation keeps about the bound: the newest data survives.
      logs.enforceLimit(file);
      expect((await logs.read(file)).data.length).to.be.at.most(8192);
      expect((await logs.read(file)).data.toString().endsWith(lines[899]!)).to.equal(true);
      // Files of instances before the previous one go when a new instance starts.
      logs.prepareInstance('uid', 'main', 1);
      logs.prepareInstance('uid', 'main', 2);
      expect(() => statSync(file)).to.throw();
    } finally {
      removeDir(dir);
    }
  });

  it('parses the agent flags, labels and taints', () => {
    expect(parseLabels('a=1, example.com/b=two')).to.deep.equal({ a: '1', 'example.com/b': 'two' });
    expect(() => parseLabels('bad')).to.throw(UsageError);
    expect(parseTaints('gpu=yes:NoSchedule,spot:PreferNoSchedule')).to.deep.equal([
      { key: 'gpu', value: 'yes', effect: 'NoSchedule' },
      { key: 'spot', effect: 'PreferNoSchedule' },
    ]);
    expect(() => parseTaints('x=y:Sometimes')).to.throw(UsageError);
    const cfg = parseAgentFlags(['--server=http://127.0.0.1:1', '--node-name=n1', '--cpu=0.5', '--memory=1G', '--heartbeat-interval=2s', '--lease-duration=10s']);
    expect(cfg).to.include({ nodeName: 'n1', cpu: '500m', memory: '1G', heartbeatIntervalMs: 2000, leaseDurationSeconds: 10, port: 0, pods: 110 });
    expect(() => parseAgentFlags(['--node-name=n1'])).to.throw(UsageError, /--server or --kubeconfig/);
    expect(() => parseAgentFlags(['--server=http://x', '--heartbeat-interval=1m', '--lease-duration=40s'])).to.throw(UsageError);
    expect(() => parseAgentFlags(['--server=http://x', '--cpu=lots'])).to.throw(UsageError);
    // Node ports open where the agent listens unless told otherwise; `none` opens none.
    const at = (extra: string[]) => (parseAgentFlags(['--server=http://x', ...extra]) as Exclude<ReturnType<typeof parseAgentFlags>, 'help'>).serviceProxyAddress;
    expect(at([])).to.equal('0.0.0.0');
    expect(at(['--address=127.0.0.1'])).to.equal('127.0.0.1');
    expect(at(['--address=127.0.0.1', '--service-proxy-address=127.0.0.2'])).to.equal('127.0.0.2');
    expect(at(['--service-proxy-address=none'])).to.equal(undefined);
    expect(() => parseAgentFlags(['--server=http://x', '--service-proxy-address=localhost'])).to.throw(UsageError, /--service-proxy-address must be an IP address or "none"/);
    // Reservations: both flags summed; allocatable is what is left, in the capacity's units.
    const reserving = parseAgentFlags(['--server=http://x', '--node-name=n1', '--cpu=2', '--memory=4Gi', '--kube-reserved=cpu=100m,memory=256Mi', '--system-reserved=cpu=400m']);
    if (reserving === 'help') throw new Error('unexpected help');
    expect(reserving.reserved).to.deep.equal({ cpu: '500m', memory: '256Mi' });
    expect(allocatableOf(reserving)).to.deep.equal({ cpu: '1500m', memory: '3840Mi', pods: '110' });
    expect(allocatableOf({ ...reserving, reserved: {} })).to.deep.equal({ cpu: '2', memory: '4Gi', pods: '110' });
    expect(() => parseAgentFlags(['--server=http://x', '--cpu=2', '--kube-reserved=cpu=1', '--system-reserved=cpu=1'])).to.throw(UsageError, /leaving pods nothing/);
    expect(() => parseAgentFlags(['--server=http://x', '--kube-reserved=pods=3'])).to.throw(UsageError, /cpu=QUANTITY or memory=QUANTITY/);
    expect(() => parseAgentFlags(['--server=http://x', '--system-reserved=memory=-1Gi'])).to.throw(UsageError, /negative/);
    expect(() => parseAgentFlags(['--server=http://x', '--system-reserved=cpu=1,cpu=2'])).to.throw(UsageError, /twice/);
    expect(prefixLabelValue('hollow-node-')).to.equal('hollow-node');
  });

  it('loads a kubeconfig: current context, server, token (inline or from a file)', () => {
    const dir = tempRoot('cell-kubeconfig-');
    try {
      writeFileSync(path.join(dir, 'token'), 'file-token\n');
      const file = path.join(dir, 'config');
      writeFileSync(file, `apiVersion: v1
kind: Config
current-context: b
clusters:
- name: one
  cluster: {server: "https://one:6443"}
- name: two
  cluster: {server: "http://two:8080"}
users:
- name: inline
  user: {token: inline-token}
- name: fromfile
  user: {tokenFile: token}
contexts:
- name: a
  context: {cluster: one, user: inline}
- name: b
  context: {cluster: two, user: fromfile, namespace: team}
`);
      expect(loadKubeconfig(file)).to.deep.equal({ servers: ['http://two:8080'], token: 'file-token', namespace: 'team' });
      writeFileSync(file, 'current-context: missing\ncontexts: []\n');
      expect(() => loadKubeconfig(file)).to.throw(/no context named "missing"/);
    } finally {
      removeDir(dir);
    }
  });
});
