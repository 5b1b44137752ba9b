// The settings of individual control loops, as kube-controller-manager's flags set them
// (--node-monitor-grace-period and friends). Every field is optional: each controller applies
// Kubernetes' default for what is not given.
export interface ControllerConfig {
  /** A node Lease unchanged this long makes the node Unknown (--node-monitor-grace-period, 40 s). */
  nodeMonitorGracePeriodMs?: number;
  /** How often nodes are checked (--node-monitor-period, 5 s). */
  nodeMonitorPeriodMs?: number;
  /** How long a node stays Unknown before its pods are failed (--pod-eviction-timeout, 5 min). */
  podEvictionTimeoutMs?: number;
  /** How often the pod GC looks for orphaned and stuck pods (Kubernetes' gcCheckPeriod, 20 s). */
  podGcIntervalMs?: number;
  /** Jobs synced at once (--concurrent-job-syncs, 5). */
  concurrentJobSyncs?: number;
  /** ReplicaSets synced at once (--concurrent-replicaset-syncs, 5). */
  concurrentReplicaSetSyncs?: number;
  /** StatefulSets synced at once (--concurrent-statefulset-syncs, 5). */
  concurrentStatefulSetSyncs?: number;
  /** DaemonSets synced at once (--concurrent-daemonset-syncs, 2). */
  concurrentDaemonSetSyncs?: number;
  /** Deployments synced at once (--concurrent-deployment-syncs, 5). */
  concurrentDeploymentSyncs?: number;
  /** Owners and dependents the garbage collector works on at once, per queue (--concurrent-gc-syncs, 5). */
  concurrentGcSyncs?: number;
}
