import { expect } from 'chai';
import { BadRequestError, InvalidError, type FieldCause } from '../../shared/errors.js';
import {
  bindingKind,
  eventsResource,
  ingressClassesResource,
  ingressesResource,
  leasesResource,
  namespacesResource,
  nodeAllocationsResource,
  nodesResource,
  placementsResource,
  podGroupsResource,
  podsResource,
  type KindInfo,
} from '../../shared/api/registry.js';
import {
  strictDecodingError,
  unknownFields,
  validateDeleteOptions,
  validateObject,
  withoutNulls,
} from '../../shared/api/validation.js';

type Json = Record<string, unknown>;

function pod(spec: Json = {}, metadata: Json = {}, container: Json = {}): Json {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: 'default', ...metadata },
    spec: { containers: [{ name: 'app', image: 'busybox', ...container }], ...spec },
  };
}

function node(spec: Json = {}, status: Json = {}): Json {
  return { metadata: { name: 'node-1' }, spec, status };
}

/** Runs `fn`, expects a 422, and returns its causes. */
function invalid(fn: () => unknown): FieldCause[] {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(InvalidError);
    const e = err as InvalidError;
    expect(e.code).to.equal(422);
    return e.causes;
  }
  expect.fail('expected an InvalidError');
}

/** Expects a 422 with a cause on `field` (and `reason` when given). */
function expectCause(info: KindInfo, raw: unknown, field: string, reason?: string): FieldCause {
  const causes = invalid(() => validateObject(info, raw));
  const match = causes.find((c) => c.field === field);
  expect(match, `cause on ${field}; got ${JSON.stringify(causes)}`).to.not.equal(undefined);
  if (reason !== undefined) expect(match?.reason).to.equal(reason);
  return match as FieldCause;
}

describe('api validation', () => {
  describe('messages', () => {
    it('reads like kube-apiserver for one cause', () => {
      try {
        validateObject(podsResource, pod({}, {}, { name: '' }));
        expect.fail('expected an InvalidError');
      } catch (err) {
        expect(err).to.be.instanceOf(InvalidError);
        const e = err as InvalidError;
        expect(e.message).to.equal('Pod "web" is invalid: spec.containers[0].name: Required value');
        expect(e.subject).to.deep.equal({ kind: 'Pod', group: '', name: 'web' });
        expect(e.causes).to.deep.equal([{ reason: 'FieldValueRequired', field: 'spec.containers[0].name', message: 'Required value' }]);
      }
    });

    it('lists several causes in brackets', () => {
      try {
        validateObject(podsResource, pod({ restartPolicy: 'Sometimes' }, { name: 'Web' }));
        expect.fail('expected an InvalidError');
      } catch (err) {
        expect((err as Error).message).to.match(/^Pod "Web" is invalid: \[spec\.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never", metadata\.name: Invalid value: "Web": a lowercase RFC 1123 subdomain/);
      }
    });
  });

  describe('schema violations are 422s with Kubernetes paths', () => {
    it('missing containers', () => {
      expectCause(podsResource, { metadata: { name: 'web' }, spec: {} }, 'spec.containers', 'FieldValueRequired');
    });
    it('wrong types', () => {
      expectCause(podsResource, pod({ priority: 'high' }), 'spec.priority', 'FieldValueTypeInvalid');
      expectCause(podsResource, pod({ priority: 1.5 }), 'spec.priority', 'FieldValueTypeInvalid');
      expectCause(podsResource, pod({}, { labels: { app: 5 } }), 'metadata.labels.app', 'FieldValueTypeInvalid');
      expectCause(podsResource, pod({}, {}, { args: ['a', null] }), 'spec.containers[0].args[1]', 'FieldValueTypeInvalid');
    });
    it('unsupported enum values', () => {
      expectCause(podsResource, pod({ restartPolicy: 'Sometimes' }), 'spec.restartPolicy', 'FieldValueNotSupported');
      expectCause(nodesResource, node({ taints: [{ key: 'k', effect: 'Sometimes' }] }), 'spec.taints[0].effect', 'FieldValueNotSupported');
      expectCause(podsResource, pod({ tolerations: [{ key: 'k', operator: 'Matches' }] }), 'spec.tolerations[0].operator', 'FieldValueNotSupported');
    });
    it('unparseable quantities, on the quantity\'s own path', () => {
      const c = expectCause(
        podsResource,
        pod({}, {}, { resources: { requests: { cpu: 'lots' } } }),
        'spec.containers[0].resources.requests.cpu',
        'FieldValueInvalid',
      );
      expect(c.message).to.match(/^Invalid value: "lots": /);
      expectCause(podsResource, pod({}, {}, { resources: { limits: { 'nvidia.com/gpu': 'x' } } }), 'spec.containers[0].resources.limits[nvidia.com/gpu]');
      expectCause(nodesResource, node({}, { capacity: { memory: '8Gb' } }), 'status.capacity.memory');
      expectCause(podGroupsResource, { metadata: { name: 'g', namespace: 'default' }, spec: { minMember: 2, minResources: { cpu: true } } }, 'spec.minResources.cpu', 'FieldValueTypeInvalid');
    });
    it('bad timestamps', () => {
      expectCause(podsResource, pod({}, { creationTimestamp: 'yesterday' }), 'metadata.creationTimestamp', 'FieldValueInvalid');
    });
  });

  describe('type meta', () => {
    it('rejects another apiVersion or kind with 400', () => {
      expect(() => validateObject(podsResource, { ...pod(), apiVersion: 'v2' })).to.throw(BadRequestError, /API version in the data \(v2\)/);
      expect(() => validateObject(podsResource, { ...pod(), kind: 'Node' })).to.throw(BadRequestError, /kind in the data \(Node\)/);
      expect(() => validateObject(podsResource, [pod()])).to.throw(BadRequestError);
      expect(() => validateObject(podsResource, 'pod')).to.throw(BadRequestError);
    });
  });

  describe('metadata', () => {
    it('names: DNS-1123 subdomain for pods, label for namespaces, name or generateName required', () => {
      expectCause(podsResource, pod({}, { name: 'Web_1' }), 'metadata.name', 'FieldValueInvalid');
      expect(validateObject(podsResource, pod({}, { name: 'web.v1' })).metadata.name).to.equal('web.v1');
      expectCause(namespacesResource, { metadata: { name: 'team.a' } }, 'metadata.name', 'FieldValueInvalid');
      expectCause(podsResource, pod({}, { name: undefined }), 'metadata.name', 'FieldValueRequired');
      expect(validateObject(podsResource, pod({}, { name: undefined, generateName: 'web-' })).metadata.generateName).to.equal('web-');
      expectCause(podsResource, pod({}, { name: undefined, generateName: 'Web-' }), 'metadata.generateName');
      expectCause(podsResource, pod({}, { namespace: 'Default' }), 'metadata.namespace');
    });

    it('a Placement needs no name', () => {
      expect(validateObject(placementsResource, { spec: { bindings: [{ podName: 'a', nodeName: 'n' }] } }).metadata).to.deep.equal({});
    });

    it('clears the namespace of a cluster-scoped object', () => {
      expect(validateObject(nodesResource, { metadata: { name: 'n', namespace: 'default' } }).metadata).to.not.have.property('namespace');
    });

    it('label keys and values, annotation keys and total size', () => {
      const key = expectCause(podsResource, pod({}, { labels: { 'bad key': 'x' } }), 'metadata.labels', 'FieldValueInvalid');
      expect(key.message).to.contain('"bad key"');
      expectCause(podsResource, pod({}, { labels: { app: 'no spaces' } }), 'metadata.labels');
      expectCause(podsResource, pod({}, { labels: { 'a/b/c': 'x' } }), 'metadata.labels');
      expectCause(podsResource, pod({}, { annotations: { '-bad': 'x' } }), 'metadata.annotations');
      expect(validateObject(podsResource, pod({}, { annotations: { 'Example.com/Note': 'free text, any length' } }))).to.be.an('object');
      expectCause(podsResource, pod({}, { annotations: { big: 'x'.repeat(256 * 1024) } }), 'metadata.annotations', 'FieldValueTooLong');
    });

    it('finalizers and owner references', () => {
      expectCause(podsResource, pod({}, { finalizers: ['not valid!'] }), 'metadata.finalizers[0]');
      const owner = { apiVersion: 'v1', kind: 'X', name: 'x', uid: 'u', controller: true };
      expectCause(podsResource, pod({}, { ownerReferences: [owner, { ...owner, uid: 'v' }] }), 'metadata.ownerReferences');
      expectCause(podsResource, pod({}, { ownerReferences: [{ apiVersion: 'v1', kind: 'X', name: 'x' }] }), 'metadata.ownerReferences[0].uid', 'FieldValueRequired');
    });
  });

  describe('pods', () => {
    it('containers: non-empty, named, unique, with an image', () => {
      expectCause(podsResource, pod({ containers: [] }), 'spec.containers', 'FieldValueRequired');
      expectCause(podsResource, pod({}, {}, { name: 'App' }), 'spec.containers[0].name', 'FieldValueInvalid');
      expectCause(podsResource, pod({}, {}, { image: '' }), 'spec.containers[0].image', 'FieldValueRequired');
      expectCause(podsResource, pod({}, {}, { image: undefined }), 'spec.containers[0].image', 'FieldValueRequired');
      const twice = { name: 'app', image: 'x' };
      expectCause(podsResource, pod({ containers: [twice, twice] }), 'spec.containers[1].name', 'FieldValueDuplicate');
      expectCause(podsResource, pod({ initContainers: [twice] }), 'spec.containers[0].name', 'FieldValueDuplicate');
    });

    it('env var names', () => {
      expectCause(podsResource, pod({}, {}, { env: [{ name: '1ABC', value: 'x' }] }), 'spec.containers[0].env[0].name');
      expectCause(podsResource, pod({}, {}, { env: [{ name: '', value: 'x' }] }), 'spec.containers[0].env[0].name', 'FieldValueRequired');
    });

    it('ports in 1..65535, named well, host ports unique', () => {
      expectCause(podsResource, pod({}, {}, { ports: [{ containerPort: 0 }] }), 'spec.containers[0].ports[0].containerPort');
      expectCause(podsResource, pod({}, {}, { ports: [{ containerPort: 70000 }] }), 'spec.containers[0].ports[0].containerPort');
      expectCause(podsResource, pod({}, {}, { ports: [{ containerPort: 80, hostPort: 65536 }] }), 'spec.containers[0].ports[0].hostPort');
      expectCause(podsResource, pod({}, {}, { ports: [{ containerPort: 80, name: 'HTTP' }] }), 'spec.containers[0].ports[0].name');
      expectCause(
        podsResource,
        pod({}, {}, { ports: [{ containerPort: 80, name: 'http' }, { containerPort: 81, name: 'http' }] }),
        'spec.containers[0].ports[1].name',
        'FieldValueDuplicate',
      );
      expectCause(
        podsResource,
        pod({ containers: [
          { name: 'a', image: 'x', ports: [{ containerPort: 80, hostPort: 8080 }] },
          { name: 'b', image: 'x', ports: [{ containerPort: 81, hostPort: 8080 }] },
        ] }),
        'spec.containers[1].ports[0].hostPort',
        'FieldValueDuplicate',
      );
      expectCause(podsResource, pod({ hostNetwork: true }, {}, { ports: [{ containerPort: 80, hostPort: 81 }] }), 'spec.containers[0].ports[0].hostPort');
      // Same port number on different protocols is fine.
      expect(validateObject(podsResource, pod({}, {}, { ports: [{ containerPort: 53, hostPort: 53 }, { containerPort: 53, hostPort: 53, protocol: 'UDP' }] }))).to.be.an('object');
    });

    it('resources: known names, non-negative, requests within limits, whole extended resources', () => {
      const at = (list: string, name: string) => `spec.containers[0].resources.${list}${name.includes('/') ? `[${name}]` : `.${name}`}`;
      expectCause(podsResource, pod({}, {}, { resources: { requests: { cpu: '-1' } } }), at('requests', 'cpu'));
      expectCause(podsResource, pod({}, {}, { resources: { requests: { gpu: '1' } } }), at('requests', 'gpu'));
      expectCause(podsResource, pod({}, {}, { resources: { requests: { pods: '1' } } }), at('requests', 'pods'));
      const over = expectCause(podsResource, pod({}, {}, { resources: { requests: { cpu: '2' }, limits: { cpu: '1' } } }), at('requests', 'cpu'));
      expect(over.message).to.equal('Invalid value: "2": must be less than or equal to cpu limit of 1');
      expectCause(podsResource, pod({}, {}, { resources: { requests: { 'nvidia.com/gpu': '500m' } } }), at('requests', 'nvidia.com/gpu'));
      expectCause(podsResource, pod({}, {}, { resources: { requests: { 'nvidia.com/gpu': 1 }, limits: { 'nvidia.com/gpu': 2 } } }), at('requests', 'nvidia.com/gpu'));
      const ok = validateObject(podsResource, pod({}, {}, { resources: { requests: { cpu: 0.5, memory: '1Gi', 'nvidia.com/gpu': 1, 'hugepages-2Mi': '2Mi' } } }));
      expect(ok.spec.containers[0]?.resources.requests).to.deep.equal({ cpu: '500m', memory: '1Gi', 'nvidia.com/gpu': '1', 'hugepages-2Mi': '2Mi' });
    });

    it('tolerations: operator rules, effect with tolerationSeconds', () => {
      expectCause(podsResource, pod({ tolerations: [{ key: 'k', operator: 'Exists', value: 'v' }] }), 'spec.tolerations[0].operator', 'FieldValueInvalid');
      expectCause(podsResource, pod({ tolerations: [{ operator: 'Equal', value: 'v' }] }), 'spec.tolerations[0].operator');
      expectCause(podsResource, pod({ tolerations: [{ key: 'k', operator: 'Exists', effect: 'NoSchedule', tolerationSeconds: 5 }] }), 'spec.tolerations[0].effect');
      expectCause(podsResource, pod({ tolerations: [{ key: 'bad key', operator: 'Exists' }] }), 'spec.tolerations[0].key');
      expect(validateObject(podsResource, pod({ tolerations: [{ operator: 'Exists' }] }))).to.be.an('object');
    });

    it('scalar fields', () => {
      expectCause(podsResource, pod({ terminationGracePeriodSeconds: -1 }), 'spec.terminationGracePeriodSeconds');
      expectCause(podsResource, pod({ activeDeadlineSeconds: 0 }), 'spec.activeDeadlineSeconds');
      expectCause(podsResource, pod({ priority: 2 ** 31 }), 'spec.priority');
      expectCause(podsResource, pod({ nodeName: 'Node_1' }), 'spec.nodeName');
      expectCause(podsResource, pod({ schedulerName: 'My Scheduler' }), 'spec.schedulerName');
      expectCause(podsResource, pod({ nodeSelector: { 'disk type': 'ssd' } }), 'spec.nodeSelector');
    });

    it('node affinity terms', () => {
      const base = 'spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms';
      const required = (terms: unknown[]) => pod({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } } } });
      expectCause(podsResource, required([]), base, 'FieldValueRequired');
      expectCause(podsResource, required([{ matchExpressions: [{ key: 'zone', operator: 'In' }] }]), `${base}[0].matchExpressions[0].values`, 'FieldValueRequired');
      expectCause(podsResource, required([{ matchExpressions: [{ key: 'zone', operator: 'Exists', values: ['a'] }] }]), `${base}[0].matchExpressions[0].values`, 'FieldValueForbidden');
      expectCause(podsResource, required([{ matchExpressions: [{ key: 'cores', operator: 'Gt', values: ['many'] }] }]), `${base}[0].matchExpressions[0].values[0]`);
      expectCause(podsResource, required([{ matchExpressions: [{ key: 'zone', operator: 'Near', values: ['a'] }] }]), `${base}[0].matchExpressions[0].operator`, 'FieldValueNotSupported');
      expectCause(podsResource, required([{ matchFields: [{ key: 'metadata.uid', operator: 'In', values: ['a'] }] }]), `${base}[0].matchFields[0].key`, 'FieldValueNotSupported');
      expect(validateObject(podsResource, required([{ matchExpressions: [{ key: 'cores', operator: 'Gt', values: ['4'] }], matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }] }]))).to.be.an('object');
      expectCause(
        podsResource,
        pod({ affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 0, preference: {} }] } } }),
        'spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight',
      );
    });

    it('pod (anti-)affinity terms and topology spread', () => {
      expectCause(
        podsResource,
        pod({ affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'web' } }, topologyKey: '' }] } } }),
        'spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey',
        'FieldValueRequired',
      );
      expectCause(
        podsResource,
        pod({ affinity: { podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 101, podAffinityTerm: { topologyKey: 'zone' } }] } } }),
        'spec.affinity.podAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight',
      );
      expectCause(
        podsResource,
        pod({ affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'kubernetes.io/hostname', labelSelector: { matchExpressions: [{ key: 'app', operator: 'NotIn' }] } }] } } }),
        'spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector.matchExpressions[0].values',
      );
      const spread = (c: Json) => ({ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule', ...c });
      expectCause(podsResource, pod({ topologySpreadConstraints: [spread({ maxSkew: 0 })] }), 'spec.topologySpreadConstraints[0].maxSkew');
      expectCause(podsResource, pod({ topologySpreadConstraints: [spread({ whenUnsatisfiable: 'Maybe' })] }), 'spec.topologySpreadConstraints[0].whenUnsatisfiable', 'FieldValueNotSupported');
      expectCause(podsResource, pod({ topologySpreadConstraints: [spread({}), spread({})] }), 'spec.topologySpreadConstraints[1]', 'FieldValueDuplicate');
      expectCause(podsResource, pod({ topologySpreadConstraints: [spread({ whenUnsatisfiable: 'ScheduleAnyway', minDomains: 2 })] }), 'spec.topologySpreadConstraints[0].minDomains');
    });
  });

  describe('other kinds', () => {
    it('nodes: taints and resources', () => {
      expectCause(nodesResource, node({ taints: [{ key: '', effect: 'NoSchedule' }] }), 'spec.taints[0].key', 'FieldValueRequired');
      expectCause(nodesResource, node({ taints: [{ key: 'k', effect: 'NoSchedule' }, { key: 'k', value: 'v', effect: 'NoSchedule' }] }), 'spec.taints[1]', 'FieldValueDuplicate');
      expectCause(nodesResource, node({ taints: [{ key: 'k' }] }), 'spec.taints[0].effect', 'FieldValueRequired');
      expectCause(nodesResource, node({}, { allocatable: { cpu: '-2' } }), 'status.allocatable.cpu');
      expectCause(nodesResource, node({}, { capacity: { widgets: '2' } }), 'status.capacity.widgets');
      const ok = validateObject(nodesResource, node({ taints: [{ key: 'gpu', value: 'true', effect: 'NoSchedule' }, { key: 'gpu', value: 'true', effect: 'NoExecute' }] }, { capacity: { cpu: 4, pods: 110, 'nvidia.com/gpu': 2 } }));
      expect(ok.status.allocatable).to.deep.equal({ cpu: '4', pods: '110', 'nvidia.com/gpu': '2' });
    });

    it('ingresses and ingress classes, with Kubernetes\' rules and wording', () => {
      const ing = (spec: Json) => ({ metadata: { name: 'web', namespace: 'default' }, spec });
      const svc = (name: string, port: Json = { number: 80 }) => ({ service: { name, port } });
      const path = (p: Json) => ing({ rules: [{ host: 'shop.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: svc('web'), ...p }] } }] });
      expect(expectCause(ingressesResource, ing({}), 'spec').message).to.contain('either `defaultBackend` or `rules` must be specified');
      expectCause(ingressesResource, path({ pathType: undefined }), 'spec.rules[0].http.paths[0].pathType', 'FieldValueRequired');
      expectCause(ingressesResource, path({ pathType: 'Regex' }), 'spec.rules[0].http.paths[0].pathType', 'FieldValueNotSupported');
      expect(expectCause(ingressesResource, path({ path: 'cart', pathType: 'Exact' }), 'spec.rules[0].http.paths[0].path').message).to.contain('must be an absolute path');
      expect(expectCause(ingressesResource, path({ backend: { service: { name: 'web', port: { name: 'http', number: 80 } } } }), 'spec.rules[0].http.paths[0].backend.service.port').message).to.contain('cannot set both port name & port number');
      expectCause(ingressesResource, path({ backend: svc('web', {}) }), 'spec.rules[0].http.paths[0].backend.service.port', 'FieldValueRequired');
      expectCause(ingressesResource, path({ backend: svc('Web_1') }), 'spec.rules[0].http.paths[0].backend.service.name');
      expectCause(ingressesResource, path({ backend: svc('web', { number: 70000 }) }), 'spec.rules[0].http.paths[0].backend.service.port.number');
      expect(expectCause(ingressesResource, path({ backend: {} }), 'spec.rules[0].http.paths[0].backend').message).to.contain('one backend (service or resource) must be specified');
      const hostCause = (host: string) => expectCause(ingressesResource, ing({ rules: [{ host, http: { paths: [{ path: '/', pathType: 'Prefix', backend: svc('web') }] } }] }), 'spec.rules[0].host').message;
      expect(hostCause('10.0.0.1')).to.contain('must be a DNS name, not an IP address');
      expect(hostCause('shop.*.example.com')).to.contain("must start with '*.'");
      expect(hostCause('Shop.example.com')).to.contain('RFC 1123');
      expectCause(ingressesResource, ing({ rules: [{ host: 'x.dev', http: { paths: [] } }] }), 'spec.rules[0].http.paths', 'FieldValueRequired');
      const ok = validateObject(ingressesResource, ing({ defaultBackend: svc('web'), rules: [{ host: '*.example.com', http: { paths: [{ path: '/', pathType: 'ImplementationSpecific', backend: svc('web', { name: 'http' }) }] } }] }));
      expect(ok.kind).to.equal('Ingress');

      const cls = (spec: Json) => ({ metadata: { name: 'cell' }, spec });
      expectCause(ingressClassesResource, cls({}), 'spec.controller', 'FieldValueRequired');
      expect(expectCause(ingressClassesResource, cls({ controller: 'nginx' }), 'spec.controller').message).to.contain('must be a domain-prefixed path');
      expectCause(ingressClassesResource, cls({ controller: 'cell.dev/x', parameters: { kind: 'Config', name: 'c', scope: 'Namespace' } }), 'spec.parameters.namespace', 'FieldValueRequired');
      expect(validateObject(ingressClassesResource, cls({ controller: 'cell.dev/ingress-proxy' })).kind).to.equal('IngressClass');
    });

    it('events: namespace agrees with the involved object', () => {
      const ev = (ns: string, involvedNs?: string) => ({ metadata: { name: 'e', namespace: ns }, involvedObject: { kind: 'Pod', name: 'p', namespace: involvedNs } });
      expectCause(eventsResource, ev('default', 'other'), 'involvedObject.namespace');
      expectCause(eventsResource, ev('other'), 'involvedObject.namespace');
      expect(validateObject(eventsResource, ev('default'))).to.be.an('object');
      expectCause(eventsResource, { ...ev('default', 'default'), type: 'Info' }, 'type', 'FieldValueNotSupported');
      expectCause(eventsResource, { metadata: { name: 'e' } }, 'involvedObject', 'FieldValueRequired');
    });

    it('bindings name a node target', () => {
      const b = (target: Json, annotations?: Json) => ({ metadata: { name: 'web', namespace: 'default', annotations }, target });
      expectCause(bindingKind, b({ kind: 'Node' }), 'target.name', 'FieldValueRequired');
      expectCause(bindingKind, b({ kind: 'Pod', name: 'n' }), 'target.kind', 'FieldValueNotSupported');
      expectCause(bindingKind, b({ name: 'n' }, { 'scheduling.cell.dev/allocation-resource-version': 'abc' }), 'metadata.annotations[scheduling.cell.dev/allocation-resource-version]');
      expect(validateObject(bindingKind, b({ name: 'n' }, { 'scheduling.cell.dev/allocation-resource-version': '42' })).target.name).to.equal('n');
    });

    it('leases', () => {
      const lease = (spec: Json) => ({ metadata: { name: 'l', namespace: 'kube-node-lease' }, spec });
      expectCause(leasesResource, lease({ leaseDurationSeconds: 0 }), 'spec.leaseDurationSeconds');
      expectCause(leasesResource, lease({ leaseTransitions: -1 }), 'spec.leaseTransitions');
      expectCause(leasesResource, lease({ renewTime: 'now' }), 'spec.renewTime');
      expect(validateObject(leasesResource, lease({ holderIdentity: 'node-1', leaseDurationSeconds: 40, renewTime: '2024-05-01T10:00:00.123456Z' }))).to.be.an('object');
    });

    it('pod groups: minMember ≥ 1', () => {
      const pg = (spec: Json) => ({ metadata: { name: 'g', namespace: 'default' }, spec });
      expectCause(podGroupsResource, pg({ minMember: 0 }), 'spec.minMember', 'FieldValueInvalid');
      expectCause(podGroupsResource, pg({}), 'spec.minMember', 'FieldValueRequired');
      expectCause(podGroupsResource, pg({ minMember: 2, scheduleTimeoutSeconds: -5 }), 'spec.scheduleTimeoutSeconds');
      expectCause(podGroupsResource, { ...pg({ minMember: 2 }), status: { phase: 'Waiting' } }, 'status.phase', 'FieldValueNotSupported');
    });

    it('node allocations: unique pod uids, sane amounts', () => {
      const na = (spec: Json) => ({ metadata: { name: 'node-1' }, spec });
      const entry = { uid: 'u1', namespace: 'default', name: 'a', requests: { cpu: '1' } };
      expectCause(nodeAllocationsResource, na({ pods: [entry, { ...entry, name: 'b' }] }), 'spec.pods[1].uid', 'FieldValueDuplicate');
      expectCause(nodeAllocationsResource, na({ allocated: { cpu: '-1' } }), 'spec.allocated.cpu');
      expectCause(nodeAllocationsResource, na({ hostPorts: [{ port: 0, podUID: 'u1' }] }), 'spec.hostPorts[0].port');
      const ok = validateObject(nodeAllocationsResource, na({ allocated: { cpu: '1', pods: 1 }, pods: [entry], hostPorts: [{ port: 80, podUID: 'u1' }] }));
      expect(ok.spec.hostPorts[0]?.protocol).to.equal('TCP');
    });

    it('placements: at least one binding, no pod twice, coarse mode needs versions', () => {
      const pl = (spec: Json) => ({ spec });
      const b = { podNamespace: 'default', podName: 'a', nodeName: 'n1' };
      expectCause(placementsResource, pl({ bindings: [] }), 'spec.bindings', 'FieldValueRequired');
      expectCause(placementsResource, pl({}), 'spec.bindings', 'FieldValueRequired');
      expectCause(placementsResource, pl({ bindings: [b, { ...b, nodeName: 'n2' }] }), 'spec.bindings[1]', 'FieldValueDuplicate');
      expectCause(placementsResource, pl({ bindings: [{ ...b, nodeName: '' }] }), 'spec.bindings[0].nodeName', 'FieldValueRequired');
      expectCause(placementsResource, pl({ conflictMode: 'Coarse', bindings: [b] }), 'spec.bindings[0].allocationResourceVersion', 'FieldValueRequired');
      expectCause(placementsResource, pl({ bindings: [{ ...b, allocationResourceVersion: 'v7' }] }), 'spec.bindings[0].allocationResourceVersion');
      expectCause(placementsResource, pl({ mode: 'Some', bindings: [b] }), 'spec.mode', 'FieldValueNotSupported');
      const ok = validateObject(placementsResource, pl({ mode: 'AllOrNothing', conflictMode: 'Coarse', bindings: [{ ...b, allocationResourceVersion: '17' }] }));
      expect(ok.spec.mode).to.equal('AllOrNothing');
    });
  });

  describe('unknown fields', () => {
    it('reports nested unknowns with Kubernetes paths', () => {
      const raw = pod({ foo: 1, containers: [{ name: 'a', image: 'x', bar: true, ports: [{ containerPort: 80, baz: 1 }] }] }, { qux: 'x' });
      expect(unknownFields(podsResource, raw)).to.have.members([
        'metadata.qux',
        'spec.foo',
        'spec.containers[0].bar',
        'spec.containers[0].ports[0].baz',
      ]);
    });

    it('does not report map keys, nulls, or legitimate Kubernetes fields cell ignores', () => {
      expect(unknownFields(podsResource, {
        ...pod({ dnsPolicy: 'ClusterFirst', volumes: [{ name: 'v', emptyDir: {} }], securityContext: { runAsUser: 1 } }, {
          labels: { anything: 'goes' },
          creationTimestamp: null,
          managedFields: [{ manager: 'kubectl', fieldsV1: { 'f:spec': {} } }],
        }, { volumeMounts: [{ name: 'v', mountPath: '/v' }], env: [{ name: 'A', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }] }),
        status: { hostIPs: [{ ip: '10.0.0.1' }] },
      })).to.deep.equal([]);
    });

    it('reports fields that would change scheduling if honoured', () => {
      expect(unknownFields(podsResource, pod({ overhead: { cpu: '1' }, schedulingGates: [{ name: 'g' }] }))).to.deep.equal(['spec.overhead', 'spec.schedulingGates']);
    });

    it('looks through defaulted and transformed parts of a schema', () => {
      expect(unknownFields(podsResource, pod({}, {}, { resources: { requests: { cpu: '1' }, claims: [] } }))).to.deep.equal(['spec.containers[0].resources.claims']);
      expect(unknownFields(nodesResource, node({}, { capacity: { cpu: '1' }, images: [], extra: 1 }))).to.deep.equal(['status.extra']);
    });

    it('words the Strict error as kube-apiserver does', () => {
      const err = strictDecodingError(podsResource, ['spec.foo', 'spec.bar']);
      expect(err.code).to.equal(400);
      expect(err.message).to.equal('Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field "spec.foo", unknown field "spec.bar"');
    });
  });

  describe('null members', () => {
    it('are removed at any depth, list elements stay, and nothing else is copied', () => {
      const untouched = { image: 'busybox', env: [{ name: 'A', value: 'b' }] };
      const raw = { metadata: { name: 'web', creationTimestamp: null }, spec: { containers: [untouched], nodeName: null }, args: ['a', null] };
      const out = withoutNulls(raw) as typeof raw;
      expect(out).to.deep.equal({ metadata: { name: 'web' }, spec: { containers: [untouched] }, args: ['a', null] });
      expect(out.spec.containers[0]).to.equal(untouched);
      expect(raw.metadata).to.have.property('creationTimestamp', null);
      const clean = { a: { b: [1, { c: 'd' }] } };
      expect(withoutNulls(clean)).to.equal(clean);
    });
  });

  describe('delete options', () => {
    it('accepts Kubernetes bodies and rejects bad ones with 422', () => {
      expect(validateDeleteOptions({ kind: 'DeleteOptions', apiVersion: 'v1', gracePeriodSeconds: 0, propagationPolicy: 'Background', preconditions: { uid: 'u' } })).to.include({ gracePeriodSeconds: 0 });
      expect(validateDeleteOptions(undefined)).to.deep.equal({});
      expect(invalid(() => validateDeleteOptions({ gracePeriodSeconds: -1 }))[0]?.field).to.equal('gracePeriodSeconds');
      expect(invalid(() => validateDeleteOptions({ dryRun: ['Some'] }))[0]?.field).to.equal('dryRun[0]');
      expect(invalid(() => validateDeleteOptions({ propagationPolicy: 'Sideways' }))[0]?.reason).to.equal('FieldValueNotSupported');
      expect(invalid(() => validateDeleteOptions({ orphanDependents: true, propagationPolicy: 'Orphan' }))[0]?.field).to.equal('propagationPolicy');
    });
  });
});
