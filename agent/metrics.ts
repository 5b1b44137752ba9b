// cell-agent's Prometheus metrics (one registry per process): heartbeats, pods, container starts and
// exits, API writes, exec sessions and the signature checks of what API servers ask. Served on the log server's port at /metrics and on --metrics-port if given.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class AgentMetrics {
  readonly registry = new Registry();
  readonly leaseRenewals = new Counter({
    name: 'cell_agent_lease_renewals_total',
    help: 'Node Lease renewals by result.',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly leaseRenewDuration = new Histogram({
    name: 'cell_agent_lease_renew_duration_seconds',
    help: 'Latency of one node Lease renewal.',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly pods = new Gauge({
    name: 'cell_agent_pods',
    help: 'Pods bound to this agent’s node(s) that it is running or tracking.',
    registers: [this.registry],
  });
  readonly containerStarts = new Counter({
    name: 'cell_agent_container_starts_total',
    help: 'Container instances started (first starts and restarts).',
    registers: [this.registry],
  });
  readonly containerExits = new Counter({
    name: 'cell_agent_container_exits_total',
    help: 'Container instances that ended, by termination reason.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly admissionRejections = new Counter({
    name: 'cell_agent_admission_rejections_total',
    help: 'Pods rejected because they did not fit the node (OutOfcpu, OutOfmemory, …).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly apiWrites = new Counter({
    name: 'cell_agent_api_writes_total',
    help: 'Writes to the API server by kind and result.',
    labelNames: ['kind', 'result'] as const,
    registers: [this.registry],
  });

  readonly execSessions = new Gauge({
    name: 'cell_agent_exec_sessions',
    help: 'Commands running for exec (kubectl exec, kubectl cp) with their client connected.',
    registers: [this.registry],
  });
  readonly portForwardSessions = new Gauge({
    name: 'cell_agent_port_forward_sessions',
    help: 'Connections forwarding ports to pods (kubectl port-forward).',
    registers: [this.registry],
  });
  readonly nodePortsOpen = new Gauge({
    name: 'cell_agent_node_ports_open',
    help: 'Node ports this agent holds open for NodePort and LoadBalancer Services.',
    registers: [this.registry],
  });
  readonly clusterIPPortsOpen = new Gauge({
    name: 'cell_agent_cluster_ip_ports_open',
    help: 'Cluster IP ports this agent holds open: Services whose cluster IP is an address of this host (loopback ranges).',
    registers: [this.registry],
  });
  readonly serviceConnections = new Counter({
    name: 'cell_agent_service_connections_total',
    help: 'Connections to node ports (via="node_port") and cluster IPs (via="cluster_ip") by outcome: relayed to an endpoint, closed for want of a ready endpoint, or closed after every endpoint refused.',
    labelNames: ['result', 'via'] as const,
    registers: [this.registry],
  });
  readonly ingressRequests = new Counter({
    name: 'cell_agent_ingress_requests_total',
    help: 'HTTP requests to the ingress address by outcome: proxied to an endpoint, no_route (404), no_endpoint (503), failed (502: every endpoint refused).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly signatureChecks = new Counter({
    name: 'cell_agent_signature_checks_total',
    help: 'Requests for logs, usage or exec by whether an API server’s signature on them held (refused ones were answered 401).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

