// CustomResourceDefinitions over real etcd, through two API server replicas on one key prefix: a
// definition written through one is served by both; custom objects are decoded against the
// definition's schema (defaults, pruning, causes), stored under /<group>/<plural>/, watched,
// scaled and deleted with their definition.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { definitionBody } from '../harness/custom-resources.js';
import type { JSONSchemaProps } from '../../shared/api/apiextensions.js';
import { causeFields, expectStatus, raw, waitFor, WatchCollector, type Obj, type RawOptions } from './helpers.js';

const CRDS = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';
const WIDGETS = '/apis/example.com/v1/namespaces/default/widgets';
const TABLE = 'application/json;as=Table;v=v1;g=meta.k8s.io';

interface Condition {
  type: string;
  status: string;
  reason?: string;
}
interface CrdView extends Obj {
  status?: { conditions?: Condition[]; acceptedNames?: { kind?: string; listKind?: string; singular?: string }; storedVersions?: string[] };
}
interface WidgetView extends Obj {
  apiVersion: string;
  kind: string;
  spec?: { size?: number; color?: string; replicas?: number; tags?: string[]; extra?: Record<string, unknown>; bogus?: unknown };
  status?: { replicas?: number; phase?: string };
}

/** A namespaced Widget definition: v1 stored, v1beta1 served too; status and scale subresources; printer columns. */
function widgetCrd(opts: { group?: string; plural?: string; kind?: string; shortNames?: string[]; extraSpec?: Record<string, JSONSchemaProps> } = {}): Record<string, unknown> {
  return definitionBody({
    group: opts.group ?? 'example.com',
    plural: opts.plural ?? 'widgets',
    kind: opts.kind ?? 'Widget',
    shortNames: opts.shortNames ?? ['wd'],
    versions: ['v1', 'v1beta1'],
    schema: {
      type: 'object',
      properties: {
        spec: {
          type: 'object',
          required: ['size'],
          properties: {
            size: { type: 'integer', minimum: 1, maximum: 10, description: 'How big the widget is.' },
            color: { type: 'string', enum: ['red', 'blue'], default: 'red' },
            replicas: { type: 'integer' },
            tags: { type: 'array', items: { type: 'string' }, 'x-kubernetes-list-type': 'set' },
            extra: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
            ...(opts.extraSpec ?? {}),
          },
        },
        status: { type: 'object', properties: { replicas: { type: 'integer' }, phase: { type: 'string' } } },
      },
    },
    version: {
      subresources: { status: {}, scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas' } },
      selectableFields: [{ jsonPath: '.spec.color' }],
      additionalPrinterColumns: [
        { name: 'Size', type: 'integer', jsonPath: '.spec.size' },
        { name: 'Color', type: 'string', jsonPath: '.spec.color' },
        { name: 'Phase', type: 'string', jsonPath: '.status.phase', priority: 1 },
      ],
    },
  });
}

function widget(name: string, spec: Record<string, unknown> = { size: 3 }, apiVersion = 'example.com/v1'): Record<string, unknown> {
  return { apiVersion, kind: 'Widget', metadata: { name }, spec };
}

describe('custom resources (etcd, two API server replicas)', function () {
  this.timeout(60_000);
  const prefix = `/cell-test-${randomUUID()}`;
  let a: TestApiServer;
  let b: TestApiServer;

  const call = async <T = WidgetView>(t: TestApiServer, method: string, path: string, opts?: RawOptions, code?: number): Promise<T> => {
    const res = await raw(t.url, method, path, opts);
    expect(res.status, `${method} ${path}: ${res.text.slice(0, 500)}`).to.equal(code ?? (method === 'POST' ? 201 : 200));
    return res.body as T;
  };
  const served = (t: TestApiServer, path: string) => waitFor(`${path} served by ${t.url}`, async () => (await raw(t.url, 'GET', path)).status === 200);
  const established = (name: string) =>
    waitFor(`${name} established`, async () => {
      const crd = (await raw(a.url, 'GET', `${CRDS}/${name}`)).body as CrdView;
      return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ? crd : undefined;
    });

  before(async () => {
    a = await startTestApiServer({ backend: 'etcd', prefix });
    b = await startTestApiServer({ backend: 'etcd', prefix });
    await call(a, 'POST', CRDS, { body: widgetCrd() });
    await established('widgets.example.com');
    await served(a, WIDGETS);
    await served(b, WIDGETS);
  });
  after(async () => {
    await a?.close();
    await b?.close();
  });
  afterEach(async () => {
    await raw(a.url, 'DELETE', WIDGETS);
  });

  it('a definition made through one replica is served by both, with its status filled in', async () => {
    const crd = await call<CrdView>(b, 'GET', `${CRDS}/widgets.example.com`);
    expect(crd.metadata.finalizers).to.deep.equal(['customresourcecleanup.apiextensions.k8s.io']);
    const conditions = Object.fromEntries((crd.status?.conditions ?? []).map((c) => [c.type, c.status]));
    expect(conditions).to.deep.equal({ NamesAccepted: 'True', Established: 'True' });
    expect(crd.status?.acceptedNames).to.include({ kind: 'Widget', listKind: 'WidgetList', singular: 'widget' });
    expect(crd.status?.storedVersions).to.deep.equal(['v1']);
    for (const t of [a, b]) {
      const list = await call<{ resources: { name: string; kind: string; shortNames?: string[]; verbs: string[]; group?: string }[] }>(t, 'GET', '/apis/example.com/v1');
      const byName = new Map(list.resources.map((r) => [r.name, r]));
      expect(byName.get('widgets')).to.include({ kind: 'Widget' });
      expect(byName.get('widgets')?.shortNames).to.deep.equal(['wd']);
      expect(byName.get('widgets/status')?.verbs).to.have.members(['get', 'patch', 'update']);
      expect(byName.get('widgets/scale')).to.include({ kind: 'Scale', group: 'autoscaling' });
      const groups = await call<{ groups: { name: string; preferredVersion: { version: string } }[] }>(t, 'GET', '/apis');
      expect(groups.groups.find((g) => g.name === 'example.com')?.preferredVersion.version).to.equal('v1');
    }
  });

  it('objects get their defaults, lose unknown fields, keep what preserve-unknown-fields covers, and are stored under /<group>/<plural>/', async () => {
    const created = await call(a, 'POST', WIDGETS, { body: widget('w1', { size: 3, bogus: 1, extra: { any: { thing: [1, 2] } } }) });
    expect(created.spec).to.deep.equal({ size: 3, color: 'red', extra: { any: { thing: [1, 2] } } });
    expect(created.metadata.generation).to.equal(1);
    const got = await call(b, 'GET', `${WIDGETS}/w1`);
    expect(got.spec).to.deep.equal(created.spec);
    const stored = await a.store.get(`/example.com/widgets/default/w1`);
    expect(stored, 'stored at /registry/example.com/widgets/default/w1').to.not.equal(undefined);
    // fieldValidation=Strict names what would be pruned, and writes nothing.
    const strict = await raw(a.url, 'POST', `${WIDGETS}?fieldValidation=Strict`, { body: widget('w2', { size: 3, bogus: 1 }) });
    expect(expectStatus(strict, 400, 'BadRequest').message).to.contain('unknown field "spec.bogus"');
    expect((await raw(a.url, 'GET', `${WIDGETS}/w2`)).status).to.equal(404);
  });

  it('refuses objects the schema does not allow, with a cause per field', async () => {
    const res = await raw(a.url, 'POST', WIDGETS, { body: widget('bad', { size: 30, color: 'green', tags: ['x', 'x'] }) });
    const s = expectStatus(res, 422, 'Invalid');
    expect(causeFields(s)).to.have.members(['spec.size', 'spec.color', 'spec.tags[1]']);
    expect(s.message).to.contain('should be less than or equal to 10');
    expect(s.details?.kind).to.equal('Widget');
    const missing = expectStatus(await raw(a.url, 'POST', WIDGETS, { body: widget('bad', {}) }), 422, 'Invalid');
    expect(missing.details?.causes?.[0]).to.include({ field: 'spec.size', reason: 'FieldValueRequired' });
    const wrongType = expectStatus(await raw(a.url, 'POST', WIDGETS, { body: widget('bad', { size: 1.5 }) }), 422, 'Invalid');
    expect(wrongType.message).to.contain('must be of type integer');
    expectStatus(await raw(a.url, 'POST', WIDGETS, { body: { ...widget('bad'), kind: 'Gadget' } }), 400, 'BadRequest');
    expect((await raw(a.url, 'GET', `${WIDGETS}/bad`)).status).to.equal(404);
  });

  it('status is written only through /status, and spec changes move the generation', async () => {
    await call(a, 'POST', WIDGETS, { body: { ...widget('s1'), status: { phase: 'Made up' } } });
    let w = await call(a, 'GET', `${WIDGETS}/s1`);
    expect(w.status).to.equal(undefined);
    w = await call(b, 'PATCH', `${WIDGETS}/s1/status`, { body: { status: { phase: 'Ready', replicas: 2 } }, contentType: 'application/merge-patch+json' });
    expect(w.status).to.deep.equal({ phase: 'Ready', replicas: 2 });
    expect(w.metadata.generation).to.equal(1);
    // A main-resource update carries status along unchanged, whatever it sends.
    w = await call(a, 'PUT', `${WIDGETS}/s1`, { body: { ...w, spec: { size: 4 }, status: { phase: 'Overwritten' } } });
    expect(w.status).to.deep.equal({ phase: 'Ready', replicas: 2 });
    expect(w.metadata.generation).to.equal(2);
  });

  it('the scale subresource reads and writes the paths the definition names', async () => {
    await call(a, 'POST', WIDGETS, { body: widget('sc', { size: 2, replicas: 1 }) });
    const scale = await call<{ kind: string; apiVersion: string; spec: { replicas: number } }>(b, 'GET', `${WIDGETS}/sc/scale`);
    expect(scale).to.deep.include({ kind: 'Scale', apiVersion: 'autoscaling/v1', spec: { replicas: 1 } });
    await call(a, 'PATCH', `${WIDGETS}/sc/scale`, { body: { spec: { replicas: 5 } }, contentType: 'application/merge-patch+json' });
    expect((await call(b, 'GET', `${WIDGETS}/sc`)).spec?.replicas).to.equal(5);
  });

  it('tables have the printer columns (wide ones at priority 1)', async () => {
    await call(a, 'POST', WIDGETS, { body: widget('t1', { size: 7, color: 'blue' }) });
    const table = await call<{ kind: string; columnDefinitions: { name: string; priority: number }[]; rows: { cells: unknown[] }[] }>(b, 'GET', WIDGETS, { accept: TABLE });
    expect(table.kind).to.equal('Table');
    expect(table.columnDefinitions.map((c) => [c.name, c.priority])).to.deep.equal([
      ['Name', 0],
      ['Size', 0],
      ['Color', 0],
      ['Phase', 1],
    ]);
    // Nothing at .status.phase: null, which kubectl prints as <none>.
    expect(table.rows.map((r) => r.cells)).to.deep.equal([['t1', 7, 'blue', null]]);
  });

  it('lists and watches select by the selectable fields the definition names, and refuse others', async () => {
    await call(a, 'POST', WIDGETS, { body: widget('red1', { size: 1 }) });
    await call(a, 'POST', WIDGETS, { body: widget('blue1', { size: 1, color: 'blue' }) });
    const blue = await call<{ items: WidgetView[] }>(b, 'GET', `${WIDGETS}?fieldSelector=spec.color%3Dblue`);
    expect(blue.items.map((i) => i.metadata.name)).to.deep.equal(['blue1']);
    const notBlue = await call<{ items: WidgetView[] }>(a, 'GET', `${WIDGETS}?fieldSelector=spec.color!%3Dblue,metadata.name%3Dred1`);
    expect(notBlue.items.map((i) => i.metadata.name)).to.deep.equal(['red1']);
    expectStatus(await raw(a.url, 'GET', `${WIDGETS}?fieldSelector=spec.size%3D1`), 400, 'BadRequest');
  });

  it('a served version other than the stored one reads and writes the same objects', async () => {
    const beta = '/apis/example.com/v1beta1/namespaces/default/widgets';
    const made = await call(a, 'POST', beta, { body: widget('v', { size: 2 }, 'example.com/v1beta1') });
    expect(made.apiVersion).to.equal('example.com/v1beta1');
    const asV1 = await call(b, 'GET', `${WIDGETS}/v`);
    expect(asV1.apiVersion).to.equal('example.com/v1');
    expect(asV1.spec).to.deep.equal({ size: 2, color: 'red' });
    const list = await call<{ items: WidgetView[] }>(b, 'GET', beta);
    expect(list.items.map((i) => [i.metadata.name, i.apiVersion])).to.deep.equal([['v', 'example.com/v1beta1']]);
  });

  it('a watch on one replica sees every object written through the other exactly once, with its defaults', async () => {
    const list = await call<{ metadata: { resourceVersion: string } }>(b, 'GET', WIDGETS);
    const w = await WatchCollector.open(b.url, `${WIDGETS}?watch=true&resourceVersion=${list.metadata.resourceVersion}`);
    try {
      const names = Array.from({ length: 20 }, (_, i) => `c${i}`);
      await Promise.all(names.map((n, i) => call(i % 2 === 0 ? a : b, 'POST', WIDGETS, { body: widget(n, { size: 1 + (i % 10) }) })));
      await waitFor('20 ADDED events', () => w.changes().length >= 20);
      const added = w.changes().map((e) => e.object as unknown as WidgetView);
      expect(added.map((o) => o.metadata.name).sort()).to.deep.equal([...names].sort());
      expect(new Set(added.map((o) => o.metadata.resourceVersion)).size).to.equal(20);
      expect(added.every((o) => o.spec?.color === 'red')).to.equal(true);
      const all = await call<{ items: WidgetView[] }>(a, 'GET', WIDGETS);
      expect(all.items.map((i) => i.metadata.name).sort()).to.deep.equal([...names].sort());
    } finally {
      await w.close();
    }
  });

  it('a changed schema applies at once on both replicas, without losing objects or watches', async () => {
    await call(a, 'POST', WIDGETS, { body: widget('keep', { size: 1 }) });
    const before = await call<{ metadata: { resourceVersion: string } }>(b, 'GET', WIDGETS);
    const w = await WatchCollector.open(b.url, `${WIDGETS}?watch=true&resourceVersion=${before.metadata.resourceVersion}`);
    try {
      const crd = await call<CrdView & Record<string, unknown>>(a, 'GET', `${CRDS}/widgets.example.com`);
      const next = widgetCrd({ extraSpec: { label: { type: 'string', maxLength: 5 } } });
      await call(a, 'PUT', `${CRDS}/widgets.example.com`, { body: { ...next, metadata: crd.metadata } });
      for (const t of [a, b]) {
        await waitFor(`the new field kept by ${t.url}`, async () => {
          const res = await raw(t.url, 'POST', `${WIDGETS}?dryRun=All`, { body: widget('probe', { size: 1, label: 'abc' }) });
          return res.status === 201 && (res.body as { spec: { label?: string } }).spec.label === 'abc';
        });
        expectStatus(await raw(t.url, 'POST', WIDGETS, { body: widget('long', { size: 1, label: 'abcdefgh' }) }), 422, 'Invalid');
      }
      expect((await call(b, 'GET', `${WIDGETS}/keep`)).spec?.size).to.equal(1);
      await call(a, 'POST', WIDGETS, { body: widget('after', { size: 1, label: 'x' }) });
      await waitFor('the watch still delivers', () => w.changes().some((e) => e.object.metadata.name === 'after'));
      expect(w.ended).to.equal(false);
    } finally {
      await w.close();
      await call(a, 'PUT', `${CRDS}/widgets.example.com`, {
        body: { ...widgetCrd(), metadata: (await call<CrdView>(a, 'GET', `${CRDS}/widgets.example.com`)).metadata },
      });
    }
  });

  it('a new storage version: objects kept in the old one are read, patched and listed in either, and storedVersions records both', async () => {
    const name = 'parts.migrate.example.com';
    const crd = widgetCrd({ group: 'migrate.example.com', plural: 'parts', kind: 'Part', shortNames: [] }) as { metadata: Record<string, unknown>; spec: { versions: { name: string; storage: boolean }[] } };
    await call(a, 'POST', CRDS, { body: crd });
    await established(name);
    const v1 = '/apis/migrate.example.com/v1/namespaces/default/parts';
    const beta = '/apis/migrate.example.com/v1beta1/namespaces/default/parts';
    await served(b, v1);
    await call(a, 'POST', v1, { body: { apiVersion: 'migrate.example.com/v1', kind: 'Part', metadata: { name: 'old' }, spec: { size: 1 } } });
    const current = await call<CrdView>(a, 'GET', `${CRDS}/${name}`);
    for (const v of crd.spec.versions) v.storage = v.name === 'v1beta1';
    await call(a, 'PUT', `${CRDS}/${name}`, { body: { ...crd, metadata: current.metadata } });
    await waitFor('storedVersions v1, v1beta1', async () => {
      const c = await call<CrdView>(b, 'GET', `${CRDS}/${name}`);
      return JSON.stringify(c.status?.storedVersions) === JSON.stringify(['v1', 'v1beta1']);
    });
    for (const t of [a, b]) {
      await waitFor(`${t.url} stores in v1beta1`, async () => {
        const res = await raw(t.url, 'POST', `${v1}?dryRun=All`, { body: { apiVersion: 'migrate.example.com/v1', kind: 'Part', metadata: { name: 'probe' }, spec: { size: 1 } } });
        return res.status === 201;
      });
    }
    const patched = await call(b, 'PATCH', `${beta}/old`, { body: { spec: { size: 2 } }, contentType: 'application/merge-patch+json' });
    expect(patched.apiVersion).to.equal('migrate.example.com/v1beta1');
    const again = await call(a, 'PATCH', `${v1}/old`, { body: [{ op: 'replace', path: '/spec/size', value: 3 }], contentType: 'application/json-patch+json' });
    expect(again.apiVersion).to.equal('migrate.example.com/v1');
    expect(again.spec?.size).to.equal(3);
    const list = await call<{ items: WidgetView[] }>(b, 'GET', v1);
    expect(list.items.map((i) => [i.metadata.name, i.apiVersion, i.spec?.size])).to.deep.equal([['old', 'migrate.example.com/v1', 3]]);
    const stored = await a.store.get('/migrate.example.com/parts/default/old');
    expect((JSON.parse(stored!.value) as { apiVersion: string }).apiVersion).to.equal('migrate.example.com/v1beta1');
    // A stored version may not leave spec.versions while objects may still be kept in it.
    const latest = await call<CrdView>(a, 'GET', `${CRDS}/${name}`);
    const dropped = { ...crd, metadata: latest.metadata, spec: { ...crd.spec, versions: crd.spec.versions.filter((v) => v.name !== 'v1') } };
    expect(causeFields(expectStatus(await raw(a.url, 'PUT', `${CRDS}/${name}`, { body: dropped }), 422, 'Invalid'))).to.include('status.storedVersions');
    await call(a, 'DELETE', `${CRDS}/${name}`);
  });

  it('refuses definitions that cannot be served, naming the field', async () => {
    const bad = (mutate: (crd: { metadata: { name: string }; spec: Record<string, unknown> & { versions: Record<string, unknown>[] } }) => void) => {
      const crd = widgetCrd({ group: 'bad.example.com', plural: 'things', kind: 'Thing' }) as { metadata: { name: string }; spec: Record<string, unknown> & { versions: Record<string, unknown>[] } };
      mutate(crd);
      return raw(a.url, 'POST', CRDS, { body: crd });
    };
    const cases: [string, (crd: { metadata: { name: string }; spec: Record<string, unknown> & { versions: Record<string, unknown>[] } }) => void, string][] = [
      ['a name that is not plural.group', (c) => (c.metadata.name = 'other.bad.example.com'), 'metadata.name'],
      ['no storage version', (c) => c.spec.versions.forEach((v) => (v['storage'] = false)), 'spec.versions'],
      ['a schema without types', (c) => (c.spec.versions[0]!['schema'] = { openAPIV3Schema: { type: 'object', properties: { spec: { properties: {} } } } }), 'spec.versions[0].schema.openAPIV3Schema.properties[spec].type'],
      ['no schema', (c) => delete c.spec.versions[0]!['schema'], 'spec.versions[0].schema.openAPIV3Schema'],
      ['a printer column of an unknown type', (c) => (c.spec.versions[0]!['additionalPrinterColumns'] = [{ name: 'X', type: 'color', jsonPath: '.spec.x' }]), 'spec.versions[0].additionalPrinterColumns[0].type'],
      ['webhook conversion', (c) => (c.spec['conversion'] = { strategy: 'Webhook' }), 'spec.conversion.strategy'],
      ['a group without a dot', (c) => ((c.spec['group'] = 'things'), (c.metadata.name = 'things.things')), 'spec.group'],
    ];
    for (const [what, mutate, field] of cases) {
      const s = expectStatus(await bad(mutate), 422, 'Invalid');
      expect(causeFields(s), what).to.include(field);
    }
    const builtIn = widgetCrd({ group: 'apps', plural: 'things', kind: 'Thing' });
    expect(causeFields(expectStatus(await raw(a.url, 'POST', CRDS, { body: builtIn }), 422, 'Invalid'))).to.include('spec.group');
    expect((await raw(a.url, 'GET', '/apis/bad.example.com/v1')).status).to.equal(404);
  });

  describe('validation rules (x-kubernetes-validations, CEL)', () => {
    const RULES = '/apis/cel.example.com/v1/namespaces/default/rules';
    const SPEC_RULES = 'spec.versions[0].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations';
    const ruleSchema = (maxRule?: string): JSONSchemaProps => ({
      type: 'object',
      'x-kubernetes-validations': [{ rule: 'size(self.metadata.name) <= 12', message: 'names are at most 12 characters' }],
      properties: {
        spec: {
          type: 'object',
          'x-kubernetes-validations': [
            { rule: '!has(self.min) || !has(self.max) || self.min <= self.max', message: 'min must not exceed max', fieldPath: '.min' },
            { rule: '!has(oldSelf.replicas) || self.replicas >= oldSelf.replicas', message: 'replicas may not go down', reason: 'FieldValueForbidden' },
          ],
          properties: {
            min: { type: 'integer' },
            max: { type: 'integer', ...(maxRule ? { 'x-kubernetes-validations': [{ rule: maxRule }] } : {}) },
            replicas: { type: 'integer' },
            mode: { type: 'string', 'x-kubernetes-validations': [{ rule: 'self == oldSelf', message: 'mode is immutable' }] },
            owner: { type: 'string', 'x-kubernetes-validations': [{ rule: 'self.startsWith("team-")', messageExpression: '"owner must start with team-, not " + self' }] },
            ports: {
              type: 'array',
              'x-kubernetes-list-type': 'map',
              'x-kubernetes-list-map-keys': ['name'],
              'x-kubernetes-validations': [{ rule: 'self.all(p, p.port > 1024) || self.exists(p, p.name == "privileged")', message: 'low ports need a port named privileged' }],
              items: {
                type: 'object',
                required: ['name'],
                properties: { name: { type: 'string' }, port: { type: 'integer' } },
                'x-kubernetes-validations': [{ rule: 'self.port > 0 && self.port < 65536', message: 'port out of range' }, { rule: 'self.port == oldSelf.port', message: 'a port keeps its number' }],
              },
            },
            since: { type: 'string', format: 'date-time', 'x-kubernetes-validations': [{ rule: 'self > timestamp("2020-01-01T00:00:00Z")', message: 'too old' }] },
          },
        },
        status: { type: 'object', properties: { phase: { type: 'string', 'x-kubernetes-validations': [{ rule: 'self in ["Pending", "Ready"]' }] } } },
      },
    });
    const ruleCrd = (schema: JSONSchemaProps) => definitionBody({ group: 'cel.example.com', plural: 'rules', kind: 'Rule', schema, version: { subresources: { status: {} } } });
    const rule = (name: string, spec: Record<string, unknown>) => ({ apiVersion: 'cel.example.com/v1', kind: 'Rule', metadata: { name }, spec });
    const causes = (s: { details?: { causes?: { field?: string; message?: string; reason?: string }[] } }) => (s.details?.causes ?? []).map((c) => `${c.reason} ${c.field}: ${c.message}`);

    before(async () => {
      const res = await raw(a.url, 'POST', CRDS, { body: ruleCrd(ruleSchema()) });
      expect(res.status, res.text).to.equal(201);
      // Rules are checked, not merely accepted: no warning says otherwise.
      expect(res.headers.get('warning')).to.equal(null);
      await established('rules.cel.example.com');
      await served(a, RULES);
      await served(b, RULES);
    });
    after(async () => {
      await raw(a.url, 'DELETE', `${CRDS}/rules.cel.example.com`);
    });

    it('refuses a definition whose rules do not compile, naming each field', async () => {
      const bad = ruleSchema();
      bad.properties!['spec']!['x-kubernetes-validations'] = [
        { rule: 'self.min <=' },
        { rule: 'self.min > 0', reason: 'FieldValueWrong' },
        { rule: 'self.min > 0', fieldPath: '.nothere' },
        { rule: 'self.min > 0', optionalOldSelf: true },
        { rule: 'self.min > 0', messageExpression: '"a" +' },
      ];
      const crd = definitionBody({ group: 'celbad.example.com', plural: 'rules', kind: 'Rule', schema: bad });
      const s = expectStatus(await raw(b.url, 'POST', CRDS, { body: crd }), 422, 'Invalid');
      expect(causeFields(s)).to.deep.equal([`${SPEC_RULES}[0].rule`, `${SPEC_RULES}[1].reason`, `${SPEC_RULES}[2].fieldPath`, `${SPEC_RULES}[3].optionalOldSelf`, `${SPEC_RULES}[4].messageExpression`]);
      expect(s.message).to.contain('compilation failed');
      expect((await raw(b.url, 'GET', `${CRDS}/rules.celbad.example.com`)).status).to.equal(404);
    });

    it('accepts a definition whose rule calls what this server does not provide, with a Warning naming it, and does not evaluate that rule', async () => {
      const schema = ruleSchema();
      schema.properties!['spec']!.properties!['version'] = { type: 'string', 'x-kubernetes-validations': [{ rule: 'isSemver(self)', message: 'not a version' }] };
      const res = await raw(a.url, 'POST', CRDS, { body: definitionBody({ group: 'celext.example.com', plural: 'rules', kind: 'Rule', schema }) });
      expect(res.status, res.text).to.equal(201);
      expect(res.headers.get('warning')).to.contain(`${SPEC_RULES.replace('x-kubernetes-validations', 'properties[version].x-kubernetes-validations')}[0].rule: not evaluated`);
      await waitFor('rules.celext.example.com served', async () => (await raw(b.url, 'GET', '/apis/celext.example.com/v1/namespaces/default/rules')).status === 200);
      const made = await raw(b.url, 'POST', '/apis/celext.example.com/v1/namespaces/default/rules', { body: { ...rule('v', { version: 'banana', min: 1 }), apiVersion: 'celext.example.com/v1' } });
      expect(made.status, made.text).to.equal(201);
      // The rules it can run still hold.
      const refused = expectStatus(await raw(b.url, 'POST', '/apis/celext.example.com/v1/namespaces/default/rules', { body: { ...rule('w', { min: 3, max: 1 }), apiVersion: 'celext.example.com/v1' } }), 422, 'Invalid');
      expect(causes(refused)).to.deep.equal(['FieldValueInvalid spec.min: Invalid value: "object": min must not exceed max']);
      await call(a, 'DELETE', `${CRDS}/rules.celext.example.com`);
    });

    it('a create that breaks rules is refused with a cause per rule, in Kubernetes\' words, and nothing is stored', async () => {
      await call(a, 'POST', RULES, { body: rule('ok', { min: 1, max: 2, owner: 'team-a', mode: 'fast', ports: [{ name: 'web', port: 8080 }], since: '2024-05-01T00:00:00Z' }) });
      const s = expectStatus(
        await raw(b.url, 'POST', RULES, { body: rule('bad-one-with-a-long-name', { min: 5, max: 2, owner: 'me', ports: [{ name: 'web', port: 80 }, { name: 'big', port: 70000 }], since: '2019-01-01T00:00:00Z' }) }),
        422,
        'Invalid',
      );
      expect(causes(s)).to.have.members([
        'FieldValueInvalid : Invalid value: "object": names are at most 12 characters',
        'FieldValueInvalid spec.min: Invalid value: "object": min must not exceed max',
        'FieldValueInvalid spec.owner: Invalid value: "string": owner must start with team-, not me',
        'FieldValueInvalid spec.ports: Invalid value: "array": low ports need a port named privileged',
        'FieldValueInvalid spec.ports[1]: Invalid value: "object": port out of range',
        'FieldValueInvalid spec.since: Invalid value: "string": too old',
      ]);
      expect(s.message).to.match(/^Rule(\.cel\.example\.com)? "bad-one-with-a-long-name" is invalid: /);
      expect((await raw(a.url, 'GET', `${RULES}/bad-one-with-a-long-name`)).status).to.equal(404);
      // A generated name is made before the rules run, so the root rule reads it.
      const generated = await call(b, 'POST', RULES, { body: { ...rule('', { min: 1 }), metadata: { generateName: 'gen-' } } });
      expect(generated.metadata.name).to.match(/^gen-[a-z0-9]{5}$/);
      expect(causes(expectStatus(await raw(b.url, 'POST', RULES, { body: { ...rule('', { min: 1 }), metadata: { generateName: 'generated-names-' } } }), 422, 'Invalid'))).to.deep.equal([
        'FieldValueInvalid : Invalid value: "object": names are at most 12 characters',
      ]);
      // A rule that cannot be evaluated on the value fails with the error, not a crash.
      const noPort = expectStatus(await raw(a.url, 'POST', RULES, { body: rule('noport', { ports: [{ name: 'web' }] }) }), 422, 'Invalid');
      expect(causes(noPort).join('\n')).to.contain('spec.ports[0]').and.to.contain('evaluating rule: self.port > 0 && self.port < 65536');
    });

    it('transition rules compare with the object before, through either replica; unchanged values are not judged again', async () => {
      await call(a, 'POST', RULES, { body: rule('t', { replicas: 3, mode: 'fast', ports: [{ name: 'web', port: 8080 }, { name: 'api', port: 9090 }] }) });
      const patch = (t: TestApiServer, body: unknown) => raw(t.url, 'PATCH', `${RULES}/t`, { body, contentType: 'application/merge-patch+json' });
      expect(causes(expectStatus(await patch(b, { spec: { mode: 'slow' } }), 422, 'Invalid'))).to.deep.equal(['FieldValueInvalid spec.mode: Invalid value: "string": mode is immutable']);
      expect(causes(expectStatus(await patch(b, { spec: { replicas: 2 } }), 422, 'Invalid'))).to.deep.equal(['FieldValueForbidden spec: Forbidden: replicas may not go down']);
      expect((await patch(a, { spec: { replicas: 4 } })).status).to.equal(200);
      // List-map items correlate by key: a reordered list keeps each port's number, a changed number is refused.
      const json = (t: TestApiServer, ops: unknown) => raw(t.url, 'PATCH', `${RULES}/t`, { body: ops, contentType: 'application/json-patch+json' });
      expect((await json(b, [{ op: 'replace', path: '/spec/ports', value: [{ name: 'api', port: 9090 }, { name: 'web', port: 8080 }, { name: 'new', port: 7070 }] }])).status).to.equal(200);
      expect(causes(expectStatus(await json(b, [{ op: 'replace', path: '/spec/ports/0/port', value: 9191 }]), 422, 'Invalid'))).to.deep.equal([
        'FieldValueInvalid spec.ports[0]: Invalid value: "object": a port keeps its number',
      ]);
      // A rule added later binds new values, not the ones already stored.
      await call(a, 'POST', RULES, { body: rule('big', { max: 500 }) });
      const crd = await call<CrdView & { spec: Record<string, unknown> }>(a, 'GET', `${CRDS}/rules.cel.example.com`);
      await call(a, 'PUT', `${CRDS}/rules.cel.example.com`, { body: { ...crd, spec: { ...crd.spec, versions: [{ ...(crd.spec['versions'] as Record<string, unknown>[])[0], schema: { openAPIV3Schema: ruleSchema('self <= 100') } }] } } });
      await waitFor('the new rule on both replicas', async () => {
        const [ra, rb] = await Promise.all([a, b].map((t) => raw(t.url, 'POST', `${RULES}?dryRun=All`, { body: rule('probe', { max: 101 }) })));
        return ra!.status === 422 && rb!.status === 422;
      });
      const big = (t: TestApiServer, body: unknown) => raw(t.url, 'PATCH', `${RULES}/big`, { body, contentType: 'application/merge-patch+json' });
      expect((await big(b, { metadata: { labels: { x: 'y' } }, spec: { min: 1 } })).status).to.equal(200);
      expect(causes(expectStatus(await big(a, { spec: { max: 400 } }), 422, 'Invalid'))).to.deep.equal(['FieldValueInvalid spec.max: Invalid value: "integer": failed rule: self <= 100']);
      expect((await big(a, { spec: { max: 100 } })).status).to.equal(200);
    });

    it('status writes are checked against the rules of the status', async () => {
      await call(a, 'POST', RULES, { body: rule('s', { min: 1 }) });
      const status = (phase: string) => raw(b.url, 'PATCH', `${RULES}/s/status`, { body: { status: { phase } }, contentType: 'application/merge-patch+json' });
      expect((await status('Ready')).status).to.equal(200);
      expect(causes(expectStatus(await status('Exploded'), 422, 'Invalid'))).to.deep.equal(['FieldValueInvalid status.phase: Invalid value: "string": failed rule: self in ["Pending", "Ready"]']);
      expect((await call(a, 'GET', `${RULES}/s`)).status?.phase).to.equal('Ready');
    });
  });

  it('a second definition claiming a kind its group already has is not served until the first goes', async () => {
    await call(a, 'POST', CRDS, { body: widgetCrd({ group: 'conflict.example.com', plural: 'gizmos', kind: 'Gizmo', shortNames: [] }) });
    await established('gizmos.conflict.example.com');
    await call(a, 'POST', CRDS, { body: widgetCrd({ group: 'conflict.example.com', plural: 'gizmoes', kind: 'Gizmo', shortNames: [] }) });
    const rejected = await waitFor('NamesAccepted False', async () => {
      const crd = await call<CrdView>(b, 'GET', `${CRDS}/gizmoes.conflict.example.com`);
      return crd.status?.conditions?.find((c) => c.type === 'NamesAccepted' && c.status === 'False') ? crd : undefined;
    });
    expect(rejected.status?.conditions?.find((c) => c.type === 'Established')?.status).to.equal('False');
    expect((await raw(b.url, 'GET', '/apis/conflict.example.com/v1/namespaces/default/gizmoes')).status).to.equal(404);
    await call(a, 'DELETE', `${CRDS}/gizmos.conflict.example.com`);
    await established('gizmoes.conflict.example.com');
    await served(b, '/apis/conflict.example.com/v1/namespaces/default/gizmoes');
    await call(a, 'DELETE', `${CRDS}/gizmoes.conflict.example.com`);
  });

  it('a cluster-scoped kind has no namespace', async () => {
    const crd = widgetCrd({ group: 'cluster.example.com', plural: 'regions', kind: 'Region', shortNames: [] }) as { spec: Record<string, unknown> };
    crd.spec['scope'] = 'Cluster';
    await call(a, 'POST', CRDS, { body: crd });
    await established('regions.cluster.example.com');
    const path = '/apis/cluster.example.com/v1/regions';
    await served(b, path);
    const made = await call(b, 'POST', path, { body: { apiVersion: 'cluster.example.com/v1', kind: 'Region', metadata: { name: 'eu', namespace: 'default' }, spec: { size: 1 } } });
    expect(made.metadata.namespace).to.equal(undefined);
    expect((await raw(a.url, 'GET', '/apis/cluster.example.com/v1/namespaces/default/regions')).status).to.equal(404);
    await call(a, 'DELETE', `${CRDS}/regions.cluster.example.com`);
  });

  it('deleting a namespace deletes the custom objects in it', async () => {
    await call(a, 'POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'crns' } } });
    await call(b, 'POST', '/apis/example.com/v1/namespaces/crns/widgets', { body: widget('in-ns') });
    await call(a, 'DELETE', '/api/v1/namespaces/crns');
    await waitFor('namespace gone', async () => (await raw(a.url, 'GET', '/api/v1/namespaces/crns')).status === 404, 20_000);
    expect(await a.store.get('/example.com/widgets/crns/in-ns')).to.equal(undefined);
  });

  it('deleting a definition refuses new objects, deletes the ones it has, then stops serving the kind', async () => {
    await call(a, 'POST', CRDS, { body: widgetCrd({ group: 'gone.example.com', plural: 'sprockets', kind: 'Sprocket', shortNames: [] }) });
    await established('sprockets.gone.example.com');
    const path = '/apis/gone.example.com/v1/namespaces/default/sprockets';
    await served(b, path);
    const obj = (name: string, finalizers: string[] = []) => ({ apiVersion: 'gone.example.com/v1', kind: 'Sprocket', metadata: { name, finalizers }, spec: { size: 1 } });
    await call(a, 'POST', path, { body: obj('plain') });
    // A finalizer holds one object, and with it the definition, in Terminating.
    await call(b, 'POST', path, { body: obj('held', ['example.com/hold']) });
    await call(a, 'DELETE', `${CRDS}/sprockets.gone.example.com`);
    await waitFor('Terminating', async () => {
      const crd = await call<CrdView>(a, 'GET', `${CRDS}/sprockets.gone.example.com`);
      return crd.status?.conditions?.some((c) => c.type === 'Terminating' && c.status === 'True');
    });
    await waitFor('the plain object deleted', async () => (await raw(a.url, 'GET', `${path}/plain`)).status === 404);
    for (const t of [a, b]) {
      await waitFor(`creates refused by ${t.url}`, async () => (await raw(t.url, 'POST', path, { body: obj('late') })).status === 405);
    }
    const held = await call(a, 'GET', `${path}/held`);
    expect(held.metadata.deletionTimestamp).to.be.a('string');
    await call(a, 'PATCH', `${path}/held`, { body: { metadata: { finalizers: null } }, contentType: 'application/merge-patch+json' });
    await waitFor('definition gone', async () => (await raw(a.url, 'GET', `${CRDS}/sprockets.gone.example.com`)).status === 404, 20_000);
    for (const t of [a, b]) await waitFor(`kind no longer served by ${t.url}`, async () => (await raw(t.url, 'GET', path)).status === 404);
    expect((await a.store.list('/gone.example.com/sprockets/')).items).to.deep.equal([]);
  });

  it('a replica started later serves the existing definitions before it listens', async () => {
    await call(a, 'POST', WIDGETS, { body: widget('old') });
    const c = await startTestApiServer({ backend: 'etcd', prefix });
    try {
      // Ready means every cache listed, the custom kinds' too.
      expect((await raw(c.url, 'GET', '/readyz')).status).to.equal(200);
      expect((await call(c, 'GET', `${WIDGETS}/old`)).spec?.size).to.equal(3);
      const doc = await call<{ paths: Record<string, unknown> }>(c, 'GET', '/openapi/v3');
      expect(Object.keys(doc.paths)).to.include('apis/example.com/v1');
    } finally {
      await c.close();
    }
  });
});
