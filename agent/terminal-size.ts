// A client's terminal size, applied to the terminal `script` gave a command (kubectl exec -t,
// kubectl attach -t): Kubernetes' TerminalSize message on stream 4, and `stty -F` on the command's
// /dev/pts device, which resizes it and sends the command SIGWINCH as a terminal emulator would.
import { spawn } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';

export interface TerminalSize {
  cols: number;
  rows: number;
}

/** `{"Width":80,"Height":24}`, Kubernetes' TerminalSize; undefined for anything else. */
export function parseTerminalSize(text: string): TerminalSize | undefined {
  let size: { Width?: unknown; Height?: unknown };
  try {
    size = JSON.parse(text) as typeof size;
  } catch {
    return undefined;
  }
  if (typeof size !== 'object' || size === null) return undefined;
  const cols = Number(size.Width);
  const rows = Number(size.Height);
  if (!Number.isInteger(cols) || !Number.isInteger(rows) || cols <= 0 || rows <= 0 || cols > 10_000 || rows > 10_000) return undefined;
  return { cols, rows };
}

/** How many generations below `pid` the terminal is looked for (the container's shim, `script`, the command). */
const MAX_DEPTH = 3;

/** The terminal of the first process at or below `pid` whose stdin is a /dev/pts device. */
export function terminalUnder(pid: number, depth = MAX_DEPTH): string | undefined {
  try {
    const t = readlinkSync(`/proc/${pid}/fd/0`);
    if (t.startsWith('/dev/pts/')) return t;
    if (depth === 0) return undefined;
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter((c) => c !== '');
    for (const c of children) {
      const found = terminalUnder(Number(c), depth - 1);
      if (found) return found;
    }
  } catch (err) {
    // Not started yet, or already gone: the caller tries again or gives up.
    if (!['ENOENT', 'ESRCH', 'EACCES'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
  }
  return undefined;
}

/**
 * Sizes the terminal below `pid`, waiting a little for it to exist (`script` may not have started
 * its child yet). Resolves when done, or when there is no terminal to size.
 */
export async function applyTerminalSize(pid: number, size: TerminalSize): Promise<void> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const terminal = terminalUnder(pid);
    if (terminal) {
      await new Promise<void>((resolve) => {
        const stty = spawn('stty', ['-F', terminal, 'cols', String(size.cols), 'rows', String(size.rows)], { stdio: 'ignore' });
        stty.once('error', () => resolve());
        stty.once('close', () => resolve());
      });
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
