// `cellctl expose` as a process against a real API server on etcd: the Service it sends is the one
// real kubectl expose sends for the same command line (compared with kubectl's own
// `--dry-run=client -o json`), for a Deployment, a pod with several ports, a Service and the flags;
// the created Service gets its cluster IP (and node port); bad input is refused before anything is
// sent.
import { expect } from 'chai';
import type { Service } from '../../shared/api/service.js';
import type { ApiClient } from '../../shared/client/http-client.js';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { cellctl, isolatedEnv, runProcess, tempDir } from './helpers.js';

const NS = 'default';
const SERVICES = { version: 'v1', resource: 'services', namespace: NS };

describe('cellctl expose', function () {
  this.timeout(60_000);
  let api: TestApiServer;
  let client: ApiClient;
  let env: NodeJS.ProcessEnv;
  const run = (args: string[]) => cellctl([`--server=${api.url}`, ...args], { env });
  const generated = async (cmd: 'cellctl' | 'kubectl', args: string[]): Promise<Service> => {
    const all = [`--server=${api.url}`, 'expose', ...args, '--dry-run=client', '-o', 'json'];
    const r = cmd === 'kubectl' ? await runProcess('kubectl', all, { env }) : await cellctl(all, { env });
    expect(r.code, `${cmd} ${args.join(' ')}: ${r.stderr}`).to.equal(0);
    return JSON.parse(r.stdout) as Service;
  };
  /** What both send, without what kubectl sets that carries nothing (empty status, null timestamps). */
  const comparable = (s: Service) => ({ name: s.metadata.name, labels: s.metadata.labels, spec: s.spec });
  const same = async (args: string[]) => {
    const mine = await generated('cellctl', args);
    const theirs = await generated('kubectl', args);
    expect(comparable(mine), args.join(' ')).to.deep.equal(comparable(theirs));
    return mine;
  };

  before(async () => {
    api = await startTestApiServer({ backend: 'etcd' });
    client = api.client();
    env = isolatedEnv(tempDir());
    await client.create({ group: 'apps', version: 'v1', resource: 'deployments', namespace: NS }, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', labels: { app: 'web', tier: 'front' } },
      spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'busybox', ports: [{ containerPort: 8080 }] }] } } },
    });
    await client.create({ version: 'v1', resource: 'pods', namespace: NS }, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'multi', labels: { app: 'multi' } },
      spec: { containers: [{ name: 'app', image: 'busybox', ports: [{ containerPort: 8080 }, { containerPort: 9090, protocol: 'UDP' }] }] },
    });
  });
  after(async () => {
    client?.close();
    await api?.close();
  });

  it('sends what kubectl expose sends', async () => {
    const fromPorts = await same(['deployment', 'web']);
    expect(fromPorts.spec.selector).to.deep.equal({ app: 'web' });
    expect(fromPorts.spec.ports).to.deep.equal([{ protocol: 'TCP', port: 8080, targetPort: 8080 }]);
    await same(['deployment/web', '--port=80', '--target-port=8080', '--type=NodePort', '--name=web-np']);
    await same(['deployment', 'web', '--port=80', '--target-port=http', '--protocol=UDP']);
    const multi = await same(['pod', 'multi']);
    expect(multi.spec.ports!.map((p) => p.name)).to.deep.equal(['port-1', 'port-2']);
    await same(['pod/multi', '--port=8080', '--selector=app=multi,track=stable', '--cluster-ip=None']);
  });

  it('creates the Service, which gets its IP and node port, and exposes a Service again', async () => {
    const r = await run(['expose', 'deployment/web', '--port=80', '--target-port=8080', '--type=NodePort']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.equal('service/web exposed\n');
    const svc = await client.get<Service>({ ...SERVICES, name: 'web' });
    expect(svc.spec.clusterIP).to.match(/^10\.(9[6-9]|1[01][0-9])\./);
    expect(svc.spec.ports![0]!.nodePort).to.be.within(30000, 32767);
    expect(svc.metadata.labels).to.deep.equal({ app: 'web', tier: 'front' });
    await same(['service', 'web', '--name=web-copy', '--type=ClusterIP']);
    const again = await run(['expose', 'svc/web', '--name=web-copy']);
    expect(again.code, again.stderr).to.equal(0);
    const copy = await client.get<Service>({ ...SERVICES, name: 'web-copy' });
    expect(copy.spec.selector).to.deep.equal({ app: 'web' });
    expect(copy.spec.ports!.map((p) => [p.port, p.targetPort])).to.deep.equal([[80, 80]]);
    expect(copy.spec.clusterIP).to.not.equal(svc.spec.clusterIP);
  });

  it('refuses what it cannot expose before sending anything', async () => {
    const cases: [string[], RegExp][] = [
      [['job', 'x'], /cannot expose a job/],
      [['deployment', 'web', '--port=0'], /invalid --port "0"/],
      [['deployment', 'web', '--type=Magic'], /--type must be ClusterIP, NodePort or LoadBalancer/],
      [['deployment', 'web', '--protocol=ICMP'], /--protocol must be TCP, UDP or SCTP/],
      [['deployment', 'missing'], /not found/],
    ];
    for (const [args, message] of cases) {
      const r = await run(['expose', ...args]);
      expect(r.code, args.join(' ')).to.not.equal(0);
      expect(r.stderr).to.match(message);
    }
    const list = await client.list<{ items: Service[] }>(SERVICES);
    // Nothing sent: only what the earlier tests made, beside the API server's own Service.
    expect(list.items.map((s) => s.metadata.name).sort()).to.deep.equal(['kubernetes', 'web', 'web-copy']);
  });

  it('create service: each generator sends what kubectl create service sends, and the Service is made', async () => {
    const both = async (args: string[]) => {
      const all = (cmd: string[]) => [`--server=${api.url}`, 'create', 'service', ...cmd, '--dry-run=client', '-o', 'json'];
      const mine = await cellctl(all(args), { env });
      const theirs = await runProcess('kubectl', all(args), { env });
      expect(mine.code, mine.stderr).to.equal(0);
      expect(theirs.code, theirs.stderr).to.equal(0);
      expect(comparable(JSON.parse(mine.stdout) as Service), args.join(' ')).to.deep.equal(comparable(JSON.parse(theirs.stdout) as Service));
    };
    await both(['clusterip', 'cs', '--tcp=5678:8080', '--tcp=80']);
    await both(['clusterip', 'headless', '--clusterip=None']);
    await both(['nodeport', 'np', '--tcp=80:http', '--node-port=30080']);
    await both(['loadbalancer', 'lb', '--tcp=443:8443']);
    await both(['externalname', 'ex', '--external-name=db.example.com']);
    const r = await run(['create', 'service', 'nodeport', 'made', '--tcp=80:8080']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.equal('service/made created\n');
    const made = await client.get<Service>({ ...SERVICES, name: 'made' });
    expect(made.spec.ports![0]).to.deep.include({ name: '80-8080', port: 80, targetPort: 8080 });
    expect(made.spec.ports![0]!.nodePort).to.be.within(30000, 32767);
    const bad = await run(['create', 'service', 'clusterip', 'noports']);
    expect(bad.code).to.not.equal(0);
    expect(bad.stderr).to.contain('at least one --tcp');
    await client.delete({ ...SERVICES, name: 'made' });
  });
});
