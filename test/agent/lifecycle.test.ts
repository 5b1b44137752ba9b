// Lifecycle hooks with a real agent against a real API server over real etcd: a postStart hook
// runs right after the container started, which is not ready until it returned and is killed and
// restarted when it fails; a preStop hook (exec, httpGet to a server the container runs, sleep)
// runs before the SIGTERM of a graceful delete, inside the grace period, and one that outlives the
// grace period is cut: the container gets 2 s more, then SIGKILL. Timing assertions are lower
// bounds, but for the generous bound on a hook cut at the grace period.
import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import type { LifecycleSchema, PodInput } from '../../shared/api/core.js';
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
  startAgent,
  tearDownAgentTest,
  tempRoot,
  waitFor,
  waitGone,
  waitNodeReady,
  waitPod,
  type AgentProcess,
} from './helpers.js';

type LifecycleInput = z.input<typeof LifecycleSchema>;

/** A one-container pod on node-1 whose container has these hooks. */
function hookedPod(name: string, command: string[], lifecycle: LifecycleInput, opts: { grace?: number; restartPolicy?: 'Always' | 'Never' } = {}): PodInput {
  const p = pod(name, { node: 'node-1', command, grace: opts.grace ?? 10, ...(opts.restartPolicy ? { restartPolicy: opts.restartPolicy } : {}) });
  p.spec!.containers![0] = { ...p.spec!.containers![0]!, lifecycle };
  return p;
}


const read = (file: string): string => (existsSync(file) ? readFileSync(file, 'utf8') : '');

/** A container that appends `term <ms since the epoch>` to `file` on SIGTERM (after `started` once its trap is set), then exits. */
function trapsTerm(file: string): string[] {
  return ['sh', '-c', `trap 'echo "term $(date +%s%3N)" >> ${file}; exit 0' TERM; echo started >> ${file}; while true; do sleep 0.1; done`];
}

describe('cell-agent: lifecycle hooks', function () {
  this.timeout(60_000);
  let api: TestApiServer;
  let agent: AgentProcess;
  let root: string;
  const admin = () => api.client(TEST_TOKENS.admin);

  const eventMessages = async (podName: string, reason: string): Promise<string[]> => {
    const events = await admin().list<{ items: { reason?: string; message?: string; involvedObject: { name?: string } }[] }>({ namespace: 'default', resource: 'events' });
    return events.items.filter((e) => e.involvedObject.name === podName && e.reason === reason).map((e) => e.message ?? '');
  };
  const waitEvent = (podName: string, reason: string, match: RegExp) =>
    waitFor(async () => (await eventMessages(podName, reason)).some((m) => match.test(m)), `${podName}: a ${reason} event matching ${match}`, 20_000, 100);
  const waitFile = (file: string, match: RegExp) => waitFor(() => match.test(read(file)), `${file} matching ${match}`, 20_000, 50);
  /** Deletes with this grace period and resolves, once the pod is gone, to the ms since the epoch of the delete. */
  const deleteAndWait = async (name: string, grace: number): Promise<number> => {
    const at = Date.now();
    await deleteIfPresent(admin(), name, grace);
    await waitGone(admin(), name, 30_000);
    return at;
  };

  before(async function () {
    api = await startTestApiServer({ backend: 'etcd', auth: true });
    root = tempRoot('cell-agent-lifecycle-');
    agent = startAgent(nodeOneAgentArgs(root, [`--server=${api.url}`, `--token=${TEST_TOKENS.node1}`, '--crash-loop-backoff=400ms', '--crash-loop-backoff-max=800ms']));
    await waitNodeReady(admin(), agent);
  });

  after(async function () {
    await tearDownAgentTest({ admin: admin(), agent, root, close: async () => api?.close() });
  });

  it('stores hooks (httpGet defaulted, stopSignal dropped) and refuses malformed ones with Kubernetes\' field paths', async () => {
    const unbound = hookedPod('stored', ['sleep', '300'], {
      postStart: { httpGet: { port: 8080 } },
      preStop: { sleep: { seconds: 5 } },
      stopSignal: 'SIGUSR1',
    } as LifecycleInput);
    // Never bound (no scheduler runs here): only what the API server stored is looked at.
    delete unbound.spec!.nodeName;
    const created = await createPod(admin(), unbound);
    expect(created.spec.containers[0]!.lifecycle).to.deep.equal({ postStart: { httpGet: { port: 8080, path: '/', scheme: 'HTTP' } }, preStop: { sleep: { seconds: 5 } } });
    await deleteIfPresent(admin(), 'stored');
    await waitGone(admin(), 'stored');

    const refused = async (p: PodInput): Promise<InvalidError> => {
      try {
        await createPod(admin(), p);
      } catch (err) {
        if (err instanceof InvalidError) return err;
        throw err;
      }
      throw new Error('created a pod with an invalid lifecycle');
    };
    const bad = await refused(hookedPod('bad', ['sleep', '1'], {
      postStart: { exec: { command: ['true'] }, httpGet: { port: 80 } },
      preStop: { sleep: { seconds: 11 } },
    }));
    expect(bad.causes).to.deep.include({ reason: 'FieldValueForbidden', field: 'spec.containers[0].lifecycle.postStart.httpGet', message: 'Forbidden: may not specify more than 1 handler type' });
    expect(bad.causes).to.deep.include({ reason: 'FieldValueInvalid', field: 'spec.containers[0].lifecycle.preStop.sleep', message: 'Invalid value: 11: must be non-negative and less than terminationGracePeriodSeconds (10)' });
    const empty = await refused(hookedPod('bad', ['sleep', '1'], { preStop: {}, postStart: { exec: {} } }));
    expect(empty.causes).to.deep.include({ reason: 'FieldValueRequired', field: 'spec.containers[0].lifecycle.preStop', message: 'Required value: must specify a handler type' });
    expect(empty.causes).to.deep.include({ reason: 'FieldValueRequired', field: 'spec.containers[0].lifecycle.postStart.exec.command', message: 'Required value' });
    const init = pod('bad', { node: 'node-1', command: ['sleep', '1'] });
    init.spec!.initContainers = [{ name: 'setup', image: 'busybox', command: ['true'], lifecycle: { preStop: { exec: { command: ['true'] } } } }];
    const onInit = await refused(init);
    expect(onInit.causes).to.deep.include({ reason: 'FieldValueForbidden', field: 'spec.initContainers[0].lifecycle', message: 'Forbidden: may not be set for init containers without restartPolicy=Always' });
  });

  it('postStart: the container sees what its hook wrote, and is ready only once the hook returned', async () => {
    const done = path.join(root, 'post-start-done');
    const seen = path.join(root, 'post-start-seen');
    // The container waits for the hook's file; the hook takes 2 s.
    await createPod(admin(), hookedPod('post-start', ['sh', '-c', `while [ ! -f ${done} ]; do sleep 0.1; done; cp ${done} ${seen}; exec sleep 300`], {
      postStart: { exec: { command: ['sh', '-c', `sleep 2; echo "hook $(date +%s%3N)" > ${done}`] } },
    }));
    const running = await waitPod(admin(), 'post-start', (p) => containerStatus(p)?.state?.running !== undefined, 'running');
    if (!existsSync(done)) expect(containerStatus(running)?.ready, 'ready before its postStart hook returned').to.equal(false);
    const ready = await waitPod(admin(), 'post-start', (p) => containerStatus(p)?.ready === true, 'ready', 20_000);
    // The pod turned Ready after the hook wrote its file (lastTransitionTime is in whole seconds).
    const hookAt = Number(/^hook (\d+)$/m.exec(read(done))?.[1]);
    const readySince = Date.parse(ready.status.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime ?? '');
    expect(readySince).to.be.at.least(Math.floor(hookAt / 1000) * 1000);
    const startedAt = Date.parse(containerStatus(ready)?.state?.running?.startedAt ?? '');
    expect(hookAt - startedAt, 'the hook took its 2 s after the start').to.be.at.least(1000);
    await waitFile(seen, /^hook \d+$/m);
    expect(containerStatus((await getPod(admin(), 'post-start'))!)?.restartCount).to.equal(0);
    await deleteAndWait('post-start', 1);
  });

  it('a failing postStart hook: FailedPostStartHook, the container is killed and restarted', async () => {
    await createPod(admin(), hookedPod('post-start-fail', ['sleep', '300'], {
      postStart: { exec: { command: ['sh', '-c', 'echo hook-broke; exit 3'] } },
    }, { grace: 1 }));
    await waitEvent('post-start-fail', 'FailedPostStartHook', /^Exec lifecycle hook \(\[sh -c echo hook-broke; exit 3\]\) for Container "main" in Pod "post-start-fail_default\([0-9a-f-]+\)" failed - error: hook-broke\n?$/);
    await waitEvent('post-start-fail', 'Killing', /^FailedPostStartHook$/);
    const restarted = await waitPod(admin(), 'post-start-fail', (p) => (containerStatus(p)?.restartCount ?? 0) >= 1, 'restarted', 20_000);
    // Killed by the agent (SIGTERM), never ready.
    expect(containerStatus(restarted)?.lastState?.terminated?.exitCode).to.not.equal(0);
    expect(containerStatus(restarted)?.ready).to.equal(false);
    await deleteAndWait('post-start-fail', 1);
  });

  it('preStop exec runs before the SIGTERM of a graceful delete', async () => {
    const file = path.join(root, 'pre-stop-exec');
    await createPod(admin(), hookedPod('pre-stop-exec', trapsTerm(file), { preStop: { exec: { command: ['sh', '-c', `echo prestop >> ${file}`] } } }));
    await waitFile(file, /^started$/m);
    await deleteAndWait('pre-stop-exec', 10);
    expect(read(file).split('\n').map((l) => l.split(' ')[0])).to.deep.equal(['started', 'prestop', 'term', '']);
  });

  it('preStop sleep delays the SIGTERM by its seconds', async () => {
    const file = path.join(root, 'pre-stop-sleep');
    await createPod(admin(), hookedPod('pre-stop-sleep', trapsTerm(file), { preStop: { sleep: { seconds: 3 } } }));
    await waitFile(file, /^started$/m);
    const deletedAt = await deleteAndWait('pre-stop-sleep', 10);
    const termAt = Number(/^term (\d+)$/m.exec(read(file))?.[1]);
    // The agent learns of the delete after it was made, then sleeps 3 s (date's clock is this one).
    expect(termAt - deletedAt).to.be.at.least(2900);
  });

  it('preStop httpGet reaches the server the container runs, before its SIGTERM', async () => {
    const file = path.join(root, 'pre-stop-http');
    const port = await freePort();
    const server = [
      'import http.server, signal, sys',
      `F = ${JSON.stringify(file)}`,
      'def term(*_):',
      "    open(F, 'a').write('term\\n'); sys.exit(0)",
      'signal.signal(signal.SIGTERM, term)',
      'class H(http.server.BaseHTTPRequestHandler):',
      '    def do_GET(self):',
      "        open(F, 'a').write('GET ' + self.path + ' ' + self.headers.get('X-Hook', '') + '\\n'); self.send_response(200); self.end_headers()",
      '    def log_message(self, *_): pass',
      `http.server.HTTPServer(('127.0.0.1', ${port}), H).serve_forever()`,
    ].join('\n');
    const p = hookedPod('pre-stop-http', ['python3', '-c', server], { preStop: { httpGet: { port: 'web', path: '/shutdown', httpHeaders: [{ name: 'X-Hook', value: 'pre-stop' }] } } });
    const main = p.spec!.containers![0]!;
    p.spec!.containers![0] = { ...main, ports: [{ name: 'web', containerPort: port }], readinessProbe: { tcpSocket: { port }, periodSeconds: 1 } };
    await createPod(admin(), p);
    await waitPod(admin(), 'pre-stop-http', (x) => containerStatus(x)?.ready === true, 'ready (listening)', 20_000);
    await deleteAndWait('pre-stop-http', 10);
    expect(read(file)).to.equal('GET /shutdown pre-stop\nterm\n');
  });

  it('a preStop hook that outlives the grace period is cut: 2 s more after SIGTERM, then SIGKILL', async () => {
    const file = path.join(root, 'pre-stop-slow');
    const marker = path.join(root, 'slow-hook');
    // The container ignores SIGTERM: only the SIGKILL ends it.
    const stubborn = ['sh', '-c', `trap '' TERM; echo started >> ${file}; while true; do sleep 0.1; done`];
    await createPod(admin(), hookedPod('pre-stop-slow', stubborn, { preStop: { exec: { command: ['sh', '-c', `echo hook >> ${file}; sleep 60; echo ${marker}`] } } }, { grace: 3 }));
    await waitFile(file, /^started$/m);
    const deletedAt = await deleteAndWait('pre-stop-slow', 3);
    const took = Date.now() - deletedAt;
    expect(read(file)).to.equal('started\nhook\n');
    // 3 s of hook, 2 s after the SIGTERM; generous slack for a loaded machine above that.
    expect(took).to.be.at.least(4900);
    expect(took).to.be.below(15_000);
    // The hook's command was stopped with it.
    await waitFor(() => processesWith(marker).length === 0, 'the cut hook gone', 5_000, 100);
    const failed = await eventMessages('pre-stop-slow', 'FailedPreStopHook');
    expect(failed).to.deep.equal([]);
  });

  it('a failing preStop hook is a FailedPreStopHook event, and the stop goes on', async () => {
    const file = path.join(root, 'pre-stop-fail');
    await createPod(admin(), hookedPod('pre-stop-fail', trapsTerm(file), { preStop: { exec: { command: ['sh', '-c', 'echo no-way; exit 1'] } } }));
    await waitFile(file, /^started$/m);
    await deleteIfPresent(admin(), 'pre-stop-fail', 10);
    await waitEvent('pre-stop-fail', 'FailedPreStopHook', /^Exec lifecycle hook \(\[sh -c echo no-way; exit 1\]\) for Container "main" in Pod "pre-stop-fail_default\([0-9a-f-]+\)" failed - error: no-way\n?$/);
    await waitGone(admin(), 'pre-stop-fail', 30_000);
    expect(read(file)).to.match(/^started\nterm \d+\n$/);
  });
});
