// The OpenAPI documents over real HTTP (server on real etcd, token authentication): who may read
// them, the gnostic protobuf form of /openapi/v2 decoded with a separately written message subset,
// the v3 index and per-group-version documents, and caching by ETag and hash.
import { expect } from 'chai';
import protobuf from 'protobufjs';
import YAML from 'yaml';
import { z } from 'zod';
import { DESCRIBED_RESOURCES } from '../../shared/api/registry.js';

/** Every kind the documents describe: the stored ones and the metrics API's. */
const DESCRIBED = DESCRIBED_RESOURCES;
import { startTestApiServer, TEST_TOKENS, type TestApiServer } from '../harness/apiserver.js';

// gnostic's openapi_v2 messages, only the fields checked here (field numbers from gnostic's
// OpenAPIv2.proto); protobufjs skips the fields this subset does not declare.
const GNOSTIC_SUBSET = `
syntax = "proto3";
package check;
message Document { string swagger = 1; Paths paths = 8; Definitions definitions = 9; }
message Paths { repeated NamedPathItem path = 2; }
message NamedPathItem { string name = 1; PathItem value = 2; }
message PathItem { Operation get = 2; Operation put = 3; Operation post = 4; Operation delete = 5; Operation patch = 8; }
message Operation {
  string operation_id = 5;
  repeated string consumes = 7;
  repeated ParametersItem parameters = 8;
  repeated NamedAny vendor_extension = 13;
}
message ParametersItem { Parameter parameter = 1; }
message Parameter { BodyParameter body_parameter = 1; NonBodyParameter non_body_parameter = 2; }
message BodyParameter { string name = 2; Schema schema = 5; }
message NonBodyParameter { QueryParameterSubSchema query_parameter_sub_schema = 3; }
message QueryParameterSubSchema { string in = 2; string name = 4; string type = 6; }
message Definitions { repeated NamedSchema additional_properties = 1; }
message Properties { repeated NamedSchema additional_properties = 1; }
message NamedSchema { string name = 1; Schema value = 2; }
message Schema {
  string _ref = 1;
  string description = 4;
  repeated string required = 19;
  AdditionalPropertiesItem additional_properties = 21;
  TypeItem type = 22;
  ItemsItem items = 23;
  Properties properties = 25;
  repeated NamedAny vendor_extension = 31;
}
message AdditionalPropertiesItem { Schema schema = 1; bool boolean = 2; }
message TypeItem { repeated string value = 1; }
message ItemsItem { repeated Schema schema = 1; }
message NamedAny { string name = 1; Any value = 2; }
message Any { string yaml = 2; }
`;

interface PbNamedAny { name: string; value?: { yaml: string } }
interface PbSchema {
  _ref: string;
  description: string;
  required: string[];
  additional_properties?: { schema?: PbSchema };
  type?: { value: string[] };
  items?: { schema: PbSchema[] };
  properties?: { additional_properties: { name: string; value: PbSchema }[] };
  vendor_extension: PbNamedAny[];
}
interface PbOperation {
  operation_id: string;
  consumes: string[];
  parameters: { parameter?: { body_parameter?: { name: string; schema?: PbSchema }; non_body_parameter?: { query_parameter_sub_schema?: { name: string; in: string } } } }[];
  vendor_extension: PbNamedAny[];
}
interface PbDocument {
  swagger: string;
  paths: { path: { name: string; value: { get?: PbOperation; put?: PbOperation; post?: PbOperation; delete?: PbOperation; patch?: PbOperation } }[] };
  definitions: { additional_properties: { name: string; value: PbSchema }[] };
}

type JsonMap = { [k: string]: unknown };
interface V3Operation {
  parameters?: { name: string; in: string }[];
  requestBody?: { content: Record<string, unknown> };
  'x-kubernetes-group-version-kind'?: { group: string; version: string; kind: string };
}
interface V3Document {
  openapi: string;
  paths: Record<string, Record<string, V3Operation>>;
  components: { schemas: Record<string, JsonMap> };
}

const PROTOBUF = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';

function extension(exts: PbNamedAny[], name: string): unknown {
  const e = exts.find((x) => x.name === name);
  return e?.value ? YAML.parse(e.value.yaml) : undefined;
}

function property(schema: PbSchema | undefined, name: string): PbSchema | undefined {
  return schema?.properties?.additional_properties.find((p) => p.name === name)?.value;
}

/** Every `$ref` string anywhere in a JSON value. */
function refs(value: unknown, into: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) refs(v, into);
  else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') into.push(v);
      else refs(v, into);
    }
  }
  return into;
}

function groupVersionKey(group: string, version: string): string {
  return group === '' ? `api/${version}` : `apis/${group}/${version}`;
}

describe('OpenAPI documents over HTTP', function () {
  let srv: TestApiServer;
  /** A GET as `nobody` (a user in no group), or with no credentials when token is null. */
  const get = (path: string, headers: Record<string, string> = {}, token: string | null = TEST_TOKENS.nobody) =>
    fetch(`${srv.url}${path}`, { headers: { ...(token !== null ? { Authorization: `Bearer ${token}` } : {}), ...headers }, redirect: 'manual' });

  before(async function () {
    srv = await startTestApiServer({ backend: 'etcd', auth: true });
  });
  after(async function () {
    await srv?.close();
  });

  it('are readable by any authenticated user (one in no group), not anonymously', async function () {
    for (const path of ['/openapi/v2', '/openapi/v3', '/openapi/v3/api/v1']) {
      expect((await get(path)).status, path).to.equal(200);
      const anonymous = await get(path, {}, null);
      expect(anonymous.status, `${path} without a token`).to.equal(401);
      expect(((await anonymous.json()) as { kind?: string }).kind).to.equal('Status');
    }
  });

  describe('/openapi/v2 as gnostic protobuf', function () {
    let doc: PbDocument;
    let definitions: Map<string, PbSchema>;

    before(async function () {
      const res = await get('/openapi/v2', { Accept: PROTOBUF });
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.match(/protobuf/);
      const bytes = new Uint8Array(await res.arrayBuffer());
      const type = protobuf.parse(GNOSTIC_SUBSET, { keepCase: true }).root.lookupType('check.Document');
      doc = type.toObject(type.decode(bytes), { defaults: true, arrays: true }) as PbDocument;
      definitions = new Map(doc.definitions.additional_properties.map((d) => [d.name, d.value]));
    });

    it('decodes as a Swagger 2.0 document with a definition per served kind, tagged with its group/version/kind', function () {
      expect(doc.swagger).to.equal('2.0');
      for (const r of DESCRIBED) {
        const tagged = [...definitions].filter(([, s]) => {
          const gvks = extension(s.vendor_extension, 'x-kubernetes-group-version-kind');
          return Array.isArray(gvks) && gvks.some((g: { group?: string; version?: string; kind?: string }) => g.group === r.group && g.version === r.version && g.kind === r.kind);
        });
        expect(tagged.length, `definitions tagged ${r.apiVersion} ${r.kind}`).to.equal(1);
      }
      expect(definitions.has('io.k8s.api.core.v1.Pod')).to.equal(true);
      expect(definitions.has('dev.cell.scheduling.v1alpha1.Placement')).to.equal(true);
      expect(definitions.has('io.x-k8s.scheduling.v1alpha1.PodGroup')).to.equal(true);
    });

    it('carries the schemas: references, required fields, descriptions, map values and merge keys', function () {
      const pod = definitions.get('io.k8s.api.core.v1.Pod');
      expect(property(pod, 'spec')?._ref).to.equal('#/definitions/io.k8s.api.core.v1.PodSpec');
      expect(pod?.required).to.deep.equal(['spec']);
      const containers = property(definitions.get('io.k8s.api.core.v1.PodSpec'), 'containers');
      expect(containers?.type?.value).to.deep.equal(['array']);
      expect(containers?.items?.schema[0]?._ref).to.equal('#/definitions/io.k8s.api.core.v1.Container');
      expect(extension(containers?.vendor_extension ?? [], 'x-kubernetes-patch-merge-key')).to.equal('name');
      const container = definitions.get('io.k8s.api.core.v1.Container');
      expect(container?.required).to.include.members(['name', 'image']);
      const requests = property(definitions.get('io.k8s.api.core.v1.ResourceRequirements'), 'requests');
      expect(requests?.description).to.match(/^What the container needs/);
      expect(requests?.additional_properties?.schema?._ref).to.equal('#/definitions/io.k8s.apimachinery.pkg.api.resource.Quantity');
      // kubectl debug builds its patch from these: ephemeral containers merge by name too.
      const ephemeral = property(definitions.get('io.k8s.api.core.v1.PodSpec'), 'ephemeralContainers');
      expect(ephemeral?.items?.schema[0]?._ref).to.equal('#/definitions/io.k8s.api.core.v1.EphemeralContainer');
      expect(extension(ephemeral?.vendor_extension ?? [], 'x-kubernetes-patch-merge-key')).to.equal('name');
      expect(property(definitions.get('io.k8s.api.core.v1.EphemeralContainer'), 'targetContainerName')?.type?.value).to.deep.equal(['string']);
      // One field name, two keys: a container's ports merge by containerPort, a Service's by port;
      // an Endpoints subset's addresses (no type, unlike a node's) are replaced whole.
      const mergeKeyOf = (definition: string, field: string) => extension(property(definitions.get(definition), field)?.vendor_extension ?? [], 'x-kubernetes-patch-merge-key');
      expect(mergeKeyOf('io.k8s.api.core.v1.Container', 'ports')).to.equal('containerPort');
      const serviceSpec = property(definitions.get('io.k8s.api.core.v1.Service'), 'spec')?._ref?.split('/').pop() ?? '';
      expect(mergeKeyOf(serviceSpec, 'ports')).to.equal('port');
      expect(mergeKeyOf('io.k8s.api.core.v1.NodeStatus', 'addresses')).to.equal('type');
      const subset = property(definitions.get('io.k8s.api.core.v1.Endpoints'), 'subsets')?.items?.schema[0]?._ref?.split('/').pop() ?? '';
      expect(subset, 'EndpointSubset is a definition').to.not.equal('');
      expect(mergeKeyOf(subset, 'addresses')).to.equal(undefined);
    });

    it('describes the connect subresources\u2019 query parameters and the ephemeralcontainers subresource', function () {
      const path = (name: string) => doc.paths.path.find((p) => p.name === name)?.value;
      const queryOf = (name: string) => (path(name)?.get?.parameters ?? []).map((p) => p.parameter?.non_body_parameter?.query_parameter_sub_schema?.name).filter((n) => n !== undefined);
      expect(queryOf('/api/v1/namespaces/{namespace}/pods/{name}/exec')).to.include.members(['command', 'container', 'stdin', 'stdout', 'stderr', 'tty']);
      expect(queryOf('/api/v1/namespaces/{namespace}/pods/{name}/attach')).to.not.include('command');
      expect(queryOf('/api/v1/namespaces/{namespace}/pods/{name}/portforward')).to.deep.equal(['ports']);
      const ephemeral = path('/api/v1/namespaces/{namespace}/pods/{name}/ephemeralcontainers');
      expect(ephemeral?.patch?.operation_id).to.equal('patchCoreV1NamespacedPodEphemeralcontainers');
      expect(ephemeral?.get?.operation_id).to.equal('readCoreV1NamespacedPodEphemeralcontainers');
      expect(ephemeral?.put?.operation_id).to.equal('replaceCoreV1NamespacedPodEphemeralcontainers');
      expect(ephemeral?.delete == null, 'no DELETE on ephemeralcontainers').to.equal(true);
    });

    it('has no dangling reference (kubectl refuses a document with one)', function () {
      const dangling: string[] = [];
      const walk = (s: PbSchema | undefined, where: string): void => {
        if (!s) return;
        if (s._ref !== '' && !definitions.has(s._ref.replace('#/definitions/', ''))) dangling.push(`${where}: ${s._ref}`);
        for (const p of s.properties?.additional_properties ?? []) walk(p.value, `${where}.${p.name}`);
        for (const i of s.items?.schema ?? []) walk(i, `${where}[]`);
        walk(s.additional_properties?.schema, `${where}{}`);
      };
      for (const [name, s] of definitions) walk(s, name);
      for (const p of doc.paths.path) {
        for (const op of [p.value.get, p.value.post, p.value.patch]) {
          for (const param of op?.parameters ?? []) walk(param.parameter?.body_parameter?.schema, `${p.name} body`);
        }
      }
      expect(dangling).to.deep.equal([]);
    });

    it('describes PATCH with fieldValidation, and strategic merge patch only for Kubernetes groups', function () {
      const path = (name: string) => doc.paths.path.find((p) => p.name === name)?.value;
      const podPatch = path('/api/v1/namespaces/{namespace}/pods/{name}')?.patch;
      expect(podPatch?.operation_id).to.equal('patchCoreV1NamespacedPod');
      expect(extension(podPatch?.vendor_extension ?? [], 'x-kubernetes-group-version-kind')).to.deep.equal({ group: '', version: 'v1', kind: 'Pod' });
      const queryParams = podPatch?.parameters.map((p) => p.parameter?.non_body_parameter?.query_parameter_sub_schema?.name) ?? [];
      expect(queryParams).to.include.members(['fieldValidation', 'dryRun']);
      expect(podPatch?.consumes).to.include('application/strategic-merge-patch+json');
      const pgPatch = path('/apis/scheduling.x-k8s.io/v1alpha1/namespaces/{namespace}/podgroups/{name}')?.patch;
      expect(pgPatch?.consumes).to.include('application/merge-patch+json');
      expect(pgPatch?.consumes).to.not.include('application/strategic-merge-patch+json');
      // Placement is create-only: a POST and nothing else.
      const placements = path('/apis/scheduling.cell.dev/v1alpha1/placements');
      expect(placements?.post?.operation_id).to.equal('createSchedulingCellDevV1alpha1Placement');
      expect(placements?.get == null, 'no GET on placements').to.equal(true);
      expect(path('/apis/scheduling.cell.dev/v1alpha1/placements/{name}') == null, 'no placements/{name} path').to.equal(true);
    });
  });

  it('/openapi/v2 as JSON has the same definitions as the protobuf form', async function () {
    const res = await get('/openapi/v2', { Accept: 'application/json' });
    expect(res.headers.get('content-type')).to.match(/^application\/json/);
    const json = (await res.json()) as { swagger: string; definitions: Record<string, JsonMap> };
    expect(json.swagger).to.equal('2.0');
    const pb = await get('/openapi/v2', { Accept: PROTOBUF });
    const type = protobuf.parse(GNOSTIC_SUBSET, { keepCase: true }).root.lookupType('check.Document');
    const decoded = type.toObject(type.decode(new Uint8Array(await pb.arrayBuffer())), { arrays: true }) as PbDocument;
    expect(decoded.definitions.additional_properties.map((d) => d.name).sort()).to.deep.equal(Object.keys(json.definitions).sort());
  });

  it('/openapi/v3 indexes every served group/version; each document resolves its refs and lets kubectl find fieldValidation', async function () {
    const index = (await (await get('/openapi/v3')).json()) as { paths: Record<string, { serverRelativeURL: string }> };
    const keys = [...new Set(DESCRIBED.map((r) => groupVersionKey(r.group, r.version)))];
    expect(Object.keys(index.paths).sort()).to.deep.equal(keys.sort());
    for (const key of keys) {
      const url = index.paths[key]!.serverRelativeURL;
      expect(url).to.match(new RegExp(`^/openapi/v3/${key.replace(/\./g, '\\.')}\\?hash=[0-9A-F]{128}$`));
      const res = await get(url);
      expect(res.status, url).to.equal(200);
      expect(res.headers.get('cache-control')).to.include('immutable');
      const doc = (await res.json()) as V3Document;
      expect(doc.openapi).to.equal('3.0.0');
      const unresolved = refs(doc).filter((r) => !(r.startsWith('#/components/schemas/') && r.slice('#/components/schemas/'.length) in doc.components.schemas));
      expect(unresolved, key).to.deep.equal([]);

      for (const r of DESCRIBED.filter((res) => groupVersionKey(res.group, res.version) === key)) {
        const gvk = { group: r.group, version: r.version, kind: r.kind };
        const schemas = Object.values(doc.components.schemas).filter((s) => {
          const tags = s['x-kubernetes-group-version-kind'];
          return Array.isArray(tags) && tags.some((t: unknown) => JSON.stringify(t) === JSON.stringify({ group: r.group, kind: r.kind, version: r.version }));
        });
        expect(schemas.length, `${key} schema for ${r.kind}`).to.equal(1);
        // One source of truth: the definition has exactly the zod object's top-level fields.
        if (r.schema instanceof z.ZodObject) {
          expect(Object.keys((schemas[0]!.properties ?? {}) as JsonMap).sort(), r.kind).to.deep.equal(Object.keys(r.schema.shape).sort());
        }
        // kubectl (cli-runtime's query param verifier) takes the first PATCH for the kind and needs
        // fieldValidation among its own parameters: every PATCH for the kind must have it.
        const patches = Object.values(doc.paths)
          .map((p) => p.patch)
          .filter((op): op is V3Operation => op !== undefined && JSON.stringify(op['x-kubernetes-group-version-kind']) === JSON.stringify(gvk));
        expect(patches.length > 0, `${r.kind} has a PATCH operation`).to.equal(r.verbs.includes('patch'));
        for (const op of patches) {
          expect(op.parameters?.filter((p) => p.in === 'query').map((p) => p.name), r.kind).to.include('fieldValidation');
        }
      }
    }
  });

  it('answers 304 to a matching If-None-Match, redirects an outdated hash, and 404s an unknown group/version', async function () {
    const first = await get('/openapi/v2', { Accept: PROTOBUF });
    const etag = first.headers.get('etag');
    expect(etag).to.match(/^"[0-9A-F]+"$/);
    expect((await get('/openapi/v2', { Accept: PROTOBUF, 'If-None-Match': etag! })).status).to.equal(304);
    // The JSON form is another representation, with its own tag.
    expect((await get('/openapi/v2', { Accept: 'application/json', 'If-None-Match': etag! })).status).to.equal(200);

    const stale = await get('/openapi/v3/api/v1?hash=0123');
    expect(stale.status).to.equal(301);
    const index = (await (await get('/openapi/v3')).json()) as { paths: Record<string, { serverRelativeURL: string }> };
    expect(stale.headers.get('location')).to.equal(index.paths['api/v1']!.serverRelativeURL);

    const missing = await get('/openapi/v3/apis/nope.example.com/v1');
    expect(missing.status).to.equal(404);
    expect(((await missing.json()) as { kind?: string; reason?: string }).reason).to.equal('NotFound');
  });
});
