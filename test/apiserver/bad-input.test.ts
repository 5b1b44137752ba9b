// Malformed and hostile requests, sent raw. Every one must get a 4xx whose body is a Kubernetes
// Status (422s naming the bad field), none may write anything, and the server must carry on.
import { expect } from 'chai';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import {
  causeFields,
  expectStatus,
  namespaceBody,
  nodeBody,
  podBody,
  raw,
  rawHttp,
  type RawResponse,
} from './helpers.js';

const MAX_BYTES = 256 * 1024;
const PODS = '/api/v1/namespaces/default/pods';
const TARGET = `${PODS}/target`;
const LEASES = '/apis/coordination.k8s.io/v1/namespaces/default/leases';
const PODGROUPS = '/apis/scheduling.x-k8s.io/v1alpha1/namespaces/default/podgroups';

type Json = Record<string, unknown>;

interface Case {
  name: string;
  method: string;
  path: string;
  /** A string or Buffer is sent verbatim; anything else as JSON. */
  body?: unknown;
  contentType?: string;
  headers?: Record<string, string>;
  /** Send with node:http (raw path, any method, any headers) instead of fetch. */
  viaHttp?: boolean;
  code: number;
  reason?: string;
  /** For 422: a `details.causes[].field` that must be present. */
  field?: string;
  /** Text the Status message must contain (e.g. the unknown field's name). */
  message?: string;
}

/** A valid pod with `edit` applied to a copy. */
function pod(name: string, edit: (p: Json & { metadata: Json; spec: Json & { containers: Json[] } }) => void = () => undefined): Json {
  const p = podBody(name) as Json & { metadata: Json; spec: Json & { containers: Json[] } };
  edit(p);
  return p;
}

function manyLabels(n: number, extra: Record<string, string> = {}): Record<string, string> {
  const labels: Record<string, string> = {};
  for (let i = 0; i < n; i++) labels[`label-${i}`] = `value-${i}`;
  return { ...labels, ...extra };
}

const cont = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const q = (params: Record<string, string>) => new URLSearchParams(params).toString();

const CASES: Case[] = [
  // --- bodies that are not a JSON object
  { name: 'broken JSON', method: 'POST', path: PODS, body: '{"metadata": {"name": "x"', code: 400, reason: 'BadRequest' },
  { name: 'JSON with trailing garbage', method: 'POST', path: PODS, body: '{"metadata": {}} trailing', code: 400, reason: 'BadRequest' },
  { name: 'JSON array body', method: 'POST', path: PODS, body: '[{"metadata": {"name": "x"}}]', code: 400, reason: 'BadRequest' },
  { name: 'JSON number body', method: 'POST', path: PODS, body: '42', code: 400, reason: 'BadRequest' },
  { name: 'JSON string body', method: 'POST', path: PODS, body: '"a pod"', code: 400, reason: 'BadRequest' },
  { name: 'JSON null body', method: 'POST', path: PODS, body: 'null', code: 400, reason: 'BadRequest' },
  { name: 'JSON boolean body', method: 'POST', path: PODS, body: 'true', code: 400, reason: 'BadRequest' },
  { name: 'empty body', method: 'POST', path: PODS, body: '', contentType: 'application/json', code: 400, reason: 'BadRequest' },
  { name: 'invalid UTF-8', method: 'POST', path: PODS, viaHttp: true, body: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), headers: { 'content-type': 'application/json' }, code: 400, reason: 'BadRequest' },
  { name: 'broken YAML', method: 'POST', path: PODS, body: 'metadata: {name: [x\n  - : :', contentType: 'application/yaml', code: 400, reason: 'BadRequest' },
  {
    name: 'YAML alias bomb',
    method: 'POST',
    path: PODS,
    body: 'a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d]',
    contentType: 'application/yaml',
    code: 400,
    reason: 'BadRequest',
  },
  { name: '100k levels of [', method: 'POST', path: PODS, body: '['.repeat(100_000) + ']'.repeat(100_000), code: 400, reason: 'BadRequest' },
  { name: '100k unclosed [', method: 'POST', path: PODS, body: '['.repeat(100_000), code: 400, reason: 'BadRequest' },
  {
    name: '5000 nested objects inside a kept field (managedFields)',
    method: 'POST',
    path: PODS,
    body: `{"metadata":{"name":"deep","managedFields":[{"manager":"x","fieldsV1":${'{"f":'.repeat(5000)}1${'}'.repeat(5000)}}]},"spec":{"containers":[{"name":"a","image":"b"}]}}`,
    code: 400,
    reason: 'BadRequest',
  },
  {
    name: '5000 nested objects in an unknown field',
    method: 'POST',
    path: PODS,
    body: `{"metadata":{"name":"deep2"},"spec":{"containers":[{"name":"a","image":"b"}]},"junk":${'{"f":'.repeat(5000)}1${'}'.repeat(5000)}}`,
    code: 400,
    reason: 'BadRequest',
  },

  // --- wrong types (422 naming the field)
  { name: 'spec.containers is a string', method: 'POST', path: PODS, body: pod('t1', (p) => (p.spec.containers = 'x' as unknown as Json[])), code: 422, field: 'spec.containers' },
  { name: 'metadata.name is a number', method: 'POST', path: PODS, body: pod('t2', (p) => (p.metadata.name = 5)), code: 422, field: 'metadata.name' },
  { name: 'metadata.labels is a list', method: 'POST', path: PODS, body: pod('t3', (p) => (p.metadata.labels = ['a'])), code: 422, field: 'metadata.labels' },
  { name: 'container image is a number', method: 'POST', path: PODS, body: pod('t4', (p) => (p.spec.containers[0]!.image = 7)), code: 422, field: 'spec.containers[0].image' },
  { name: 'spec missing', method: 'POST', path: PODS, body: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 't5' } }, code: 422, field: 'spec' },
  {
    name: 'containerPort is a string',
    method: 'POST',
    path: PODS,
    body: pod('t6', (p) => (p.spec.containers[0]!.ports = [{ containerPort: '80' }])),
    code: 422,
    field: 'spec.containers[0].ports[0].containerPort',
  },
  { name: 'restartPolicy not in the enum', method: 'POST', path: PODS, body: pod('t7', (p) => (p.spec.restartPolicy = 'Sometimes')), code: 422, field: 'spec.restartPolicy' },
  { name: 'terminationGracePeriodSeconds is fractional', method: 'POST', path: PODS, body: pod('t8', (p) => (p.spec.terminationGracePeriodSeconds = 1.5)), code: 422, field: 'spec.terminationGracePeriodSeconds' },
  { name: 'terminationGracePeriodSeconds is negative', method: 'POST', path: PODS, body: pod('t9', (p) => (p.spec.terminationGracePeriodSeconds = -1)), code: 422, field: 'spec.terminationGracePeriodSeconds' },
  {
    name: 'Event type not in the enum',
    method: 'POST',
    path: '/api/v1/namespaces/default/events',
    body: { metadata: { name: 'ev' }, involvedObject: { kind: 'Pod', name: 'x' }, type: 'Critical' },
    code: 422,
    field: 'type',
  },
  { name: 'Lease leaseDurationSeconds is a string', method: 'POST', path: LEASES, body: { metadata: { name: 'l' }, spec: { leaseDurationSeconds: 'long' } }, code: 422, field: 'spec.leaseDurationSeconds' },
  { name: 'PodGroup minMember is a string', method: 'POST', path: PODGROUPS, body: { metadata: { name: 'pg' }, spec: { minMember: 'two' } }, code: 422, field: 'spec.minMember' },
  { name: 'PodGroup minMember is 0', method: 'POST', path: PODGROUPS, body: { metadata: { name: 'pg' }, spec: { minMember: 0 } }, code: 422, field: 'spec.minMember' },
  {
    name: 'Node taint effect not in the enum',
    method: 'POST',
    path: '/api/v1/nodes',
    body: { metadata: { name: 'tainted' }, spec: { taints: [{ key: 'k', effect: 'Sometimes' }] } },
    code: 422,
    field: 'spec.taints[0].effect',
  },

  // --- names
  { name: 'uppercase name', method: 'POST', path: PODS, body: pod('UpperCase'), code: 422, field: 'metadata.name' },
  { name: 'name over 253 characters', method: 'POST', path: PODS, body: pod('a'.repeat(254)), code: 422, field: 'metadata.name' },
  { name: 'name ".."', method: 'POST', path: PODS, body: pod('..'), code: 422, field: 'metadata.name' },
  { name: 'name with a slash', method: 'POST', path: PODS, body: pod('a/b'), code: 422, field: 'metadata.name' },
  { name: 'name with a NUL', method: 'POST', path: PODS, body: pod('a\u0000b'), code: 422, field: 'metadata.name' },
  { name: 'no name and no generateName', method: 'POST', path: PODS, body: pod('', (p) => delete p.metadata.name), code: 422, field: 'metadata.name' },
  { name: 'bad generateName', method: 'POST', path: PODS, body: pod('', (p) => ((p.metadata.generateName = 'Bad_Prefix-'), delete p.metadata.name)), code: 422, field: 'metadata.generateName' },
  { name: 'namespace name with a dot (must be a DNS label)', method: 'POST', path: '/api/v1/namespaces', body: namespaceBody('a.b'), code: 422, field: 'metadata.name' },

  // --- quantities
  { name: 'cpu "lots"', method: 'POST', path: PODS, body: podBody('q1', { cpu: 'lots' }), code: 422, field: 'spec.containers[0].resources.requests.cpu' },
  { name: 'cpu "1.2.3"', method: 'POST', path: PODS, body: podBody('q2', { cpu: '1.2.3' }), code: 422, field: 'spec.containers[0].resources.requests.cpu' },
  { name: 'cpu "-1"', method: 'POST', path: PODS, body: podBody('q3', { cpu: '-1' }), code: 422, field: 'spec.containers[0].resources.requests.cpu' },
  { name: 'memory "8Gb"', method: 'POST', path: PODS, body: pod('q4', (p) => (p.spec.containers[0]!.resources = { requests: { memory: '8Gb' } })), code: 422, field: 'spec.containers[0].resources.requests.memory' },
  { name: 'quantity is an object', method: 'POST', path: PODS, body: pod('q5', (p) => (p.spec.containers[0]!.resources = { limits: { cpu: { v: 1 } } })), code: 422, field: 'spec.containers[0].resources.limits.cpu' },
  {
    name: 'node capacity "a lot"',
    method: 'POST',
    path: '/api/v1/nodes',
    body: { metadata: { name: 'qnode' }, status: { capacity: { cpu: 'a lot' } } },
    code: 422,
    field: 'status.capacity.cpu',
  },

  // --- labels and annotations
  { name: 'label key "-bad-"', method: 'POST', path: PODS, body: podBody('l1', { labels: { '-bad-': 'x' } }), code: 422, field: 'metadata.labels' },
  { name: 'label key with two slashes', method: 'POST', path: PODS, body: podBody('l2', { labels: { 'a/b/c': 'x' } }), code: 422, field: 'metadata.labels' },
  { name: 'label value of 64 characters', method: 'POST', path: PODS, body: podBody('l3', { labels: { k: 'v'.repeat(64) } }), code: 422, field: 'metadata.labels' },
  { name: 'label value with a space', method: 'POST', path: PODS, body: podBody('l4', { labels: { k: 'has space' } }), code: 422, field: 'metadata.labels' },
  { name: 'annotation key with spaces', method: 'POST', path: PODS, body: podBody('l5', { annotations: { 'not a key': 'x' } }), code: 422, field: 'metadata.annotations' },
  { name: '3000 labels, one bad', method: 'POST', path: PODS, body: podBody('l6', { labels: manyLabels(3000, { 'bad key!': 'x' }) }), code: 422, field: 'metadata.labels' },
  { name: '30000 labels (over the request limit)', method: 'POST', path: PODS, body: podBody('l7', { labels: manyLabels(30_000) }), code: 413, reason: 'RequestEntityTooLarge' },

  // --- strict field validation
  { name: 'unknown top-level field, Strict', method: 'POST', path: `${PODS}?fieldValidation=Strict`, body: { ...podBody('s1'), bogusField: 1 }, code: 400, reason: 'BadRequest', message: 'bogusField' },
  {
    name: 'unknown container field, Strict',
    method: 'POST',
    path: `${PODS}?fieldValidation=Strict`,
    body: pod('s2', (p) => (p.spec.containers[0]!.imageTypo = 'x')),
    code: 400,
    reason: 'BadRequest',
    message: 'spec.containers[0].imageTypo',
  },
  { name: 'fieldValidation=Loose', method: 'POST', path: `${PODS}?fieldValidation=Loose`, body: podBody('s3'), code: 400, reason: 'BadRequest' },
  { name: 'dryRun=Partial', method: 'POST', path: `${PODS}?dryRun=Partial`, body: podBody('s4'), code: 400, reason: 'BadRequest' },

  // --- size and media type
  { name: `body over maxRequestBytes (${MAX_BYTES})`, method: 'POST', path: PODS, body: podBody('big', { annotations: { big: 'x'.repeat(MAX_BYTES) } }), code: 413, reason: 'RequestEntityTooLarge' },
  {
    name: 'Content-Length beyond the limit',
    method: 'POST',
    path: PODS,
    viaHttp: true,
    body: '{}',
    headers: { 'content-type': 'application/json', 'content-length': String(MAX_BYTES * 100) },
    code: 413,
    reason: 'RequestEntityTooLarge',
  },
  { name: 'Content-Type application/xml', method: 'POST', path: PODS, body: '<pod/>', contentType: 'application/xml', code: 415, reason: 'UnsupportedMediaType' },
  { name: 'Content-Type text/plain', method: 'POST', path: PODS, body: JSON.stringify(podBody('ct1')), contentType: 'text/plain', code: 415, reason: 'UnsupportedMediaType' },
  { name: 'Content-Type form-urlencoded', method: 'PUT', path: TARGET, body: 'a=b', contentType: 'application/x-www-form-urlencoded', code: 415, reason: 'UnsupportedMediaType' },
  { name: 'Content-Type protobuf', method: 'POST', path: PODS, body: 'k8s\u0000', contentType: 'application/vnd.kubernetes.protobuf', code: 415, reason: 'UnsupportedMediaType' },
  { name: 'PATCH with application/json', method: 'PATCH', path: TARGET, body: { metadata: {} }, contentType: 'application/json', code: 415, reason: 'UnsupportedMediaType' },
  { name: 'PATCH with apply-patch+yaml (server-side apply) without a fieldManager', method: 'PATCH', path: TARGET, body: 'metadata: {}', contentType: 'application/apply-patch+yaml', code: 400, reason: 'BadRequest' },

  // --- methods
  { name: 'PROPFIND', method: 'PROPFIND', path: PODS, viaHttp: true, code: 405, reason: 'MethodNotAllowed' },
  { name: 'OPTIONS', method: 'OPTIONS', path: TARGET, viaHttp: true, code: 405, reason: 'MethodNotAllowed' },
  { name: 'POST to a named object', method: 'POST', path: TARGET, body: podBody('other-name'), code: 405, reason: 'MethodNotAllowed' },
  { name: 'PUT on a collection', method: 'PUT', path: PODS, body: podBody('target'), code: 405, reason: 'MethodNotAllowed' },
  { name: 'PATCH on a collection', method: 'PATCH', path: PODS, body: { metadata: {} }, contentType: 'application/merge-patch+json', code: 405, reason: 'MethodNotAllowed' },
  { name: 'POST to pods/status', method: 'POST', path: `${TARGET}/status`, body: podBody('target'), code: 405, reason: 'MethodNotAllowed' },
  { name: 'DELETE a nodeallocation (read-only)', method: 'DELETE', path: '/apis/scheduling.cell.dev/v1alpha1/nodeallocations/n1', code: 405, reason: 'MethodNotAllowed' },
  { name: 'POST a pod without a namespace', method: 'POST', path: '/api/v1/pods', body: podBody('nons'), code: 405, reason: 'MethodNotAllowed' },

  // --- paths
  { name: 'namespace %2e%2e', method: 'GET', path: '/api/v1/namespaces/%2e%2e/pods', viaHttp: true, code: 404, reason: 'NotFound' },
  { name: 'namespace ..', method: 'GET', path: '/api/v1/namespaces/../pods', viaHttp: true, code: 404, reason: 'NotFound' },
  { name: 'name %2E (a dot)', method: 'GET', path: `${PODS}/%2E`, viaHttp: true, code: 404, reason: 'NotFound' },
  { name: 'create in namespace %2e%2e', method: 'POST', path: '/api/v1/namespaces/%2e%2e/pods', viaHttp: true, body: JSON.stringify(podBody('dots')), headers: { 'content-type': 'application/json' }, code: 404, reason: 'NotFound' },
  { name: 'double slashes', method: 'GET', path: '/api/v1//namespaces//default//pods', viaHttp: true, code: 404, reason: 'NotFound' },
  { name: 'encoded slash in the namespace', method: 'GET', path: '/api/v1/namespaces/default%2Fpods', viaHttp: true, code: 404, reason: 'NotFound' },
  { name: 'encoded slash in the name', method: 'GET', path: `${PODS}/a%2Fb`, viaHttp: true, code: 404, reason: 'NotFound' },
  { name: 'malformed percent-encoding', method: 'GET', path: '/api/v1/namespaces/%zz/pods', viaHttp: true, code: 400, reason: 'BadRequest' },
  { name: 'too many segments', method: 'GET', path: `${TARGET}/status/extra/more`, code: 404, reason: 'NotFound' },
  { name: 'a 10 kB name', method: 'GET', path: `${PODS}/${'a'.repeat(10_000)}`, code: 404, reason: 'NotFound' },
  { name: 'a 10 kB namespace', method: 'GET', path: `/api/v1/namespaces/${'n'.repeat(10_000)}/pods`, code: 404, reason: 'NotFound' },
  { name: 'unknown resource', method: 'GET', path: '/api/v1/widgets', code: 404, reason: 'NotFound' },
  { name: 'unknown namespaced resource', method: 'GET', path: '/api/v1/namespaces/default/widgets', code: 404, reason: 'NotFound' },
  { name: 'unknown group', method: 'GET', path: '/apis/example.com/v1/widgets', code: 404, reason: 'NotFound' },
  { name: 'unknown version', method: 'GET', path: '/api/v2/pods', code: 404, reason: 'NotFound' },
  { name: 'resource in the wrong group', method: 'GET', path: '/apis/coordination.k8s.io/v1/namespaces/default/pods', code: 404, reason: 'NotFound' },
  { name: 'unknown subresource', method: 'GET', path: `${TARGET}/widgets`, code: 404, reason: 'NotFound' },
  { name: 'status of a kind without one', method: 'GET', path: `${LEASES}/x/status`, code: 404, reason: 'NotFound' },
  { name: 'a cluster-scoped kind under a namespace', method: 'GET', path: '/api/v1/namespaces/default/nodes', code: 404, reason: 'NotFound' },
  { name: 'unknown discovery group', method: 'GET', path: '/apis/example.com', code: 404, reason: 'NotFound' },

  // --- query parameters
  { name: 'labelSelector "a in ("', method: 'GET', path: `${PODS}?${q({ labelSelector: 'a in (' })}`, code: 400, reason: 'BadRequest' },
  { name: 'labelSelector with a bad key', method: 'GET', path: `${PODS}?${q({ labelSelector: '-x=1' })}`, code: 400, reason: 'BadRequest' },
  { name: 'labelSelector "!!a"', method: 'GET', path: `${PODS}?${q({ labelSelector: '!!a' })}`, code: 400, reason: 'BadRequest' },
  { name: 'fieldSelector without an operator', method: 'GET', path: `${PODS}?${q({ fieldSelector: 'spec.nodeName' })}`, code: 400, reason: 'BadRequest' },
  { name: 'fieldSelector on an unsupported field', method: 'GET', path: `${PODS}?${q({ fieldSelector: 'spec.containers=x' })}`, code: 400, reason: 'BadRequest' },
  { name: 'fieldSelector with a bad escape', method: 'GET', path: `${PODS}?${q({ fieldSelector: 'metadata.name=a\\q' })}`, code: 400, reason: 'BadRequest' },
  { name: 'watch with a bad labelSelector', method: 'GET', path: `${PODS}?watch=true&${q({ labelSelector: 'a in (' })}`, code: 400, reason: 'BadRequest' },
  { name: 'limit=abc', method: 'GET', path: `${PODS}?limit=abc`, code: 400, reason: 'BadRequest' },
  { name: 'limit=-1', method: 'GET', path: `${PODS}?limit=-1`, code: 400, reason: 'BadRequest' },
  { name: 'limit=1.5', method: 'GET', path: `${PODS}?limit=1.5`, code: 400, reason: 'BadRequest' },
  { name: 'resourceVersion=abc', method: 'GET', path: `${PODS}?resourceVersion=abc`, code: 400, reason: 'BadRequest' },
  { name: 'resourceVersion=1e5', method: 'GET', path: `${PODS}?resourceVersion=1e5`, code: 400, reason: 'BadRequest' },
  { name: 'resourceVersion of 30 digits', method: 'GET', path: `${PODS}?resourceVersion=${'9'.repeat(30)}`, code: 400, reason: 'BadRequest' },
  { name: 'Exact resourceVersion in the future (504 Too large resource version, Retry-After)', method: 'GET', path: `${PODS}?resourceVersion=999999999999999&resourceVersionMatch=Exact`, code: 504 },
  { name: 'watch resourceVersion=-3', method: 'GET', path: `${PODS}?watch=true&resourceVersion=-3`, code: 400, reason: 'BadRequest' },
  { name: 'timeoutSeconds=abc', method: 'GET', path: `${PODS}?watch=true&timeoutSeconds=abc`, code: 400, reason: 'BadRequest' },
  { name: 'timeoutSeconds=1.5', method: 'GET', path: `${PODS}?watch=true&timeoutSeconds=1.5`, code: 400, reason: 'BadRequest' },
  { name: 'timeoutSeconds=-1 (a watch that would never end)', method: 'GET', path: `${PODS}?watch=true&timeoutSeconds=-1`, code: 400, reason: 'BadRequest' },
  { name: 'watch from a resourceVersion in the future (504, Retry-After)', method: 'GET', path: `${PODS}?watch=true&resourceVersion=999999999999999`, code: 504 },
  { name: 'continue=garbage', method: 'GET', path: `${PODS}?limit=1&continue=garbage`, code: 400, reason: 'BadRequest' },
  { name: 'continue with a fractional revision', method: 'GET', path: `${PODS}?limit=1&continue=${cont({ rv: 1.5, start: '/pods/default/' })}`, code: 400, reason: 'BadRequest' },
  { name: 'continue with a negative revision', method: 'GET', path: `${PODS}?limit=1&continue=${cont({ rv: -4, start: '/pods/default/' })}`, code: 400, reason: 'BadRequest' },
  { name: 'continue escaping its namespace', method: 'GET', path: `${PODS}?limit=1&continue=${cont({ rv: 1, start: '/pods/kube-system/' })}`, code: 400, reason: 'BadRequest' },
  { name: 'continue pointing at another resource', method: 'GET', path: `${PODS}?limit=1&continue=${cont({ rv: 1, start: '/nodes/' })}`, code: 400, reason: 'BadRequest' },

  // --- type meta, names and namespaces that do not match the request
  { name: 'wrong apiVersion', method: 'POST', path: PODS, body: { ...podBody('w1'), apiVersion: 'v2' }, code: 400, reason: 'BadRequest' },
  { name: 'wrong kind', method: 'POST', path: PODS, body: { ...podBody('w2'), kind: 'Node' }, code: 400, reason: 'BadRequest' },
  { name: 'a Lease apiVersion sent to pods', method: 'POST', path: PODS, body: { ...podBody('w3'), apiVersion: 'coordination.k8s.io/v1' }, code: 400, reason: 'BadRequest' },
  { name: 'kind is a number', method: 'POST', path: PODS, body: { ...podBody('w4'), kind: 7 }, code: 400, reason: 'BadRequest' },
  { name: 'namespace in body differs from URL', method: 'POST', path: PODS, body: pod('w5', (p) => (p.metadata.namespace = 'kube-system')), code: 400, reason: 'BadRequest' },
  { name: 'PUT name differs from URL', method: 'PUT', path: TARGET, body: podBody('not-target'), code: 400, reason: 'BadRequest' },
  { name: 'PUT to an object that does not exist', method: 'PUT', path: `${PODS}/ghost`, body: podBody('ghost'), code: 404, reason: 'NotFound' },

  // --- patches
  { name: 'JSON patch with an unknown op', method: 'PATCH', path: TARGET, body: [{ op: 'test', path: '/metadata/name', value: 'target' }, { op: 'frobnicate', path: '/metadata' }], contentType: 'application/json-patch+json', code: 422, field: 'metadata' },
  {
    name: 'JSON patch failing a test op on a list item',
    method: 'PATCH',
    path: TARGET,
    body: [{ op: 'test', path: '/spec/containers/0/image', value: 'nginx' }],
    contentType: 'application/json-patch+json',
    code: 422,
    field: 'spec.containers[0].image',
  },
  { name: 'JSON patch removing a missing path', method: 'PATCH', path: TARGET, body: [{ op: 'remove', path: '/nope/nope' }], contentType: 'application/json-patch+json', code: 422, field: 'nope.nope' },
  { name: 'JSON patch op without a path', method: 'PATCH', path: TARGET, body: [{ op: 'add', value: 1 }], contentType: 'application/json-patch+json', code: 422, field: 'patch[0]' },
  { name: 'JSON patch that is an object', method: 'PATCH', path: TARGET, body: { op: 'add', path: '/a', value: 1 }, contentType: 'application/json-patch+json', code: 400, reason: 'BadRequest' },
  { name: 'JSON patch list of numbers', method: 'PATCH', path: TARGET, body: [1, 2, 3], contentType: 'application/json-patch+json', code: 422, reason: 'Invalid' },
  { name: 'JSON patch on __proto__', method: 'PATCH', path: TARGET, body: [{ op: 'add', path: '/__proto__/polluted', value: 'yes' }], contentType: 'application/json-patch+json', code: 422, reason: 'Invalid' },
  {
    name: 'JSON patch nesting the object too deep',
    method: 'PATCH',
    path: TARGET,
    body: [{ op: 'add', path: '/metadata/managedFields', value: [{ manager: 'x', fieldsV1: JSON.parse(`${'{"f":'.repeat(99)}1${'}'.repeat(99)}`) as unknown }] }],
    contentType: 'application/json-patch+json',
    code: 400,
    reason: 'BadRequest',
  },
  { name: 'JSON patch making containers a string', method: 'PATCH', path: TARGET, body: [{ op: 'replace', path: '/spec/containers', value: 'x' }], contentType: 'application/json-patch+json', code: 422, field: 'spec.containers' },
  { name: 'merge patch making containers a string', method: 'PATCH', path: TARGET, body: { spec: { containers: 'x' } }, contentType: 'application/merge-patch+json', code: 422, field: 'spec.containers' },
  { name: 'merge patch making metadata a number', method: 'PATCH', path: TARGET, body: { metadata: 5 }, contentType: 'application/merge-patch+json', code: 422, field: 'metadata' },
  { name: 'merge patch label value a number', method: 'PATCH', path: TARGET, body: { metadata: { labels: { a: 5 } } }, contentType: 'application/merge-patch+json', code: 422, reason: 'Invalid' },
  { name: 'merge patch that is a list', method: 'PATCH', path: TARGET, body: [{ metadata: {} }], contentType: 'application/merge-patch+json', code: 400, reason: 'BadRequest' },
  { name: 'merge patch that is broken JSON', method: 'PATCH', path: TARGET, body: '{"metadata":', contentType: 'application/merge-patch+json', code: 400, reason: 'BadRequest' },
  { name: 'merge patch moving the pod to a node', method: 'PATCH', path: TARGET, body: { spec: { nodeName: 'n1' } }, contentType: 'application/merge-patch+json', code: 422, field: 'spec.nodeName' },
  { name: 'merge patch renaming the object', method: 'PATCH', path: TARGET, body: { metadata: { name: 'renamed' } }, contentType: 'application/merge-patch+json', code: 400, reason: 'BadRequest' },
  {
    name: 'strategic patch with a numeric image',
    method: 'PATCH',
    path: TARGET,
    body: { spec: { containers: [{ name: 'main', image: 5 }] } },
    contentType: 'application/strategic-merge-patch+json',
    code: 422,
    field: 'spec.containers[0].image',
  },
  { name: 'status patch with a bad phase', method: 'PATCH', path: `${TARGET}/status`, body: { status: { phase: 'Exploded' } }, contentType: 'application/merge-patch+json', code: 422, field: 'status.phase' },
  { name: 'patch of a missing object', method: 'PATCH', path: `${PODS}/ghost`, body: { metadata: {} }, contentType: 'application/merge-patch+json', code: 404, reason: 'NotFound' },
  // --- pods/ephemeralcontainers (kubectl debug)
  { name: 'ephemeral containers that are a string', method: 'PATCH', path: `${TARGET}/ephemeralcontainers`, body: { spec: { ephemeralContainers: 'debug' } }, contentType: 'application/strategic-merge-patch+json', code: 422, field: 'spec.ephemeralContainers' },
  { name: 'an ephemeral container with ports', method: 'PATCH', path: `${TARGET}/ephemeralcontainers`, body: { spec: { ephemeralContainers: [{ name: 'dbg', image: 'busybox', ports: [{ containerPort: 80 }] }] } }, contentType: 'application/strategic-merge-patch+json', code: 422, field: 'spec.ephemeralContainers[0].ports' },
  { name: 'an ephemeral container named as an app container', method: 'PATCH', path: `${TARGET}/ephemeralcontainers`, body: { spec: { ephemeralContainers: [{ name: 'main', image: 'busybox' }] } }, contentType: 'application/strategic-merge-patch+json', code: 422, field: 'spec.ephemeralContainers[0].name' },
  { name: 'an ephemeral container without an image', method: 'PATCH', path: `${TARGET}/ephemeralcontainers`, body: { spec: { ephemeralContainers: [{ name: 'dbg' }] } }, contentType: 'application/strategic-merge-patch+json', code: 422, field: 'spec.ephemeralContainers[0].image' },
  { name: 'ephemeral containers PUT under another name', method: 'PUT', path: `${TARGET}/ephemeralcontainers`, body: pod('other'), code: 400, reason: 'BadRequest' },
  { name: 'ephemeral containers by server-side apply', method: 'PATCH', path: `${TARGET}/ephemeralcontainers?fieldManager=me`, body: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'target' }, spec: { ephemeralContainers: [{ name: 'dbg', image: 'busybox' }] } }, contentType: 'application/apply-patch+yaml', code: 400, reason: 'BadRequest', message: 'ephemeralcontainers' },
  { name: 'DELETE on ephemeralcontainers', method: 'DELETE', path: `${TARGET}/ephemeralcontainers`, code: 405, reason: 'MethodNotAllowed' },

  // --- deletes
  { name: 'gracePeriodSeconds=abc', method: 'DELETE', path: `${TARGET}?gracePeriodSeconds=abc`, code: 400, reason: 'BadRequest' },
  { name: 'gracePeriodSeconds=-5', method: 'DELETE', path: `${TARGET}?gracePeriodSeconds=-5`, code: 422, field: 'gracePeriodSeconds' },
  { name: 'DeleteOptions gracePeriodSeconds a string', method: 'DELETE', path: TARGET, body: { gracePeriodSeconds: 'soon' }, code: 422, field: 'gracePeriodSeconds' },
  { name: 'DeleteOptions broken JSON', method: 'DELETE', path: TARGET, body: '{"gracePeriodSeconds":', code: 400, reason: 'BadRequest' },
  { name: 'DeleteOptions that is a list', method: 'DELETE', path: TARGET, body: '[0]', code: 400, reason: 'BadRequest' },
  { name: 'DeleteOptions preconditions a number', method: 'DELETE', path: TARGET, body: { preconditions: 5 }, code: 422, field: 'preconditions' },
  { name: 'delete precondition on the wrong uid', method: 'DELETE', path: TARGET, body: { preconditions: { uid: 'nope' } }, code: 409, reason: 'Conflict' },
  { name: 'delete of a missing object', method: 'DELETE', path: `${PODS}/ghost`, code: 404, reason: 'NotFound' },
  { name: 'deletecollection with a bad selector', method: 'DELETE', path: `${PODS}?${q({ labelSelector: 'in in in' })}`, code: 400, reason: 'BadRequest' },
];

describe('apiserver bad input (etcd)', function () {
  this.timeout(60_000);
  let t: TestApiServer;
  let objectsBefore: number;
  let targetBefore: unknown;

  async function countObjects(): Promise<number> {
    // Everything under the server's key prefix: objects, allocations, anything a hook wrote.
    return (await t.store.list('/')).items.length;
  }

  async function send(c: Case): Promise<RawResponse> {
    if (c.viaHttp) {
      const body = c.body === undefined ? undefined : typeof c.body === 'string' || Buffer.isBuffer(c.body) ? c.body : JSON.stringify(c.body);
      return rawHttp(t.url, c.method, c.path, { ...(body !== undefined ? { body } : {}), headers: c.headers ?? {} });
    }
    return raw(t.url, c.method, c.path, {
      ...(c.body !== undefined ? { body: c.body } : {}),
      ...(c.contentType ? { contentType: c.contentType } : {}),
      ...(c.headers ? { headers: c.headers } : {}),
    });
  }

  before(async () => {
    t = await startTestApiServer({ backend: 'etcd', maxRequestBytes: MAX_BYTES });
    const mk = async (path: string, body: unknown) => {
      const res = await raw(t.url, 'POST', path, { body });
      expect(res.status, res.text).to.equal(201);
    };
    await mk('/api/v1/nodes', nodeBody('n1'));
    await mk(PODS, podBody('target', { labels: { app: 'target' } }));
    targetBefore = (await raw(t.url, 'GET', TARGET)).body;
    objectsBefore = await countObjects();
  });
  after(async () => {
    await t?.close();
  });

  it(`has at least 50 cases (${CASES.length})`, () => {
    expect(CASES.length).to.be.at.least(50);
  });

  describe('each request gets a 4xx Status', () => {
    for (const c of CASES) {
      it(`${c.name} → ${c.code}`, async () => {
        const res = await send(c);
        const s = expectStatus(res, c.code, c.reason ?? (c.code === 422 ? 'Invalid' : undefined));
        if (c.field !== undefined) {
          expect(causeFields(s), `${res.text.slice(0, 300)}`).to.include(c.field);
        }
        if (c.code === 422) {
          expect(s.details?.causes ?? [], 'a 422 names its fields').to.not.be.empty;
          for (const cause of s.details?.causes ?? []) expect(cause.field, JSON.stringify(cause)).to.be.a('string').and.not.equal('');
        }
        if (c.message !== undefined) expect(s.message).to.contain(c.message);
      });
    }
  });

  describe('afterwards', () => {
    it('a request line over the HTTP parser limit gets 431 and the server carries on', async () => {
      // Node's HTTP parser refuses it before any handler runs; the server's clientError handler
      // still answers with a Status.
      const res = await rawHttp(t.url, 'GET', `${PODS}/${'a'.repeat(70_000)}`);
      expect(res.status).to.equal(431);
      expect((res.body as { kind?: string; code?: number }).kind).to.equal('Status');
      expect((res.body as { kind?: string; code?: number }).code).to.equal(431);
    });

    it('the server still answers, wrote nothing, and no prototype was polluted', async () => {
      const ready = await raw(t.url, 'GET', '/readyz');
      expect(ready.status).to.equal(200);
      expect(await countObjects()).to.equal(objectsBefore);
      const target = await raw(t.url, 'GET', TARGET);
      expect(target.status).to.equal(200);
      expect(target.body).to.deep.equal(targetBefore);
      const list = await raw(t.url, 'GET', '/api/v1/pods');
      expect((list.body as { items: unknown[] }).items.length).to.equal(1);
      expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
      // And it still does real work.
      const created = await raw(t.url, 'POST', PODS, { body: podBody('after-all') });
      expect(created.status).to.equal(201);
    });
  });
});
