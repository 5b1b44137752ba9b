// How tests and benchmarks start a cell process: the TypeScript source through tsx by default (no
// build step, always the current code), or with CELL_RUN_FROM=dist the compiled JavaScript in
// dist/, as the installed binaries run. Benchmarks use dist: tsx wraps every function it compiles
// in a naming helper, which costs a defineProperty per closure created on the hot path.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NODE_FLAGS, type Program } from '../../deploy/node-flags.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export type { Program };

/** Node's arguments to run `program`'s main module: its flags (deploy/node-flags.ts), `nodeArgs`, then the entry point. */
export function programArgs(program: Program, nodeArgs: readonly string[] = [], from: 'source' | 'dist' | undefined = undefined): string[] {
  const flags = [...NODE_FLAGS[program], ...nodeArgs];
  if ((from ?? (process.env.CELL_RUN_FROM === 'dist' ? 'dist' : 'source')) === 'dist') return [...flags, path.join(REPO_ROOT, 'dist', program, 'main.js')];
  return [...flags, '--import', 'tsx', path.join(REPO_ROOT, program, 'main.ts')];
}
