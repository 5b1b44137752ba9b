// Liveness, readiness and startup probes with a real agent against a real API server over real
// etcd: exec probes run in the container's environment, httpGet and tcpSocket probes reach servers
// the containers start on the node's address, gRPC probes call the standard health service. A
// readiness probe decides the container's `ready` and the pod's Ready and ContainersReady
// conditions; a failing liveness or startup probe kills the container, which restartPolicy then
// restarts; a startup probe holds the others back until it passed. Every probe runs each second.
import { expect } from 'chai';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { z } from 'zod';
import type { Pod, PodInput, ProbeSchema } from '../../shared/api/core.js';
import { InvalidError } from '../../shared/errors.js';
import { startTestApiServer, TEST_TOKENS, type TestApiServer } from '../harness/apiserver.js';
import { freePort } from '../harness/ports.js';
import {
  containerStatus,
  createPod,
  deleteIfPresent,
  getPod,
  nodeOneAgentArgs,
  pod,
  processesWith,
  sleep,
  startAgent,
  tearDownAgentTest,
  tempRoot,
  waitFor,
  waitGone,
  waitNodeReady,
  waitPod,
  type AgentProcess,
} from './helpers.js';

type ProbeInput = z.input<typeof ProbeSchema>;

interface ProbeSet {
  livenessProbe?: ProbeInput;
  readinessProbe?: ProbeInput;
  startupProbe?: ProbeInput;
}

/** A one-container pod on node-1 whose container has `probes` (and `ports`). */
function probedPod(name: string, command: string[], probes: ProbeSet, ports: { name?: string; containerPort: number }[] = []): PodInput {
  const p = pod(name, { node: 'node-1', command, grace: 1 });
  const main = p.spec!.containers![0]!;
  p.spec!.containers![0] = { ...main, ...probes, ...(ports.length > 0 ? { ports } : {}) };
  return p;
}


function condition(p: Pod, type: string) {
  return p.status.conditions?.find((c) => c.type === type);
}

describe('cell-agent: probes', function () {
  this.timeout(60_000);
  let api: TestApiServer;
  let agent: AgentProcess;
  let root: string;
  const admin = () => api.client(TEST_TOKENS.admin);
  const agentArgs = () => nodeOneAgentArgs(root, [`--server=${api.url}`, `--token=${TEST_TOKENS.node1}`, '--crash-loop-backoff=400ms', '--crash-loop-backoff-max=800ms']);

  /** The messages of the pod's events with this reason. */
  const eventMessages = async (podName: string, reason: string): Promise<string[]> => {
    const events = await admin().list<{ items: { reason?: string; message?: string; involvedObject: { name?: string } }[] }>({ namespace: 'default', resource: 'events' });
    return events.items.filter((e) => e.involvedObject.name === podName && e.reason === reason).map((e) => e.message ?? '');
  };
  const waitEvent = (podName: string, reason: string, match: RegExp) =>
    waitFor(async () => (await eventMessages(podName, reason)).some((m) => match.test(m)), `${podName}: a ${reason} event matching ${match}`, 20_000, 100);
  const removePods = async (...names: string[]) => {
    await Promise.all(names.map((n) => deleteIfPresent(admin(), n)));
    await Promise.all(names.map((n) => waitGone(admin(), n)));
  };

  before(async function () {
    api = await startTestApiServer({ backend: 'etcd', auth: true });
    root = tempRoot('cell-agent-probes-');
    agent = startAgent(agentArgs());
    await waitNodeReady(admin(), agent);
  });

  after(async function () {
    await tearDownAgentTest({ admin: admin(), agent, root, close: async () => api?.close() });
  });

  it('stores probes with Kubernetes\' defaults', async () => {
    const unbound = probedPod('stored', ['sleep', '300'], { readinessProbe: { httpGet: { port: 8080 } }, livenessProbe: { tcpSocket: { port: 'http' }, periodSeconds: 0 } });
    // Never bound (no scheduler runs here): only what the API server stored is looked at.
    delete unbound.spec!.nodeName;
    const created = await createPod(admin(), unbound);
    const c = created.spec.containers[0]!;
    expect(c.readinessProbe).to.deep.equal({ httpGet: { port: 8080, path: '/', scheme: 'HTTP' }, timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 });
    expect(c.livenessProbe).to.deep.equal({ tcpSocket: { port: 'http' }, timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 });
    await removePods('stored');
  });

  it('refuses a probe with two handlers and a liveness probe with successThreshold 2 (422 naming the field)', async () => {
    const refused = async (probes: ProbeSet): Promise<InvalidError> => {
      try {
        await createPod(admin(), probedPod('bad', ['sleep', '1'], probes));
      } catch (err) {
        if (err instanceof InvalidError) return err;
        throw err;
      }
      throw new Error('created a pod with an invalid probe');
    };
    const two = await refused({ readinessProbe: { exec: { command: ['true'] }, httpGet: { port: 80 } } });
    expect(two.causes).to.deep.include({ reason: 'FieldValueForbidden', field: 'spec.containers[0].readinessProbe.httpGet', message: 'Forbidden: may not specify more than 1 handler type' });
    const threshold = await refused({ livenessProbe: { exec: { command: ['true'] }, successThreshold: 2 } });
    expect(threshold.causes).to.deep.include({ reason: 'FieldValueInvalid', field: 'spec.containers[0].livenessProbe.successThreshold', message: 'Invalid value: 2: must be 1' });
    const none = await refused({ startupProbe: { periodSeconds: 1 } });
    expect(none.causes).to.deep.include({ reason: 'FieldValueRequired', field: 'spec.containers[0].startupProbe', message: 'Required value: must specify a handler type' });
  });

  it('an exec readiness probe: not ready until its file exists, ready while it does, not ready once it is gone', async () => {
    const flag = path.join(root, 'ready-flag');
    await createPod(admin(), probedPod('exec-ready', ['sleep', '300'], { readinessProbe: { exec: { command: ['test', '-f', flag] }, periodSeconds: 1, failureThreshold: 1 } }));
    const unready = await waitPod(admin(), 'exec-ready', (p) => containerStatus(p)?.state?.running !== undefined, 'running');
    // Running but not ready: a container with a readiness probe starts not ready.
    expect(containerStatus(unready)).to.include({ ready: false, started: true });
    for (const type of ['Ready', 'ContainersReady']) {
      expect(condition(unready, type)).to.include({ status: 'False', reason: 'ContainersNotReady', message: 'containers with unready status: [main]' });
    }
    await waitEvent('exec-ready', 'Unhealthy', /^Readiness probe failed: /);
    // Still not ready a few periods on, and failed attempts that change nothing write no status.
    const before = (await getPod(admin(), 'exec-ready'))!;
    await sleep(2500);
    const later = (await getPod(admin(), 'exec-ready'))!;
    expect(containerStatus(later)?.ready).to.equal(false);
    expect(later.metadata.resourceVersion).to.equal(before.metadata.resourceVersion);

    writeFileSync(flag, '');
    const ready = await waitPod(admin(), 'exec-ready', (p) => containerStatus(p)?.ready === true, 'ready', 10_000);
    expect(condition(ready, 'Ready')?.status).to.equal('True');
    expect(condition(ready, 'ContainersReady')?.status).to.equal('True');

    rmSync(flag);
    const again = await waitPod(admin(), 'exec-ready', (p) => containerStatus(p)?.ready === false, 'not ready again', 10_000);
    expect(condition(again, 'Ready')).to.include({ status: 'False', reason: 'ContainersNotReady' });
    // Readiness never restarts anything.
    expect(containerStatus(again)?.restartCount).to.equal(0);
    await removePods('exec-ready');
  });

  it('an httpGet readiness probe on a named port: ready once the server answers 200; a 404 path keeps its container unready', async () => {
    const port = await freePort();
    const web = ['python3', '-m', 'http.server', String(port), '--bind', '127.0.0.1'];
    const p = probedPod('http-ready', web, { readinessProbe: { httpGet: { port: 'http', path: '/' }, periodSeconds: 1 } }, [{ name: 'http', containerPort: port }]);
    p.spec!.containers!.push({
      name: 'side',
      image: 'busybox',
      command: ['sleep', '300'],
      readinessProbe: { httpGet: { port, path: '/no-such-page', host: '127.0.0.1' }, periodSeconds: 1 },
    });
    await createPod(admin(), p);
    const ready = await waitPod(admin(), 'http-ready', (x) => containerStatus(x, 'main')?.ready === true, 'main ready', 15_000);
    expect(containerStatus(ready, 'side')?.ready).to.equal(false);
    expect(condition(ready, 'Ready')).to.include({ status: 'False', message: 'containers with unready status: [side]' });
    await waitEvent('http-ready', 'Unhealthy', /^Readiness probe failed: HTTP probe failed with statuscode: 404$/);
    await removePods('http-ready');
  });

  it('a tcpSocket readiness probe: ready once something listens on the port', async () => {
    const port = await freePort();
    await createPod(admin(), probedPod('tcp-ready', ['sh', '-c', `sleep 2; exec python3 -m http.server ${port} --bind 127.0.0.1`], {
      readinessProbe: { tcpSocket: { port }, periodSeconds: 1, failureThreshold: 1 },
    }));
    await waitPod(admin(), 'tcp-ready', (x) => containerStatus(x)?.state?.running !== undefined && containerStatus(x)?.ready === false, 'running, not ready');
    await waitEvent('tcp-ready', 'Unhealthy', new RegExp(`^Readiness probe failed: dial tcp 127\\.0\\.0\\.1:${port}: `));
    const ready = await waitPod(admin(), 'tcp-ready', (x) => containerStatus(x)?.ready === true, 'ready', 15_000);
    expect(condition(ready, 'Ready')?.status).to.equal('True');
    await removePods('tcp-ready');
  });

  it('an exec probe that outlives timeoutSeconds fails as timed out, and what it started is killed', async () => {
    // The root dir in its command line tells the probe's processes apart in `ps`.
    const slow = ['sh', '-c', `sleep 30; echo ${root}`];
    await createPod(admin(), probedPod('exec-slow', ['sleep', '300'], { readinessProbe: { exec: { command: slow }, periodSeconds: 1, timeoutSeconds: 1 } }));
    const timedOut = `Readiness probe failed: command "${slow.join(' ')}" timed out`;
    await waitFor(async () => (await eventMessages('exec-slow', 'Unhealthy')).includes(timedOut), 'the timed-out event', 20_000, 100);
    // An attempt a second: had the timed-out ones not been killed, several would be running by now.
    await sleep(2500);
    const alive = processesWith(root).filter((p) => p.args.startsWith('sh -c sleep 30'));
    expect(alive.length, JSON.stringify(alive)).to.be.at.most(1);
    expect(containerStatus((await getPod(admin(), 'exec-slow'))!)?.ready).to.equal(false);
    await removePods('exec-slow');
    // Each attempt's group was killed at its timeout: none is left once the container is gone.
    await waitFor(() => processesWith(root).filter((p) => p.args.startsWith('sh -c sleep 30')).length === 0, 'no probe command left', 5_000, 100);
  });

  it('a failing liveness probe kills and restarts the container; a passing one leaves it alone; a failing startup probe restarts it too', async () => {
    await Promise.all([
      createPod(admin(), probedPod('live-fail', ['sleep', '300'], { livenessProbe: { exec: { command: ['sh', '-c', 'echo not alive; exit 1'] }, periodSeconds: 1, failureThreshold: 2 } })),
      createPod(admin(), probedPod('live-ok', ['sleep', '300'], { livenessProbe: { exec: { command: ['true'] }, periodSeconds: 1, failureThreshold: 1 } })),
      createPod(admin(), probedPod('start-fail', ['sleep', '300'], { startupProbe: { tcpSocket: { port: await freePort() }, periodSeconds: 1, failureThreshold: 2 } })),
    ]);
    const failing = await waitPod(admin(), 'live-fail', (x) => (containerStatus(x)?.restartCount ?? 0) >= 2, 'restarted twice', 30_000);
    // Killed by the agent (SIGTERM): not a crash of its own.
    expect(containerStatus(failing)?.lastState?.terminated?.exitCode).to.equal(143);
    await waitEvent('live-fail', 'Killing', /^Container main failed liveness probe, will be restarted$/);
    await waitEvent('live-fail', 'Unhealthy', /^Liveness probe failed: not alive\n$/);
    await waitPod(admin(), 'start-fail', (x) => (containerStatus(x)?.restartCount ?? 0) >= 1, 'restarted', 20_000);
    await waitEvent('start-fail', 'Killing', /^Container main failed startup probe, will be restarted$/);
    await waitEvent('start-fail', 'Unhealthy', /^Startup probe failed: dial tcp /);
    const ok = (await getPod(admin(), 'live-ok'))!;
    expect(containerStatus(ok)).to.include({ restartCount: 0, ready: true, started: true });
    expect(await eventMessages('live-ok', 'Unhealthy')).to.deep.equal([]);
    // Container events name the container as the kubelet's do (kubectl get events -o wide: SUBOBJECT).
    const events = await admin().list<{ items: { reason?: string; involvedObject: { name?: string; fieldPath?: string } }[] }>({ namespace: 'default', resource: 'events' });
    const about = (reason: string) => [...new Set(events.items.filter((e) => e.involvedObject.name === 'live-fail' && e.reason === reason).map((e) => e.involvedObject.fieldPath))];
    for (const reason of ['Started', 'Unhealthy', 'Killing']) expect(about(reason), reason).to.deep.equal(['spec.containers{main}']);
    await removePods('live-fail', 'live-ok', 'start-fail');
  });

  it('a startup probe holds the liveness and readiness probes back until it passed', async () => {
    const flag = path.join(root, 'started-flag');
    // The liveness probe would kill the container at its first failure, were it running.
    const check = { exec: { command: ['test', '-f', flag] }, periodSeconds: 1, failureThreshold: 1 };
    await createPod(admin(), probedPod('slow-start', ['sleep', '300'], {
      startupProbe: { ...check, failureThreshold: 60 },
      livenessProbe: check,
      readinessProbe: { exec: { command: ['true'] }, periodSeconds: 1 },
    }));
    await waitPod(admin(), 'slow-start', (x) => containerStatus(x)?.state?.running !== undefined, 'running');
    await waitEvent('slow-start', 'Unhealthy', /^Startup probe failed: /);
    await sleep(2500);
    const starting = (await getPod(admin(), 'slow-start'))!;
    expect(containerStatus(starting)).to.include({ started: false, ready: false, restartCount: 0 });
    expect(await eventMessages('slow-start', 'Killing')).to.deep.equal([]);

    writeFileSync(flag, '');
    const started = await waitPod(admin(), 'slow-start', (x) => containerStatus(x)?.ready === true, 'started and ready', 10_000);
    expect(containerStatus(started)).to.include({ started: true, restartCount: 0 });
    expect(condition(started, 'Ready')?.status).to.equal('True');
    await removePods('slow-start');
  });

  it('an agent killed and started again probes the containers it re-adopts, and stops the probe commands it had left running', async () => {
    const flag = path.join(root, 'adopted-flag');
    writeFileSync(flag, '');
    // A liveness attempt that takes 20 s (and then passes): one is always running.
    const slowPass = ['sh', '-c', `sleep 20; echo ${root}`];
    await createPod(admin(), probedPod('adopted', ['sleep', '300'], {
      readinessProbe: { exec: { command: ['test', '-f', flag] }, periodSeconds: 1, failureThreshold: 1 },
      livenessProbe: { exec: { command: slowPass }, periodSeconds: 1, timeoutSeconds: 30 },
    }));
    await waitPod(admin(), 'adopted', (x) => containerStatus(x)?.ready === true, 'ready', 10_000);
    const slowAttempts = () => processesWith(root).filter((p) => p.args.startsWith('sh -c sleep 20')).map((p) => p.pid);
    const orphaned = await waitFor(() => (slowAttempts().length === 1 ? slowAttempts() : undefined), 'the liveness attempt running', 5_000, 50);
    await agent.kill();
    rmSync(flag);
    agent = startAgent(agentArgs());
    await waitNodeReady(admin(), agent);
    await waitFor(() => !slowAttempts().includes(orphaned[0]!), 'the killed agent\'s probe command stopped', 5_000, 100);
    // The new agent's prober fails where the old one passed: the same instance, now not ready.
    const unready = await waitPod(admin(), 'adopted', (x) => containerStatus(x)?.ready === false, 'not ready under the new agent', 15_000);
    expect(containerStatus(unready)).to.include({ restartCount: 0 });
    writeFileSync(flag, '');
    const ready = await waitPod(admin(), 'adopted', (x) => containerStatus(x)?.ready === true, 'ready again', 10_000);
    expect(containerStatus(ready)?.restartCount).to.equal(0);
    await removePods('adopted');
  });

  it('a gRPC readiness probe calls the standard health service', async () => {
    // The health server lives in this test process, on the node's address, as a container's would.
    let serving = 'NOT_SERVING';
    const server = new grpc.Server();
    server.register<string, number>(
      '/grpc.health.v1.Health/Check',
      (_call: grpc.ServerUnaryCall<string, number>, callback: grpc.sendUnaryData<number>) => callback(null, serving === 'SERVING' ? 1 : 2),
      (status) => Buffer.from([0x08, status]),
      // The request names no service (an empty message); grpc-js takes a falsy one for none at all.
      () => 'server',
      'unary',
    );
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    try {
      await createPod(admin(), probedPod('grpc-ready', ['sleep', '300'], { readinessProbe: { grpc: { port }, periodSeconds: 1, failureThreshold: 1 } }));
      await waitEvent('grpc-ready', 'Unhealthy', /^Readiness probe failed: service unhealthy \(responded with "NOT_SERVING"\)$/);
      serving = 'SERVING';
      await waitPod(admin(), 'grpc-ready', (x) => containerStatus(x)?.ready === true, 'ready', 10_000);
      await removePods('grpc-ready');
    } finally {
      server.forceShutdown();
    }
  });
});
