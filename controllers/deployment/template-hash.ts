// The `pod-template-hash` of a Deployment's pod template: a stable 32-bit FNV-1a hash of the
// template (its canonical JSON, keys sorted, so the same template always hashes alike whatever
// order a client wrote it in) and of the Deployment's collisionCount, written with Kubernetes'
// SafeEncodeString alphabet (no vowels, no look-alikes), so it can be a name suffix and a label.
import { POD_TEMPLATE_HASH_LABEL } from '../../shared/api/apps.js';
import type { PodTemplateSpec } from '../../shared/api/core.js';

const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** JSON with object keys sorted at every level. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** The hash of any JSON value (a DaemonSet's ControllerRevision data hashes the same way). */
export function safeHash(value: unknown, collisionCount?: number): string {
  const input = canonicalJson(value) + (collisionCount !== undefined && collisionCount > 0 ? String(collisionCount) : '');
  return [...String(fnv1a32(input))].map((d) => SAFE_ALPHABET[Number(d) % SAFE_ALPHABET.length]).join('');
}

export function templateHash(template: PodTemplateSpec, collisionCount?: number): string {
  return safeHash(template, collisionCount);
}

/** The template without the pod-template-hash label (a ReplicaSet's template, compared with its Deployment's). */
export function withoutHash(template: PodTemplateSpec): PodTemplateSpec {
  const labels = { ...template.metadata.labels };
  delete labels[POD_TEMPLATE_HASH_LABEL];
  return { ...template, metadata: { ...template.metadata, labels } };
}

/** Kubernetes' EqualIgnoreHash: the same template once both lose their pod-template-hash label. */
export function equalIgnoringHash(a: PodTemplateSpec, b: PodTemplateSpec): boolean {
  return canonicalJson(withoutHash(a)) === canonicalJson(withoutHash(b));
}
