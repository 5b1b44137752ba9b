// The process supervisor: runs one container instance as a host process in a process group of its
// own, stops it (SIGTERM to the group, SIGKILL after the grace period), and learns how it ended.
//
// Each instance runs under a tiny /bin/sh shim that waits for the container's command and writes its
// exit status to a file. The shim is what makes agent restarts safe: the process group survives
// the agent (it is detached and writes its output straight to its log file, so no pipe ties it to
// the agent), and a restarted agent can both recognise it (/proc start time + the exit-file path in
// its command line) and learn its exit code later, though it is no longer the process's parent.
import { execFileSync, spawn } from 'node:child_process';
import { accessSync, closeSync, constants as fsConstants, existsSync, openSync, readFileSync, statSync, write } from 'node:fs';
import { constants as osConstants } from 'node:os';
import path from 'node:path';
import { errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logging.js';
import { isSameProcess, readCmdline, readProcStat } from './procfs.js';

// `trap : TERM INT` keeps the shim alive through the SIGTERM sent to the group (the trap runs only
// after the foreground command ends), so it still records the command's status; the command itself
// gets default signal dispositions back at exec. `$?` is 128+N for a command killed by signal N.
const SHIM_SCRIPT = 'trap : TERM INT; f="$1"; shift; "$@"; c=$?; echo "$c" > "$f"; exit "$c"';
/** argv[0] of the shim, so `ps` shows what the process is. */
export const SHIM_NAME = 'cell-container';

/**
 * A stdin FIFO: the agent's end opened read-write (which Linux opens at once, with no reader yet)
 * and kept, then the command's end opened for reading (which a writer being there lets open at
 * once too), passed to the process and closed here.
 */
function openStdin(fifo: string): { writer: number; reader: number } {
  if (!existsSync(fifo)) execFileSync('mkfifo', ['-m', '600', fifo]);
  const writer = openSync(fifo, fsConstants.O_RDWR);
  try {
    return { writer, reader: openSync(fifo, fsConstants.O_RDONLY) };
  } catch (err) {
    closeSync(writer);
    throw err;
  }
}

/** `sh` quoting, for the one command line `script -c` takes. */
export function shellQuote(argv: readonly string[]): string {
  return argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
}

/** How often an adopted process (not our child: no exit event) is checked. */
const ADOPTED_POLL_MS = 500;

/** The container could not be started at all (Kubernetes: StartError, exit code 128). */
export class ContainerStartError extends Error {}

export interface InstanceSpec {
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  /** stdout and stderr are appended here. */
  logPath: string;
  /** The shim writes the exit status here. */
  exitPath: string;
  /**
   * `stdin: true`: a FIFO made here is the process's stdin, held open by the agent so that what
   * attached clients send reaches it (and EOF only when the agent lets go or is gone).
   */
  stdinPath?: string;
  /** `tty: true`: the command runs on a terminal of its own (under `script`). */
  tty?: boolean;
}

/** What is persisted about a running instance, enough to find it again after an agent restart. */
export interface InstanceRecord {
  pid: number;
  /** /proc start time; absent when the process ended before it could be read. */
  startTicks?: number;
  /** ms since the epoch. */
  startedAt: number;
  exitPath: string;
  logPath: string;
}

export interface ExitInfo {
  exitCode: number;
  /** Signal number when the process was killed by a signal. */
  signal?: number;
  /** ms since the epoch. */
  finishedAt: number;
  /** The process vanished leaving no exit status (e.g. killed while the agent was down). */
  unknown: boolean;
}

function signalNumber(name: NodeJS.Signals): number {
  return osConstants.signals[name] ?? 0;
}

/** The exit status the shim recorded, with when it was recorded. */
function readExitFile(file: string): { code: number; at: number } | undefined {
  try {
    const text = readFileSync(file, 'utf8').trim();
    if (!/^\d+$/.test(text)) return undefined;
    return { code: Number(text), at: statSync(file).mtimeMs };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function isExecutableFile(file: string): boolean {
  try {
    accessSync(file, fsConstants.X_OK);
    return statSync(file).isFile();
  } catch {
    // Missing or not executable: the caller reports "not found".
    return false;
  }
}

/** Resolve argv[0] the way exec does, so a missing command is a clean StartError, not exit 127. */
export function resolveExecutable(command: string, env: Record<string, string>, cwd: string): string {
  if (command.includes('/')) {
    const file = path.resolve(cwd, command);
    if (isExecutableFile(file)) return file;
    throw new ContainerStartError(`exec: "${command}": stat ${file}: no such file or directory`);
  }
  for (const dir of (env.PATH ?? '').split(':')) {
    if (dir === '') continue;
    const file = path.join(dir, command);
    if (isExecutableFile(file)) return file;
  }
  throw new ContainerStartError(`exec: "${command}": executable file not found in $PATH`);
}

export class ContainerProcess {
  readonly exited: Promise<ExitInfo>;
  private done = false;
  private termSent = false;
  private killSent = false;
  private killDeadline = Number.POSITIVE_INFINITY;
  private killTimer: NodeJS.Timeout | undefined;
  /** The agent's end of the stdin FIFO (see InstanceSpec.stdinPath). */
  private stdinFd: number | undefined;

  private constructor(
    readonly record: InstanceRecord,
    private readonly log: Logger,
    watch: (self: ContainerProcess) => Promise<ExitInfo>,
  ) {
    this.exited = watch(this).then((info) => {
      this.done = true;
      if (this.killTimer) clearTimeout(this.killTimer);
      // The main process is gone: anything it left running in its group goes too, as a container's
      // processes end with it.
      this.signalGroup('SIGKILL');
      return info;
    });
  }

  get running(): boolean {
    return !this.done;
  }

  get pid(): number {
    return this.record.pid;
  }

  /** Start an instance. Throws ContainerStartError when it cannot run at all. */
  static start(spec: InstanceSpec, log: Logger): ContainerProcess {
    const [command, ...args] = spec.argv;
    if (command === undefined || command === '') throw new ContainerStartError('no command specified (images are not run: set command)');
    const executable = resolveExecutable(command, spec.env, spec.cwd);
    // On a terminal: `script` gives the command one (its line discipline echoes and turns a
    // client's Enter into a newline); what the terminal shows goes to the log.
    const argv = spec.tty ? [resolveExecutable('script', spec.env, spec.cwd), '-q', '-e', '-f', '-c', shellQuote([executable, ...args]), '/dev/null'] : [executable, ...args];
    const stdin = spec.stdinPath !== undefined ? openStdin(spec.stdinPath) : undefined;
    const fd = openSync(spec.logPath, 'a');
    let child;
    try {
      child = spawn('/bin/sh', ['-c', SHIM_SCRIPT, SHIM_NAME, spec.exitPath, ...argv], {
        cwd: spec.cwd,
        env: spec.env,
        // setsid(): a new session and process group whose id is the shim's pid, and no tie to the
        // agent's terminal or lifetime.
        detached: true,
        stdio: [stdin?.reader ?? 'ignore', fd, fd],
      });
    } catch (err) {
      if (stdin) closeSync(stdin.writer);
      throw new ContainerStartError(`failed to start: ${errorMessage(err)}`);
    } finally {
      closeSync(fd);
      if (stdin) closeSync(stdin.reader);
    }
    const startedAt = Date.now();
    const pid = child.pid;
    if (pid === undefined) {
      child.once('error', () => undefined);
      throw new ContainerStartError(`failed to start ${command}: could not create the process`);
    }
    const record: InstanceRecord = { pid, startedAt, exitPath: spec.exitPath, logPath: spec.logPath };
    const st = readProcStat(pid);
    if (st) record.startTicks = st.startTicks;
    const proc = new ContainerProcess(record, log, () =>
      new Promise<ExitInfo>((resolve) => {
        child.once('error', (err) => log.warn('container process error', { pid, error: errorMessage(err) }));
        child.once('exit', (code, signal) => {
          const file = readExitFile(spec.exitPath);
          if (file) resolve({ exitCode: file.code, finishedAt: Date.now(), unknown: false });
          else if (signal) resolve({ exitCode: 128 + signalNumber(signal), signal: signalNumber(signal), finishedAt: Date.now(), unknown: false });
          else resolve({ exitCode: code ?? 0, finishedAt: Date.now(), unknown: false });
        });
      }),
    );
    if (stdin) {
      proc.stdinFd = stdin.writer;
      void proc.exited.then(() => proc.closeStdin());
    }
    return proc;
  }

  /** The container's stdin, for attached clients: undefined without `stdin: true`, or once closed. */
  writeStdin(data: Buffer): Promise<void> {
    const fd = this.stdinFd;
    if (fd === undefined) return Promise.resolve();
    return new Promise((resolve) => {
      // A full pipe holds the write (and the caller, which waits) until the command reads.
      write(fd, data, (err) => {
        if (err) this.log.debug('writing a container\u2019s stdin failed', { pid: this.record.pid, error: err.message });
        resolve();
      });
    });
  }

  get hasStdin(): boolean {
    return this.stdinFd !== undefined;
  }

  /** Lets go of stdin: the command reads EOF (stdinOnce, after its attached client is done). */
  closeStdin(): void {
    if (this.stdinFd === undefined) return;
    const fd = this.stdinFd;
    this.stdinFd = undefined;
    closeSync(fd);
  }

  /**
   * Take over an instance an earlier agent started: undefined unless the pid is alive and is that
   * very process (same /proc start time, the exit-file path in its command line).
   */
  static adopt(record: InstanceRecord, log: Logger): ContainerProcess | undefined {
    if (!isSameProcess(record.pid, record.startTicks)) return undefined;
    if (!(readCmdline(record.pid) ?? []).includes(record.exitPath)) return undefined;
    return new ContainerProcess(record, log, (self) =>
      new Promise<ExitInfo>((resolve) => {
        const timer = setInterval(() => {
          if (isSameProcess(record.pid, record.startTicks)) return;
          clearInterval(timer);
          resolve(ContainerProcess.vanished(record, self.killSent));
        }, ADOPTED_POLL_MS);
      }),
    );
  }

  /** How an instance that is no longer running ended, from what it left behind. */
  static vanished(record: InstanceRecord, killedByUs = false): ExitInfo {
    const file = readExitFile(record.exitPath);
    if (file) return { exitCode: file.code, finishedAt: file.at, unknown: false };
    if (killedByUs) return { exitCode: 137, signal: 9, finishedAt: Date.now(), unknown: false };
    // As Kubernetes reports a container it cannot find any more: 137, ContainerStatusUnknown.
    return { exitCode: 137, finishedAt: Date.now(), unknown: true };
  }

  private signalGroup(sig: NodeJS.Signals): void {
    try {
      process.kill(-this.record.pid, sig);
    } catch (err) {
      // ESRCH: the group is already empty.
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ESRCH') this.log.warn('cannot signal container process group', { pgid: this.record.pid, signal: sig, error: errorMessage(err) });
    }
  }

  /**
   * SIGTERM to the group now (once), SIGKILL when `graceMs` has passed. Calling again with a
   * shorter grace period brings the SIGKILL forward, never back. Resolves when the instance ended.
   */
  stop(graceMs: number): Promise<ExitInfo> {
    if (this.done) return this.exited;
    const deadline = Date.now() + Math.max(0, graceMs);
    if (deadline < this.killDeadline) {
      this.killDeadline = deadline;
      if (this.killTimer) clearTimeout(this.killTimer);
      const kill = () => {
        if (this.done) return;
        this.killSent = true;
        this.signalGroup('SIGKILL');
      };
      if (graceMs <= 0) kill();
      else this.killTimer = setTimeout(kill, graceMs);
    }
    if (!this.termSent && !this.killSent) {
      this.termSent = true;
      this.signalGroup('SIGTERM');
    }
    return this.exited;
  }
}
