// Kubernetes verb semantics for one resource: create (defaults, uid, generateName, namespace
// checks), update and patch (status split, generation, immutability), delete (preconditions,
// finalizers, graceful pod deletion), deletecollection. HTTP concerns stay in http/.
import { randomBytes, randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import {
  AlreadyExistsError,
  BadRequestError,
  ConflictError,
  ForbiddenError,
  InvalidError,
  NotFoundError,
} from '../../shared/errors.js';
import { formatTime } from '../../shared/api/meta.js';
import { invalidObjectError } from '../../shared/api/field-errors.js';
import type { FieldCause } from '../../shared/errors.js';
import { finalizersAfterDelete, type DeletionPropagation } from '../../shared/api/propagation.js';
import { applyPatch } from '../http/patch.js';
import { serverSideApply } from '../http/server-side-apply.js';
import type { PatchType } from '../http/body.js';
import { jsonCopy, jsonEqual } from '../../shared/json-values.js';
import type { KubeObject } from './object.js';
import type { ResourceStore, ListPage, ListQuery } from './resource-store.js';
import { strategyFor, type Strategy } from './strategy.js';

/**
 * A subresource an update or patch writes to: `status`, or one the kind's strategy writes
 * (Strategy.subresourceWrites: pods/ephemeralcontainers). Either way the request carries the whole object.
 */
export type WritableSubresource = string;

/** What the REST layer needs of a resource's definition (filled from shared/api/registry). */
export interface ResourceDef {
  group: string;
  version: string;
  kind: string;
  listKind: string;
  resource: string;
  namespaced: boolean;
  /** Has a `status` subresource: main writes ignore status, status writes touch only status. */
  hasStatus: boolean;
  /** Validate and default a full object; throws InvalidError with field causes. */
  validate(raw: unknown): KubeObject;
  /** Paths in `raw` the schema does not know (for fieldValidation=Strict). */
  unknownFields(raw: unknown): string[];
  /** The 400 for unknown fields under fieldValidation=Strict. */
  strictError(fields: readonly string[]): Error;
  /** Rules beyond the generic verbs; by default the built-in kind's of this resource name (strategy.ts). */
  strategy?: Strategy;
}

/**
 * A resource served in a version other than the one it is stored in (shared/api/registry
 * ConvertedVersion): what a client sends is decoded in the served version, converted, and decoded
 * again as the stored one; patches apply to the served form of the stored object. Responses are
 * converted back by the HTTP layer (ServedResource.toServed), so everything below sees one version.
 */
export interface VersionConversion {
  stored: ResourceDef;
  toStored(obj: KubeObject): { object: unknown; causes: FieldCause[] };
  toServed(obj: KubeObject): KubeObject;
}

export function apiVersionOf(def: { group: string; version: string }): string {
  return def.group ? `${def.group}/${def.version}` : def.version;
}

export interface WriteOptions {
  dryRun?: boolean;
  fieldValidation?: 'Strict' | 'Warn' | 'Ignore';
  /**
   * Object-level authorization, checked against the object the write applies to, inside the
   * compare-and-swap (so no extra read, and no check-then-write race).
   */
  guard?: (current: KubeObject) => void;
  /**
   * Admission of the object as it will be stored (after defaults, a patch, the status split), with
   * the object it replaces (undefined on create); throws to refuse. RBAC escalation prevention.
   */
  admit?: (next: KubeObject, current: KubeObject | undefined) => void;
  /** A server-side apply: who applies, whether they take over conflicting fields. */
  apply?: { manager: string; force: boolean };
  /** An apply that finds no object creates it: the caller checks the user may create. */
  mayCreate?: () => void;
}

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
  /** Orphan and Foreground leave a finalizer for the garbage collector; unset keeps an earlier choice. */
  propagationPolicy?: DeletionPropagation;
  dryRun?: boolean;
  guard?: (current: KubeObject) => void;
}

/** Seconds-precision RFC 3339, as Kubernetes' metav1.Time serialises. */
export function nowTimestamp(at = Date.now()): string {
  return formatTime(new Date(at));
}

const GENERATE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
/**
 * Random bytes for generateName suffixes, drawn from a pool refilled 4 KiB at a time: a call to
 * the system's generator per name cost more than the rest of naming (a controller's bulk create
 * names hundreds of pods in one request).
 */
let suffixPool = Buffer.alloc(0);
let suffixPoolAt = 0;
function randomSuffix(n = 5): string {
  if (suffixPoolAt + n > suffixPool.length) {
    suffixPool = randomBytes(4096);
    suffixPoolAt = 0;
  }
  let s = '';
  for (let i = 0; i < n; i++) s += GENERATE_ALPHABET[suffixPool[suffixPoolAt++]! % GENERATE_ALPHABET.length];
  return s;
}

/** Fields only the server sets; copied from the stored object on every update. */
function keepSystemMetadata(next: KubeObject, current: KubeObject): void {
  const m = next.metadata;
  const c = current.metadata;
  m.name = c.name;
  if (c.namespace !== undefined) m.namespace = c.namespace;
  // A write that leaves the uid out keeps it; one that names another uid is refused, as in
  // Kubernetes (the rest of the system metadata is quietly restored).
  if (m.uid !== undefined && m.uid !== '' && m.uid !== c.uid) {
    throw new InvalidError(`${current.kind ?? 'object'} "${c.name ?? ''}" is invalid: metadata.uid: Invalid value: "${m.uid}": field is immutable`, { kind: current.kind, name: c.name }, [
      { reason: 'FieldValueInvalid', field: 'metadata.uid', message: 'field is immutable' },
    ]);
  }
  m.uid = c.uid;
  m.creationTimestamp = c.creationTimestamp;
  if (c.generation !== undefined) m.generation = c.generation;
  if (c.deletionTimestamp !== undefined) m.deletionTimestamp = c.deletionTimestamp;
  else delete m.deletionTimestamp;
  if (c.deletionGracePeriodSeconds !== undefined) m.deletionGracePeriodSeconds = c.deletionGracePeriodSeconds;
  else delete m.deletionGracePeriodSeconds;
  if (c.generateName !== undefined) m.generateName = c.generateName;
  // Who applied which fields (server-side apply) survives writes that do not mention it; a write
  // of `[{}]` clears it, as in Kubernetes.
  if ((m.managedFields === undefined || m.managedFields.length === 0) && c.managedFields !== undefined) m.managedFields = c.managedFields;
  else if (m.managedFields?.length === 1 && Object.keys(m.managedFields[0]!).length === 0) delete m.managedFields;
}

/**
 * Finalizers may be removed from an object being deleted, never added (as Kubernetes validates):
 * otherwise whoever finishes a deletion could be chased forever by new ones.
 */
function noNewFinalizersWhileDeleting(next: KubeObject, current: KubeObject): void {
  if (current.metadata.deletionTimestamp === undefined) return;
  const before = new Set(current.metadata.finalizers ?? []);
  const added = (next.metadata.finalizers ?? []).filter((f) => !before.has(f));
  if (added.length === 0) return;
  throw new InvalidError(
    `${current.kind} "${current.metadata.name ?? ''}" is invalid: metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}`,
    { kind: current.kind, name: current.metadata.name },
    [{ reason: 'FieldValueForbidden', field: 'metadata.finalizers', message: `no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}` }],
  );
}

export class RestResource {
  readonly strategy: Strategy;
  /** Runs before an object is finally deleted (e.g. a node's pods are released first). */
  beforeDelete: ((obj: KubeObject) => Promise<void>) | undefined;
  /** Admission of a new object that reads other objects (a pod's PriorityClass), in order; may change it or throw. */
  private readonly createAdmissions: ((obj: KubeObject) => Promise<void>)[] = [];

  constructor(
    readonly def: ResourceDef,
    readonly objects: ResourceStore,
    /** Resolves a namespace for existence checks (undefined for cluster-scoped resources). */
    private readonly namespaceLookup: (name: string) => Promise<KubeObject | undefined>,
    private readonly conversion?: VersionConversion,
  ) {
    this.strategy = def.strategy ?? strategyFor(def.resource);
  }

  /** Is `subresource` read, updated and patched as the whole object (status; the strategy's subresourceWrites)? */
  writesSubresource(subresource: string): boolean {
    return subresource === 'status' ? this.def.hasStatus : this.strategy.subresourceWrites?.[subresource] !== undefined;
  }

  /** The Warning headers for `obj` as written (the kind's strategy says). */
  warningsFor(obj: KubeObject): string[] {
    return this.strategy.warnings?.(obj) ?? [];
  }

  addCreateAdmission(admit: (obj: KubeObject) => Promise<void>): void {
    this.createAdmissions.push(admit);
  }

  /** Validate, default and check unknown fields of a client's object. */
  private decodeBody(raw: unknown, opts: WriteOptions): KubeObject {
    // Strict first: an unknown field is the clearer error when it also fails the schema.
    if (opts.fieldValidation === 'Strict') {
      const unknown = this.def.unknownFields(raw);
      if (unknown.length > 0) throw this.def.strictError(unknown);
    }
    const obj = this.def.validate(raw);
    obj.apiVersion = apiVersionOf(this.def);
    obj.kind = this.def.kind;
    if (this.conversion === undefined) return obj;
    const { object, causes } = this.conversion.toStored(obj);
    if (causes.length > 0) throw invalidObjectError({ kind: this.def.kind, name: obj.metadata.name ?? '' }, causes);
    return this.conversion.stored.validate(object);
  }

  /** The object a patch or an apply is made to: the stored one, in the version the client speaks. */
  private servedForm(current: KubeObject): KubeObject {
    return this.conversion === undefined ? current : this.conversion.toServed(current);
  }

  async requireNamespace(namespace: string | undefined, forCreate: boolean): Promise<void> {
    if (!this.def.namespaced) return;
    if (!namespace) throw new BadRequestError('a namespace is required for this resource');
    const ns = await this.namespaceLookup(namespace);
    if (!ns) throw new NotFoundError(`namespaces "${namespace}" not found`, { name: namespace, kind: 'namespaces' });
    if (forCreate && ns.metadata.deletionTimestamp) {
      throw new ForbiddenError(
        `unable to create new content in namespace ${namespace} because it is being terminated`,
        { name: namespace, kind: 'namespaces' },
      );
    }
  }

  private checkNamespaceMatches(obj: KubeObject, namespace: string | undefined): void {
    if (!this.def.namespaced) {
      delete obj.metadata.namespace;
      return;
    }
    if (obj.metadata.namespace !== undefined && obj.metadata.namespace !== '' && obj.metadata.namespace !== namespace) {
      throw new BadRequestError('the namespace of the provided object does not match the namespace sent on the request');
    }
    obj.metadata.namespace = namespace;
  }

  async get(namespace: string | undefined, name: string): Promise<KubeObject> {
    return this.objects.get(namespace, name);
  }

  async list(q: ListQuery): Promise<ListPage> {
    if (q.namespace) await this.requireNamespace(q.namespace, false);
    return this.objects.list(q);
  }

  /**
   * Decodes the items of one multi-object create: an item equal to the one before it (a template's
   * pods, all alike) is not validated again but given a copy of that one's result — validation is
   * a function of the item alone, and is the larger part of creating one.
   */
  itemDecoder(opts: WriteOptions): (raw: unknown) => KubeObject {
    let last: { raw: unknown; obj: KubeObject } | undefined;
    return (raw) => {
      if (last !== undefined && jsonEqual(raw, last.raw)) return jsonCopy(last.obj);
      const obj = this.decodeBody(raw, opts);
      // Its own copy: the object returned is the caller's to change (create names and stamps it).
      last = { raw, obj: jsonCopy(obj) };
      return obj;
    };
  }

  /** Create `raw`, decoded (validated and defaulted) by `decode` when given (itemDecoder). */
  async create(namespace: string | undefined, raw: unknown, opts: WriteOptions = {}, decode?: (raw: unknown) => KubeObject): Promise<KubeObject> {
    const obj = decode ? decode(raw) : this.decodeBody(raw, opts);
    this.checkNamespaceMatches(obj, namespace);
    await this.requireNamespace(namespace, true);
    const m = obj.metadata;
    if (!m.name && !m.generateName) {
      throw new InvalidError(`${this.def.kind} "" is invalid: metadata.name: Required value: name or generateName is required`, { kind: this.def.kind }, [
        { reason: 'FieldValueRequired', field: 'metadata.name', message: 'name or generateName is required' },
      ]);
    }
    m.uid = randomUUID();
    m.creationTimestamp = nowTimestamp();
    m.generation = 1;
    delete m.resourceVersion;
    delete m.deletionTimestamp;
    delete m.deletionGracePeriodSeconds;
    this.strategy.prepareForCreate?.(obj);
    // generateName: the name is made before the object is checked, in Kubernetes' order, so rules
    // that read the name (a custom kind's validation rules) see it.
    const generated = !m.name;
    if (generated) m.name = `${m.generateName ?? ''}${randomSuffix()}`;
    this.strategy.validateCreate?.(obj);
    for (const admit of this.createAdmissions) await admit(obj);
    opts.admit?.(obj, undefined);
    if (opts.dryRun) return this.objects.create(obj, { dryRun: true });
    if (!generated) return this.objects.create(obj);
    // A generated name taken already: another suffix, on the rare collision, as Kubernetes does.
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.objects.create(obj);
      } catch (err) {
        if (!(err instanceof AlreadyExistsError) || attempt >= 5) throw err;
        m.name = `${m.generateName ?? ''}${randomSuffix()}`;
      }
    }
  }

  /** Next state of an object for a full-object write to the main resource or `status`. */
  private nextState(current: KubeObject, incoming: KubeObject, subresource: WritableSubresource | undefined): KubeObject {
    if (subresource !== undefined && subresource !== 'status') {
      const write = this.strategy.subresourceWrites?.[subresource];
      if (!write) throw new NotFoundError('the server could not find the requested resource');
      return write(incoming, current);
    }
    if (subresource === 'status') {
      const next: KubeObject = structuredClone(current);
      next.status = incoming.status;
      this.strategy.prepareForStatusUpdate?.(next, current);
      this.strategy.validateStatusUpdate?.(next, current);
      return next;
    }
    const next: KubeObject = incoming;
    keepSystemMetadata(next, current);
    if (this.def.hasStatus) {
      if (current.status === undefined) delete next.status;
      else next.status = current.status;
    }
    this.strategy.prepareForUpdate?.(next, current);
    noNewFinalizersWhileDeleting(next, current);
    if (!isDeepStrictEqual(next.spec, current.spec)) next.metadata.generation = (current.metadata.generation ?? 1) + 1;
    this.strategy.validateUpdate?.(next, current);
    return next;
  }

  private checkName(incoming: KubeObject, name: string): void {
    if (incoming.metadata.name !== undefined && incoming.metadata.name !== name) {
      throw new BadRequestError(`the name of the object (${incoming.metadata.name}) does not match the name on the URL (${name})`);
    }
    incoming.metadata.name = name;
  }

  private finalizersOf(obj: KubeObject): string[] {
    return [...(obj.metadata.finalizers ?? []), ...(this.strategy.kindFinalizers?.(obj) ?? [])];
  }

  /** Finalizers gone from an object already being deleted with no grace left: it can go. */
  private readyToDelete(obj: KubeObject): boolean {
    return (
      obj.metadata.deletionTimestamp !== undefined &&
      this.finalizersOf(obj).length === 0 &&
      (obj.metadata.deletionGracePeriodSeconds ?? 0) === 0
    );
  }

  async update(
    namespace: string | undefined,
    name: string,
    raw: unknown,
    subresource: WritableSubresource | undefined,
    opts: WriteOptions = {},
  ): Promise<KubeObject> {
    const incoming = this.decodeBody(raw, opts);
    this.checkNamespaceMatches(incoming, namespace);
    this.checkName(incoming, name);
    const expected = incoming.metadata.resourceVersion || undefined;
    const updated = await this.objects.update(
      namespace,
      name,
      (current) => {
        opts.guard?.(current);
        // nextState changes only the top level and metadata of what it is given: each attempt
        // gets its own copy of those, the rest is shared and never modified.
        const next = this.nextState(current, { ...incoming, metadata: { ...incoming.metadata } }, subresource);
        if (isDeepStrictEqual(withoutRv(next), withoutRv(current))) return current;
        opts.admit?.(next, current);
        return next;
      },
      expected,
      { keepsCurrent: true, dryRun: opts.dryRun === true },
    );
    if (opts.dryRun) return updated;
    return this.readyToDelete(updated) ? this.finalDelete(namespace, name, updated) : updated;
  }

  async patch(
    namespace: string | undefined,
    name: string,
    type: PatchType,
    patch: unknown,
    subresource: WritableSubresource | undefined,
    opts: WriteOptions = {},
  ): Promise<KubeObject> {
    if (type === 'apply') return (await this.applyConfiguration(namespace, name, patch, subresource, opts)).object;
    return this.patchWith(namespace, name, opts, (current) => applyPatch(type, this.servedForm(current), patch), subresource);
  }

  /** A write of what `transform` makes of the current object (a patch, an apply), under the guarded update. */
  private async patchWith(
    namespace: string | undefined,
    name: string,
    opts: WriteOptions,
    transform: (current: KubeObject) => unknown,
    subresource?: WritableSubresource,
  ): Promise<KubeObject> {
    const apply = (current: KubeObject): KubeObject => {
      opts.guard?.(current);
      const patched = transform(current);
      const incoming = this.decodeBody(patched, opts);
      this.checkNamespaceMatches(incoming, namespace);
      this.checkName(incoming, name);
      // A patch that sets resourceVersion is a precondition (as in Kubernetes).
      if (incoming.metadata.resourceVersion && incoming.metadata.resourceVersion !== current.metadata.resourceVersion) {
        throw this.objects.conflict(name);
      }
      const next = this.nextState(current, incoming, subresource);
      if (isDeepStrictEqual(withoutRv(next), withoutRv(current))) return current;
      opts.admit?.(next, current);
      return next;
    };
    // apply patches a copy and builds a new object: the cached one is only read.
    const updated = await this.objects.update(namespace, name, apply, undefined, { keepsCurrent: true, dryRun: opts.dryRun === true });
    if (opts.dryRun) return updated;
    return this.readyToDelete(updated) ? this.finalDelete(namespace, name, updated) : updated;
  }

  /**
   * Server-side apply (http/server-side-apply.ts): merged into the object under the guarded
   * update, or — when there is none — created. `created` says which (201 or 200).
   */
  async applyConfiguration(
    namespace: string | undefined,
    name: string,
    config: unknown,
    subresource: WritableSubresource | undefined,
    opts: WriteOptions,
  ): Promise<{ object: KubeObject; created: boolean }> {
    if (subresource !== undefined) throw new BadRequestError(`server-side apply is served on the main resource only, not on ${subresource}`);
    if (!opts.apply) throw new BadRequestError('fieldManager is required for apply requests');
    const request = { ...opts.apply, now: nowTimestamp() };
    if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new BadRequestError('an apply configuration must be an object');
    for (let attempt = 0; ; attempt++) {
      try {
        const object = await this.patchWith(namespace, name, opts, (current) => serverSideApply(this.servedForm(current), config, request));
        return { object, created: false };
      } catch (err) {
        if (!(err instanceof NotFoundError) || err.subject.name !== name) throw err;
      }
      opts.mayCreate?.();
      const fresh = serverSideApply(undefined, config, request) as unknown as KubeObject;
      this.checkName(fresh, name);
      try {
        return { object: await this.create(namespace, fresh, opts), created: true };
      } catch (err) {
        // Created meanwhile by someone else: apply onto theirs.
        if (!(err instanceof AlreadyExistsError) || attempt >= 3) throw err;
      }
    }
  }

  private async finalDelete(namespace: string | undefined, name: string, expected: KubeObject): Promise<KubeObject> {
    try {
      return await this.objects.delete(namespace, name, (cur) => {
        if (cur.metadata.uid !== expected.metadata.uid) throw this.objects.notFound(name);
      });
    } catch (err) {
      // Someone else completed the deletion first: the outcome the caller wanted.
      if (err instanceof NotFoundError) return expected;
      throw err;
    }
  }

  /**
   * Delete with Kubernetes semantics. Returns the object and whether it is gone (true) or only
   * marked for deletion (false: finalizers pending or a graceful pod stop under way).
   */
  async delete(
    namespace: string | undefined,
    name: string,
    opts: DeleteOptions = {},
  ): Promise<{ object: KubeObject; deleted: boolean }> {
    const checkPreconditions = (cur: KubeObject) => {
      opts.guard?.(cur);
      const pre = opts.preconditions;
      if (pre?.uid && pre.uid !== cur.metadata.uid) {
        throw new ConflictError(
          `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${cur.metadata.uid ?? ''}`,
          { name, kind: this.def.resource },
        );
      }
      if (pre?.resourceVersion && pre.resourceVersion !== cur.metadata.resourceVersion) {
        throw new ConflictError(
          `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${cur.metadata.resourceVersion ?? ''}`,
          { name, kind: this.def.resource },
        );
      }
    };
    if (opts.gracePeriodSeconds !== undefined && (!Number.isInteger(opts.gracePeriodSeconds) || opts.gracePeriodSeconds < 0)) {
      throw new InvalidError('gracePeriodSeconds must be a non-negative integer', {}, [
        { reason: 'FieldValueInvalid', field: 'gracePeriodSeconds', message: 'must be a non-negative integer' },
      ]);
    }
    const current = await this.objects.get(namespace, name);
    checkPreconditions(current);
    this.strategy.validateDelete?.(current);
    const grace = this.strategy.gracePeriod?.(current, opts.gracePeriodSeconds) ?? 0;
    // The finalizers the object keeps once this delete's propagation policy is recorded on it.
    const finalizersAfter = (obj: KubeObject): { own: string[] | undefined; all: string[] } => {
      const own = finalizersAfterDelete(obj.metadata.finalizers ?? [], opts.propagationPolicy);
      return { own, all: [...(own ?? obj.metadata.finalizers ?? []), ...(this.strategy.kindFinalizers?.(obj) ?? [])] };
    };
    const pending = finalizersAfter(current);
    if (opts.dryRun) {
      const gone = grace === 0 && pending.all.length === 0;
      // The checks of the delete itself (the hooks': a node with too many pods to fail with it).
      if (gone) await this.objects.delete(namespace, name, checkPreconditions, { dryRun: true });
      return { object: current, deleted: gone };
    }

    // Also when the object has finalizers now, even if this delete drops them: the write decides
    // on the stored object, so one delete never races another's policy.
    if (grace > 0 || pending.all.length > 0 || this.finalizersOf(current).length > 0) {
      let gone = false;
      const marked = await this.objects.update(namespace, name, (cur) => {
        checkPreconditions(cur);
        const m = cur.metadata;
        const g = this.strategy.gracePeriod?.(cur, opts.gracePeriodSeconds) ?? 0;
        // An existing deletion can only be shortened, never lengthened.
        const existing = m.deletionGracePeriodSeconds;
        const effective = existing !== undefined ? Math.min(existing, g) : g;
        const after = finalizersAfter(cur);
        if (effective === 0 && after.all.length === 0) {
          gone = true;
          return cur;
        }
        const graceUnchanged = m.deletionTimestamp !== undefined && existing === effective;
        if (graceUnchanged && after.own === undefined) return cur;
        const next = structuredClone(cur);
        if (after.own !== undefined) {
          if (after.own.length > 0) next.metadata.finalizers = after.own;
          else delete next.metadata.finalizers;
        }
        if (!graceUnchanged) {
          if (m.deletionTimestamp === undefined) this.strategy.markDeleting?.(next);
          next.metadata.deletionTimestamp = nowTimestamp(Date.now() + effective * 1000);
          next.metadata.deletionGracePeriodSeconds = effective;
        }
        return next;
      });
      if (!gone) return { object: marked, deleted: false };
    }
    if (this.beforeDelete) await this.beforeDelete(current);
    const deleted = await this.objects.delete(namespace, name, checkPreconditions);
    return { object: deleted, deleted: true };
  }

  async deleteCollection(q: ListQuery, opts: DeleteOptions): Promise<KubeObject[]> {
    const page = await this.list({ ...q, limit: 0 });
    const out: KubeObject[] = [];
    for (const item of page.items) {
      try {
        const res = await this.delete(item.metadata.namespace, item.metadata.name ?? '', opts);
        out.push(res.object);
      } catch (err) {
        // Deleted by someone else meanwhile: nothing left to do for that one.
        if (!(err instanceof NotFoundError)) throw err;
      }
    }
    return out;
  }
}

function withoutRv(obj: KubeObject): KubeObject {
  const { resourceVersion: _rv, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}
