// Query parameters, read the way kube-apiserver reads them, so that every official client's
// spelling means the same here (DESIGN §2):
// - booleans as apimachinery converts them: absent → false; "0" or any case of "false" → false;
//   anything else, even an empty value, → true (`?watch` alone is a watch);
// - integers as Go's strconv.ParseInt: optional sign, decimal digits, nothing else;
// - durations as Go's time.ParseDuration (`?timeout=1m30s`, `300ms`, `1.5h`).
import { BadRequestError } from '../../shared/errors.js';

/** A boolean parameter; undefined when absent. */
export function boolParam(query: URLSearchParams, name: string): boolean | undefined {
  const v = query.get(name);
  if (v === null) return undefined;
  return !(v === '0' || v.toLowerCase() === 'false');
}

/** An integer parameter; undefined when absent or empty. */
export function intParam(query: URLSearchParams, name: string, opts: { min?: number } = {}): number | undefined {
  const v = query.get(name);
  if (v === null || v === '') return undefined;
  const n = /^[+-]?\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n)) throw new BadRequestError(`invalid value for ${name}: "${v}" is not an integer`);
  if (opts.min !== undefined && n < opts.min) {
    throw new BadRequestError(`invalid value for ${name}: ${n} must be ${opts.min === 0 ? 'non-negative' : `at least ${opts.min}`}`);
  }
  return n;
}

const GO_UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** A Go duration ("1h2m3.5s", "-300ms", "0") in milliseconds; undefined when absent or empty. */
export function durationParam(query: URLSearchParams, name: string): number | undefined {
  const v = query.get(name);
  if (v === null || v === '') return undefined;
  const ms = parseGoDuration(v);
  if (ms === undefined) throw new BadRequestError(`invalid value for ${name}: "${v}" is not a duration (e.g. 30s, 1m30s, 500ms)`);
  return ms;
}

function parseGoDuration(text: string): number | undefined {
  let s = text;
  let sign = 1;
  if (s[0] === '-' || s[0] === '+') {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') return undefined;
  const re = /(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;
  let total = 0;
  let at = 0;
  while (at < s.length) {
    re.lastIndex = at;
    const m = re.exec(s);
    if (!m) return undefined;
    total += Number(m[1]) * GO_UNIT_MS[m[2]!]!;
    at = re.lastIndex;
  }
  return sign * total;
}

/**
 * `dryRun`: absent → false; every value must be "All" (the only one Kubernetes knows), anything
 * else is a 400 rather than a write the client thought was a rehearsal.
 */
export function dryRunParam(query: URLSearchParams): boolean {
  return dryRunValues(query.getAll('dryRun'), 'dryRun');
}

/** The same check for DeleteOptions' `dryRun` list in a request body. */
export function dryRunValues(values: readonly unknown[], where: string): boolean {
  if (values.length === 0) return false;
  const bad = values.find((v) => v !== 'All');
  if (bad !== undefined) throw new BadRequestError(`invalid ${where}: unsupported value ${JSON.stringify(bad)}: supported values: "All"`);
  return true;
}
