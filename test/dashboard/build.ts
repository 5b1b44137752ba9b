// Builds the dashboard once per test run (esbuild, about a second) so the suites serve the current
// source, as `npm run build:dashboard` does.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from '../harness/entrypoint.js';

let built = false;

export function buildDashboardOnce(): void {
  if (built) return;
  execFileSync(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'dashboard', 'build.ts')], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  built = true;
}
