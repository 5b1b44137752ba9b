// Serving the OpenAPI documents: /openapi/v2 (protobuf for kubectl, JSON otherwise), /openapi/v3
// (the index) and /openapi/v3/<api/v1 | apis/group/version>. Everything is generated from the
// resource table (and the custom resources served) and kept as bytes with an ETag: the documents
// change only with the code or the custom resources, and kubectl fetches them on every apply.
import { createHash } from 'node:crypto';
import type { Application, Request, Response } from 'express';
import type { ResourceInfo } from '../../shared/api/registry.js';
import { NotFoundError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logging.js';
import { sendError } from '../http/status.js';
import { buildPaths } from './operations.js';
import { encodeSwagger, PROTOBUF_V2_MEDIA_TYPE } from './protobuf.js';
import { buildDefinitions, type JsonObject } from './schema.js';
import { swaggerDocument } from './v2.js';
import { groupVersionDocument } from './v3.js';

/** The Content-Type kube-apiserver answers the protobuf document with. */
const PROTOBUF_V2_CONTENT_TYPE = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';

interface Served {
  bytes: Buffer;
  contentType: string;
  /** Upper-case hex SHA-512 of the bytes: the ETag, and the `hash` of a v3 document's URL. */
  hash: string;
}

function served(bytes: Uint8Array | string, contentType: string): Served {
  const buf = typeof bytes === 'string' ? Buffer.from(bytes) : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { bytes: buf, contentType, hash: createHash('sha512').update(buf).digest('hex').toUpperCase() };
}

export interface OpenApiDocuments {
  v2Json: Served;
  v2Protobuf: Served;
  v3Index: Served;
  /** `api/v1`, `apis/<group>/<version>` → document. */
  v3: ReadonlyMap<string, Served>;
}

/** All documents for the given resources, as the server serves them. */
export function buildDocuments(resources: readonly ResourceInfo[], serverVersion: string): OpenApiDocuments {
  const defs = buildDefinitions(resources);
  const gvs = buildPaths(resources, defs);
  const swagger: JsonObject = swaggerDocument(gvs, defs, serverVersion);
  const v3 = new Map<string, Served>();
  const index: Record<string, { serverRelativeURL: string }> = {};
  for (const gv of gvs) {
    const doc = served(JSON.stringify(groupVersionDocument(gv, defs, serverVersion)), 'application/json');
    v3.set(gv.key, doc);
    index[gv.key] = { serverRelativeURL: `/openapi/v3/${gv.key}?hash=${doc.hash}` };
  }
  return {
    v2Json: served(JSON.stringify(swagger), 'application/json'),
    v2Protobuf: served(encodeSwagger(swagger), PROTOBUF_V2_CONTENT_TYPE),
    v3Index: served(JSON.stringify({ paths: index }), 'application/json'),
    v3,
  };
}

/** Whether the Accept header asks for the gnostic protobuf form (kubectl's exact media type, or kube's alias). */
function wantsProtobuf(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  return accept
    .split(',')
    .map((part) => part.split(';')[0]!.trim())
    .some((type) => type === PROTOBUF_V2_MEDIA_TYPE || type === PROTOBUF_V2_CONTENT_TYPE);
}

function send(req: Request, res: Response, doc: Served, cacheControl: string): void {
  const etag = `"${doc.hash}"`;
  res.setHeader('ETag', etag);
  res.setHeader('Vary', 'Accept');
  res.setHeader('Cache-Control', cacheControl);
  if (req.headers['if-none-match'] === etag) {
    res.status(304).end();
    return;
  }
  res.status(200).type(doc.contentType).send(doc.bytes);
}

/**
 * Registers the routes. Like discovery, they need an authenticated user and nothing more: every
 * client reads them before it can do anything else (Kubernetes grants them to system:authenticated).
 */
export function installOpenApi(app: Application, resources: () => readonly ResourceInfo[], serverVersion: string, log: Logger): void {
  let generated: OpenApiDocuments | undefined;
  let generatedFor: readonly ResourceInfo[] | undefined;
  // Generated on the first request, and again only when the served resources change (a custom
  // resource is added): most servers a test suite starts are never asked, and generation costs
  // about a tenth of a second. `resources()` answers the same array while nothing changed.
  const documents = (): OpenApiDocuments => {
    const current = resources();
    if (generated === undefined || generatedFor !== current) {
      generated = buildDocuments(current, serverVersion);
      generatedFor = current;
      log.debug('OpenAPI documents generated', {
        v2Bytes: generated.v2Json.bytes.length,
        v2ProtobufBytes: generated.v2Protobuf.bytes.length,
        groupVersions: [...generated.v3.keys()],
      });
    }
    return generated;
  };
  const revalidate = 'no-cache, private';
  app.get('/openapi/v2', (req, res) => {
    const docs = documents();
    send(req, res, wantsProtobuf(req.headers.accept) ? docs.v2Protobuf : docs.v2Json, revalidate);
  });
  app.get('/openapi/v3', (req, res) => send(req, res, documents().v3Index, revalidate));
  app.get('/openapi/v3/*groupVersion', (req, res) => {
    const key = req.path.slice('/openapi/v3/'.length).replace(/\/+$/, '');
    const doc = documents().v3.get(key);
    if (doc === undefined) {
      sendError(res, new NotFoundError('the server could not find the requested resource'), log);
      return;
    }
    const hash = typeof req.query.hash === 'string' ? req.query.hash : undefined;
    if (hash !== undefined && hash !== doc.hash) {
      // An outdated URL (the server was upgraded since the client read the index): the current one.
      res.redirect(301, `/openapi/v3/${key}?hash=${doc.hash}`);
      return;
    }
    // A URL with the right hash names exactly these bytes forever.
    send(req, res, doc, hash !== undefined ? 'public, immutable' : revalidate);
  });
}
