// Container logs on disk: one file per container instance (`<n>.log`, n = the instance number, as
// the kubelet keeps `<restartCount>.log`), so the previous instance's log is simply `<n-1>.log`.
// A process writes its log file directly (no pipe through the agent, so it survives agent
// restarts); the size bound is kept by rotation: past half the limit the file is copied to
// `<n>.log.1` and truncated, so an instance keeps at most about `maxBytes` (the newest). Rotation
// is copy-then-truncate under a writing process: output written in between is lost, as with
// logrotate's copytruncate.
import { once } from 'node:events';
import { copyFileSync, mkdirSync, readdirSync, rmSync, statSync, truncateSync } from 'node:fs';
import { open, readFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logging.js';

const FOLLOW_POLL_MS = 200;

export interface ReadOptions {
  tailLines?: number;
  limitBytes?: number;
  /** Follow only: start at this byte of the current file (attach: what is written from then on). */
  fromByte?: number;
}

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ENOENT';
}

async function readIfExists(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    if (isMissing(err)) return Buffer.alloc(0);
    throw err;
  }
}

/** Index where the last `n` lines of `data` begin (a final line without '\n' counts). */
export function tailStart(data: Buffer, n: number): number {
  if (n <= 0) return data.length;
  let i = data.length - 1;
  if (i >= 0 && data[i] === 0x0a) i--;
  let lines = 0;
  for (; i >= 0; i--) {
    if (data[i] === 0x0a && ++lines === n) return i + 1;
  }
  return 0;
}

export class LogFiles {
  /** Rotations per log file, so followers know to finish the rotated copy first. */
  private readonly rotations = new Map<string, number>();

  constructor(
    readonly rootDir: string,
    private readonly maxBytes: number,
    private readonly log: Logger,
  ) {}

  podDir(uid: string): string {
    return path.join(this.rootDir, 'pods', uid);
  }

  containerDir(uid: string, container: string): string {
    return path.join(this.podDir(uid), 'containers', container);
  }

  /** The pod's working directory (every container of the pod starts there, like a shared volume). */
  workDir(uid: string): string {
    return path.join(this.podDir(uid), 'work');
  }

  instanceLog(uid: string, container: string, instance: number): string {
    return path.join(this.containerDir(uid, container), `${instance}.log`);
  }

  exitFile(uid: string, container: string, instance: number): string {
    return path.join(this.containerDir(uid, container), `${instance}.exit`);
  }

  /** The stdin FIFO of a container instance with `stdin: true`. */
  stdinFifo(uid: string, container: string, instance: number): string {
    return path.join(this.containerDir(uid, container), `${instance}.stdin`);
  }

  /** Directories for a new instance; files older than the previous instance are removed. */
  prepareInstance(uid: string, container: string, instance: number): void {
    const dir = this.containerDir(uid, container);
    mkdirSync(dir, { recursive: true });
    mkdirSync(this.workDir(uid), { recursive: true });
    for (const f of readdirSync(dir)) {
      const n = Number(f.split('.')[0]);
      if (Number.isInteger(n) && n < instance - 1) rmSync(path.join(dir, f), { force: true });
    }
  }

  removePod(uid: string): void {
    rmSync(this.podDir(uid), { recursive: true, force: true });
  }

  rotation(logPath: string): number {
    return this.rotations.get(logPath) ?? 0;
  }

  /** Keep a running instance's log within bounds (called periodically). */
  enforceLimit(logPath: string): void {
    let size: number;
    try {
      size = statSync(logPath).size;
    } catch (err) {
      if (isMissing(err)) return;
      throw err;
    }
    if (size <= this.maxBytes / 2) return;
    try {
      copyFileSync(logPath, `${logPath}.1`);
      truncateSync(logPath, 0);
      this.rotations.set(logPath, this.rotation(logPath) + 1);
    } catch (err) {
      this.log.warn('log rotation failed', { file: logPath, error: errorMessage(err) });
    }
  }

  forgetRotations(prefix: string): void {
    for (const k of [...this.rotations.keys()]) if (k.startsWith(prefix)) this.rotations.delete(k);
  }

  /** The whole retained log of one instance (rotated part first), and how much of the live file it covered. */
  async read(logPath: string, opts: ReadOptions = {}): Promise<{ data: Buffer; offset: number; rotation: number }> {
    const rotation = this.rotation(logPath);
    const older = await readIfExists(`${logPath}.1`);
    const current = await readIfExists(logPath);
    let data = older.length > 0 ? Buffer.concat([older, current]) : current;
    if (opts.tailLines !== undefined) data = data.subarray(tailStart(data, opts.tailLines));
    if (opts.limitBytes !== undefined) data = data.subarray(0, opts.limitBytes);
    return { data, offset: current.length, rotation };
  }

  /**
   * Stream an instance's log: what is there, then what is appended, until the instance has ended
   * and everything it wrote is sent, `limitBytes` is reached, or `signal` aborts. The live file is
   * read through a handle opened up front, so a pod removed right after its process ended (its
   * directory deleted) still has its last lines delivered.
   */
  async follow(logPath: string, opts: ReadOptions, out: Writable, isRunning: () => boolean, signal: AbortSignal): Promise<void> {
    let fh: FileHandle;
    try {
      fh = await open(logPath, 'r');
    } catch (err) {
      if (!isMissing(err)) throw err;
      const { data } = await this.read(logPath, opts);
      out.write(data);
      return;
    }
    try {
      await this.followOpen(fh, logPath, opts, out, isRunning, signal);
    } finally {
      await fh.close();
    }
  }

  private async followOpen(fh: FileHandle, logPath: string, opts: ReadOptions, out: Writable, isRunning: () => boolean, signal: AbortSignal): Promise<void> {
    let budget = opts.limitBytes ?? Number.POSITIVE_INFINITY;
    const send = async (chunk: Buffer): Promise<boolean> => {
      if (chunk.length === 0) return budget > 0 && !signal.aborted;
      const part = chunk.length > budget ? chunk.subarray(0, budget) : chunk;
      budget -= part.length;
      if (!out.write(part)) {
        try {
          await once(out, 'drain', { signal });
        } catch (err) {
          if (!signal.aborted) throw err;
        }
      }
      return budget > 0 && !signal.aborted;
    };
    const readFrom = async (offset: number): Promise<Buffer> => {
      const size = (await fh.stat()).size;
      if (size <= offset) return Buffer.alloc(0);
      const buf = Buffer.alloc(size - offset);
      const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
      return buf.subarray(0, bytesRead);
    };

    let rotation = this.rotation(logPath);
    const older = await readIfExists(`${logPath}.1`);
    const current = await readFrom(0);
    let offset = current.length;
    let initial = older.length > 0 ? Buffer.concat([older, current]) : current;
    if (opts.tailLines !== undefined) initial = initial.subarray(tailStart(initial, opts.tailLines));
    if (opts.fromByte !== undefined) initial = current.subarray(Math.min(opts.fromByte, current.length));
    if (!(await send(initial))) return;
    for (;;) {
      // Read the process state before the file, so output written just before it ended is not missed.
      const running = isRunning();
      if (this.rotation(logPath) !== rotation) {
        rotation = this.rotation(logPath);
        const rotated = await readIfExists(`${logPath}.1`);
        if (!(await send(rotated.subarray(Math.min(offset, rotated.length))))) return;
        offset = 0;
      }
      const fresh = await readFrom(offset);
      if (fresh.length > 0) {
        offset += fresh.length;
        if (!(await send(fresh))) return;
        continue;
      }
      if (!running || signal.aborted) return;
      await new Promise<void>((resolve) => {
        const onAbort = () => {
          clearTimeout(t);
          resolve();
        };
        const t = setTimeout(() => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        }, FOLLOW_POLL_MS);
        signal.addEventListener('abort', onAbort, { once: true });
      });
    }
  }
}
