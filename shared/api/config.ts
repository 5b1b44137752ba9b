// v1 ConfigMap and Secret: configuration kept apart from the pods that read it. The node agent
// turns their keys into a container's environment (`env[].valueFrom`, `envFrom`). A Secret's
// `data` is base64, as on the wire in Kubernetes; `stringData` is write-only — the server merges it
// into `data` and never stores it. `immutable: true` freezes the contents for good.
import { z } from 'zod';
import type { FieldCause } from '../errors.js';
import { cause } from './field-errors.js';
import { ObjectMetaSchema } from './meta.js';

/** Kubernetes' limit on a ConfigMap's or a Secret's summed data. */
export const MAX_CONFIG_DATA_BYTES = 1024 * 1024;
export const DEFAULT_SECRET_TYPE = 'Opaque';

const KeyValuesSchema = z.record(z.string(), z.string());

export const ConfigMapSchema = z
  .object({
    apiVersion: z.literal('v1').default('v1'),
    kind: z.literal('ConfigMap').default('ConfigMap'),
    metadata: ObjectMetaSchema.prefault({}),
    data: KeyValuesSchema.optional().describe('UTF-8 values by key.'),
    binaryData: KeyValuesSchema.optional().describe('Binary values by key, base64-encoded; no key may be in data too.'),
    immutable: z.boolean().optional().describe('When true the data can never change again (delete and recreate instead).'),
  })
  .describe('Configuration for pods: keys and values a container can take as environment variables.');
export type ConfigMap = z.infer<typeof ConfigMapSchema>;

export const SecretSchema = z
  .object({
    apiVersion: z.literal('v1').default('v1'),
    kind: z.literal('Secret').default('Secret'),
    metadata: ObjectMetaSchema.prefault({}),
    type: z.string().optional().describe('What the secret holds (Opaque, kubernetes.io/basic-auth, kubernetes.io/tls, ...); fixes the keys it must have.'),
    data: KeyValuesSchema.optional().describe('Values by key, base64-encoded.'),
    stringData: KeyValuesSchema.optional().describe('Write-only: plain values merged into data (over a key there) when written; never read back.'),
    immutable: z.boolean().optional().describe('When true the data can never change again (delete and recreate instead).'),
  })
  .describe('Sensitive configuration for pods (passwords, tokens, keys); readable only by those granted secrets, and by a node for the pods bound to it.');
export type Secret = z.infer<typeof SecretSchema>;

/** The keys a well-known Secret type must carry (Kubernetes' ValidateSecret). */
const REQUIRED_SECRET_KEYS: Readonly<Record<string, { keys: readonly string[]; anyOf?: boolean }>> = {
  'kubernetes.io/dockercfg': { keys: ['.dockercfg'] },
  'kubernetes.io/dockerconfigjson': { keys: ['.dockerconfigjson'] },
  'kubernetes.io/basic-auth': { keys: ['username', 'password'], anyOf: true },
  'kubernetes.io/ssh-auth': { keys: ['ssh-privatekey'] },
  'kubernetes.io/tls': { keys: ['tls.crt', 'tls.key'] },
};

const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Kubernetes' IsConfigMapKey: what a key of data, binaryData or stringData may be. */
export function configKeyErrors(key: string): string[] {
  const errs: string[] = [];
  if (key.length > 253) errs.push('must be no more than 253 characters');
  if (!CONFIG_KEY.test(key)) errs.push("a valid config key must consist of alphanumeric characters, '-', '_' or '.'");
  if (key === '.') errs.push("must not be '.'");
  else if (key === '..') errs.push("must not be '..'");
  else if (key.startsWith('..')) errs.push("must not start with '..'");
  return errs;
}

function keyCauses(values: Record<string, string> | undefined, field: string): FieldCause[] {
  const out: FieldCause[] = [];
  for (const key of Object.keys(values ?? {})) for (const m of configKeyErrors(key)) out.push(cause.invalid(field, key, m));
  return out;
}

function base64Causes(values: Record<string, string> | undefined, field: string): FieldCause[] {
  return Object.entries(values ?? {}).flatMap(([key, v]) => (BASE64.test(v) ? [] : [cause.invalid(`${field}[${key}]`, '<value omitted>', 'must be base64-encoded')]));
}

/** Bytes a base64 value decodes to. */
function decodedLength(b64: string): number {
  return Math.floor((b64.length * 3) / 4) - (b64.endsWith('==') ? 2 : b64.endsWith('=') ? 1 : 0);
}

function sizeCause(bytes: number): FieldCause[] {
  return bytes > MAX_CONFIG_DATA_BYTES ? [cause.tooLong('data', MAX_CONFIG_DATA_BYTES)] : [];
}

export function configMapCauses(cm: ConfigMap): FieldCause[] {
  const out = [...keyCauses(cm.data, 'data'), ...keyCauses(cm.binaryData, 'binaryData'), ...base64Causes(cm.binaryData, 'binaryData')];
  for (const key of Object.keys(cm.binaryData ?? {})) if (cm.data && Object.hasOwn(cm.data, key)) out.push(cause.invalid('data', key, 'duplicate of key present in binaryData'));
  let bytes = 0;
  for (const v of Object.values(cm.data ?? {})) bytes += Buffer.byteLength(v);
  for (const v of Object.values(cm.binaryData ?? {})) bytes += decodedLength(v);
  out.push(...sizeCause(bytes));
  return out;
}

export function secretCauses(s: Secret): FieldCause[] {
  const out = [...keyCauses(s.data, 'data'), ...base64Causes(s.data, 'data'), ...keyCauses(s.stringData, 'stringData')];
  const merged = new Map<string, number>();
  for (const [k, v] of Object.entries(s.data ?? {})) merged.set(k, decodedLength(v));
  for (const [k, v] of Object.entries(s.stringData ?? {})) merged.set(k, Buffer.byteLength(v));
  out.push(...sizeCause([...merged.values()].reduce((a, b) => a + b, 0)));
  const type = s.type ?? DEFAULT_SECRET_TYPE;
  if (type.length > 253) out.push(cause.invalid('type', type, 'must be no more than 253 characters'));
  const needs = REQUIRED_SECRET_KEYS[type];
  if (needs) {
    const missing = needs.keys.filter((k) => !merged.has(k));
    if (needs.anyOf && missing.length === needs.keys.length) {
      out.push(cause.required(`data[${needs.keys[0]}]`, `one of ${needs.keys.map((n) => `data[${n}]`).join(' or ')} is required for ${type}`));
    } else if (!needs.anyOf) {
      for (const k of missing) out.push(cause.required(`data[${k}]`));
    }
  }
  return out;
}

/** The Secret as stored: `stringData` merged into `data` (base64) and dropped, the type defaulted. */
export function mergeStringData(s: Secret): void {
  if (s.stringData) {
    const data = { ...s.data };
    for (const [k, v] of Object.entries(s.stringData)) data[k] = Buffer.from(v, 'utf8').toString('base64');
    s.data = data;
    delete s.stringData;
  }
  s.type = s.type || DEFAULT_SECRET_TYPE;
}
