// kubectl debug end to end: real kubectl → the API server over TLS (real etcd, RBAC) →
// pods/ephemeralcontainers → a real cell-agent process, which starts the added container in the
// running pod. Asserts what a user sees: input piped to `kubectl debug -i` reaching the debug
// shell; the container run once — never restarted, whether it succeeds or fails — and reported
// in ephemeralContainerStatuses without touching the pod's phase or readiness; logs, exec and
// events reaching it by name; the official Python client doing the same; an agent restart
// re-adopting it; a delete stopping it; and RBAC keeping viewers out.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import type { ContainerStatus, Event, Pod } from '../../shared/api/core.js';
import { TEST_TOKENS, type TestApiServer } from '../harness/apiserver.js';
import { findKubectl, run } from '../clients/helpers.js';
import { cellctl, isolatedEnv } from '../cli/helpers.js';
import { createPod, nodeOneAgentArgs, pod, processesWith, runPythonPodScript, sleep, startAgent, startStreamingCluster, tearDownAgentTest, waitFor, waitNodeReady, waitPod, waitGone, type AgentProcess } from './helpers.js';

/** A crash-loop back-off far shorter than the waits below: a container that were restarted would be. */
const AGENT_ARGS = ['--crash-loop-backoff=200ms', '--crash-loop-backoff-max=400ms'];

function ephemeralStatus(p: Pod, name: string): ContainerStatus | undefined {
  return p.status.ephemeralContainerStatuses?.find((s) => s.name === name);
}

describe('pods/ephemeralcontainers: kubectl debug through the API server to the agent', function () {
  this.timeout(120_000);
  let api: TestApiServer;
  let agent: AgentProcess;
  let root: string;
  let nodeConfig: string;
  const admin = () => api.client(TEST_TOKENS.admin);
  const kubectl = findKubectl();
  const kubeconfigs: Record<string, string> = {};
  const k = (user: string, args: string[]) => run(kubectl!, ['--kubeconfig', kubeconfigs[user]!, ...args], { timeoutMs: 60_000 });
  const ready = (p: Pod) => p.status.conditions?.find((c) => c.type === 'Ready')?.status;

  before(async function () {
    this.timeout(60_000);
    const c = await startStreamingCluster('cell-agent-ephemeral-', ['admin', 'viewer'], AGENT_ARGS);
    ({ api, agent, root, nodeConfig } = c);
    Object.assign(kubeconfigs, c.kubeconfigs);
    // The pod being debugged: it runs on, ready, through everything below.
    await createPod(admin(), pod('app', { node: 'node-1', command: ['sleep', '3600'], grace: 1 }));
    await waitPod(admin(), 'app', (p) => ready(p) === 'True', 'to be ready');
  });

  after(async function () {
    this.timeout(60_000);
    await tearDownAgentTest({ admin: admin(), agent, root, close: async () => api?.close() });
  });

  beforeEach(function () {
    if (!kubectl) this.skip(); // no kubectl on this machine: .ci/run installs it, so CI runs this
  });

  it('kubectl debug -i: a shell added to the running pod reads the piped input; it runs once and the pod stays Running and Ready', async () => {
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(kubectl!, ['--kubeconfig', kubeconfigs.admin!, 'debug', '-i', 'pod/app', '--image=busybox', '-c', 'shell', '--target=main', '--', 'sh'], { stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.stdin.end('echo "debugging: $((6 * 7))"\nexit 0\n');
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.once('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
    expect(r.stdout, r.stderr).to.include('debugging: 42');
    expect(r.code, r.stderr).to.equal(0);
    const done = await waitPod(admin(), 'app', (p) => ephemeralStatus(p, 'shell')?.state?.terminated !== undefined, 'to report the shell finished');
    const s = ephemeralStatus(done, 'shell')!;
    expect(s.state?.terminated).to.include({ exitCode: 0, reason: 'Completed' });
    expect(s.ready).to.equal(false);
    expect(s.restartCount).to.equal(0);
    expect(done.spec.ephemeralContainers?.[0]).to.include({ name: 'shell', targetContainerName: 'main', stdin: true });
    expect(done.status.phase).to.equal('Running');
    expect(ready(done)).to.equal('True');
    expect(done.status.containerStatuses?.map((c) => c.name)).to.deep.equal(['main']);
  });

  it('a failing one is not restarted; its log and events are its own', async () => {
    const r = await k('admin', ['debug', 'pod/app', '--image=busybox', '-c', 'failing', '--', 'sh', '-c', 'echo "about to fail"; exit 3']);
    expect(r.code, r.stderr).to.equal(0);
    const failed = await waitPod(admin(), 'app', (p) => ephemeralStatus(p, 'failing')?.state?.terminated !== undefined, 'to report the failure');
    expect(ephemeralStatus(failed, 'failing')!.state?.terminated).to.include({ exitCode: 3, reason: 'Error' });
    // Many times the crash-loop back-off (AGENT_ARGS) later: still the first instance.
    await sleep(3000);
    const later = ephemeralStatus((await admin().get<Pod>({ namespace: 'default', resource: 'pods', name: 'app' })), 'failing')!;
    expect(later.restartCount).to.equal(0);
    expect(later.containerID).to.match(/\/failing\/0$/);
    expect((await k('admin', ['logs', 'app', '-c', 'failing'])).stdout).to.equal('about to fail\n');
    const events = await admin().list<{ items: Event[] }>({ namespace: 'default', resource: 'events' });
    const started = events.items.filter((e) => e.involvedObject.name === 'app' && e.reason === 'Started' && e.involvedObject.fieldPath === 'spec.ephemeralContainers{failing}');
    expect(started.length).to.equal(1);
    expect((await admin().get<Pod>({ namespace: 'default', resource: 'pods', name: 'app' })).status.phase).to.equal('Running');
  });

  it('the official Python client adds one (patch_namespaced_pod_ephemeralcontainers) and reads its status and log', async () => {
    const py = await runPythonPodScript({ api, root }, 'cell_debug.py', 'app', ['--container', 'from-python', '--message', 'hello from python']);
    expect(py.code, py.stderr).to.equal(0);
    expect(JSON.parse(py.stdout)).to.deep.equal({ names: ['shell', 'failing', 'from-python'], exit_code: 0, ready: false, log: 'hello from python\n' });
  });

  it('cellctl debug -i and cellctl attach: the same, from cellctl; logs and exec name ephemeral containers too', async () => {
    const ctl = (args: string[], input?: string) => cellctl(['--kubeconfig', kubeconfigs.admin!, ...args], { env: isolatedEnv(root), timeoutMs: 60_000, ...(input !== undefined ? { input } : {}) });
    const debug = await ctl(['debug', '-i', 'pod/app', '--image=busybox', '-c', 'ctl-shell', '--target=main', '--', 'sh'], 'echo "cellctl debugging: $((6 * 7))"\nexit 0\n');
    expect(debug.code, debug.stderr).to.equal(0);
    expect(debug.stdout).to.include('cellctl debugging: 42');
    expect(debug.stderr).to.include("may be reattached using 'cellctl attach app -c ctl-shell -i'");
    const spec = (await admin().get<Pod>({ namespace: 'default', resource: 'pods', name: 'app' })).spec.ephemeralContainers?.find((c) => c.name === 'ctl-shell');
    expect(spec).to.include({ image: 'busybox', stdin: true, targetContainerName: 'main' });
    expect(spec?.command).to.deep.equal(['sh']);

    // Without a name one is made up, and said; without -i nothing is attached (nor has stdin).
    const named = await ctl(['debug', 'app', '--image=busybox', '--', 'sleep', '300']);
    expect(named.code, named.stderr).to.equal(0);
    const generated = /Defaulting debug container name to (debugger-[a-z0-9]{5})\./.exec(named.stderr)?.[1];
    expect(generated, named.stderr).to.be.a('string');
    const running = await waitPod(admin(), 'app', (p) => ephemeralStatus(p, generated!)?.state?.running !== undefined, 'to run the generated one');
    expect(running.spec.ephemeralContainers?.find((c) => c.name === generated)?.stdin).to.equal(undefined);
    const exec = await ctl(['exec', 'app', '-c', generated!, '--', 'echo', 'exec in a debug container']);
    expect(exec.stdout, exec.stderr).to.equal('exec in a debug container\n');

    // -i with --attach=false: stdin kept for whoever attaches; cellctl attach gets the output from then on.
    expect((await ctl(['debug', 'app', '--image=busybox', '-c', 'reader', '-i', '--attach=false', '--', 'sh', '-c', 'read line; echo "heard $line"'])).code).to.equal(0);
    await waitPod(admin(), 'app', (p) => ephemeralStatus(p, 'reader')?.state?.running !== undefined, 'to run the reader');
    const attached = await ctl(['attach', 'app', '-c', 'reader', '-i'], 'one\n');
    expect(attached.code, attached.stderr).to.equal(0);
    expect(attached.stdout).to.equal('heard one\n');
    expect((await ctl(['logs', 'app', '-c', 'reader'])).stdout).to.equal('heard one\n');
    const missing = await ctl(['debug', 'app', '--image=busybox', '--target=nope', '--', 'true']);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.include('container nope is not valid for pod app');
    expect((await ctl(['debug', 'app', '--', 'true'])).stderr).to.include('--image is required');
  });

  it('exec reaches a running one; a restarted agent re-adopts it; deleting the pod stops it', async () => {
    const seconds = 7000 + Math.floor(Math.random() * 1000);
    const marker = `sleep ${seconds}`;
    // The command itself (its path resolved), not the wrapper that records its exit.
    const isSleeper = (args: string) => new RegExp(`^(\\S*/)?${marker}$`).test(args);
    const running = () => processesWith(marker).some((p) => isSleeper(p.args));
    expect((await k('admin', ['debug', 'pod/app', '--image=busybox', '-c', 'sleeper', '--', 'sleep', String(seconds)])).code).to.equal(0);
    const up = await waitPod(admin(), 'app', (p) => ephemeralStatus(p, 'sleeper')?.state?.running !== undefined, 'to run the sleeper');
    const id = ephemeralStatus(up, 'sleeper')!.containerID;
    const exec = await k('admin', ['exec', 'app', '-c', 'sleeper', '--', 'sh', '-c', 'echo "in the ephemeral container"']);
    expect(exec.stdout, exec.stderr).to.equal('in the ephemeral container\n');

    await agent.stop();
    expect(running(), 'the container outlives the agent').to.equal(true);
    agent = startAgent(nodeOneAgentArgs(root, [`--kubeconfig=${nodeConfig}`, '--exec-keepalive=1s', ...AGENT_ARGS]));
    await waitNodeReady(admin(), agent);
    const readopted = await waitPod(admin(), 'app', (p) => ephemeralStatus(p, 'sleeper')?.state?.running !== undefined, 'to report the sleeper running');
    expect(ephemeralStatus(readopted, 'sleeper')!.containerID).to.equal(id);
    expect(processesWith(marker).filter((p) => isSleeper(p.args)).length, 'one instance, the first').to.equal(1);
    // The finished ones stay finished across the restart.
    expect(ephemeralStatus(readopted, 'failing')!.state?.terminated?.exitCode).to.equal(3);

    await admin().delete({ namespace: 'default', resource: 'pods', name: 'app' }, { gracePeriodSeconds: 1 });
    await waitGone(admin(), 'app');
    await waitFor(() => !running(), `"${marker}" to be stopped with the pod`, 10_000, 100);
  });

  it('needs update on pods/ephemeralcontainers, which viewers do not have', async () => {
    await createPod(admin(), pod('guarded', { node: 'node-1', command: ['sleep', '3600'], grace: 1 }));
    await waitPod(admin(), 'guarded', (p) => ready(p) === 'True', 'to be ready');
    const r = await k('viewer', ['debug', 'pod/guarded', '--image=busybox', '-c', 'nosy', '--', 'true']);
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.match(/cannot patch resource "pods\/ephemeralcontainers" in API group ""/);
    expect((await admin().get<Pod>({ namespace: 'default', resource: 'pods', name: 'guarded' })).spec.ephemeralContainers).to.equal(undefined);
  });
});
