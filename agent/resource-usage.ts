// What the node's containers use, sampled from /proc every --stats-interval: the source of the
// metrics API (`kubectl top`), which the API server builds from each agent's latest sample
// (served at GET /stats/resource). As the kubelet's resource metrics: a container's CPU is the
// rate over the window between the last two samples, its memory what is resident at the end.
//
// A container is its shim's process group (runtime.ts starts each in its own), so the sample
// sums every process in the group, and the CPU of children that ended inside it (their time is
// added to the parent that waited for them). The node's usage is its containers' plus the agent's.
import { formatTime } from '../shared/api/meta.js';
import type { NodeUsageSample, PodUsageSample } from '../shared/api/metrics.js';
import { errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logging.js';
import { CLOCK_TICKS_PER_SECOND, readProcessTable, readRssBytes, type ProcStat } from './procfs.js';

/** One running container instance, as the pod workers know it. */
export interface RunningContainer {
  namespace: string;
  pod: string;
  uid: string;
  container: string;
  /** The shim's pid, which is also its process group's id. */
  pid: number;
}

interface Reading {
  atMs: number;
  /** CPU ticks so far per container instance (`uid/container/pid`). */
  ticks: Map<string, number>;
  /** The agent's own CPU so far, µs. */
  agentCpuMicros: number;
}

const NANOS_PER_TICK = 1e9 / CLOCK_TICKS_PER_SECOND;

export class ResourceUsageSampler {
  private last: Reading | undefined;
  private latestSample: NodeUsageSample | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly nodeName: string,
    private readonly running: () => RunningContainer[],
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.sampleLogged();
    this.timer = setInterval(() => this.sampleLogged(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The latest complete window; undefined until two samples have been taken. */
  get latest(): NodeUsageSample | undefined {
    return this.latestSample;
  }

  private sampleLogged(): void {
    try {
      this.sample();
    } catch (err) {
      // /proc unreadable in some unexpected way: no metrics this round, the agent carries on.
      this.log.warn('cannot sample resource usage', { error: errorMessage(err) });
    }
  }

  /** Take one sample now; completes a window when there was one before. */
  sample(): void {
    const atMs = Date.now();
    const groups = new Map<number, ProcStat[]>();
    for (const st of readProcessTable()) {
      const members = groups.get(st.pgid);
      if (members) members.push(st);
      else groups.set(st.pgid, [st]);
    }
    const own = process.cpuUsage();
    const reading: Reading = { atMs, ticks: new Map(), agentCpuMicros: own.user + own.system };
    const prev = this.last;
    const seconds = prev ? (atMs - prev.atMs) / 1000 : 0;
    let nodeNanos = prev && seconds > 0 ? Math.max(0, ((reading.agentCpuMicros - prev.agentCpuMicros) * 1000) / seconds) : 0;
    let nodeBytes = process.memoryUsage().rss;
    const pods = new Map<string, PodUsageSample>();
    for (const c of this.running()) {
      const members = groups.get(c.pid) ?? [];
      if (members.length === 0) continue;
      const key = `${c.uid}/${c.container}/${c.pid}`;
      let ticks = 0;
      let bytes = 0;
      for (const m of members) {
        ticks += m.utimeTicks + m.stimeTicks + m.childTicks;
        bytes += readRssBytes(m.pid) ?? 0;
      }
      reading.ticks.set(key, ticks);
      nodeBytes += bytes;
      const before = prev?.ticks.get(key);
      if (before === undefined || seconds <= 0) continue;
      // A process of the group that ended takes its time with it (unless its parent waited for
      // it): the sum can shrink, and a window never reports less than nothing.
      const cpuNanoCores = Math.round(Math.max(0, ((ticks - before) * NANOS_PER_TICK) / seconds));
      nodeNanos += cpuNanoCores;
      let pod = pods.get(c.uid);
      if (!pod) {
        pod = { namespace: c.namespace, name: c.pod, uid: c.uid, containers: [] };
        pods.set(c.uid, pod);
      }
      pod.containers.push({ name: c.container, usage: { cpuNanoCores, memoryBytes: bytes } });
    }
    this.last = reading;
    if (!prev || seconds <= 0) return;
    this.latestSample = {
      nodeName: this.nodeName,
      timestamp: formatTime(new Date(atMs)),
      windowSeconds: seconds,
      node: { cpuNanoCores: Math.round(nodeNanos), memoryBytes: nodeBytes },
      pods: [...pods.values()],
    };
  }
}
