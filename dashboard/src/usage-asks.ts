// When the page asks the metrics API again for measured use (usage.ts polls it), and which pods'
// figures it waits for. Pure functions: no DOM, no Preact (unit-tested in test/dashboard/).

/** How often figures are asked for again once every running pod shown has one. */
export const REFRESH_MS = 10_000;
/** The re-asks while a running pod shown has no figure, in order; after them, REFRESH_MS. */
export const SOON_MS: readonly number[] = [2_000, 4_000, 8_000];

/**
 * How long after an answer to ask again. A pod is listed only once its containers ran through a
 * whole sample window of its agent, so one just started is missing from an answer: while some
 * running pod shown has no figure (`waiting`), ask again soon — but the SOON_MS steps are spent
 * once per page visit (`soonAsksSoFar` counts them), so a pod that never gets a figure (its
 * node's agent does not answer) costs three extra asks, not one every 2 s.
 */
export function nextAskDelay(waiting: boolean, soonAsksSoFar: number): number {
  return waiting ? (SOON_MS[soonAsksSoFar] ?? REFRESH_MS) : REFRESH_MS;
}

/**
 * How a pod's figures are keyed: namespace/name, which PodMetrics and the pod share. Not the uid:
 * PodMetrics carries none (the API server leaves it out, as metrics-server does).
 */
export function podUsageKey(meta: { namespace?: string | undefined; name?: string | undefined }): string {
  return `${meta.namespace ?? ''}/${meta.name ?? ''}`;
}

/** Whether any of `running` (podUsageKey keys) has no figure in `figures`. */
export function lacksFigure(running: readonly string[], figures: ReadonlyMap<string, unknown>): boolean {
  return running.some((k) => !figures.has(k));
}
