// Request bodies: read with a size limit, parsed by content type. Anything wrong is a typed
// 4xx error, so no handler ever sees a half-parsed body.
import type { IncomingMessage, ServerResponse } from 'node:http';
import YAML from 'yaml';
import { childPath } from '../../shared/api/field-errors.js';
import { BadRequestError, RequestTooLargeError, UnsupportedMediaTypeError, errorMessage } from '../../shared/errors.js';
import { decodeProtobufObject, PROTOBUF_MEDIA_TYPE } from './protobuf.js';

/** `apply`: server-side apply's configuration (server-side-apply.ts), YAML or JSON. */
export type PatchType = 'merge' | 'json' | 'strategic' | 'apply';

// A Map, not an object literal: a Content-Type of `constructor` or `__proto__` must not find
// Object.prototype's members.
const PATCH_TYPES = new Map<string, PatchType>([
  ['application/merge-patch+json', 'merge'],
  ['application/json-patch+json', 'json'],
  ['application/strategic-merge-patch+json', 'strategic'],
  ['application/apply-patch+yaml', 'apply'],
]);

/**
 * The client went away before its body was complete (closed the connection, or reset it). An
 * ordinary event any client can cause: counted and logged at debug level, never as a server error.
 */
export class RequestAbortedError extends BadRequestError {}

function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

/** Read the raw body, at most `limit` bytes (413 past it, without buffering the rest). */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    return Promise.reject(new RequestTooLargeError(`request entity too large: limit is ${limit} bytes`));
  }
  // A request whose client left before it was read would never emit another event.
  if (req.destroyed && !req.complete) return Promise.reject(new RequestAbortedError('the request body ended before it was complete'));
  // Plain stream events: an async iterator costs several promises per chunk on the hottest path.
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (err: Error | undefined) => {
      req.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
      if (err) reject(err);
      else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer | string) => {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      size += buf.length;
      if (size > limit) {
        // Stop reading; sendError closes the connection with the 413.
        req.pause();
        finish(new RequestTooLargeError(`request entity too large: limit is ${limit} bytes`));
        return;
      }
      chunks.push(buf);
    };
    const onEnd = () => finish(undefined);
    // Node reports a client that went away mid-body as an `aborted` error (ECONNRESET) on the
    // request, then as a close: either way the client left, which is not a server error.
    const onError = (err: Error) => finish(new RequestAbortedError(`the request body ended before it was complete: ${errorMessage(err)}`));
    const onClose = () => finish(new RequestAbortedError('the request body ended before it was complete'));
    req.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose);
  });
}

/**
 * Deepest nesting a body (or a patched object) may have. Real objects stay far below it; past a
 * few thousand levels the recursive code downstream (validation, patching) would overflow the stack.
 */
export const MAX_JSON_DEPTH = 100;

/** 400 when `value` nests objects/arrays deeper than MAX_JSON_DEPTH (checked without recursion). */
export function checkDepth(value: unknown, what = 'request body'): void {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth > MAX_JSON_DEPTH) throw new BadRequestError(`${what} is nested more than ${MAX_JSON_DEPTH} levels deep`);
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth + 1]);
  }
}

/** Cheap pre-check for JSON: nesting deeper than MAX_JSON_DEPTH needs more brackets than that. */
function mayBeTooDeep(text: string): boolean {
  let opens = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c === 0x7b || c === 0x5b) && ++opens > MAX_JSON_DEPTH) return true;
  }
  return false;
}

function parseText(text: string, yaml: boolean): unknown {
  if (!/\S/.test(text)) throw new BadRequestError('request body is empty');
  let value: unknown;
  try {
    // JSON.parse keeps a `__proto__` key as an own property, and so does the yaml package: such
    // keys stay plain data here, for validation to refuse by name.
    value = yaml ? YAML.parse(text, { maxAliasCount: 100 }) : JSON.parse(text);
  } catch (err) {
    throw new BadRequestError(`error decoding ${yaml ? 'YAML' : 'JSON'} body: ${errorMessage(err)}`);
  }
  // YAML nests by indentation too: always walk it.
  if (yaml || mayBeTooDeep(text)) checkDepth(value);
  return value;
}

/** The response each request is answered on, for the Warning headers a body can cause. */
const responses = new WeakMap<IncomingMessage, ServerResponse>();

/**
 * Pair a request with its response (the server does this for every request). Only requests that
 * ask for field validation can need it: a WeakMap entry per request would cost every request GC
 * time (ephemerons), so the others are not recorded.
 */
export function pairResponse(req: IncomingMessage, res: ServerResponse): void {
  if (req.url?.includes('fieldValidation=')) responses.set(req, res);
}

/** Most duplicate fields reported in one message or as Warning headers. */
const MAX_DUPLICATES_REPORTED = 32;

/**
 * `fieldValidation=Strict` or `Warn` on the request: then its JSON body is checked for duplicate
 * fields (JSON.parse keeps the last silently). Bodies of other requests are not scanned at all.
 */
function duplicateFieldMode(req: IncomingMessage): 'Strict' | 'Warn' | undefined {
  const url = req.url ?? '';
  const q = url.indexOf('?');
  if (q < 0) return undefined;
  const mode = new URLSearchParams(url.slice(q + 1)).get('fieldValidation');
  return mode === 'Strict' || mode === 'Warn' ? mode : undefined;
}

/** A Warning header value (RFC 7234 warn-text, ASCII only: header values cannot carry more). */
export function warningHeader(text: string): string {
  const quoted = JSON.stringify(text).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return `299 - ${quoted}`;
}

/** Strict: 400 naming the duplicated fields. Warn: one Warning header per duplicated field. */
function checkDuplicates(req: IncomingMessage, text: string): void {
  const mode = duplicateFieldMode(req);
  if (mode === undefined) return;
  const duplicates = duplicateFields(text);
  if (duplicates.length === 0) return;
  const shown = duplicates.slice(0, MAX_DUPLICATES_REPORTED).map((f) => `duplicate field ${JSON.stringify(f)}`);
  const more = duplicates.length - shown.length;
  if (more > 0) shown.push(`and ${more} more duplicate fields`);
  if (mode === 'Strict') throw new BadRequestError(`strict decoding error: ${shown.join(', ')}`);
  const res = responses.get(req);
  for (const w of shown) res?.appendHeader('Warning', warningHeader(w));
}

/** An object or array being scanned by duplicateFields. */
interface Frame {
  parent: Frame | undefined;
  /** Where it sits in its parent: the parent's key, or index. */
  at: string | number | undefined;
  /** Keys seen so far (objects); undefined for arrays. */
  keys: Set<string> | undefined;
  /** The current key (objects) or index (arrays). */
  key: string;
  index: number;
  /** In an object, the next string is a key. */
  expectKey: boolean;
}

function framePath(frame: Frame, key: string): string {
  const segs: (string | number)[] = [key];
  for (let f: Frame | undefined = frame; f !== undefined; f = f.parent) if (f.at !== undefined) segs.push(f.at);
  let out = '';
  for (let i = segs.length - 1; i >= 0; i--) {
    const seg = segs[i]!;
    out = typeof seg === 'number' ? `${out}[${seg}]` : childPath(out, seg);
  }
  return out;
}

/**
 * Paths of object keys that occur more than once in the same object (`metadata.name`), in one
 * linear pass over text that JSON.parse already accepted (so it is well-formed). Keys are compared
 * decoded: `"na\u006de"` duplicates `"name"`.
 */
export function duplicateFields(text: string): string[] {
  const out = new Set<string>();
  let top: Frame | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x7b || c === 0x5b) {
      // `{` or `[`
      const at = top === undefined ? undefined : top.keys ? top.key : top.index;
      top = { parent: top, at, keys: c === 0x7b ? new Set() : undefined, key: '', index: 0, expectKey: c === 0x7b };
    } else if (c === 0x7d || c === 0x5d) {
      top = top?.parent;
    } else if (c === 0x2c) {
      // `,`: the next key, or the next element
      if (top?.keys) top.expectKey = true;
      else if (top) top.index++;
    } else if (c === 0x22) {
      // A string: its end is the first quote not escaped by a backslash.
      let j = i + 1;
      let escaped = false;
      for (; j < text.length; j++) {
        const d = text.charCodeAt(j);
        if (d === 0x5c) {
          escaped = true;
          j++;
        } else if (d === 0x22) break;
      }
      if (top?.keys && top.expectKey) {
        const key = escaped ? (JSON.parse(text.slice(i, j + 1)) as string) : text.slice(i + 1, j);
        if (top.keys.has(key)) out.add(framePath(top, key));
        else top.keys.add(key);
        top.key = key;
        top.expectKey = false;
      }
      i = j;
    }
  }
  return [...out];
}

/** A create/update body: JSON (or YAML, which kubectl never sends but people with curl do). */
export async function readObjectBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const type = mediaType(req);
  if (type === PROTOBUF_MEDIA_TYPE) return decodeProtobufObject(await readBody(req, limit));
  const yaml = type === 'application/yaml' || type === 'application/x-yaml';
  if (type !== '' && type !== 'application/json' && !yaml) {
    throw new UnsupportedMediaTypeError(`the body of the request was in an unknown format - accepted media types include: application/json, application/yaml`);
  }
  const raw = await readBody(req, limit);
  const text = raw.toString('utf8');
  const value = parseText(text, yaml);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new BadRequestError('request body must be a JSON object');
  }
  // YAML needs no scan: the yaml package refuses duplicate keys itself.
  if (!yaml) checkDuplicates(req, text);
  return value;
}

/** A patch body and its type, from the Content-Type. */
export async function readPatchBody(req: IncomingMessage, limit: number): Promise<{ type: PatchType; patch: unknown }> {
  const type = PATCH_TYPES.get(mediaType(req));
  if (!type) {
    throw new UnsupportedMediaTypeError(
      `the body of the request was in an unknown format - accepted media types include: ${[...PATCH_TYPES.keys()].join(', ')}`,
    );
  }
  const raw = await readBody(req, limit);
  const text = raw.toString('utf8');
  if (type === 'apply') {
    // YAML (JSON is YAML too); the yaml package refuses duplicate keys itself.
    const config = parseText(text, true);
    if (config === null || typeof config !== 'object' || Array.isArray(config)) throw new BadRequestError('an apply configuration must be an object');
    return { type, patch: config };
  }
  const patch = parseText(text, false);
  checkDuplicates(req, text);
  return { type, patch };
}

/** Optional body (DELETE may carry DeleteOptions). */
export async function readOptionalObjectBody(req: IncomingMessage, limit: number): Promise<unknown | undefined> {
  const raw = await readBody(req, limit);
  if (raw.length === 0 || raw.toString('utf8').trim() === '') return undefined;
  const value = parseText(raw.toString('utf8'), false);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new BadRequestError('request body must be a JSON object');
  }
  return value;
}
