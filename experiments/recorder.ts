// What a run measured: per job its submit time and its first and last bind (seen through a pod
// watch on the run's namespace), and per scheduler its attempts, conflicts, bound pods and busy
// time (from its /metrics) — written as CSV and JSON.
import { writeFileSync } from 'node:fs';
import type { Pod } from '../shared/api/core.js';
import { POD_GROUP_LABEL } from '../shared/api/scheduling.js';
import type { ApiClient } from '../shared/client/http-client.js';
import { metricValue, type SchedulerProcess } from '../test/schedulers/scheduler-process.js';
import type { ClassName, PlannedJob } from './workload.js';

export interface JobRecord {
  job: string;
  cls: ClassName;
  scheduler: string;
  tasks: number;
  /** Epoch ms. */
  submittedAt: number;
  firstBoundAt?: number;
  lastBoundAt?: number;
  bound: number;
}

export interface SchedulerRecord {
  scheduler: string;
  /** Scheduling attempts by final result (scheduled, unschedulable, error); a lost commit counts under conflicts only. */
  attempts: number;
  /** Commits the API server refused because another commit got there first. */
  conflicts: number;
  bound: number;
  /** Seconds spent deciding, simulated decision time included. */
  busySeconds: number;
}

export class Recorder {
  readonly jobs = new Map<string, JobRecord>();
  private readonly boundPods = new Set<string>();
  private readonly abort = new AbortController();
  private watching: Promise<void> | undefined;
  private waiters: (() => void)[] = [];
  private failure: Error | undefined;

  constructor(
    private readonly client: ApiClient,
    private readonly namespace: string,
  ) {}

  /** Start watching the namespace's pods (from now: it is empty). */
  async start(): Promise<void> {
    const list = await this.client.list<{ metadata: { resourceVersion?: string } }>({ namespace: this.namespace, resource: 'pods' });
    this.watching = this.client
      .watch<Pod>({ namespace: this.namespace, resource: 'pods' }, { resourceVersion: list.metadata.resourceVersion, timeoutSeconds: 3600 }, (ev) => {
        if (ev.type === 'ERROR') throw new Error(`the recorder's pod watch failed: ${JSON.stringify(ev.object).slice(0, 300)}`);
        if (ev.type === 'ADDED' || ev.type === 'MODIFIED') this.observe(ev.object);
      }, this.abort.signal)
      .catch((err: unknown) => {
        this.failure = err instanceof Error ? err : new Error(String(err));
        this.wake();
      });
  }

  submitted(job: PlannedJob, at: number): void {
    this.jobs.set(job.name, { job: job.name, cls: job.cls, scheduler: job.scheduler, tasks: job.tasks, submittedAt: at, bound: 0 });
  }

  private observe(pod: Pod): void {
    const name = pod.metadata.name ?? '';
    if (!pod.spec.nodeName || this.boundPods.has(name)) return;
    this.boundPods.add(name);
    const job = this.jobs.get(pod.metadata.labels?.[POD_GROUP_LABEL] ?? '');
    if (!job) return;
    const now = Date.now();
    job.firstBoundAt ??= now;
    job.lastBoundAt = now;
    job.bound++;
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Every submitted job fully bound. */
  get complete(): boolean {
    for (const j of this.jobs.values()) if (j.bound < j.tasks) return false;
    return true;
  }

  /** Wait until every submitted job is bound, or `timeoutMs`; true when complete. */
  async waitComplete(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.complete) {
      if (this.failure) throw this.failure;
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 500));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return true;
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.watching;
  }
}

/** A scheduler's counters, summed over its labels, read once the run is over. */
export async function scrapeScheduler(p: SchedulerProcess): Promise<SchedulerRecord> {
  const text = await p.metrics();
  return {
    scheduler: p.name,
    attempts: metricValue(text, 'scheduler_schedule_attempts_total'),
    conflicts: metricValue(text, 'cell_scheduler_conflicts_total'),
    bound: metricValue(text, 'cell_scheduler_bound_pods_total'),
    busySeconds: metricValue(text, 'cell_scheduler_busy_seconds_total'),
  };
}

/** Rows of plain values as CSV (RFC 4180 quoting where needed). */
export function toCsv(rows: readonly Record<string, string | number | boolean | undefined>[]): string {
  if (rows.length === 0) return '';
  const columns = Object.keys(rows[0]!);
  const cell = (v: string | number | boolean | undefined): string => {
    const s = v === undefined ? '' : String(v);
    return /[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  return [columns.join(','), ...rows.map((r) => columns.map((c) => cell(r[c])).join(','))].join('\n') + '\n';
}

export function writeCsv(file: string, rows: readonly Record<string, string | number | boolean | undefined>[]): void {
  writeFileSync(file, toCsv(rows));
}

export function writeJson(file: string, value: unknown): void {
  writeFileSync(file, JSON.stringify(value, null, 2) + '\n');
}
