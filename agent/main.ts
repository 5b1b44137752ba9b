#!/usr/bin/env node
// cell-agent: runs the pods bound to one node (DESIGN §5), or simulates many nodes (hollow mode).
// Exits cleanly on SIGTERM/SIGINT without touching the pods' processes: a restarted agent re-adopts them.
import { ApiClient } from '../shared/client/http-client.js';
import { loadKubeconfig } from '../shared/client/kubeconfig.js';
import type { TlsOptions } from '../shared/client/transport.js';
import { errorMessage } from '../shared/errors.js';
import { createLogger } from '../shared/logging.js';
import { Agent } from './agent.js';
import { parseAgentFlags, USAGE, UsageError, type AgentConfig } from './flags.js';
import { heartbeatTimeoutMs } from './heartbeat.js';
import { HollowAgent } from './hollow.js';
import { AGENT_VERSION } from './registration.js';

let cfg: AgentConfig;
/** The cluster CA (or insecure-skip-tls-verify) of an https server named by --kubeconfig. */
let tls: TlsOptions | undefined;
try {
  const parsed = parseAgentFlags(process.argv.slice(2));
  if (parsed === 'help') {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  cfg = parsed;
  if (cfg.kubeconfig !== undefined) {
    const kc = loadKubeconfig(cfg.kubeconfig);
    // Explicit --server/--token win over the file, as kubectl's flags do.
    if (cfg.servers.length === 0) cfg.servers = kc.servers;
    if (cfg.token === undefined && kc.token !== undefined) cfg.token = kc.token;
    tls = kc.tls;
  }
} catch (err) {
  if (err instanceof UsageError) {
    process.stderr.write(`cell-agent: ${err.message}\n\n${USAGE}`);
    process.exit(2);
  }
  process.stderr.write(`cell-agent: ${errorMessage(err)}\n`);
  process.exit(2);
}

const log = createLogger('agent', cfg.logLevel);
const client = new ApiClient({
  servers: cfg.servers,
  ...(cfg.token !== undefined ? { token: cfg.token } : {}),
  ...(tls !== undefined ? { tls } : {}),
  userAgent: `cell-agent/${AGENT_VERSION}`,
});
// Lease renewals on a client of their own whose requests give up after about a heartbeat, as the
// kubelet's heartbeat client does: on the general client's 30 s, a renewal stuck on a silent API
// server would outlast the node's grace period while another server was there to take it.
const heartbeatClient = client.withTimeout(heartbeatTimeoutMs(cfg.heartbeatIntervalMs));
const agent = cfg.hollowNodes > 0 ? new HollowAgent(cfg, client, log, heartbeatClient) : new Agent(cfg, client, log, heartbeatClient);

let stopping = false;
const shutdown = (signal: string) => {
  if (stopping) return;
  stopping = true;
  log.info('shutting down', { signal });
  agent
    .stop()
    .then(() => process.exit(0))
    .catch((err: unknown) => {
      log.error('shutdown failed', { error: errorMessage(err) });
      process.exit(1);
    });
};
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));

try {
  await agent.start();
} catch (err) {
  log.error('agent failed to start', { error: errorMessage(err) });
  process.exit(1);
}
