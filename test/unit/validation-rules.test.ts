// Custom resources' CEL validation rules (apiserver/customresources/validation-rules.ts) on their own: how values are
// typed for CEL, which rules run on creates and updates, where a failure is reported, and what a
// definition's rules must be to compile.
import { expect } from 'chai';
import type { JSONSchemaProps } from '../../shared/api/apiextensions.js';
import { ValidationRules, validationRuleCauses, validationRuleWarnings } from '../../apiserver/customresources/validation-rules.js';

type Rule = NonNullable<JSONSchemaProps['x-kubernetes-validations']>[number];

/** A root schema whose spec has `properties` and the spec-level `rules`. */
function schema(properties: Record<string, JSONSchemaProps>, rules: Rule[] = []): JSONSchemaProps {
  return { type: 'object', properties: { spec: { type: 'object', properties, ...(rules.length > 0 ? { 'x-kubernetes-validations': rules } : {}) } } };
}

function check(s: JSONSchemaProps, spec: Record<string, unknown>, oldSpec?: Record<string, unknown>): string[] {
  const rules = ValidationRules.of(s, 'example.com/v1');
  const obj = (sp: Record<string, unknown>) => ({ apiVersion: 'example.com/v1', kind: 'Thing', metadata: { name: 'x', labels: { a: 'b' } }, spec: sp });
  return (rules?.check(obj(spec), oldSpec ? obj(oldSpec) : undefined) ?? []).map((c) => `${c.reason} ${c.field}: ${c.message}`);
}

describe('custom resource validation rules (CEL)', () => {
  it('has nothing to check for a schema without rules', () => {
    expect(ValidationRules.of(schema({ a: { type: 'integer' } }), 'example.com/v1')).to.equal(undefined);
  });

  it('types values by the schema: integers are ints, numbers doubles, date-times timestamps', () => {
    const s = schema(
      { count: { type: 'integer' }, ratio: { type: 'number' }, at: { type: 'string', format: 'date-time' }, free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
      [{ rule: 'self.count + 1 == 3 && self.ratio * 2.0 == 3.0 && self.at < timestamp("2030-01-01T00:00:00Z") && self.free.n + 1 == 5' }],
    );
    expect(check(s, { count: 2, ratio: 1.5, at: '2026-01-01T00:00:00Z', free: { n: 4 } })).to.deep.equal([]);
    expect(check(s, { count: 5, ratio: 1.5, at: '2026-01-01T00:00:00Z', free: { n: 4 } })).to.have.length(1);
  });

  it('offers Kubernetes\' list and string extensions', () => {
    const s = schema({ xs: { type: 'array', items: { type: 'integer' } }, name: { type: 'string' } }, [
      { rule: 'self.xs.isSorted() && self.xs.sum() == 6 && self.xs.min() == 1 && self.xs.max() == 3 && self.xs.indexOf(2) == 1' },
      { rule: 'self.name.charAt(0) == "w" && self.name.replace("-", "_") == "web_1" && self.name.find("[0-9]+") == "1" && self.name.split("-").size() == 2 && self.name.upperAscii() == "WEB-1"' },
    ]);
    expect(check(s, { xs: [1, 2, 3], name: 'web-1' })).to.deep.equal([]);
    expect(check(s, { xs: [3, 2, 1], name: 'web-1' })).to.have.length(1);
  });

  it('offers Kubernetes\' quantity library', () => {
    const s = schema({ request: { type: 'string' }, limit: { type: 'string' } }, [
      { rule: 'isQuantity(self.request) && isQuantity(self.limit)', message: 'not quantities' },
      { rule: '!isQuantity(self.request) || !isQuantity(self.limit) || !quantity(self.request).isGreaterThan(quantity(self.limit))', message: 'request above limit' },
      { rule: '!isQuantity(self.limit) || quantity(self.limit).add(quantity("1Gi")).sub(1).compareTo(quantity("3Gi")) < 0 && quantity("1024Mi") == quantity("1Gi") && quantity("1") != quantity("2") && quantity("1500m").sign() == 1 && !quantity("1500m").isInteger()' },
    ]);
    expect(check(s, { request: '512Mi', limit: '1Gi' })).to.deep.equal([]);
    expect(check(s, { request: '2Gi', limit: '1Gi' })).to.deep.equal(['FieldValueInvalid spec: Invalid value: "object": request above limit']);
    expect(check(s, { request: 'lots', limit: '1Gi' })).to.deep.equal(['FieldValueInvalid spec: Invalid value: "object": not quantities']);
    expect(check(s, { request: '1', limit: '3Gi' })).to.deep.equal([`FieldValueInvalid spec: Invalid value: "object": failed rule: ${s.properties!['spec']!['x-kubernetes-validations']![2]!.rule}`]);
  });

  it('offers Kubernetes\' IP, CIDR and URL libraries', () => {
    const s = schema({ addr: { type: 'string' }, net: { type: 'string' }, endpoint: { type: 'string' } }, [
      { rule: 'isIP(self.addr) && isCIDR(self.net) && isURL(self.endpoint)', message: 'malformed' },
      { rule: '!isIP(self.addr) || !isCIDR(self.net) || cidr(self.net).containsIP(self.addr)', message: 'outside the network' },
      { rule: '!isURL(self.endpoint) || url(self.endpoint).getScheme() == "https"', message: 'https only' },
    ]);
    expect(check(s, { addr: '10.1.2.3', net: '10.0.0.0/8', endpoint: 'https://api.example.com:8443/v1?a=1' })).to.deep.equal([]);
    expect(check(s, { addr: '192.168.0.1', net: '10.0.0.0/8', endpoint: 'http://x' })).to.deep.equal([
      'FieldValueInvalid spec: Invalid value: "object": outside the network',
      'FieldValueInvalid spec: Invalid value: "object": https only',
    ]);
    expect(check(s, { addr: '::ffff:10.0.0.1', net: '10.0.0.0/33', endpoint: 'nope' })).to.deep.equal(['FieldValueInvalid spec: Invalid value: "object": malformed']);
    const all = schema({ x: { type: 'string' } }, [
      {
        rule: [
          'ip("fd00::1").family() == 6 && ip("127.0.0.1").isLoopback() && ip("::").isUnspecified() && ip("8.8.8.8").isGlobalUnicast() && !ip("169.254.1.1").isGlobalUnicast()',
          'ip.isCanonical("2001:db8::1") && !ip.isCanonical("2001:db8:0:0:0:0:0:1")',
          'cidr("2001:db8::/32").containsIP("2001:db8:1::5") && !cidr("2001:db8::/32").containsIP("2001:db9::1") && cidr("10.0.0.0/8").containsCIDR("10.1.0.0/16") && !cidr("10.1.0.0/16").containsCIDR("10.0.0.0/8")',
          'string(cidr("10.1.2.3/8").masked()) == "10.0.0.0/8" && string(cidr("2001:db8::7/64").masked()) == "2001:db8::/64" && cidr("10.0.0.0/8").prefixLength() == 8 && string(cidr("10.0.0.0/8").ip()) == "10.0.0.0"',
          'url("https://[::1]:80/a%20b?x=1&x=2").getHostname() == "::1" && url("https://[::1]:80/a%20b?x=1&x=2").getPort() == "80" && url("https://h/a%20b?x=1&x=2").getEscapedPath() == "/a%20b" && url("https://h/p?x=1&x=2").getQuery()["x"] == ["1", "2"] && url("/relative/path").getHost() == ""',
        ].join(' && '),
      },
    ]);
    expect(validationRuleWarnings(all, 'root')).to.deep.equal([]);
    expect(check(all, { x: '' })).to.deep.equal([]);
  });

  it('reports at the rule\'s node, or at its fieldPath, with its reason and message', () => {
    const s = schema({ a: { type: 'integer' }, labels: { type: 'object', additionalProperties: { type: 'string' } } }, [
      { rule: 'self.a > 0', message: 'a must be positive', fieldPath: '.a' },
      { rule: 'has(self.labels)', reason: 'FieldValueRequired', message: 'labels are needed', fieldPath: '.labels' },
      { rule: '!has(self.labels) || !("app.kubernetes.io/name" in self.labels) || self.labels["app.kubernetes.io/name"] != ""', reason: 'FieldValueForbidden', fieldPath: ".labels['app.kubernetes.io/name']", messageExpression: '"empty name label"' },
    ]);
    expect(check(s, { a: 0 })).to.deep.equal(['FieldValueInvalid spec.a: Invalid value: "object": a must be positive', 'FieldValueRequired spec.labels: Required value: labels are needed']);
    expect(check(s, { a: 1, labels: { 'app.kubernetes.io/name': '' } })).to.deep.equal(['FieldValueForbidden spec.labels[app.kubernetes.io/name]: Forbidden: empty name label']);
  });

  it('a rule that errors fails with the error; a failing messageExpression falls back to the message', () => {
    const s = schema({ a: { type: 'integer' } }, [
      { rule: 'self.b > 0' },
      { rule: 'self.a > 5', message: 'a is small', messageExpression: 'self.nothing' },
    ]);
    expect(check(s, { a: 1 })).to.deep.equal(['FieldValueInvalid spec: Invalid value: "object": No such key: b evaluating rule: self.b > 0', 'FieldValueInvalid spec: Invalid value: "object": a is small']);
  });

  it('runs transition rules on updates only, or with optionalOldSelf always', () => {
    const s = schema({ a: { type: 'integer' } }, [
      { rule: 'self.a >= oldSelf.a', message: 'a may not go down' },
      { rule: 'oldSelf.hasValue() || self.a == 1', optionalOldSelf: true, message: 'a starts at 1' },
    ]);
    expect(check(s, { a: 1 })).to.deep.equal([]);
    expect(check(s, { a: 2 })).to.deep.equal(['FieldValueInvalid spec: Invalid value: "object": a starts at 1']);
    expect(check(s, { a: 2 }, { a: 3 })).to.deep.equal(['FieldValueInvalid spec: Invalid value: "object": a may not go down']);
    expect(check(s, { a: 4 }, { a: 3 })).to.deep.equal([]);
  });

  it('does not judge values an update left alone (ratcheting), and correlates list-map items by key', () => {
    const s = schema({
      limit: { type: 'integer', 'x-kubernetes-validations': [{ rule: 'self <= 10' }] },
      other: { type: 'integer' },
      ports: {
        type: 'array',
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['name'],
        items: { type: 'object', properties: { name: { type: 'string' }, port: { type: 'integer' } }, 'x-kubernetes-validations': [{ rule: 'self.port == oldSelf.port', message: 'fixed' }] },
      },
      plain: { type: 'array', items: { type: 'object', properties: { port: { type: 'integer' } }, 'x-kubernetes-validations': [{ rule: 'self.port == oldSelf.port' }] } },
    });
    expect(check(s, { limit: 50 })).to.have.length(1);
    expect(check(s, { limit: 50, other: 2 }, { limit: 50, other: 1 })).to.deep.equal([]);
    expect(check(s, { limit: 51 }, { limit: 50 })).to.have.length(1);
    const ports = [{ name: 'a', port: 1 }, { name: 'b', port: 2 }];
    expect(check(s, { ports: [ports[1], ports[0], { name: 'c', port: 3 }] }, { ports })).to.deep.equal([]);
    expect(check(s, { ports: [{ name: 'b', port: 5 }] }, { ports })).to.deep.equal(['FieldValueInvalid spec.ports[0]: Invalid value: "object": fixed']);
    // Items of a list that is not a map have no "before": their transition rules do not run.
    expect(check(s, { plain: [{ port: 9 }] }, { plain: [{ port: 1 }] })).to.deep.equal([]);
  });

  it('the root sees apiVersion, kind and only the name of the metadata', () => {
    const s: JSONSchemaProps = { type: 'object', 'x-kubernetes-validations': [{ rule: 'self.apiVersion == "example.com/v1" && self.metadata.name == "x" && !has(self.metadata.labels)' }] };
    expect(check(s, {})).to.deep.equal([]);
  });

  it('refuses, without evaluating, a value on which nested comprehensions would take more than a million iterations', () => {
    const s = schema({ xs: { type: 'array', items: { type: 'integer' }, 'x-kubernetes-validations': [{ rule: 'self.all(x, self.exists_one(y, y == x))', message: 'unique' }] } });
    const xs = (n: number) => Array.from({ length: n }, (_, i) => i);
    expect(check(s, { xs: xs(500) })).to.deep.equal([]);
    expect(check(s, { xs: [...xs(500), 1] })).to.deep.equal(['FieldValueInvalid spec.xs: Invalid value: "array": unique']);
    const refused = check(s, { xs: xs(5_000) });
    expect(refused).to.have.length(1);
    expect(refused[0]).to.contain('rule too costly for this value: comprehensions 2 deep over 5001 elements exceed 1000000 iterations');
  });

  it('a rule that does not compile (a definition stored before rules were checked) fails the writes it judges, naming it', () => {
    const s = schema({ a: { type: 'integer', 'x-kubernetes-validations': [{ rule: 'self >' }] } });
    expect(check(s, { a: 1 })).to.deep.equal(['FieldValueInvalid spec.a: Invalid value: "integer": rule does not compile: self >']);
    expect(check(s, {})).to.deep.equal([]);
  });

  it('a definition\'s rules must compile: one cause per bad field', () => {
    const s = schema({ a: { type: 'integer', 'x-kubernetes-validations': [{ rule: '' }, { rule: 'self >', message: 'x' }, { rule: 'self > 0', message: 'two\nlines' }] } }, [
      { rule: 'self.a > 0', reason: 'Nope' },
      { rule: 'self.a > 0', fieldPath: 'a' },
      { rule: 'self.a > 0', fieldPath: '.b' },
      { rule: 'self.a > 0', optionalOldSelf: true },
      { rule: 'self.a > 0', messageExpression: 'self.' },
      { rule: 'self.a >= oldSelf.a', optionalOldSelf: true },
    ]);
    const causes = validationRuleCauses(s, 'root');
    const spec = 'root.properties[spec].x-kubernetes-validations';
    const a = 'root.properties[spec].properties[a].x-kubernetes-validations';
    expect(causes.map((c) => c.field)).to.deep.equal([
      `${spec}[0].reason`,
      `${spec}[1].fieldPath`,
      `${spec}[2].fieldPath`,
      `${spec}[3].optionalOldSelf`,
      `${spec}[4].messageExpression`,
      `${a}[0].rule`,
      `${a}[1].rule`,
      `${a}[2].message`,
    ]);
    expect(causes.find((c) => c.field === `${a}[1].rule`)?.message).to.contain('compilation failed');
  });

  it('accepts, with a warning, and does not evaluate a rule that calls what this server does not provide', () => {
    const s = schema({ v: { type: 'string', 'x-kubernetes-validations': [{ rule: 'isSemver(self)' }, { rule: 'self != ""', messageExpression: 'semverMessage(self)', message: 'empty' }] } });
    expect(validationRuleCauses(s, 'root')).to.deep.equal([]);
    expect(validationRuleWarnings(s, 'root')).to.deep.equal([
      "root.properties[spec].properties[v].x-kubernetes-validations[0].rule: not evaluated: cell's CEL cannot run it (found no matching overload for 'isSemver(dyn)')",
    ]);
    expect(check(s, { v: 'not a version' })).to.deep.equal([]);
    // The rule beside it still runs; its message expression cannot, so the message stands.
    expect(check(s, { v: '' })).to.deep.equal(['FieldValueInvalid spec.v: Invalid value: "string": empty']);
  });
});
