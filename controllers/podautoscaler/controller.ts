// The horizontal pod autoscaler controller (Kubernetes' HPA, kube-controller-manager's
// `horizontalpodautoscaling`): every sync period, for each HorizontalPodAutoscaler, read its
// target's scale subresource, measure the target's pods through the metrics API (what the node
// agents sample), compute the replica count each metric asks for (replica-calculator.ts), take the
// highest, stabilize and rate-limit it (behavior.ts), set it through the scale subresource, and
// write the status — current metrics and the AbleToScale, ScalingActive and ScalingLimited
// conditions, with Kubernetes' reasons, and a SuccessfulRescale event for each change.
//
// The new pods are placed by a scheduler like any other, through the commit core: an autoscaler
// that asks for more than the cluster holds gets Pending pods, never an over-committed node.
import { isDeepStrictEqual } from 'node:util';
import type { Scale } from '../../shared/api/apps.js';
import type { CustomResourceDefinition } from '../../shared/api/apiextensions.js';
import { CUSTOM_RESOURCE_DEFINITIONS } from '../custom-kinds.js';
import {
  HPA_CONDITIONS,
  type HorizontalPodAutoscaler,
  type HorizontalPodAutoscalerStatus,
  type MetricSpec,
  type MetricStatus,
} from '../../shared/api/autoscaling.js';
import type { Pod } from '../../shared/api/core.js';
import type { Condition } from '../../shared/api/meta.js';
import { formatTime } from '../../shared/api/meta.js';
import { METRICS_GROUP, METRICS_VERSION, type PodMetrics } from '../../shared/api/metrics.js';
import type { EventRecorder } from '../../shared/client/events.js';
import type { ApiClient, ResourceRef } from '../../shared/client/http-client.js';
import { objectKey, type Informer } from '../../shared/client/informer.js';
import { parseDuration } from '../../shared/duration.js';
import { CellError, ConflictError, NotFoundError, ParseError, errorMessage } from '../../shared/errors.js';
import { parseLabelSelector, type LabelSelector } from '../../shared/labels.js';
import type { Logger } from '../../shared/logging.js';
import { Quantity } from '../../shared/quantity.js';
import type { Controller, ControllerContext, ControllerDefinition } from '../controller.js';
import { BY_NAMESPACE, indexByNamespace } from '../informers.js';
import { WorkQueue } from '../work-queue.js';
import { applyBehavior, recordScale, type ScalingHistory } from './behavior.js';
import { scaleSubresourceOf } from './scale-targets.js';
import { MetricUnavailableError, resourceReplicas, type CalculatorSettings, type PodUsage, type Recommendation } from './replica-calculator.js';

export const HPA_CONTROLLER = 'horizontalpodautoscaling';
export const HORIZONTAL_POD_AUTOSCALERS = { group: 'autoscaling', version: 'v2', resource: 'horizontalpodautoscalers' } as const;
const PODS: ResourceRef = { resource: 'pods' };

/** kube-controller-manager's defaults. */
export const HPA_DEFAULTS = {
  syncPeriodMs: 15_000,
  downscaleStabilizationMs: 300_000,
  tolerance: 0.1,
  cpuInitializationPeriodMs: 300_000,
  initialReadinessDelayMs: 30_000,
} as const;

export type HpaSettings = { -readonly [K in keyof typeof HPA_DEFAULTS]: number };

function toleranceOf(q: string | undefined): number | undefined {
  return q === undefined ? undefined : Quantity.parse(q).toNumber();
}

function condition(type: string, status: 'True' | 'False', reason: string, message: string): Condition {
  return { type, status, reason, message };
}

/** Conditions with their transition times kept where the status did not change. */
function withTransitions(next: Condition[], previous: readonly Condition[] | undefined, now: string): Condition[] {
  return next.map((c) => {
    const old = previous?.find((p) => p.type === c.type);
    return { ...c, lastTransitionTime: old !== undefined && old.status === c.status && old.lastTransitionTime !== undefined ? old.lastTransitionTime : now };
  });
}

/** What one metric measured: its replica count and its status entry, or why it could not. */
type MetricOutcome = { ok: true; replicas: number; status: MetricStatus; description: string } | { ok: false; reason: string; message: string };

function metricStatus(m: MetricSpec, r: Recommendation): MetricStatus {
  const current = {
    ...(r.utilization !== undefined ? { averageUtilization: r.utilization } : {}),
    averageValue: Quantity.fromMilli(BigInt(Math.round(r.averageValue * 1000))).toString(),
  };
  if (m.type === 'ContainerResource' && m.containerResource) return { type: 'ContainerResource', containerResource: { name: m.containerResource.name, container: m.containerResource.container, current } };
  return { type: 'Resource', resource: { name: m.resource?.name ?? '', current } };
}

/** Kubernetes' words for what drove a rescale. */
function metricDescription(m: MetricSpec): string {
  const source = m.resource ?? m.containerResource;
  const name = source?.name ?? '';
  const ofRequest = source?.target.type === 'Utilization' ? ' (percentage of request)' : '';
  return m.type === 'ContainerResource' ? `${name} container resource utilization${ofRequest}` : `${name} resource utilization${ofRequest}`;
}

export class HorizontalPodAutoscalerController implements Controller {
  readonly name = HPA_CONTROLLER;
  private readonly client: ApiClient;
  private readonly log: Logger;
  private readonly events: EventRecorder;
  private readonly autoscalers: Informer<HorizontalPodAutoscaler>;
  private readonly pods: Informer<Pod>;
  /** CustomResourceDefinitions: where a custom kind's scale subresource is. */
  private readonly definitions: Informer<CustomResourceDefinition>;
  private readonly queue: WorkQueue;
  private readonly settings: HpaSettings;
  /** Recent recommendations and rescales, per autoscaler (lost on restart, as in Kubernetes). */
  private readonly history = new Map<string, ScalingHistory>();
  private stopped = false;

  constructor(ctx: ControllerContext, settings: Partial<HpaSettings> = {}) {
    this.client = ctx.client;
    this.log = ctx.log;
    this.events = ctx.events('horizontal-pod-autoscaler');
    this.settings = { ...HPA_DEFAULTS, ...settings };
    this.autoscalers = ctx.informers.get<HorizontalPodAutoscaler>(HORIZONTAL_POD_AUTOSCALERS);
    this.pods = ctx.informers.get<Pod>(PODS);
    this.definitions = ctx.informers.get<CustomResourceDefinition>(CUSTOM_RESOURCE_DEFINITIONS);
    this.queue = new WorkQueue({ name: HPA_CONTROLLER, sync: (key) => this.sync(key), workers: 5, log: this.log, metrics: ctx.queueMetrics });
  }

  start(): void {
    indexByNamespace(this.pods);
    indexByNamespace(this.autoscalers);
    this.autoscalers.addHandlers({
      add: (a) => this.queue.add(objectKey(a)),
      // A changed spec is acted on now; the controller's own status writes wait for the period.
      update: (old, a) => {
        if (old.metadata.generation !== a.metadata.generation) this.queue.add(objectKey(a));
      },
      delete: (a) => this.history.delete(objectKey(a)),
    });
    void Promise.all([this.autoscalers.hasSynced(), this.pods.hasSynced(), this.definitions.hasSynced()]).then(() => {
      if (!this.stopped) this.queue.start();
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.queue.stop();
  }

  private async sync(key: string): Promise<void> {
    const slash = key.indexOf('/');
    const hpa = this.autoscalers.get(key.slice(0, slash), key.slice(slash + 1));
    if (!hpa) {
      this.history.delete(key);
      return;
    }
    try {
      await this.reconcile(key, hpa);
    } finally {
      // Measured again every period, whatever happened this time.
      if (!this.stopped) this.queue.addAfter(key, this.settings.syncPeriodMs);
    }
  }

  private historyOf(key: string): ScalingHistory {
    let h = this.history.get(key);
    if (h === undefined) {
      h = { recommendations: [], scaleUps: [], scaleDowns: [] };
      this.history.set(key, h);
    }
    return h;
  }

  private async reconcile(key: string, hpa: HorizontalPodAutoscaler): Promise<void> {
    const ns = hpa.metadata.namespace ?? '';
    const ref = hpa.spec.scaleTargetRef;
    const involved = { kind: 'HorizontalPodAutoscaler', name: hpa.metadata.name ?? '', namespace: ns, uid: hpa.metadata.uid ?? '', apiVersion: 'autoscaling/v2' };
    const now = Date.now();
    const nowText = formatTime(new Date(now));
    const scaleRef = scaleSubresourceOf(ref, ns, this.definitions.list());
    let scale: Scale;
    try {
      if (scaleRef === undefined) {
        throw new NotFoundError(`no scale subresource for ${ref.apiVersion ?? ''} ${ref.kind}: cell scales Deployments, ReplicaSets, StatefulSets (apps/v1) and custom kinds whose definition declares subresources.scale`);
      }
      scale = await this.client.get<Scale>(scaleRef);
    } catch (err) {
      if (!(err instanceof CellError) || err instanceof ConflictError) throw err;
      const message = `the HPA controller was unable to get the target's current scale: ${errorMessage(err)}`;
      void this.events.record(involved, 'Warning', 'FailedGetScale', errorMessage(err));
      await this.writeStatus(hpa, { ...hpa.status, conditions: withTransitions([condition(HPA_CONDITIONS.ableToScale, 'False', 'FailedGetScale', message)], hpa.status.conditions, nowText) });
      return;
    }
    const current = scale.spec.replicas ?? 0;
    const base = { observedGeneration: hpa.metadata.generation ?? 1, currentReplicas: scale.status.replicas, ...(hpa.status.lastScaleTime !== undefined ? { lastScaleTime: hpa.status.lastScaleTime } : {}) };

    if (current === 0 && hpa.spec.minReplicas > 0) {
      // Scaled to zero by someone: autoscaling stays off until they scale it up again.
      const conditions = [
        condition(HPA_CONDITIONS.ableToScale, 'True', 'SucceededGetScale', 'the HPA controller was able to get the target\'s current scale'),
        condition(HPA_CONDITIONS.scalingActive, 'False', 'ScalingDisabled', 'scaling is disabled since the replica count of the target is zero'),
      ];
      await this.writeStatus(hpa, { ...base, desiredReplicas: 0, conditions: withTransitions(conditions, hpa.status.conditions, nowText) });
      return;
    }

    // Two autoscalers of one object would fight over its count: neither acts until one goes.
    const rivals = this.autoscalers
      .byIndex(BY_NAMESPACE, ns)
      .filter((o) => o.metadata.uid !== hpa.metadata.uid && o.spec.scaleTargetRef.kind === ref.kind && o.spec.scaleTargetRef.name === ref.name);
    if (rivals.length > 0) {
      const names = [hpa, ...rivals].map((o) => `${ns}/${o.metadata.name ?? ''}`).sort();
      const message = `pods by selector ${scale.status.selector ?? ''} are controlled by multiple HPAs: [${names.join(' ')}]`;
      void this.events.record(involved, 'Warning', 'AmbiguousSelector', message);
      const conditions = [
        condition(HPA_CONDITIONS.ableToScale, 'True', 'SucceededGetScale', 'the HPA controller was able to get the target\'s current scale'),
        condition(HPA_CONDITIONS.scalingActive, 'False', 'AmbiguousSelector', message),
      ];
      await this.writeStatus(hpa, { ...base, desiredReplicas: hpa.status.desiredReplicas, conditions: withTransitions(conditions, hpa.status.conditions, nowText) });
      return;
    }

    let desired: number;
    let rescaleReason: string;
    let currentMetrics: MetricStatus[] | undefined = hpa.status.currentMetrics;
    const conditions: Condition[] = [];
    const h = this.historyOf(key);
    if (current > hpa.spec.maxReplicas || current < hpa.spec.minReplicas) {
      desired = current > hpa.spec.maxReplicas ? hpa.spec.maxReplicas : hpa.spec.minReplicas;
      rescaleReason = current > hpa.spec.maxReplicas ? 'Current number of replicas above Spec.MaxReplicas' : 'Current number of replicas below Spec.MinReplicas';
      conditions.push(condition(HPA_CONDITIONS.scalingActive, 'True', 'ValidMetricFound', 'the HPA controller was able to successfully calculate a replica count from the target\'s metrics'));
      conditions.push(condition(HPA_CONDITIONS.scalingLimited, 'True', current > hpa.spec.maxReplicas ? 'TooManyReplicas' : 'TooFewReplicas', `the desired replica count is ${current > hpa.spec.maxReplicas ? 'more than the maximum' : 'less than the minimum'} replica count`));
    } else {
      const measured = await this.measure(hpa, scale, current, now);
      const good = measured.filter((o): o is Extract<MetricOutcome, { ok: true }> => o.ok);
      const failed = measured.filter((o): o is Extract<MetricOutcome, { ok: false }> => !o.ok);
      const best = good.reduce<Extract<MetricOutcome, { ok: true }> | undefined>((a, o) => (a === undefined || o.replicas > a.replicas ? o : a), undefined);
      // A metric that could not be read never lets the others scale down: it might have asked for more.
      if (best === undefined || (failed.length > 0 && best.replicas < current)) {
        const why = failed[0] ?? { reason: 'FailedGetResourceMetric', message: 'no metric could be read' };
        void this.events.record(involved, 'Warning', why.reason, why.message);
        const failedConditions = [
          condition(HPA_CONDITIONS.ableToScale, 'True', 'SucceededGetScale', 'the HPA controller was able to get the target\'s current scale'),
          condition(HPA_CONDITIONS.scalingActive, 'False', why.reason, `the HPA was unable to compute the replica count: ${why.message}`),
        ];
        await this.writeStatus(hpa, { ...base, desiredReplicas: hpa.status.desiredReplicas, ...(currentMetrics !== undefined ? { currentMetrics } : {}), conditions: withTransitions(failedConditions, hpa.status.conditions, nowText) });
        return;
      }
      currentMetrics = measured.map((o, i) => (o.ok ? o.status : { type: hpa.spec.metrics[i]!.type }));
      conditions.push(condition(HPA_CONDITIONS.scalingActive, 'True', 'ValidMetricFound', `the HPA was able to successfully calculate a replica count from ${best.description}`));
      const outcome = applyBehavior(
        { current, desired: best.replicas, minReplicas: hpa.spec.minReplicas, maxReplicas: hpa.spec.maxReplicas, behavior: hpa.spec.behavior, defaultDownWindowMs: this.settings.downscaleStabilizationMs, now },
        h,
      );
      desired = outcome.replicas;
      rescaleReason = desired > current ? `${best.description} above target` : 'All metrics below target';
      conditions.push(condition(HPA_CONDITIONS.scalingLimited, outcome.limited.status, outcome.limited.reason, outcome.limited.message));
      if (outcome.stabilized !== undefined) conditions.unshift(condition(HPA_CONDITIONS.ableToScale, 'True', outcome.stabilized.reason, outcome.stabilized.message));
    }

    let lastScaleTime = hpa.status.lastScaleTime;
    if (desired !== current) {
      try {
        await this.client.update<Scale>(scaleRef, { ...scale, spec: { replicas: desired } });
      } catch (err) {
        if (!(err instanceof CellError)) throw err;
        void this.events.record(involved, 'Warning', 'FailedRescale', `New size: ${desired}; reason: ${rescaleReason}; error: ${errorMessage(err)}`);
        const failed = [condition(HPA_CONDITIONS.ableToScale, 'False', 'FailedUpdateScale', `the HPA controller was unable to update the target scale: ${errorMessage(err)}`), ...conditions.filter((c) => c.type !== HPA_CONDITIONS.ableToScale)];
        await this.writeStatus(hpa, { ...base, desiredReplicas: hpa.status.desiredReplicas, ...(currentMetrics !== undefined ? { currentMetrics } : {}), conditions: withTransitions(failed, hpa.status.conditions, nowText) });
        // Conflicts and outages are retried with back-off by the queue.
        if (err instanceof ConflictError) throw err;
        return;
      }
      recordScale(h, current, desired, now);
      lastScaleTime = nowText;
      this.log.info('rescaled', { hpa: key, from: current, to: desired, reason: rescaleReason });
      void this.events.record(involved, 'Normal', 'SuccessfulRescale', `New size: ${desired}; reason: ${rescaleReason}`);
      if (!conditions.some((c) => c.type === HPA_CONDITIONS.ableToScale)) {
        conditions.unshift(condition(HPA_CONDITIONS.ableToScale, 'True', 'SucceededRescale', `the HPA controller was able to update the target scale to ${desired}`));
      }
    } else if (!conditions.some((c) => c.type === HPA_CONDITIONS.ableToScale)) {
      conditions.unshift(condition(HPA_CONDITIONS.ableToScale, 'True', 'ReadyForNewScale', 'recommended size matches current size'));
    }
    await this.writeStatus(hpa, {
      ...base,
      ...(lastScaleTime !== undefined ? { lastScaleTime } : {}),
      desiredReplicas: desired,
      ...(currentMetrics !== undefined ? { currentMetrics } : {}),
      conditions: withTransitions(conditions, hpa.status.conditions, nowText),
    });
  }

  /** Each metric's replica count, from the target's pods and their usage. */
  private async measure(hpa: HorizontalPodAutoscaler, scale: Scale, current: number, now: number): Promise<MetricOutcome[]> {
    let selector: LabelSelector;
    try {
      if (scale.status.selector === undefined || scale.status.selector === '') throw new ParseError('the target has no selector');
      selector = parseLabelSelector(scale.status.selector);
    } catch (err) {
      if (!(err instanceof ParseError)) throw err;
      return hpa.spec.metrics.map(() => ({ ok: false, reason: 'InvalidSelector', message: `couldn't convert selector into a corresponding internal selector object: ${errorMessage(err)}` }));
    }
    const ns = hpa.metadata.namespace ?? '';
    const pods = this.pods.byIndex(BY_NAMESPACE, ns).filter((p) => selector.matches(p.metadata.labels ?? {}));
    const settings: CalculatorSettings = {
      // A behavior's own tolerance (Kubernetes 1.33's HPAConfigurableTolerance) wins over the flag's.
      tolerance: {
        up: toleranceOf(hpa.spec.behavior?.scaleUp?.tolerance) ?? this.settings.tolerance,
        down: toleranceOf(hpa.spec.behavior?.scaleDown?.tolerance) ?? this.settings.tolerance,
      },
      cpuInitializationPeriodMs: this.settings.cpuInitializationPeriodMs,
      initialReadinessDelayMs: this.settings.initialReadinessDelayMs,
    };
    let usage: Map<string, PodUsage> | undefined;
    const out: MetricOutcome[] = [];
    for (const m of hpa.spec.metrics) {
      const source = m.type === 'Resource' ? m.resource : m.type === 'ContainerResource' ? m.containerResource : undefined;
      if (source === undefined) {
        const reason = m.type === 'Pods' ? 'FailedGetPodsMetric' : m.type === 'Object' ? 'FailedGetObjectMetric' : 'FailedGetExternalMetric';
        out.push({ ok: false, reason, message: `unable to get ${m.type} metric: cell serves the resource metrics API only (no custom or external metrics)` });
        continue;
      }
      try {
        usage ??= await this.podUsage(ns, scale.status.selector ?? '');
        const { target } = source;
        const input = {
          resource: source.name,
          ...(m.type === 'ContainerResource' && m.containerResource ? { container: m.containerResource.container } : {}),
          ...(target.type === 'Utilization' ? { targetUtilization: target.averageUtilization ?? 0 } : { targetAverageValue: Quantity.parse(target.averageValue ?? '0').toNumber() }),
        };
        const r = resourceReplicas(input, current, pods, usage, settings, now);
        out.push({ ok: true, replicas: r.replicas, status: metricStatus(m, r), description: metricDescription(m) });
      } catch (err) {
        if (err instanceof MetricUnavailableError) out.push({ ok: false, reason: err.reason, message: `unable to get metric ${source.name}: ${err.message}` });
        else if (err instanceof CellError) out.push({ ok: false, reason: 'FailedGetResourceMetric', message: `unable to get metrics for resource ${source.name}: ${errorMessage(err)}` });
        else throw err;
      }
    }
    return out;
  }

  /** The metrics API's samples of the pods a selector picks, by pod name. */
  private async podUsage(namespace: string, selector: string): Promise<Map<string, PodUsage>> {
    const list = await this.client.list<{ items: PodMetrics[] }>({ group: METRICS_GROUP, version: METRICS_VERSION, resource: 'pods', namespace }, { labelSelector: selector });
    const out = new Map<string, PodUsage>();
    for (const item of list.items) {
      const containers = new Map(item.containers.map((c) => [c.name, { cpu: Quantity.parse(c.usage.cpu).toNumber(), memory: Quantity.parse(c.usage.memory).toNumber() }]));
      out.set(item.metadata.name ?? '', { timestamp: Date.parse(item.timestamp), windowMs: parseDuration(item.window), containers });
    }
    return out;
  }

  private async writeStatus(hpa: HorizontalPodAutoscaler, status: HorizontalPodAutoscalerStatus): Promise<void> {
    if (isDeepStrictEqual(status, hpa.status)) return;
    try {
      await this.client.update<HorizontalPodAutoscaler>({ ...HORIZONTAL_POD_AUTOSCALERS, namespace: hpa.metadata.namespace ?? '', name: hpa.metadata.name ?? '', subresource: 'status' }, { ...hpa, status });
    } catch (err) {
      // Deleted meanwhile: nothing to report on. A conflict: the next period writes a fresh one.
      if (err instanceof NotFoundError || err instanceof ConflictError) return;
      throw err;
    }
  }
}

export const horizontalPodAutoscalerControllerDefinition: ControllerDefinition = {
  name: HPA_CONTROLLER,
  create: (ctx) => {
    const c = ctx.config;
    return new HorizontalPodAutoscalerController(ctx, {
      ...(c?.hpaSyncPeriodMs !== undefined ? { syncPeriodMs: c.hpaSyncPeriodMs } : {}),
      ...(c?.hpaDownscaleStabilizationMs !== undefined ? { downscaleStabilizationMs: c.hpaDownscaleStabilizationMs } : {}),
      ...(c?.hpaTolerance !== undefined ? { tolerance: c.hpaTolerance } : {}),
      ...(c?.hpaCpuInitializationPeriodMs !== undefined ? { cpuInitializationPeriodMs: c.hpaCpuInitializationPeriodMs } : {}),
      ...(c?.hpaInitialReadinessDelayMs !== undefined ? { initialReadinessDelayMs: c.hpaInitialReadinessDelayMs } : {}),
    });
  },
};
