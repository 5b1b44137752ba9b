// Reading Linux /proc: is a pid still the process we started (re-adoption after an agent restart
// must not mistake a recycled pid for a container), and a process's CPU time and memory (metrics,
// scale-test reports). Everything returns undefined when /proc does not have the answer.
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcStat {
  pid: number;
  /** One-letter state: R, S, D, Z (zombie), T, … */
  state: string;
  pgid: number;
  /** User + system CPU time in clock ticks. */
  utimeTicks: number;
  stimeTicks: number;
  /** CPU time of its children that ended and were waited for, in clock ticks. */
  childTicks: number;
  /** Start time after boot, in clock ticks: with the pid, identifies one process for its lifetime. */
  startTicks: number;
}

/** Clock ticks per second (USER_HZ): 100 on every Linux architecture Node supports. */
export const CLOCK_TICKS_PER_SECOND = 100;

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ESRCH' || code === 'ENOTDIR';
}

/** /proc/<pid>/<file>, or undefined when the process does not exist (or /proc is absent). */
function readProcFile(pid: number, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

/** /proc/<pid>/stat, or undefined when the process does not exist (or /proc is absent). */
export function readProcStat(pid: number): ProcStat | undefined {
  const text = readProcFile(pid, 'stat');
  if (text === undefined) return undefined;
  // The command name (field 2) is in parentheses and may itself contain spaces or ')'.
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const f = text.slice(close + 2).trim().split(/\s+/);
  // f[0] is field 3 (state); field n is f[n - 3].
  return {
    pid,
    state: f[0] ?? '?',
    pgid: Number(f[2]),
    utimeTicks: Number(f[11]),
    stimeTicks: Number(f[12]),
    childTicks: Number(f[13]) + Number(f[14]),
    startTicks: Number(f[19]),
  };
}

/** Every process /proc lists now (ones that end while it is read are left out); empty without /proc. */
export function readProcessTable(): ProcStat[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch (err) {
    if (isMissing(err)) return [];
    throw err;
  }
  const out: ProcStat[] = [];
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const st = readProcStat(Number(e));
    if (st) out.push(st);
  }
  return out;
}

/** NUL-separated argv of a process, or undefined when it is gone. */
export function readCmdline(pid: number): string[] | undefined {
  const raw = readProcFile(pid, 'cmdline');
  if (raw === undefined) return undefined;
  const parts = raw.split('\0');
  if (parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/** The environment a process was started with (/proc/<pid>/environ), or undefined when it is gone. */
export function readEnviron(pid: number): Record<string, string> | undefined {
  const raw = readProcFile(pid, 'environ');
  if (raw === undefined) return undefined;
  const env: Record<string, string> = {};
  for (const entry of raw.split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}

/** Resident set size in bytes from /proc/<pid>/status (VmRSS). */
export function readRssBytes(pid: number): number | undefined {
  const text = readProcFile(pid, 'status');
  if (text === undefined) return undefined;
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(text);
  return m ? Number(m[1]) * 1024 : undefined;
}

/** Is `pid` alive (not a zombie) and still the process that started at `startTicks`? */
export function isSameProcess(pid: number, startTicks: number | undefined): boolean {
  const st = readProcStat(pid);
  if (!st || st.state === 'Z' || st.state === 'X') return false;
  return startTicks === undefined || st.startTicks === startTicks;
}

/** Whether /proc is usable here (Linux). */
export function hasProcfs(): boolean {
  return readProcStat(process.pid) !== undefined;
}
