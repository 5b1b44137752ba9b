// What the writing commands (create, apply, delete, label) share: --dry-run, and reporting one
// failed object among many without stopping the others.
import { isCellError } from '../../shared/errors.js';
import type { Cli } from '../context.js';
import { UsageError } from '../errors.js';
import type { Manifest } from '../manifests.js';

export type DryRun = 'none' | 'client' | 'server';

export function parseDryRun(value: string | boolean | undefined): DryRun {
  // kubectl's bare `--dry-run` meant client; `--dry-run=none` is the default.
  if (value === undefined || value === false) return 'none';
  if (value === true) return 'client';
  if (value === 'none' || value === 'client' || value === 'server') return value;
  throw new UsageError(`invalid --dry-run value "${value}": must be "none", "server", or "client"`);
}

export function dryRunQuery(d: DryRun | undefined): Record<string, string> {
  return d === 'server' ? { dryRun: 'All' } : {};
}

/**
 * A failed object: the server's message (it already names the object), plus where the object came
 * from when it came from a file. Anything that is not an API error is a bug or a broken
 * connection and ends the command.
 */
export function reportItemError(cli: Cli, err: unknown, m?: Manifest): void {
  if (!isCellError(err) || err.code === 503) throw err;
  cli.error(m ? `${err.message} (from ${m.source}, document at line ${m.line})` : err.message);
}
