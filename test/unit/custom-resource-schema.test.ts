// A CustomResourceDefinition's OpenAPI v3 schema compiled to zod (apiserver/customresources/schema.ts)
// and decoded through the one validation path (shared/api/validation.ts); and the rules a
// definition's own schema must follow (shared/api/apiextensions.ts).
import { expect } from 'chai';
import { compileCustomResourceSchema } from '../../apiserver/customresources/schema.js';
import { customResourceDefinitionCauses, CustomResourceDefinitionSchema, type JSONSchemaProps } from '../../shared/api/apiextensions.js';
import type { KindInfo } from '../../shared/api/registry.js';
import { unknownFields, validateObject } from '../../shared/api/validation.js';
import { InvalidError } from '../../shared/errors.js';

function kindFor(root: JSONSchemaProps): KindInfo {
  return {
    group: 'example.com',
    version: 'v1',
    apiVersion: 'example.com/v1',
    kind: 'Widget',
    schema: compileCustomResourceSchema(root, 'example.com/v1', 'Widget'),
    ignoredFields: [],
    validate: () => [],
    namespaced: true,
    nameFormat: 'subdomain',
    nameRequired: true,
  };
}

function decode(root: JSONSchemaProps, spec: unknown): unknown {
  const obj = validateObject(kindFor({ type: 'object', properties: { spec: root } }), { metadata: { name: 'w' }, spec }) as { spec?: unknown };
  return obj.spec;
}

/** The `field: message` of each cause of a refused spec. */
function refusal(root: JSONSchemaProps, spec: unknown): string[] {
  try {
    decode(root, spec);
  } catch (err) {
    if (err instanceof InvalidError) return (err.causes ?? []).map((c) => `${c.field}: ${c.message}`);
    throw err;
  }
  throw new Error(`accepted ${JSON.stringify(spec)}`);
}

describe('custom resource schemas', () => {
  it('applies defaults where a field is missing, only inside objects that are there', () => {
    const root: JSONSchemaProps = {
      type: 'object',
      properties: {
        mode: { type: 'string', default: 'fast' },
        limits: { type: 'object', properties: { cpu: { type: 'integer', default: 2 } } },
        tuning: { type: 'object', default: { level: 1 }, properties: { level: { type: 'integer' } } },
      },
    };
    expect(decode(root, {})).to.deep.equal({ mode: 'fast', tuning: { level: 1 } });
    expect(decode(root, { mode: 'slow', limits: {} })).to.deep.equal({ mode: 'slow', limits: { cpu: 2 }, tuning: { level: 1 } });
    // A default is a fresh copy each time: objects do not share it.
    const a = decode(root, {}) as { tuning: { level: number } };
    a.tuning.level = 9;
    expect((decode(root, {}) as { tuning: { level: number } }).tuning.level).to.equal(1);
  });

  it('prunes what it does not describe, except under preserve-unknown-fields; maps keep typed values', () => {
    const root: JSONSchemaProps = {
      type: 'object',
      properties: {
        known: { type: 'string' },
        free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, properties: { n: { type: 'integer' } } },
        labels: { type: 'object', additionalProperties: { type: 'string' } },
        empty: { type: 'object' },
      },
    };
    const spec = { known: 'k', junk: 1, free: { n: 1, anything: { deep: [1] } }, labels: { a: 'b' }, empty: { gone: true } };
    expect(decode(root, spec)).to.deep.equal({ known: 'k', free: { n: 1, anything: { deep: [1] } }, labels: { a: 'b' }, empty: {} });
    expect(refusal(root, { labels: { a: 1 } })).to.deep.equal(['spec.labels.a: Invalid value: 1: must be of type string']);
    expect(refusal(root, { free: { n: 'x' } })[0]).to.match(/^spec\.free\.n: /);
    const info = kindFor({ type: 'object', properties: { spec: root } });
    expect(unknownFields(info, { metadata: { name: 'w' }, spec, status: {} })).to.deep.equal(['spec.junk', 'spec.empty.gone', 'status']);
  });

  it('checks bounds, lengths, patterns, enums and int-or-string', () => {
    const root: JSONSchemaProps = {
      type: 'object',
      properties: {
        n: { type: 'integer', minimum: 1, exclusiveMaximum: true, maximum: 5, multipleOf: 2 },
        name: { type: 'string', minLength: 2, maxLength: 4, pattern: '^[a-z]+$' },
        tier: { type: 'string', enum: ['gold', 'silver'] },
        port: { 'x-kubernetes-int-or-string': true },
        items: { type: 'array', minItems: 1, maxItems: 2, items: { type: 'integer' } },
        ratio: { type: 'number' },
        on: { type: 'boolean' },
      },
    };
    expect(decode(root, { n: 4, name: 'abc', tier: 'gold', port: 'http', items: [1], ratio: 0.5, on: true })).to.deep.equal({
      n: 4,
      name: 'abc',
      tier: 'gold',
      port: 'http',
      items: [1],
      ratio: 0.5,
      on: true,
    });
    expect(decode(root, { port: 8080 })).to.deep.equal({ port: 8080 });
    expect(refusal(root, { n: 6 })).to.deep.equal(['spec.n: Invalid value: 6: should be less than 5']);
    expect(refusal(root, { n: 3 })).to.deep.equal(['spec.n: Invalid value: 3: should be a multiple of 2']);
    expect(refusal(root, { n: 0 })).to.include('spec.n: Invalid value: 0: should be greater than or equal to 1');
    expect(refusal(root, { n: 2.5 })).to.include('spec.n: Invalid value: 2.5: must be of type integer');
    expect(refusal(root, { name: 'a' })).to.deep.equal(['spec.name: Invalid value: "a": should be at least 2 chars long']);
    expect(refusal(root, { name: 'ABCDE' })).to.have.members(['spec.name: Invalid value: "ABCDE": may not be longer than 4', `spec.name: Invalid value: "ABCDE": should match '^[a-z]+$'`]);
    expect(refusal(root, { tier: 'bronze' })).to.deep.equal(['spec.tier: Unsupported value: "bronze": supported values: "gold", "silver"']);
    expect(refusal(root, { port: true })[0]).to.match(/^spec\.port: /);
    expect(refusal(root, { items: [] })).to.deep.equal(['spec.items: Invalid value: []: should have at least 1 items']);
    expect(refusal(root, { on: 'yes' })).to.deep.equal(['spec.on: Invalid value: "yes": must be of type boolean']);
  });

  it('checks the string formats Kubernetes checks, and ignores the others', () => {
    const root: JSONSchemaProps = {
      type: 'object',
      properties: {
        at: { type: 'string', format: 'date-time' },
        day: { type: 'string', format: 'date' },
        id: { type: 'string', format: 'uuid' },
        ip: { type: 'string', format: 'ipv4' },
        net: { type: 'string', format: 'cidr' },
        every: { type: 'string', format: 'duration' },
        data: { type: 'string', format: 'byte' },
        n: { type: 'string', format: 'int32' },
      },
    };
    const good = { at: '2026-12-07T10:00:00Z', day: '2026-12-07', id: '9b2f7c3e-5d0a-4c1e-8f6b-2a4d6e8f0a1b', ip: '10.0.0.1', net: 'fd00::/8', every: '1h30m', data: 'aGVsbG8=', n: 'anything' };
    expect(decode(root, good)).to.deep.equal(good);
    expect(refusal(root, { at: 'yesterday', ip: '10.0.0.256', every: '5 minutes' })).to.have.members([
      'spec.at: Invalid value: "yesterday": must be of type date-time',
      'spec.ip: Invalid value: "10.0.0.256": must be of type ipv4',
      'spec.every: Invalid value: "5 minutes": must be of type duration',
    ]);
  });

  it('required fields, list-type set and map, embedded resources', () => {
    const root: JSONSchemaProps = {
      type: 'object',
      required: ['ports'],
      properties: {
        ports: {
          type: 'array',
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['port', 'protocol'],
          items: { type: 'object', required: ['port'], properties: { port: { type: 'integer' }, protocol: { type: 'string', default: 'TCP' } } },
        },
        template: { type: 'object', 'x-kubernetes-embedded-resource': true, 'x-kubernetes-preserve-unknown-fields': true },
      },
    };
    expect(decode(root, { ports: [{ port: 80 }, { port: 80, protocol: 'UDP' }] })).to.deep.equal({ ports: [{ port: 80, protocol: 'TCP' }, { port: 80, protocol: 'UDP' }] });
    expect(refusal(root, { ports: [{ port: 80 }, { port: 80, protocol: 'TCP' }] })).to.deep.equal(['spec.ports[1]: Invalid value: {"port":80,"protocol":"TCP"}: duplicate entries']);
    expect(refusal(root, {})).to.deep.equal(['spec.ports: Required value']);
    expect(refusal(root, { ports: [{}] })).to.deep.equal(['spec.ports[0].port: Required value']);
    const template = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', labels: { a: 'b' } }, data: { k: 'v' } };
    expect(decode(root, { ports: [], template })).to.deep.equal({ ports: [], template });
    expect(refusal(root, { ports: [], template: { metadata: {} } })).to.have.members(['spec.template.apiVersion: Required value', 'spec.template.kind: Required value']);
  });

  it('anyOf, oneOf, allOf and not check without pruning', () => {
    const root: JSONSchemaProps = {
      type: 'object',
      properties: { a: { type: 'string' }, b: { type: 'string' }, n: { type: 'integer' } },
      oneOf: [{ required: ['a'] }, { required: ['b'] }],
      not: { properties: { n: { minimum: 10 } }, required: ['n'] },
    };
    expect(decode(root, { a: 'x' })).to.deep.equal({ a: 'x' });
    expect(decode(root, { b: 'y', n: 3 })).to.deep.equal({ b: 'y', n: 3 });
    expect(refusal(root, { a: 'x', b: 'y' })).to.deep.equal(['spec: Invalid value: {"a":"x","b":"y"}: must validate one and only one schema (oneOf)']);
    expect(refusal(root, {})[0]).to.contain('oneOf');
    expect(refusal(root, { a: 'x', n: 12 })[0]).to.contain('(not)');
  });

  it('keeps apiVersion, kind and metadata whatever the schema says of them, and rejects another kind', () => {
    const info = kindFor({ type: 'object', properties: { metadata: { type: 'object' }, spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } });
    const obj = validateObject(info, { metadata: { name: 'w', labels: { a: 'b' } }, spec: { x: 1 } });
    expect(obj).to.deep.equal({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w', labels: { a: 'b' } }, spec: { x: 1 } });
    expect(() => validateObject(info, { apiVersion: 'example.com/v2', metadata: { name: 'w' } })).to.throw(/does not match the expected API version/);
  });
});

describe('custom resource definitions: what a schema must be', () => {
  const crd = (schema: JSONSchemaProps, extra: Record<string, unknown> = {}) =>
    CustomResourceDefinitionSchema.parse({
      metadata: { name: 'widgets.example.com' },
      spec: {
        group: 'example.com',
        scope: 'Namespaced',
        names: { plural: 'widgets', kind: 'Widget' },
        versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: schema }, ...extra }],
      },
    });
  const fields = (schema: JSONSchemaProps, extra?: Record<string, unknown>) => customResourceDefinitionCauses(crd(schema, extra)).map((c) => c.field);
  const P = 'spec.versions[0].schema.openAPIV3Schema';

  it('accepts a structural schema', () => {
    expect(fields({ type: 'object', properties: { spec: { type: 'object', properties: { a: { type: 'array', items: { type: 'string' } }, b: { 'x-kubernetes-int-or-string': true } } } } })).to.deep.equal([]);
  });

  it('names each way a schema is not structural', () => {
    expect(fields({ type: 'object', properties: { spec: { properties: {} } } })).to.deep.equal([`${P}.properties[spec].type`]);
    expect(fields({ type: 'object', properties: { a: { type: 'array' } } })).to.deep.equal([`${P}.properties[a].items`]);
    expect(fields({ type: 'object', properties: { a: { type: 'array', items: { type: 'string' }, uniqueItems: true } } })).to.deep.equal([`${P}.properties[a].uniqueItems`]);
    expect(fields({ type: 'object', properties: { a: { type: 'object', additionalProperties: false } } })).to.deep.equal([`${P}.properties[a].additionalProperties`]);
    expect(fields({ type: 'object', properties: { a: { type: 'object', properties: { b: { type: 'string' } }, additionalProperties: { type: 'string' } } } })).to.deep.equal([
      `${P}.properties[a].additionalProperties`,
    ]);
    expect(fields({ type: 'object', properties: { a: { type: 'thing' } } })).to.deep.equal([`${P}.properties[a].type`]);
    expect(fields({ type: 'object', properties: { a: { type: 'string', pattern: '([' } } })).to.deep.equal([`${P}.properties[a].pattern`]);
    expect(fields({ type: 'object', properties: { a: { $ref: '#/x', type: 'string' } } })).to.deep.equal([`${P}.properties[a].$ref`]);
    expect(fields({ type: 'object', properties: { metadata: { type: 'object', properties: { labels: { type: 'object' } } } } })).to.deep.equal([`${P}.properties[metadata]`]);
    expect(fields({ type: 'object', anyOf: [{ type: 'object' }] })).to.deep.equal([`${P}.anyOf[0]`]);
    expect(fields({ type: 'string' })).to.deep.equal([`${P}.type`]);
  });

  it('checks printer columns, selectable fields and scale paths', () => {
    const schema: JSONSchemaProps = { type: 'object' };
    expect(fields(schema, { additionalPrinterColumns: [{ name: 'A', type: 'string', jsonPath: '.spec[' }] })).to.deep.equal(['spec.versions[0].additionalPrinterColumns[0].jsonPath']);
    expect(fields(schema, { additionalPrinterColumns: [{ name: 'A', type: 'string', jsonPath: 'spec.a' }] })).to.deep.equal(['spec.versions[0].additionalPrinterColumns[0].jsonPath']);
    expect(fields(schema, { subresources: { scale: { specReplicasPath: '.status.replicas', statusReplicasPath: '.status.replicas' } } })).to.deep.equal(['spec.versions[0].subresources.scale.specReplicasPath']);
    expect(fields(schema, { selectableFields: [{ jsonPath: '.spec.color' }, { jsonPath: '.spec[' }] })).to.deep.equal(['spec.versions[0].selectableFields[1].jsonPath']);
  });
});
