// Cron schedules as a Kubernetes CronJob reads them: five fields (minute, hour, day of month, month,
// day of week) with `*`, `?`, lists, ranges, steps and month/day names, or one of the descriptors
// @yearly/@annually, @monthly, @weekly, @daily/@midnight, @hourly — in a time zone. When a day of
// month and a day of week are both restricted, either matches (classic cron).
// The grammar is checked here, with Kubernetes' bounds and messages; the times are computed by
// cron-parser, which gets time zones and daylight-saving changes right. It accepts more (seconds,
// L, #, H), which the check keeps out, so a schedule means the same here as in Kubernetes.
import { CronExpressionParser, type CronExpression } from 'cron-parser';

const DESCRIPTORS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

interface FieldRule {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
  /** `?` is allowed (the day fields). */
  question?: boolean;
}

const FIELDS: readonly FieldRule[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31, question: true },
  { name: 'month', min: 1, max: 12, names: MONTHS },
  { name: 'day of week', min: 0, max: 6, names: DAYS, question: true },
];

function valueOf(text: string, rule: FieldRule): number | string {
  const lower = text.toLowerCase();
  const named = rule.names?.indexOf(lower) ?? -1;
  if (named >= 0) return rule.names === MONTHS ? named + 1 : named;
  if (!/^\d+$/.test(text)) return `failed to parse int from ${text}`;
  const n = Number(text);
  if (n < rule.min) return `beginning of range (${n}) below minimum (${rule.min}): ${text}`;
  if (n > rule.max) return `end of range (${n}) above maximum (${rule.max}): ${text}`;
  return n;
}

/** What is wrong with one field (`*\/5`, `1-5`, `mon,wed`), as Kubernetes' cron parser words it. */
function fieldErrors(field: string, rule: FieldRule): string[] {
  const errs: string[] = [];
  for (const part of field.split(',')) {
    const [range = '', step, extra] = part.split('/');
    if (extra !== undefined) {
      errs.push(`too many slashes: ${part}`);
      continue;
    }
    if (step !== undefined && (!/^\d+$/.test(step) || Number(step) === 0)) errs.push(`step of range should be a positive number: ${part}`);
    if (range === '*' || (range === '?' && rule.question)) continue;
    const bounds = range.split('-');
    if (bounds.length > 2) {
      errs.push(`too many hyphens: ${part}`);
      continue;
    }
    const values = bounds.map((b) => valueOf(b, rule));
    const bad = values.find((v): v is string => typeof v === 'string');
    if (bad !== undefined) {
      errs.push(bad);
      continue;
    }
    const [lo, hi] = values as number[];
    if (hi !== undefined && lo! > hi) errs.push(`beginning of range (${lo}) beyond end of range (${hi}): ${part}`);
  }
  return errs.map((e) => `${rule.name}: ${e}`);
}

/** The five-field form of a schedule, or the error. */
function expand(schedule: string): { fields: string } | { error: string } {
  const text = schedule.trim();
  if (/^(CRON_)?TZ=/.test(text)) return { error: 'cannot use TZ or CRON_TZ in schedule, use timeZone field instead' };
  if (text.startsWith('@')) {
    const fields = DESCRIPTORS[text.toLowerCase()];
    return fields ? { fields } : { error: `unrecognized descriptor: ${text}` };
  }
  return { fields: text };
}

/** Why a schedule is not one (empty when it is). */
export function scheduleErrors(schedule: string, timeZone?: string): string[] {
  const e = expand(schedule);
  if ('error' in e) return [e.error];
  const fields = e.fields.split(/\s+/);
  if (fields.length !== 5) return [`expected exactly 5 fields, found ${fields.length}: ${schedule.trim()}`];
  const errs = fields.flatMap((f, i) => fieldErrors(f, FIELDS[i]!));
  if (errs.length > 0) return errs;
  if (timeZone !== undefined && timeZoneErrors(timeZone).length > 0) return [];
  try {
    CronExpressionParser.parse(e.fields, { tz: timeZone ?? 'UTC' });
    return [];
  } catch (err) {
    return [err instanceof Error ? err.message : String(err)];
  }
}

/** Why a time zone is not an IANA one (empty when it is). */
export function timeZoneErrors(timeZone: string): string[] {
  if (timeZone === '' || timeZone === 'Local') return ['unknown time zone'];
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return [];
  } catch {
    // RangeError: the runtime's zone database does not know it.
    return [`unknown time zone ${timeZone}`];
  }
}

/** Most missed runs counted before "too many" (Kubernetes warns past 100 and starts only the latest). */
const MISSED_COUNT_LIMIT = 100;

/** A valid schedule in its time zone: the times it names. */
export class CronSchedule {
  private constructor(
    private readonly fields: string,
    private readonly tz: string,
  ) {}

  /** Throws with the first of scheduleErrors() when the schedule is not valid. */
  static parse(schedule: string, timeZone?: string): CronSchedule {
    const errs = scheduleErrors(schedule, timeZone);
    if (timeZone !== undefined) errs.push(...timeZoneErrors(timeZone));
    if (errs.length > 0) throw new Error(errs[0]);
    const e = expand(schedule) as { fields: string };
    return new CronSchedule(e.fields, timeZone ?? 'UTC');
  }

  private at(ms: number): CronExpression {
    return CronExpressionParser.parse(this.fields, { currentDate: new Date(ms), tz: this.tz });
  }

  /** The first scheduled time after `afterMs`. */
  next(afterMs: number): number {
    return this.at(afterMs).next().getTime();
  }

  /**
   * The latest scheduled time in (afterMs, untilMs], if any, and how many there were in all (at
   * most MISSED_COUNT_LIMIT + 1: "more than the limit").
   */
  latestIn(afterMs: number, untilMs: number): { latest: number | undefined; count: number } {
    if (untilMs <= afterMs) return { latest: undefined, count: 0 };
    // prev() is strictly before its current date: start just after `untilMs` so a run at it counts.
    const latest = this.at(untilMs + 1).prev().getTime();
    if (latest <= afterMs) return { latest: undefined, count: 0 };
    let count = 0;
    const it = this.at(afterMs);
    while (count <= MISSED_COUNT_LIMIT && it.next().getTime() <= untilMs) count++;
    return { latest, count };
  }
}

export const TOO_MANY_MISSED = MISSED_COUNT_LIMIT;
