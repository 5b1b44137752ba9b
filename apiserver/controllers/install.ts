// Wires the node-agent side of the cluster into an API server: the `pods/log`, `pods/exec`,
// `pods/attach` and `pods/portforward` proxies, and the public keys agents check the API servers'
// signatures with. The control loops that act on nodes and pods (node lifecycle, pod GC,
// disruption) are not the server's: they run in cell-controller-manager (controllers/), a client
// of the API like any other (DESIGN §1).
import type { Express } from 'express';
import type { Logger } from '../../shared/logging.js';
import { PROXY_KEYS_PATH } from '../../shared/proxy-signature.js';
import type { AgentProxyKey } from '../auth/agent-proxy-key.js';
import type { CustomHandler, ServedResource } from '../http/resources.js';
import type { AgentAddressAllowList } from './agent-endpoint.js';
import { podAttachHandler, podExecHandler } from './pod-exec-proxy.js';
import { podLogHandler } from './pod-log-proxy.js';
import { podPortForwardHandler } from './pod-port-forward-proxy.js';

export interface AgentIntegrationDeps {
  served(resource: string): ServedResource;
  log: Logger;
  addCustomHandler(key: string, handler: CustomHandler): void;
  /** The non-resource endpoints' app (RBAC has authorized each request before it arrives). */
  app: Express;
  /** Where the proxies may connect to agents (--agent-address-allow); default AgentAddressAllowList.default(). */
  agentAddressAllow?: AgentAddressAllowList | undefined;
  /** The cluster's key for signing requests to agents. */
  agentProxyKey: AgentProxyKey;
}

export function installAgentIntegration(d: AgentIntegrationDeps): void {
  const allow = d.agentAddressAllow ? { agentAddressAllow: d.agentAddressAllow } : {};
  d.addCustomHandler('pods/log:GET', podLogHandler({ served: d.served, log: d.log, signer: d.agentProxyKey, ...allow }));
  // GET is the WebSocket upgrade; POST is SPDY's, which is answered with a Status saying so.
  const exec = podExecHandler({ served: d.served, log: d.log, signer: d.agentProxyKey, ...allow });
  d.addCustomHandler('pods/exec:GET', exec);
  d.addCustomHandler('pods/exec:POST', exec);
  const attach = podAttachHandler({ served: d.served, log: d.log, signer: d.agentProxyKey, ...allow });
  d.addCustomHandler('pods/attach:GET', attach);
  d.addCustomHandler('pods/attach:POST', attach);
  // Both upgrades are served: SPDY (POST) and a WebSocket tunnelling SPDY (GET).
  const portForward = podPortForwardHandler({ served: d.served, log: d.log, signer: d.agentProxyKey, ...allow });
  d.addCustomHandler('pods/portforward:GET', portForward);
  d.addCustomHandler('pods/portforward:POST', portForward);
  d.app.get(PROXY_KEYS_PATH, (_req, res) => {
    res.json(d.agentProxyKey.keySet());
  });
}
