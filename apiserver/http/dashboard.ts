// Serves the web dashboard's built files (dist/dashboard/, from `npm run build:dashboard`) at /ui/.
// The files are public, as /version is: they hold no cluster data. Everything the page shows comes
// from the REST and watch API with the user's own token, so authentication and RBAC decide it there.
import { readFile, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MethodNotAllowedError, NotFoundError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logging.js';
import { sendError } from './status.js';

export const DASHBOARD_PREFIX = '/ui/';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

// The page talks only to this origin and runs only its own bundle.
const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

/**
 * Where the built dashboard lives: beside the compiled server (dist/apiserver → dist/dashboard)
 * or, run from source with tsx, in the repository's dist/dashboard.
 */
export function defaultDashboardDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const top = path.resolve(here, '..', '..');
  return path.basename(top) === 'dist' ? path.join(top, 'dashboard') : path.join(top, 'dist', 'dashboard');
}

export interface DashboardHandler {
  /** Serves `/ui` and everything under `/ui/`. */
  handle(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void>;
}

export function isDashboardPath(pathname: string): boolean {
  return pathname === '/ui' || pathname.startsWith(DASHBOARD_PREFIX);
}

export function createDashboardHandler(root: string, log: Logger): DashboardHandler {
  const notBuilt = () =>
    new NotFoundError(`the dashboard is not built: run \`npm run build:dashboard\` (it writes ${root}), then reload /ui/`);

  const send = async (req: IncomingMessage, res: ServerResponse, file: string, cache: string): Promise<void> => {
    const body = await readFile(file);
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'Content-Type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream',
      'Content-Length': body.length,
      'Cache-Control': cache,
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  };

  const isFile = async (file: string): Promise<boolean> => {
    try {
      return (await stat(file)).isFile();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return false;
      throw err;
    }
  };

  return {
    async handle(req, res, pathname) {
      try {
        if (req.method !== 'GET' && req.method !== 'HEAD') {
          res.setHeader('Allow', 'GET, HEAD');
          throw new MethodNotAllowedError(`${req.method ?? ''} is not allowed on the dashboard's files`);
        }
        if (pathname === '/ui') {
          // Relative asset URLs in index.html resolve against /ui/, not /.
          const query = (req.url ?? '').slice(pathname.length);
          res.writeHead(301, { Location: `${DASHBOARD_PREFIX}${query}`, 'Content-Length': 0 });
          res.end();
          return;
        }
        let rel: string;
        try {
          rel = decodeURIComponent(pathname.slice(DASHBOARD_PREFIX.length));
        } catch {
          throw new NotFoundError(`no such dashboard file: ${pathname}`);
        }
        // normalize() resolves `..`; anything that still climbs out of the root is refused.
        const normal = path.posix.normalize(`/${rel}`).slice(1);
        if (normal.startsWith('..') || rel.includes('\0')) throw new NotFoundError(`no such dashboard file: ${pathname}`);
        const index = path.join(root, 'index.html');
        if (normal !== '' && normal !== 'index.html') {
          const file = path.join(root, normal);
          if (await isFile(file)) {
            // Bundles carry a content hash in their name (assets/app-XXXX.js): cache them for good.
            const immutable = normal.startsWith('assets/');
            await send(req, res, file, immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
            return;
          }
          // A name with an extension is a file that is not there; anything else is a client route
          // (/ui/pods/default/web) that the page itself resolves.
          if (path.posix.extname(normal) !== '') {
            if (!(await isFile(index))) throw notBuilt();
            throw new NotFoundError(`no such dashboard file: ${pathname}`);
          }
        }
        if (!(await isFile(index))) throw notBuilt();
        // The page must always be fresh, so it names the current bundle.
        await send(req, res, index, 'no-cache');
      } catch (err) {
        sendError(res, err, log);
      }
    },
  };
}
