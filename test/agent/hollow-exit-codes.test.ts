// Hollow pods that exit with a code (`cell.dev/exit-code`), as the real agent reports them: with
// restartPolicy Never a non-zero code ends the pod Failed (terminated, reason Error) and 0 ends it
// Succeeded (reason Completed); OnFailure restarts a failed container in place — at once, then after
// the crash-loop back-off, waiting in CrashLoopBackOff meanwhile — counting restarts.
import { expect } from 'chai';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { containerStatus, createPod, pod, startAgent, terminated, waitFor, waitPod, type AgentProcess } from './helpers.js';

describe('cell-agent hollow mode: exit codes', function () {
  this.timeout(60_000);
  let api: TestApiServer;
  let agent: AgentProcess | undefined;

  before(async () => {
    api = await startTestApiServer({ backend: 'etcd' });
    agent = startAgent([`--server=${api.url}`, '--hollow-nodes=2', '--node-prefix=exit-', '--node-ip=127.0.0.1', '--crash-loop-backoff=2s']);
    await waitFor(async () => {
      const nodes = await api.client().list<{ items: { status: { conditions?: { type: string; status: string }[] } }[] }>({ resource: 'nodes' });
      return nodes.items.filter((n) => n.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length === 2;
    }, 'two hollow nodes Ready', 30_000, 100);
  });

  after(async () => {
    await agent?.stop();
    await api?.close();
  });

  const annotated = (code: number, runSeconds = '1') => ({ 'cell.dev/run-seconds': runSeconds, 'cell.dev/exit-code': String(code) });

  it('restartPolicy Never: exit code 3 ends the pod Failed, exit code 0 Succeeded', async () => {
    const client = api.client();
    await createPod(client, pod('fail-3', { node: 'exit-0', command: ['x'], restartPolicy: 'Never', annotations: annotated(3) }));
    await createPod(client, pod('ok-0', { node: 'exit-1', command: ['x'], restartPolicy: 'Never', annotations: annotated(0) }));
    const failed = await waitPod(client, 'fail-3', (p) => p.status.phase === 'Failed', 'Failed');
    expect(terminated(failed)).to.include({ exitCode: 3, reason: 'Error' });
    expect(containerStatus(failed)?.ready).to.equal(false);
    expect(failed.status.conditions?.find((c) => c.type === 'Ready')).to.include({ status: 'False', reason: 'PodCompleted' });
    const started = Date.parse(terminated(failed)?.startedAt ?? '');
    const finished = Date.parse(terminated(failed)?.finishedAt ?? '');
    expect(finished - started, 'ran for run-seconds').to.be.within(0, 2000);
    const ok = await waitPod(client, 'ok-0', (p) => p.status.phase === 'Succeeded', 'Succeeded');
    expect(terminated(ok)).to.include({ exitCode: 0, reason: 'Completed' });
  });

  it('restartPolicy OnFailure: restarted in place with back-off, restartCount and lastState kept; exit 0 succeeds', async () => {
    const client = api.client();
    await createPod(client, pod('crash', { node: 'exit-0', command: ['x'], restartPolicy: 'OnFailure', annotations: annotated(1, '0.5') }));
    // First restart at once.
    const first = await waitPod(client, 'crash', (p) => (containerStatus(p)?.restartCount ?? 0) >= 1, 'restarted once');
    expect(first.status.phase).to.equal('Running');
    expect(containerStatus(first)?.lastState?.terminated).to.include({ exitCode: 1, reason: 'Error' });
    // Then the back-off: waiting in CrashLoopBackOff before the second restart.
    const waiting = await waitPod(client, 'crash', (p) => containerStatus(p)?.state?.waiting?.reason === 'CrashLoopBackOff', 'in CrashLoopBackOff');
    expect(waiting.status.phase).to.equal('Running');
    expect(containerStatus(waiting)?.restartCount).to.equal(1);
    const second = await waitPod(client, 'crash', (p) => (containerStatus(p)?.restartCount ?? 0) >= 2 && containerStatus(p)?.state?.running !== undefined, 'restarted twice');
    expect(containerStatus(second)?.lastState?.terminated?.exitCode).to.equal(1);

    await createPod(client, pod('once', { node: 'exit-1', command: ['x'], restartPolicy: 'OnFailure', annotations: annotated(0, '0.5') }));
    const done = await waitPod(client, 'once', (p) => p.status.phase === 'Succeeded', 'Succeeded');
    expect(containerStatus(done)?.restartCount).to.equal(0);
  });
});
