// `npm run build:dashboard`: bundles dashboard/src with esbuild into dist/dashboard/ — index.html
// plus content-hashed assets/ (the API server caches those for good) — with no CDN: it all ships.
import { build } from 'esbuild';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const OUT = path.resolve(HERE, '..', 'dist', 'dashboard');

async function main(): Promise<void> {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(path.join(OUT, 'assets'), { recursive: true });
  const result = await build({
    entryPoints: { app: path.join(HERE, 'src', 'main.tsx'), styles: path.join(HERE, 'src', 'styles.css') },
    outdir: path.join(OUT, 'assets'),
    entryNames: '[name]-[hash]',
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome110', 'firefox110', 'safari16'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    sourcemap: 'linked',
    metafile: true,
    legalComments: 'linked',
    logLevel: 'warning',
  });
  const outputs = Object.keys(result.metafile.outputs).map((f) => path.basename(f));
  const script = outputs.find((f) => f.startsWith('app-') && f.endsWith('.js'));
  const styles = outputs.find((f) => f.startsWith('styles-') && f.endsWith('.css'));
  if (!script || !styles) throw new Error(`esbuild wrote no app bundle or stylesheet: ${outputs.join(', ')}`);
  const html = readFileSync(path.join(HERE, 'index.html'), 'utf8').replace('%SCRIPT%', script).replace('%STYLES%', styles);
  writeFileSync(path.join(OUT, 'index.html'), html);
  const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
  console.log(`dashboard built: ${path.relative(process.cwd(), OUT)}/ (${outputs.length + 1} files, ${Math.round(bytes / 1024)} KiB)`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
