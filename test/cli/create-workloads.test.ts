// `cellctl create deployment|job NAME --image=…` as a process against a real API server on etcd:
// the objects it creates carry what kubectl's generators put in them (checked against real
// kubectl's own `--dry-run=client -o json` output for the same command line), and the dry runs
// create nothing.
import { expect } from 'chai';
import type { Deployment } from '../../shared/api/apps.js';
import type { Job } from '../../shared/api/batch.js';
import type { ApiClient } from '../../shared/client/http-client.js';
import { NotFoundError } from '../../shared/errors.js';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { cellctl, isolatedEnv, runProcess, tempDir } from './helpers.js';

interface Generated {
  metadata: { name: string; labels?: Record<string, string> };
  spec: Record<string, unknown> & { template: { metadata?: { labels?: Record<string, string> }; spec: { containers: Record<string, unknown>[]; restartPolicy?: string } } };
}

describe('cellctl create deployment and create job', function () {
  this.timeout(60_000);
  let api: TestApiServer;
  let client: ApiClient;
  let env: NodeJS.ProcessEnv;
  const run = (args: string[]) => cellctl([`--server=${api.url}`, ...args], { env });
  /** What kubectl itself would send for the same command line. */
  const kubectlGenerated = async (args: string[]): Promise<Generated> => {
    // The flags go before `--`: after it everything is the container command.
    const r = await runProcess('kubectl', [`--server=${api.url}`, ...args.slice(0, 3), '--dry-run=client', '-o', 'json', ...args.slice(3)], { env });
    expect(r.code, r.stderr).to.equal(0);
    return JSON.parse(r.stdout) as Generated;
  };
  const deployments = { group: 'apps', version: 'v1', namespace: 'default', resource: 'deployments' };
  const jobs = { group: 'batch', version: 'v1', namespace: 'default', resource: 'jobs' };

  before(async () => {
    api = await startTestApiServer({ backend: 'etcd' });
    client = api.client();
    env = isolatedEnv(tempDir());
  });
  after(async () => api?.close());

  it('creates a Deployment as kubectl create deployment builds it: app=NAME labels and selector, replicas, port, command', async () => {
    const args = ['create', 'deployment', 'web', '--image=registry.local/team/web_app:1.2', '--replicas=3', '--port=8080', '--', 'sleep', '3600'];
    const r = await run(args);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.equal('deployment.apps/web created\n');
    const d = await client.get<Deployment>({ ...deployments, name: 'web' });
    expect(d.metadata.labels).to.deep.equal({ app: 'web' });
    expect(d.spec.replicas).to.equal(3);
    expect(d.spec.selector.matchLabels).to.deep.equal({ app: 'web' });
    expect(d.spec.template.metadata?.labels).to.deep.equal({ app: 'web' });
    const c = d.spec.template.spec.containers;
    expect(c).to.have.length(1);
    // kubectl's rule: the image's base name, an underscore made a dash and a random suffix added.
    expect(c[0]!.name).to.match(/^web-app-[a-z0-9]{5}$/);
    expect(c[0]!.image).to.equal('registry.local/team/web_app:1.2');
    expect(c[0]!.command).to.deep.equal(['sleep', '3600']);
    expect(c[0]!.ports?.map((p) => p.containerPort)).to.deep.equal([8080]);

    const k = await kubectlGenerated(args);
    expect(k.metadata.labels).to.deep.equal(d.metadata.labels);
    expect(k.spec.replicas).to.equal(d.spec.replicas);
    expect(k.spec.selector).to.deep.equal({ matchLabels: d.spec.selector.matchLabels });
    expect(k.spec.template.metadata?.labels).to.deep.equal(d.spec.template.metadata?.labels);
    const kc = k.spec.template.spec.containers[0]!;
    expect(kc.name).to.match(/^web-app-[a-z0-9]{5}$/);
    expect({ image: kc.image, command: kc.command, ports: kc.ports }).to.deep.equal({
      image: c[0]!.image,
      command: c[0]!.command,
      ports: [{ containerPort: 8080 }],
    });
  });

  it('creates a Job as kubectl create job builds it: the container named after the Job, restartPolicy Never', async () => {
    const args = ['create', 'job', 'once', '--image=busybox:1.36', '--', 'sh', '-c', 'echo done'];
    const r = await run(args);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.equal('job.batch/once created\n');
    const j = await client.get<Job>({ ...jobs, name: 'once' });
    expect(j.spec.template.spec.restartPolicy).to.equal('Never');
    const c = j.spec.template.spec.containers;
    expect(c).to.have.length(1);
    expect(c[0]).to.include({ name: 'once', image: 'busybox:1.36' });
    expect(c[0]!.command).to.deep.equal(['sh', '-c', 'echo done']);
    // The server generated the selector from the Job's uid (no manual selector).
    expect(j.spec.selector?.matchLabels?.['batch.kubernetes.io/controller-uid']).to.equal(j.metadata.uid);

    const k = await kubectlGenerated(args);
    const kc = k.spec.template.spec.containers[0]!;
    expect({ name: kc.name, image: kc.image, command: kc.command, restartPolicy: k.spec.template.spec.restartPolicy }).to.deep.equal({
      name: c[0]!.name,
      image: c[0]!.image,
      command: c[0]!.command,
      restartPolicy: 'Never',
    });
  });

  it('creates nothing on --dry-run=client or --dry-run=server, and refuses a missing --image or a bad --replicas', async () => {
    for (const mode of ['client', 'server']) {
      const d = await run(['create', 'deployment', `dry-${mode}`, '--image=busybox', `--dry-run=${mode}`]);
      expect(d.code, d.stderr).to.equal(0);
      expect(d.stdout).to.equal(`deployment.apps/dry-${mode} created (${mode === 'server' ? 'server ' : ''}dry run)\n`);
      const j = await run(['create', 'job', `dry-${mode}`, '--image=busybox', `--dry-run=${mode}`]);
      expect(j.code, j.stderr).to.equal(0);
      for (const ref of [deployments, jobs]) {
        const err = await client.get({ ...ref, name: `dry-${mode}` }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).to.be.instanceOf(NotFoundError);
      }
    }
    const noImage = await run(['create', 'job', 'x']);
    expect(noImage.code).to.not.equal(0);
    expect(noImage.stderr).to.match(/image/);
    const badReplicas = await run(['create', 'deployment', 'x', '--image=busybox', '--replicas=-1']);
    expect(badReplicas.code).to.not.equal(0);
    expect(badReplicas.stderr).to.match(/--replicas/);
    const exists = await run(['create', 'deployment', 'web', '--image=busybox']);
    expect(exists.code).to.not.equal(0);
    expect(exists.stderr).to.match(/already exists/);
  });
});
