// Requests on resource URLs (classified by paths.ts): resolve → authorize → dispatch to the REST
// layer (or a custom verb such as pods/binding) → respond in JSON or Table form. Every failure
// goes through sendError.
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  BadRequestError,
  MethodNotAllowedError,
  NotFoundError,
  InvalidError,
} from '../../shared/errors.js';
import { parseFieldSelector, type FieldSelector } from '../../shared/fields.js';
import { parseLabelSelector, type LabelSelector } from '../../shared/labels.js';
import type { Logger } from '../../shared/logging.js';
import { nodeMayTouchPod, nodeNameOf, type Authorizer, type RequestAttributes } from '../auth/authorizer.js';
import { nodeMayReadConfig } from '../auth/node-config-access.js';
import { RBAC_RESOURCES, type EscalationCheck } from '../auth/escalation.js';
import type { UserInfo } from '../auth/tokens.js';
import type { ApiServerMetrics } from '../metrics.js';
import type { KubeObject } from '../registry/object.js';
import type { ListQuery } from '../registry/resource-store.js';
import { responseJson } from '../registry/served-json.js';
import type { ExactField } from '../registry/watcher-index.js';
import { apiVersionOf, type DeleteOptions, type RestResource, type WriteOptions } from '../registry/rest.js';
import { readObjectBody, readOptionalObjectBody, readPatchBody, RequestAbortedError, warningHeader } from './body.js';
import { droppedVolumeWarnings } from '../registry/dropped-volumes.js';
import type { ResourcePath } from './paths.js';
import { sendError } from './status.js';
import { columnsFor, tableRequested, toTable, type Column } from './table.js';
import { exchangeOf } from './exchange.js';
import { releaseInflight } from './inflight.js';
import { WatchStream } from './watch.js';
import { listVersionOptions } from './list-options.js';
import { boolParam, dryRunParam, dryRunValues, intParam } from './query.js';
import { createEach, createListItems, isCreateList } from './bulk-create.js';
import { requestedPropagation, type DeletionPropagation } from '../../shared/api/propagation.js';
import { validateDeleteOptions } from '../../shared/api/validation.js';
import type { ResourceDefinition } from '../registry/definitions.js';

/** A resource as the HTTP layer serves it: its definition (field selectors, subresources, verbs, names) and its REST layer. */
export interface ServedResource extends Omit<ResourceDefinition, 'info' | 'def'> {
  rest: RestResource;
  /** A version other than the stored one (an autoscaling/v1 HorizontalPodAutoscaler): each object answered is converted by this. */
  toServed?: (obj: KubeObject) => KubeObject;
  /** `kubectl get` columns, where not the built-in kind's (a custom resource's printer columns). */
  columns?: readonly Column[];
  /** A custom resource (a CustomResourceDefinition's): none of the built-in kinds' handlers apply to it. */
  userDefined?: boolean;
  /** A custom resource's own custom verbs, keyed `${subresource}:${METHOD}` (its scale subresource). */
  handlers?: ReadonlyMap<string, CustomHandler>;
}

/** A custom verb: pods/binding, pods/log, placements. Returns a body to send, or undefined when it responded itself. */
export type CustomHandler = (call: CustomCall) => Promise<{ status: number; body: unknown } | undefined>;

/** Serves every request under /apis/{group}/…: returns the body of a 200, or throws a CellError. */
export type GroupHandler = (req: IncomingMessage, user: UserInfo, path: ResourcePath, query: URLSearchParams) => Promise<unknown>;

export interface CustomCall {
  req: IncomingMessage;
  res: ServerResponse;
  user: UserInfo;
  path: ResourcePath;
  served: ServedResource;
  query: URLSearchParams;
}

export interface ResourceRouterOptions {
  log: Logger;
  metrics: ApiServerMetrics;
  maxRequestBytes: number;
  watchMaxQueuedBytes: number;
  resolve(group: string, version: string, resource: string): ServedResource | undefined;
  /** Custom handlers keyed `${resource}/${subresource}:${METHOD}` or `${resource}:${METHOD}`. */
  custom: Map<string, CustomHandler>;
  /** Groups served by a handler of their own, which authorizes and answers (the metrics API), by group name. */
  groups?: ReadonlyMap<string, GroupHandler>;
  authorizer: Authorizer;
  /** Escalation prevention on writes of RBAC objects. */
  escalation: EscalationCheck;
}

type Verb = RequestAttributes['verb'];

function verbOf(method: string, path: ResourcePath, query: URLSearchParams): Verb {
  const isWatch = boolParam(query, 'watch') === true;
  switch (method) {
    case 'GET':
    case 'HEAD':
      return path.name === undefined ? (isWatch ? 'watch' : 'list') : 'get';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return path.name === undefined ? 'deletecollection' : 'delete';
    default:
      throw new MethodNotAllowedError(`the server does not allow this method on the requested resource`);
  }
}

/** `?fieldManager=`: printable, at most 128 characters, as Kubernetes validates it. */
function fieldManagerParam(query: URLSearchParams): string | undefined {
  const v = query.get('fieldManager');
  if (v === null || v === '') return undefined;
  if (v.length > 128 || !/^[\x20-\x7e]+$/.test(v)) throw new BadRequestError('fieldManager must be at most 128 printable ASCII characters');
  return v;
}

function writeOptions(query: URLSearchParams): WriteOptions {
  const opts: WriteOptions = {};
  if (dryRunParam(query)) opts.dryRun = true;
  const fv = query.get('fieldValidation');
  if (fv !== null && fv !== '') {
    if (fv !== 'Strict' && fv !== 'Warn' && fv !== 'Ignore') {
      throw new BadRequestError(`fieldValidation must be one of Strict, Warn, Ignore, not "${fv}"`);
    }
    opts.fieldValidation = fv;
  }
  return opts;
}

interface Selection {
  labels: LabelSelector;
  fields: FieldSelector;
}

function parseSelection(query: URLSearchParams, served: ServedResource): Selection {
  const labels = parseLabelSelector(query.get('labelSelector') ?? '');
  const fields = parseFieldSelector(query.get('fieldSelector') ?? '');
  for (const r of fields.requirements) {
    if (!served.fieldSelectors.includes(r.field)) {
      throw new BadRequestError(
        `field label not supported: ${r.field} (supported: ${served.fieldSelectors.join(', ')})`,
      );
    }
  }
  return { labels, fields };
}

function matcher(sel: Selection, served: ServedResource): ((obj: KubeObject) => boolean) | undefined {
  if (sel.labels.isEverything() && sel.fields.isEverything()) return undefined;
  return (obj) => sel.labels.matches(obj.metadata.labels ?? {}) && sel.fields.matchesBy((field) => served.fieldValue(obj, field));
}

/** Fields a watch is best filed under (watcher-index.ts): one value per node or per object. */
const FILING_FIELDS = ['spec.nodeName', 'metadata.name'];

/** A `field=value` requirement of the selector, for the watch cache to file the watcher under. */
function exactField(sel: Selection, served: ServedResource): ExactField | undefined {
  const equal = sel.fields.requirements.filter((r) => r.operator === '=');
  const r = equal.find((q) => FILING_FIELDS.includes(q.field)) ?? equal[0];
  return r && { field: r.field, value: r.value, valueOf: (obj) => served.fieldValue(obj, r.field) };
}

function deleteOptionsFrom(body: unknown, query: URLSearchParams): DeleteOptions {
  const opts: DeleteOptions = {};
  if (body !== undefined) {
    const b = body as { gracePeriodSeconds?: unknown; preconditions?: unknown; dryRun?: unknown };
    if (b.gracePeriodSeconds !== undefined && b.gracePeriodSeconds !== null) {
      if (typeof b.gracePeriodSeconds !== 'number' || !Number.isInteger(b.gracePeriodSeconds)) {
        throw new InvalidError('DeleteOptions is invalid: gracePeriodSeconds must be an integer', { kind: 'DeleteOptions' }, [
          { reason: 'FieldValueInvalid', field: 'gracePeriodSeconds', message: 'must be an integer' },
        ]);
      }
      opts.gracePeriodSeconds = b.gracePeriodSeconds;
    }
    if (b.preconditions !== undefined && b.preconditions !== null) {
      const p = b.preconditions as { uid?: unknown; resourceVersion?: unknown };
      if (typeof p !== 'object' || (p.uid !== undefined && typeof p.uid !== 'string') || (p.resourceVersion !== undefined && typeof p.resourceVersion !== 'string')) {
        throw new InvalidError('DeleteOptions is invalid: preconditions must hold string uid/resourceVersion', { kind: 'DeleteOptions' }, [
          { reason: 'FieldValueInvalid', field: 'preconditions', message: 'must hold string uid and resourceVersion' },
        ]);
      }
      opts.preconditions = {};
      if (typeof p.uid === 'string') opts.preconditions.uid = p.uid;
      if (typeof p.resourceVersion === 'string') opts.preconditions.resourceVersion = p.resourceVersion;
    }
    if (b.dryRun !== undefined && b.dryRun !== null) {
      if (!Array.isArray(b.dryRun)) throw new BadRequestError('DeleteOptions is invalid: dryRun must be a list');
      if (dryRunValues(b.dryRun, 'DeleteOptions.dryRun')) opts.dryRun = true;
    }
  }
  const grace = intParam(query, 'gracePeriodSeconds');
  if (grace !== undefined) opts.gracePeriodSeconds = grace;
  if (dryRunParam(query)) opts.dryRun = true;
  const policy = propagationFrom(body, query);
  if (policy !== undefined) opts.propagationPolicy = policy;
  return opts;
}

/**
 * propagationPolicy or the deprecated orphanDependents, from the body or (as clients without a
 * body send them) the query; a parameter given in the query wins, as gracePeriodSeconds does.
 * Validated as Kubernetes does: an unknown policy, or both spellings at once, is a 422 on
 * `propagationPolicy`.
 */
function propagationFrom(body: unknown, query: URLSearchParams): DeletionPropagation | undefined {
  const raw: { propagationPolicy?: unknown; orphanDependents?: unknown } = {};
  if (typeof body === 'object' && body !== null) {
    const b = body as { propagationPolicy?: unknown; orphanDependents?: unknown };
    if (b.propagationPolicy !== undefined && b.propagationPolicy !== null) raw.propagationPolicy = b.propagationPolicy;
    if (b.orphanDependents !== undefined && b.orphanDependents !== null) raw.orphanDependents = b.orphanDependents;
  }
  const queryPolicy = query.get('propagationPolicy');
  if (queryPolicy !== null && queryPolicy !== '') raw.propagationPolicy = queryPolicy;
  const queryOrphan = boolParam(query, 'orphanDependents');
  if (queryOrphan !== undefined) raw.orphanDependents = queryOrphan;
  if (raw.propagationPolicy === undefined && raw.orphanDependents === undefined) return undefined;
  return requestedPropagation(validateDeleteOptions(raw));
}

export class ResourceRouter {
  constructor(private readonly o: ResourceRouterOptions) {}

  /** Serves one authenticated request on a resource path; every failure is answered as a Status. */
  async serve(req: IncomingMessage, res: ServerResponse, user: UserInfo, path: ResourcePath): Promise<void> {
    try {
      await this.handle(req, res, user, path);
    } catch (err) {
      if (err instanceof RequestAbortedError) {
        // Any client can do this: counted, not logged as a server error.
        this.o.metrics.requestAborts.inc();
        if (this.o.log.isDebugEnabled()) this.o.log.debug('client aborted its request body', { requestId: exchangeOf(res).id, method: req.method, path: req.url, error: err.message });
      }
      sendError(res, err, this.o.log);
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse, user: UserInfo, path: ResourcePath): Promise<void> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const query = new URLSearchParams(q >= 0 ? url.slice(q + 1) : '');
    const group = this.o.groups?.get(path.group);
    if (group) {
      const exchange = exchangeOf(res);
      exchange.verb = path.name === undefined ? 'list' : 'get';
      exchange.resource = path.resource;
      // Its columns are keyed resource.group: the metrics API's names are the core kinds'.
      sendAsAsked(req, res, columnsFor(`${path.resource}.${path.group}`), 200, await group(req, user, path, query), query);
      return;
    }
    const served = this.o.resolve(path.group, path.version, path.resource);
    if (!served) throw new NotFoundError('the server could not find the requested resource');
    const def = served.rest.def;
    if (path.namespace !== undefined && !def.namespaced) {
      throw new NotFoundError('the server could not find the requested resource');
    }
    const method = req.method ?? 'GET';
    const connect = path.subresource !== undefined && served.connectSubresources.includes(path.subresource) && (method === 'GET' || method === 'POST');
    const verb = connect ? 'create' : verbOf(method, path, query);
    const exchange = exchangeOf(res);
    exchange.verb = verb;
    exchange.resource = def.resource;
    exchange.subresource = path.subresource ?? '';

    if (path.subresource !== undefined && !served.subresources.includes(path.subresource)) {
      throw new NotFoundError('the server could not find the requested resource');
    }
    const attrs: RequestAttributes = { verb, group: def.group, resource: def.resource };
    if (path.subresource !== undefined) attrs.subresource = path.subresource;
    if (path.namespace !== undefined) attrs.namespace = path.namespace;
    if (path.name !== undefined) attrs.name = path.name;
    let selection: Selection | undefined;
    if (verb === 'list' || verb === 'watch' || verb === 'deletecollection') {
      selection = parseSelection(query, served);
      const nodeName = selection.fields.exactMatch('spec.nodeName');
      if (nodeName !== undefined) attrs.nodeNameSelector = nodeName;
    }
    const decision = this.o.authorizer.authorize(user, attrs);

    // A custom resource named like a built-in one (pods.example.com) gets none of its handlers or checks.
    const builtIn = served.userDefined === true ? `${def.resource}.${def.group}` : def.resource;
    const customKey = `${builtIn}${path.subresource ? `/${path.subresource}` : ''}:${method}`;
    const custom = served.userDefined === true ? served.handlers?.get(`${path.subresource ?? ''}:${method}`) : this.o.custom.get(customKey);
    if (custom) {
      const out = await custom({ req, res, user, path, served, query });
      // A handler answers in its own body's kind (a Scale): not converted as the resource's objects are.
      if (out) sendAsAsked(req, res, columnsOf(served), out.status, out.body, query);
      return;
    }
    // A subresource served here (status, pods/ephemeralcontainers) is the whole object, read, updated or patched.
    const verbAllowed =
      path.subresource === undefined ? served.verbs.includes(verb) : ['get', 'update', 'patch'].includes(verb) && served.rest.writesSubresource(path.subresource);
    // POST goes to a collection; PUT and PATCH to one object.
    const wrongTarget = path.name === undefined ? verb === 'update' || verb === 'patch' : verb === 'create';
    if (!verbAllowed || wrongTarget) {
      throw new MethodNotAllowedError(`the server does not allow this method on the requested resource`, {
        kind: def.resource,
        ...(path.name ? { name: path.name } : {}),
      });
    }
    if (path.name === undefined && verb === 'create' && def.namespaced && path.namespace === undefined) {
      throw new MethodNotAllowedError('the server does not allow this method on the requested resource: a namespace is required');
    }

    const rest = served.rest;
    const ns = path.namespace;
    const name = path.name ?? '';
    const sub = path.subresource;
    switch (verb) {
      case 'get': {
        if (decision.nodeScoped !== undefined && (builtIn === 'configmaps' || builtIn === 'secrets')) {
          const cacheOf = (group: string, resource: string) => this.o.resolve(group, 'v1', resource)?.rest.objects.cache;
          const sources = { pods: cacheOf('', 'pods')!, ingresses: cacheOf('networking.k8s.io', 'ingresses'), ingressClasses: cacheOf('networking.k8s.io', 'ingressclasses') };
          await nodeMayReadConfig(sources, decision.nodeScoped, ns ?? '', builtIn, name);
        }
        const obj = await rest.get(ns, name);
        if (builtIn === 'pods') nodeMayTouchPod(user, podNode(obj), name);
        this.respond(req, res, served, 200, obj, query);
        return;
      }
      case 'list':
        await this.list(req, res, served, ns, selection!, query);
        return;
      case 'watch':
        await this.watch(req, res, served, ns, selection!, query);
        return;
      case 'create': {
        const body = await readObjectBody(req, this.o.maxRequestBytes);
        const opts = { ...writeOptions(query), ...this.rbacAdmission(builtIn, user) };
        if (isCreateList(body)) {
          // Many objects in one request (bulk-create.ts): each created exactly as a single one is.
          const items = createListItems(body);
          const decode = rest.itemDecoder(opts);
          const created = await createEach(items, async (item) => {
            this.o.authorizer.nodeMayCreate(user, attrs, nameIn(item));
            return rest.create(ns, item, opts, decode);
          }, this.o.log);
          sendJson(res, 200, created);
          return;
        }
        this.o.authorizer.nodeMayCreate(user, attrs, nameIn(body));
        const obj = await rest.create(ns, body, opts);
        this.respondWritten(req, res, served, 201, obj, query, body);
        return;
      }
      case 'update': {
        const body = await readObjectBody(req, this.o.maxRequestBytes);
        const obj = await rest.update(ns, name, body, sub, { ...writeOptions(query), ...podGuard(builtIn, user, name), ...this.rbacAdmission(builtIn, user) });
        this.respondWritten(req, res, served, 200, obj, query, body);
        return;
      }
      case 'patch': {
        const { type, patch } = await readPatchBody(req, this.o.maxRequestBytes);
        const opts = { ...writeOptions(query), ...podGuard(builtIn, user, name), ...this.rbacAdmission(builtIn, user) };
        const force = boolParam(query, 'force');
        if (type !== 'apply') {
          if (force !== undefined) throw new BadRequestError('force may only be given with an apply patch (application/apply-patch+yaml)');
          this.respondWritten(req, res, served, 200, await rest.patch(ns, name, type, patch, sub, opts), query, patch);
          return;
        }
        const manager = fieldManagerParam(query);
        if (manager === undefined) throw new BadRequestError('fieldManager is required for apply requests');
        const { object, created } = await rest.applyConfiguration(ns, name, patch, sub, {
          ...opts,
          apply: { manager, force: force ?? false },
          // Applying to an object that is not there creates it: that takes create as well as patch.
          mayCreate: () => {
            const asCreate = { ...attrs, verb: 'create' as const };
            this.o.authorizer.authorize(user, asCreate);
            this.o.authorizer.nodeMayCreate(user, asCreate, name);
          },
        });
        this.respondWritten(req, res, served, created ? 201 : 200, object, query, patch);
        return;
      }
      case 'delete': {
        const body = await readOptionalObjectBody(req, this.o.maxRequestBytes);
        const opts = deleteOptionsFrom(body, query);
        const out = await rest.delete(ns, name, { ...opts, ...podGuard(builtIn, user, name) });
        // 200 whether gone or only marked (graceful pods, finalizers), as kube-apiserver answers.
        this.respond(req, res, served, 200, out.object, query);
        return;
      }
      case 'deletecollection': {
        const body = await readOptionalObjectBody(req, this.o.maxRequestBytes);
        const opts = deleteOptionsFrom(body, query);
        const m = matcher(selection!, served);
        const items = await rest.deleteCollection({ ...(ns ? { namespace: ns } : {}), ...(m ? { matches: m } : {}) }, opts);
        this.respond(req, res, served, 200, { kind: def.listKind, apiVersion: apiVersionOf(def), metadata: {}, items }, query);
        return;
      }
    }
  }

  /** Escalation prevention (and roleRef immutability) for writes of RBAC objects. */
  private rbacAdmission(resource: string, user: UserInfo): { admit?: (next: KubeObject, current: KubeObject | undefined) => void } {
    if (!RBAC_RESOURCES.has(resource)) return {};
    return { admit: (next, current) => this.o.escalation.check(user, resource, next, current) };
  }

  /**
   * A written object's answer, with what the client should know about it as Warning headers
   * (kubectl prints them): the kind's own, and, for a built-in kind, pod volumes that `sent` had
   * and that were dropped.
   */
  private respondWritten(req: IncomingMessage, res: ServerResponse, served: ServedResource, status: number, obj: KubeObject, query: URLSearchParams, sent: unknown): void {
    const dropped = served.userDefined ? [] : droppedVolumeWarnings(sent);
    for (const w of [...served.rest.warningsFor(obj), ...dropped]) res.appendHeader('Warning', warningHeader(w));
    this.respond(req, res, served, status, obj, query);
  }

  private respond(req: IncomingMessage, res: ServerResponse, served: ServedResource, status: number, body: unknown, query: URLSearchParams): void {
    sendAsAsked(req, res, columnsOf(served), status, body, query, served.toServed);
  }

  private async list(req: IncomingMessage, res: ServerResponse, served: ServedResource, ns: string | undefined, sel: Selection, query: URLSearchParams): Promise<void> {
    const def = served.rest.def;
    const q: ListQuery = {};
    if (ns !== undefined) q.namespace = ns;
    const m = matcher(sel, served);
    if (m) q.matches = m;
    const limit = intParam(query, 'limit');
    if (limit !== undefined) {
      if (limit < 0) throw new BadRequestError('limit must be a non-negative integer');
      q.limit = limit;
    }
    const versions = listVersionOptions(query, false);
    if (versions.continueToken !== undefined) q.continueToken = versions.continueToken;
    if (versions.resourceVersion !== '') q.resourceVersion = versions.resourceVersion;
    if (versions.resourceVersionMatch !== undefined) q.resourceVersionMatch = versions.resourceVersionMatch;
    const page = await served.rest.list(q);
    const metadata: Record<string, unknown> = { resourceVersion: page.resourceVersion };
    if (page.continueToken) metadata.continue = page.continueToken;
    if (page.remainingItemCount !== undefined) metadata.remainingItemCount = page.remainingItemCount;
    this.respond(req, res, served, 200, { kind: def.listKind, apiVersion: apiVersionOf(def), metadata, items: page.items }, query);
  }

  private async watch(req: IncomingMessage, res: ServerResponse, served: ServedResource, ns: string | undefined, sel: Selection, query: URLSearchParams): Promise<void> {
    const def = served.rest.def;
    const versions = listVersionOptions(query, true);
    const timeout = intParam(query, 'timeoutSeconds', { min: 0 });
    const bookmarks = boolParam(query, 'allowWatchBookmarks') === true;
    if (ns !== undefined) await served.rest.requireNamespace(ns, false);
    // Before the stream starts: a resourceVersion this server has not reached is a 504, not a 200.
    const start = await served.rest.objects.watchStart(versions.resourceVersion, versions.sendInitialEvents);
    const table = tableRequested(req.headers.accept, query.get('includeObject') ?? undefined);
    const m = matcher(sel, served); // undefined: every object (the watch cache then skips selector checks)
    const resource = def.resource;
    const columns = columnsOf(served);
    this.o.metrics.watchers.inc({ resource });
    // Long-running: counted as a watcher, not as an in-flight request.
    exchangeOf(res).longRunning = true;
    releaseInflight(res);
    const stream = new WatchStream(req, res, {
      maxQueuedBytes: this.o.watchMaxQueuedBytes,
      bookmarks,
      // Watch-list: the initial state ends with a bookmark that says so (only to a client that takes bookmarks).
      initialEventsEnd: versions.sendInitialEvents === true && start.kind !== 'after',
      kind: def.kind,
      apiVersion: apiVersionOf(def),
      // A Table's columns read the stored form; an object goes out in the version asked for.
      ...(table ? { render: (obj: KubeObject) => toTable(columns, [obj], table, {}, false) } : served.toServed ? { render: served.toServed } : {}),
      onClose: () => this.o.metrics.watchers.dec({ resource }),
    });
    const exact = m ? exactField(sel, served) : undefined;
    const filter = { keyPrefix: served.rest.objects.keyPrefix(ns), matches: m, ...(exact ? { exact } : {}) };
    const stop = await served.rest.objects.watch(start, filter, stream);
    stream.attach(stop, timeout);
  }
}

/** `metadata.name` of a request body (or of an item of a List), when it is a string. */
function nameIn(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const meta = (body as { metadata?: unknown }).metadata;
  const name = typeof meta === 'object' && meta !== null ? (meta as { name?: unknown }).name : undefined;
  return typeof name === 'string' ? name : undefined;
}

function columnsOf(served: ServedResource): readonly Column[] {
  return served.columns ?? columnsFor(served.rest.def.resource);
}

/** An object or list as JSON, or as the Table the client asked for, in `columns`. */
function sendAsAsked(
  req: IncomingMessage,
  res: ServerResponse,
  columns: readonly Column[],
  status: number,
  body: unknown,
  query: URLSearchParams,
  toServed?: (obj: KubeObject) => KubeObject,
): void {
  const table = tableRequested(req.headers.accept, query.get('includeObject') ?? undefined);
  if (isObjectOrList(body) && body.kind !== 'Status') {
    const isList = Array.isArray((body as { items?: unknown }).items);
    const items = isList ? (body as { items: KubeObject[] }).items : [body as KubeObject];
    if (table) {
      const meta = isList ? ((body as { metadata?: Record<string, unknown> }).metadata ?? {}) : {};
      sendJson(res, status, toTable(columns, items, table, meta));
      return;
    }
    if (toServed) {
      sendJson(res, status, isList ? { ...body, items: items.map(toServed) } : toServed(body as KubeObject));
      return;
    }
  }
  sendJson(res, status, body);
}

/** A JSON response straight to Node's response: express's send() costs more than the write. */
function sendJson(res: ServerResponse, status: number, body: unknown): void {
  // Answered already: the request's deadline passed (deadline.ts) while it was being served.
  if (res.headersSent) return;
  const text = responseJson(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** Node restriction for pod writes by an agent: checked on the object inside the write. */
function podGuard(resource: string, user: UserInfo, name: string): { guard?: (current: KubeObject) => void } {
  if (resource !== 'pods' || nodeNameOf(user) === undefined) return {};
  return { guard: (current) => nodeMayTouchPod(user, podNode(current), name) };
}

function podNode(obj: KubeObject): string | undefined {
  return (obj.spec as { nodeName?: string } | undefined)?.nodeName;
}

function isObjectOrList(v: unknown): v is { kind?: string } {
  return typeof v === 'object' && v !== null;
}

