// batch/v1 CronJob: a Job made from `jobTemplate` at each time `schedule` names (standard cron, in
// `timeZone` or the controller's UTC), with Kubernetes' field names, defaults and rules. The
// cronjob controller (controllers/cronjob/) makes the Jobs and keeps the status.
import { z } from 'zod';
import type { FieldCause } from '../errors.js';
import { scheduleErrors, timeZoneErrors } from '../cron-schedule.js';
import { BATCH_API_VERSION, jobCauses, JobSpecSchema, type Job } from './batch.js';
import { ObjectReferenceSchema } from './core.js';
import { cause } from './field-errors.js';
import { ObjectMetaSchema, TimeSchema } from './meta.js';

/** A CronJob's name is at most this long: its Jobs are named `<name>-<minutes since the epoch>` (11 more). */
export const MAX_CRONJOB_NAME_LENGTH = 52;
/** Set on every Job a CronJob makes: the time it was scheduled for (RFC 3339). */
export const CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION = 'batch.kubernetes.io/cronjob-scheduled-timestamp';

export const ConcurrencyPolicySchema = z.enum(['Allow', 'Forbid', 'Replace']);
export type ConcurrencyPolicy = z.infer<typeof ConcurrencyPolicySchema>;

export const JobTemplateSpecSchema = z
  .object({
    metadata: ObjectMetaSchema.prefault({}).describe('Labels and annotations every Job made from the template gets.'),
    spec: JobSpecSchema.describe('The spec of every Job made from the template.'),
  })
  .describe('The Jobs a CronJob makes.');
export type JobTemplateSpec = z.infer<typeof JobTemplateSpecSchema>;

export const CronJobSpecSchema = z.object({
  schedule: z.string().describe('When to run, in cron format ("*/5 * * * *", "0 3 * * 1-5", "@hourly").'),
  timeZone: z.string().optional().describe('The IANA time zone the schedule is read in (Europe/Berlin); UTC when unset.'),
  startingDeadlineSeconds: z.number().int().optional().describe('A run not started within this many seconds of its time is skipped (counted as missed).'),
  concurrencyPolicy: ConcurrencyPolicySchema.default('Allow').describe('While a Job is still running: Allow another, Forbid (skip this run) or Replace it.'),
  suspend: z.boolean().default(false).describe('While true no Job is started; runs missed meanwhile are not made up.'),
  jobTemplate: JobTemplateSpecSchema.describe('The Job made at each scheduled time.'),
  successfulJobsHistoryLimit: z.number().int().default(3).describe('Finished successful Jobs kept (the oldest are deleted).'),
  failedJobsHistoryLimit: z.number().int().default(1).describe('Finished failed Jobs kept (the oldest are deleted).'),
});
export type CronJobSpec = z.infer<typeof CronJobSpecSchema>;

export const CronJobStatusSchema = z.object({
  active: z.array(ObjectReferenceSchema).optional().describe('The Jobs it made that are still running.'),
  lastScheduleTime: TimeSchema.optional().describe('The time of the last run it started.'),
  lastSuccessfulTime: TimeSchema.optional().describe('When a Job it made last completed successfully.'),
});
export type CronJobStatus = z.infer<typeof CronJobStatusSchema>;

export const CronJobSchema = z
  .object({
    apiVersion: z.literal(BATCH_API_VERSION).default(BATCH_API_VERSION),
    kind: z.literal('CronJob').default('CronJob'),
    metadata: ObjectMetaSchema.prefault({}),
    spec: CronJobSpecSchema.describe('When to run and what.'),
    status: CronJobStatusSchema.prefault({}).describe('Its Jobs, kept by the cronjob controller.'),
  })
  .describe('Runs a Job on a repeating schedule.');
export type CronJob = z.infer<typeof CronJobSchema>;

export function cronJobCauses(cj: CronJob): FieldCause[] {
  const out: FieldCause[] = [];
  const name = cj.metadata.name ?? '';
  if (name.length > MAX_CRONJOB_NAME_LENGTH) out.push(cause.invalid('metadata.name', name, `must be no more than ${MAX_CRONJOB_NAME_LENGTH} characters`));
  const s = cj.spec;
  if (s.schedule.trim() === '') out.push(cause.required('spec.schedule'));
  else for (const m of scheduleErrors(s.schedule, s.timeZone)) out.push(cause.invalid('spec.schedule', s.schedule, m));
  if (s.timeZone !== undefined) for (const m of timeZoneErrors(s.timeZone)) out.push(cause.invalid('spec.timeZone', s.timeZone, m));
  if (s.startingDeadlineSeconds !== undefined && s.startingDeadlineSeconds < 0) out.push(cause.invalid('spec.startingDeadlineSeconds', s.startingDeadlineSeconds, 'must be greater than or equal to 0'));
  for (const f of ['successfulJobsHistoryLimit', 'failedJobsHistoryLimit'] as const) {
    if (s[f] < 0) out.push(cause.invalid(`spec.${f}`, s[f], 'must be greater than or equal to 0'));
  }
  // The template is a Job's spec, checked by the Job's own rules (their fields moved under the template).
  const asJob = { apiVersion: BATCH_API_VERSION, kind: 'Job', metadata: { name: 'template', namespace: cj.metadata.namespace }, spec: s.jobTemplate.spec, status: {} } as unknown as Job;
  for (const c of jobCauses(asJob)) out.push({ ...c, field: `spec.jobTemplate.${c.field ?? ''}` });
  return out;
}
