// Wires the node-agent side of the cluster into an API server: the `pods/log` proxy. The control
// loops that act on nodes and pods (node lifecycle, pod GC, disruption) are not the server's: they
// run in cell-controller-manager (controllers/), a client of the API like any other (DESIGN §1).
import type { Logger } from '../../shared/logging.js';
import type { CustomHandler, ServedResource } from '../http/resources.js';
import type { AgentAddressAllowList } from './agent-endpoint.js';
import { podLogHandler } from './pod-log-proxy.js';

export interface AgentIntegrationDeps {
  served(resource: string): ServedResource;
  log: Logger;
  addCustomHandler(key: string, handler: CustomHandler): void;
  /** Where the log proxy may connect to agents (--agent-address-allow); default AgentAddressAllowList.default(). */
  agentAddressAllow?: AgentAddressAllowList;
}

export function installAgentIntegration(d: AgentIntegrationDeps): void {
  d.addCustomHandler('pods/log:GET', podLogHandler({ served: d.served, log: d.log, ...(d.agentAddressAllow ? { agentAddressAllow: d.agentAddressAllow } : {}) }));
}
