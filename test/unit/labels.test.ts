import { expect } from 'chai';
import { ParseError } from '../../shared/errors.js';
import {
  LabelSelector,
  labelSelectorFromSpec,
  parseLabelSelector,
  type LabelSelectorSpec,
} from '../../shared/labels.js';
import { seededRandom } from '../harness/random.js';


describe('label selectors', () => {
  describe('parseLabelSelector: canonical form', () => {
    const cases: [string, string][] = [
      ['', ''],
      ['   ', ''],
      ['a=b', 'a=b'],
      ['a==b', 'a=b'],
      ['a!=b', 'a!=b'],
      ['a', 'a'],
      ['!a', '!a'],
      ['a=', 'a='],
      ['a!=', 'a!='],
      ['a in (x,y)', 'a in (x,y)'],
      ['a in (y,x,y)', 'a in (x,y)'],
      ['a notin (x)', 'a notin (x)'],
      ['a in(x)', 'a in (x)'],
      ['a in ()', 'a in ()'],
      ['x in (foo,,baz),y,z notin ()', 'x in (,baz,foo),y,z notin ()'],
      ['a in (x,)', 'a in (,x)'],
      ['a in (,x)', 'a in (,x)'],
      [' a = b ', 'a=b'],
      ['\ta\t==\tb\n', 'a=b'],
      ['a=b , c!=d', 'a=b,c!=d'],
      ['z=1,a=2', 'a=2,z=1'],
      ['! a', '!a'],
      ['a>5', 'a>5'],
      ['a < 10', 'a<10'],
      ['in in (in)', 'in in (in)'],
      ['notin notin (notin)', 'notin notin (notin)'],
      ['a=in', 'a=in'],
      ['example.com/app=web', 'example.com/app=web'],
      ['app.kubernetes.io/name in (web, api)', 'app.kubernetes.io/name in (api,web)'],
      ['a in (x),a notin (y)', 'a in (x),a notin (y)'],
      ['environment=production,tier!=frontend', 'environment=production,tier!=frontend'],
    ];
    for (const [input, canonical] of cases) {
      it(`${JSON.stringify(input)} → ${JSON.stringify(canonical)}`, () => {
        const selector = parseLabelSelector(input);
        expect(selector.toString()).to.equal(canonical);
        expect(parseLabelSelector(canonical).toString()).to.equal(canonical);
        expect(parseLabelSelector(canonical).requirements).to.deep.equal(selector.requirements);
      });
    }

    it('exposes requirements', () => {
      expect(parseLabelSelector('b in (y,x),a,!c,d==e').requirements).to.deep.equal([
        { key: 'a', operator: 'Exists', values: [] },
        { key: 'b', operator: 'In', values: ['x', 'y'] },
        { key: 'c', operator: 'DoesNotExist', values: [] },
        { key: 'd', operator: 'Equals', values: ['e'] },
      ]);
    });

    it('knows the everything selector', () => {
      expect(parseLabelSelector('').isEverything()).to.equal(true);
      expect(LabelSelector.everything().isEverything()).to.equal(true);
      expect(parseLabelSelector('a').isEverything()).to.equal(false);
    });
  });

  describe('parseLabelSelector: rejects bad syntax with ParseError', () => {
    const cases: [string, string][] = [
      ['a,', "found '', expected: identifier after ','"],
      [',a', "found ',', expected: !, identifier, or 'end of string'"],
      [',', "found ',', expected: !, identifier, or 'end of string'"],
      ['=b', "found '=', expected: !, identifier, or 'end of string'"],
      ['a b', 'unable to parse requirement'],
      ['a=b=c', "found '=', expected: ',' or 'end of string'"],
      ['a=b c', "found 'c', expected: ',' or 'end of string'"],
      ['!a=b', "found '=', expected: ',' or 'end of string'"],
      ['!', 'unable to parse requirement'],
      ['!!a', 'unable to parse requirement'],
      ['a!', 'unable to parse requirement'],
      ['a in x', "expected: '('"],
      ['a in (x', 'unable to parse requirement'],
      ['a in (x y)', 'unable to parse requirement'],
      ['a in (x))', "found ')', expected: ',' or 'end of string'"],
      ['a in', 'unable to parse requirement'],
      ['a=(', 'unable to parse requirement'],
      ['a,,b', 'expected: identifier'],
      ['a>b', 'must be an integer'],
      ['a>', 'must be an integer'],
      ['a<99999999999999999999', 'must be an integer'],
      ['Bad Key=x', 'unable to parse requirement'],
      ['-a=b', 'invalid label key'],
      ['a/b/c=d', 'invalid label key'],
      [`${'k'.repeat(64)}=v`, 'invalid label key'],
      ['a=-b', 'invalid label value'],
      ['a=b/c', 'invalid label value'],
      [`a=${'v'.repeat(64)}`, 'invalid label value'],
      ['a in (ok,-bad)', 'invalid label value'],
      ['a ~= b', 'unable to parse requirement'],
    ];
    for (const [input, message] of cases) {
      it(JSON.stringify(input.length > 40 ? `${input.slice(0, 40)}…` : input), () => {
        expect(() => parseLabelSelector(input)).to.throw(ParseError, message);
      });
    }

    it('rejects a non-string', () => {
      expect(() => parseLabelSelector(['a=b'] as unknown as string)).to.throw(ParseError);
    });
  });

  describe('matches', () => {
    const labels = { app: 'web', tier: 'frontend', version: '10', constructor: 'x' };
    const cases: [string, Record<string, string> | undefined, boolean][] = [
      ['', labels, true],
      ['', undefined, true],
      ['app=web', labels, true],
      ['app==web', labels, true],
      ['app=api', labels, false],
      ['app!=api', labels, true],
      ['app!=web', labels, false],
      ['missing!=x', labels, true], // absent keys satisfy != and notin
      ['missing=', labels, false], // but not = "", which needs the key
      ['app in (api,web)', labels, true],
      ['app in (api)', labels, false],
      ['missing in (x)', labels, false],
      ['app notin (api)', labels, true],
      ['app notin (web)', labels, false],
      ['missing notin (x)', labels, true],
      ['app', labels, true],
      ['missing', labels, false],
      ['!app', labels, false],
      ['!missing', labels, true],
      ['app=web,tier=frontend', labels, true],
      ['app=web,tier=backend', labels, false],
      ['version>9', labels, true],
      ['version>10', labels, false],
      ['version<11', labels, true],
      ['app>1', labels, false], // non-integer label value never compares
      ['missing<5', labels, false],
      ['toString', labels, false], // no inherited properties
      ['!hasOwnProperty', labels, true],
      ['constructor=x', labels, true],
      ['app', undefined, false],
      ['!app', undefined, true],
      ['app!=web', undefined, true],
    ];
    for (const [selector, set, expected] of cases) {
      it(`${JSON.stringify(selector)} ${expected ? 'matches' : 'does not match'} ${set ? 'the labels' : 'no labels'}`, () => {
        expect(parseLabelSelector(selector).matches(set)).to.equal(expected);
      });
    }
  });

  describe('labelSelectorFromSpec', () => {
    it('turns matchLabels into equality and matchExpressions into set requirements', () => {
      const selector = labelSelectorFromSpec({
        matchLabels: { app: 'web' },
        matchExpressions: [
          { key: 'tier', operator: 'In', values: ['frontend', 'edge'] },
          { key: 'canary', operator: 'DoesNotExist' },
          { key: 'zone', operator: 'Exists', values: [] },
          { key: 'env', operator: 'NotIn', values: ['dev'] },
        ],
      });
      expect(selector.toString()).to.equal('app=web,!canary,env notin (dev),tier in (edge,frontend),zone');
      expect(selector.matches({ app: 'web', tier: 'edge', zone: 'a' })).to.equal(true);
      expect(selector.matches({ app: 'web', tier: 'edge', zone: 'a', canary: 'y' })).to.equal(false);
      expect(selector.matches({ app: 'web', tier: 'edge' })).to.equal(false);
      expect(selector.matches({ app: 'web', tier: 'edge', zone: 'a', env: 'dev' })).to.equal(false);
      expect(parseLabelSelector(selector.toString()).requirements).to.deep.equal(selector.requirements);
    });

    it('an empty spec selects everything', () => {
      expect(labelSelectorFromSpec({}).isEverything()).to.equal(true);
      expect(labelSelectorFromSpec({ matchLabels: {}, matchExpressions: [] }).matches({ any: 'thing' })).to.equal(true);
    });

    it('keeps an empty matchLabels value', () => {
      const selector = labelSelectorFromSpec({ matchLabels: { a: '' } });
      expect(selector.toString()).to.equal('a=');
      expect(selector.matches({ a: '' })).to.equal(true);
      expect(selector.matches({})).to.equal(false);
    });

    const bad: [string, unknown, string][] = [
      ['In without values', { matchExpressions: [{ key: 'a', operator: 'In', values: [] }] }, "values set can't be empty"],
      ['NotIn without values', { matchExpressions: [{ key: 'a', operator: 'NotIn' }] }, "values set can't be empty"],
      ['Exists with values', { matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }, 'must be empty'],
      ['DoesNotExist with values', { matchExpressions: [{ key: 'a', operator: 'DoesNotExist', values: ['x'] }] }, 'must be empty'],
      ['an unknown operator', { matchExpressions: [{ key: 'a', operator: 'Equals', values: ['x'] }] }, 'not a valid label selector operator'],
      ['a lower-case operator', { matchExpressions: [{ key: 'a', operator: 'in', values: ['x'] }] }, 'not a valid label selector operator'],
      ['a bad key', { matchLabels: { 'bad key': 'x' } }, 'invalid label key'],
      ['a bad value', { matchLabels: { a: 'bad value' } }, 'invalid label value'],
      ['a bad expression value', { matchExpressions: [{ key: 'a', operator: 'In', values: ['ok', '?'] }] }, 'invalid label value'],
      ['a non-string label value', { matchLabels: { a: 1 } }, 'must be a string'],
      ['matchLabels as a list', { matchLabels: ['a'] }, 'matchLabels'],
      ['matchExpressions as an object', { matchExpressions: { key: 'a' } }, 'matchExpressions'],
      ['a missing key', { matchExpressions: [{ operator: 'Exists' }] }, 'key'],
      ['values that are not strings', { matchExpressions: [{ key: 'a', operator: 'In', values: [1] }] }, 'list of strings'],
      ['values that are not a list', { matchExpressions: [{ key: 'a', operator: 'In', values: 'x' }] }, 'list of strings'],
      ['null', null, 'must be an object'],
      ['a string', 'app=web', 'must be an object'],
    ];
    for (const [what, spec, message] of bad) {
      it(`rejects ${what}`, () => {
        expect(() => labelSelectorFromSpec(spec as LabelSelectorSpec)).to.throw(ParseError, message);
      });
    }
  });

  describe('fuzz', () => {
    function check(text: string): 'parsed' | 'rejected' {
      let selector: LabelSelector;
      try {
        selector = parseLabelSelector(text);
      } catch (err) {
        if (err instanceof ParseError) return 'rejected';
        throw new Error(`${JSON.stringify(text)} threw ${String(err)}`);
      }
      const canonical = selector.toString();
      const again = parseLabelSelector(canonical);
      expect(again.toString(), JSON.stringify(text)).to.equal(canonical);
      expect(again.requirements).to.deep.equal(selector.requirements);
      selector.matches({ a: 'b', in: '1' }); // must not throw
      return 'parsed';
    }

    it('selector-like token soup either parses and round-trips or throws ParseError', () => {
      const random = seededRandom(11);
      const pieces = ['a', 'b', 'in', 'notin', 'x.y/z', '1', '=', '==', '!=', '!', '(', ')', ',', ' ', '>', '<', '-', 'A'];
      const outcomes = { parsed: 0, rejected: 0 };
      for (let i = 0; i < 4000; i++) {
        let text = '';
        const length = Math.floor(random() * 8);
        for (let j = 0; j < length; j++) text += pieces[Math.floor(random() * pieces.length)];
        outcomes[check(text)]++;
      }
      expect(outcomes.parsed).to.be.greaterThan(200);
      expect(outcomes.rejected).to.be.greaterThan(200);
    });

    it('random code units never escape as anything but ParseError', () => {
      const random = seededRandom(12);
      for (let i = 0; i < 3000; i++) {
        const length = Math.floor(random() * 16);
        const units = Array.from({ length }, () =>
          random() < 0.5 ? Math.floor(random() * 128) : Math.floor(random() * 0x10000),
        );
        check(String.fromCharCode(...units));
      }
    });

    it('random specs either convert or throw ParseError', () => {
      const random = seededRandom(13);
      const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
      const keys: unknown[] = ['a', 'b/c', 'x.io/y', '', 'bad key', 1, undefined];
      const operators: unknown[] = ['In', 'NotIn', 'Exists', 'DoesNotExist', 'Equals', '', null, 3];
      const valueLists: unknown[] = [undefined, [], ['x'], ['x', ''], ['bad value'], 'x', [1], null];
      for (let i = 0; i < 2000; i++) {
        const spec = {
          matchLabels: random() < 0.5 ? undefined : { [String(pick(keys))]: pick(['v', '', 'bad value', 7]) },
          matchExpressions: Array.from({ length: Math.floor(random() * 3) }, () => ({
            key: pick(keys),
            operator: pick(operators),
            values: pick(valueLists),
          })),
        };
        try {
          const selector = labelSelectorFromSpec(spec as LabelSelectorSpec);
          expect(parseLabelSelector(selector.toString()).requirements).to.deep.equal(selector.requirements);
        } catch (err) {
          if (!(err instanceof ParseError)) throw err;
        }
      }
    });
  });
});
