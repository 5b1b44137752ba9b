// Docker is not available here, so the deployment files are checked for what can be checked:
// the compose file parses and every process it starts exists with the flags it passes (each
// process's own --help is the reference), the systemd units likewise, and every metric the
// Grafana dashboard queries is one the code exports.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import YAML from 'yaml';
import { NODE_FLAGS, type Program } from '../../deploy/node-flags.js';
import { programArgs } from '../harness/entrypoint.js';

const run = promisify(execFile);
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DEPLOY = path.join(REPO, 'deploy');

const helpCache = new Map<string, string>();
/** `--help` of a process, given its built entry point (dist/<proc>/main.js → <proc>/main.ts). */
async function helpOf(distEntry: string): Promise<string> {
  const source = distEntry.replace(/^.*dist\//, '').replace(/\.js$/, '.ts');
  if (!helpCache.has(source)) {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', path.join(REPO, source), '--help'], { cwd: REPO });
    helpCache.set(source, stdout);
  }
  return helpCache.get(source)!;
}

function flagsIn(args: string[]): string[] {
  return args.filter((a) => a.startsWith('--')).map((a) => a.replace(/=.*$/, ''));
}

describe('deployment files', function () {
  this.timeout(60_000);

  it('compose.yaml parses and its commands use real entry points and flags', async () => {
    const compose = YAML.parse(readFileSync(path.join(DEPLOY, 'compose.yaml'), 'utf8'), { merge: true }) as {
      services: Record<string, { command?: string[] }>;
    };
    const services = Object.entries(compose.services);
    expect(services.filter(([n]) => n.startsWith('etcd-')).length).to.equal(3);
    expect(services.filter(([n]) => n.startsWith('apiserver-')).length).to.equal(2);
    // The control loops run in their own leader-elected process, not in the API servers.
    const managers = services.filter(([, svc]) => svc.command?.[0] === 'dist/controllers/main.js');
    expect(managers.length, 'controller manager replicas').to.equal(2);
    let checked = 0;
    for (const [name, svc] of services) {
      const [entry, ...args] = svc.command ?? [];
      if (!entry?.startsWith('dist/')) continue;
      const help = await helpOf(entry);
      for (const flag of flagsIn(args)) expect(help, `${name}: ${flag}`).to.contain(flag);
      checked++;
    }
    expect(checked).to.be.greaterThan(5);
  });

  it('systemd units start real entry points with real flags', async () => {
    const dir = path.join(DEPLOY, 'systemd');
    const units = readdirSync(dir).filter((f) => f.endsWith('.service'));
    expect(units.length).to.equal(4);
    expect(units).to.include('cell-controller-manager.service');
    for (const unit of units) {
      const text = readFileSync(path.join(dir, unit), 'utf8').replace(/\\\n/g, ' ');
      const exec = /^ExecStart=(.*)$/m.exec(text)?.[1]?.trim().split(/\s+/) ?? [];
      const entry = exec.find((a) => a.includes('/dist/'))!;
      expect(entry, unit).to.match(/dist\/(apiserver|schedulers|agent|controllers)\/main\.js$/);
      const help = await helpOf(entry);
      for (const flag of flagsIn(exec)) expect(help, `${unit}: ${flag}`).to.contain(flag);
    }
  });

  it('every way of starting a program gives Node the flags deploy/node-flags.ts names for it', () => {
    const dirs: Record<string, Program> = { apiserver: 'apiserver', schedulers: 'schedulers', agent: 'agent', controllers: 'controllers' };
    const compose = YAML.parse(readFileSync(path.join(DEPLOY, 'compose.yaml'), 'utf8'), { merge: true }) as {
      services: Record<string, { command?: string[]; environment?: Record<string, string> }>;
    };
    let checked = 0;
    for (const [name, svc] of Object.entries(compose.services)) {
      const program = dirs[/^dist\/([a-z]+)\/main\.js$/.exec(svc.command?.[0] ?? '')?.[1] ?? ''];
      if (!program) continue;
      expect(svc.environment?.NODE_OPTIONS ?? '', `compose ${name}`).to.equal(NODE_FLAGS[program].join(' '));
      checked++;
    }
    for (const unit of readdirSync(path.join(DEPLOY, 'systemd')).filter((f) => f.endsWith('.service'))) {
      const text = readFileSync(path.join(DEPLOY, 'systemd', unit), 'utf8');
      const program = dirs[/dist\/([a-z]+)\/main\.js/.exec(text)?.[1] ?? '']!;
      expect(/^Environment=NODE_OPTIONS=(.*)$/m.exec(text)?.[1] ?? '', unit).to.equal(NODE_FLAGS[program].join(' '));
      checked++;
    }
    for (const program of Object.values(dirs)) {
      const shebang = readFileSync(path.join(REPO, program, 'main.ts'), 'utf8').split('\n')[0];
      expect(shebang, `${program}/main.ts`).to.equal(['#!/usr/bin/env', ...(NODE_FLAGS[program].length > 0 ? ['-S'] : []), 'node', ...NODE_FLAGS[program]].join(' '));
      expect(programArgs(program, [], 'dist').slice(0, NODE_FLAGS[program].length), `programArgs ${program}`).to.deep.equal(NODE_FLAGS[program]);
    }
    expect(checked).to.be.greaterThan(8);
  });

  it('the Grafana dashboard queries only metrics the code exports', () => {
    const dash = JSON.parse(readFileSync(path.join(DEPLOY, 'grafana/cell-dashboard.json'), 'utf8')) as {
      panels: { targets: { expr: string }[] }[];
    };
    const sources = ['apiserver', 'schedulers', 'agent', 'controllers']
      .flatMap((d) => readdirSync(path.join(REPO, d), { recursive: true, encoding: 'utf8' }).map((f) => path.join(REPO, d, f)))
      .filter((f) => f.endsWith('.ts'))
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
    const names = new Set<string>();
    for (const p of dash.panels) {
      for (const t of p.targets) {
        for (const m of t.expr.matchAll(/\b((?:apiserver|etcd|cell|scheduler)_[a-z_]+?)(?:_bucket|_sum|_count)?\b/g)) names.add(m[1]!);
      }
    }
    expect(names.size).to.be.greaterThan(8);
    for (const n of names) expect(sources, `metric ${n}`).to.contain(`'${n}'`);
  });
});
