// The controller manager's pure rules, without a cluster: the --controllers flag, and the node
// lifecycle controller's marks on an unreachable node.
import { expect } from 'chai';
import { parseControllers } from '../../controllers/manager.js';
import { CONTROLLERS } from '../../controllers/catalog.js';
import { markedUnknown, untainted, UNREACHABLE_TAINT_KEY } from '../../controllers/node-lifecycle/unreachable.js';
import { NodeSchema, PodSchema, type Node } from '../../shared/api/core.js';
import { ServiceSchema } from '../../shared/api/service.js';
import { desiredSlices } from '../../controllers/endpointslice/controller.js';
import { servingAddresses } from '../../controllers/ingress/controller.js';

describe('controller manager: pure rules', () => {
  it('parses --controllers the way kube-controller-manager does', () => {
    const known = ['nodelifecycle', 'podgc', 'disruption'];
    expect(parseControllers('*', known)).to.deep.equal(['nodelifecycle', 'podgc', 'disruption']);
    expect(parseControllers('*,-podgc', known)).to.deep.equal(['nodelifecycle', 'disruption']);
    expect(parseControllers('podgc', known)).to.deep.equal(['podgc']);
    expect(parseControllers('disruption,nodelifecycle', known), 'catalog order').to.deep.equal(['nodelifecycle', 'disruption']);
    expect(parseControllers('', known)).to.deep.equal([]);
    expect(() => parseControllers('nodelifecycle,bogus', known)).to.throw(/unknown controller "bogus"/);
    expect(() => parseControllers('*,-bogus', known)).to.throw(/unknown controller "bogus"/);
  });

  it('knows every controller of the catalog by a unique name, the moved ones included', () => {
    const names = CONTROLLERS.map((c) => c.name);
    expect(new Set(names).size).to.equal(names.length);
    expect(names).to.include.members(['nodelifecycle', 'podgc', 'disruption']);
    expect(parseControllers('*')).to.deep.equal(names);
  });

  it('marks a node Unknown with the unreachable taints, once, and untaints it', () => {
    const node: Node = NodeSchema.parse({
      metadata: { name: 'n', generation: 1 },
      spec: { taints: [{ key: 'other', effect: 'NoSchedule' }] },
      status: { conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2020-01-01T00:00:00Z' }, { type: 'MemoryPressure', status: 'False' }] },
    });
    const now = Date.parse('2021-02-03T04:05:06Z');
    const marked = markedUnknown(node, now)!;
    expect(marked.status.conditions?.map((c) => [c.type, c.status, c.reason])).to.deep.equal([
      ['Ready', 'Unknown', 'NodeStatusUnknown'],
      ['MemoryPressure', 'Unknown', 'NodeStatusUnknown'],
    ]);
    expect(marked.spec.taints?.map((t) => `${t.key}:${t.effect}`)).to.deep.equal(['other:NoSchedule', `${UNREACHABLE_TAINT_KEY}:NoSchedule`, `${UNREACHABLE_TAINT_KEY}:NoExecute`]);
    expect(marked.spec.taints?.[1]?.timeAdded).to.equal('2021-02-03T04:05:06Z');
    expect(node.spec.taints, 'the informer\'s object is left alone').to.have.length(1);
    expect(markedUnknown(marked, now + 1000), 'already marked: no write').to.equal(undefined);
    const healed = untainted(marked)!;
    expect(healed.spec.taints).to.deep.equal([{ key: 'other', effect: 'NoSchedule' }]);
    expect(untainted(healed)).to.equal(undefined);
  });

  it('cuts a Service\'s endpoints into slices of 100, one set per set of ports, and keeps an empty one', () => {
    const svc = ServiceSchema.parse({ metadata: { name: 'web', namespace: 'ns' }, spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] } });
    const pod = (i: number, httpPort: number, phase = 'Running') =>
      PodSchema.parse({
        metadata: { name: `p-${String(i).padStart(3, '0')}`, namespace: 'ns', labels: { app: 'web' } },
        spec: { containers: [{ name: 'c', image: 'x', ports: [{ name: 'http', containerPort: httpPort }] }] },
        status: { phase, podIP: `10.0.${Math.floor(i / 200)}.${(i % 200) + 1}`, conditions: [{ type: 'Ready', status: i % 2 ? 'True' : 'False' }] },
      });
    const pods = [...Array.from({ length: 230 }, (_, i) => pod(i, 8080)), pod(900, 9090), pod(901, 8080, 'Succeeded')];
    const slices = desiredSlices(svc, pods);
    expect(slices.map((s) => [s.ports.map((p) => p.port).join(), s.endpoints.length])).to.deep.equal([
      ['8080', 100],
      ['8080', 100],
      ['8080', 30],
      ['9090', 1],
    ]);
    expect(slices[0]!.endpoints[1]).to.deep.include({ addresses: ['10.0.0.2'], conditions: { ready: true, serving: true, terminating: false } });
    expect(slices.flatMap((s) => s.endpoints.map((e) => e.targetRef?.name))).to.not.include('p-901');
    expect(desiredSlices(svc, [])).to.deep.equal([{ endpoints: [], ports: [{ name: 'http', protocol: 'TCP' }] }]);
  });

  it('says where Ingresses are served: each Ready node that serves them, one entry per IP with its ports', () => {
    const node = (name: string, address: string | undefined, ready = true) =>
      NodeSchema.parse({
        metadata: { name, ...(address ? { annotations: { 'cell.dev/ingress-address': address } } : {}) },
        status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
      });
    const nodes = [node('a', '10.0.0.2:8080'), node('b', '10.0.0.1:8080'), node('c', '10.0.0.1:9090'), node('d', '127.0.0.1:8080'), node('e', undefined), node('f', '10.0.0.9:8080', false), node('g', 'nonsense')];
    expect(servingAddresses(nodes)).to.deep.equal([
      { ip: '10.0.0.1', ports: [{ port: 8080, protocol: 'TCP' }, { port: 9090, protocol: 'TCP' }] },
      { ip: '10.0.0.2', ports: [{ port: 8080, protocol: 'TCP' }] },
      { ip: '127.0.0.1', ports: [{ port: 8080, protocol: 'TCP' }] },
    ]);
    expect(servingAddresses([])).to.deep.equal([]);
  });
});
