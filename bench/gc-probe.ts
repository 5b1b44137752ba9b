// A preload for a process under `npm run bench:memory` (node --expose-gc --import tsx --import
// bench/gc-probe.ts …): on SIGUSR2 it collects garbage twice and writes process.memoryUsage() as
// JSON to $CELL_GC_PROBE_FILE, so the bench reads the heap that is retained, not what a collection
// has yet to free. Bench-only: the servers carry no code for it.
import { writeFileSync, renameSync } from 'node:fs';

const file = process.env.CELL_GC_PROBE_FILE;
const collect = globalThis.gc;
if (file === undefined || collect === undefined) {
  throw new Error('bench/gc-probe.ts needs CELL_GC_PROBE_FILE and node --expose-gc');
}
let probes = 0;
process.on('SIGUSR2', () => {
  collect();
  collect();
  probes++;
  // Written whole, then renamed: the reader never sees half a file.
  writeFileSync(`${file}.tmp`, JSON.stringify({ probe: probes, ...process.memoryUsage() }));
  renameSync(`${file}.tmp`, file);
});
