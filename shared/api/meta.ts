// meta.k8s.io/v1 shapes every kind shares: object and list metadata, Status, Table, watch events,
// DeleteOptions, conditions and label selectors. Field names and meanings are Kubernetes'.
import { z } from 'zod';

/** RFC 3339 timestamp (metav1.Time); Kubernetes writes seconds precision, reads any fraction. */
export const TimeSchema = z.iso.datetime({ offset: true });
/** RFC 3339 with microseconds (metav1.MicroTime), used by Lease and Event.eventTime. */
export const MicroTimeSchema = z.iso.datetime({ offset: true });

/** The last second formatTime wrote, and how: a busy API server stamps thousands of objects within one. */
let lastSecond = NaN;
let lastFormatted = '';

/** metav1.Time as Kubernetes serialises it: whole seconds, UTC. */
export function formatTime(at: Date): string {
  const second = Math.floor(at.getTime() / 1000);
  if (second !== lastSecond) {
    lastFormatted = at.toISOString().replace(/\.\d+Z$/, 'Z');
    lastSecond = second;
  }
  return lastFormatted;
}

/** metav1.MicroTime as Kubernetes serialises it: exactly six fraction digits (Go clients require it). */
export function formatMicroTime(at: Date): string {
  return at.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export const LabelsSchema = z.record(z.string(), z.string());

export const OwnerReferenceSchema = z.object({
  apiVersion: z.string(),
  kind: z.string(),
  name: z.string(),
  uid: z.string(),
  controller: z.boolean().optional(),
  blockOwnerDeletion: z.boolean().optional(),
});
export type OwnerReference = z.infer<typeof OwnerReferenceSchema>;

/** Server-side-apply bookkeeping: cell does not interpret it, only keeps it so clients round-trip. */
export const ManagedFieldsEntrySchema = z.object({
  manager: z.string().optional(),
  operation: z.string().optional(),
  apiVersion: z.string().optional(),
  time: TimeSchema.optional(),
  fieldsType: z.string().optional(),
  fieldsV1: z.record(z.string(), z.unknown()).optional(),
  subresource: z.string().optional(),
});

export const ObjectMetaSchema = z.object({
  name: z.string().optional(),
  generateName: z.string().optional(),
  namespace: z.string().optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  generation: z.number().int().optional(),
  creationTimestamp: TimeSchema.optional(),
  deletionTimestamp: TimeSchema.optional(),
  deletionGracePeriodSeconds: z.number().int().optional(),
  labels: LabelsSchema.optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  finalizers: z.array(z.string()).optional(),
  ownerReferences: z.array(OwnerReferenceSchema).optional(),
  managedFields: z.array(ManagedFieldsEntrySchema).optional(),
});
export type ObjectMeta = z.infer<typeof ObjectMetaSchema>;

/** What every stored object has; per-kind schemas narrow apiVersion and kind to literals. */
export const KubeObjectSchema = z.object({
  apiVersion: z.string(),
  kind: z.string(),
  metadata: ObjectMetaSchema,
});
export type KubeObject = z.infer<typeof KubeObjectSchema>;

export const TypeMetaSchema = z.object({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
});
export type TypeMeta = z.infer<typeof TypeMetaSchema>;

export const ListMetaSchema = z.object({
  resourceVersion: z.string().optional(),
  continue: z.string().optional(),
  remainingItemCount: z.number().int().optional(),
});
export type ListMeta = z.infer<typeof ListMetaSchema>;

/** `<Kind>List`: what a list request returns. */
export function listSchemaOf<T extends z.ZodTypeAny>(item: T) {
  return z.object({
    apiVersion: z.string(),
    kind: z.string(),
    metadata: ListMetaSchema.prefault({}),
    items: z.array(item),
  });
}

/**
 * How often the API server sends a BOOKMARK on every watch that allows them, whether or not
 * anything changed: the heartbeat by which a client (the informer) tells a quiet watch from a
 * dead connection.
 */
export const BOOKMARK_INTERVAL_MS = 15_000;

/**
 * How long the informer waits on a watch that brings nothing, bookmarks included, before it
 * gives the connection up and watches again through the next server: three bookmark intervals,
 * so a late bookmark or two on a loaded server does not trip it.
 */
export const WATCH_IDLE_TIMEOUT_MS = 3 * BOOKMARK_INTERVAL_MS;

/**
 * Objects one multi-object create may carry: a `v1 List` POSTed to a collection, answered with a
 * `v1 List` of each item's object or Status, in order (apiserver/http/bulk-create.ts).
 */
export const MAX_CREATE_LIST_ITEMS = 500;

export const StatusCauseSchema = z.object({
  reason: z.string().optional(),
  message: z.string().optional(),
  field: z.string().optional(),
});

export const StatusDetailsSchema = z.object({
  name: z.string().optional(),
  group: z.string().optional(),
  kind: z.string().optional(),
  uid: z.string().optional(),
  causes: z.array(StatusCauseSchema).optional(),
  retryAfterSeconds: z.number().int().optional(),
});

/** Every error response, and the result of some deletes. */
export const StatusSchema = z.object({
  kind: z.literal('Status'),
  apiVersion: z.literal('v1'),
  metadata: ListMetaSchema.prefault({}),
  status: z.enum(['Success', 'Failure']).optional(),
  message: z.string().optional(),
  reason: z.string().optional(),
  details: StatusDetailsSchema.optional(),
  code: z.number().int().optional(),
});
export type Status = z.infer<typeof StatusSchema>;

export const TableColumnDefinitionSchema = z.object({
  name: z.string(),
  /** OpenAPI type: string, integer, number, boolean, date */
  type: z.string(),
  format: z.string().optional(),
  description: z.string().optional(),
  /** 0 = always shown; higher = only in wide output */
  priority: z.number().int().optional(),
});

export const TableRowSchema = z.object({
  cells: z.array(z.unknown()),
  conditions: z
    .array(z.object({ type: z.string(), status: z.string(), reason: z.string().optional(), message: z.string().optional() }))
    .optional(),
  /** The full object or a PartialObjectMetadata, as `includeObject` asked. */
  object: z.record(z.string(), z.unknown()).optional(),
});

/** meta.k8s.io/v1 Table: what `kubectl get` asks for to print columns. */
export const TableSchema = z.object({
  kind: z.literal('Table'),
  apiVersion: z.literal('meta.k8s.io/v1'),
  metadata: ListMetaSchema.prefault({}),
  columnDefinitions: z.array(TableColumnDefinitionSchema),
  rows: z.array(TableRowSchema),
});
export type Table = z.infer<typeof TableSchema>;
export type TableColumnDefinition = z.infer<typeof TableColumnDefinitionSchema>;
export type TableRow = z.infer<typeof TableRowSchema>;

/** A row's object when the client asked for `includeObject=Metadata`. */
export const PartialObjectMetadataSchema = z.object({
  kind: z.literal('PartialObjectMetadata'),
  apiVersion: z.literal('meta.k8s.io/v1'),
  metadata: ObjectMetaSchema,
});
export type PartialObjectMetadata = z.infer<typeof PartialObjectMetadataSchema>;

export const WatchEventTypeSchema = z.enum(['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR']);
export type WatchEventType = z.infer<typeof WatchEventTypeSchema>;

/** One line of a watch stream; `object` is the kind watched, or a Status for ERROR. */
export function watchEventSchemaOf<T extends z.ZodTypeAny>(object: T) {
  return z.object({ type: WatchEventTypeSchema, object });
}
export const WatchEventSchema = watchEventSchemaOf(z.record(z.string(), z.unknown()));
export type WatchEvent<T = z.infer<typeof WatchEventSchema>['object']> = {
  type: WatchEventType;
  object: T;
};

export const PreconditionsSchema = z.object({
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
});

export const DeletionPropagationSchema = z.enum(['Orphan', 'Background', 'Foreground']);

export const DeleteOptionsSchema = z.object({
  kind: z.literal('DeleteOptions').optional(),
  apiVersion: z.string().optional(),
  gracePeriodSeconds: z.number().int().optional(),
  preconditions: PreconditionsSchema.optional(),
  propagationPolicy: DeletionPropagationSchema.optional(),
  /** Deprecated spelling of propagationPolicy Orphan/Background; clients still send it. */
  orphanDependents: z.boolean().optional(),
  dryRun: z.array(z.string()).optional(),
});
export type DeleteOptions = z.infer<typeof DeleteOptionsSchema>;

export const ConditionStatusSchema = z.enum(['True', 'False', 'Unknown']);
export type ConditionStatus = z.infer<typeof ConditionStatusSchema>;

/** metav1.Condition, the generic condition shape (kinds with their own condition types use those). */
export const ConditionSchema = z.object({
  type: z.string(),
  status: ConditionStatusSchema,
  observedGeneration: z.number().int().optional(),
  lastTransitionTime: TimeSchema.optional(),
  reason: z.string().optional(),
  message: z.string().optional(),
});
export type Condition = z.infer<typeof ConditionSchema>;

export const LabelSelectorOperatorSchema = z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']);

export const LabelSelectorRequirementSchema = z.object({
  key: z.string(),
  operator: LabelSelectorOperatorSchema,
  values: z.array(z.string()).optional(),
});

/** metav1.LabelSelector as it appears inside objects (affinity terms, spread constraints). */
export const LabelSelectorSchema = z.object({
  matchLabels: LabelsSchema.optional(),
  matchExpressions: z.array(LabelSelectorRequirementSchema).optional(),
});
export type LabelSelector = z.infer<typeof LabelSelectorSchema>;
