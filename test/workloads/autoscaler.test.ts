// HorizontalPodAutoscalers end to end: one real agent running pods as host processes and sampling
// their CPU and memory from /proc every second, the metrics API the API server builds from those
// samples, a real scheduler process, and the autoscaler, Deployment, ReplicaSet and garbage
// collector controllers in-process. `kubectl autoscale` writes autoscaling/v1; the object is stored
// as autoscaling/v2 and read in both. Pods that use CPU make it scale up, pods that sleep make it
// scale back down; a behavior's rate limit spaces the steps; what cannot be measured or scaled is
// reported in conditions and events, never acted on.
import { expect } from 'chai';
import type { Deployment } from '../../shared/api/apps.js';
import type { HorizontalPodAutoscaler, HorizontalPodAutoscalerV1 } from '../../shared/api/autoscaling.js';
import type { Event } from '../../shared/api/core.js';
import type { ApiClient } from '../../shared/client/http-client.js';
import { InvalidError, NotFoundError } from '../../shared/errors.js';
import { deploymentControllerDefinition } from '../../controllers/deployment/controller.js';
import { garbageCollectorDefinition } from '../../controllers/garbage-collector/controller.js';
import { HORIZONTAL_POD_AUTOSCALERS, horizontalPodAutoscalerControllerDefinition } from '../../controllers/podautoscaler/controller.js';
import { replicaSetControllerDefinition } from '../../controllers/replicaset/controller.js';
import { statefulSetControllerDefinition } from '../../controllers/statefulset/controller.js';
import { cellctl, isolatedEnv, tempDir } from '../cli/helpers.js';
import { expectOk, sleep, waitFor } from '../clients/helpers.js';
import { startControllers } from '../controllers/helpers.js';
import { createNamespace, workloadSuite } from './cluster.js';
import { CRDS, definitionBody } from '../harness/custom-resources.js';

const HPA_V1 = { group: 'autoscaling', version: 'v1', resource: 'horizontalpodautoscalers' } as const;
const DEPLOYMENTS = { group: 'apps', version: 'v1', resource: 'deployments' } as const;

const startAutoscalerControllers = (client: ApiClient) =>
  startControllers(
    client,
    [horizontalPodAutoscalerControllerDefinition, deploymentControllerDefinition, replicaSetControllerDefinition, statefulSetControllerDefinition, garbageCollectorDefinition],
    // Measured every second; a scale-down waits for 4 s of lower recommendations (5 minutes in
    // production), enough to ride out one odd sample.
    { hpaSyncPeriodMs: 1000, hpaDownscaleStabilizationMs: 4000 },
    'autoscaler-test',
  );

/** A process that forks a short `sleep` fifty times a second: a few hundredths of a core, never idle for a whole second. */
const TICKING = ['sh', '-c', 'while :; do sleep 0.02; done'];
const IDLE = ['sleep', '3600'];

function deployment(name: string, command: string[]) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [{ name: 'main', image: 'busybox:1', command, resources: { requests: { cpu: '1m', memory: '1Mi' } } }],
        },
      },
    },
  };
}

async function replicasOf(client: ApiClient, ns: string, name: string): Promise<number> {
  return (await client.get<Deployment>({ ...DEPLOYMENTS, namespace: ns, name })).spec.replicas ?? 0;
}

async function waitAutoscaler(client: ApiClient, ns: string, name: string, want: (h: HorizontalPodAutoscaler) => boolean, what: string, timeoutMs = 60_000): Promise<HorizontalPodAutoscaler> {
  let last: HorizontalPodAutoscaler | undefined;
  try {
    return await waitFor(async () => {
      last = await client.get<HorizontalPodAutoscaler>({ ...HORIZONTAL_POD_AUTOSCALERS, namespace: ns, name });
      return want(last) ? last : undefined;
    }, `autoscaler ${ns}/${name}: ${what}`, timeoutMs, 200);
  } catch (err) {
    throw new Error(`${(err as Error).message}\nlast status: ${JSON.stringify(last?.status)}`);
  }
}

const conditionOf = (h: HorizontalPodAutoscaler, type: string) => h.status.conditions?.find((c) => c.type === type);

async function eventsOf(client: ApiClient, ns: string, name: string): Promise<Event[]> {
  const list = await client.list<{ items: Event[] }>({ resource: 'events', namespace: ns });
  return list.items.filter((e) => e.involvedObject.kind === 'HorizontalPodAutoscaler' && e.involvedObject.name === name);
}

/** Every change of a Deployment's replica count, as polled every 50 ms. */
class ReplicaRecorder {
  readonly changes: { at: number; replicas: number }[] = [];
  private running = true;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly client: ApiClient,
    private readonly ns: string,
    private readonly name: string,
  ) {}

  start(): void {
    this.loop = (async () => {
      while (this.running) {
        const replicas = await replicasOf(this.client, this.ns, this.name);
        if (this.changes.at(-1)?.replicas !== replicas) this.changes.push({ at: Date.now(), replicas });
        await sleep(50);
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}

describe('HorizontalPodAutoscalers on a real agent, driven by kubectl', function () {
  this.timeout(240_000);
  const cluster = workloadSuite({ name: 'hpa', realAgent: true, agentArgs: ['--stats-interval=1s'], startControllers: startAutoscalerControllers });

  it('kubectl autoscale (autoscaling/v1) scales a Deployment whose pods use CPU up to max, shows it in get and describe, and back down when they idle', async () => {
    const ns = 'hpa-cpu';
    await createNamespace(cluster.client, ns);
    await cluster.apply(ns, deployment('web', TICKING));
    expectOk(await cluster.kubectl(['-n', ns, 'autoscale', 'deployment', 'web', '--cpu-percent=50', '--min=1', '--max=3']), 'kubectl autoscale');

    // Stored as v2, with the v1 CPU target as its one metric.
    const up = await waitAutoscaler(cluster.client, ns, 'web', (h) => h.status.currentReplicas === 3 && h.status.desiredReplicas === 3, 'scaled to 3');
    expect(up.spec.scaleTargetRef).to.include({ kind: 'Deployment', name: 'web' });
    expect(up.spec.metrics).to.deep.equal([{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } }]);
    const measured = up.status.currentMetrics?.[0]?.resource?.current.averageUtilization ?? 0;
    expect(measured, 'pods forking 50 times a second use well over 50% of a 1m request').to.be.greaterThan(50);
    expect(conditionOf(up, 'ScalingActive')).to.include({ status: 'True', reason: 'ValidMetricFound' });
    expect(up.status.lastScaleTime).to.be.a('string');
    expect(await replicasOf(cluster.client, ns, 'web')).to.equal(3);
    const rescales = (await eventsOf(cluster.client, ns, 'web')).filter((e) => e.reason === 'SuccessfulRescale');
    expect(rescales.map((e) => e.message)).to.include('New size: 3; reason: cpu resource utilization (percentage of request) above target');

    // The v1 form: the CPU target and the measured utilization.
    const v1 = await cluster.client.get<HorizontalPodAutoscalerV1>({ ...HPA_V1, namespace: ns, name: 'web' });
    expect(v1.apiVersion).to.equal('autoscaling/v1');
    expect(v1.spec).to.deep.include({ minReplicas: 1, maxReplicas: 3, targetCPUUtilizationPercentage: 50 });
    expect(v1.status.currentCPUUtilizationPercentage).to.be.a('number');
    expect(v1.metadata.annotations?.['autoscaling.alpha.kubernetes.io/conditions'], 'v2 conditions kept in an annotation').to.be.a('string');

    const table = expectOk(await cluster.kubectl(['-n', ns, 'get', 'hpa']), 'kubectl get hpa').stdout.split('\n');
    expect(table[0]?.split(/\s+/)).to.deep.equal(['NAME', 'REFERENCE', 'TARGETS', 'MINPODS', 'MAXPODS', 'REPLICAS', 'AGE']);
    const row = table[1]?.split(/\s+/) ?? [];
    expect(row.slice(0, 3)).to.deep.equal(['web', 'Deployment/web', 'cpu:']);
    expect(row[3]).to.match(/^\d+%\/50%$/);
    expect(row.slice(4, 7)).to.deep.equal(['1', '3', '3']);
    const described = expectOk(await cluster.kubectl(['-n', ns, 'describe', 'hpa', 'web']), 'kubectl describe hpa').stdout;
    expect(described).to.match(/Reference:\s+Deployment\/web/);
    expect(described).to.match(/Min replicas:\s+1/);
    expect(described).to.match(/Max replicas:\s+3/);
    expect(described).to.match(/ScalingActive\s+True\s+ValidMetricFound/);
    expect(described).to.contain('SuccessfulRescale');

    // Idle pods: utilization 0, so down to minReplicas once the stabilization window has passed.
    await cluster.client.patch({ ...DEPLOYMENTS, namespace: ns, name: 'web' }, { spec: { template: { spec: { containers: [{ name: 'main', command: IDLE }] } } } }, 'strategic');
    const down = await waitAutoscaler(cluster.client, ns, 'web', (h) => h.status.currentReplicas === 1 && h.status.desiredReplicas === 1, 'scaled back to 1', 90_000);
    expect(down.status.currentMetrics?.[0]?.resource?.current.averageUtilization).to.be.lessThan(50);
    expect(conditionOf(down, 'ScalingLimited')).to.include({ status: 'True', reason: 'TooFewReplicas' });
    const downs = (await eventsOf(cluster.client, ns, 'web')).filter((e) => e.reason === 'SuccessfulRescale').map((e) => e.message);
    expect(downs).to.include('New size: 1; reason: All metrics below target');
    expectOk(await cluster.kubectl(['-n', ns, 'delete', 'deployment', 'web']), 'delete deployment');
  });

  it('an autoscaling/v2 memory target with a scale-up policy of one pod per 2 s steps 1 → 2 → 3 no faster; v1 clients keep its metrics and behavior', async () => {
    const ns = 'hpa-memory';
    await createNamespace(cluster.client, ns);
    await cluster.apply(ns, deployment('mem', IDLE));
    const recorder = new ReplicaRecorder(cluster.client, ns, 'mem');
    recorder.start();
    try {
      await cluster.apply(ns, {
        apiVersion: 'autoscaling/v2',
        kind: 'HorizontalPodAutoscaler',
        metadata: { name: 'mem' },
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'mem' },
          minReplicas: 1,
          maxReplicas: 3,
          // Every process uses more than a kibibyte: the target is always exceeded.
          metrics: [{ type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '1Ki' } } }],
          behavior: { scaleUp: { policies: [{ type: 'Pods', value: 1, periodSeconds: 2 }] }, scaleDown: { stabilizationWindowSeconds: 0 } },
        },
      });
      await waitAutoscaler(cluster.client, ns, 'mem', (h) => h.status.currentReplicas === 3, 'scaled to 3');
    } finally {
      await recorder.stop();
    }
    const steps = recorder.changes.map((c) => c.replicas);
    expect(steps).to.deep.equal([1, 2, 3]);
    const gap = recorder.changes[2]!.at - recorder.changes[1]!.at;
    // The policy allows one pod per 2 s; polling adds at most its 50 ms to either end.
    expect(gap, 'the second step waited for the policy period').to.be.at.least(2000 - 100);
    const hpa = await waitAutoscaler(cluster.client, ns, 'mem', (h) => conditionOf(h, 'ScalingLimited')?.reason === 'TooManyReplicas', 'limited by maxReplicas');
    expect(hpa.spec.behavior?.scaleUp).to.deep.equal({ stabilizationWindowSeconds: 0, selectPolicy: 'Max', policies: [{ type: 'Pods', value: 1, periodSeconds: 2 }] });
    expect(hpa.spec.behavior?.scaleDown).to.deep.equal({ stabilizationWindowSeconds: 0, selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }] });
    const current = hpa.status.currentMetrics?.[0]?.resource?.current.averageValue ?? '0';
    expect(current).to.match(/^\d+(Ki|Mi|k|M)?$/);

    // A v1 client reads it (no CPU target), changes maxReplicas and writes it back: the memory
    // metric and the behavior survive in the annotations.
    const v1 = await cluster.client.get<HorizontalPodAutoscalerV1>({ ...HPA_V1, namespace: ns, name: 'mem' });
    expect(v1.spec.targetCPUUtilizationPercentage).to.equal(undefined);
    expect(JSON.parse(v1.metadata.annotations?.['autoscaling.alpha.kubernetes.io/metrics'] ?? '[]')).to.deep.equal(hpa.spec.metrics);
    await cluster.client.update({ ...HPA_V1, namespace: ns, name: 'mem' }, { ...v1, spec: { ...v1.spec, maxReplicas: 2 } });
    const after = await waitAutoscaler(cluster.client, ns, 'mem', (h) => h.status.currentReplicas === 2, 'down to the new max of 2');
    expect(after.spec.maxReplicas).to.equal(2);
    expect(after.spec.metrics).to.deep.equal(hpa.spec.metrics);
    expect(after.spec.behavior).to.deep.equal(hpa.spec.behavior);
    expect(after.metadata.annotations ?? {}).to.not.have.property('autoscaling.alpha.kubernetes.io/metrics');
    // A v1 watch gets v1 objects: from the list's revision on, the controller's next status write.
    const listed = await cluster.client.list<{ metadata: { resourceVersion: string } }>({ ...HPA_V1, namespace: ns });
    const seen: HorizontalPodAutoscalerV1[] = [];
    const abort = new AbortController();
    const watching = cluster.client.watch<HorizontalPodAutoscalerV1>({ ...HPA_V1, namespace: ns }, { resourceVersion: listed.metadata.resourceVersion }, (ev) => {
      if (ev.type === 'MODIFIED') seen.push(ev.object);
    }, abort.signal);
    await cluster.client.patch({ ...HORIZONTAL_POD_AUTOSCALERS, namespace: ns, name: 'mem' }, { metadata: { labels: { watched: 'yes' } } }, 'merge');
    await waitFor(() => seen.length > 0, 'a MODIFIED event on the v1 watch', 10_000, 50);
    abort.abort();
    await watching.catch((err: unknown) => {
      if (!abort.signal.aborted) throw err;
    });
    expect(seen[0]?.apiVersion).to.equal('autoscaling/v1');
    expect(seen[0]?.spec).to.deep.include({ maxReplicas: 2 });
    expect(seen[0]?.spec).to.not.have.property('metrics');

    // A target no pod reaches: straight down to minReplicas (scale-down window 0, 100% per 15 s).
    await cluster.client.patch({ ...HORIZONTAL_POD_AUTOSCALERS, namespace: ns, name: 'mem' }, { spec: { metrics: [{ type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '1Gi' } } }] } }, 'merge');
    await waitAutoscaler(cluster.client, ns, 'mem', (h) => h.status.currentReplicas === 1 && h.status.desiredReplicas === 1, 'down to 1');
    expect(await replicasOf(cluster.client, ns, 'mem')).to.equal(1);
  });

  it('cellctl autoscale scales a StatefulSet through its scale subresource; cellctl get and describe show it', async () => {
    const ns = 'hpa-cellctl';
    await createNamespace(cluster.client, ns);
    const sts = deployment('kv', TICKING);
    await cluster.apply(ns, { ...sts, kind: 'StatefulSet', spec: { ...sts.spec, serviceName: 'kv' } });
    const home = tempDir('cell-hpa-cellctl-');
    const run = (...args: string[]) => cellctl([`--server=${cluster.api.url}`, '-n', ns, ...args], { env: isolatedEnv(home), timeoutMs: 60_000 });
    const made = await run('autoscale', 'statefulset/kv', '--min=1', '--max=2', '--cpu-percent=50');
    expect(made.code, made.stderr).to.equal(0);
    expect(made.stdout).to.equal('horizontalpodautoscaler.autoscaling/kv autoscaled\n');
    const hpa = await waitAutoscaler(cluster.client, ns, 'kv', (h) => h.status.currentReplicas === 2, 'scaled to 2');
    expect(hpa.spec.scaleTargetRef).to.deep.equal({ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'kv' });
    await waitFor(async () => (await cluster.client.list<{ items: unknown[] }>({ resource: 'pods', namespace: ns })).items.length === 2, 'kv-0 and kv-1', 30_000, 200);
    const got = await run('get', 'hpa');
    expect(got.stdout.split('\n')[1]?.split(/\s+/).slice(0, 2)).to.deep.equal(['kv', 'StatefulSet/kv']);
    const described = await run('describe', 'hpa', 'kv');
    expect(described.code, described.stderr).to.equal(0);
    expect(described.stdout).to.match(/Reference:\s+StatefulSet\/kv/);
    expect(described.stdout).to.match(/resource cpu on pods\s+\(as a percentage of request\):\s+\d+% \(\S+\) \/ 50%/);
    expect(described.stdout).to.match(/StatefulSet pods:\s+2 current \/ 2 desired/);
    expect(described.stdout).to.contain('SuccessfulRescale');
    const refused = await run('autoscale', 'daemonset/x', '--max=2');
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.contain('cannot autoscale a daemonset');
    const missingMax = await run('autoscale', 'statefulset/kv');
    expect(missingMax.stderr).to.contain("required flag '--max' not set");
    expectOk(await cluster.kubectl(['-n', ns, 'delete', 'statefulset', 'kv']), 'delete statefulset');
  });

  it('reports what it cannot scale or measure, and two autoscalers of one object, in conditions and events, and changes nothing', async () => {
    const ns = 'hpa-broken';
    await createNamespace(cluster.client, ns);
    const hpa = (name: string, kind: string, target: string, metrics?: unknown[]) => ({
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name },
      spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind, name: target }, maxReplicas: 4, ...(metrics ? { metrics } : {}) },
    });
    /** A Deployment of idle pods that request nothing (so no CPU utilization can be computed). */
    const idle = (name: string, replicas: number) => {
      const d = deployment(name, IDLE);
      return { ...d, spec: { ...d.spec, replicas, template: { ...d.spec.template, spec: { containers: [{ name: 'main', image: 'busybox:1', command: IDLE }] } } } };
    };
    // A kind with no scale subresource.
    await cluster.apply(ns, hpa('no-scale', 'DaemonSet', 'idle'));
    const noScale = await waitAutoscaler(cluster.client, ns, 'no-scale', (h) => conditionOf(h, 'AbleToScale')?.status === 'False', 'AbleToScale False');
    expect(conditionOf(noScale, 'AbleToScale')).to.include({ reason: 'FailedGetScale' });
    // Pods without a CPU request: utilization cannot be computed, so the count stays.
    await cluster.apply(ns, idle('idle', 2));
    await cluster.apply(ns, hpa('no-requests', 'Deployment', 'idle'));
    const failed = await waitAutoscaler(cluster.client, ns, 'no-requests', (h) => conditionOf(h, 'ScalingActive')?.message?.includes('missing request for cpu') === true, 'ScalingActive False: missing request');
    expect(conditionOf(failed, 'ScalingActive')).to.include({ status: 'False', reason: 'FailedGetResourceMetric' });
    expect(conditionOf(failed, 'ScalingActive')?.message).to.contain('missing request for cpu in container main of Pod idle-');
    // A custom metric cell does not serve: reported, never used to scale down.
    await cluster.apply(ns, idle('quiet', 2));
    await cluster.apply(ns, hpa('custom', 'Deployment', 'quiet', [{ type: 'Pods', pods: { metric: { name: 'requests_per_second' }, target: { type: 'AverageValue', averageValue: '10' } } }]));
    const custom = await waitAutoscaler(cluster.client, ns, 'custom', (h) => conditionOf(h, 'ScalingActive')?.status === 'False', 'ScalingActive False');
    expect(conditionOf(custom, 'ScalingActive')).to.include({ reason: 'FailedGetPodsMetric' });
    const reasons = new Set((await eventsOf(cluster.client, ns, 'custom')).map((e) => e.reason));
    expect([...reasons]).to.include('FailedGetPodsMetric');
    expect(reasons.has('SuccessfulRescale')).to.equal(false);
    // A second autoscaler of `idle`: both say so.
    await cluster.apply(ns, hpa('twin', 'Deployment', 'idle'));
    for (const name of ['no-requests', 'twin']) {
      const ambiguous = await waitAutoscaler(cluster.client, ns, name, (h) => conditionOf(h, 'ScalingActive')?.reason === 'AmbiguousSelector', 'AmbiguousSelector');
      expect(conditionOf(ambiguous, 'ScalingActive')?.message).to.equal(`pods by selector app=idle are controlled by multiple HPAs: [${ns}/no-requests ${ns}/twin]`);
    }
    expect((await eventsOf(cluster.client, ns, 'twin')).map((e) => e.reason)).to.include('AmbiguousSelector');
    expect(await replicasOf(cluster.client, ns, 'idle')).to.equal(2);
    expect(await replicasOf(cluster.client, ns, 'quiet')).to.equal(2);
  });

  it('scales a custom kind through the scale subresource its definition declares', async () => {
    const ns = 'hpa-custom';
    await createNamespace(cluster.client, ns);
    await cluster.client.create(
      CRDS,
      definitionBody({
        group: 'hpa.example.com',
        plural: 'fleets',
        kind: 'Fleet',
        schema: {
          type: 'object',
          properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } }, status: { type: 'object', properties: { size: { type: 'integer' }, selector: { type: 'string' } } } },
        },
        version: { subresources: { status: {}, scale: { specReplicasPath: '.spec.size', statusReplicasPath: '.status.size', labelSelectorPath: '.status.selector' } } },
      }),
    );
    const fleets = { group: 'hpa.example.com', version: 'v1', resource: 'fleets', namespace: ns };
    const fleet = await waitFor(async () => {
      try {
        return await cluster.client.create<{ metadata: { name: string } }>(fleets, { apiVersion: 'hpa.example.com/v1', kind: 'Fleet', metadata: { name: 'f' }, spec: { size: 1 } });
      } catch (err) {
        // Not served yet: the definition is being installed.
        if (err instanceof NotFoundError) return undefined;
        throw err;
      }
    }, 'the Fleet kind served', 10_000, 100);
    expect(fleet.metadata.name).to.equal('f');
    await cluster.apply(ns, {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'fleet' },
      spec: { scaleTargetRef: { apiVersion: 'hpa.example.com/v1', kind: 'Fleet', name: 'f' }, minReplicas: 3, maxReplicas: 5 },
    });
    await waitFor(async () => ((await cluster.client.get<{ spec: { size?: number } }>({ ...fleets, name: 'f' })).spec.size === 3 ? true : undefined), 'the Fleet scaled to minReplicas', 30_000, 200);
    const hpa = await waitAutoscaler(cluster.client, ns, 'fleet', (h) => h.status.desiredReplicas === 3, 'desiredReplicas 3');
    expect(conditionOf(hpa, 'AbleToScale')?.status).to.equal('True');
    expect((await eventsOf(cluster.client, ns, 'fleet')).map((e) => e.reason)).to.include('SuccessfulRescale');
  });

  it('refuses invalid autoscalers in either version with the field that is wrong; discovery lists both versions, v2 preferred', async () => {
    const ns = 'hpa-invalid';
    await createNamespace(cluster.client, ns);
    const bad = async (ref: typeof HPA_V1 | typeof HORIZONTAL_POD_AUTOSCALERS, body: unknown): Promise<InvalidError> => {
      try {
        await cluster.client.create({ ...ref, namespace: ns }, body);
      } catch (err) {
        if (err instanceof InvalidError) return err;
        throw err;
      }
      throw new Error('created an invalid autoscaler');
    };
    const target = { apiVersion: 'apps/v1', kind: 'Deployment', name: 'x' };
    const v2 = await bad(HORIZONTAL_POD_AUTOSCALERS, { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'a' }, spec: { scaleTargetRef: target, minReplicas: 5, maxReplicas: 2 } });
    expect(v2.causes.map((c) => c.field)).to.deep.equal(['spec.maxReplicas']);
    expect(v2.message).to.contain('must be greater than or equal to `minReplicas`');
    const policy = await bad(HORIZONTAL_POD_AUTOSCALERS, {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'b' },
      spec: { scaleTargetRef: target, maxReplicas: 2, behavior: { scaleDown: { stabilizationWindowSeconds: 4000, policies: [{ type: 'Pods', value: 0, periodSeconds: 15 }] } } },
    });
    expect(policy.causes.map((c) => c.field)).to.deep.equal(['spec.behavior.scaleDown.stabilizationWindowSeconds', 'spec.behavior.scaleDown.policies[0].value']);
    const v1 = await bad(HPA_V1, { apiVersion: 'autoscaling/v1', kind: 'HorizontalPodAutoscaler', metadata: { name: 'c' }, spec: { scaleTargetRef: target, maxReplicas: 2, targetCPUUtilizationPercentage: 0 } });
    expect(v1.causes.map((c) => c.field)).to.deep.equal(['spec.targetCPUUtilizationPercentage']);
    const list = await cluster.client.list<{ items: unknown[] }>({ ...HORIZONTAL_POD_AUTOSCALERS, namespace: ns });
    expect(list.items, 'nothing half-written').to.deep.equal([]);

    // kubectl apply of an autoscaling/v1 manifest, then of a changed one (a patch of the v1 form).
    const v1Manifest = (max: number) => ({ apiVersion: 'autoscaling/v1', kind: 'HorizontalPodAutoscaler', metadata: { name: 'applied' }, spec: { scaleTargetRef: target, maxReplicas: max, targetCPUUtilizationPercentage: 70 } });
    await cluster.apply(ns, v1Manifest(3));
    await cluster.apply(ns, v1Manifest(5));
    const applied = await cluster.client.get<HorizontalPodAutoscaler>({ ...HORIZONTAL_POD_AUTOSCALERS, namespace: ns, name: 'applied' });
    expect(applied.spec.maxReplicas).to.equal(5);
    expect(applied.spec.metrics).to.deep.equal([{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }]);
    expectOk(await cluster.kubectl(['-n', ns, 'delete', 'hpa', 'applied']), 'delete hpa');

    const versions = expectOk(await cluster.kubectl(['api-versions']), 'kubectl api-versions').stdout.split('\n');
    expect(versions).to.include.members(['autoscaling/v1', 'autoscaling/v2']);
    const group = (await cluster.client.request<{ preferredVersion: { version: string } }>('GET', '/apis/autoscaling'));
    expect(group.preferredVersion.version).to.equal('v2');
    const resources = expectOk(await cluster.kubectl(['api-resources', '--api-group=autoscaling']), 'kubectl api-resources').stdout;
    expect(resources).to.match(/horizontalpodautoscalers\s+hpa\s+autoscaling\/v2\s+true\s+HorizontalPodAutoscaler/);
  });
});
