// Jobs through real, unmodified kubectl, run by a real agent (each pod's command is a host
// process) placed by a real scheduler: `kubectl create job`, `kubectl wait --for=condition=complete`,
// `kubectl get jobs` with kubectl's columns, `kubectl logs job/…`, the examples applied as a user
// would, and `kubectl explain job.spec` from the served OpenAPI.
import { expect } from 'chai';
import { expectOk } from '../clients/helpers.js';
import { jobSuite } from './job-helpers.js';

/** A kubectl table, header first, split on runs of two or more spaces. */
function rows(stdout: string): string[][] {
  return stdout
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s{2,}/));
}

describe('Jobs through kubectl', function () {
  this.timeout(120_000);
  const cluster = jobSuite({ realAgent: true });

  it('kubectl create job, wait --for=condition=complete, get jobs (NAME STATUS COMPLETIONS DURATION AGE), logs', async () => {
    expectOk(await cluster.kubectl(['create', 'job', 'pi', '--image=busybox', '--', 'sh', '-c', 'echo 3.14159']), 'create job');
    const waited = expectOk(await cluster.kubectl(['wait', '--for=condition=complete', 'job/pi', '--timeout=60s'], 70_000), 'wait');
    expect(waited.stdout.trim()).to.equal('job.batch/pi condition met');
    const get = expectOk(await cluster.kubectl(['get', 'jobs']), 'get jobs');
    const table = rows(get.stdout);
    expect(table[0]).to.deep.equal(['NAME', 'STATUS', 'COMPLETIONS', 'DURATION', 'AGE']);
    expect(table[1]?.slice(0, 3)).to.deep.equal(['pi', 'Complete', '1/1']);
    expect(table[1]?.[3]).to.match(/^\d+s$/);
    const wide = rows(expectOk(await cluster.kubectl(['get', 'job', 'pi', '-o', 'wide']), 'get -o wide').stdout);
    expect(wide[0]).to.deep.equal(['NAME', 'STATUS', 'COMPLETIONS', 'DURATION', 'AGE', 'CONTAINERS', 'IMAGES', 'SELECTOR']);
    expect(wide[1]?.[5]).to.equal('pi');
    expect(wide[1]?.[7]).to.match(/^batch\.kubernetes\.io\/controller-uid=[0-9a-f-]{36}$/);
    const logs = expectOk(await cluster.kubectl(['logs', 'job/pi']), 'logs job/pi');
    expect(logs.stdout.trim()).to.equal('3.14159');
  });

  it('examples/indexed-job.yaml: each shard runs once with its index', async () => {
    expectOk(await cluster.kubectl(['apply', '-f', 'examples/indexed-job.yaml']), 'apply');
    expectOk(await cluster.kubectl(['wait', '--for=condition=complete', 'job/shards', '--timeout=60s'], 70_000), 'wait');
    const done = expectOk(await cluster.kubectl(['get', 'job', 'shards', '-o', 'jsonpath={.status.completedIndexes} {.status.succeeded}']), 'jsonpath');
    expect(done.stdout).to.equal('0-3 4');
    const outputs: string[] = [];
    for (let i = 0; i < 4; i++) {
      const names = expectOk(await cluster.kubectl(['get', 'pods', '-l', `batch.kubernetes.io/job-name=shards,batch.kubernetes.io/job-completion-index=${i}`, '-o', 'name']), 'pods of an index');
      const pods = names.stdout.trim().split('\n');
      expect(pods, `pods of index ${i}`).to.have.length(1);
      outputs.push(expectOk(await cluster.kubectl(['logs', pods[0]!]), 'logs').stdout.trim());
    }
    expect(outputs).to.deep.equal([0, 1, 2, 3].map((i) => `processing shard ${i}`));
  });

  it('examples/job.yaml completes five pods', async () => {
    // Its own namespace: the first test's `pi` lives in default.
    expectOk(await cluster.kubectl(['create', 'namespace', 'examples']), 'create namespace');
    expectOk(await cluster.kubectl(['apply', '-n', 'examples', '-f', 'examples/job.yaml']), 'apply');
    expectOk(await cluster.kubectl(['wait', '-n', 'examples', '--for=condition=complete', 'job/pi', '--timeout=90s'], 100_000), 'wait');
    const table = rows(expectOk(await cluster.kubectl(['get', '-n', 'examples', 'job', 'pi']), 'get').stdout);
    expect(table[1]?.slice(0, 3)).to.deep.equal(['pi', 'Complete', '5/5']);
  });

  it('kubectl explain job.spec describes the served schema', async () => {
    const spec = expectOk(await cluster.kubectl(['explain', 'job.spec']), 'explain job.spec').stdout;
    for (const field of ['parallelism', 'completions', 'completionMode', 'backoffLimit', 'activeDeadlineSeconds', 'ttlSecondsAfterFinished', 'suspend', 'podFailurePolicy', 'backoffLimitPerIndex', 'maxFailedIndexes', 'successPolicy', 'template']) {
      expect(spec, field).to.match(new RegExp(`\\b${field}\\b`));
    }
    const rules = expectOk(await cluster.kubectl(['explain', 'job.spec.podFailurePolicy.rules.onExitCodes']), 'explain onExitCodes').stdout;
    expect(rules).to.contain('operator');
  });
});
