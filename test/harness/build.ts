// `npm run build` for tests that exercise what users install: the compiled JavaScript in dist/.
// Built once per test run and directory, so a stale dist/ never answers for the source and two
// suites needing it do not compile twice.
import { execFile } from 'node:child_process';
import { chmodSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from './entrypoint.js';

const run = promisify(execFile);
const builds = new Map<string, Promise<void>>();

const BINARIES = ['apiserver', 'cli', 'schedulers', 'agent', 'controllers'];

/** Compile `root` (a checkout of this repository; default this one) into its dist/, as `npm run build` does. */
export function buildDist(root: string = REPO_ROOT): Promise<void> {
  let build = builds.get(root);
  if (build === undefined) {
    build = (async () => {
      await run(process.execPath, [path.join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: root, timeout: 170_000 });
      // npm links and npx runs the bin entries as executables.
      for (const b of BINARIES) chmodSync(path.join(root, 'dist', b, 'main.js'), 0o755);
    })();
    builds.set(root, build);
  }
  return build;
}
