// `cellctl create … -o json|yaml|name|jsonpath=…` and `--dry-run=none|client|server` as a process
// against a real API server on etcd, for every create verb (create -f, create deployment|job|quota):
// the server's object is printed (with its uid and resourceVersion), a client dry run prints the
// object that would be sent and sends nothing — the same object real kubectl's generators print —
// a server dry run prints the server's answer and stores nothing, several objects print one by
// one (YAML as separate documents), and a format create has no use for is refused before anything
// is created.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import YAML from 'yaml';
import type { ApiClient, ResourceRef } from '../../shared/client/http-client.js';
import { NotFoundError } from '../../shared/errors.js';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { cellctl, isolatedEnv, runProcess, tempDir } from './helpers.js';

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; uid?: string; resourceVersion?: string; labels?: Record<string, string> };
  spec: Record<string, unknown>;
}

const DEPLOYMENTS = { group: 'apps', version: 'v1', resource: 'deployments' };
const JOBS = { group: 'batch', version: 'v1', resource: 'jobs' };
const QUOTAS = { version: 'v1', resource: 'resourcequotas' };

describe('cellctl create -o and --dry-run', function () {
  this.timeout(60_000);
  let api: TestApiServer;
  let client: ApiClient;
  let env: NodeJS.ProcessEnv;
  let dir: string;
  const run = (args: string[]) => cellctl([`--server=${api.url}`, ...args], { env });
  const ok = async (args: string[]) => {
    const r = await run(args);
    expect(r.code, `cellctl ${args.join(' ')}: ${r.stderr}`).to.equal(0);
    return r.stdout;
  };
  const exists = async (ref: ResourceRef, namespace: string, name: string) =>
    client.get({ ...ref, namespace, name }).then(
      () => true,
      (e: unknown) => {
        if (e instanceof NotFoundError) return false;
        throw e;
      },
    );
  /** What real kubectl prints for the same generator command line, with --dry-run=client. */
  const kubectl = async (args: string[]): Promise<Obj> => {
    const r = await runProcess('kubectl', [`--server=${api.url}`, ...args], { env });
    expect(r.code, r.stderr).to.equal(0);
    return JSON.parse(r.stdout) as Obj;
  };

  before(async () => {
    api = await startTestApiServer({ backend: 'etcd' });
    client = api.client();
    dir = tempDir();
    env = isolatedEnv(dir);
    await client.create({ resource: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'other' } });
  });
  after(async () => api?.close());

  it('-o json prints the object the server created, uid and resourceVersion included', async () => {
    const out = JSON.parse(await ok(['create', 'deployment', 'web', '--image=busybox:1.36', '--replicas=2', '-o', 'json'])) as Obj;
    const stored = await client.get<Obj>({ ...DEPLOYMENTS, namespace: 'default', name: 'web' });
    expect(out.kind).to.equal('Deployment');
    expect(out.metadata.uid).to.equal(stored.metadata.uid);
    expect(out.metadata.resourceVersion).to.equal(stored.metadata.resourceVersion);
    expect(out.spec.replicas).to.equal(2);
  });

  it('--dry-run=client -o yaml|json prints what kubectl create would send, namespace only when given, and creates nothing', async () => {
    const args = ['create', 'job', 'once', '--image=busybox:1.36', '--dry-run=client'];
    const text = await ok([...args, '-o', 'yaml', '--', 'sh', '-c', 'echo hi']);
    const job = YAML.parse(text) as Obj;
    expect(await exists(JOBS, 'default', 'once')).to.equal(false);
    const k = await kubectl([...args, '-o', 'json', '--', 'sh', '-c', 'echo hi']);
    expect({ apiVersion: job.apiVersion, kind: job.kind, name: job.metadata.name, namespace: job.metadata.namespace, uid: job.metadata.uid }).to.deep.equal({
      apiVersion: k.apiVersion,
      kind: k.kind,
      name: k.metadata.name,
      namespace: k.metadata.namespace,
      uid: undefined,
    });
    const container = (o: Obj) => (o.spec as { template: { spec: { containers: Record<string, unknown>[]; restartPolicy: string } } }).template.spec;
    expect(container(job).restartPolicy).to.equal(container(k).restartPolicy);
    expect({ name: container(job).containers[0]!.name, image: container(job).containers[0]!.image, command: container(job).containers[0]!.command }).to.deep.equal({
      name: container(k).containers[0]!.name,
      image: container(k).containers[0]!.image,
      command: container(k).containers[0]!.command,
    });

    // -n on the command line: the generated object names its namespace, as kubectl's does.
    const inOther = JSON.parse(await ok(['-n', 'other', 'create', 'deployment', 'api', '--image=busybox', '--dry-run=client', '-o', 'json'])) as Obj;
    const kOther = await kubectl(['-n', 'other', 'create', 'deployment', 'api', '--image=busybox', '--dry-run=client', '-o', 'json']);
    expect(inOther.metadata.namespace).to.equal('other');
    expect(kOther.metadata.namespace).to.equal('other');
    expect(inOther.metadata.labels).to.deep.equal(kOther.metadata.labels);
    expect(await exists(DEPLOYMENTS, 'other', 'api')).to.equal(false);
  });

  it('-o name prints KIND/NAME alone, in every dry-run mode; --dry-run=server stores nothing', async () => {
    expect(await ok(['create', 'deployment', 'named', '--image=busybox', '-o', 'name'])).to.equal('deployment.apps/named\n');
    expect(await exists(DEPLOYMENTS, 'default', 'named')).to.equal(true);
    expect(await ok(['create', 'deployment', 'ghost', '--image=busybox', '--dry-run=server', '-o', 'name'])).to.equal('deployment.apps/ghost\n');
    expect(await ok(['create', 'quota', 'ghost', '--hard=pods=2', '--dry-run=client', '-o', 'name'])).to.equal('resourcequota/ghost\n');
    const server = JSON.parse(await ok(['create', 'quota', 'ghost', '--hard=pods=2', '--dry-run=server', '-o', 'json'])) as Obj;
    expect(server.spec).to.deep.equal({ hard: { pods: '2' } });
    expect(server.metadata.namespace).to.equal('default');
    expect(await exists(DEPLOYMENTS, 'default', 'ghost')).to.equal(false);
    expect(await exists(QUOTAS, 'default', 'ghost')).to.equal(false);
    // Without -o, the message says which dry run it was.
    expect(await ok(['create', 'quota', 'ghost', '--hard=pods=2', '--dry-run=server'])).to.equal('resourcequota/ghost created (server dry run)\n');
    expect(await ok(['create', 'quota', 'ghost', '--hard=pods=2', '--dry-run=client'])).to.equal('resourcequota/ghost created (dry run)\n');
  });

  it('create quota -o jsonpath prints the field of the created quota', async () => {
    expect(await ok(['create', 'quota', 'q', '--hard=pods=3,requests.cpu=2', '-o', 'jsonpath={.spec.hard.pods} {.metadata.namespace}'])).to.equal('3 default');
    expect(await exists(QUOTAS, 'default', 'q')).to.equal(true);
  });

  it('create -f: each object printed in turn (YAML documents separated), a failing one reported without stopping the others', async () => {
    const file = path.join(dir, 'two.yaml');
    const doc = (name: string) => ({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name },
      spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox', command: ['true'] }] } } },
    });
    writeFileSync(file, [doc('first'), { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'fq' }, spec: { hard: { pods: '1' } } }].map((d) => YAML.stringify(d)).join('---\n'));
    const docs = YAML.parseAllDocuments(await ok(['create', '-f', file, '-o', 'yaml'])).map((d) => d.toJS() as Obj);
    expect(docs.map((d) => `${d.kind}/${d.metadata.name}`)).to.deep.equal(['Job/first', 'ResourceQuota/fq']);
    for (const d of docs) expect(d.metadata.uid, `${d.kind} from the server`).to.be.a('string');

    // Client dry run: the manifests as they would be sent (namespace filled in), nothing created.
    const dry = path.join(dir, 'dry.yaml');
    writeFileSync(dry, YAML.stringify(doc('dry')));
    const shown = JSON.parse(await ok(['create', '-f', dry, '--dry-run=client', '-o', 'json'])) as Obj;
    expect(shown.metadata).to.deep.equal({ name: 'dry', namespace: 'default' });
    expect(await exists(JOBS, 'default', 'dry')).to.equal(false);

    // One object exists already: it is reported, the other is still created and printed.
    const mixed = path.join(dir, 'mixed.yaml');
    writeFileSync(mixed, [doc('first'), doc('second')].map((d) => YAML.stringify(d)).join('---\n'));
    const r = await run(['create', '-f', mixed, '-o', 'name']);
    expect(r.code).to.equal(1);
    expect(r.stdout).to.equal('job.batch/second\n');
    expect(r.stderr).to.match(/"first" already exists/);
  });

  it('refuses an output format create has no use for, before creating anything', async () => {
    const r = await run(['create', 'deployment', 'wide', '--image=busybox', '-o', 'wide']);
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.contain('unable to match a printer suitable for the output format "wide", allowed formats are: json,yaml,name,jsonpath,jsonpath-file');
    expect(await exists(DEPLOYMENTS, 'default', 'wide')).to.equal(false);
    const bad = await run(['create', 'quota', 'wide', '--hard=pods=1', '-o', 'table']);
    expect(bad.code).to.not.equal(0);
    expect(await exists(QUOTAS, 'default', 'wide')).to.equal(false);
  });
});
