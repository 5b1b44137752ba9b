// One pod's life on this node: start its containers (init containers first, one at a time), watch
// them exit, restart them per restartPolicy with crash-loop back-off, enforce activeDeadlineSeconds,
// report status, and stop it — SIGTERM, SIGKILL after the grace period — when it is deleted,
// finished, or gone; a graceful delete is then confirmed to the API server (DELETE with
// gracePeriodSeconds=0). All decisions are made in `sync`, which runs one at a time per pod and
// is re-run whenever something changes (API update, container exit, back-off or deadline timer).
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Container, LifecycleHandler, Pod, Probe } from '../shared/api/core.js';
import type { EventRecorder, InvolvedObject } from '../shared/client/events.js';
import type { ApiClient } from '../shared/client/http-client.js';
import { ConflictError, NotFoundError, errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logging.js';
import type { ConfigMap, Secret } from '../shared/api/config.js';
import type { Service } from '../shared/api/service.js';
import { configRefsOf, type ConfigKind } from '../shared/pod-config-refs.js';
import { ContainerConfigError, NO_CONFIG_SOURCES, containerArgv, containerEnv, type ConfigSource, type ConfigSources } from './container-env.js';
import { readEnviron } from './procfs.js';
import type { LogFiles } from './logs.js';
import type { AgentMetrics } from './metrics.js';
import type { ContainerRecord, PodRecord, PodStateStore, TerminationRecord } from './pod-state.js';
import { formatBackOff, nextBackOff, shouldRestart, type BackOffConfig } from './restart-policy.js';
import type { RunningContainer } from './resource-usage.js';
import { ContainerProcess, ContainerStartError, type ExitInfo } from './runtime.js';
import { computeStatus, inBackOff, initProgress, podPhase, type ProbedState, type StatusWriter } from './status.js';
import { ContainerProber, hasProbes } from './probes.js';
import { recordRunningCommand } from './exec.js';
import { MIN_POST_START_TIMEOUT_MS, PreStop, runHook, type HookSubject } from './lifecycle-hooks.js';
import type { ProbeTarget } from './probe-handlers.js';

export interface WorkerContext {
  logs: LogFiles;
  state: PodStateStore;
  status: StatusWriter;
  events: EventRecorder;
  client: ApiClient;
  log: Logger;
  metrics: AgentMetrics;
  hostIP: string;
  /** The node's allocatable resources (a container's unset limit, read through resourceFieldRef). */
  allocatable: Readonly<Record<string, string>>;
  /** Every Service, for the environment of new containers (service-env.ts). */
  services: () => Iterable<Service>;
  backoff: BackOffConfig;
  /** Where running exec'd and probe commands are recorded, for an agent killed meanwhile to stop them (exec.ts). */
  commandsDir: string;
}

/** Where a container's log is, for the log server. */
export type LogLookup =
  | { ok: true; path: string; isRunning: () => boolean }
  | { ok: false; notFound: boolean; message: string };

/** Where a command exec'd in a container runs, for the exec endpoint. */
export type ExecLookup =
  | { ok: true; env: Record<string, string>; cwd: string }
  | { ok: false; notFound: boolean; message: string };

/** The running instance an attached client reaches, for the attach endpoint. */
export type AttachLookup =
  | { ok: true; logPath: string; isRunning: () => boolean; process: ContainerProcess; stdinOnce: boolean; tty: boolean }
  | { ok: false; notFound: boolean; message: string };

const SYNC_RETRY_MS = 1000;
/** How often a container waiting for a missing ConfigMap or Secret (CreateContainerConfigError) tries again. */
const CONFIG_RETRY_MS = 2000;

type ContainerRef = Pick<ContainerRecord, 'name' | 'init' | 'ephemeral'>;

/** The container's list in the pod spec, as an event's fieldPath names it. */
function specListOf(rec: ContainerRef): 'initContainers' | 'containers' | 'ephemeralContainers' {
  return rec.init ? 'initContainers' : rec.ephemeral === true ? 'ephemeralContainers' : 'containers';
}

function recordKey(rec: ContainerRef): string {
  return `${specListOf(rec)}/${rec.name}`;
}

function freshRecord(name: string, init: boolean): ContainerRecord {
  return { name, init, restartCount: 0, nextInstance: 0, backoffMs: 0, done: false };
}

export class PodWorker {
  readonly uid: string;
  private pod: Pod;
  private readonly record: PodRecord;
  private readonly procs = new Map<string, ContainerProcess>();
  /** The probers of running app-container instances that declare probes, by record key. */
  private readonly probers = new Map<string, ContainerProber>();
  /** postStart hooks in progress, by record key: the container is not ready, nor probed, meanwhile. */
  private readonly postStarts = new Map<string, AbortController>();
  /** preStop hooks in progress, by record key: SIGTERM follows when they end. */
  private readonly preStops = new Map<string, PreStop>();
  /** Instances already sent SIGTERM (a second stop only brings the SIGKILL forward). */
  private readonly signalled = new WeakSet<ContainerProcess>();
  private syncing = false;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private removed = false;
  private stopping = false;
  private deleteConfirmed = false;
  private cleaned = false;
  private readonly backOffReported = new Set<string>();
  /** The ConfigMaps and Secrets the containers read, as fetched before the last start was attempted. */
  private sources: ConfigSources = NO_CONFIG_SOURCES;
  /** The last config error reported per container, so each is recorded as an event once. */
  private readonly configErrorReported = new Map<string, string>();
  private finishedResolve!: () => void;
  /** Resolves once the pod is removed and its processes and files are gone. */
  readonly finished = new Promise<void>((resolve) => (this.finishedResolve = resolve));

  constructor(
    private readonly ctx: WorkerContext,
    pod: Pod,
    recovered?: PodRecord,
  ) {
    this.pod = pod;
    this.uid = pod.metadata.uid ?? '';
    if (recovered && recovered.uid === this.uid) {
      this.record = recovered;
      this.adopt();
    } else {
      this.record = {
        version: 1,
        uid: this.uid,
        namespace: pod.metadata.namespace ?? '',
        name: pod.metadata.name ?? '',
        startTime: Date.now(),
        containers: [
          ...(pod.spec.initContainers ?? []).map((c) => freshRecord(c.name, true)),
          ...pod.spec.containers.map((c) => freshRecord(c.name, false)),
        ],
      };
    }
    this.recordEphemeralContainers();
  }

  /** Ephemeral containers added to the pod (pods/ephemeralcontainers) since it was last seen get a record, to start. */
  private recordEphemeralContainers(): void {
    for (const c of this.pod.spec.ephemeralContainers ?? []) {
      if (!this.record.containers.some((r) => r.ephemeral === true && r.name === c.name)) this.record.containers.push({ ...freshRecord(c.name, false), ephemeral: true });
    }
  }

  get namespace(): string {
    return this.record.namespace;
  }

  get name(): string {
    return this.record.name;
  }

  get current(): Pod {
    return this.pod;
  }

  /** Does the pod still hold its share of the node (for admission of others)? */
  get holdsResources(): boolean {
    if (this.removed || this.record.outcome) return false;
    const apiPhase = this.pod.status.phase;
    const phase = podPhase(this.pod, this.record);
    return apiPhase !== 'Succeeded' && apiPhase !== 'Failed' && phase !== 'Succeeded' && phase !== 'Failed';
  }

  /** Running container instances, for the resource usage sampler. */
  runningContainers(): RunningContainer[] {
    return this.record.containers.flatMap((c) =>
      c.running ? [{ namespace: this.namespace, pod: this.name, uid: this.uid, container: c.name, pid: c.running.pid }] : [],
    );
  }

  /** Log files of running instances (the agent bounds their size). */
  runningLogs(): string[] {
    return this.record.containers.flatMap((c) => (c.running ? [c.running.logPath] : []));
  }

  /** Re-attach to instances an earlier agent started; ones that ended meanwhile are reported as such. */
  private adopt(): void {
    for (const rec of this.record.containers) {
      if (!rec.running) continue;
      const proc = ContainerProcess.adopt(rec.running, this.ctx.log);
      if (proc) {
        this.ctx.log.info('re-adopted a running container', { pod: `${this.namespace}/${this.name}`, container: rec.name, pid: proc.pid });
        // A postStart hook cut by the earlier agent's exit is not run again (the kubelet does not either).
        this.track(rec, proc, undefined);
      } else {
        this.onExit(rec, ContainerProcess.vanished(rec.running));
      }
    }
  }

  update(pod: Pod): void {
    this.pod = pod;
    this.recordEphemeralContainers();
    // A delete with a shorter grace period brings the SIGKILL forward at once.
    if (this.stopping && pod.metadata.deletionTimestamp !== undefined) {
      for (const [key, p] of this.procs) void this.stopContainer(key, p, this.graceMs());
    }
    this.kick();
  }

  /** Set when the agent exits with --stop-pods-on-exit: nothing is started or reported again. */
  private halted = false;
  /** Set when the agent exits: no probe runs again in this process. */
  private probesHalted = false;

  /**
   * Stop the pod's processes (SIGTERM, SIGKILL after its grace period) without touching the API,
   * and start nothing again: the agent is exiting.
   */
  async stopProcesses(): Promise<void> {
    this.halted = true;
    this.stopProbers();
    this.stopPostStarts();
    await Promise.all([...this.procs].map(([key, p]) => this.stopContainer(key, p, this.graceMs())));
  }

  /** The pod is gone from the API server: stop everything and remove its files. */
  remove(): Promise<void> {
    this.removed = true;
    this.stopProbers();
    this.stopPostStarts();
    for (const [key, p] of this.procs) void this.stopContainer(key, p, this.graceMs());
    this.kick();
    return this.finished;
  }

  kick(): void {
    if (this.cleaned) return;
    if (this.syncing) {
      this.again = true;
      return;
    }
    this.syncing = true;
    void this.runSync();
  }

  private async runSync(): Promise<void> {
    try {
      do {
        this.again = false;
        await this.sync();
      } while (this.again && !this.cleaned);
    } catch (err) {
      this.ctx.log.error('pod sync failed; retrying', { pod: `${this.namespace}/${this.name}`, error: errorMessage(err) });
      this.setTimer(Date.now() + SYNC_RETRY_MS);
    } finally {
      this.syncing = false;
    }
    if (this.again && !this.cleaned) this.kick();
  }

  private specOf(rec: ContainerRecord): Container | undefined {
    return (this.pod.spec[specListOf(rec)] ?? []).find((c) => c.name === rec.name);
  }

  /** The environment and working directory a new instance of the container gets; throws ContainerConfigError. */
  private processContext(spec: Container): { env: Record<string, string>; cwd: string } {
    const workDir = this.ctx.logs.workDir(this.uid);
    return { env: containerEnv(this.pod, spec, workDir, this.ctx, this.sources), cwd: this.workingDir(spec) };
  }

  private workingDir(spec: Container): string {
    const workDir = this.ctx.logs.workDir(this.uid);
    return spec.workingDir ? path.resolve(workDir, spec.workingDir) : workDir;
  }

  /**
   * Fetch the ConfigMaps and Secrets the pod's containers read, when one of them may start now (a
   * pod that reads none, or whose containers all run, costs nothing). A read that fails is kept as
   * the reason the containers that need it wait.
   */
  private async fetchSources(): Promise<void> {
    const refs = configRefsOf(this.pod);
    if (refs.configmaps.size + refs.secrets.size === 0) return;
    if (!this.record.containers.some((c) => !c.running && !c.done)) return;
    const fetchAll = async <T>(kind: ConfigKind, names: Set<string>): Promise<Map<string, ConfigSource<T>>> =>
      new Map(await Promise.all([...names].map(async (name): Promise<[string, ConfigSource<T>]> => [name, await this.fetchSource<T>(kind, name)])));
    this.sources = {
      configmaps: await fetchAll<ConfigMap>('configmaps', refs.configmaps),
      secrets: await fetchAll<Secret>('secrets', refs.secrets),
    };
  }

  private async fetchSource<T>(kind: ConfigKind, name: string): Promise<ConfigSource<T>> {
    try {
      return { found: await this.ctx.client.get<T>({ resource: kind, namespace: this.namespace, name }) };
    } catch (err) {
      if (err instanceof NotFoundError) return { missing: true };
      return { error: `failed to read ${kind === 'configmaps' ? 'configmap' : 'secret'} "${name}": ${errorMessage(err)}` };
    }
  }

  private get involved(): InvolvedObject {
    return { kind: 'Pod', apiVersion: 'v1', name: this.name, namespace: this.namespace, uid: this.uid };
  }

  /** The pod, pointed at one of its containers, as the kubelet's container events name it (kubectl get events -o wide: SUBOBJECT). */
  private containerOf(rec: ContainerRef): InvolvedObject {
    return { ...this.involved, fieldPath: `spec.${specListOf(rec)}{${rec.name}}` };
  }

  private graceMs(): number {
    const m = this.pod.metadata;
    // Removed without a graceful delete (force-deleted): the kubelet's minimum grace period.
    if (this.removed && m.deletionTimestamp === undefined) return Math.min(2, this.pod.spec.terminationGracePeriodSeconds) * 1000;
    const seconds = m.deletionTimestamp !== undefined ? (m.deletionGracePeriodSeconds ?? this.pod.spec.terminationGracePeriodSeconds) : this.pod.spec.terminationGracePeriodSeconds;
    return Math.max(0, seconds) * 1000;
  }

  private save(): void {
    if (!this.cleaned) this.ctx.state.save(this.record);
  }

  private async sync(): Promise<void> {
    if (this.halted) return;
    const pod = this.pod;
    const apiPhase = pod.status.phase;
    const apiTerminal = apiPhase === 'Succeeded' || apiPhase === 'Failed';
    const deleting = pod.metadata.deletionTimestamp !== undefined;
    this.checkDeadline();
    if (this.removed || deleting || apiTerminal || this.record.outcome) {
      await this.terminate(deleting, apiTerminal);
      return;
    }
    await this.fetchSources();
    this.startDue();
    const phase = podPhase(pod, this.record);
    if (phase === 'Succeeded' || phase === 'Failed') {
      // Finished here (restartPolicy Never/OnFailure): remembered, so an agent restart reports the same.
      this.record.outcome = { phase };
    }
    this.save();
    this.publish();
    this.armTimer();
  }

  /** activeDeadlineSeconds: a pod active longer than that is failed (DeadlineExceeded). */
  private checkDeadline(): void {
    const ads = this.pod.spec.activeDeadlineSeconds;
    if (ads === undefined || this.record.outcome || this.removed) return;
    const deadline = this.record.startTime + ads * 1000;
    if (Date.now() < deadline) return;
    const message = 'Pod was active on the node longer than the specified deadline';
    this.record.outcome = { phase: 'Failed', reason: 'DeadlineExceeded', message };
    void this.ctx.events.record(this.involved, 'Normal', 'DeadlineExceeded', message);
  }

  private startDue(): void {
    const init = initProgress(this.record);
    if (init === 'failed') return;
    // Ephemeral containers start as soon as they are added, initialized or not, as the kubelet's do.
    for (const rec of this.record.containers) {
      if (rec.ephemeral === true && !rec.running && !rec.done) this.maybeStart(rec);
    }
    if (init === 'running') {
      const next = this.record.containers.find((c) => c.init && !(c.terminated?.exitCode === 0 && !c.running));
      if (next && !next.running && !next.done) this.maybeStart(next);
      return;
    }
    for (const rec of this.record.containers) {
      if (!rec.init && rec.ephemeral !== true && !rec.running && !rec.done) this.maybeStart(rec);
    }
  }

  private maybeStart(rec: ContainerRecord): void {
    if (!rec.terminated) {
      this.start(rec);
      return;
    }
    if (rec.restartAt === undefined) return;
    if (Date.now() >= rec.restartAt) {
      this.start(rec);
      return;
    }
    const key = `${recordKey(rec)}#${rec.terminated.instance}`;
    if (!this.backOffReported.has(key)) {
      this.backOffReported.add(key);
      void this.ctx.events.record(this.containerOf(rec), 'Warning', 'BackOff', `Back-off restarting failed container ${rec.name} in pod ${this.name}_${this.namespace}(${this.uid})`);
    }
  }

  private start(rec: ContainerRecord): void {
    const spec = this.specOf(rec);
    if (!spec) {
      rec.done = true;
      return;
    }
    let context: { env: Record<string, string>; cwd: string };
    try {
      context = this.processContext(spec);
    } catch (err) {
      if (!(err instanceof ContainerConfigError)) throw err;
      this.configFailed(rec, err.message);
      return;
    }
    if (rec.configError !== undefined) {
      delete rec.configError;
      this.configErrorReported.delete(recordKey(rec));
    }
    const instance = rec.nextInstance++;
    if (rec.terminated) {
      rec.lastTerminated = rec.terminated;
      delete rec.terminated;
      rec.restartCount++;
    }
    delete rec.restartAt;
    const now = Date.now();
    try {
      this.ctx.logs.prepareInstance(this.uid, rec.name, instance);
      const { env, cwd } = context;
      mkdirSync(cwd, { recursive: true });
      const proc = ContainerProcess.start(
        {
          argv: containerArgv(spec, env),
          env,
          cwd,
          logPath: this.ctx.logs.instanceLog(this.uid, rec.name, instance),
          exitPath: this.ctx.logs.exitFile(this.uid, rec.name, instance),
          ...(spec.stdin ? { stdinPath: this.ctx.logs.stdinFifo(this.uid, rec.name, instance) } : {}),
          ...(spec.tty ? { tty: true } : {}),
        },
        this.ctx.log,
      );
      rec.running = { instance, ...proc.record };
      this.ctx.metrics.containerStarts.inc();
      void this.ctx.events.record(this.containerOf(rec), 'Normal', 'Started', `Started container ${rec.name}`);
      this.track(rec, proc, spec.lifecycle?.postStart);
    } catch (err) {
      // Anything that keeps the process from starting (no such command, bad working dir) is a
      // StartError, as the container runtime reports it: exit code 128, restarted per policy.
      const message = err instanceof ContainerStartError ? err.message : `failed to start container: ${errorMessage(err)}`;
      this.ctx.log.warn('container failed to start', { pod: `${this.namespace}/${this.name}`, container: rec.name, error: message });
      void this.ctx.events.record(this.containerOf(rec), 'Warning', 'Failed', `Error: ${message}`);
      this.ended(rec, { instance, exitCode: 128, reason: 'StartError', message, startedAt: now, finishedAt: now });
    }
  }

  /**
   * The container cannot be created until a ConfigMap or Secret (or key) it reads exists: it waits
   * as CreateContainerConfigError — no instance, no restart counted — and is tried again shortly.
   */
  private configFailed(rec: ContainerRecord, message: string): void {
    rec.configError = message;
    const key = recordKey(rec);
    if (this.configErrorReported.get(key) === message) return;
    this.configErrorReported.set(key, message);
    this.ctx.log.warn('container config error', { pod: `${this.namespace}/${this.name}`, container: rec.name, error: message });
    void this.ctx.events.record(this.containerOf(rec), 'Warning', 'Failed', `Error: ${message}`);
  }

  private track(rec: ContainerRecord, proc: ContainerProcess, postStart: LifecycleHandler | undefined): void {
    const key = recordKey(rec);
    this.procs.set(key, proc);
    if (postStart) this.runPostStart(rec, key, proc, postStart);
    else this.startProber(rec, key, proc);
    void proc.exited.then((info) => {
      if (this.procs.get(key) === proc) {
        this.procs.delete(key);
        this.stopProber(key);
        this.postStarts.get(key)?.abort();
        this.postStarts.delete(key);
        // Exited on its own during its preStop hook: nothing is left to stop.
        this.preStops.get(key)?.abandon();
        this.preStops.delete(key);
      }
      this.onExit(rec, info);
      this.save();
      this.kick();
    });
  }

  /** Probe a new (or re-adopted) app-container instance, when its container declares probes. */
  private startProber(rec: ContainerRecord, key: string, proc: ContainerProcess): void {
    const spec = this.specOf(rec);
    if (rec.init || !spec || !hasProbes(spec) || this.stopping || this.halted || this.probesHalted || this.removed) return;
    this.stopProber(key);
    const prober = new ContainerProber(spec, proc.record.startedAt, this.targetOf(rec, spec), {
      // Readiness or started changed: one sync, hence one status write.
      changed: () => this.kick(),
      failed: (kind, probe) => this.probeFailed(rec, key, proc, kind, probe),
      event: (type, reason, message) => void this.ctx.events.record(this.containerOf(rec), type, reason, message),
    });
    this.probers.set(key, prober);
  }

  /** What a probe or hook of the container reaches: its environment, its ports, the pod's (node's) IP. */
  private targetOf(rec: ContainerRecord, spec: Container): ProbeTarget {
    return {
      podIP: this.ctx.hostIP,
      ports: spec.ports ?? [],
      recordCommand: (pid: number) => recordRunningCommand(this.ctx.commandsDir, pid),
      execContext: () => {
        const found = this.execContext(rec.name);
        return found.ok ? { env: found.env, cwd: found.cwd } : undefined;
      },
    };
  }

  private hookSubject(container: string): HookSubject {
    return { container, pod: `${this.name}_${this.namespace}(${this.uid})` };
  }

  /**
   * The postStart hook of a new instance, on its own (outside the sync): until it returns the
   * container is not ready and its probes wait; when it fails the container is killed
   * (FailedPostStartHook), and restarted or not per restartPolicy as any exit.
   */
  private runPostStart(rec: ContainerRecord, key: string, proc: ContainerProcess, handler: LifecycleHandler): void {
    const spec = this.specOf(rec);
    if (!spec) return;
    const controller = new AbortController();
    this.postStarts.set(key, controller);
    const timeoutMs = Math.max(MIN_POST_START_TIMEOUT_MS, this.pod.spec.terminationGracePeriodSeconds * 1000);
    void runHook(handler, this.targetOf(rec, spec), this.hookSubject(rec.name), timeoutMs, controller.signal).then((failure) => {
      if (this.postStarts.get(key) === controller) this.postStarts.delete(key);
      if (controller.signal.aborted || this.stopping || this.halted || this.removed || this.procs.get(key) !== proc) return;
      if (failure === undefined) {
        this.startProber(rec, key, proc);
        // Ready now (or probed from now on): one sync, hence one status write.
        this.kick();
        return;
      }
      this.ctx.log.warn('postStart hook failed', { pod: `${this.namespace}/${this.name}`, container: rec.name, error: failure });
      void this.ctx.events.record(this.containerOf(rec), 'Warning', 'FailedPostStartHook', failure);
      void this.ctx.events.record(this.containerOf(rec), 'Normal', 'Killing', 'FailedPostStartHook');
      void this.stopContainer(key, proc, this.pod.spec.terminationGracePeriodSeconds * 1000);
    });
  }

  private stopPostStarts(): void {
    for (const c of this.postStarts.values()) c.abort();
    this.postStarts.clear();
  }

  /**
   * Stop a running instance as the kubelet's killContainer does: its preStop hook first (when it
   * has one and there is a grace period), then SIGTERM, SIGKILL once the grace period — hook
   * included, at least 2 s after the hook — has passed. Called again, it only brings the end forward.
   */
  private stopContainer(key: string, proc: ContainerProcess, graceMs: number): Promise<ExitInfo> {
    const inHook = this.preStops.get(key);
    if (inHook) {
      inHook.shorten(graceMs);
      return proc.exited;
    }
    const terminate = (ms: number): Promise<ExitInfo> => {
      this.signalled.add(proc);
      return proc.stop(ms);
    };
    if (this.signalled.has(proc)) return terminate(graceMs);
    const rec = this.record.containers.find((c) => recordKey(c) === key);
    const spec = rec ? this.specOf(rec) : undefined;
    const handler = spec?.lifecycle?.preStop;
    if (!rec || !spec || !handler || graceMs <= 0 || this.probesHalted) return terminate(graceMs);
    const preStop = new PreStop(
      (signal) => runHook(handler, this.targetOf(rec, spec), this.hookSubject(rec.name), graceMs, signal),
      graceMs,
      (remainingMs) => {
        if (this.preStops.get(key) === preStop) this.preStops.delete(key);
        void terminate(remainingMs);
      },
      (message) => {
        this.ctx.log.warn('preStop hook failed', { pod: `${this.namespace}/${this.name}`, container: rec.name, error: message });
        void this.ctx.events.record(this.containerOf(rec), 'Warning', 'FailedPreStopHook', message);
      },
    );
    this.preStops.set(key, preStop);
    return proc.exited;
  }

  private stopProber(key: string): void {
    this.probers.get(key)?.stop();
    this.probers.delete(key);
  }

  private stopProbers(): void {
    for (const p of this.probers.values()) p.stop();
    this.probers.clear();
  }

  /** The agent is exiting: probes stop for good (the processes may run on, to be re-adopted). */
  stopProbes(): void {
    this.probesHalted = true;
    this.stopProbers();
    // Hooks too: a restarted agent stops a container being stopped again, preStop included.
    this.stopPostStarts();
    for (const h of this.preStops.values()) h.abandon();
    this.preStops.clear();
  }

  /**
   * A liveness or startup probe failed: the instance is killed (SIGTERM, SIGKILL after the probe's
   * grace period or the pod's) and, once it exited, restarted or not per restartPolicy as any exit.
   */
  private probeFailed(rec: ContainerRecord, key: string, proc: ContainerProcess, kind: 'liveness' | 'startup', probe: Probe): void {
    this.stopProber(key);
    if (this.stopping || this.halted || this.removed || this.procs.get(key) !== proc) return;
    // Killed by a signal the exit is non-zero: restarted unless the pod never restarts.
    const restarts = this.pod.spec.restartPolicy !== 'Never';
    void this.ctx.events.record(this.containerOf(rec), 'Normal', 'Killing', `Container ${rec.name} failed ${kind} probe${restarts ? ', will be restarted' : ''}`);
    const graceSeconds = probe.terminationGracePeriodSeconds ?? this.pod.spec.terminationGracePeriodSeconds;
    void this.stopContainer(key, proc, Math.max(0, graceSeconds) * 1000);
  }

  private onExit(rec: ContainerRecord, info: ExitInfo): void {
    const run = rec.running;
    if (!run) return;
    delete rec.running;
    const t: TerminationRecord = {
      instance: run.instance,
      exitCode: info.exitCode,
      reason: info.unknown ? 'ContainerStatusUnknown' : info.exitCode === 0 ? 'Completed' : 'Error',
      startedAt: run.startedAt,
      finishedAt: Math.max(info.finishedAt, run.startedAt),
    };
    if (info.signal !== undefined) t.signal = info.signal;
    if (info.unknown) t.message = 'The container could not be located when the pod was terminated';
    this.ended(rec, t);
  }

  /** Record how an instance ended and decide whether (and when) it restarts. */
  private ended(rec: ContainerRecord, t: TerminationRecord): void {
    rec.terminated = t;
    this.ctx.metrics.containerExits.inc({ reason: t.reason });
    const policy = this.pod.spec.restartPolicy;
    // Init containers run to completion: a failed one is retried unless the pod never restarts.
    // Ephemeral containers run once.
    const restart = this.stopping || this.record.outcome || rec.ephemeral === true
      ? false
      : rec.init
        ? policy !== 'Never' && t.exitCode !== 0
        : shouldRestart(policy, t.exitCode);
    if (!restart) {
      rec.done = true;
      delete rec.restartAt;
      return;
    }
    const { delayMs, nextMs } = nextBackOff(this.ctx.backoff, rec.backoffMs, t.finishedAt - t.startedAt);
    rec.backoffMs = nextMs;
    rec.restartAt = t.finishedAt + delayMs;
  }

  /** The waiting message while a container sits out its back-off. */
  private backOffMessage = (rec: ContainerRecord): string => {
    const delay = rec.restartAt !== undefined && rec.terminated ? rec.restartAt - rec.terminated.finishedAt : rec.backoffMs;
    return `back-off ${formatBackOff(Math.max(0, delay))} restarting failed container=${rec.name} pod=${this.name}_${this.namespace}(${this.uid})`;
  };

  private publish(): Promise<void> {
    return this.ctx.status.set(this.uid, this.namespace, this.name, computeStatus(this.pod, this.record, this.ctx.hostIP, this.backOffMessage, this.probedState));
  }

  /** What a running instance's probes say; one whose probes have stopped (being killed, pod stopping) is not ready. */
  private probedState = (rec: ContainerRecord): ProbedState | undefined => {
    // Not started (nor ready) until its postStart hook returned, as the kubelet holds it.
    if (this.postStarts.has(recordKey(rec))) return { started: false, ready: false };
    const prober = this.probers.get(recordKey(rec));
    if (prober) return prober;
    const spec = this.specOf(rec);
    return spec && hasProbes(spec) ? { started: spec.startupProbe === undefined, ready: false } : undefined;
  }

  private setTimer(at: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.kick();
    }, Math.max(0, at - Date.now()));
  }

  /** Wake for the next due restart or the active deadline. */
  private armTimer(): void {
    let at = Number.POSITIVE_INFINITY;
    for (const rec of this.record.containers) {
      if (rec.configError !== undefined && !rec.running && !rec.done) at = Math.min(at, Date.now() + CONFIG_RETRY_MS);
      else if (inBackOff(rec) && rec.restartAt! < at) at = rec.restartAt!;
    }
    const ads = this.pod.spec.activeDeadlineSeconds;
    if (ads !== undefined) at = Math.min(at, this.record.startTime + ads * 1000);
    if (at === Number.POSITIVE_INFINITY) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      return;
    }
    this.setTimer(at);
  }

  private async terminate(deleting: boolean, apiTerminal: boolean): Promise<void> {
    this.stopping = true;
    this.stopProbers();
    this.stopPostStarts();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const rec of this.record.containers) {
      if (!rec.running) {
        rec.done = true;
        delete rec.restartAt;
      }
    }
    if (this.procs.size > 0) {
      const grace = this.graceMs();
      const stops: Promise<ExitInfo>[] = [];
      for (const [key, proc] of this.procs) {
        const rec = this.record.containers.find((c) => recordKey(c) === key);
        if (rec) void this.ctx.events.record(this.containerOf(rec), 'Normal', 'Killing', `Stopping container ${rec.name}`);
        stops.push(this.stopContainer(key, proc, grace));
      }
      this.ctx.log.info('stopping pod', { pod: `${this.namespace}/${this.name}`, graceMs: grace, containers: stops.length });
      await Promise.all(stops);
      // Let the exit handlers (queued on the same promises) record the terminations first.
      await new Promise((r) => setImmediate(r));
    }
    // Finished per the API server (e.g. failed as NodeLost while this agent was away): the
    // containers' statuses are brought up to date under the phase and reason it already has.
    if (apiTerminal && !this.record.outcome) {
      const phase = this.pod.status.phase as 'Succeeded' | 'Failed';
      this.record.outcome = { phase, ...(this.pod.status.reason ? { reason: this.pod.status.reason } : {}), ...(this.pod.status.message ? { message: this.pod.status.message } : {}) };
    }
    if (this.record.outcome && !deleting && !this.removed) {
      this.save();
      // Not awaited: the status writer retries on its own, and an unreachable API server must not
      // hold up this pod's next sync.
      void this.publish();
    }
    if (deleting && !this.removed && !this.deleteConfirmed) {
      await this.confirmDelete();
      this.deleteConfirmed = true;
    }
    if (this.removed) {
      this.cleanup();
      return;
    }
    this.save();
  }

  private async confirmDelete(): Promise<void> {
    try {
      await this.ctx.client.delete({ namespace: this.namespace, resource: 'pods', name: this.name }, { gracePeriodSeconds: 0, preconditions: { uid: this.uid } });
      this.ctx.metrics.apiWrites.inc({ kind: 'delete', result: 'ok' });
    } catch (err) {
      // Gone already, or the name now belongs to a new pod: either way this one is deleted.
      if (err instanceof NotFoundError || err instanceof ConflictError) return;
      this.ctx.metrics.apiWrites.inc({ kind: 'delete', result: 'error' });
      throw err;
    }
  }

  private cleanup(): void {
    if (this.cleaned) return;
    this.cleaned = true;
    this.stopProbers();
    this.stopPostStarts();
    if (this.timer) clearTimeout(this.timer);
    this.ctx.status.forget(this.uid);
    this.ctx.logs.forgetRotations(this.ctx.logs.podDir(this.uid));
    this.ctx.logs.removePod(this.uid);
    this.finishedResolve();
  }

  /** Where a command exec'd in the container runs: only a running container has one. */
  execContext(container: string): ExecLookup {
    const rec = this.record.containers.find((c) => c.name === container);
    const spec = rec ? this.specOf(rec) : undefined;
    if (!rec || !spec) return { ok: false, notFound: true, message: `container ${container} is not valid for pod ${this.name}` };
    if (!rec.running) return { ok: false, notFound: true, message: `container not found ("${container}")` };
    // The environment the container's process was started with (what its ConfigMaps and Secrets
    // held then, as the container itself sees it), read back from the process.
    const env = readEnviron(rec.running.pid);
    if (env === undefined) return { ok: false, notFound: true, message: `container not found ("${container}")` };
    return { ok: true, env, cwd: this.workingDir(spec) };
  }

  /** What an attached client reaches: the running instance's output (its log) and stdin. */
  attachTarget(container: string): AttachLookup {
    const rec = this.record.containers.find((c) => c.name === container);
    const spec = rec ? this.specOf(rec) : undefined;
    if (!rec || !spec) return { ok: false, notFound: true, message: `container ${container} is not valid for pod ${this.name}` };
    const proc = this.procs.get(recordKey(rec));
    if (!rec.running || !proc?.running) return { ok: false, notFound: true, message: `container not found ("${container}")` };
    const instance = rec.running.instance;
    return {
      ok: true,
      logPath: this.ctx.logs.instanceLog(this.uid, container, instance),
      isRunning: () => proc.running,
      process: proc,
      stdinOnce: spec.stdinOnce === true,
      tty: spec.tty === true,
    };
  }

  /** The log file of a container's latest instance (or the one before, for `previous`). */
  logFor(container: string, previous: boolean): LogLookup {
    const rec = this.record.containers.find((c) => c.name === container);
    const podName = this.name;
    if (!rec) return { ok: false, notFound: true, message: `container ${container} is not valid for pod ${podName}` };
    const latest = rec.running?.instance ?? rec.terminated?.instance;
    if (latest === undefined) {
      return { ok: false, notFound: false, message: `container "${container}" in pod "${podName}" is waiting to start: ${rec.init || initProgress(this.record) === 'done' ? 'ContainerCreating' : 'PodInitializing'}` };
    }
    const instance = previous ? latest - 1 : latest;
    if (instance < 0) return { ok: false, notFound: false, message: `previous terminated container "${container}" in pod "${podName}" not found` };
    return {
      ok: true,
      path: this.ctx.logs.instanceLog(this.uid, container, instance),
      isRunning: () => rec.running?.instance === instance,
    };
  }
}
