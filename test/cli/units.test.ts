// The pure parts of cellctl, in-process: JSONPath templates, the client-side apply patch, table
// and describe alignment, manifest parsing, argument splitting, resource type resolution (the
// server's discovery documents stood in for by a function).
import { expect } from 'chai';
import { lastAppliedValue, planApply, withLastApplied, type JsonObject } from '../../cli/apply-patch.js';
import { splitLabelArgs } from '../../cli/commands/label.js';
import { ManifestError, UsageError } from '../../cli/errors.js';
import { parseManifests } from '../../cli/manifests.js';
import { tabwrite } from '../../cli/output/describe.js';
import { JsonPathError, JsonPathTemplate } from '../../shared/jsonpath.js';
import { formatRows } from '../../cli/output/table.js';
import { parseTargets, ResourceTypes } from '../../cli/resources.js';
import { resourcesOfList, type DiscoveredResource } from '../../cli/discovery.js';
import { podsResource } from '../../shared/api/registry.js';

/** Resolution that must never ask the server: the built-in table answers. */
const builtInOnly = new ResourceTypes(() => Promise.reject(new Error('discovery must not be read for built-in types')));

/** Resolution over a server that serves no custom resources. */
const noCustom = new ResourceTypes(() => Promise.resolve([]));

/** The error a promise is rejected with (fails the test if it resolves). */
async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    (v) => expect.fail(`expected a rejection, got ${JSON.stringify(v)}`),
    (err: unknown) => err,
  );
}

/** Discovery as a server with the Widget definition would give it (example.com v1 preferred, v1beta1 too), counting reads. */
function widgetDiscovery(): { types: ResourceTypes; reads: () => number } {
  let reads = 0;
  const entries = [
    { name: 'widgets', singularName: 'widget', namespaced: true, kind: 'Widget', verbs: ['get', 'list', 'create', 'delete', 'patch', 'update', 'watch', 'deletecollection'], shortNames: ['wd'], categories: ['gadgets', 'all'] },
    { name: 'widgets/scale', singularName: '', namespaced: true, group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] },
  ];
  const discovered: DiscoveredResource[] = [
    ...resourcesOfList('example.com', 'v1', { resources: entries }).map((info) => ({ info, preferred: true })),
    ...resourcesOfList('example.com', 'v1beta1', { resources: entries }).map((info) => ({ info, preferred: false })),
    // Built-in resources in discovery stay the registry's own objects.
    ...resourcesOfList('', 'v1', { resources: [{ name: 'pods', singularName: 'pod', namespaced: true, kind: 'Pod', verbs: ['get'], categories: ['all'] }] }).map((info) => ({ info, preferred: true })),
  ];
  return {
    types: new ResourceTypes(() => {
      reads++;
      return Promise.resolve(discovered);
    }),
    reads: () => reads,
  };
}

const list = {
  kind: 'List',
  items: [
    { metadata: { name: 'a', labels: { 'app.kubernetes.io/name': 'x' } }, spec: { nodeName: 'n1', containers: [{ name: 'c1' }, { name: 'c2' }] }, status: { phase: 'Running', restarts: 3 } },
    { metadata: { name: 'b', labels: {} }, spec: { containers: [{ name: 'c3' }] }, status: { phase: 'Pending', restarts: 0 } },
  ],
};

describe('cellctl units', () => {
  describe('jsonpath', () => {
    const run = (t: string, data: unknown = list) => new JsonPathTemplate(t).execute(data);

    it('fields, wildcards, indexes, slices and recursive descent', () => {
      expect(run('{.items[*].metadata.name}')).to.equal('a b');
      expect(run('{.items[0].spec.containers[*].name}')).to.equal('c1 c2');
      expect(run('{.items[-1].metadata.name}')).to.equal('b');
      expect(run('{.items[0:1].metadata.name}')).to.equal('a');
      expect(run('{..containers[*].name}')).to.equal('c1 c2 c3');
      expect(run('{.items[0].metadata.labels.app\\.kubernetes\\.io/name}')).to.equal('x');
      expect(run("{.items[0].metadata.labels['app.kubernetes.io/name']}")).to.equal('x');
      expect(run('.items[1].status.phase')).to.equal('Pending'); // no braces: one expression
    });

    it('range/end, literals and text, filters, missing fields print nothing', () => {
      expect(run('{range .items[*]}{.metadata.name}={.status.phase}{"\\n"}{end}')).to.equal('a=Running\nb=Pending\n');
      expect(run('names: {.items[*].metadata.name}!')).to.equal('names: a b!');
      expect(run('{.items[?(@.status.restarts > 1)].metadata.name}')).to.equal('a');
      expect(run('{.items[?(@.spec.nodeName)].metadata.name}')).to.equal('a');
      expect(run('{.items[?(@.status.phase!="Running")].metadata.name}')).to.equal('b');
      expect(run('{.items[1].spec.nodeName}')).to.equal('');
      expect(run('{.items[0].spec.containers[0]}')).to.equal('{"name":"c1"}');
    });

    it('rejects malformed templates with a usage error', () => {
      expect(() => new JsonPathTemplate('{.items[*]')).to.throw(JsonPathError, /unclosed action/);
      expect(() => new JsonPathTemplate('{range .items[*]}{.a}')).to.throw(JsonPathError, /without \{end\}/);
      expect(() => new JsonPathTemplate('{.items[x]}')).to.throw(JsonPathError, /invalid array index/);
    });
  });

  describe('apply patch', () => {
    const manifest = (labels: Record<string, string>, env: { name: string; value: string }[]): JsonObject => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'default', labels },
      spec: { containers: [{ name: 'c', image: 'i', env }] },
    });

    it('writes the annotation the way kubectl does (sorted keys, empty annotations kept, newline)', () => {
      expect(lastAppliedValue({ kind: 'Pod', apiVersion: 'v1', metadata: { name: 'p' } })).to.equal('{"apiVersion":"v1","kind":"Pod","metadata":{"annotations":{},"name":"p"}}\n');
    });

    it('treats keys that name Object.prototype members as plain data', () => {
      const live = withLastApplied(manifest({ a: '1' }, []));
      const { patch } = planApply(manifest({ a: '1', constructor: 'x', toString: 'y' }, []), live);
      expect(JSON.parse(JSON.stringify((patch.metadata as JsonObject).labels))).to.deep.equal({ constructor: 'x', toString: 'y' });
      // A label the manifest dropped is removed only when the live object has it as its own.
      const dropped = planApply(manifest({}, []), withLastApplied(manifest({ constructor: 'x' }, [])));
      expect(JSON.parse(JSON.stringify((dropped.patch.metadata as JsonObject).labels))).to.deep.equal({ constructor: null });
    });

    it('is empty when the live object already matches (server defaults do not count)', () => {
      const desired = manifest({ a: '1' }, [{ name: 'X', value: '1' }]);
      const live = withLastApplied(desired);
      (live.spec as { containers: JsonObject[] }).containers[0]!.resources = {};
      (live.spec as JsonObject).restartPolicy = 'Always';
      (live.metadata as JsonObject).labels = { a: '1', other: 'kept' };
      expect(planApply(desired, live).changed).to.equal(false);
    });

    it('sets what changed, deletes what the manifest dropped, leaves what others set, re-sends changed lists whole', () => {
      const before = manifest({ a: '1', b: '2' }, [{ name: 'X', value: '1' }, { name: 'Y', value: '2' }]);
      const live = withLastApplied(before);
      (live.metadata as { labels: Record<string, string> }).labels.other = 'kept';
      const after = manifest({ a: '9' }, [{ name: 'X', value: '1' }]);
      const { patch } = planApply(after, live);
      const meta = patch.metadata as { labels: Record<string, string | null>; annotations: Record<string, string> };
      expect(meta.labels).to.deep.equal({ a: '9', b: null });
      expect(meta.annotations['kubectl.kubernetes.io/last-applied-configuration']).to.equal(lastAppliedValue(after));
      expect(patch.spec).to.deep.equal({ containers: [{ name: 'c', image: 'i', env: [{ name: 'X', value: '1' }] }] });
    });

    it('without an annotation (created some other way) nothing is deleted', () => {
      const live = manifest({ a: '1', extra: 'x' }, []);
      const { patch } = planApply(manifest({ a: '1' }, []), live);
      expect((patch.metadata as { labels?: unknown }).labels).to.equal(undefined);
    });
  });

  describe('layout', () => {
    it('tables pad each column to its widest cell plus 3, the last column unpadded', () => {
      expect(formatRows([['NAME', 'STATUS', 'AGE'], ['a-long-name', 'Running', '5s']])).to.equal('NAME          STATUS    AGE\na-long-name   Running   5s\n');
    });

    it('describe aligns runs of key/value lines like Go tabwriter (padding 2)', () => {
      expect(tabwrite([['Name:', 'x'], ['Namespace:', 'default'], ['Containers:'], ['  c:'], ['    Image:', 'i']])).to.equal('Name:       x\nNamespace:  default\nContainers:\n  c:\n    Image:  i\n');
    });
  });

  describe('arguments and manifests', () => {
    it('parses TYPE NAME…, TYPE/NAME…, several types and categories, built-in types without asking the server', async () => {
      expect((await parseTargets(builtInOnly, ['po', 'a', 'b'])).targets.map((t) => [t.info.resource, t.names])).to.deep.equal([['pods', ['a', 'b']]]);
      expect((await parseTargets(builtInOnly, ['pod/a', 'no/n1', 'pods/b'])).targets.map((t) => [t.info.resource, t.names])).to.deep.equal([['pods', ['a', 'b']], ['nodes', ['n1']]]);
      expect((await parseTargets(builtInOnly, ['pods,nodes'])).multipleTypes).to.equal(true);
      expect((await parseTargets(noCustom, ['all'], { categories: true })).targets.map((t) => t.info.resource)).to.deep.equal(['pods', 'services', 'jobs', 'cronjobs', 'deployments', 'replicasets', 'statefulsets', 'daemonsets', 'horizontalpodautoscalers']);
      expect((await parseTargets(builtInOnly, ['podgroups.scheduling.x-k8s.io'])).targets[0]!.info.kind).to.equal('PodGroup');
      const unknown = await rejection(parseTargets(noCustom, ['widgets']));
      expect(unknown).to.be.instanceOf(UsageError).with.property('message', 'the server doesn\'t have a resource type "widgets"');
      expect(await rejection(parseTargets(noCustom, ['all,widgets'], { categories: true }))).to.be.instanceOf(UsageError).with.property('message', 'the server doesn\'t have a resource type "widgets"');
      expect(await rejection(parseTargets(builtInOnly, ['pod/a', 'b']))).to.be.instanceOf(UsageError).with.property('message').that.matches(/resource\/name form/);
    });

    it('resolves custom resources from discovery by plural, singular, short name, kind and qualified names, reading it once', async () => {
      const { types, reads } = widgetDiscovery();
      for (const typed of ['widgets', 'widget', 'wd', 'Widget', 'WIDGETS', 'widgets.example.com', 'wd.v1.example.com']) {
        const info = await types.resolve(typed);
        expect([info.apiVersion, info.kind, info.resource, info.namespaced], typed).to.deep.equal(['example.com/v1', 'Widget', 'widgets', true]);
      }
      expect((await types.resolve('widgets.v1beta1.example.com')).apiVersion).to.equal('example.com/v1beta1');
      expect((await types.resolve('wd')).verbs).to.deep.equal(['get', 'list', 'create', 'delete', 'patch', 'update', 'watch', 'deletecollection']);
      expect((await types.resolve('widget')).subresources).to.deep.equal([{ name: 'scale', kind: 'Scale', group: 'autoscaling', version: 'v1', verbs: ['get', 'patch', 'update'] }]);
      expect((await parseTargets(types, ['wd/a', 'pod/p', 'widgets/b'])).targets.map((t) => [t.info.resource, t.names])).to.deep.equal([['widgets', ['a', 'b']], ['pods', ['p']]]);
      expect((await parseTargets(types, ['gadgets'], { categories: true })).targets.map((t) => t.info.resource)).to.deep.equal(['widgets']);
      // A custom kind in `all` joins the built-in members once; a built-in one discovery lists is not doubled.
      const all = (await parseTargets(types, ['all'], { categories: true })).targets.map((t) => `${t.info.resource}.${t.info.group}`);
      expect(all.slice(-2)).to.deep.equal(['horizontalpodautoscalers.autoscaling', 'widgets.example.com']);
      expect(all.filter((r) => r === 'pods.')).to.have.length(1);
      expect(await types.forKind('Widget', 'example.com/v1beta1')).to.have.property('version', 'v1beta1');
      expect(await types.forKind('Widget', 'example.com/v2')).to.equal(undefined);
      expect(await types.forKind('Pod', 'v1')).to.equal(podsResource);
      expect(await types.find('gizmos')).to.equal(undefined);
      expect((await types.listed()).filter((r) => r.group === 'example.com').map((r) => r.apiVersion)).to.deep.equal(['example.com/v1']);
      expect(reads()).to.equal(1);
      // What a custom kind's objects hold is the server's to check: the schema keeps every field.
      const widget = await types.resolve('wd');
      const obj = { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w', extra: 1 }, spec: { size: 3, anything: { deep: true } } };
      expect(widget.schema.parse(obj)).to.deep.equal(obj);
      expect(widget.validate(widget.schema.parse(obj))).to.deep.equal([]);
    });

    it('splits label changes from resources', () => {
      expect(splitLabelArgs(['pod', 'a', 'k=v', 'gone-'])).to.deep.equal({ resources: ['pod', 'a'], changes: [{ key: 'k', value: 'v' }, { key: 'gone' }] });
      expect(() => splitLabelArgs(['pod', 'a', 'k=v', 'k-'])).to.throw(UsageError);
    });

    it('reads multi-document YAML and Lists, with line numbers; rejects what is not an object', async () => {
      const ms = await parseManifests('apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n---\n# c\napiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Namespace, metadata: {name: b}}\n---\n', 'f.yaml', builtInOnly);
      expect(ms.map((m) => [m.object.metadata.name, m.line])).to.deep.equal([['a', 1], ['b', 7]]);
      expect(await rejection(parseManifests('- a\n- b\n', 'f.yaml', builtInOnly)))
        .to.be.instanceOf(ManifestError)
        .with.property('message', 'error validating f.yaml (document at line 1): expected an object with apiVersion, kind and metadata, found a list');
      expect(await rejection(parseManifests('apiVersion: v1\nkind: Pod\nmetadata: {}\n', 'f.yaml', builtInOnly))).to.be.instanceOf(ManifestError).with.property('message').that.includes('metadata.name not set');
    });

    it('resolves a manifest\'s custom kind through discovery, and names what is served when the version is not', async () => {
      const { types } = widgetDiscovery();
      const [w] = await parseManifests('apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w1}\nspec: {size: 2}\n', 'w.yaml', types);
      expect([w!.info.resource, w!.info.apiVersion, w!.object.spec]).to.deep.equal(['widgets', 'example.com/v1', { size: 2 }]);
      expect(await rejection(parseManifests('apiVersion: example.com/v9\nkind: Widget\nmetadata: {name: w1}\n', 'w.yaml', types)))
        .to.be.instanceOf(ManifestError)
        .with.property('message', 'error validating w.yaml (document at line 1): no matches for kind "Widget" in version "example.com/v9" (cell serves Widget as example.com/v1)');
    });
  });
});
