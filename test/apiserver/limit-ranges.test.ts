// LimitRanges (v1), real etcd and HTTP: a namespace's range fills in the limits and requests its
// pods leave out (and says so in an annotation), refuses pods out of its bounds — per container
// and per pod, with Kubernetes' messages, storing nothing — and the filled-in requests are what
// quota admission charges. A range fills in its own gaps when stored, and an inconsistent one is
// a 422 naming the field. Other namespaces are untouched.
import { expect } from 'chai';
import { startTestApiServer, TEST_TOKENS, type TestApiServer } from '../harness/apiserver.js';
import { causeFields, expectStatus, namespaceBody, sendAs, type RawResponse } from './helpers.js';
import { startTestControllerManager } from '../controllers/helpers.js';
import { waitFor } from '../clients/helpers.js';

interface ContainerView {
  name: string;
  resources: { requests?: Record<string, string>; limits?: Record<string, string> };
}
interface PodView {
  metadata: { name: string; annotations?: Record<string, string> };
  spec: { containers: ContainerView[] };
}

function pod(name: string, containers: { name?: string; requests?: Record<string, string>; limits?: Record<string, string> }[] = [{}]): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: {
      containers: containers.map((c, i) => ({
        name: c.name ?? `c${i}`,
        image: 'busybox',
        resources: { ...(c.requests ? { requests: c.requests } : {}), ...(c.limits ? { limits: c.limits } : {}) },
      })),
    },
  };
}

function limitRange(name: string, limits: Record<string, unknown>[]): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'LimitRange', metadata: { name }, spec: { limits } };
}

describe('LimitRanges', function () {
  this.timeout(30_000);
  let api: TestApiServer;
  const admin = (method: string, path: string, body?: unknown): Promise<RawResponse> => sendAs(api.url, TEST_TOKENS.admin, { method, path, ...(body !== undefined ? { body } : {}) });
  const ns = (name: string) => `/api/v1/namespaces/${name}`;

  before(async () => {
    api = await startTestApiServer({ backend: 'etcd', auth: true });
    for (const name of ['limited', 'pods-capped', 'free']) expect((await admin('POST', '/api/v1/namespaces', namespaceBody(name))).status).to.equal(201);
    const made = await admin(
      'POST',
      `${ns('limited')}/limitranges`,
      limitRange('container-bounds', [{ type: 'Container', max: { cpu: '2' }, min: { memory: '64Mi' }, default: { cpu: '500m', memory: '256Mi' }, defaultRequest: { cpu: '100m' }, maxLimitRequestRatio: { cpu: '10' } }]),
    );
    expect(made.status, made.text).to.equal(201);
  });
  after(async () => {
    await api?.close();
  });

  it('fills in what a container leaves out, says so, and stores its own defaults', async () => {
    const res = await admin('POST', `${ns('limited')}/pods`, pod('bare', [{ name: 'main' }, { name: 'side', requests: { cpu: '200m' }, limits: { cpu: '1' } }]));
    expect(res.status, res.text).to.equal(201);
    const p = res.body as PodView;
    expect(p.spec.containers[0]!.resources).to.deep.equal({ requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '500m', memory: '256Mi' } });
    expect(p.spec.containers[1]!.resources).to.deep.equal({ requests: { cpu: '200m', memory: '256Mi' }, limits: { cpu: '1', memory: '256Mi' } });
    expect(p.metadata.annotations?.['kubernetes.io/limit-ranger']).to.equal(
      'LimitRanger plugin set: cpu, memory request for main; cpu, memory limit for main; memory request for side; memory limit for side',
    );
    // Another namespace has no range: nothing filled in.
    const free = await admin('POST', `${ns('free')}/pods`, pod('bare'));
    expect((free.body as PodView).spec.containers[0]!.resources).to.deep.equal({});
    // A range with only a max gets it as its default limit and default request.
    const onlyMax = await admin('POST', `${ns('free')}/limitranges`, limitRange('max-only', [{ type: 'Container', max: { memory: '1Gi' } }]));
    expect((onlyMax.body as { spec: { limits: Record<string, unknown>[] } }).spec.limits[0]).to.deep.equal({ type: 'Container', max: { memory: '1Gi' }, default: { memory: '1Gi' }, defaultRequest: { memory: '1Gi' } });
  });

  it('refuses a pod out of bounds with every violation named, and stores nothing', async () => {
    const over = await admin('POST', `${ns('limited')}/pods`, pod('over', [{ limits: { cpu: '4' }, requests: { cpu: '1' } }]));
    expect(expectStatus(over, 403, 'Forbidden').message).to.equal('pods "over" is forbidden: maximum cpu usage per Container is 2, but limit is 4');
    const both = await admin('POST', `${ns('limited')}/pods`, pod('both', [{ requests: { cpu: '100m', memory: '32Mi' }, limits: { cpu: '2', memory: '32Mi' } }]));
    expect(expectStatus(both, 403, 'Forbidden').message).to.equal(
      'pods "both" is forbidden: [minimum memory usage per Container is 64Mi, but request is 32Mi, cpu max limit to request ratio per Container is 10, but provided ratio is 20.000000]',
    );
    for (const name of ['over', 'both']) expect((await admin('GET', `${ns('limited')}/pods/${name}`)).status, name).to.equal(404);
  });

  it('bounds a pod as a whole (type Pod): the sum of its containers', async () => {
    expect((await admin('POST', `${ns('pods-capped')}/limitranges`, limitRange('per-pod', [{ type: 'Pod', max: { cpu: '1' } }]))).status).to.equal(201);
    const two = [{ limits: { cpu: '600m' } }, { limits: { cpu: '600m' } }];
    expect(expectStatus(await admin('POST', `${ns('pods-capped')}/pods`, pod('wide', two)), 403, 'Forbidden').message).to.equal(
      'pods "wide" is forbidden: maximum cpu usage per Pod is 1, but limit is 1200m',
    );
    expect(expectStatus(await admin('POST', `${ns('pods-capped')}/pods`, pod('unbounded', [{ limits: { cpu: '500m' } }, {}])), 403, 'Forbidden').message).to.equal(
      'pods "unbounded" is forbidden: maximum cpu usage per Pod is 1.  No limit is specified',
    );
    expect((await admin('POST', `${ns('pods-capped')}/pods`, pod('narrow', [{ limits: { cpu: '500m' } }, { limits: { cpu: '500m' } }]))).status).to.equal(201);
  });

  it('charges quotas the filled-in requests', async () => {
    const quotas = startTestControllerManager(api.url, { token: TEST_TOKENS.admin, enabled: ['resourcequota'] });
    try {
      const quota = await admin('POST', `${ns('limited')}/resourcequotas`, { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'cpu' }, spec: { hard: { 'requests.cpu': '550m' } } });
      expect(quota.status, quota.text).to.equal(201);
      // The controller counts what is there: the pod made before, 300m filled in and asked.
      await waitFor(async () => {
        const q = (await admin('GET', `${ns('limited')}/resourcequotas/cpu`)).body as { status?: { used?: Record<string, string> } };
        return q.status?.used?.['requests.cpu'] === '300m' ? true : undefined;
      }, 'the quota counted');
      // Two bare pods take 100m each as filled in; a third would make 600m.
      for (const name of ['q1', 'q2']) expect((await admin('POST', `${ns('limited')}/pods`, pod(name))).status, name).to.equal(201);
      const refused = await admin('POST', `${ns('limited')}/pods`, pod('q3'));
      expect(expectStatus(refused, 403, 'Forbidden').message).to.match(/exceeded quota: cpu, requested: requests\.cpu=100m, used: requests\.cpu=500m, limited: requests\.cpu=550m/);
    } finally {
      await quotas.stop();
    }
  });

  it('refuses an inconsistent range with the field that is wrong', async () => {
    const bad = async (item: Record<string, unknown>) => causeFields(expectStatus(await admin('POST', `${ns('free')}/limitranges`, limitRange('bad', [item])), 422, 'Invalid'));
    expect(await bad({ type: 'Container', min: { cpu: '2' }, max: { cpu: '1' } })).to.include('spec.limits[0].min.cpu');
    expect(await bad({ type: 'Container', default: { cpu: '1' }, defaultRequest: { cpu: '2' } })).to.deep.equal(['spec.limits[0].defaultRequest.cpu']);
    expect(await bad({ type: 'Pod', default: { cpu: '1' } })).to.deep.equal(['spec.limits[0].default']);
    expect(await bad({ type: 'Container', maxLimitRequestRatio: { cpu: '500m' } })).to.deep.equal(['spec.limits[0].maxLimitRequestRatio.cpu']);
    expect(await bad({ type: 'Container', max: { 'not a resource': '1' } })).to.include('spec.limits[0].max[not a resource]');
    expect(await bad({ type: 'Node' })).to.deep.equal(['spec.limits[0].type']);
    expect((await admin('GET', `${ns('free')}/limitranges/bad`)).status).to.equal(404);
  });
});
