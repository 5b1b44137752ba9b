// The pure parts of cellctl, in-process: JSONPath templates, the client-side apply patch, table
// and describe alignment, manifest parsing, argument splitting.
import { expect } from 'chai';
import { lastAppliedValue, planApply, withLastApplied, type JsonObject } from '../../cli/apply-patch.js';
import { splitLabelArgs } from '../../cli/commands/label.js';
import { ManifestError, UsageError } from '../../cli/errors.js';
import { parseManifests } from '../../cli/manifests.js';
import { tabwrite } from '../../cli/output/describe.js';
import { JsonPathError, JsonPathTemplate } from '../../shared/jsonpath.js';
import { formatRows } from '../../cli/output/table.js';
import { parseTargets } from '../../cli/resources.js';

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
    it('parses TYPE NAME…, TYPE/NAME…, several types and categories', () => {
      expect(parseTargets(['po', 'a', 'b']).targets.map((t) => [t.info.resource, t.names])).to.deep.equal([['pods', ['a', 'b']]]);
      expect(parseTargets(['pod/a', 'no/n1', 'pods/b']).targets.map((t) => [t.info.resource, t.names])).to.deep.equal([['pods', ['a', 'b']], ['nodes', ['n1']]]);
      expect(parseTargets(['pods,nodes']).multipleTypes).to.equal(true);
      expect(parseTargets(['all'], { categories: true }).targets.map((t) => t.info.resource)).to.deep.equal(['pods', 'services', 'jobs', 'cronjobs', 'deployments', 'replicasets', 'statefulsets', 'daemonsets', 'horizontalpodautoscalers']);
      expect(() => parseTargets(['widgets'])).to.throw(UsageError, 'the server doesn\'t have a resource type "widgets"');
      expect(() => parseTargets(['pod/a', 'b'])).to.throw(UsageError, /resource\/name form/);
    });

    it('splits label changes from resources', () => {
      expect(splitLabelArgs(['pod', 'a', 'k=v', 'gone-'])).to.deep.equal({ resources: ['pod', 'a'], changes: [{ key: 'k', value: 'v' }, { key: 'gone' }] });
      expect(() => splitLabelArgs(['pod', 'a', 'k=v', 'k-'])).to.throw(UsageError);
    });

    it('reads multi-document YAML and Lists, with line numbers; rejects what is not an object', () => {
      const ms = parseManifests('apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n---\n# c\napiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Namespace, metadata: {name: b}}\n---\n', 'f.yaml');
      expect(ms.map((m) => [m.object.metadata.name, m.line])).to.deep.equal([['a', 1], ['b', 7]]);
      expect(() => parseManifests('- a\n- b\n', 'f.yaml')).to.throw(ManifestError, 'error validating f.yaml (document at line 1): expected an object with apiVersion, kind and metadata, found a list');
      expect(() => parseManifests('apiVersion: v1\nkind: Pod\nmetadata: {}\n', 'f.yaml')).to.throw(ManifestError, 'metadata.name not set');
    });
  });
});
