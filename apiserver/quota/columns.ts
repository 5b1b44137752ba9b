// kubectl's REQUEST and LIMIT columns for ResourceQuota: `requests.cpu: 500m/2, pods: 3/10`, one
// entry per spec.hard name in name order, `limits.*` in LIMIT and everything else in REQUEST.
import type { ResourceQuota } from '../../shared/api/quota.js';
import type { KubeObject } from '../registry/object.js';

export function quotaColumnText(obj: KubeObject, column: 'request' | 'limit'): string {
  const q = obj as unknown as Partial<Pick<ResourceQuota, 'spec' | 'status'>>;
  const names = Object.keys(q.spec?.hard ?? {}).sort();
  const shown = names.filter((n) => (n.split('.')[0] === 'limits' && n.includes('.')) === (column === 'limit'));
  // A quantity not yet recorded prints as kubectl prints a zero Quantity: "0".
  return shown.map((n) => `${n}: ${String(q.status?.used?.[n] ?? '0')}/${String(q.status?.hard?.[n] ?? '0')}`).join(', ');
}
