// The CEL environment custom resources' validation rules run in (validation-rules.ts): the
// variables `self` and `oldSelf`, CEL's standard functions and macros with cel-js's string
// extensions, and the libraries Kubernetes adds for its rules — lists, regular expressions,
// quantities, IP addresses and CIDRs, URLs. What a rule calls beyond these, it cannot run.
import { isIP } from 'node:net';
import { isDeepStrictEqual } from 'node:util';
import { Environment } from '@marcbachmann/cel-js';
import { ParseError } from '../../shared/errors.js';
import { Quantity } from '../../shared/quantity.js';

/** Bounds on one expression's size: rules are written by definition authors, checked on every write. */
const LIMITS = { maxAstNodes: 2_000, maxDepth: 64, maxListElements: 1_000, maxMapEntries: 1_000, maxCallArguments: 32 };

function sortedOf(list: readonly unknown[]): boolean {
  for (let i = 1; i < list.length; i++) if (compare(list[i - 1], list[i]) > 0) return false;
  return true;
}

function compare(a: unknown, b: unknown): number {
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if ((typeof a === 'bigint' || typeof a === 'number') && (typeof b === 'bigint' || typeof b === 'number')) return a < b ? -1 : a > b ? 1 : 0;
  if (a instanceof Date && b instanceof Date) return a.getTime() - b.getTime();
  throw new Error('list elements are not comparable');
}

function extreme(list: readonly unknown[], sign: 1 | -1): unknown {
  if (list.length === 0) throw new Error('min or max of an empty list');
  return list.reduce((best, v) => (compare(v, best) * sign > 0 ? v : best));
}

/**
 * The functions rules may call: CEL's standard ones and string extensions (cel-js), with the
 * list and regex extensions Kubernetes adds for its rules.
 */
export const environment = new Environment({ enableOptionalTypes: true, homogeneousAggregateLiterals: false, limits: LIMITS })
  .registerVariable('self', 'dyn')
  .registerVariable('oldSelf', 'dyn')
  .registerFunction('list.isSorted(): bool', (l: unknown[]) => sortedOf(l))
  .registerFunction('list.sum(): dyn', (l: unknown[]) => {
    if (l.every((v) => typeof v === 'bigint')) return l.reduce<bigint>((s, v) => s + (v as bigint), 0n);
    if (l.every((v) => typeof v === 'number')) return l.reduce<number>((s, v) => s + (v as number), 0);
    throw new Error('sum() needs a list of ints or of doubles');
  })
  .registerFunction('list.min(): dyn', (l: unknown[]) => extreme(l, -1))
  .registerFunction('list.max(): dyn', (l: unknown[]) => extreme(l, 1))
  .registerFunction('list.indexOf(dyn): int', (l: unknown[], v: unknown) => BigInt(l.findIndex((x) => isDeepStrictEqual(x, v))))
  .registerFunction('list.lastIndexOf(dyn): int', (l: unknown[], v: unknown) => {
    for (let i = l.length - 1; i >= 0; i--) if (isDeepStrictEqual(l[i], v)) return BigInt(i);
    return -1n;
  })
  .registerFunction('string.charAt(int): string', (s: string, i: bigint) => {
    if (i < 0n || i > BigInt(s.length)) throw new Error(`index out of range: ${i}`);
    return s.charAt(Number(i));
  })
  .registerFunction('string.replace(string, string): string', (s: string, from: string, to: string) => s.split(from).join(to))
  .registerFunction('string.reverse(): string', (s: string) => [...s].reverse().join(''))
  .registerFunction('string.find(string): string', (s: string, re: string) => new RegExp(re, 'u').exec(s)?.[0] ?? '')
  .registerFunction('string.findAll(string): list<string>', (s: string, re: string) => [...s.matchAll(new RegExp(re, 'gu'))].map((m) => m[0]))
  .registerFunction('string.findAll(string, int): list<string>', (s: string, re: string, n: bigint) => {
    const all = [...s.matchAll(new RegExp(re, 'gu'))].map((m) => m[0]);
    return n < 0n ? all : all.slice(0, Number(n));
  });

/** Kubernetes' quantity library: `quantity("1Gi").isGreaterThan(quantity(self.limit))`, on the project's one quantity type. */
function withQuantities(env: Environment): void {
  const int = (n: bigint) => Quantity.fromMilli(n * 1000n);
  env
    .registerType('Quantity', Quantity as unknown as new () => object)
    .registerFunction('quantity(string): Quantity', (text: string) => Quantity.parse(text))
    .registerFunction('isQuantity(string): bool', (text: string) => {
      try {
        Quantity.parse(text);
        return true;
      } catch (err) {
        if (err instanceof ParseError) return false;
        throw err;
      }
    })
    .registerFunction('Quantity.sign(): int', (q: Quantity) => BigInt(q.cmp(int(0n))))
    .registerFunction('Quantity.isInteger(): bool', (q: Quantity) => q.milliValue() % 1000n === 0n)
    .registerFunction('Quantity.asInteger(): int', (q: Quantity) => {
      if (q.milliValue() % 1000n !== 0n) throw new Error(`cannot convert value to integer: ${q.toString()}`);
      return q.milliValue() / 1000n;
    })
    .registerFunction('Quantity.asApproximateFloat(): double', (q: Quantity) => q.toNumber())
    .registerFunction('Quantity.add(Quantity): Quantity', (a: Quantity, b: Quantity) => a.add(b))
    .registerFunction('Quantity.add(int): Quantity', (a: Quantity, b: bigint) => a.add(int(b)))
    .registerFunction('Quantity.sub(Quantity): Quantity', (a: Quantity, b: Quantity) => a.sub(b))
    .registerFunction('Quantity.sub(int): Quantity', (a: Quantity, b: bigint) => a.sub(int(b)))
    .registerFunction('Quantity.isLessThan(Quantity): bool', (a: Quantity, b: Quantity) => a.cmp(b) < 0)
    .registerFunction('Quantity.isGreaterThan(Quantity): bool', (a: Quantity, b: Quantity) => a.cmp(b) > 0)
    .registerFunction('Quantity.compareTo(Quantity): int', (a: Quantity, b: Quantity) => BigInt(a.cmp(b)))
    // != follows from ==.
    .registerOperator('Quantity == Quantity', (a: Quantity, b: Quantity) => a.cmp(b) === 0);
}

/** An IP address as Kubernetes' IP library has it: its family and its value as a number. */
class CelIP {
  constructor(
    readonly text: string,
    readonly family: 4 | 6,
    readonly value: bigint,
  ) {}

  static parse(text: string): CelIP | undefined {
    // Kubernetes refuses zones and IPv4-mapped IPv6 addresses.
    const family = isIP(text);
    if (family === 0 || text.includes('%') || /^::ffff:/i.test(text)) return undefined;
    if (family === 4) return new CelIP(text, 4, text.split('.').reduce((n, o) => (n << 8n) + BigInt(o), 0n));
    const [head = '', tail] = text.split('::');
    const groups = (part: string) => (part === '' ? [] : part.split(':'));
    const expand = (gs: string[]) => gs.flatMap((g) => (g.includes('.') ? ipv4Groups(g) : [g]));
    const left = expand(groups(head));
    const right = tail === undefined ? [] : expand(groups(tail));
    const all = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
    return new CelIP(text, 6, all.reduce((n, g) => (n << 16n) + BigInt(parseInt(g, 16)), 0n));
  }

  get bits(): bigint {
    return this.family === 4 ? 32n : 128n;
  }
}

/** What `ip.isCanonical` is called on. */
class IpLibrary {}

function ipv4Groups(dotted: string): string[] {
  const [a = 0, b = 0, c = 0, d = 0] = dotted.split('.').map(Number);
  return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
}

class CelCIDR {
  constructor(
    readonly ip: CelIP,
    readonly prefix: number,
  ) {}

  static parse(text: string): CelCIDR | undefined {
    const slash = text.indexOf('/');
    if (slash < 0) return undefined;
    const ip = CelIP.parse(text.slice(0, slash));
    const bits = text.slice(slash + 1);
    if (!ip || !/^\d+$/.test(bits) || Number(bits) > Number(ip.bits)) return undefined;
    return new CelCIDR(ip, Number(bits));
  }

  private mask(): bigint {
    const host = this.ip.bits - BigInt(this.prefix);
    return ((1n << this.ip.bits) - 1n) ^ ((1n << host) - 1n);
  }

  contains(ip: CelIP): boolean {
    return ip.family === this.ip.family && (ip.value & this.mask()) === (this.ip.value & this.mask());
  }

  masked(): CelCIDR {
    const v = this.ip.value & this.mask();
    const text = this.ip.family === 4 ? [24n, 16n, 8n, 0n].map((sh) => String((v >> sh) & 255n)).join('.') : ipv6Text(v);
    return new CelCIDR(new CelIP(text, this.ip.family, v), this.prefix);
  }
}

function ipv6Text(v: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => ((v >> BigInt(112 - 16 * i)) & 0xffffn).toString(16));
  // The longest run of two or more zero groups becomes "::".
  let best = { at: -1, len: 0 };
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > best.len && j - i >= 2) best = { at: i, len: j - i };
    i = j > i ? j : i + 1;
  }
  if (best.at < 0) return groups.join(':');
  return `${groups.slice(0, best.at).join(':')}::${groups.slice(best.at + best.len).join(':')}`;
}

function parsed<T>(kind: string, text: string, parse: (t: string) => T | undefined): T {
  const v = parse(text);
  if (v === undefined) throw new Error(`${kind} ${JSON.stringify(text)} is not valid`);
  return v;
}

/** Kubernetes' IP and CIDR libraries: `isIP(self)`, `ip(self).family() == 4`, `cidr("10.0.0.0/8").containsIP(self)`. */
function withAddresses(env: Environment): void {
  const ip = (text: string) => parsed('IP address', text, CelIP.parse);
  const cidr = (text: string) => parsed('CIDR', text, CelCIDR.parse);
  env
    .registerType('net.IP', CelIP as unknown as new () => object)
    .registerType('net.CIDR', CelCIDR as unknown as new () => object)
    .registerFunction('ip(string): net.IP', ip)
    .registerFunction('isIP(string): bool', (text: string) => CelIP.parse(text) !== undefined)
    // `ip.isCanonical(text)`: a method of a constant named ip, beside the function ip(text).
    .registerType('net.IPLibrary', IpLibrary as unknown as new () => object)
    .registerConstant('ip', 'net.IPLibrary', new IpLibrary())
    .registerFunction('net.IPLibrary.isCanonical(string): bool', (_lib: IpLibrary, text: string) => {
      const v = ip(text);
      return v.family === 4 || ipv6Text(v.value) === text;
    })
    .registerFunction('net.IP.family(): int', (v: CelIP) => BigInt(v.family))
    .registerFunction('net.IP.isUnspecified(): bool', (v: CelIP) => v.value === 0n)
    .registerFunction('net.IP.isLoopback(): bool', (v: CelIP) => (v.family === 4 ? v.value >> 24n === 127n : v.value === 1n))
    .registerFunction('net.IP.isLinkLocalUnicast(): bool', (v: CelIP) => (v.family === 4 ? v.value >> 16n === 0xa9fen : v.value >> 118n === 0x3fan))
    .registerFunction('net.IP.isLinkLocalMulticast(): bool', (v: CelIP) => (v.family === 4 ? v.value >> 8n === 0xe00000n : v.value >> 112n === 0xff02n))
    .registerFunction('net.IP.isGlobalUnicast(): bool', (v: CelIP) => {
      if (v.family === 4) return v.value !== 0xffffffffn && v.value >> 24n !== 0n && v.value >> 24n !== 127n && v.value >> 28n !== 0xen && v.value >> 16n !== 0xa9fen;
      return v.value !== 0n && v.value !== 1n && v.value >> 120n !== 0xffn && v.value >> 118n !== 0x3fan;
    })
    .registerFunction('string(net.IP): string', (v: CelIP) => v.text)
    .registerFunction('cidr(string): net.CIDR', cidr)
    .registerFunction('isCIDR(string): bool', (text: string) => CelCIDR.parse(text) !== undefined)
    .registerFunction('net.CIDR.containsIP(net.IP): bool', (c: CelCIDR, v: CelIP) => c.contains(v))
    .registerFunction('net.CIDR.containsIP(string): bool', (c: CelCIDR, text: string) => c.contains(ip(text)))
    .registerFunction('net.CIDR.containsCIDR(net.CIDR): bool', (c: CelCIDR, o: CelCIDR) => o.prefix >= c.prefix && c.contains(o.ip))
    .registerFunction('net.CIDR.containsCIDR(string): bool', (c: CelCIDR, text: string) => {
      const o = cidr(text);
      return o.prefix >= c.prefix && c.contains(o.ip);
    })
    .registerFunction('net.CIDR.ip(): net.IP', (c: CelCIDR) => c.ip)
    .registerFunction('net.CIDR.masked(): net.CIDR', (c: CelCIDR) => c.masked())
    .registerFunction('net.CIDR.prefixLength(): int', (c: CelCIDR) => BigInt(c.prefix))
    .registerFunction('string(net.CIDR): string', (c: CelCIDR) => `${c.ip.text}/${c.prefix}`);
}

/** Kubernetes' URL library: `isURL(self)`, `url(self).getScheme() == "https"`, getHost, getHostname, getPort, getEscapedPath, getQuery. */
function withUrls(env: Environment): void {
  const parseUrl = (text: string): URL | undefined => {
    // Absolute URLs, or absolute paths, as Go's url.ParseRequestURI takes them.
    if (!URL.canParse(text) && !text.startsWith('/')) return undefined;
    return URL.canParse(text) ? new URL(text) : new URL(text, 'relative:///');
  };
  const url = (text: string) => parsed('URL', text, parseUrl);
  const relative = (u: URL) => u.protocol === 'relative:';
  env
    .registerType('URL', URL as unknown as new () => object)
    .registerFunction('url(string): URL', url)
    .registerFunction('isURL(string): bool', (text: string) => parseUrl(text) !== undefined)
    .registerFunction('URL.getScheme(): string', (u: URL) => (relative(u) ? '' : u.protocol.replace(/:$/, '')))
    .registerFunction('URL.getHost(): string', (u: URL) => (relative(u) ? '' : u.host))
    .registerFunction('URL.getHostname(): string', (u: URL) => (relative(u) ? '' : u.hostname.replace(/^\[(.*)\]$/, '$1')))
    .registerFunction('URL.getPort(): string', (u: URL) => u.port)
    .registerFunction('URL.getEscapedPath(): string', (u: URL) => u.pathname)
    .registerFunction('URL.getQuery(): map<string, list<string>>', (u: URL) => {
      const out: Record<string, string[]> = {};
      for (const [k, v] of u.searchParams) (out[k] ??= []).push(v);
      return out;
    });
}

// Last: the libraries' classes above must exist before they are registered.
withQuantities(environment);
withAddresses(environment);
withUrls(environment);
