// Request bodies: read with a size limit, parsed by content type. Anything wrong is a typed
// 4xx error, so no handler ever sees a half-parsed body.
import type { IncomingMessage } from 'node:http';
import YAML from 'yaml';
import { BadRequestError, RequestTooLargeError, UnsupportedMediaTypeError, errorMessage } from '../../shared/errors.js';

export type PatchType = 'merge' | 'json' | 'strategic';

const PATCH_TYPES: Record<string, PatchType> = {
  'application/merge-patch+json': 'merge',
  'application/json-patch+json': 'json',
  'application/strategic-merge-patch+json': 'strategic',
};

function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

/** Read the raw body, at most `limit` bytes (413 past it, without buffering the rest). */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    return Promise.reject(new RequestTooLargeError(`request entity too large: limit is ${limit} bytes`));
  }
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
    const onError = (err: Error) => finish(err);
    // The client went away before the body was complete.
    const onClose = () => finish(new BadRequestError('the request body ended before it was complete'));
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
    value = yaml ? YAML.parse(text, { maxAliasCount: 100 }) : JSON.parse(text);
  } catch (err) {
    throw new BadRequestError(`error decoding ${yaml ? 'YAML' : 'JSON'} body: ${errorMessage(err)}`);
  }
  // YAML nests by indentation too: always walk it.
  if (yaml || mayBeTooDeep(text)) checkDepth(value);
  return value;
}

/** A create/update body: JSON (or YAML, which kubectl never sends but people with curl do). */
export async function readObjectBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const type = mediaType(req);
  const yaml = type === 'application/yaml' || type === 'application/x-yaml';
  if (type !== '' && type !== 'application/json' && !yaml) {
    throw new UnsupportedMediaTypeError(`the body of the request was in an unknown format - accepted media types include: application/json, application/yaml`);
  }
  const raw = await readBody(req, limit);
  const value = parseText(raw.toString('utf8'), yaml);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new BadRequestError('request body must be a JSON object');
  }
  return value;
}

/** A patch body and its type, from the Content-Type. */
export async function readPatchBody(req: IncomingMessage, limit: number): Promise<{ type: PatchType; patch: unknown }> {
  const type = PATCH_TYPES[mediaType(req)];
  if (!type) {
    throw new UnsupportedMediaTypeError(
      `the body of the request was in an unknown format - accepted media types include: ${Object.keys(PATCH_TYPES).join(', ')}`,
    );
  }
  const raw = await readBody(req, limit);
  return { type, patch: parseText(raw.toString('utf8'), false) };
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
