// The cluster at a glance: node health, CPU and memory allocated against allocatable (from the
// NodeAllocation ledgers), pods by phase, and each scheduler's recent work.
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { Node } from '../../../shared/api/core.js';
import { href, navigate } from '../router.js';
import { HeatMap } from './heatmap.js';
import { byName, formatBytes, formatCpu, nodeHealth, percent, qty, useLive, type Cluster } from '../cluster.js';
import { commitCounters, schedulerStats, type CommitCounters } from '../scheduler-stats.js';

const PHASES = ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'] as const;
const COUNTER_EVERY_MS = 10_000;

function Meter(props: { label: string; used: number; total: number; format(n: number): string }) {
  const f = props.total > 0 ? props.used / props.total : 0;
  return (
    <div class="meter">
      <div class="meter-label">
        <span>{props.label}</span>
        <span>
          {props.format(props.used)} / {props.format(props.total)} ({percent(f)})
        </span>
      </div>
      <div class="bar" role="meter" aria-label={`${props.label} allocated`} aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(f * 100)}>
        <div class="bar-fill" style={{ width: `${Math.min(100, f * 100)}%` }} />
      </div>
    </div>
  );
}

export function Overview(props: { cluster: Cluster }) {
  const { nodes, allocations, pods, events } = props.cluster;
  useLive(nodes, allocations, pods, events);
  const [counters, setCounters] = useState<{ at: number; now: CommitCounters; first: CommitCounters } | undefined>();

  // A scrape of the API server's counters (not a list): the conflict fraction since the page opened.
  useEffect(() => {
    let first: CommitCounters | undefined;
    let stopped = false;
    const scrape = async () => {
      const now = await commitCounters();
      if (stopped || !now) return;
      first ??= now;
      setCounters({ at: Date.now(), now, first });
    };
    void scrape();
    const t = setInterval(() => void scrape(), COUNTER_EVERY_MS);
    return () => {
      stopped = true;
      clearInterval(t);
    };
  }, []);

  const order = useMemo(() => [...nodes.items.keys()].sort(byName), [nodes.keysVersion]);
  const sortedNodes = order.map((k) => nodes.items.get(k)).filter((n): n is Node => n !== undefined);
  const health = { Ready: 0, NotReady: 0, Unknown: 0, Unschedulable: 0 };
  for (const n of nodes.items.values()) {
    health[nodeHealth(n)]++;
    if (n.spec.unschedulable) health.Unschedulable++;
  }
  let cpu = 0;
  let cpuTotal = 0;
  let mem = 0;
  let memTotal = 0;
  for (const a of allocations.items.values()) {
    cpu += qty(a.spec.allocated.cpu);
    cpuTotal += qty(a.spec.allocatable.cpu);
    mem += qty(a.spec.allocated.memory);
    memTotal += qty(a.spec.allocatable.memory);
  }
  const phases = new Map<string, number>(PHASES.map((p) => [p, 0]));
  for (const p of pods.items.values()) {
    const ph = p.status.phase ?? 'Pending';
    phases.set(ph, (phases.get(ph) ?? 0) + 1);
  }
  const schedulers = schedulerStats(pods.items.values(), events.items.values());
  const bound = counters ? counters.now.bindings - counters.first.bindings : 0;
  const conflicts = counters ? counters.now.conflicts - counters.first.conflicts : 0;

  return (
    <section aria-labelledby="overview-title">
      <h1 id="overview-title">Overview</h1>
      <div class="cards">
        <section class="card" aria-labelledby="nodes-card">
          <h2 id="nodes-card">Nodes</h2>
          <p class="big" data-testid="node-count">{nodes.items.size}</p>
          <dl class="counts">
            <dt>Ready</dt>
            <dd data-testid="nodes-ready">{health.Ready}</dd>
            <dt>NotReady</dt>
            <dd>{health.NotReady}</dd>
            <dt>Unknown</dt>
            <dd>{health.Unknown}</dd>
            <dt>Cordoned</dt>
            <dd>{health.Unschedulable}</dd>
          </dl>
        </section>
        <section class="card" aria-labelledby="alloc-card">
          <h2 id="alloc-card">Allocated</h2>
          <Meter label="CPU" used={cpu} total={cpuTotal} format={formatCpu} />
          <Meter label="Memory" used={mem} total={memTotal} format={formatBytes} />
        </section>
        <section class="card" aria-labelledby="pods-card">
          <h2 id="pods-card">Pods</h2>
          <p class="big">{pods.items.size}</p>
          <dl class="counts">
            {[...phases].map(([phase, n]) => [<dt key={`t-${phase}`}>{phase}</dt>, <dd key={`d-${phase}`} data-testid={`pods-${phase}`}>{n}</dd>])}
          </dl>
        </section>
      </div>
      <section aria-labelledby="heat-title">
        <h2 id="heat-title">CPU allocated, node by node</h2>
        <HeatMap nodes={sortedNodes} allocations={allocations.items} resource="cpu" version={nodes.version * 1_000_003 + allocations.version} onPick={(n) => navigate(href('nodes', n))} />
      </section>
      <section aria-labelledby="sched-title">
        <h2 id="sched-title">Schedulers</h2>
        <table class="grid">
          <thead>
            <tr>
              <th scope="col">Scheduler</th>
              <th scope="col">Pending</th>
              <th scope="col">Bound / min</th>
              <th scope="col">FailedScheduling / min</th>
            </tr>
          </thead>
          <tbody>
            {schedulers.map((s) => (
              <tr key={s.name}>
                <td>{s.name}</td>
                <td>{s.pending}</td>
                <td>{s.boundLastMinute}</td>
                <td>{s.failedLastMinute}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <p class="hint">
          Bind rate from pods' PodScheduled transitions, failures from FailedScheduling events, over the last minute.{' '}
          {counters
            ? `Commit conflicts (API server, all schedulers, since this page opened): ${conflicts} conflicts per ${bound} successful commits (${percent(bound > 0 ? conflicts / bound : 0)}).`
            : 'Commit conflicts: the API server’s /metrics is not readable with this token.'}
        </p>
      </section>
    </section>
  );
}
