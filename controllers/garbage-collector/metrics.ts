// The garbage collector's own Prometheus metrics, registered in the controller manager's registry
// (its queues report workqueue_* through the manager too).
import { Counter, Gauge, type Registry } from 'prom-client';

export interface GarbageCollectorMetrics {
  /** Dependents deleted because their owners are gone or deleting them in the foreground. */
  deletions: Counter;
  /** Owner references removed from dependents of an object deleted with the orphan policy. */
  orphanings: Counter;
  /** orphan / foregroundDeletion finalizers removed once their work was done. */
  finalizerRemovals: Counter;
  graphNodes: Gauge;
}

export function garbageCollectorMetrics(registry: Registry): GarbageCollectorMetrics {
  const registers = [registry];
  return {
    deletions: new Counter({ name: 'garbagecollector_deletions_total', help: 'Dependents the garbage collector deleted, by resource and propagation policy.', labelNames: ['resource', 'policy'], registers }),
    orphanings: new Counter({ name: 'garbagecollector_orphanings_total', help: 'Owner references the garbage collector removed from dependents of orphaning owners, by resource.', labelNames: ['resource'], registers }),
    finalizerRemovals: new Counter({ name: 'garbagecollector_finalizer_removals_total', help: 'orphan and foregroundDeletion finalizers the garbage collector removed, by finalizer.', labelNames: ['finalizer'], registers }),
    graphNodes: new Gauge({ name: 'garbagecollector_graph_nodes', help: 'Objects in the garbage collector’s ownership graph.', registers }),
  };
}
