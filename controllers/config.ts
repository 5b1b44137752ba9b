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
}
