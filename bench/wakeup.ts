// `npm run bench:wakeup`: what this machine charges a Node.js process for waiting. The same HTTP
// request to a server in another process, sent back to back and then with the client idle for
// 1 ms between requests; and a loop that only sleeps. CPU is the client's own (process.cpuUsage:
// every thread, kernel time included).
//
// Why: CPU per pod below saturation (bench:e2e's open loop, replicas compared at a fixed rate)
// includes whatever the machine charges a process each time it goes idle and wakes again. On the
// 2-core development VM that charge is several times the request itself, and V8's profiler shows
// none of it (the thread is "idle"), so figures from two machines compare only alongside this.
import { spawn } from 'node:child_process';
import http from 'node:http';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { formatTable } from './measure.js';

const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 3000);

// The server: another process, answering at once.
const server = spawn(
  process.execPath,
  ['-e', "const s = require('node:http').createServer((q, r) => { q.resume(); q.on('end', () => r.end('ok')); }); s.listen(0, '127.0.0.1', () => console.log(s.address().port));"],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
const [portLine] = (await once(server.stdout!, 'data')) as [Buffer];
const port = Number(portLine.toString().trim());

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const get = () =>
  new Promise<void>((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
        res.resume();
        res.on('end', resolve);
      })
      .on('error', reject);
  });
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Repeats `op` for the duration; the client's CPU per repetition. */
async function measure(op: () => Promise<void>): Promise<{ perSecond: number; cpuUs: number }> {
  const warmEnd = performance.now() + 500;
  while (performance.now() < warmEnd) await op();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < DURATION_MS) {
    await op();
    n++;
  }
  const cpu = process.cpuUsage(cpu0);
  return { perSecond: (n * 1000) / (performance.now() - t0), cpuUs: (cpu.user + cpu.system) / n };
}

const cases: [string, () => Promise<void>][] = [
  ['HTTP request, back to back', get],
  ['HTTP request, then 1 ms idle', async () => {
    await get();
    await sleep(1);
  }],
  ['1 ms idle alone', () => sleep(1)],
];
const rows: string[][] = [];
const results: number[] = [];
for (const [name, op] of cases) {
  const r = await measure(op);
  results.push(r.cpuUs);
  rows.push([name, Math.round(r.perSecond).toLocaleString('en-US'), r.cpuUs.toFixed(1)]);
}
server.kill();
agent.destroy();

console.log(`\nclient CPU per repetition, ${DURATION_MS / 1000} s each (one request in flight; the server another process):\n`);
console.log(formatTable(['case', 'per second', 'client CPU µs'], rows));
const [backToBack, withIdle, idleAlone] = results as [number, number, number];
console.log(
  `\nwaking after 1 ms idle costs this machine ${(withIdle - backToBack - idleAlone).toFixed(0)} µs of CPU per request beyond the request (${backToBack.toFixed(0)} µs) and the sleep (${idleAlone.toFixed(0)} µs): ${(withIdle / backToBack).toFixed(1)}× the request back to back`,
);
