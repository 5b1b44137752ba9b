// ConfigMap and Secret strategies, as Kubernetes': a Secret's `stringData` is merged into `data`
// on every write (it is write-only) and its type defaults to Opaque and never changes; once
// `immutable` is true neither kind's data may change, nor `immutable` be turned off.
import { isDeepStrictEqual } from 'node:util';
import { mergeStringData, type ConfigMap, type Secret } from '../../shared/api/config.js';
import { cause, invalidObjectError } from '../../shared/api/field-errors.js';
import type { FieldCause } from '../../shared/errors.js';
import type { KubeObject } from './object.js';
import type { Strategy } from './strategy.js';

type Frozen = Pick<ConfigMap, 'immutable' | 'metadata'> & Record<string, unknown>;

/** The causes of changing an immutable object's `fields` (or `immutable` itself). */
function immutabilityCauses(next: Frozen, old: Frozen, fields: readonly string[]): FieldCause[] {
  if (old.immutable !== true) return [];
  const out: FieldCause[] = [];
  if (next.immutable !== true) out.push(cause.forbidden('immutable', 'field is immutable when `immutable` is set'));
  for (const f of fields) if (!isDeepStrictEqual(next[f] ?? {}, old[f] ?? {})) out.push(cause.forbidden(f, 'field is immutable when `immutable` is set'));
  return out;
}

function rejectIf(kind: string, obj: KubeObject, causes: FieldCause[]): void {
  if (causes.length > 0) throw invalidObjectError({ kind, name: obj.metadata.name ?? '' }, causes);
}

export const configMapStrategy: Strategy = {
  validateUpdate(next, old) {
    rejectIf('ConfigMap', old, immutabilityCauses(next as unknown as Frozen, old as unknown as Frozen, ['data', 'binaryData']));
  },
};

export const secretStrategy: Strategy = {
  prepareForCreate(obj) {
    mergeStringData(obj as unknown as Secret);
  },
  prepareForUpdate(next) {
    mergeStringData(next as unknown as Secret);
  },
  validateUpdate(next, old) {
    const a = next as unknown as Secret;
    const b = old as unknown as Secret;
    const causes = immutabilityCauses(a as unknown as Frozen, b as unknown as Frozen, ['data']);
    if (a.type !== b.type) causes.push(cause.invalid('type', a.type, 'field is immutable'));
    rejectIf('Secret', old, causes);
  },
};
