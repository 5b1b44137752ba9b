// Measurement helpers shared by the benchmarks: a fixed-duration concurrent loop, percentiles, and a
// plain-text table.
import { performance } from 'node:perf_hooks';

/** What one operation of a loop amounted to. */
export type Outcome = 'ok' | 'conflict';

export interface LoopOptions {
  /** How long to keep starting operations. Operations in flight at the end are awaited and counted. */
  durationMs: number;
  /** Number of workers, each running one operation at a time. */
  concurrency: number;
}

export interface LoopResult {
  /** Operations that returned 'ok'. */
  ok: number;
  /** Operations that returned 'conflict'. */
  conflicts: number;
  elapsedMs: number;
  /** Latency of every operation (ok or conflict), in ms, sorted ascending. */
  latenciesMs: number[];
}

/**
 * Runs `op` in `concurrency` workers for `durationMs`. `op(worker, i)` gets its worker index and
 * that worker's iteration count. An operation that throws aborts the whole loop: a benchmark that
 * hides errors measures the wrong thing.
 */
export async function runFor(
  opts: LoopOptions,
  op: (worker: number, iteration: number) => Promise<Outcome>,
): Promise<LoopResult> {
  const latencies: number[] = [];
  let ok = 0;
  let conflicts = 0;
  const t0 = performance.now();
  const deadline = t0 + opts.durationMs;
  const worker = async (w: number) => {
    for (let i = 0; performance.now() < deadline; i++) {
      const start = performance.now();
      const outcome = await op(w, i);
      latencies.push(performance.now() - start);
      if (outcome === 'ok') ok++;
      else conflicts++;
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, (_, w) => worker(w)));
  const elapsedMs = performance.now() - t0;
  latencies.sort((a, b) => a - b);
  return { ok, conflicts, elapsedMs, latenciesMs: latencies };
}

/** The p-th percentile (0–100) of ascending `sorted`, nearest-rank; NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] as number;
}

/** Events per second. */
export function perSecond(count: number, elapsedMs: number): number {
  return elapsedMs > 0 ? (count * 1000) / elapsedMs : 0;
}

/** Fixed-width text table; columns whose cells all look numeric are right-aligned. */
export function formatTable(headers: string[], rows: (string | number)[][]): string {
  const cells = rows.map((r) => r.map((c) => String(c)));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[], numeric: boolean[]) =>
    r.map((c, i) => (numeric[i] ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number))).join('  ').trimEnd();
  const numericCols = headers.map((_, i) => cells.length > 0 && cells.every((r) => /^-?[\d.,]+%?$/.test(r[i] ?? '')));
  return [
    line(headers, numericCols),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...cells.map((r) => line(r, numericCols)),
  ].join('\n');
}
