// Writes the chaos workloads make through faults: retried while the answer says the cluster is
// down or overloaded (unavailable, timeouts, 5xx, 429), for up to two minutes, with a seeded,
// jittered back-off. Any other answer is the write's real outcome and is thrown.
import { InternalError, TimeoutError, TooManyRequestsError, UnavailableError } from '../../shared/errors.js';

const LIMIT_MS = 120_000;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function retryable(err: unknown): boolean {
  return err instanceof UnavailableError || err instanceof TimeoutError || err instanceof InternalError || err instanceof TooManyRequestsError;
}

/** Run `fn` until it succeeds; resolves to the number of failed attempts before that. */
export async function retryThroughFaults(what: string, fn: () => Promise<void>, random: () => number): Promise<number> {
  const deadline = Date.now() + LIMIT_MS;
  for (let attempt = 0; ; attempt++) {
    try {
      await fn();
      return attempt;
    } catch (err) {
      if (!retryable(err) || Date.now() > deadline) throw new Error(`${what} failed after ${attempt + 1} attempts: ${String(err)}`);
      await sleep(Math.min(2000, 100 * 2 ** attempt) * (0.5 + random() / 2));
    }
  }
}
