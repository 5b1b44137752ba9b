// Nodes: the heat map of every node's allocation, and one node's pods, taints and conditions,
// with what the node and each pod measurably use where its agent samples it (usage.ts).
import { useMemo, useState } from 'preact/hooks';
import type { Node } from '../../../shared/api/core.js';
import { ago, byName, formatBytes, formatCpu, nodeHealth, percent, qty, usage, useLive, type Cluster, type Resource } from '../cluster.js';
import { Link } from '../link.js';
import { href, navigate } from '../router.js';
import { podUsageKey } from '../usage-asks.js';
import { useNodeUsage, usePodUsageOn } from '../usage.js';
import { HeatMap } from './heatmap.js';

export function Nodes(props: { cluster: Cluster; node?: string }) {
  const { nodes, allocations, pods } = props.cluster;
  useLive(nodes, allocations, ...(props.node ? [pods] : []));
  const [resource, setResource] = useState<Resource>('cpu');
  const [find, setFind] = useState('');
  const version = nodes.version * 1_000_003 + allocations.version;
  // The order changes only when nodes come or go; their current objects are looked up each render.
  const order = useMemo(() => [...nodes.items.keys()].sort(byName), [nodes.keysVersion]);
  const sorted = order.map((k) => nodes.items.get(k)).filter((n): n is Node => n !== undefined);
  if (props.node) return <NodeDetail cluster={props.cluster} name={props.node} />;
  return (
    <section aria-labelledby="nodes-title">
      <h1 id="nodes-title">Nodes</h1>
      <div class="toolbar">
        <fieldset class="toggle">
          <legend>Colour by</legend>
          {(['cpu', 'memory'] as const).map((r) => (
            <label key={r}>
              <input type="radio" name="resource" value={r} checked={resource === r} onChange={() => setResource(r)} />
              {r === 'cpu' ? 'CPU' : 'Memory'}
            </label>
          ))}
        </fieldset>
        <form
          class="find"
          onSubmit={(e) => {
            e.preventDefault();
            if (find.trim()) navigate(href('nodes', find.trim()));
          }}
        >
          <label for="find-node">Open node</label>
          <input id="find-node" list="node-names" value={find} onInput={(e) => setFind(e.currentTarget.value)} />
          <datalist id="node-names">
            {sorted.slice(0, 200).map((n) => (
              <option key={n.metadata.name} value={n.metadata.name} />
            ))}
          </datalist>
          <button type="submit">Open</button>
        </form>
      </div>
      <p>
        {sorted.length} nodes, coloured by {resource === 'cpu' ? 'CPU' : 'memory'} allocated / allocatable.
      </p>
      <HeatMap nodes={sorted} allocations={allocations.items} resource={resource} version={version} onPick={(n) => navigate(href('nodes', n))} />
      <ul class="legend" aria-label="Colour legend">
        {[0, 0.25, 0.5, 0.75, 1].map((f) => (
          <li key={f}>
            <span class={`swatch swatch-${Math.round(f * 100)}`} aria-hidden="true" />
            {percent(f)}
          </li>
        ))}
      </ul>
    </section>
  );
}

/** Most rows of a node's pod table (and pods whose figures it waits for): the page stays quick on a crowded node. */
const SHOWN_PODS = 500;

function NodeDetail(props: { cluster: Cluster; name: string }) {
  const { nodes, allocations, pods } = props.cluster;
  const n: Node | undefined = nodes.items.get(props.name);
  const a = allocations.items.get(props.name);
  const onNode = useMemo(() => [...pods.items.values()].filter((p) => p.spec.nodeName === props.name), [pods.version, props.name]);
  const shown = onNode.slice(0, SHOWN_PODS);
  const nodeUsed = useNodeUsage(props.name);
  // The metrics API lists Running pods only: those are the ones whose figures are waited for.
  const podsUsed = usePodUsageOn(props.name, shown.filter((p) => p.status.phase === 'Running').map((p) => podUsageKey(p.metadata)));
  return (
    <section aria-labelledby="node-title">
      <p>
        <Link href={href('nodes')}>← All nodes</Link>
      </p>
      <h1 id="node-title">Node {props.name}</h1>
      {!n ? (
        <p role="status">{nodes.state === 'loading' ? 'Loading…' : 'No such node.'}</p>
      ) : (
        <>
          <dl class="facts">
            <dt>Status</dt>
            <dd>{nodeHealth(n)}{n.spec.unschedulable ? ', cordoned' : ''}</dd>
            <dt>CPU</dt>
            <dd>{formatCpu(qty(a?.spec.allocated.cpu))} / {formatCpu(qty(a?.spec.allocatable.cpu ?? n.status.allocatable?.cpu))} ({percent(usage(a, 'cpu'))})</dd>
            <dt>Memory</dt>
            <dd>{formatBytes(qty(a?.spec.allocated.memory))} / {formatBytes(qty(a?.spec.allocatable.memory ?? n.status.allocatable?.memory))} ({percent(usage(a, 'memory'))})</dd>
            {nodeUsed && (
              <>
                <dt>In use</dt>
                <dd data-testid="node-in-use">CPU {usedCpu(nodeUsed.cpu)}, memory {formatBytes(nodeUsed.memory)}</dd>
              </>
            )}
            <dt>Labels</dt>
            <dd>{Object.entries(n.metadata.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(', ') || '—'}</dd>
          </dl>
          <h2>Taints</h2>
          {(n.spec.taints ?? []).length === 0 ? <p>None.</p> : (
            <ul>
              {(n.spec.taints ?? []).map((t) => (
                <li key={`${t.key}:${t.effect}`}><code>{t.key}{t.value ? `=${t.value}` : ''}:{t.effect}</code></li>
              ))}
            </ul>
          )}
          <h2>Conditions</h2>
          <table class="grid">
            <thead>
              <tr><th scope="col">Type</th><th scope="col">Status</th><th scope="col">Reason</th><th scope="col">Message</th><th scope="col">Since</th></tr>
            </thead>
            <tbody>
              {(n.status.conditions ?? []).map((c) => (
                <tr key={c.type}><td>{c.type}</td><td>{c.status}</td><td>{c.reason ?? ''}</td><td>{c.message ?? ''}</td><td>{ago(c.lastTransitionTime)}</td></tr>
              ))}
            </tbody>
          </table>
          <h2>Pods ({onNode.length})</h2>
          <table class="grid">
            <thead>
              <tr>
                <th scope="col">Namespace</th><th scope="col">Name</th><th scope="col">Phase</th><th scope="col">Age</th>
                {podsUsed && <><th scope="col">CPU in use</th><th scope="col">Memory in use</th></>}
              </tr>
            </thead>
            <tbody>
              {shown.map((p) => (
                <tr key={p.metadata.uid} data-pod={podUsageKey(p.metadata)}>
                  <td>{p.metadata.namespace}</td>
                  <td><Link href={href('pods', p.metadata.namespace ?? 'default', p.metadata.name ?? '')}>{p.metadata.name}</Link></td>
                  <td>{p.status.phase}</td>
                  <td>{ago(p.metadata.creationTimestamp)}</td>
                  {podsUsed && <PodUsed used={podsUsed.get(podUsageKey(p.metadata))} />}
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

function PodUsed(props: { used: { cpu: number; memory: number } | undefined }) {
  const u = props.used;
  return u ? <><td>{usedCpu(u.cpu)}</td><td>{formatBytes(u.memory)}</td></> : <><td>—</td><td>—</td></>;
}

/** Cores in use: millicores below one core, where most pods are. */
function usedCpu(cores: number): string {
  return cores < 1 ? `${Math.round(cores * 1000)}m` : formatCpu(cores);
}
