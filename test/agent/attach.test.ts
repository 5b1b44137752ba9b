// kubectl attach and kubectl run -i end to end: real kubectl → the API server over TLS (real etcd,
// RBAC) → a real cell-agent process → the container's own process. Asserts what a user sees: input
// piped to `kubectl run -i --rm` reaching the command and its exit code coming back; a terminal
// for `-it`; output streamed from the moment of attaching until the container ends; stdin kept
// across attaches, or closed after the first with stdinOnce; and `create` on pods/attach needed.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { TEST_TOKENS, type TestApiServer } from '../harness/apiserver.js';
import { findKubectl, run } from '../clients/helpers.js';
import type { Pod, PodInput } from '../../shared/api/core.js';
import { containerStatus, createPod, getPod, pod, startStreamingCluster, tearDownAgentTest, waitFor, waitPod, type AgentProcess } from './helpers.js';

/** A pod of one container with stdin (and stdinOnce, tty as asked). */
function stdinPod(name: string, command: string[], o: { once?: boolean; tty?: boolean } = {}): PodInput {
  const p = pod(name, { node: 'node-1', command, restartPolicy: 'Never', grace: 1 });
  const main = p.spec.containers[0]!;
  Object.assign(main, { stdin: true, ...(o.once ? { stdinOnce: true } : {}), ...(o.tty ? { tty: true } : {}) });
  return p;
}

/** `kubectl attach` with `input` written after `delayMs` and stdin then closed; its output and exit code. */
function attach(kubectl: string, kubeconfig: string, args: string[], input: string | undefined, delayMs = 1500): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(kubectl, ['--kubeconfig', kubeconfig, 'attach', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    if (input !== undefined) setTimeout(() => child.stdin.end(input), delayMs);
    const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('pods/attach: kubectl attach and kubectl run -i through the API server to the agent', function () {
  this.timeout(120_000);
  let api: TestApiServer;
  let agent: AgentProcess;
  let root: string;
  const admin = () => api.client(TEST_TOKENS.admin);
  const kubectl = findKubectl();
  const kubeconfigs: Record<string, string> = {};
  const k = (user: string, args: string[], o: { timeoutMs?: number } = {}) => run(kubectl!, ['--kubeconfig', kubeconfigs[user]!, ...args], { timeoutMs: o.timeoutMs ?? 60_000 });

  before(async function () {
    this.timeout(60_000);
    const c = await startStreamingCluster('cell-agent-attach-', ['admin', 'viewer']);
    ({ api, agent, root } = c);
    Object.assign(kubeconfigs, c.kubeconfigs);
  });

  after(async function () {
    this.timeout(60_000);
    await tearDownAgentTest({ admin: admin(), agent, root, close: async () => api?.close() });
  });

  beforeEach(function () {
    if (!kubectl) this.skip(); // no kubectl on this machine: .ci/run installs it, so CI runs this
  });

  it('kubectl run -i --rm: piped input reaches the command, its output and exit code come back, and the pod is deleted', async () => {
    // No scheduler runs in this test: the pod names the node (kubectl run --overrides).
    const overrides = JSON.stringify({ spec: { nodeName: 'node-1' } });
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(kubectl!, ['--kubeconfig', kubeconfigs.admin!, 'run', 'once', '-i', '--rm', '--image=busybox', '--restart=Never', `--overrides=${overrides}`, '--', 'sh'], { stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.stdin.end('echo "from stdin: $((6 * 7))"\nexit 3\n');
      child.once('close', (code) => resolve({ code, stdout, stderr }));
    });
    expect(r.stdout, r.stderr).to.include('from stdin: 42');
    expect(r.code, r.stderr).to.equal(3);
    expect(r.stdout + r.stderr).to.include('pod "once" deleted');
    await waitFor(async () => (await getPod(admin(), 'once')) === undefined, 'the pod gone');
  });

  it('kubectl run -it: the command has a terminal of the client\u2019s size, which echoes what is typed and turns Enter into a line', async () => {
    const overrides = JSON.stringify({ spec: { nodeName: 'node-1' } });
    const line = `stty cols 123 rows 45; ${kubectl} --kubeconfig ${kubeconfigs.admin} run tty -it --rm --image=busybox --restart=Never --overrides='${overrides}' -- sh -c 'read x; test -t 0 && echo "terminal: $x"; echo "size: $(stty size)"; exit 4'`;
    // `script` gives kubectl a terminal of a known size; the typed line goes in once the attach is up.
    const r = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = spawn('script', ['-qec', line, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      const typing = setTimeout(() => child.stdin.write('typed\r'), 4000);
      const ending = setTimeout(() => child.stdin.end(), 8000);
      child.once('close', (code) => {
        clearTimeout(typing);
        clearTimeout(ending);
        resolve({ code, stdout });
      });
    });
    expect(r.stdout).to.include('terminal: typed');
    // The container started on a terminal of its own size; kubectl's resize on attaching reached it.
    expect(r.stdout).to.include('size: 45 123');
    expect(r.code, r.stdout).to.equal(4);
  });

  it('kubectl attach streams what the container writes from then on, and ends with it', async () => {
    await createPod(admin(), pod('ticker', { node: 'node-1', command: ['sh', '-c', 'echo before; sleep 5; for i in 1 2 3; do echo "tick $i"; sleep 0.3; done; exit 0'], restartPolicy: 'Never', grace: 1 }));
    await waitPod(admin(), 'ticker', (p) => containerStatus(p)?.state?.running !== undefined, 'to run');
    const r = await attach(kubectl!, kubeconfigs.admin!, ['ticker'], undefined);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.include('tick 1\ntick 2\ntick 3\n');
    // Written before the client attached: not replayed (kubectl logs has it).
    expect(r.stdout).to.not.include('before');
  });

  it('stdin stays open across attaches; with stdinOnce the command reads EOF once the first client is done', async () => {
    // A reader that prints each line and says when its input ended.
    const reader = ['sh', '-c', 'while read line; do echo "got $line"; done; echo "stdin closed"; sleep 2'];
    await createPod(admin(), stdinPod('kept', reader));
    await createPod(admin(), stdinPod('once-only', reader, { once: true }));
    for (const name of ['kept', 'once-only']) await waitPod(admin(), name, (p) => containerStatus(p)?.state?.running !== undefined, 'to run');

    const first = attach(kubectl!, kubeconfigs.admin!, ['-i', 'kept'], 'one\n');
    await waitFor(async () => (await k('admin', ['logs', 'kept'])).stdout.includes('got one'), 'the first line read');
    // kubectl attach -i ends only with the container or an interrupt: the first client goes.
    const second = attach(kubectl!, kubeconfigs.admin!, ['-i', 'kept'], 'two\n');
    await waitFor(async () => (await k('admin', ['logs', 'kept'])).stdout.includes('got two'), 'the second line read');
    expect((await k('admin', ['logs', 'kept'])).stdout).to.not.include('stdin closed');
    expect(((await getPod(admin(), 'kept')) as Pod).status.phase).to.equal('Running');
    await k('admin', ['delete', 'pod', 'kept', '--wait=false']);
    await Promise.all([first, second]);

    const once = await attach(kubectl!, kubeconfigs.admin!, ['-i', 'once-only'], 'only\n');
    expect(once.stdout).to.include('got only');
    expect(once.stdout).to.include('stdin closed');
    await waitPod(admin(), 'once-only', (p) => p.status.phase === 'Succeeded', 'to finish');
  });

  it('needs create on pods/attach, which viewers do not have; a completed pod cannot be attached to', async () => {
    await createPod(admin(), stdinPod('guarded', ['sh', '-c', 'cat; sleep 5']));
    await waitPod(admin(), 'guarded', (p) => containerStatus(p)?.state?.running !== undefined, 'to run');
    const r = await attach(kubectl!, kubeconfigs.viewer!, ['-i', 'guarded'], 'x\n', 0);
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.match(/cannot create resource "pods\/attach" in API group ""|forbidden/i);
    await createPod(admin(), pod('done', { node: 'node-1', command: ['true'], restartPolicy: 'Never' }));
    await waitPod(admin(), 'done', (p) => p.status.phase === 'Succeeded', 'to succeed');
    const done = await attach(kubectl!, kubeconfigs.admin!, ['done'], undefined);
    expect(done.stderr).to.match(/cannot attach to a container in a completed pod; current phase is Succeeded|completed pod/);
  });
});
