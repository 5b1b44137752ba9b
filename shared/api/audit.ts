// The ledger audit's report (GET /audit, `cellctl audit`, DESIGN §3): what the API server answers
// and what the CLI and tests read.
import { z } from 'zod';

export const ViolationKindSchema = z.enum([
  // NodeAllocation
  'OverCommitted',
  'LedgerMismatch',
  'DoubleBound',
  'MissingLedger',
  'OrphanedPod',
  // ResourceQuota
  'QuotaMismatch',
  'OverQuota',
  // ClusterQueue
  'QueueUsageMismatch',
  'OverQueueQuota',
  'UnknownQueue',
  /** A cohort's members use more beyond their guaranteed quota than they lend. */
  'OverCohortQuota',
  // Service cluster IPs and node ports
  /** One value held by two Services. */
  'DoubleAllocated',
  /** A Service's value without its claim key (or with another Service's). */
  'MissingServiceClaim',
  /** A claim key no Service holds. */
  'OrphanedServiceClaim',
]);
export type ViolationKind = z.infer<typeof ViolationKindSchema>;

export const ViolationSchema = z.object({
  kind: ViolationKindSchema,
  node: z.string().optional(),
  pod: z.string().optional(),
  /** `namespace/name` of a ResourceQuota. */
  quota: z.string().optional(),
  /** A ClusterQueue's name. */
  clusterQueue: z.string().optional(),
  /** A cohort of ClusterQueues. */
  cohort: z.string().optional(),
  /** `namespace/name` of a Workload. */
  workload: z.string().optional(),
  /** `namespace/name` of a Service. */
  service: z.string().optional(),
  message: z.string(),
});
export type Violation = z.infer<typeof ViolationSchema>;

export const AuditReportSchema = z.object({
  kind: z.literal('AllocationAudit'),
  revision: z.number(),
  nodes: z.number(),
  pods: z.number(),
  boundPods: z.number(),
  /** ResourceQuotas audited (counted ones). */
  quotas: z.number().optional(),
  /** Accounts audited per ledger kind, e.g. `{ NodeAllocation: 3, ResourceQuota: 1, ClusterQueue: 2 }`; `ServiceClaim`: the Service claim keys. */
  ledgers: z.record(z.string(), z.number()).default({}),
  ok: z.boolean(),
  violations: z.array(ViolationSchema),
});
export type AuditReport = z.infer<typeof AuditReportSchema>;
