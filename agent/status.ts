// Pod status as the agent reports it: the phase, conditions and container statuses computed from
// what it knows about each container (the kubelet's rules, see podPhase), merged into the status
// the API server holds (other writers' conditions, such as PodScheduled, are kept), and written
// with the pod's resourceVersion so an update never lands on a stale or re-created pod.
import { isDeepStrictEqual } from 'node:util';
import { formatTime } from '../shared/api/meta.js';
import type { Container, ContainerState, ContainerStatus, Pod, PodCondition, PodPhase, PodStatus } from '../shared/api/core.js';
import { backoffMs } from '../shared/backoff.js';
import type { ApiClient } from '../shared/client/http-client.js';
import { ConflictError, InvalidError, NotFoundError, errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logging.js';
import type { ContainerRecord, PodRecord, TerminationRecord } from './pod-state.js';

/** The part of a pod's status the agent owns. */
export interface AgentPodStatus {
  phase: PodPhase;
  reason?: string;
  message?: string;
  conditions: PodCondition[];
  containerStatuses: ContainerStatus[];
  initContainerStatuses?: ContainerStatus[];
  ephemeralContainerStatuses?: ContainerStatus[];
  startTime?: string;
  hostIP: string;
  podIP?: string;
}

/** Condition types the agent owns. */
const AGENT_CONDITIONS = new Set(['Initialized', 'ContainersReady', 'Ready']);

function time(ms: number): string {
  return formatTime(new Date(ms));
}

export function containerID(podUid: string, name: string, instance: number): string {
  return `cell://${podUid}/${name}/${instance}`;
}

function terminatedState(podUid: string, name: string, t: TerminationRecord): ContainerState {
  return {
    terminated: {
      exitCode: t.exitCode,
      ...(t.signal !== undefined ? { signal: t.signal } : {}),
      reason: t.reason,
      ...(t.message !== undefined ? { message: t.message } : {}),
      startedAt: time(t.startedAt),
      finishedAt: time(t.finishedAt),
      containerID: containerID(podUid, name, t.instance),
    },
  };
}

/** Is the container waiting out a crash-loop back-off? */
export function inBackOff(rec: ContainerRecord): boolean {
  return !rec.running && !rec.done && rec.terminated !== undefined && rec.restartAt !== undefined;
}

/** What the probes of a running instance say (probes.ts); undefined for a container without probes. */
export interface ProbedState {
  readonly started: boolean;
  readonly ready: boolean;
}

export type ProbedStateLookup = (rec: ContainerRecord) => ProbedState | undefined;

function containerStatus(
  podUid: string,
  spec: Container,
  rec: ContainerRecord,
  waitingReason: string,
  backOffMessage: (rec: ContainerRecord) => string,
  probed: ProbedState | undefined,
): ContainerStatus {
  let state: ContainerState;
  let last: TerminationRecord | undefined;
  if (rec.running) {
    state = { running: { startedAt: time(rec.running.startedAt) } };
    last = rec.lastTerminated;
  } else if (rec.configError !== undefined && !rec.done) {
    state = { waiting: { reason: 'CreateContainerConfigError', message: rec.configError } };
    last = rec.terminated;
  } else if (inBackOff(rec)) {
    state = { waiting: { reason: 'CrashLoopBackOff', message: backOffMessage(rec) } };
    last = rec.terminated;
  } else if (rec.terminated) {
    state = terminatedState(podUid, rec.name, rec.terminated);
    last = rec.lastTerminated;
  } else {
    state = { waiting: { reason: waitingReason } };
  }
  const cid = rec.running ? containerID(podUid, rec.name, rec.running.instance) : rec.terminated ? containerID(podUid, rec.name, rec.terminated.instance) : undefined;
  return {
    name: rec.name,
    state,
    ...(last ? { lastState: terminatedState(podUid, rec.name, last) } : {}),
    // Running and, with probes, started and passing its readiness probe (kubelet: not ready until started).
    ready: rec.running !== undefined && (probed?.ready ?? true),
    restartCount: rec.restartCount,
    image: spec.image,
    imageID: '',
    ...(cid ? { containerID: cid } : {}),
    started: rec.running !== undefined && (probed?.started ?? true),
  };
}

/** Where the init containers are: all exited 0, one still to run (or re-run), or one failed for good. */
export function initProgress(record: PodRecord): 'done' | 'running' | 'failed' {
  for (const rec of record.containers) {
    if (!rec.init) continue;
    if (rec.running) return 'running';
    if (rec.terminated?.exitCode === 0) continue;
    return rec.terminated && rec.done ? 'failed' : 'running';
  }
  return 'done';
}

/** The kubelet's phase rules (getPhase), over the app containers. */
export function podPhase(pod: Pod, record: PodRecord): PodPhase {
  if (record.outcome) return record.outcome.phase;
  const init = initProgress(record);
  if (init === 'failed') return 'Failed';
  if (init === 'running') return 'Pending';
  const app = record.containers.filter((c) => !c.init && c.ephemeral !== true);
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const c of app) {
    if (c.running) running++;
    else if (c.terminated) {
      stopped++;
      if (c.terminated.exitCode === 0) succeeded++;
    } else waiting++;
  }
  if (waiting > 0) return 'Pending';
  if (running > 0) return 'Running';
  if (stopped === app.length && stopped > 0) {
    if (pod.spec.restartPolicy === 'Always') return 'Running';
    if (succeeded === stopped) return 'Succeeded';
    return pod.spec.restartPolicy === 'OnFailure' ? 'Running' : 'Failed';
  }
  return 'Pending';
}

export function computeStatus(
  pod: Pod,
  record: PodRecord,
  hostIP: string,
  backOffMessage: (rec: ContainerRecord) => string,
  probed: ProbedStateLookup = () => undefined,
): AgentPodStatus {
  const phase = podPhase(pod, record);
  const uid = record.uid;
  const byName = new Map(record.containers.map((c) => [`${c.init ? 'i' : c.ephemeral === true ? 'e' : 'c'}/${c.name}`, c]));
  const init = initProgress(record);
  const fresh = (c: Container, isInit: boolean): ContainerRecord => ({ name: c.name, init: isInit, restartCount: 0, nextInstance: 0, backoffMs: 0, done: false });
  const appStatuses = pod.spec.containers.map((c) => {
    const rec = byName.get(`c/${c.name}`) ?? fresh(c, false);
    return containerStatus(uid, c, rec, init === 'done' ? 'ContainerCreating' : 'PodInitializing', backOffMessage, rec.running ? probed(rec) : undefined);
  });
  const initStatuses = (pod.spec.initContainers ?? []).map((c) =>
    containerStatus(uid, c, byName.get(`i/${c.name}`) ?? fresh(c, true), 'PodInitializing', backOffMessage, undefined),
  );
  // Never ready: an ephemeral container serves nothing (and is not counted in the pod's readiness).
  const ephemeralStatuses = (pod.spec.ephemeralContainers ?? []).map((c) => ({
    ...containerStatus(uid, c, byName.get(`e/${c.name}`) ?? fresh(c, false), 'ContainerCreating', backOffMessage, undefined),
    ready: false,
  }));
  const terminal = phase === 'Succeeded' || phase === 'Failed';
  const unready = appStatuses.filter((s) => !s.ready).map((s) => s.name);
  const incomplete = initStatuses.filter((s) => s.state?.terminated?.exitCode !== 0).map((s) => s.name);
  const readyCond = (type: string): PodCondition =>
    terminal
      ? { type, status: 'False', reason: 'PodCompleted' }
      : unready.length === 0
        ? { type, status: 'True' }
        : { type, status: 'False', reason: 'ContainersNotReady', message: `containers with unready status: [${unready.join(' ')}]` };
  const conditions: PodCondition[] = [
    init === 'done'
      ? { type: 'Initialized', status: 'True' }
      : terminal
        ? { type: 'Initialized', status: 'False', reason: 'PodCompleted' }
        : { type: 'Initialized', status: 'False', reason: 'ContainersNotInitialized', message: `containers with incomplete status: [${incomplete.join(' ')}]` },
    readyCond('Ready'),
    readyCond('ContainersReady'),
  ];
  const out: AgentPodStatus = {
    phase,
    conditions,
    containerStatuses: appStatuses,
    startTime: time(record.startTime),
    hostIP,
    podIP: hostIP,
  };
  if (initStatuses.length > 0) out.initContainerStatuses = initStatuses;
  if (ephemeralStatuses.length > 0) out.ephemeralContainerStatuses = ephemeralStatuses;
  if (record.outcome?.reason) out.reason = record.outcome.reason;
  if (record.outcome?.message) out.message = record.outcome.message;
  return out;
}

/** The API's status with the agent's part laid over it; transition times move only on change. */
export function mergeStatus(current: PodStatus, desired: AgentPodStatus, now = Date.now()): PodStatus {
  const existing = current.conditions ?? [];
  const conditions: PodCondition[] = [];
  for (const c of existing) if (!AGENT_CONDITIONS.has(c.type)) conditions.push(c);
  for (const c of desired.conditions) {
    const prev = existing.find((e) => e.type === c.type);
    conditions.push({ ...c, lastTransitionTime: prev && prev.status === c.status && prev.lastTransitionTime ? prev.lastTransitionTime : time(now) });
  }
  // A finished pod's phase is final (the API server refuses to change it): one failed as NodeLost
  // while this agent was cut off keeps that phase and reason; its containers' states still say
  // what really happened to them.
  const final = current.phase === 'Succeeded' || current.phase === 'Failed';
  const next: PodStatus = { ...current, phase: final ? current.phase : desired.phase, conditions, containerStatuses: desired.containerStatuses, hostIP: desired.hostIP };
  if (desired.initContainerStatuses) next.initContainerStatuses = desired.initContainerStatuses;
  else delete next.initContainerStatuses;
  if (desired.ephemeralContainerStatuses) next.ephemeralContainerStatuses = desired.ephemeralContainerStatuses;
  else delete next.ephemeralContainerStatuses;
  if (desired.startTime) next.startTime = current.startTime ?? desired.startTime;
  if (desired.podIP) {
    next.podIP = desired.podIP;
    next.podIPs = [{ ip: desired.podIP }];
  }
  if (final) return next;
  if (desired.reason !== undefined) next.reason = desired.reason;
  else delete next.reason;
  if (desired.message !== undefined) next.message = desired.message;
  else delete next.message;
  return next;
}

/** A status the agent sets outright (admission rejections): phase, reason and message only. */
export function rejectedStatus(reason: string, message: string, hostIP: string): AgentPodStatus {
  return { phase: 'Failed', reason, message, conditions: [], containerStatuses: [], hostIP };
}

function newer(a: Pod | undefined, b: Pod | undefined): Pod | undefined {
  if (!a) return b;
  if (!b) return a;
  if (a.metadata.uid !== b.metadata.uid) return a;
  return Number(a.metadata.resourceVersion ?? 0) >= Number(b.metadata.resourceVersion ?? 0) ? a : b;
}

interface Pending {
  namespace: string;
  name: string;
  status: AgentPodStatus;
  version: number;
  /** Resolves waiters once this version (or a later one) is written or abandoned. */
  waiters: (() => void)[];
}

/**
 * Writes pod statuses in the background: the newest wanted status per pod, one write in flight per
 * pod, a few pods at once. Conflicts re-read the pod; a pod that is gone (or re-created under the
 * same name) is dropped; a write the API refuses (e.g. a finished pod cannot run again) is logged.
 */
export class StatusWriter {
  private readonly pending = new Map<string, Pending>();
  private readonly written = new Map<string, Pod>();
  private readonly active = new Set<string>();
  private readonly queue: string[] = [];
  private running = 0;
  private seq = 0;
  private stopped = false;

  constructor(
    private readonly client: ApiClient,
    /** The informer's copy of a pod, by uid. */
    private readonly cached: (uid: string) => Pod | undefined,
    private readonly log: Logger,
    private readonly concurrency = 4,
  ) {}

  /** Want this status for the pod; resolves when it (or something newer) has been written or abandoned. */
  set(uid: string, namespace: string, name: string, status: AgentPodStatus): Promise<void> {
    const prev = this.pending.get(uid);
    const p: Pending = { namespace, name, status, version: ++this.seq, waiters: prev?.waiters ?? [] };
    this.pending.set(uid, p);
    const done = new Promise<void>((resolve) => p.waiters.push(resolve));
    if (!this.active.has(uid) && !this.queue.includes(uid)) {
      this.queue.push(uid);
      this.pump();
    }
    return done;
  }

  forget(uid: string): void {
    const p = this.pending.get(uid);
    this.pending.delete(uid);
    this.written.delete(uid);
    p?.waiters.forEach((w) => w());
  }

  stop(): void {
    this.stopped = true;
  }

  private pump(): void {
    while (!this.stopped && this.running < this.concurrency && this.queue.length > 0) {
      const uid = this.queue.shift()!;
      this.active.add(uid);
      this.running++;
      void this.drain(uid).finally(() => {
        this.active.delete(uid);
        this.running--;
        this.pump();
      });
    }
  }

  private async drain(uid: string): Promise<void> {
    let failures = 0;
    let reread = false;
    while (!this.stopped) {
      const p = this.pending.get(uid);
      if (!p) return;
      try {
        // After a conflict only a fresh read will do; otherwise the newest copy at hand.
        const base = reread ? await this.read(p) : (newer(this.cached(uid), this.written.get(uid)) ?? (await this.read(p)));
        reread = false;
        if (!base || base.metadata.uid !== uid) {
          this.abandon(uid);
          return;
        }
        const merged = mergeStatus(base.status, p.status);
        if (!isDeepStrictEqual(merged, base.status)) {
          const out = await this.client.update<Pod>(
            { namespace: p.namespace, resource: 'pods', name: p.name, subresource: 'status' },
            { ...base, status: merged },
          );
          this.written.set(uid, out);
        }
        failures = 0;
        if (this.pending.get(uid) === p) {
          this.pending.delete(uid);
          p.waiters.splice(0).forEach((w) => w());
          return;
        }
        // A newer status was asked for meanwhile: write that one too.
      } catch (err) {
        if (err instanceof ConflictError) {
          reread = true;
        } else if (err instanceof NotFoundError) {
          this.abandon(uid);
          return;
        } else if (err instanceof InvalidError) {
          this.log.warn('the API server refused a pod status', { pod: `${p.namespace}/${p.name}`, error: errorMessage(err) });
          this.abandon(uid);
          return;
        } else {
          failures++;
          const delay = backoffMs(failures, { initialMs: 200, maxMs: 10_000 });
          this.log.warn('pod status update failed; retrying', { pod: `${p.namespace}/${p.name}`, error: errorMessage(err), retryInMs: delay });
          await new Promise((r) => setTimeout(r, delay));
        }
      }
    }
  }

  /** Give up on a pod's pending status (gone, re-created, or refused). */
  private abandon(uid: string): void {
    const p = this.pending.get(uid);
    this.pending.delete(uid);
    p?.waiters.splice(0).forEach((w) => w());
  }

  private async read(p: Pending): Promise<Pod | undefined> {
    try {
      return await this.client.get<Pod>({ namespace: p.namespace, resource: 'pods', name: p.name });
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  }
}
