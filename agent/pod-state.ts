// What the agent remembers about each pod across its own restarts: one small JSON file per pod
// (`<root-dir>/pods/<uid>/state.json`), rewritten atomically on every container start and exit.
// It holds the pids of running instances (to re-adopt them), restart counts, back-off and the last
// terminations, so a restarted agent reports the same statuses and keeps the same back-off.
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logging.js';

const TerminationSchema = z.object({
  instance: z.number().int(),
  exitCode: z.number().int(),
  signal: z.number().int().optional(),
  /** Completed | Error | StartError | ContainerStatusUnknown | DeadlineExceeded … */
  reason: z.string(),
  message: z.string().optional(),
  /** ms since the epoch */
  startedAt: z.number(),
  finishedAt: z.number(),
});
export type TerminationRecord = z.infer<typeof TerminationSchema>;

const RunningSchema = z.object({
  instance: z.number().int(),
  pid: z.number().int().positive(),
  startTicks: z.number().optional(),
  startedAt: z.number(),
  exitPath: z.string(),
  logPath: z.string(),
});
export type RunningRecord = z.infer<typeof RunningSchema>;

const ContainerRecordSchema = z.object({
  name: z.string(),
  init: z.boolean(),
  /** Added to the running pod (spec.ephemeralContainers): started once, never restarted, not counted in the phase. */
  ephemeral: z.boolean().optional(),
  restartCount: z.number().int(),
  /** Number of the next instance to start (instances are numbered from 0, like the kubelet's log files). */
  nextInstance: z.number().int(),
  /** Back-off before the next restart after a crash (0 = restart at once). */
  backoffMs: z.number(),
  running: RunningSchema.optional(),
  /** How the latest instance ended, when none is running. */
  terminated: TerminationSchema.optional(),
  /** How the instance before the latest one ended (the status's lastState). */
  lastTerminated: TerminationSchema.optional(),
  /** ms since the epoch when a pending restart is due. */
  restartAt: z.number().optional(),
  /** Finished for good: it will not be restarted. */
  done: z.boolean(),
  /** Why the next instance cannot be created (a ConfigMap or Secret it reads is missing): CreateContainerConfigError. */
  configError: z.string().optional(),
});
export type ContainerRecord = z.infer<typeof ContainerRecordSchema>;

const PodRecordSchema = z.object({
  version: z.literal(1),
  uid: z.string(),
  namespace: z.string(),
  name: z.string(),
  /** ms since the epoch the agent accepted the pod (status.startTime). */
  startTime: z.number(),
  /** Init containers first, in order, then the app containers, then ephemeral ones as they were added. */
  containers: z.array(ContainerRecordSchema),
  /** Terminal outcome decided here; kept so that a restarted agent still reports it. */
  outcome: z
    .object({ phase: z.enum(['Succeeded', 'Failed']), reason: z.string().optional(), message: z.string().optional() })
    .optional(),
});
export type PodRecord = z.infer<typeof PodRecordSchema>;

export class PodStateStore {
  constructor(
    private readonly podsDir: string,
    private readonly log: Logger,
  ) {}

  file(uid: string): string {
    return path.join(this.podsDir, uid, 'state.json');
  }

  save(record: PodRecord): void {
    const file = this.file(record.uid);
    mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.tmp`;
    writeFileSync(tmp, JSON.stringify(record));
    renameSync(tmp, file);
  }

  /** Every readable record; an unreadable one is logged and skipped (its pod is treated as new). */
  loadAll(): PodRecord[] {
    let uids: string[];
    try {
      uids = readdirSync(this.podsDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const out: PodRecord[] = [];
    for (const uid of uids) {
      let raw: string;
      try {
        raw = readFileSync(this.file(uid), 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
      try {
        const parsed = PodRecordSchema.safeParse(JSON.parse(raw));
        if (parsed.success && parsed.data.uid === uid) out.push(parsed.data);
        else this.log.warn('ignoring a malformed pod state file', { file: this.file(uid) });
      } catch (err) {
        this.log.warn('ignoring an unreadable pod state file', { file: this.file(uid), error: errorMessage(err) });
      }
    }
    return out;
  }
}
