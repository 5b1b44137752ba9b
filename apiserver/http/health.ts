// Health endpoints as Kubernetes serves them: /livez, /readyz and /healthz each run a list of named
// checks. `GET /readyz` answers 200 "ok" when every check passes; otherwise 503 with one line per
// check (`[+]ping ok`, `[-]etcd failed: reason withheld`) — what a load balancer or an operator
// needs to take a server out of rotation and see why. `?verbose` lists the checks on success too,
// `?exclude=NAME` (repeatable) leaves one out, and `GET /readyz/NAME` runs one check and gives its
// reason. The reasons stay out of the list answers because those paths are public (no token);
// the per-check paths are authorized like any other non-resource URL (system:monitoring).
//
// /livez holds only what a restart would fix: an API server cut off from etcd is alive but not
// ready — restarting it would not bring etcd back, and would drop every watch it serves.
import type { Express, Request, Response } from 'express';
import { errorMessage } from '../../shared/errors.js';
import type { Logger } from '../../shared/logging.js';

export interface HealthCheck {
  readonly name: string;
  /** Resolves when healthy; throws what is wrong. */
  run(): Promise<void>;
}

export interface HealthEndpoints {
  livez: readonly HealthCheck[];
  readyz: readonly HealthCheck[];
}

/** A check that always passes: the server answers HTTP. */
export const PING_CHECK: HealthCheck = { name: 'ping', run: () => Promise.resolve() };

/**
 * A check whose runs overlap share one: a burst of probes (a load balancer, a monitoring system
 * and an operator at once) costs the store one quorum read, not one each.
 */
export function sharedCheck(name: string, run: () => Promise<void>): HealthCheck {
  let running: Promise<void> | undefined;
  return {
    name,
    run: () => {
      running ??= run().finally(() => {
        running = undefined;
      });
      return running;
    },
  };
}

/** Routes /livez, /readyz and /healthz (every check of both) and their per-check paths onto `app`. */
export function installHealthEndpoints(app: Express, endpoints: HealthEndpoints, log: Logger): void {
  const all = [...endpoints.livez, ...endpoints.readyz.filter((c) => !endpoints.livez.includes(c))];
  const lists: [string, readonly HealthCheck[]][] = [
    ['livez', endpoints.livez],
    ['readyz', endpoints.readyz],
    ['healthz', all],
  ];
  for (const [endpoint, checks] of lists) {
    app.get(`/${endpoint}`, (req, res) => {
      void answerList(endpoint, checks, req, res, log);
    });
    app.get(`/${endpoint}/:check`, (req, res) => {
      const check = checks.find((c) => c.name === req.params.check);
      if (!check) {
        res.status(404).type('text/plain').send(`${endpoint} has no check named "${String(req.params.check)}"\n`);
        return;
      }
      void answerOne(check, res);
    });
  }
}

function queryValues(req: Request, name: string): string[] {
  const v = req.query[name];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}

async function answerList(endpoint: string, checks: readonly HealthCheck[], req: Request, res: Response, log: Logger): Promise<void> {
  const verbose = req.query.verbose !== undefined && req.query.verbose !== 'false';
  const excluded = new Set(queryValues(req, 'exclude'));
  const unknown = [...excluded].filter((name) => !checks.some((c) => c.name === name));
  const results = await Promise.all(
    checks.map(async (c) => {
      if (excluded.has(c.name)) return { name: c.name, excluded: true };
      try {
        await c.run();
        return { name: c.name };
      } catch (err) {
        return { name: c.name, error: errorMessage(err) };
      }
    }),
  );
  const failed = results.filter((r) => r.error !== undefined);
  for (const r of failed) log.warn(`${endpoint} check failed`, { check: r.name, error: r.error });
  if (failed.length === 0 && !verbose) {
    res.type('text/plain').send('ok');
    return;
  }
  const lines = results.map((r) => (r.excluded ? `[+]${r.name} excluded: ok` : r.error !== undefined ? `[-]${r.name} failed: reason withheld` : `[+]${r.name} ok`));
  if (unknown.length > 0) lines.push(`warn: some checks cannot be excluded: no matches for ${unknown.map((n) => `"${n}"`).join(', ')}`);
  lines.push(`${endpoint} check ${failed.length === 0 ? 'passed' : 'failed'}`);
  res
    .status(failed.length === 0 ? 200 : 503)
    .type('text/plain')
    .send(`${lines.join('\n')}\n`);
}

async function answerOne(check: HealthCheck, res: Response): Promise<void> {
  try {
    await check.run();
    res.type('text/plain').send('ok');
  } catch (err) {
    res.status(503).type('text/plain').send(`${check.name} failed: ${errorMessage(err)}\n`);
  }
}
