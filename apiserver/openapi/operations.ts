// The REST operations of each served resource, as the OpenAPI documents describe them: which paths
// exist, which verbs each takes (from the resource table's verbs and subresources), their query
// parameters, bodies and responses. A neutral model; v2.ts and v3.ts write it in their dialects.
// kubectl reads two things from it: the PATCH operation of a kind carrying `fieldValidation` (so the
// server validates fields and kubectl sends fieldValidation=Strict), and the PATCH content types
// (strategic merge patch or not).
import type { ResourceInfo, SubresourceInfo, Verb } from '../../shared/api/registry.js';
import { META_NAMES } from './names.js';
import { takesStrategicMergePatch, type Definitions, type GroupVersionKind } from './schema.js';

export type Method = 'get' | 'put' | 'post' | 'patch' | 'delete';

/** Kubernetes' `x-kubernetes-action` values for the operations cell serves. */
export type Action = 'get' | 'list' | 'put' | 'patch' | 'post' | 'delete' | 'deletecollection' | 'connect';

export interface Parameter {
  name: string;
  in: 'path' | 'query';
  description: string;
  required: boolean;
  type: 'string' | 'integer' | 'boolean';
}

export interface Operation {
  method: Method;
  operationId: string;
  description: string;
  action: Action;
  gvk: GroupVersionKind;
  tag: string;
  parameters: Parameter[];
  /** Request body: definition name and the media types it may be sent as. */
  body?: { definition: string; required: boolean; contentTypes: string[] };
  /** Response code → definition name (or `string` for plain text such as logs). */
  responses: { code: string; description: string; definition: string | 'string' }[];
  produces: string[];
}

export interface PathItem {
  path: string;
  /** Parameters every operation of the path takes (name, namespace). */
  parameters: Parameter[];
  operations: Operation[];
}

export interface GroupVersionPaths {
  group: string;
  version: string;
  /** `api/v1`, `apis/<group>/<version>`: the key of the v3 index. */
  key: string;
  paths: PathItem[];
}

const JSON_TYPES = ['application/json', 'application/yaml'];
const PATCH_TYPES = ['application/json-patch+json', 'application/merge-patch+json'];
const SMP_TYPE = 'application/strategic-merge-patch+json';
/** Server-side apply (http/server-side-apply.ts): main resources only, not subresources. */
const APPLY_TYPE = 'application/apply-patch+yaml';

const pathParam = (name: string, description: string): Parameter => ({ name, in: 'path', description, required: true, type: 'string' });
const query = (name: string, type: Parameter['type'], description: string): Parameter => ({ name, in: 'query', description, required: false, type });

const NAME = (kind: string) => pathParam('name', `name of the ${kind}`);
const NAMESPACE = pathParam('namespace', 'object name and auth scope, such as for teams and projects');
const PRETTY = query('pretty', 'string', "If 'true', the output is pretty printed.");
const DRY_RUN = query(
  'dryRun',
  'string',
  'When present, the request is checked completely (validation, admission, capacity, quota) and nothing is persisted. The only valid value is All.',
);
const FIELD_MANAGER = query('fieldManager', 'string', 'A name for the actor making these changes (accepted for compatibility; cell keeps no field ownership).');
const FIELD_VALIDATION = query(
  'fieldValidation',
  'string',
  'What the server does with unknown or duplicate fields in the body: Strict refuses the request naming each one; ' +
    'Ignore and Warn accept it (Warn adds a Warning header per duplicate field). Unknown fields are dropped either way.',
);
/** The list parameters; the field selector's text names the fields this resource supports. */
function listParams(r: ResourceInfo): Parameter[] {
  return [
    query('labelSelector', 'string', 'Only objects whose labels match this selector (=, !=, in, notin, exists).'),
    query('fieldSelector', 'string', `Only objects whose fields match this selector. Fields: ${r.fieldSelectors.join(', ')}.`),
    query('limit', 'integer', 'At most this many items; the response carries a continue token for the rest, all from one consistent revision.'),
    query('continue', 'string', 'The token from a previous page, to get the next one.'),
    query('resourceVersion', 'string', 'For a list, the revision to read at least as new as (see resourceVersionMatch); for a watch, where to start.'),
    query('resourceVersionMatch', 'string', 'How resourceVersion applies: Exact or NotOlderThan for a list; NotOlderThan (required) for a watch with sendInitialEvents.'),
    query(
      'sendInitialEvents',
      'boolean',
      'With watch (a watch-list): begin with the current state as ADDED events, then a BOOKMARK annotated k8s.io/initial-events-end (when allowWatchBookmarks is set) at the resourceVersion that state reflects, then the changes after it. ' +
        'resourceVersion unset reads that state consistently; "0" takes the cached state; N a state at least as new as N. False: no initial state.',
    ),
    query('watch', 'boolean', 'Stream changes (ADDED, MODIFIED, DELETED, BOOKMARK, ERROR events) instead of returning a list.'),
    query('allowWatchBookmarks', 'boolean', 'Ask for BOOKMARK events on a watch, so a client can resume from a recent revision.'),
    query('timeoutSeconds', 'integer', 'End a watch after this many seconds.'),
  ];
}
/** List parameters that mean nothing to a delete of a collection. */
const WATCH_ONLY_PARAMS = new Set(['watch', 'allowWatchBookmarks', 'sendInitialEvents']);
const DELETE_PARAMS: Parameter[] = [
  query('gracePeriodSeconds', 'integer', 'Seconds before the object is deleted; 0 deletes at once. Unset: the kind\'s default.'),
  query('propagationPolicy', 'string', 'Orphan, Background or Foreground (accepted for compatibility).'),
  DRY_RUN,
];

/** `CoreV1`, `CoordinationV1`, `SchedulingCellDevV1alpha1`: the group-version part of operation ids. */
function operationGroup(group: string, version: string): string {
  const words = group === '' ? ['core'] : group.replace(/\.k8s\.io$/, '').split(/[.-]/);
  return [...words, version].map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('');
}

interface Scope {
  r: ResourceInfo;
  gvk: GroupVersionKind;
  defs: Definitions;
  /** `/api/v1` or `/apis/<group>/<version>`. */
  root: string;
  opGroup: string;
  tag: string;
  patchTypes: string[];
}

function has(verbs: readonly Verb[], verb: Verb): boolean {
  return verbs.includes(verb);
}

function mainOperations(s: Scope): { collection: PathItem[]; item: PathItem | undefined } {
  const { r, gvk } = s;
  const kindDef = s.defs.nameOf(gvk);
  const listDef = has(r.verbs, 'list') ? s.defs.nameOf({ ...gvk, kind: r.listKind }) : undefined;
  const ns = r.namespaced ? 'Namespaced' : '';
  const base = r.namespaced ? `${s.root}/namespaces/{namespace}/${r.resource}` : `${s.root}/${r.resource}`;
  const scopeParams = r.namespaced ? [NAMESPACE] : [];
  const op = (method: Method, verb: string, action: Action, description: string, rest: Partial<Operation>): Operation => ({
    method,
    operationId: `${verb}${s.opGroup}${ns}${r.kind}`,
    description,
    action,
    gvk,
    tag: s.tag,
    parameters: [],
    responses: [],
    produces: ['application/json', 'application/yaml'],
    ...rest,
  });

  const collectionOps: Operation[] = [];
  if (has(r.verbs, 'list') && listDef !== undefined) {
    collectionOps.push(
      op('get', 'list', 'list', `list or watch objects of kind ${r.kind}`, {
        parameters: listParams(r),
        responses: [{ code: '200', description: 'OK', definition: listDef }],
        produces: ['application/json', 'application/yaml', 'application/json;stream=watch'],
      }),
    );
  }
  if (has(r.verbs, 'create')) {
    collectionOps.push(
      op('post', 'create', 'post', `create a ${r.kind}`, {
        parameters: [DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION],
        body: { definition: kindDef, required: true, contentTypes: JSON_TYPES },
        responses: [
          { code: '200', description: 'OK', definition: kindDef },
          { code: '201', description: 'Created', definition: kindDef },
        ],
      }),
    );
  }
  if (has(r.verbs, 'deletecollection')) {
    collectionOps.push({
      ...op('delete', 'deleteCollection', 'deletecollection', `delete collection of ${r.kind}`, {
        parameters: [...listParams(r).filter((p) => !WATCH_ONLY_PARAMS.has(p.name)), ...DELETE_PARAMS],
        body: { definition: META_NAMES.deleteOptions, required: false, contentTypes: ['application/json'] },
        responses: [{ code: '200', description: 'OK', definition: META_NAMES.status }],
      }),
      operationId: `deleteCollection${s.opGroup}${ns}${r.kind}`,
    });
  }
  const collection: PathItem[] = [];
  if (collectionOps.length > 0) collection.push({ path: base, parameters: [...scopeParams, PRETTY], operations: collectionOps });
  // Lists across every namespace, as `kubectl get pods -A` reads them.
  if (r.namespaced && has(r.verbs, 'list') && listDef !== undefined) {
    collection.push({
      path: `${s.root}/${r.resource}`,
      parameters: [PRETTY],
      operations: [
        {
          ...op('get', 'list', 'list', `list or watch objects of kind ${r.kind} in every namespace`, {
            parameters: listParams(r),
            responses: [{ code: '200', description: 'OK', definition: listDef }],
            produces: ['application/json', 'application/yaml', 'application/json;stream=watch'],
          }),
          operationId: `list${s.opGroup}${r.kind}ForAllNamespaces`,
        },
      ],
    });
  }

  const itemOps: Operation[] = [];
  if (has(r.verbs, 'get')) {
    itemOps.push(op('get', 'read', 'get', `read the specified ${r.kind}`, { responses: [{ code: '200', description: 'OK', definition: kindDef }] }));
  }
  if (has(r.verbs, 'update')) {
    itemOps.push(
      op('put', 'replace', 'put', `replace the specified ${r.kind}`, {
        parameters: [DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION],
        body: { definition: kindDef, required: true, contentTypes: JSON_TYPES },
        responses: [
          { code: '200', description: 'OK', definition: kindDef },
          { code: '201', description: 'Created', definition: kindDef },
        ],
      }),
    );
  }
  if (has(r.verbs, 'patch')) {
    itemOps.push(
      op('patch', 'patch', 'patch', `partially update the specified ${r.kind}`, {
        parameters: [
          DRY_RUN,
          FIELD_MANAGER,
          FIELD_VALIDATION,
          query('force', 'boolean', 'With an apply patch: take over the fields other appliers own, which are otherwise 409 conflicts.'),
        ],
        body: { definition: META_NAMES.patch, required: true, contentTypes: [...s.patchTypes, APPLY_TYPE] },
        responses: [
          { code: '200', description: 'OK', definition: kindDef },
          { code: '201', description: 'Created (an apply patch to an object that did not exist)', definition: kindDef },
        ],
      }),
    );
  }
  if (has(r.verbs, 'delete')) {
    itemOps.push(
      op('delete', 'delete', 'delete', `delete a ${r.kind}`, {
        parameters: DELETE_PARAMS,
        body: { definition: META_NAMES.deleteOptions, required: false, contentTypes: ['application/json'] },
        responses: [
          { code: '200', description: 'OK', definition: kindDef },
          { code: '202', description: 'Accepted', definition: kindDef },
        ],
      }),
    );
  }
  const item = itemOps.length > 0 ? { path: `${base}/{name}`, parameters: [NAME(r.kind), ...scopeParams, PRETTY], operations: itemOps } : undefined;
  return { collection, item };
}

/** pods/exec's query: what to run and which streams to attach (GET with a WebSocket upgrade, or POST). */
const EXEC_PARAMETERS: Parameter[] = [
  query('command', 'string', 'The command to run, one argument per `command` parameter, in order.'),
  query('container', 'string', 'The container to run it in; may be omitted for a pod with one container.'),
  query('stdin', 'boolean', 'Pass the caller\'s standard input to the command.'),
  query('stdout', 'boolean', 'Return the command\'s standard output.'),
  query('stderr', 'boolean', 'Return the command\'s standard error.'),
  query('tty', 'boolean', 'Run the command on a terminal (its standard error then comes with its output).'),
];

/** pods/attach's query: the streams to attach to the container's own process (no command). */
const ATTACH_PARAMETERS: Parameter[] = EXEC_PARAMETERS.filter((p) => p.name !== 'command');

/** pods/portforward's query: the pod's ports, for the WebSocket channel protocol (SPDY clients name them per stream). */
const PORT_FORWARD_PARAMETERS: Parameter[] = [query('ports', 'integer', 'A port of the pod to forward to; one `ports` parameter (or a comma-separated list) per port.')];

/** The query parameters of each connect subresource. */
const CONNECT_PARAMETERS: Record<string, Parameter[]> = { exec: EXEC_PARAMETERS, attach: ATTACH_PARAMETERS, portforward: PORT_FORWARD_PARAMETERS };

/** A connect subresource: GET and POST open a stream (x-kubernetes-action `connect`), no body either way. */
function connectOperations(s: Scope, sub: SubresourceInfo, base: string, target: string): PathItem {
  const { r } = s;
  const gvk = { group: sub.group ?? s.gvk.group, version: sub.version ?? s.gvk.version, kind: sub.kind };
  const operations = (['get', 'post'] as const).map(
    (method): Operation => ({
      method,
      // connectCoreV1GetNamespacedPodExec, as Kubernetes names it.
      operationId: `connect${s.opGroup}${method === 'get' ? 'Get' : 'Post'}${target}`,
      description: `connect ${method.toUpperCase()} requests to ${sub.name} of ${r.kind}`,
      action: 'connect',
      gvk,
      tag: s.tag,
      parameters: CONNECT_PARAMETERS[sub.name] ?? [],
      responses: [{ code: '200', description: 'OK', definition: 'string' }],
      produces: ['*/*'],
    }),
  );
  return { path: base, parameters: [pathParam('name', `name of the ${sub.kind}`), ...(r.namespaced ? [NAMESPACE] : [])], operations };
}

function subresourceOperations(s: Scope, sub: SubresourceInfo): PathItem {
  const { r, gvk } = s;
  const base = r.namespaced ? `${s.root}/namespaces/{namespace}/${r.resource}/{name}/${sub.name}` : `${s.root}/${r.resource}/{name}/${sub.name}`;
  const suffix = sub.name.charAt(0).toUpperCase() + sub.name.slice(1);
  const ns = r.namespaced ? 'Namespaced' : '';
  if (sub.connect) return connectOperations(s, sub, base, `${ns}${r.kind}${suffix}`);
  const id = (verb: string) => `${verb}${s.opGroup}${ns}${r.kind}${suffix}`;
  const bodyGvk = { group: sub.group ?? gvk.group, version: sub.version ?? gvk.version, kind: sub.kind };
  const bodyDef = s.defs.nameOf(bodyGvk);
  const ops: Operation[] = [];
  const common = { gvk: bodyGvk, tag: s.tag, produces: ['application/json', 'application/yaml'] };
  for (const verb of sub.verbs) {
    if (verb === 'get') {
      const log = sub.name === 'log';
      ops.push({
        ...common,
        method: 'get',
        operationId: id('read'),
        description: log ? `read log of the specified ${r.kind}` : `read ${sub.name} of the specified ${r.kind}`,
        action: 'get',
        parameters: log
          ? [
              query('container', 'string', 'The container to stream the log of; may be omitted for a pod with one container.'),
              query('follow', 'boolean', 'Follow the log stream of the pod.'),
              query('tailLines', 'integer', 'Only the last lines of the log.'),
              query('sinceSeconds', 'integer', 'Only lines from this many seconds back.'),
              query('timestamps', 'boolean', 'Prefix every line with its RFC 3339 timestamp.'),
            ]
          : [],
        responses: [{ code: '200', description: 'OK', definition: log ? 'string' : bodyDef }],
        produces: log ? ['text/plain', 'application/json'] : common.produces,
      });
    } else if (verb === 'update') {
      ops.push({
        ...common,
        method: 'put',
        operationId: id('replace'),
        description: `replace ${sub.name} of the specified ${r.kind}`,
        action: 'put',
        parameters: [DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION],
        body: { definition: bodyDef, required: true, contentTypes: JSON_TYPES },
        responses: [{ code: '200', description: 'OK', definition: bodyDef }],
      });
    } else if (verb === 'patch') {
      ops.push({
        ...common,
        method: 'patch',
        operationId: id('patch'),
        description: `partially update ${sub.name} of the specified ${r.kind}`,
        action: 'patch',
        parameters: [DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION],
        body: { definition: META_NAMES.patch, required: true, contentTypes: s.patchTypes },
        responses: [{ code: '200', description: 'OK', definition: bodyDef }],
      });
    } else if (verb === 'create') {
      ops.push({
        ...common,
        method: 'post',
        operationId: id('create'),
        description: `create ${sub.name} of a ${r.kind}`,
        action: 'post',
        parameters: [DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION],
        body: { definition: bodyDef, required: true, contentTypes: JSON_TYPES },
        responses: [
          { code: '200', description: 'OK', definition: bodyDef },
          { code: '201', description: 'Created', definition: bodyDef },
        ],
      });
    }
  }
  return { path: base, parameters: [pathParam('name', `name of the ${sub.kind}`), ...(r.namespaced ? [NAMESPACE] : []), PRETTY], operations: ops };
}

/** Every served group/version with its paths, in the resource table's order. */
export function buildPaths(resources: readonly ResourceInfo[], defs: Definitions): GroupVersionPaths[] {
  const out: GroupVersionPaths[] = [];
  for (const r of resources) {
    const key = r.group === '' ? `api/${r.version}` : `apis/${r.group}/${r.version}`;
    let gv = out.find((g) => g.key === key);
    if (gv === undefined) {
      gv = { group: r.group, version: r.version, key, paths: [] };
      out.push(gv);
    }
    const scope: Scope = {
      r,
      gvk: { group: r.group, version: r.version, kind: r.kind },
      defs,
      root: `/${key}`,
      opGroup: operationGroup(r.group, r.version),
      tag: operationGroup(r.group, r.version).replace(/^./, (c) => c.toLowerCase()),
      patchTypes: takesStrategicMergePatch(r.group) ? [...PATCH_TYPES, SMP_TYPE] : PATCH_TYPES,
    };
    const { collection, item } = mainOperations(scope);
    gv.paths.push(...collection);
    if (item) gv.paths.push(item);
    for (const sub of r.subresources) gv.paths.push(subresourceOperations(scope, sub));
  }
  return out;
}
