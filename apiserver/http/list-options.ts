// Which state a list or watch reads: resourceVersion, resourceVersionMatch, sendInitialEvents and
// continue, checked as kube-apiserver checks ListOptions. A combination it forbids is a 422 Invalid
// on kind ListOptions naming the field, so clients get the answer they would get from Kubernetes.
import { InvalidError, type FieldCause } from '../../shared/errors.js';
import { boolParam } from './query.js';

export type ResourceVersionMatch = 'Exact' | 'NotOlderThan';

export interface ListVersionOptions {
  /** '' when absent. */
  resourceVersion: string;
  resourceVersionMatch?: ResourceVersionMatch;
  /** A watch's initial state as ADDED events (watch-list); undefined: the legacy default. */
  sendInitialEvents?: boolean;
  continueToken?: string;
}

const forbidden = (field: string, detail: string): FieldCause => ({ reason: 'FieldValueForbidden', field, message: `Forbidden: ${detail}` });
const notSupported = (field: string, value: string, supported: string[]): FieldCause => ({
  reason: 'FieldValueNotSupported',
  field,
  message: `Unsupported value: "${value}": supported values: ${supported.map((v) => `"${v}"`).join(', ')}`,
});

/** The options of a list (`watch` false) or a watch, or the 422 that says which one is wrong. */
export function listVersionOptions(query: URLSearchParams, watch: boolean): ListVersionOptions {
  const resourceVersion = query.get('resourceVersion') ?? '';
  const match = query.get('resourceVersionMatch') ?? '';
  const sendInitialEvents = boolParam(query, 'sendInitialEvents');
  const continueToken = query.get('continue') ?? '';
  const causes = watch ? watchCauses(match, sendInitialEvents, continueToken) : listCauses(resourceVersion, match, sendInitialEvents, continueToken);
  if (causes.length > 0) {
    const detail = causes.map((c) => `${c.field}: ${c.message}`);
    throw new InvalidError(`ListOptions.meta.k8s.io "" is invalid: ${detail.length === 1 ? detail[0] : `[${detail.join(', ')}]`}`, { kind: 'ListOptions', group: 'meta.k8s.io' }, causes);
  }
  const out: ListVersionOptions = { resourceVersion };
  if (match !== '') out.resourceVersionMatch = match as ResourceVersionMatch;
  if (sendInitialEvents !== undefined) out.sendInitialEvents = sendInitialEvents;
  if (continueToken !== '') out.continueToken = continueToken;
  return out;
}

function listCauses(resourceVersion: string, match: string, sendInitialEvents: boolean | undefined, continueToken: string): FieldCause[] {
  const causes: FieldCause[] = [];
  if (match !== '') {
    if (resourceVersion === '') causes.push(forbidden('resourceVersionMatch', 'resourceVersionMatch is forbidden unless resourceVersion is provided'));
    if (continueToken !== '') causes.push(forbidden('resourceVersionMatch', 'resourceVersionMatch is forbidden when continue is provided'));
    if (match !== 'Exact' && match !== 'NotOlderThan') causes.push(notSupported('resourceVersionMatch', match, ['Exact', 'NotOlderThan', '']));
    if (match === 'Exact' && resourceVersion === '0') causes.push(forbidden('resourceVersionMatch', 'resourceVersionMatch "exact" is forbidden for resourceVersion "0"'));
  }
  if (sendInitialEvents !== undefined) causes.push(forbidden('sendInitialEvents', 'sendInitialEvents is forbidden for list'));
  return causes;
}

function watchCauses(match: string, sendInitialEvents: boolean | undefined, continueToken: string): FieldCause[] {
  const causes: FieldCause[] = [];
  if (sendInitialEvents !== undefined && match !== 'NotOlderThan') {
    causes.push(forbidden('resourceVersionMatch', 'sendInitialEvents requires setting resourceVersionMatch to NotOlderThan'));
  }
  if (match !== '') {
    if (sendInitialEvents === undefined) causes.push(forbidden('resourceVersionMatch', 'resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided'));
    if (match !== 'NotOlderThan') causes.push(notSupported('resourceVersionMatch', match, ['NotOlderThan']));
    if (continueToken !== '') causes.push(forbidden('resourceVersionMatch', 'resourceVersionMatch is forbidden when continue is provided'));
  }
  return causes;
}
