// coordination.k8s.io/v1 Lease: node heartbeats (namespace `kube-node-lease`, one per node) and
// leader election. Times are MicroTime strings, as client-go's leader election writes them.
import { z } from 'zod';
import { MicroTimeSchema, ObjectMetaSchema } from './meta.js';

export const NODE_LEASE_NAMESPACE = 'kube-node-lease';

export const LeaseSpecSchema = z.object({
  holderIdentity: z.string().optional(),
  leaseDurationSeconds: z.number().int().optional(),
  acquireTime: MicroTimeSchema.optional(),
  renewTime: MicroTimeSchema.optional(),
  leaseTransitions: z.number().int().optional(),
});
export type LeaseSpec = z.infer<typeof LeaseSpecSchema>;

export const LeaseSchema = z
  .object({
    apiVersion: z.literal('coordination.k8s.io/v1').default('coordination.k8s.io/v1'),
    kind: z.literal('Lease').default('Lease'),
    metadata: ObjectMetaSchema.prefault({}),
    spec: LeaseSpecSchema.prefault({}),
  })
  .describe('A lease: node heartbeats (one per node in kube-node-lease) and leader election.');
export type Lease = z.infer<typeof LeaseSchema>;
