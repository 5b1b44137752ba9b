// LimitRange admission's arithmetic on its own (apiserver/limits/admission.ts): init containers are
// filled in like the others, a pod's total is its containers' sum or its largest init container
// when that is more (they run one at a time, before the others), and several ranges apply in turn.
import { expect } from 'chai';
import { PodSchema, type Pod } from '../../shared/api/core.js';
import { LimitRangeSchema, type LimitRange } from '../../shared/api/limit-range.js';
import { admitPodWithinRanges } from '../../apiserver/limits/admission.js';

function pod(containers: Record<string, unknown>[], initContainers: Record<string, unknown>[] = []): Pod {
  const c = (x: Record<string, unknown>, i: number, prefix: string) => ({ name: `${prefix}${i}`, image: 'busybox', ...x });
  return PodSchema.parse({ metadata: { name: 'p', namespace: 'ns' }, spec: { containers: containers.map((x, i) => c(x, i, 'c')), initContainers: initContainers.map((x, i) => c(x, i, 'init')) } });
}

function range(name: string, limits: Record<string, unknown>[]): LimitRange {
  return LimitRangeSchema.parse({ metadata: { name, namespace: 'ns' }, spec: { limits } });
}

describe('LimitRange admission', () => {
  it('fills in init containers too, and totals a pod as its largest init container when that is more', () => {
    const p = pod([{ resources: { limits: { cpu: '300m' } } }, { resources: { limits: { cpu: '300m' } } }], [{}]);
    const { set, refused } = admitPodWithinRanges(p, [range('d', [{ type: 'Container', default: { cpu: '900m' } }]), range('p', [{ type: 'Pod', max: { cpu: '800m' } }])]);
    expect(p.spec.initContainers?.[0]?.resources).to.deep.equal({ requests: { cpu: '900m' }, limits: { cpu: '900m' } });
    expect(set).to.deep.equal(['cpu request for init0', 'cpu limit for init0']);
    // 300m + 300m = 600m, but the init container alone takes 900m.
    expect(refused).to.deep.equal(['maximum cpu usage per Pod is 800m, but limit is 900m']);
  });

  it('applies every range: the first to fill a gap wins, and each bounds', () => {
    const p = pod([{}]);
    const { refused } = admitPodWithinRanges(p, [
      range('a', [{ type: 'Container', defaultRequest: { memory: '128Mi' } }]),
      range('b', [{ type: 'Container', defaultRequest: { memory: '1Gi' }, min: { memory: '256Mi' } }]),
    ]);
    expect(p.spec.containers[0]?.resources.requests).to.deep.equal({ memory: '128Mi' });
    expect(refused).to.deep.equal(['minimum memory usage per Container is 256Mi, but request is 128Mi']);
  });
});
