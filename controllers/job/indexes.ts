// Completion indexes of an Indexed Job as its status spells them: sorted, comma-separated numbers
// and ranges ("1,3-5,7"), which stays short however many of 100,000 indexes have succeeded.

/** Parses `status.completedIndexes`; indexes at or past `limit` (a lowered completions) are dropped. */
export function parseIndexes(text: string | undefined, limit = Number.POSITIVE_INFINITY): Set<number> {
  const out = new Set<number>();
  if (!text) return out;
  for (const part of text.split(',')) {
    const [from, to] = part.split('-');
    const a = Number(from);
    const b = to === undefined ? a : Number(to);
    if (!Number.isInteger(a) || !Number.isInteger(b) || a < 0 || b < a) continue;
    for (let i = a; i <= b && i < limit; i++) out.add(i);
  }
  return out;
}

/** The ranges form of a set of indexes ("" when empty). */
export function formatIndexes(indexes: Iterable<number>): string {
  const sorted = [...indexes].sort((x, y) => x - y);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    // Two neighbours print as "3,4", longer runs as "3-7" (Kubernetes' spelling).
    parts.push(j === i ? String(sorted[i]) : j === i + 1 ? `${sorted[i]},${sorted[j]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}
