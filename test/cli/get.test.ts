// cellctl get / describe / events / version against a real API server on etcd, run as a process.
import { expect } from 'chai';
import YAML from 'yaml';
import { freePort } from '../harness/ports.js';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import type { ApiClient } from '../../shared/client/http-client.js';
import { cellctl, cellctlRunning, createBoundPod, createNode, isolatedEnv, podManifest, tempDir, waitFor } from './helpers.js';

describe('cellctl get, describe, events', function () {
  this.timeout(60_000);
  let api: TestApiServer;
  let client: ApiClient;
  let env: NodeJS.ProcessEnv;
  const run = (...args: string[]) => cellctl([`--server=${api.url}`, ...args], { env });

  before(async () => {
    api = await startTestApiServer({ backend: 'etcd' });
    client = api.client();
    env = isolatedEnv(tempDir());
    await client.create({ resource: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-b' } });
    await createNode(client, 'node-a', { cpu: '4', memory: '8Gi', pods: '110' }, { zone: 'east' });
    await createBoundPod(client, 'web-1', 'node-a', { labels: { app: 'web' } });
    await client.create({ resource: 'pods', namespace: 'default' }, podManifest('web-2', { labels: { app: 'web', tier: 'front' } }));
    await client.create({ resource: 'pods', namespace: 'default' }, podManifest('db-1', { labels: { app: 'db' } }));
    await client.create({ resource: 'pods', namespace: 'team-b' }, podManifest('other', { namespace: 'team-b', labels: { app: 'web' } }));
    await client.create(
      { resource: 'events', namespace: 'default' },
      {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: 'web-1.scheduled', namespace: 'default' },
        involvedObject: { kind: 'Pod', name: 'web-1', namespace: 'default' },
        reason: 'Scheduled',
        message: 'Successfully assigned default/web-1 to node-a',
        type: 'Normal',
        source: { component: 'default-scheduler' },
        count: 1,
        firstTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        lastTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      },
    );
  });
  after(async () => api?.close());

  it('prints the server Table columns, aligned like kubectl (3 spaces), ages humanised', async () => {
    const r = await run('get', 'pods');
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.equal('');
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).to.match(/^NAME {3,}READY {3}STATUS {3,}RESTARTS {3}AGE$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).to.deep.equal(['db-1', 'web-1', 'web-2']);
    // Every column starts where the header's does.
    const statusAt = lines[0]!.indexOf('STATUS');
    for (const l of lines.slice(1)) expect(l.slice(statusAt)).to.match(/^Pending /);
    expect(lines[1]).to.match(/\s\d+s$/);
  });

  it('-o wide adds the priority-1 columns; -A adds NAMESPACE; --show-labels adds LABELS', async () => {
    const [wide, all, labels] = await Promise.all([run('get', 'pods', '-o', 'wide'), run('get', 'pods', '-A'), run('get', 'pods', '--show-labels', '-l', 'app=web')]);
    expect(wide.stdout.split('\n')[0]).to.match(/IP +NODE +NOMINATED NODE$/);
    expect(wide.stdout).to.match(/web-1 .* node-a /);
    expect(all.stdout.split('\n')[0]).to.match(/^NAMESPACE +NAME +READY/);
    expect(all.stdout).to.match(/\nteam-b +other /);
    expect(labels.stdout).to.match(/web-2 .* app=web,tier=front\n/);
    expect(labels.stdout).not.to.include('db-1');
  });

  it('-l, --field-selector, TYPE/NAME, several types and `all`', async () => {
    const [sel, field, slash, multi, all] = await Promise.all([
      run('get', 'pods', '-l', 'app=web,tier!=front', '-o', 'name'),
      run('get', 'pods', '--field-selector', 'spec.nodeName=node-a', '-o', 'name'),
      run('get', 'pod/web-1', 'po/db-1', '-o', 'name'),
      run('get', 'pods,nodes'),
      run('get', 'all'),
    ]);
    expect(sel.stdout).to.equal('pod/web-1\n');
    expect(field.stdout).to.equal('pod/web-1\n');
    expect(slash.stdout).to.equal('pod/web-1\npod/db-1\n');
    const blocks = multi.stdout.split('\n\n');
    expect(blocks).to.have.length(2);
    expect(blocks[0]).to.match(/^NAME +READY/);
    expect(blocks[0]).to.include('pod/web-1');
    expect(blocks[1]).to.match(/^NAME +STATUS +ROLES/);
    expect(blocks[1]).to.match(/node\/node-a +Ready /);
    expect(all.stdout).to.include('pod/db-1');
  });

  it('-o json and -o yaml: one object bare, several as a List', async () => {
    const [one, many, yaml] = await Promise.all([run('get', 'pod', 'web-1', '-o', 'json'), run('get', 'pods', '-o', 'json'), run('get', 'node', 'node-a', '-o', 'yaml')]);
    const obj = JSON.parse(one.stdout) as { kind: string; metadata: { name: string }; spec: { nodeName: string } };
    expect(obj.kind).to.equal('Pod');
    expect(obj.spec.nodeName).to.equal('node-a');
    expect(one.stdout).to.match(/^\{\n {4}"apiVersion"/); // kubectl's four-space indent
    const list = JSON.parse(many.stdout) as { kind: string; items: { kind: string; metadata: { name: string } }[] };
    expect(list.kind).to.equal('List');
    expect(list.items.map((i) => i.metadata.name)).to.deep.equal(['db-1', 'web-1', 'web-2']);
    expect(list.items[0]!.kind).to.equal('Pod');
    const node = YAML.parse(yaml.stdout) as { kind: string; metadata: { labels: Record<string, string> } };
    expect(node.kind).to.equal('Node');
    expect(node.metadata.labels.zone).to.equal('east');
  });

  it('-o jsonpath: fields, [*], range/end, string literals, filters', async () => {
    const [names, ranged, filter, single] = await Promise.all([
      run('get', 'pods', '-o', 'jsonpath={.items[*].metadata.name}'),
      run('get', 'pods', '-o', 'jsonpath={range .items[*]}{.metadata.name}{"\\t"}{.spec.nodeName}{"\\n"}{end}'),
      run('get', 'pods', '-o', `jsonpath={.items[?(@.metadata.labels.app=="db")].metadata.name}`),
      run('get', 'pod', 'web-1', '-o=jsonpath={.spec.containers[0].resources.requests.cpu}'),
    ]);
    expect(names.stdout).to.equal('db-1 web-1 web-2');
    expect(ranged.stdout).to.equal('db-1\t\nweb-1\tnode-a\nweb-2\t\n');
    expect(filter.stdout).to.equal('db-1');
    expect(single.stdout).to.equal('100m');
  });

  it('errors are one line on stderr with exit 1: unknown type, missing object, bad output format', async () => {
    const [type, missing, partly, format, ignored, logs] = await Promise.all([
      run('get', 'widgets'),
      run('get', 'pod', 'nope'),
      run('get', 'pods', 'web-1', 'nope'),
      run('get', 'pods', '-o', 'xml'),
      run('get', 'pod', 'nope', '--ignore-not-found'),
      run('logs', 'nope'),
    ]);
    expect(type.code).to.equal(1);
    expect(type.stderr).to.equal('error: the server doesn\'t have a resource type "widgets"\n');
    expect(type.stdout).to.equal('');
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.equal('error: pods "nope" not found\n');
    // Found objects still print; the missing one is reported.
    expect(partly.code).to.equal(1);
    expect(partly.stdout).to.include('web-1');
    expect(partly.stderr).to.equal('error: pods "nope" not found\n');
    expect(format.code).to.equal(1);
    expect(format.stderr).to.match(/^error: unable to match a printer suitable for the output format "xml"/);
    expect(ignored.code).to.equal(0);
    expect(ignored.stderr).to.equal('');
    expect(logs.code).to.equal(1);
    expect(logs.stderr).to.equal('error: pods "nope" not found\n');
    for (const r of [type, missing, partly, format, logs]) expect(r.stderr).not.to.match(/\n {4}at /);
  });

  it('says so when nothing matches, on stderr, exit 0', async () => {
    const r = await run('get', 'pods', '-l', 'app=nothing');
    expect(r.code).to.equal(0);
    expect(r.stdout).to.equal('');
    expect(r.stderr).to.equal('No resources found in default namespace.\n');
  });

  it('an unreachable server is one clear line', async () => {
    const port = await freePort();
    const r = await cellctl([`--server=http://127.0.0.1:${port}`, 'get', 'pods'], { env });
    expect(r.code).to.equal(1);
    expect(r.stdout).to.equal('');
    expect(r.stderr).to.equal(`error: cannot reach the API server at http://127.0.0.1:${port}: connection refused\n`);
  });

  it('get -w prints the rows, then a row for each change as it happens', async () => {
    const w = cellctlRunning([`--server=${api.url}`, 'get', 'pods', '-l', 'app=web', '-w'], env);
    try {
      await waitFor(() => w.stdout().includes('web-2'), 'the initial rows');
      expect(w.stdout().split('\n')[0]).to.match(/^NAME +READY +STATUS/);
      await client.create({ resource: 'pods', namespace: 'default' }, podManifest('web-3', { labels: { app: 'web' } }));
      await waitFor(() => /\nweb-3 +0\/1 +Pending/.test(w.stdout()), 'the new pod as a row');
      await client.delete({ resource: 'pods', namespace: 'default', name: 'web-3' });
      await waitFor(() => w.stdout().split('\n').filter((l) => l.startsWith('web-3')).length >= 2, 'the deletion as a row');
    } finally {
      expect(await w.interrupt()).to.equal(0);
    }
    expect(w.stderr()).to.equal('');
    // Rows printed later line up with the first ones.
    const lines = w.stdout().trimEnd().split('\n');
    const readyAt = lines[0]!.indexOf('READY');
    for (const l of lines.slice(1)) expect(l.slice(readyAt, readyAt + 3)).to.equal('0/1');
  });

  it('describe shows the sections and the object\'s events at the bottom', async () => {
    const [pod, node, missing] = await Promise.all([run('describe', 'pod', 'web-1'), run('describe', 'node/node-a'), run('describe', 'pod', 'nope')]);
    expect(pod.code, pod.stderr).to.equal(0);
    expect(pod.stdout).to.match(/^Name: +web-1\nNamespace: +default\n/);
    expect(pod.stdout).to.match(/\nPriority: +0\nService Account: +default\nScheduler: +default-scheduler\nNode: +node-a\n/);
    expect(pod.stdout).to.match(/\nLabels: +app=web\n/);
    expect(pod.stdout).to.match(/\nContainers:\n {2}main:\n {4}Image: +busybox\n/);
    expect(pod.stdout).to.match(/\n {6}cpu: +100m\n/);
    const events = pod.stdout.slice(pod.stdout.indexOf('\nEvents:'));
    expect(events).to.match(/Events:\n {2}Type +Reason +Age +From +Message\n {2}-{4} +-{6} +-{3} +-{4} +-{7}\n {2}Normal +Scheduled +\d+s +default-scheduler +Successfully assigned default\/web-1 to node-a\n$/);
    expect(node.stdout).to.match(/\nNon-terminated Pods: +\(1 in total\)\n/);
    expect(node.stdout).to.match(/\n {2}default +web-1 +100m \(2%\) +64Mi \(0%\)\n/);
    expect(node.stdout).to.match(/\n {2}cpu +100m \(2%\)\n/);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.equal('error: pods "nope" not found\n');
  });

  it('describe shows a pod\'s ephemeral containers (kubectl debug) in a section of their own, with their target', async () => {
    await client.create({ resource: 'pods', namespace: 'default' }, podManifest('debugged'));
    await client.patch({ resource: 'pods', namespace: 'default', name: 'debugged', subresource: 'ephemeralcontainers' }, { spec: { ephemeralContainers: [{ name: 'dbg', image: 'busybox', command: ['sh'], targetContainerName: 'main' }] } }, 'strategic');
    const r = await run('describe', 'pod', 'debugged');
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/\nEphemeral Containers:\n {2}dbg:\n {4}Target Container: +main\n {4}Image: +busybox\n(.*\n)* {4}Command:\n {6}sh\n {4}State: +Waiting\n/);
    // After the app containers, before the conditions.
    expect(r.stdout.indexOf('\nContainers:')).to.be.below(r.stdout.indexOf('\nEphemeral Containers:'));
    await client.delete({ resource: 'pods', namespace: 'default', name: 'debugged' });
  });

  it('gets ConfigMaps and Secrets with their key counts; describe shows a Secret\'s sizes, never its values', async () => {
    await client.create({ resource: 'secrets', namespace: 'default' }, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db' }, stringData: { password: 'hunter22', user: 'app' } });
    await client.create({ resource: 'configmaps', namespace: 'default' }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app' }, data: { mode: 'fast' } });
    const [secrets, cms, secret, cm] = await Promise.all([run('get', 'secrets'), run('get', 'cm'), run('describe', 'secret', 'db'), run('describe', 'configmap', 'app')]);
    expect(secrets.stdout).to.match(/^NAME +TYPE +DATA +AGE\ndb +Opaque +2 +\d+s\n$/);
    expect(cms.stdout).to.match(/^NAME +DATA +AGE\napp +1 +\d+s\n$/);
    expect(secret.code, secret.stderr).to.equal(0);
    expect(secret.stdout).to.match(/\nType: +Opaque\n\nData\n====\npassword: +8 bytes\nuser: +3 bytes\n/);
    expect(secret.stdout).to.not.include('hunter22');
    expect(secret.stdout).to.not.include(Buffer.from('hunter22').toString('base64'));
    expect(cm.stdout).to.match(/\nData\n====\nmode:\n----\nfast\n/);
  });

  it('events lists the namespace\'s events; --for narrows to one object', async () => {
    const [all, forPod, forOther] = await Promise.all([run('events'), run('events', '--for', 'pod/web-1'), run('events', '--for', 'pod/db-1')]);
    expect(all.stdout).to.match(/^LAST SEEN +TYPE +REASON +OBJECT +MESSAGE\n\d+s +Normal +Scheduled +pod\/web-1 +Successfully assigned/);
    expect(forPod.stdout).to.include('Scheduled');
    expect(forOther.stdout).to.equal('');
    expect(forOther.stderr).to.equal('No events found in default namespace.\n');
  });

  it('events -w prints new events as they are recorded', async () => {
    const w = cellctlRunning([`--server=${api.url}`, 'events', '-w', '--for', 'pod/db-1'], env);
    try {
      await waitFor(() => w.stderr().includes('No events found'), 'the (empty) initial list');
      await client.create(
        { resource: 'events', namespace: 'default' },
        {
          apiVersion: 'v1',
          kind: 'Event',
          metadata: { name: 'db-1.failed', namespace: 'default' },
          involvedObject: { kind: 'Pod', name: 'db-1', namespace: 'default' },
          reason: 'FailedScheduling',
          message: '0/1 nodes are available: 1 Insufficient cpu.',
          type: 'Warning',
          count: 1,
          lastTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        },
      );
      await waitFor(() => w.stdout().includes('FailedScheduling'), 'the new event');
    } finally {
      expect(await w.interrupt()).to.equal(0);
    }
    expect(w.stdout()).to.match(/^LAST SEEN +TYPE +REASON +OBJECT +MESSAGE\n\d+s +Warning +FailedScheduling +pod\/db-1 +0\/1 nodes are available: 1 Insufficient cpu\.\n$/);
  });

  it('version prints the client and the server version', async () => {
    const [both, clientOnly] = await Promise.all([run('version'), cellctl(['version', '--client'], { env })]);
    expect(both.stdout).to.match(/^Client Version: v\d+\.\d+\.\d+\nServer Version: v1\.\d+\.\d+/);
    expect(clientOnly.code).to.equal(0);
    expect(clientOnly.stdout).to.match(/^Client Version: v\d+\.\d+\.\d+\n$/);
  });
});
