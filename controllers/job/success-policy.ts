// spec.successPolicy of an Indexed Job, as Kubernetes matches it: the rules are checked in order
// against the succeeded indexes, and the first one met declares the Job successful (the
// SuccessCriteriaMet condition, then its remaining pods are stopped, then Complete).
//   - succeededIndexes alone: every listed index has succeeded;
//   - succeededCount alone: at least that many indexes have succeeded;
//   - both: at least succeededCount of the listed indexes have succeeded.
import type { Job } from '../../shared/api/batch.js';
import { parseIndexes } from './indexes.js';

/** The SuccessCriteriaMet message of the first rule met ("Matched rules at index 0"), or undefined. */
export function matchSuccessPolicy(job: Job, succeeded: ReadonlySet<number>): string | undefined {
  const rules = job.spec.successPolicy?.rules ?? [];
  if (succeeded.size === 0) return undefined;
  const completions = job.spec.completions ?? 0;
  for (const [i, rule] of rules.entries()) {
    let met: boolean;
    if (rule.succeededIndexes !== undefined) {
      const required = parseIndexes(rule.succeededIndexes, completions);
      // A list that names no index (validation refuses those) never matches.
      if (required.size === 0) continue;
      let have = 0;
      for (const ix of required) if (succeeded.has(ix)) have++;
      met = rule.succeededCount !== undefined ? have >= rule.succeededCount : have === required.size;
    } else {
      met = rule.succeededCount !== undefined && succeeded.size >= rule.succeededCount;
    }
    if (met) return `Matched rules at index ${i}`;
  }
  return undefined;
}
