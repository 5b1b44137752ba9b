// Cached objects are shared: a watch cache hands the same object to every watcher and reader, an
// informer to every handler. Code must copy before it changes one. In tests (CELL_FREEZE_CACHES=1,
// set by the mocha setup and inherited by every process a test starts) each object is deeply frozen
// as it enters a cache, so a mutation throws where it happens instead of corrupting state silently
// — Kubernetes' cache mutation detector, made strict. Off in production: freezing costs a walk of
// every object.
const FREEZE = process.env.CELL_FREEZE_CACHES === '1';

function deepFreeze(value: unknown): void {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const v of Object.values(value)) deepFreeze(v);
}

/** The object, deeply frozen when cache freezing is on; call it where an object enters a cache. */
export function guardCached<T>(obj: T): T {
  if (FREEZE) deepFreeze(obj);
  return obj;
}

/** Whether cached objects are frozen in this process. */
export function cachesFrozen(): boolean {
  return FREEZE;
}
