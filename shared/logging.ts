// JSON-lines logging for every process (DESIGN §1): one winston logger per component, with
// structured fields. Level comes from `--v`-style flags or CELL_LOG_LEVEL (tests set it to 'error').
import winston from 'winston';

export type Logger = winston.Logger;

const levels = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof levels)[number] | 'silent';

export function isLogLevel(s: string): s is LogLevel {
  return s === 'silent' || (levels as readonly string[]).includes(s);
}

export function createLogger(component: string, level?: LogLevel): Logger {
  const envLevel = process.env.CELL_LOG_LEVEL ?? '';
  const chosen: LogLevel = level ?? (isLogLevel(envLevel) ? envLevel : 'info');
  return winston.createLogger({
    level: chosen === 'silent' ? 'error' : chosen,
    silent: chosen === 'silent',
    defaultMeta: { component },
    format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
    // stderr keeps stdout free for a process's real output (cellctl tables, etc.).
    transports: [new winston.transports.Console({ stderrLevels: [...levels] })],
  });
}
