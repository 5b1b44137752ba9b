// What the server runs besides serving requests, started and stopped together: namespace
// finalization, watch bookmarks and store compaction.
import { errorMessage } from '../../shared/errors.js';
import type { Logger } from '../../shared/logging.js';
import { NamespaceLifecycle } from '../controllers/namespace-lifecycle.js';
import type { ServedResource } from '../http/resources.js';
import type { ApiServerMetrics } from '../metrics.js';
import type { Store } from '../storage/store.js';

export interface BackgroundLoopOptions {
  store: Store;
  resources: Map<string, ServedResource>;
  metrics: ApiServerMetrics;
  log: Logger;
  /** ms between watch bookmarks. */
  bookmarkIntervalMs: number;
  /** ms between compactions; 0 disables. */
  compactionIntervalMs: number;
}

export interface BackgroundLoops {
  stop(): void;
}

export function startBackgroundLoops(o: BackgroundLoopOptions): BackgroundLoops {
  const namespaceLifecycle = new NamespaceLifecycle(o.resources, o.log);
  namespaceLifecycle.start();

  const timers: NodeJS.Timeout[] = [];
  timers.push(setInterval(() => o.resources.forEach((r) => r.rest.objects.cache.sendBookmarks()), o.bookmarkIntervalMs));
  if (o.compactionIntervalMs > 0) timers.push(setInterval(compactor(o), o.compactionIntervalMs));

  return {
    stop() {
      namespaceLifecycle.stop();
      timers.forEach((t) => clearInterval(t));
    },
  };
}

/** Compaction keeps at least one interval of history, so a watch can resume after a short break. */
function compactor(o: BackgroundLoopOptions): () => void {
  let previous: number | undefined;
  return () => {
    void (async () => {
      try {
        const current = await o.store.currentRevision();
        if (previous !== undefined && previous > 0) {
          await o.store.compact(previous);
          o.metrics.compactions.inc();
          o.log.info('compacted store history', { revision: previous });
        }
        previous = current;
      } catch (err) {
        o.log.warn('compaction failed', { error: errorMessage(err) });
      }
    })();
  };
}
