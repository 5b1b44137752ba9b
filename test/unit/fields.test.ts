import { expect } from 'chai';
import { ParseError } from '../../shared/errors.js';
import { FieldSelector, escapeFieldValue, parseFieldSelector } from '../../shared/fields.js';
import { seededRandom } from '../harness/random.js';


describe('field selectors', () => {
  describe('parse and canonical form', () => {
    const cases: [string, string, { field: string; operator: '=' | '!='; value: string }[]][] = [
      ['', '', []],
      [',', '', []],
      [',,', '', []],
      ['a=b', 'a=b', [{ field: 'a', operator: '=', value: 'b' }]],
      ['a==b', 'a=b', [{ field: 'a', operator: '=', value: 'b' }]],
      ['a!=b', 'a!=b', [{ field: 'a', operator: '!=', value: 'b' }]],
      ['a=', 'a=', [{ field: 'a', operator: '=', value: '' }]],
      ['a!=', 'a!=', [{ field: 'a', operator: '!=', value: '' }]],
      ['a=b,', 'a=b', [{ field: 'a', operator: '=', value: 'b' }]],
      [
        'status.phase!=Failed,spec.nodeName=node-1',
        'spec.nodeName=node-1,status.phase!=Failed',
        [
          { field: 'spec.nodeName', operator: '=', value: 'node-1' },
          { field: 'status.phase', operator: '!=', value: 'Failed' },
        ],
      ],
      ['a=b\\,c', 'a=b\\,c', [{ field: 'a', operator: '=', value: 'b,c' }]],
      ['a=b\\=c', 'a=b\\=c', [{ field: 'a', operator: '=', value: 'b=c' }]],
      ['a=b\\\\c', 'a=b\\\\c', [{ field: 'a', operator: '=', value: 'b\\c' }]],
      ['a=\\,,b=\\\\', 'a=\\,,b=\\\\', [
        { field: 'a', operator: '=', value: ',' },
        { field: 'b', operator: '=', value: '\\' },
      ]],
      ['a=b!c', 'a=b!c', [{ field: 'a', operator: '=', value: 'b!c' }]],
      ['a=b c', 'a=b c', [{ field: 'a', operator: '=', value: 'b c' }]], // no trimming, as in Kubernetes
      ['metadata.name=x,metadata.name=y', 'metadata.name=x,metadata.name=y', [
        { field: 'metadata.name', operator: '=', value: 'x' },
        { field: 'metadata.name', operator: '=', value: 'y' },
      ]],
    ];
    for (const [input, canonical, requirements] of cases) {
      it(`${JSON.stringify(input)} → ${JSON.stringify(canonical)}`, () => {
        const selector = parseFieldSelector(input);
        expect(selector.requirements).to.deep.equal(requirements);
        expect(selector.toString()).to.equal(canonical);
        expect(parseFieldSelector(canonical).requirements).to.deep.equal(requirements);
      });
    }

    it('knows the everything selector', () => {
      expect(parseFieldSelector('').isEverything()).to.equal(true);
      expect(FieldSelector.everything().isEverything()).to.equal(true);
      expect(parseFieldSelector('a=b').isEverything()).to.equal(false);
    });
  });

  describe('rejects bad syntax with ParseError', () => {
    const cases: [string, string][] = [
      ['a', "can't understand 'a'"],
      ['a=b,c', "can't understand 'c'"],
      ['=b', 'field name missing'],
      ['!=b', 'field name missing'],
      ['a=b=c', 'unescaped character in value: ='],
      ['a===b', 'unescaped character in value: ='],
      ['a!==b', 'unescaped character in value: ='],
      ['a=\\x', 'invalid escape sequence: \\x'],
      ['a=b\\', 'invalid escape sequence: \\'],
      ['a=\\n', 'invalid escape sequence'],
      ['a<b', "can't understand"],
    ];
    for (const [input, message] of cases) {
      it(JSON.stringify(input), () => {
        expect(() => parseFieldSelector(input)).to.throw(ParseError, message);
      });
    }

    it('rejects a non-string', () => {
      expect(() => parseFieldSelector(undefined as unknown as string)).to.throw(ParseError);
    });
  });

  describe('matches', () => {
    const fields = { 'metadata.name': 'web-1', 'spec.nodeName': 'node-1', 'status.phase': 'Running', 'odd,name': 'a=b', 'plain.name': 'a=b' };
    const cases: [string, boolean][] = [
      ['', true],
      ['metadata.name=web-1', true],
      ['metadata.name==web-1', true],
      ['metadata.name=web-2', false],
      ['metadata.name!=web-2', true],
      ['metadata.name!=web-1', false],
      ['spec.nodeName=node-1,status.phase=Running', true],
      ['spec.nodeName=node-1,status.phase!=Running', false],
      ['spec.nodeName=', false],
      ['spec.missing=', true], // an absent field is the empty string, as in Kubernetes
      ['spec.missing!=', false],
      ['spec.missing=x', false],
      ['spec.missing!=x', true],
      ['toString=', true], // no inherited properties
      ['odd\\,name=a\\=b', false], // field names are literal (no escapes), as in Kubernetes
      ['plain.name=a\\=b', true],
    ];
    for (const [selector, expected] of cases) {
      it(`${JSON.stringify(selector)} → ${expected}`, () => {
        expect(parseFieldSelector(selector).matches(fields)).to.equal(expected);
      });
    }
  });

  describe('exactMatch', () => {
    const cases: [string, string, string | undefined][] = [
      ['spec.nodeName=node-1', 'spec.nodeName', 'node-1'],
      ['spec.nodeName==node-1,status.phase=Running', 'spec.nodeName', 'node-1'],
      ['status.phase=Running,spec.nodeName=node-1', 'spec.nodeName', 'node-1'],
      ['spec.nodeName=', 'spec.nodeName', ''], // unscheduled pods
      ['spec.nodeName!=node-1', 'spec.nodeName', undefined],
      ['status.phase=Running', 'spec.nodeName', undefined],
      ['', 'spec.nodeName', undefined],
      ['spec.nodeName=a\\,b', 'spec.nodeName', 'a,b'],
    ];
    for (const [selector, field, expected] of cases) {
      it(`${JSON.stringify(selector)} requires ${field}=${String(expected)}`, () => {
        expect(parseFieldSelector(selector).exactMatch(field)).to.equal(expected);
      });
    }
  });

  describe('escapeFieldValue', () => {
    for (const value of ['plain', 'a,b', 'a=b', 'a\\b', '\\,=', '', 'ünïcödé']) {
      it(`round-trips ${JSON.stringify(value)}`, () => {
        const selector = parseFieldSelector(`f=${escapeFieldValue(value)}`);
        expect(selector.exactMatch('f')).to.equal(value);
        expect(selector.matches({ f: value })).to.equal(true);
      });
    }
  });

  describe('fuzz', () => {
    function check(text: string): 'parsed' | 'rejected' {
      let selector: FieldSelector;
      try {
        selector = parseFieldSelector(text);
      } catch (err) {
        if (err instanceof ParseError) return 'rejected';
        throw new Error(`${JSON.stringify(text)} threw ${String(err)}`);
      }
      const canonical = selector.toString();
      const again = parseFieldSelector(canonical);
      expect(again.requirements, JSON.stringify(text)).to.deep.equal(selector.requirements);
      expect(again.toString()).to.equal(canonical);
      selector.matches({ a: 'b' }); // must not throw
      return 'parsed';
    }

    it('selector-like strings either parse and round-trip or throw ParseError', () => {
      const random = seededRandom(21);
      const alphabet = 'ab.=!,\\ x';
      const outcomes = { parsed: 0, rejected: 0 };
      for (let i = 0; i < 4000; i++) {
        let text = '';
        const length = Math.floor(random() * 10);
        for (let j = 0; j < length; j++) text += alphabet.charAt(Math.floor(random() * alphabet.length));
        outcomes[check(text)]++;
      }
      expect(outcomes.parsed).to.be.greaterThan(200);
      expect(outcomes.rejected).to.be.greaterThan(200);
    });

    it('random code units never escape as anything but ParseError', () => {
      const random = seededRandom(22);
      for (let i = 0; i < 3000; i++) {
        const length = Math.floor(random() * 16);
        const units = Array.from({ length }, () =>
          random() < 0.5 ? Math.floor(random() * 128) : Math.floor(random() * 0x10000),
        );
        check(String.fromCharCode(...units));
      }
    });
  });
});
