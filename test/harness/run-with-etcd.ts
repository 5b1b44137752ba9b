// `node --import tsx test/harness/run-with-etcd.ts CMD ARGS…` runs CMD with ETCD_ENDPOINTS set:
// to the caller's etcd when already set, else to a fresh etcd on a free loopback port, stopped after.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { startEtcd, type EtcdServer } from './etcd.js';

const [cmd, ...args] = process.argv.slice(2);
if (!cmd) {
  console.error('usage: run-with-etcd CMD [ARGS...]');
  process.exit(2);
}

let etcd: EtcdServer | undefined;
if (!process.env.ETCD_ENDPOINTS) {
  etcd = await startEtcd({ quiet: true });
  process.env.ETCD_ENDPOINTS = etcd.endpoint;
  console.error(`run-with-etcd: started etcd at ${etcd.endpoint} (data ${etcd.dataDir})`);
}

const binDir = path.resolve('node_modules/.bin');
const child = spawn(cmd, args, {
  stdio: 'inherit',
  env: { ...process.env, PATH: `${binDir}${path.delimiter}${process.env.PATH ?? ''}` },
});
const forward = (sig: NodeJS.Signals) => child.kill(sig);
process.on('SIGINT', forward);
process.on('SIGTERM', forward);
const code: number = await new Promise((resolve) => {
  child.on('exit', (c, sig) => resolve(c ?? (sig ? 1 : 0)));
});
if (etcd) await etcd.stop();
process.exit(code);
