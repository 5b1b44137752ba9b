// v1 LimitRange: a namespace's rules for what its containers and pods ask for. When a pod is
// created, each container that gives no limit (or request) for a resource takes the range's
// `default` (`defaultRequest`); then every container (type Container) or the pod as a whole
// (type Pod) must stay within `min` (requests) and `max` (limits), and limit ÷ request within
// `maxLimitRequestRatio`. That is how a namespace keeps pods that ask for nothing — placed as if
// they needed nothing — off its nodes. As in Kubernetes, a range fills in its own gaps when
// stored: a Container item's missing default is its max, its missing defaultRequest its default
// (else its min).
import { z } from 'zod';
import type { FieldCause } from '../errors.js';
import { Quantity } from '../quantity.js';
import { ResourceListSchema } from './core.js';
import { cause, childPath } from './field-errors.js';
import { ObjectMetaSchema } from './meta.js';
import { resourceListCauses } from './rules.js';

export const LIMIT_TYPES = ['Container', 'Pod', 'PersistentVolumeClaim'] as const;

const LimitRangeItemSchema = z
  .object({
    type: z.enum(LIMIT_TYPES).describe('What the limits apply to: each Container, or a Pod (the sum of its containers).'),
    max: ResourceListSchema.optional().describe('The highest limit allowed.'),
    min: ResourceListSchema.optional().describe('The lowest request allowed.'),
    default: ResourceListSchema.optional().describe('The limit a container that gives none gets (Container only).'),
    defaultRequest: ResourceListSchema.optional().describe('The request a container that gives none gets (Container only).'),
    maxLimitRequestRatio: ResourceListSchema.optional().describe('The most a limit may be of its request, as a ratio.'),
  })
  .transform((item) => {
    if (item.type !== 'Container') return item;
    const def = { ...item.max, ...item.default };
    const defaultRequest = { ...item.min, ...def, ...item.defaultRequest };
    return {
      ...item,
      ...(Object.keys(def).length > 0 ? { default: def } : {}),
      ...(Object.keys(defaultRequest).length > 0 ? { defaultRequest } : {}),
    };
  });
export type LimitRangeItem = z.infer<typeof LimitRangeItemSchema>;

export const LimitRangeSchema = z
  .object({
    apiVersion: z.literal('v1').default('v1'),
    kind: z.literal('LimitRange').default('LimitRange'),
    metadata: ObjectMetaSchema.prefault({}),
    spec: z.object({ limits: z.array(LimitRangeItemSchema).describe('The rules, each for one type.') }),
  })
  .describe("A namespace's defaults and bounds for what its containers and pods request and may use.");
export type LimitRange = z.infer<typeof LimitRangeSchema>;

const BOUNDS = ['max', 'min', 'default', 'defaultRequest', 'maxLimitRequestRatio'] as const;

/** Kubernetes' rules for a range (pkg/apis/core/validation ValidateLimitRange), one cause per bad field. */
export function limitRangeCauses(lr: LimitRange): FieldCause[] {
  const out: FieldCause[] = [];
  lr.spec.limits.forEach((item, i) => {
    const at = `spec.limits[${i}]`;
    for (const b of BOUNDS) out.push(...resourceListCauses(item[b], `${at}.${b}`, 'container'));
    if (item.type === 'Pod') {
      if (item.default !== undefined) out.push(cause.forbidden(`${at}.default`, "may not be specified when `type` is 'Pod'"));
      if (item.defaultRequest !== undefined) out.push(cause.forbidden(`${at}.defaultRequest`, "may not be specified when `type` is 'Pod'"));
    }
    const names = new Set(BOUNDS.flatMap((b) => Object.keys(item[b] ?? {})));
    for (const name of names) {
      const q = (b: (typeof BOUNDS)[number]) => (item[b]?.[name] !== undefined ? Quantity.parse(item[b]![name]!) : undefined);
      const [max, min, def, req, ratio] = BOUNDS.map(q);
      const bad = (b: string, value: Quantity, detail: string) => out.push(cause.invalid(childPath(`${at}.${b}`, name), value.toString(), detail));
      if (min && max && min.cmp(max) > 0) bad('min', min, `min value ${min.toString()} is greater than max value ${max.toString()}`);
      if (req && min && min.cmp(req) > 0) bad('defaultRequest', req, `min value ${min.toString()} is greater than default request value ${req.toString()}`);
      if (req && max && req.cmp(max) > 0) bad('defaultRequest', req, `default request value ${req.toString()} is greater than max value ${max.toString()}`);
      if (req && def && req.cmp(def) > 0) bad('defaultRequest', req, `default request value ${req.toString()} is greater than default limit value ${def.toString()}`);
      if (def && min && min.cmp(def) > 0) bad('default', def, `min value ${min.toString()} is greater than default value ${def.toString()}`);
      if (def && max && def.cmp(max) > 0) bad('default', def, `default value ${def.toString()} is greater than max value ${max.toString()}`);
      if (ratio && ratio.cmp(Quantity.parse(1)) < 0) bad('maxLimitRequestRatio', ratio, `ratio ${ratio.toString()} is less than 1`);
      if (ratio && min && max && !min.isZero() && ratio.milliValue() * min.milliValue() > max.milliValue() * 1000n) {
        // A ratio looser than max ÷ min could never be the bound that decides.
        bad('maxLimitRequestRatio', ratio, `ratio ${ratio.toString()} is greater than max/min = ${(Number(max.milliValue()) / Number(min.milliValue())).toFixed(6)}`);
      }
    }
  });
  return out;
}
