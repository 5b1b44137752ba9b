// Command-line flags for the daemons, Kubernetes spelling (`--flag=value`): parsing, --help, and
// typed accessors that turn a bad value into one clear line plus the usage text and exit code 2.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { parseDuration } from './duration.js';
import { errorMessage } from './errors.js';
import { isLogLevel, type LogLevel } from './logging.js';

export interface Flags {
  values: Record<string, string | boolean | undefined>;
  /** Report a bad flag and exit 2. */
  fail(message: string): never;
  str(name: string): string | undefined;
  /** A non-negative integer. */
  int(name: string): number;
  /** A non-negative number. */
  num(name: string): number;
  /** A Go-style duration ("30s", "5m"), in milliseconds. */
  duration(name: string): number;
  /** `--log-level`, checked. */
  logLevel(): LogLevel | undefined;
}

export function parseFlags(program: string, usage: string, options: NonNullable<ParseArgsConfig['options']>): Flags {
  const fail = (message: string): never => {
    process.stderr.write(`${program}: ${message}\n\n${usage}`);
    process.exit(2);
  };
  let values: Record<string, string | boolean | undefined> = {};
  try {
    values = parseArgs({ options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true }).values as Record<string, string | boolean | undefined>;
  } catch (err) {
    fail(errorMessage(err));
  }
  if (values.help) {
    process.stdout.write(usage);
    process.exit(0);
  }
  const str = (name: string) => (typeof values[name] === 'string' ? (values[name] as string) : undefined);
  const numeric = (name: string, pattern: RegExp, what: string): number => {
    const v = str(name) ?? '';
    if (!pattern.test(v)) fail(`--${name} must be a non-negative ${what}, not "${v}"`);
    return Number(v);
  };
  return {
    values,
    fail,
    str,
    int: (name) => numeric(name, /^\d+$/, 'integer'),
    num: (name) => numeric(name, /^\d+(\.\d+)?$/, 'number'),
    duration(name) {
      try {
        return parseDuration(str(name) ?? '');
      } catch (err) {
        return fail(`--${name}: ${errorMessage(err)}`);
      }
    },
    logLevel() {
      const level = str('log-level');
      if (level === undefined) return undefined;
      if (!isLogLevel(level)) fail('--log-level must be error, warn, info or debug');
      return level as LogLevel;
    },
  };
}
