// Numeric resource amounts for the scheduling hot path. The API server's ledger does exact bigint
// arithmetic (shared/resources.ts); a scheduler compares one pod against hundreds of nodes per
// decision, so it converts each amount once into a float64 count of milli-units — exact below
// 2^53 milli-units, i.e. up to 9 TB of memory per node — and keeps cpu, memory and pods in fields
// rather than maps. The ledger stays the judge: a rounding slip here costs a 409, never an over-commit.
import { PODS_RESOURCE } from '../../shared/pod-resources.js';
import { parseResourceList, type ResourceAmounts, type ResourceList } from '../../shared/resources.js';

/** Parsed resource list entries (`typeof:name=value` → milli-units), for ResourceVector.parse. */
const parsedEntries = new Map<string, number>();
/** Distinct entries are few (node sizes, summed requests); the bound only guards against churn. */
const MAX_PARSED_ENTRIES = 50_000;

export class ResourceVector {
  cpu = 0;
  memory = 0;
  pods = 0;
  /** Every other resource (extended ones like `example.com/gpu`, ephemeral-storage), or none. */
  scalars: Map<string, number> | undefined;

  static from(amounts: ResourceAmounts): ResourceVector {
    const v = new ResourceVector();
    for (const name of amounts.names()) v.set(name, Number(amounts.get(name)));
    return v;
  }

  /** From a resource list as objects carry it (`{cpu: "500m"}`); bad entries throw ParseError. */
  static parse(list: ResourceList | undefined): ResourceVector {
    if (list === undefined || list === null || typeof list !== 'object' || Array.isArray(list)) {
      return ResourceVector.from(parseResourceList(list));
    }
    // Every ledger event carries two lists made of the same few quantities ("32", "128Gi", …):
    // each entry is parsed once, then looked up. Entries parse independently, so this is exact.
    const v = new ResourceVector();
    for (const [name, value] of Object.entries(list)) {
      const key = `${typeof value}:${name}=${value}`;
      let milli = parsedEntries.get(key);
      if (milli === undefined) {
        milli = Number(parseResourceList({ [name]: value }).get(name));
        if (parsedEntries.size >= MAX_PARSED_ENTRIES) parsedEntries.clear();
        parsedEntries.set(key, milli);
      }
      v.set(name, milli);
    }
    return v;
  }

  get(name: string): number {
    switch (name) {
      case 'cpu':
        return this.cpu;
      case 'memory':
        return this.memory;
      case PODS_RESOURCE:
        return this.pods;
      default:
        return this.scalars?.get(name) ?? 0;
    }
  }

  /** Whether a scalar resource is listed at all (cpu, memory and pods always count as listed). */
  has(name: string): boolean {
    return name === 'cpu' || name === 'memory' || name === PODS_RESOURCE || (this.scalars?.has(name) ?? false);
  }

  set(name: string, milli: number): void {
    switch (name) {
      case 'cpu':
        this.cpu = milli;
        return;
      case 'memory':
        this.memory = milli;
        return;
      case PODS_RESOURCE:
        this.pods = milli;
        return;
      default:
        (this.scalars ??= new Map()).set(name, milli);
    }
  }

  /** this += other, in place. */
  add(other: ResourceVector): this {
    this.cpu += other.cpu;
    this.memory += other.memory;
    this.pods += other.pods;
    if (other.scalars) for (const [k, v] of other.scalars) this.set(k, this.get(k) + v);
    return this;
  }

  /** this -= other, in place. */
  subtract(other: ResourceVector): this {
    this.cpu -= other.cpu;
    this.memory -= other.memory;
    this.pods -= other.pods;
    if (other.scalars) for (const [k, v] of other.scalars) this.set(k, this.get(k) - v);
    return this;
  }

  /** Whether some resource is lower here than in `other` (something was released). */
  anyBelow(other: ResourceVector): boolean {
    if (this.cpu < other.cpu || this.memory < other.memory || this.pods < other.pods) return true;
    if (other.scalars) for (const [k, v] of other.scalars) if (this.get(k) < v) return true;
    return false;
  }

  clone(): ResourceVector {
    const v = new ResourceVector();
    v.cpu = this.cpu;
    v.memory = this.memory;
    v.pods = this.pods;
    if (this.scalars) v.scalars = new Map(this.scalars);
    return v;
  }
}
