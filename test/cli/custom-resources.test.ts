// cellctl with custom resources, as a process, against a real API server on etcd: a
// CustomResourceDefinition's kind is unknown to cellctl's built-in table, so every command finds it
// in the server's discovery documents (by plural, singular, short name, kind or qualified name)
// and addresses it like any built-in one; `get` prints the server's Table, the definition's
// printer columns.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import YAML from 'yaml';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { definitionBody } from '../harness/custom-resources.js';
import type { ApiClient } from '../../shared/client/http-client.js';
import { NotFoundError } from '../../shared/errors.js';
import { cellctl, isolatedEnv, tempDir, waitFor } from './helpers.js';

const WIDGETS = { group: 'example.com', version: 'v1', resource: 'widgets' } as const;

/** Namespaced, `wd` for short, in category `all`, a Size printer column, and a scale subresource over spec.replicas. */
const WIDGET_CRD = definitionBody({
  group: 'example.com',
  plural: 'widgets',
  kind: 'Widget',
  shortNames: ['wd'],
  categories: ['all'],
  schema: {
    type: 'object',
    properties: {
      spec: { type: 'object', properties: { size: { type: 'integer' }, replicas: { type: 'integer' } } },
      status: { type: 'object', properties: { replicas: { type: 'integer' } } },
    },
  },
  version: {
    subresources: { scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas' } },
    additionalPrinterColumns: [{ name: 'Size', type: 'integer', jsonPath: '.spec.size' }],
  },
});

function widgetYaml(name: string, size: number): string {
  return `apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: ${name}\nspec:\n  size: ${size}\n`;
}

interface Widget {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec: { size?: number; replicas?: number };
}

describe('cellctl with custom resources', function () {
  this.timeout(60_000);
  let api: TestApiServer;
  let client: ApiClient;
  let env: NodeJS.ProcessEnv;
  let dir: string;
  const run = (args: string[], input?: string) => cellctl([`--server=${api.url}`, ...args], { env, ...(input !== undefined ? { input } : {}) });
  const file = (name: string, text: string) => {
    const p = path.join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  const getWidget = (name: string) => client.get<Widget>({ ...WIDGETS, namespace: 'default', name });

  before(async () => {
    api = await startTestApiServer({ backend: 'etcd' });
    client = api.client();
    dir = tempDir();
    env = isolatedEnv(dir);
    await client.create({ group: 'apiextensions.k8s.io', version: 'v1', resource: 'customresourcedefinitions' }, WIDGET_CRD);
    await waitFor(
      () =>
        client.request('GET', '/apis/example.com/v1').then(
          () => true,
          (err: unknown) => {
            if (err instanceof NotFoundError) return false;
            throw err;
          },
        ),
      'example.com/v1 to be served',
    );
  });
  after(async () => api?.close());

  it('apply -f creates a custom object, then reports it unchanged, then configured', async () => {
    const f = file('w1.yaml', widgetYaml('w1', 3));
    const created = await run(['apply', '-f', f]);
    expect(created.code, created.stderr).to.equal(0);
    expect(created.stdout).to.equal('widget.example.com/w1 created\n');
    const w = await getWidget('w1');
    expect([w.kind, w.metadata.namespace, w.spec.size]).to.deep.equal(['Widget', 'default', 3]);

    const again = await run(['apply', '-f', f]);
    expect(again.code, again.stderr).to.equal(0);
    expect(again.stdout).to.equal('widget.example.com/w1 unchanged\n');

    file('w1.yaml', widgetYaml('w1', 4));
    const changed = await run(['apply', '-f', f]);
    expect(changed.code, changed.stderr).to.equal(0);
    expect(changed.stdout).to.equal('widget.example.com/w1 configured\n');
    expect((await getWidget('w1')).spec.size).to.equal(4);
  });

  it('create -f takes custom and built-in kinds side by side, from stdin too', async () => {
    const r = await run(['create', '-f', '-'], `${widgetYaml('w2', 7)}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: beside-w2\n`);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.equal('widget.example.com/w2 created\nconfigmap/beside-w2 created\n');
    expect((await getWidget('w2')).spec.size).to.equal(7);
  });

  it('get prints the server\'s Table (the printer columns) by plural, short name, kind and qualified name', async () => {
    for (const type of ['widgets', 'wd', 'Widget', 'widgets.example.com', 'widgets.v1.example.com']) {
      const r = await run(['get', type]);
      expect(r.code, `${type}: ${r.stderr}`).to.equal(0);
      expect(r.stdout, type).to.equal('NAME   SIZE\nw1     4\nw2     7\n');
    }
    const one = await run(['get', 'wd', 'w1']);
    expect(one.stdout).to.equal('NAME   SIZE\nw1     4\n');
    const slashed = await run(['get', 'widget/w2', '--no-headers']);
    expect(slashed.stdout).to.equal('w2   7\n');
    const missing = await run(['get', 'widget', 'nope']);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.match(/^error: widgets\.example\.com "nope" not found\n$/);
  });

  it('get all lists the custom kind that joins category all, after the built-in kinds', async () => {
    const r = await run(['get', 'all']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.contain('NAME                    SIZE\nwidget.example.com/w1   4\nwidget.example.com/w2   7\n');
    expect(r.stdout.indexOf('widget.example.com/w1')).to.be.greaterThan(r.stdout.indexOf('service/kubernetes'));
  });

  it('get -o yaml|json|name|jsonpath prints the custom object whole', async () => {
    const yaml = await run(['get', 'widget', 'w1', '-o', 'yaml']);
    expect(yaml.code, yaml.stderr).to.equal(0);
    const fromYaml = YAML.parse(yaml.stdout) as Widget;
    expect([fromYaml.apiVersion, fromYaml.kind, fromYaml.metadata.name, fromYaml.spec]).to.deep.equal(['example.com/v1', 'Widget', 'w1', { size: 4 }]);
    const json = await run(['get', 'widget', 'w1', '-o', 'json']);
    expect(json.code, json.stderr).to.equal(0);
    const fromJson = JSON.parse(json.stdout) as Widget;
    expect([fromJson.apiVersion, fromJson.kind, fromJson.metadata.name, fromJson.spec.size]).to.deep.equal(['example.com/v1', 'Widget', 'w1', 4]);
    const list = JSON.parse((await run(['get', 'wd', '-o', 'json'])).stdout) as { kind: string; items: Widget[] };
    expect([list.kind, list.items.map((i) => [i.kind, i.metadata.name])]).to.deep.equal(['List', [['Widget', 'w1'], ['Widget', 'w2']]]);
    expect((await run(['get', 'widgets', '-o', 'name'])).stdout).to.equal('widget.example.com/w1\nwidget.example.com/w2\n');
    expect((await run(['get', 'wd', 'w2', '-o', 'jsonpath={.spec.size}'])).stdout).to.equal('7');
  });

  it('describe, label and scale address custom objects too', async () => {
    const described = await run(['describe', 'widget', 'w1']);
    expect(described.code, described.stderr).to.equal(0);
    expect(described.stdout).to.match(/^Name:\s+w1\n/);
    expect(described.stdout).to.match(/\nKind:\s+Widget\n/);
    expect(described.stdout).to.match(/\n {2}Size:\s+4\n/);

    const labeled = await run(['label', 'wd', 'w1', 'tier=gold']);
    expect(labeled.code, labeled.stderr).to.equal(0);
    expect(labeled.stdout).to.equal('widget.example.com/w1 labeled\n');
    expect((await getWidget('w1')).metadata.labels).to.deep.equal({ tier: 'gold' });
    expect((await run(['get', 'widgets', '-l', 'tier=gold', '-o', 'name'])).stdout).to.equal('widget.example.com/w1\n');

    const scaled = await run(['scale', 'widget/w1', '--replicas=3']);
    expect(scaled.code, scaled.stderr).to.equal(0);
    expect(scaled.stdout).to.equal('widget.example.com/w1 scaled\n');
    expect((await getWidget('w1')).spec.replicas).to.equal(3);
    // Commands for built-in workloads only still refuse a custom kind, by its name.
    const rollout = await run(['rollout', 'status', 'widget/w1']);
    expect(rollout.code).to.not.equal(0);
    expect(rollout.stderr).to.equal('error: cannot rollout status a widget: only deployments, daemonsets, statefulsets\n');
  });

  it('api-resources lists the custom resource beside the built-in ones', async () => {
    const r = await run(['api-resources']);
    expect(r.code, r.stderr).to.equal(0);
    const rows = r.stdout.split('\n').map((l) => l.trim().split(/\s+/));
    expect(rows[0]).to.deep.equal(['NAME', 'SHORTNAMES', 'APIVERSION', 'NAMESPACED', 'KIND']);
    expect(rows).to.deep.include(['widgets', 'wd', 'example.com/v1', 'true', 'Widget']);
    expect(rows).to.deep.include(['pods', 'po', 'v1', 'true', 'Pod']);
    const names = await run(['api-resources', '-o', 'name', '--namespaced=true']);
    expect(names.stdout.split('\n')).to.include('widgets.example.com');
  });

  it('an unknown type or kind still fails clearly', async () => {
    const get = await run(['get', 'gizmos']);
    expect(get.code).to.not.equal(0);
    expect(get.stderr).to.equal('error: the server doesn\'t have a resource type "gizmos"\n');
    const del = await run(['delete', 'gizmo/g1']);
    expect(del.stderr).to.equal('error: the server doesn\'t have a resource type "gizmo"\n');
    const f = file('gizmo.yaml', 'apiVersion: example.com/v1\nkind: Gizmo\nmetadata:\n  name: g1\n');
    const applied = await run(['apply', '-f', f]);
    expect(applied.code).to.not.equal(0);
    expect(applied.stderr).to.equal(`error: error validating ${f} (document at line 1): no matches for kind "Gizmo" in version "example.com/v1"\n`);
    const v2 = file('widget-v2.yaml', widgetYaml('w9', 1).replace('example.com/v1', 'example.com/v2'));
    const wrongVersion = await run(['apply', '-f', v2]);
    expect(wrongVersion.stderr).to.equal(`error: error validating ${v2} (document at line 1): no matches for kind "Widget" in version "example.com/v2" (cell serves Widget as example.com/v1)\n`);
  });

  it('delete removes custom objects by TYPE NAME and by manifest', async () => {
    const byName = await run(['delete', 'widget', 'w1']);
    expect(byName.code, byName.stderr).to.equal(0);
    expect(byName.stdout).to.equal('widget.example.com "w1" deleted\n');
    await getWidget('w1').then(
      () => expect.fail('w1 must be gone'),
      (err: unknown) => expect(err).to.be.instanceOf(NotFoundError),
    );
    const byFile = await run(['delete', '-f', file('w2.yaml', widgetYaml('w2', 7))]);
    expect(byFile.code, byFile.stderr).to.equal(0);
    expect(byFile.stdout).to.equal('widget.example.com "w2" deleted\n');
    const empty = await run(['get', 'wd']);
    expect(empty.code, empty.stderr).to.equal(0);
    expect(empty.stderr).to.equal('No resources found in default namespace.\n');
  });
});
