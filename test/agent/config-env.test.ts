// A container's environment from ConfigMaps, Secrets, its pod's fields and its own resources, with
// a real cell-agent process (node token: it reads only what its pods use) against a real API
// server over real etcd. A container whose ConfigMap or key is missing waits as
// CreateContainerConfigError — Pending, no restart counted — and starts once it appears.
import { expect } from 'chai';
import path from 'node:path';
import type { Pod } from '../../shared/api/core.js';
import type { ApiClient } from '../../shared/client/http-client.js';
import { startTestApiServer, TEST_TOKENS, type TestApiServer } from '../harness/apiserver.js';
import { writeKubeconfig } from '../clients/helpers.js';
import { containerStatus, createPod, nodeOneAgentArgs, podLog, startAgent, tearDownAgentTest, tempRoot, waitFor, waitNodeReady, waitPod, type AgentProcess } from './helpers.js';

function envPod(name: string, container: Record<string, unknown>): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { app: 'web' }, annotations: { 'team.example.com/owner': 'ops' } },
    spec: {
      nodeName: 'node-1',
      restartPolicy: 'Never',
      containers: [{ name: 'main', image: 'busybox', command: ['env'], ...container }],
    },
  } as unknown as Pod;
}

/** The `NAME=value` lines a pod printed, as a map. */
async function printedEnv(api: TestApiServer, name: string): Promise<Record<string, string>> {
  const log = await podLog(api.url, TEST_TOKENS.admin, name);
  expect(log.status, log.text).to.equal(200);
  return Object.fromEntries(log.text.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

describe('cell-agent: env from ConfigMaps, Secrets and the pod', function () {
  this.timeout(60_000);
  let api: TestApiServer;
  let agent: AgentProcess;
  let root: string;
  const admin = (): ApiClient => api.client(TEST_TOKENS.admin);
  const create = (resource: 'configmaps' | 'secrets', body: Record<string, unknown>) => admin().create({ namespace: 'default', resource }, { apiVersion: 'v1', ...body });

  before(async function () {
    this.timeout(60_000);
    api = await startTestApiServer({ backend: 'etcd', auth: true });
    root = tempRoot('cell-agent-config-');
    const kubeconfig = writeKubeconfig(path.join(root, 'node-1.kubeconfig'), api.url, { token: TEST_TOKENS.node1 });
    agent = startAgent(nodeOneAgentArgs(root, [`--kubeconfig=${kubeconfig}`]));
    await waitNodeReady(admin(), agent);
  });

  after(async function () {
    this.timeout(60_000);
    await tearDownAgentTest({ admin: admin(), agent, root, close: async () => api?.close() });
  });

  it('sets variables from every source, envFrom first and env over it, in order', async () => {
    await create('configmaps', { kind: 'ConfigMap', metadata: { name: 'app-config' }, data: { greeting: 'hello', log_level: 'debug', PASSWORD: 'from-configmap' } });
    await create('secrets', { kind: 'Secret', metadata: { name: 'app-secret' }, stringData: { PASSWORD: 's3cret', API_KEY_FILE_NAME: 'k-123' } });
    await createPod(admin(), envPod('env-all', {
      resources: { requests: { cpu: '250m', memory: '64Mi' }, limits: { memory: '128Mi' } },
      envFrom: [{ prefix: 'CFG_', configMapRef: { name: 'app-config' } }, { configMapRef: { name: 'app-config' } }, { secretRef: { name: 'app-secret' } }, { configMapRef: { name: 'not-there', optional: true } }],
      env: [
        { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'POD_NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
        { name: 'POD_UID', valueFrom: { fieldRef: { fieldPath: 'metadata.uid' } } },
        { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
        { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
        { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
        { name: 'OWNER', valueFrom: { fieldRef: { fieldPath: "metadata.annotations['team.example.com/owner']" } } },
        { name: 'CPU_REQ_MILLI', valueFrom: { resourceFieldRef: { resource: 'requests.cpu', divisor: '1m' } } },
        { name: 'CPU_REQ', valueFrom: { resourceFieldRef: { resource: 'requests.cpu' } } },
        { name: 'CPU_LIMIT', valueFrom: { resourceFieldRef: { resource: 'limits.cpu' } } },
        { name: 'MEM_LIMIT_MI', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
        { name: 'GREETING', valueFrom: { configMapKeyRef: { name: 'app-config', key: 'greeting' } } },
        { name: 'API_KEY', valueFrom: { secretKeyRef: { name: 'app-secret', key: 'API_KEY_FILE_NAME' } } },
        { name: 'NOT_SET', valueFrom: { secretKeyRef: { name: 'app-secret', key: 'absent', optional: true } } },
        { name: 'MESSAGE', value: '$(GREETING), $(POD_NAME)' },
        { name: 'PASSWORD', value: 'explicit' },
      ],
    }));
    const p = await waitPod(admin(), 'env-all', (x) => x.status.phase === 'Succeeded', 'to succeed');
    const env = await printedEnv(api, 'env-all');
    expect(env).to.include({
      POD_NAME: 'env-all',
      POD_NS: 'default',
      POD_UID: p.metadata.uid,
      NODE: 'node-1',
      POD_IP: '127.0.0.1',
      APP: 'web',
      OWNER: 'ops',
      CPU_REQ_MILLI: '250',
      // Rounded up to whole cores, as Kubernetes does; an unset limit is the node's allocatable.
      CPU_REQ: '1',
      CPU_LIMIT: '4',
      MEM_LIMIT_MI: '128',
      GREETING: 'hello',
      API_KEY: 'k-123',
      MESSAGE: 'hello, env-all',
      CFG_greeting: 'hello',
      CFG_log_level: 'debug',
      greeting: 'hello',
      // env wins over envFrom; among envFrom sources the later one wins.
      PASSWORD: 'explicit',
      API_KEY_FILE_NAME: 'k-123',
    });
    expect(env).to.not.have.property('NOT_SET');
  });

  it('keeps a container waiting as CreateContainerConfigError until its ConfigMap exists, then starts it', async () => {
    await createPod(admin(), envPod('waits', { command: ['sh', '-c', 'echo "V=$V"'], env: [{ name: 'V', valueFrom: { configMapKeyRef: { name: 'later', key: 'v' } } }] }));
    const waiting = await waitPod(admin(), 'waits', (x) => containerStatus(x)?.state?.waiting?.reason === 'CreateContainerConfigError', 'to wait for its ConfigMap');
    expect(containerStatus(waiting)?.state?.waiting?.message).to.equal('configmap "later" not found');
    expect(waiting.status.phase).to.equal('Pending');
    expect(containerStatus(waiting)?.restartCount).to.equal(0);
    const events = await waitFor(async () => {
      const list = await admin().list<{ items: { reason?: string; message?: string; involvedObject: { name?: string } }[] }>({ namespace: 'default', resource: 'events' });
      return list.items.find((e) => e.involvedObject.name === 'waits' && e.reason === 'Failed');
    }, 'a Failed event', 10_000, 100);
    expect(events.message).to.equal('Error: configmap "later" not found');

    // A ConfigMap without the key: still waiting, now for the key.
    await create('configmaps', { kind: 'ConfigMap', metadata: { name: 'later' }, data: { other: 'x' } });
    const noKey = await waitPod(admin(), 'waits', (x) => containerStatus(x)?.state?.waiting?.message?.startsWith("couldn't find key") === true, 'to wait for the key');
    expect(containerStatus(noKey)?.state?.waiting?.message).to.equal("couldn't find key v in ConfigMap default/later");

    await admin().patch({ namespace: 'default', resource: 'configmaps', name: 'later' }, { data: { v: 'arrived' } }, 'merge');
    await waitPod(admin(), 'waits', (x) => x.status.phase === 'Succeeded', 'to run once the key exists');
    expect((await podLog(api.url, TEST_TOKENS.admin, 'waits')).text).to.equal('V=arrived\n');
  });

  it('reports a missing Secret of envFrom the same way', async () => {
    await createPod(admin(), envPod('needs-secret', { envFrom: [{ secretRef: { name: 'nowhere' } }] }));
    const p = await waitPod(admin(), 'needs-secret', (x) => containerStatus(x)?.state?.waiting?.reason === 'CreateContainerConfigError', 'to wait for its Secret');
    expect(containerStatus(p)?.state?.waiting?.message).to.equal('secret "nowhere" not found');
  });
});
