import { expect } from 'chai';
import { ParseError } from '../../shared/errors.js';
import { Quantity, type QuantityFormat } from '../../shared/quantity.js';
import { seededRandom } from '../harness/random.js';


const q = (text: string | number): Quantity => Quantity.parse(text);

describe('Quantity', () => {
  describe('canonical form (toString)', () => {
    // Input → Kubernetes' canonical serialisation, except where noted as milli rounding.
    const cases: [string, string][] = [
      ['0', '0'],
      ['00', '0'],
      ['-0', '0'],
      ['0.000', '0'],
      ['0m', '0'],
      ['0Ki', '0'],
      ['0e5', '0'],
      ['1', '1'],
      ['+1', '1'],
      ['01', '1'],
      ['2', '2'],
      ['0.5', '500m'],
      ['.5', '500m'],
      ['5.', '5'],
      ['1.5', '1500m'],
      ['1.500', '1500m'],
      ['0.1', '100m'],
      ['0.001', '1m'],
      ['100m', '100m'],
      ['1000m', '1'],
      ['1500m', '1500m'],
      ['2000m', '2'],
      ['1000', '1k'],
      ['1100', '1100'],
      ['1000k', '1M'],
      ['1000000', '1M'],
      ['1200000', '1200k'],
      ['1.2M', '1200k'],
      ['1k', '1k'],
      ['1M', '1M'],
      ['1G', '1G'],
      ['1T', '1T'],
      ['1P', '1P'],
      ['1E', '1E'],
      ['9E', '9E'],
      ['1e3', '1e3'],
      ['1E3', '1e3'],
      ['1e+3', '1e3'],
      ['1e-3', '1e-3'],
      ['12e6', '12e6'],
      ['1.5e3', '1500'],
      ['0.5e0', '500e-3'],
      ['100e-3', '100e-3'],
      ['1e0', '1'],
      ['1Ki', '1Ki'],
      ['1Mi', '1Mi'],
      ['128Mi', '128Mi'],
      ['1Gi', '1Gi'],
      ['1Ti', '1Ti'],
      ['1Pi', '1Pi'],
      ['1Ei', '1Ei'],
      ['7Ei', '7Ei'],
      ['1024Ki', '1Mi'],
      ['1024Mi', '1Gi'],
      ['1536Ki', '1536Ki'],
      ['1.5Gi', '1536Mi'],
      ['0.5Mi', '512Ki'],
      ['0.5Ki', '512'], // below 1Ki a binary quantity is written in decimal
      ['1.5Ki', '1536'],
      ['1.1Ki', '1126400m'], // fractional: decimal so nothing is lost
      ['1024', '1024'], // no suffix: decimal, not binary
      ['-1', '-1'],
      ['-100m', '-100m'],
      ['-1.5', '-1500m'],
      ['-1Ki', '-1Ki'],
      ['-1.5Gi', '-1536Mi'],
      ['-1e3', '-1e3'],
      // Kubernetes keeps nano precision; this implementation rounds away from zero to milli.
      ['1n', '1m'],
      ['1u', '1m'],
      ['1000u', '1m'],
      ['1500u', '2m'],
      ['0.0001', '1m'],
      ['1.0001', '1001m'],
      ['-0.0001', '-1m'],
      ['1e-30', '1e-3'],
    ];
    for (const [input, expected] of cases) {
      it(`${JSON.stringify(input)} → ${JSON.stringify(expected)}`, () => {
        expect(q(input).toString()).to.equal(expected);
        // Canonical output is a fixed point.
        expect(q(expected).toString()).to.equal(expected);
        expect(q(expected).milliValue()).to.equal(q(input).milliValue());
      });
    }

    it('serialises to JSON as the canonical string', () => {
      expect(JSON.stringify({ cpu: q('0.5'), memory: q('1.5Gi') })).to.equal('{"cpu":"500m","memory":"1536Mi"}');
    });

    it('writes quantities past the E suffix with an exponent, as Kubernetes does', () => {
      expect(Quantity.fromMilli(10n ** 22n).toString()).to.equal('10E');
      expect(Quantity.fromMilli(10n ** 24n).toString()).to.equal('1e21');
      expect(Quantity.fromMilli(2n ** 70n * 1000n, 'BinarySI').toString()).to.equal('1024Ei');
    });
  });

  describe('milli-unit value and rounding', () => {
    const cases: [string, bigint][] = [
      ['100m', 100n],
      ['1', 1000n],
      ['0.5', 500n],
      ['1Gi', 1073741824000n],
      ['128Mi', 134217728000n],
      ['1G', 1000000000000n],
      ['1e3', 1000000n],
      ['1.5m', 2n],
      ['1.2345', 1235n],
      ['0.0000000001', 1n],
      ['-1.5m', -2n],
      ['1Ei', 1152921504606846976000n],
      ['9223372036854775807', 9223372036854775807000n],
    ];
    for (const [input, milli] of cases) {
      it(`${input} = ${milli}m`, () => expect(q(input).milliValue()).to.equal(milli));
    }
  });

  describe('value() rounds whole units away from zero', () => {
    const cases: [string, bigint][] = [
      ['0', 0n],
      ['1m', 1n],
      ['100m', 1n],
      ['1500m', 2n],
      ['2', 2n],
      ['1Ki', 1024n],
      ['0.3Ki', 308n],
      ['-1m', -1n],
      ['-1500m', -2n],
      ['-2', -2n],
    ];
    for (const [input, value] of cases) {
      it(`${input} → ${value}`, () => expect(q(input).value()).to.equal(value));
    }
  });

  describe('format', () => {
    const cases: [string, QuantityFormat][] = [
      ['1', 'DecimalSI'],
      ['0', 'DecimalSI'],
      ['100m', 'DecimalSI'],
      ['1G', 'DecimalSI'],
      ['1Gi', 'BinarySI'],
      ['0.5Ki', 'BinarySI'],
      ['0.0005Ki', 'DecimalSI'], // below one unit a binary quantity becomes decimal
      ['1e3', 'DecimalExponent'],
      ['1E-3', 'DecimalExponent'],
    ];
    for (const [input, format] of cases) {
      it(`${input} is ${format}`, () => expect(q(input).format).to.equal(format));
    }
  });

  describe('JSON numbers', () => {
    const cases: [number, string][] = [
      [1, '1'],
      [0, '0'],
      [-0, '0'],
      [0.5, '500m'],
      [0.1, '100m'],
      [1000, '1k'],
      [-2, '-2'],
      [1e-7, '1e-3'],
      [2.5e9, '2500M'],
    ];
    for (const [input, expected] of cases) {
      it(`${input} → ${expected}`, () => expect(q(input).toString()).to.equal(expected));
    }

    for (const bad of [NaN, Infinity, -Infinity, 1e21, -1e300]) {
      it(`rejects ${bad}`, () => expect(() => q(bad)).to.throw(ParseError));
    }
  });

  describe('rejects garbage with ParseError', () => {
    const bad = [
      '',
      'abc',
      '1.2.3',
      '1Gb',
      '--1',
      '+-1',
      '1 Gi',
      ' 1',
      '1 ',
      '1\n',
      '1K',
      '1mi',
      '0.1mi',
      '1+1.0M',
      '1.1.M',
      '.5i',
      '1i',
      '-3.01i',
      '-3.01e-',
      '1e',
      'e3',
      '1e3.5',
      '1e3Gi',
      '1ee3',
      'Gi',
      '.',
      '-',
      '+',
      '1Gii',
      '1KiB',
      '0x10',
      '1_000',
      '1,5',
      '١',
      'NaN',
      'Infinity',
      '\u00001',
      '8Ei',
      '9.3E',
      '9223372036854775808',
      '1e19',
      '1e99999999999999999999999',
      `1${'0'.repeat(200)}`,
    ];
    for (const input of bad) {
      it(JSON.stringify(input.length > 40 ? `${input.slice(0, 40)}…` : input), () => {
        expect(() => q(input)).to.throw(ParseError);
      });
    }

    it('names the bad text in the message', () => {
      expect(() => q('1Gb')).to.throw(ParseError, '"1Gb"');
      expect(() => q('abc')).to.throw(ParseError, '"abc"');
    });

    it('rejects values that are neither strings nor numbers', () => {
      for (const value of [null, undefined, true, {}, [], ['1'], 1n]) {
        expect(() => Quantity.parse(value as unknown as string)).to.throw(ParseError);
      }
    });
  });

  describe('arithmetic', () => {
    it('sums 1000 × 1m to exactly 1', () => {
      let total = Quantity.fromMilli(0n);
      for (let i = 0; i < 1000; i++) total = total.add(q('1m'));
      expect(total.milliValue()).to.equal(1000n);
      expect(total.toString()).to.equal('1');
      expect(total.cmp(q('1'))).to.equal(0);
    });

    it('sums 10 × 0.1 to exactly 1 (no float drift)', () => {
      let total = q('0');
      for (let i = 0; i < 10; i++) total = total.add(q('0.1'));
      expect(total.toString()).to.equal('1');
    });

    it('adds across suffixes exactly', () => {
      expect(q('1Gi').add(q('512Mi')).toString()).to.equal('1536Mi');
      expect(q('1').add(q('500m')).toString()).to.equal('1500m');
      expect(q('1k').add(q('1e3')).toString()).to.equal('2k');
      expect(q('1Gi').add(q('1G')).milliValue()).to.equal(2073741824000n);
    });

    it('keeps the receiver format, or takes the other one when the receiver is zero', () => {
      expect(q('1Gi').add(q('1M')).format).to.equal('BinarySI');
      expect(q('1M').add(q('1Gi')).format).to.equal('DecimalSI');
      expect(q('0').add(q('1Gi')).format).to.equal('BinarySI');
      expect(q('0').add(q('1Gi')).toString()).to.equal('1Gi');
      expect(q('0').sub(q('1Gi')).toString()).to.equal('-1Gi');
    });

    it('subtracts, going negative when asked to', () => {
      expect(q('1Gi').sub(q('512Mi')).toString()).to.equal('512Mi');
      const diff = q('1').sub(q('1500m'));
      expect(diff.toString()).to.equal('-500m');
      expect(diff.isNegative()).to.equal(true);
      expect(q('1').sub(q('1000m')).isZero()).to.equal(true);
    });

    it('compares', () => {
      expect(q('1Gi').cmp(q('1G'))).to.equal(1);
      expect(q('1G').cmp(q('1Gi'))).to.equal(-1);
      expect(q('1k').cmp(q('1e3'))).to.equal(0);
      expect(q('100m').cmp(q('0.1'))).to.equal(0);
      expect(q('-1').cmp(q('0'))).to.equal(-1);
    });

    it('reports zero and negative', () => {
      expect(q('0').isZero()).to.equal(true);
      expect(q('0Gi').isZero()).to.equal(true);
      expect(q('1m').isZero()).to.equal(false);
      expect(q('-1m').isNegative()).to.equal(true);
      expect(q('0').isNegative()).to.equal(false);
    });

    it('builds from milli-units', () => {
      expect(Quantity.fromMilli(1500n).toString()).to.equal('1500m');
      expect(Quantity.fromMilli(1073741824000n, 'BinarySI').toString()).to.equal('1Gi');
      expect(Quantity.fromMilli(1000n, 'DecimalExponent').toString()).to.equal('1');
      expect(Quantity.fromMilli(5n).format).to.equal('DecimalSI');
    });

    it('approximates as a number', () => {
      expect(q('1500m').toNumber()).to.equal(1.5);
      expect(q('1Gi').toNumber()).to.equal(1073741824);
      expect(q('-250m').toNumber()).to.equal(-0.25);
    });
  });

  describe('fuzz', () => {
    /** Parse, or throw ParseError; a parsed quantity must round-trip through its canonical form. */
    function check(input: string | number): 'parsed' | 'rejected' {
      let parsed: Quantity;
      try {
        parsed = Quantity.parse(input);
      } catch (err) {
        if (err instanceof ParseError) return 'rejected';
        throw new Error(`${JSON.stringify(String(input))} threw ${String(err)}`);
      }
      const text = parsed.toString();
      const again = Quantity.parse(text);
      expect(again.milliValue(), `${String(input)} → ${text}`).to.equal(parsed.milliValue());
      expect(again.toString()).to.equal(text);
      return 'parsed';
    }

    it('quantity-like strings either parse and round-trip or throw ParseError', () => {
      const random = seededRandom(1);
      const alphabet = '0123456789.+-eEinumkKMGTPi ';
      const outcomes = { parsed: 0, rejected: 0 };
      for (let i = 0; i < 4000; i++) {
        let text = '';
        const length = Math.floor(random() * 10);
        for (let j = 0; j < length; j++) text += alphabet.charAt(Math.floor(random() * alphabet.length));
        outcomes[check(text)]++;
      }
      // The alphabet is chosen so both outcomes are common; otherwise the loop tests little.
      expect(outcomes.parsed).to.be.greaterThan(200);
      expect(outcomes.rejected).to.be.greaterThan(200);
    });

    it('well-formed random quantities parse and round-trip', () => {
      const random = seededRandom(2);
      const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
      const suffixes = ['', 'm', 'k', 'M', 'G', 'T', 'Ki', 'Mi', 'Gi', 'Ti', 'e3', 'e-2', 'E6', 'n', 'u'];
      const digits = (n: number) => Array.from({ length: n }, () => pick([...'0123456789'])).join('');
      for (let i = 0; i < 3000; i++) {
        const number = pick([
          () => digits(1 + Math.floor(random() * 6)),
          () => `${digits(1 + Math.floor(random() * 4))}.${digits(1 + Math.floor(random() * 5))}`,
          () => `.${digits(1 + Math.floor(random() * 4))}`,
        ])();
        const text = `${pick(['', '', '-', '+'])}${number}${pick(suffixes)}`;
        expect(check(text), text).to.equal('parsed');
      }
    });

    it('random code units (any UTF-16, lone surrogates included) never escape as anything but ParseError', () => {
      const random = seededRandom(3);
      for (let i = 0; i < 3000; i++) {
        const length = Math.floor(random() * 16);
        const units = Array.from({ length }, () =>
          random() < 0.5 ? Math.floor(random() * 128) : Math.floor(random() * 0x10000),
        );
        check(String.fromCharCode(...units));
      }
    });

    it('random numbers either parse and round-trip or throw ParseError', () => {
      const random = seededRandom(4);
      const specials = [NaN, Infinity, -Infinity, Number.MAX_VALUE, Number.MIN_VALUE, -0, Number.EPSILON];
      for (let i = 0; i < 2000; i++) {
        const value =
          i < specials.length ? (specials[i] as number) : (random() - 0.5) * 10 ** Math.floor(random() * 40 - 20);
        check(value);
      }
    });
  });
});
