import { expect } from 'chai';
import { InvalidError, ParseError } from '../../shared/errors.js';
import { Quantity } from '../../shared/quantity.js';
import {
  ResourceAmounts,
  add,
  parseResourceList,
  subtract,
  toResourceList,
  type ResourceList,
} from '../../shared/resources.js';
import { seededRandom } from '../harness/random.js';


const list = (l: ResourceList): ResourceAmounts => parseResourceList(l);

describe('resources', () => {
  describe('parseResourceList', () => {
    it('parses strings and JSON numbers into milli-units', () => {
      const amounts = list({ cpu: '500m', memory: '1Gi', pods: 110, 'nvidia.com/gpu': '2' });
      expect(amounts.get('cpu')).to.equal(500n);
      expect(amounts.get('memory')).to.equal(1073741824000n);
      expect(amounts.get('pods')).to.equal(110000n);
      expect(amounts.get('nvidia.com/gpu')).to.equal(2000n);
      expect(amounts.names()).to.deep.equal(['cpu', 'memory', 'pods', 'nvidia.com/gpu']);
      expect(amounts.size).to.equal(4);
    });

    it('treats a missing resource as zero', () => {
      const amounts = list({ cpu: '1' });
      expect(amounts.get('memory')).to.equal(0n);
      expect(amounts.has('memory')).to.equal(false);
      expect(amounts.has('cpu')).to.equal(true);
    });

    it('treats an absent list as empty', () => {
      expect(parseResourceList(undefined).size).to.equal(0);
      expect(parseResourceList({}).size).to.equal(0);
    });

    it('accepts zero', () => {
      expect(list({ cpu: '0' }).get('cpu')).to.equal(0n);
    });

    const badValues: [string, unknown][] = [
      ['garbage', 'abc'],
      ['a bad suffix', '1Gb'],
      ['an empty string', ''],
      ['a negative amount', '-1'],
      ['a negative number', -0.5],
      ['NaN', NaN],
      ['null', null],
      ['a boolean', true],
      ['an object', {}],
      ['an absurd amount', '1e40'],
    ];
    for (const [what, value] of badValues) {
      it(`rejects ${what} with ParseError when no field path is given`, () => {
        expect(() => list({ cpu: value as string })).to.throw(ParseError, 'cpu');
      });

      it(`rejects ${what} with a one-cause InvalidError under a field path`, () => {
        const path = 'spec.containers[0].resources.requests';
        let caught: unknown;
        try {
          parseResourceList({ cpu: value as string }, path);
        } catch (err) {
          caught = err;
        }
        expect(caught).to.be.instanceOf(InvalidError);
        const invalid = caught as InvalidError;
        expect(invalid.code).to.equal(422);
        expect(invalid.causes).to.have.length(1);
        expect(invalid.causes[0]?.reason).to.equal('FieldValueInvalid');
        expect(invalid.causes[0]?.field).to.equal(`${path}.cpu`);
        expect(invalid.causes[0]?.message).to.be.a('string').and.not.equal('');
        expect(invalid.message).to.contain(`${path}.cpu`);
      });
    }

    for (const name of ['', 'bad name', '-cpu', 'cpu-', 'a/b/c', '/cpu', 'Example.COM/gpu', 'x'.repeat(64)]) {
      it(`rejects resource name ${JSON.stringify(name)}`, () => {
        expect(() => list({ [name]: '1' })).to.throw(ParseError);
        let caught: unknown;
        try {
          parseResourceList({ [name]: '1' }, 'spec.resources.limits');
        } catch (err) {
          caught = err;
        }
        expect(caught).to.be.instanceOf(InvalidError);
        expect((caught as InvalidError).causes[0]?.field).to.equal(`spec.resources.limits.${name}`);
      });
    }

    it('accepts qualified names with a prefix', () => {
      expect(list({ 'example.com/foo': '3', hugepages_2Mi: '1Gi' }).get('example.com/foo')).to.equal(3000n);
    });

    it('rejects a list that is not an object', () => {
      for (const value of ['cpu=1', 5, ['1'], true]) {
        expect(() => parseResourceList(value as unknown as ResourceList)).to.throw(ParseError);
      }
    });
  });

  describe('toResourceList', () => {
    it('writes canonical strings in the format each amount came with', () => {
      expect(toResourceList(list({ cpu: '0.5', memory: '1.5Gi', storage: '1000M', pods: 110 }))).to.deep.equal({
        cpu: '500m',
        memory: '1536Mi',
        storage: '1G',
        pods: '110',
      });
    });

    it('round-trips through parseResourceList', () => {
      const original = { cpu: '1500m', memory: '3Gi', 'ephemeral-storage': '10G' };
      expect(toResourceList(list(toResourceList(list(original))))).to.deep.equal(original);
    });

    it('never touches the prototype, whatever the names', () => {
      const out = toResourceList(new ResourceAmounts([['__proto__', Quantity.parse('1')]]));
      expect(Object.getPrototypeOf(out)).to.equal(Object.prototype);
      expect(Object.keys(out)).to.deep.equal(['__proto__']);
    });
  });

  describe('add and subtract', () => {
    it('sums exactly', () => {
      let total = new ResourceAmounts();
      for (let i = 0; i < 1000; i++) total = add(total, list({ cpu: '1m', memory: '1Ki' }));
      expect(toResourceList(total)).to.deep.equal({ cpu: '1', memory: '1000Ki' });
    });

    it('unions resource names and keeps formats', () => {
      const sum = add(list({ cpu: '1', memory: '1Gi' }), list({ memory: '512Mi', 'nvidia.com/gpu': 1 }));
      expect(toResourceList(sum)).to.deep.equal({ cpu: '1', memory: '1536Mi', 'nvidia.com/gpu': '1' });
    });

    it('subtracts, allowing a negative remainder for over-committed nodes', () => {
      const free = subtract(list({ cpu: '4', memory: '8Gi' }), list({ cpu: '4500m', memory: '2Gi' }));
      expect(free.get('cpu')).to.equal(-500n);
      expect(toResourceList(free)).to.deep.equal({ cpu: '-500m', memory: '6Gi' });
    });

    it('subtracting a resource the left side lacks takes the right side format', () => {
      expect(toResourceList(subtract(list({}), list({ memory: '1Gi' })))).to.deep.equal({ memory: '-1Gi' });
    });

    it('leaves its inputs unchanged', () => {
      const a = list({ cpu: '1' });
      add(a, list({ cpu: '1' }));
      subtract(a, list({ cpu: '1' }));
      expect(a.get('cpu')).to.equal(1000n);
    });
  });

  describe('fuzz', () => {
    it('random lists parse or throw ParseError / InvalidError, never anything else', () => {
      const random = seededRandom(7);
      const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
      const names = ['cpu', 'memory', 'nvidia.com/gpu', '', 'bad name', '__proto__', 'constructor', 'a/b/c'];
      const values: unknown[] = ['1', '500m', '1Gi', '-1', 'x', '', 2, 0.25, NaN, null, true, {}, '1e30', '1.5Gi'];
      let parsed = 0;
      for (let i = 0; i < 2000; i++) {
        const entries = Array.from({ length: Math.floor(random() * 4) }, () => [pick(names), pick(values)] as const);
        const input = Object.fromEntries(entries) as ResourceList;
        const path = random() < 0.5 ? undefined : 'spec.overhead';
        try {
          const amounts = parseResourceList(input, path);
          parsed++;
          expect(toResourceList(list(toResourceList(amounts)))).to.deep.equal(toResourceList(amounts));
        } catch (err) {
          const expected = path === undefined ? ParseError : InvalidError;
          if (!(err instanceof expected)) throw err;
        }
      }
      expect(parsed).to.be.greaterThan(100);
    });
  });
});
