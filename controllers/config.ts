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
  /** How often each HorizontalPodAutoscaler is measured (--horizontal-pod-autoscaler-sync-period, 15 s). */
  hpaSyncPeriodMs?: number;
  /** How far back a scale-down looks at recommendations (--horizontal-pod-autoscaler-downscale-stabilization, 5 min). */
  hpaDownscaleStabilizationMs?: number;
  /** Usage within this fraction of the target changes nothing (--horizontal-pod-autoscaler-tolerance, 0.1). */
  hpaTolerance?: number;
  /** A pod's CPU is not trusted this long after its start unless ready and measured since (--horizontal-pod-autoscaler-cpu-initialization-period, 5 min). */
  hpaCpuInitializationPeriodMs?: number;
  /** A pod that turned ready within this of its start counts as ready from the start (--horizontal-pod-autoscaler-initial-readiness-delay, 30 s). */
  hpaInitialReadinessDelayMs?: number;
}
