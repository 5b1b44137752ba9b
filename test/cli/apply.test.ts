// cellctl create / apply / delete / label, as a process, against a real API server on etcd.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import type { Pod } from '../../shared/api/core.js';
import type { ApiClient } from '../../shared/client/http-client.js';
import { NotFoundError } from '../../shared/errors.js';
import { cellctl, createBoundPod, createNode, isolatedEnv, runProcess, tempDir, writeKubeconfig } from './helpers.js';

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

function podYaml(name: string, opts: { labels?: string; env?: string; image?: string } = {}): string {
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  labels:
${opts.labels ?? '    app: demo'}
spec:
  containers:
  - name: main
    image: ${opts.image ?? 'busybox:1'}
    command: ["sleep", "3600"]
${opts.env ?? ''}`;
}

describe('cellctl create, apply, delete, label', function () {
  this.timeout(60_000);
  let api: TestApiServer;
  let client: ApiClient;
  let env: NodeJS.ProcessEnv;
  let dir: string;
  const run = (args: string[], input?: string) => cellctl([`--server=${api.url}`, ...args], { env, ...(input !== undefined ? { input } : {}) });
  const getPod = (name: string, ns = 'default') => client.get<Pod>({ resource: 'pods', namespace: ns, name });
  const file = (name: string, text: string) => {
    const p = path.join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  before(async () => {
    api = await startTestApiServer({ backend: 'etcd' });
    client = api.client();
    dir = tempDir();
    env = isolatedEnv(dir);
  });
  after(async () => api?.close());

  it('apply creates, then reports unchanged, then configures — and removes what the file dropped', async () => {
    const f = file('app.yaml', `${podYaml('app-1', { labels: '    app: demo\n    tier: web' })}---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: apply-ns\n`);
    const created = await run(['apply', '-f', f]);
    expect(created.code, created.stderr).to.equal(0);
    expect(created.stdout).to.equal('pod/app-1 created\nnamespace/apply-ns created\n');
    const pod = await getPod('app-1');
    const annotation = JSON.parse(pod.metadata.annotations![LAST_APPLIED]!) as { metadata: { namespace: string; annotations: object } };
    expect(annotation.metadata.namespace).to.equal('default');
    expect(annotation.metadata.annotations).to.deep.equal({});

    const again = await run(['apply', '-f', f]);
    expect(again.stdout).to.equal('pod/app-1 unchanged\nnamespace/apply-ns unchanged\n');
    expect((await getPod('app-1')).metadata.resourceVersion).to.equal(pod.metadata.resourceVersion);

    // Drop a label and change the image (the one container field a pod update may change).
    file('app.yaml', podYaml('app-1', { image: 'busybox:2' }));
    const changed = await run(['apply', '-f', f]);
    expect(changed.code, changed.stderr).to.equal(0);
    expect(changed.stdout).to.equal('pod/app-1 configured\n');
    const after = await getPod('app-1');
    expect(after.metadata.labels).to.deep.equal({ app: 'demo' });
    expect(after.spec.containers[0]!.image).to.equal('busybox:2');
  });

  it('apply keeps labels other clients added, and reads stdin and directories', async () => {
    await run(['apply', '-f', '-'], podYaml('app-2'));
    await client.patch({ resource: 'pods', namespace: 'default', name: 'app-2' }, { metadata: { labels: { owner: 'someone-else' } } }, 'merge');
    const sub = path.join(dir, 'manifests');
    mkdirSync(sub);
    writeFileSync(path.join(sub, 'a.yaml'), podYaml('app-2', { labels: '    app: demo\n    version: "2"' }));
    writeFileSync(path.join(sub, 'b.json'), JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'app-3' }, spec: { containers: [{ name: 'c', image: 'x' }] } }));
    writeFileSync(path.join(sub, 'notes.txt'), 'not a manifest');
    const r = await run(['apply', '-f', sub]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.equal('pod/app-2 configured\npod/app-3 created\n');
    expect((await getPod('app-2')).metadata.labels).to.deep.equal({ app: 'demo', owner: 'someone-else', version: '2' });
  });

  it('what kubectl applied, cellctl sees as unchanged (and the other way round)', async function () {
    // Real kubectl when it is installed (CI installs it); otherwise there is nothing to compare with.
    const kubectl = (process.env.PATH ?? '').split(path.delimiter).map((d) => path.join(d, 'kubectl')).find((p) => existsSync(p));
    if (!kubectl) this.skip();
    const kc = writeKubeconfig(path.join(dir, 'kubectl-config'), [{ name: 'test', server: api.url }]);
    const f = file('compat.yaml', podYaml('compat-1'));
    const kube = (...args: string[]) => runProcess(kubectl!, [`--kubeconfig=${kc}`, `--cache-dir=${path.join(dir, 'kcache')}`, ...args], { env });
    const k1 = await kube('apply', '-f', f);
    expect(k1.code, k1.stderr).to.equal(0);
    expect((await run(['apply', '-f', f])).stdout).to.equal('pod/compat-1 unchanged\n');
    file('compat.yaml', podYaml('compat-1', { labels: '    app: demo\n    added: by-cellctl' }));
    expect((await run(['apply', '-f', f])).stdout).to.equal('pod/compat-1 configured\n');
    const k2 = await kube('apply', '-f', f);
    expect(k2.stdout.trim()).to.equal('pod/compat-1 unchanged');
  });

  it('create reports created, and AlreadyExists as an error with the file and line', async () => {
    const f = file('create.yaml', `# two pods\n${podYaml('made-1')}---\n${podYaml('made-2')}`);
    const first = await run(['create', '-f', f]);
    expect(first.code, first.stderr).to.equal(0);
    expect(first.stdout).to.equal('pod/made-1 created\npod/made-2 created\n');
    const second = await run(['create', '-f', f]);
    expect(second.code).to.equal(1);
    expect(second.stderr).to.equal(
      `error: pods "made-1" already exists (from ${f}, document at line 2)\nerror: pods "made-2" already exists (from ${f}, document at line 14)\n`,
    );
  });

  it('bad YAML, unknown kinds and missing fields are reported with the file and line number', async () => {
    const bad = file('bad.yaml', `${podYaml('ok-1')}---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: broken\n  labels: {a: b\nspec: {}\n`);
    const widget = file('widget.yaml', 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: w\n---\n\napiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n');
    const nokind = file('nokind.yaml', 'apiVersion: v1\nmetadata:\n  name: x\n');
    const [r1, r2, r3, r4] = await Promise.all([
      run(['apply', '-f', bad]),
      run(['create', '-f', widget]),
      run(['apply', '-f', nokind]),
      run(['apply', '-f', path.join(dir, 'missing.yaml')]),
    ]);
    expect(r1.code).to.equal(1);
    // The parser notices the unclosed `{` on the next line (18), as kubectl's YAML parser would.
    expect(r1.stderr).to.equal(`error: error parsing ${bad}: line 18, column 1: Flow map in block collection must be sufficiently indented and end with a }\n`);
    expect(r1.stdout).to.equal(''); // nothing is applied from a file that does not parse
    expect(r2.code).to.equal(1);
    expect(r2.stderr).to.equal(`error: error validating ${widget} (document at line 7): no matches for kind "Widget" in version "example.com/v1"\n`);
    expect(r3.stderr).to.equal(`error: error validating ${nokind} (document at line 1): kind not set\n`);
    expect(r4.stderr).to.equal(`error: the path "${path.join(dir, 'missing.yaml')}" does not exist\n`);
    await getPod('ok-1').then(
      () => expect.fail('ok-1 must not have been created'),
      (err: unknown) => expect(err).to.be.instanceOf(NotFoundError),
    );
  });

  it('-n must agree with a manifest\'s own namespace; the context namespace is the default', async () => {
    await client.create({ resource: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ctx-ns' } });
    const kc = writeKubeconfig(path.join(dir, 'ns-config'), [{ name: 'c', server: api.url, namespace: 'ctx-ns' }]);
    const f = file('in-default.yaml', podYaml('ns-1').replace('  name: ns-1\n', '  name: ns-1\n  namespace: default\n'));
    const g = file('no-ns.yaml', podYaml('ns-2'));
    const [clash, ctx] = await Promise.all([run(['-n', 'ctx-ns', 'apply', '-f', f]), cellctl([`--kubeconfig=${kc}`, 'apply', '-f', g], { env })]);
    expect(clash.code).to.equal(1);
    expect(clash.stderr).to.equal(`error: the namespace from the provided object "default" does not match the namespace "ctx-ns". You must pass '--namespace=default' to perform this operation.\n`);
    expect(ctx.stdout).to.equal('pod/ns-2 created\n');
    expect((await getPod('ns-2', 'ctx-ns')).metadata.namespace).to.equal('ctx-ns');
  });

  it('label adds, refuses to overwrite without --overwrite, overwrites, removes', async () => {
    await run(['apply', '-f', '-'], podYaml('lab-1'));
    const add = await run(['label', 'pod', 'lab-1', 'team=a', 'env=dev']);
    expect(add.stdout).to.equal('pod/lab-1 labeled\n');
    const refuse = await run(['label', 'pod', 'lab-1', 'team=b']);
    expect(refuse.code).to.equal(1);
    expect(refuse.stderr).to.equal("error: 'team' already has a value (a), and --overwrite is false\n");
    const [overwrite, bad] = await Promise.all([run(['label', 'pods/lab-1', 'team=b', '--overwrite']), run(['label', 'pod', 'lab-1', 'bad key=x'])]);
    expect(overwrite.stdout).to.equal('pod/lab-1 labeled\n');
    expect(bad.code).to.equal(1);
    expect(bad.stderr).to.match(/^error: invalid label key "bad key"/);
    const remove = await run(['label', 'pod', 'lab-1', 'env-', 'gone-']);
    expect(remove.stdout).to.equal('pod/lab-1 unlabeled\n');
    expect((await getPod('lab-1')).metadata.labels).to.deep.equal({ app: 'demo', team: 'b' });
  });

  it('delete by name, by -f and by -l; missing objects are errors unless --ignore-not-found', async () => {
    const f = file('del.yaml', `${podYaml('del-1')}---\n${podYaml('del-2')}`);
    await run(['apply', '-f', f]);
    await run(['apply', '-f', '-'], `${podYaml('del-3', { labels: '    batch: x' })}---\n${podYaml('del-4', { labels: '    batch: x' })}---\n${podYaml('del-5')}`);
    const [byFile, bySelector] = await Promise.all([run(['delete', '-f', f]), run(['delete', 'pods', '-l', 'batch=x'])]);
    expect(byFile.code, byFile.stderr).to.equal(0);
    expect(byFile.stdout).to.equal('pod "del-1" deleted\npod "del-2" deleted\n');
    expect(bySelector.stdout).to.equal('pod "del-3" deleted\npod "del-4" deleted\n');
    const [byName, missing, ignored, noName] = await Promise.all([
      run(['delete', 'pod', 'del-5', '--wait']),
      run(['delete', 'pod', 'del-1']),
      run(['delete', 'pod', 'del-1', '--ignore-not-found']),
      run(['delete', 'pods']),
    ]);
    expect(byName.stdout).to.equal('pod "del-5" deleted\n');
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.equal('error: pods "del-1" not found\n');
    expect(ignored.code).to.equal(0);
    expect(noName.code).to.equal(1);
    expect(noName.stderr).to.match(/^error: resource\(s\) were provided, but no name was specified/);
    for (const name of ['del-1', 'del-2', 'del-3', 'del-4', 'del-5']) {
      await getPod(name).then(
        () => expect.fail(`${name} should be gone`),
        (err: unknown) => expect(err).to.be.instanceOf(NotFoundError),
      );
    }
  });

  it('deleting a bound pod is graceful: it stays Terminating; --wait gives up after --timeout; --grace-period=0 removes it', async () => {
    await createNode(client, 'del-node', { cpu: '2', memory: '2Gi', pods: '10' });
    await createBoundPod(client, 'bound-1', 'del-node');
    const graceful = await run(['delete', 'pod', 'bound-1', '--wait', '--timeout=1s']);
    expect(graceful.stdout).to.equal('pod "bound-1" deleted\n');
    expect(graceful.code).to.equal(1);
    expect(graceful.stderr).to.equal('error: timed out waiting for the condition on pods/bound-1\n');
    expect((await getPod('bound-1')).metadata.deletionTimestamp).to.be.a('string');
    const forced = await run(['delete', 'pod', 'bound-1', '--grace-period=0', '--wait']);
    expect(forced.code, forced.stderr).to.equal(0);
    expect(forced.stdout).to.equal('pod "bound-1" force deleted\n');
    expect(forced.stderr).to.match(/^warning: Immediate deletion does not wait for confirmation/);
  });
});
