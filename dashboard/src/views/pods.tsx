// Pods: a table filtered by text, phase, namespace and label selector (the Workloads view links
// here with a workload's namespace and selector; pending pods show why they wait) and one pod's detail with its log
// followed live through the API server (`pods/{name}/log?follow=true`).
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { Pod } from '../../../shared/api/core.js';
import { parseLabelSelector, type LabelSelector } from '../../../shared/labels.js';
import { ApiError, call, readLines } from '../api.js';
import { ago, byName, pendingReason, useLive, type Cluster } from '../cluster.js';
import { Link } from '../link.js';
import { href, podsHref, replace } from '../router.js';

const ROWS = 200;
const PHASES = ['', 'Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'] as const;

export function Pods(props: { cluster: Cluster; namespace?: string; name?: string; selector?: string }) {
  if (props.namespace && props.name) return <PodDetail cluster={props.cluster} namespace={props.namespace} name={props.name} />;
  return <PodTable cluster={props.cluster} namespace={props.namespace ?? ''} selector={props.selector ?? ''} />;
}

/** A selector typed by the user: parsed once per change of the text; bad text is reported, not thrown. */
function useSelector(text: string): { selector?: LabelSelector; error?: string } {
  return useMemo(() => {
    if (text.trim() === '') return {};
    try {
      return { selector: parseLabelSelector(text.trim()) };
    } catch (err) {
      return { error: err instanceof Error ? err.message : String(err) };
    }
  }, [text]);
}

function PodTable(props: { cluster: Cluster; namespace: string; selector: string }) {
  const { pods, events } = props.cluster;
  useLive(pods, events);
  const [text, setText] = useState('');
  const [phase, setPhase] = useState<string>('');
  // The URL is the one place the namespace and selector live: a link from the Workloads view,
  // Back/Forward and the user's own typing all go through it. (A copy in component state, synced
  // both ways, lost keystrokes when a sync from an older URL ran after newer typing.)
  const namespace = props.namespace;
  const labels = props.selector;
  const pick = (ns: string, sel: string) => replace(podsHref({ namespace: ns, selector: sel }));
  const { selector, error } = useSelector(labels);
  // Keys are namespace/name: sorting them orders by namespace, then name. Re-sorted only when pods
  // come or go, not on every status update.
  const order = useMemo(() => [...pods.items.keys()].sort(byName), [pods.keysVersion]);
  const namespaces = useMemo(() => {
    const seen = new Set<string>();
    for (const p of pods.items.values()) seen.add(p.metadata.namespace ?? '');
    if (namespace) seen.add(namespace);
    return [...seen].sort(byName);
  }, [pods.keysVersion, namespace]);
  const needle = text.trim().toLowerCase();
  const shown: Pod[] = [];
  let matched = 0;
  for (const key of order) {
    const p = pods.items.get(key);
    if (!p) continue;
    if (namespace && p.metadata.namespace !== namespace) continue;
    if (selector && !selector.matches(p.metadata.labels)) continue;
    if (phase && (p.status.phase ?? 'Pending') !== phase) continue;
    if (needle && !`${p.metadata.namespace}/${p.metadata.name} ${p.spec.nodeName ?? ''}`.toLowerCase().includes(needle)) continue;
    matched++;
    if (shown.length < ROWS) shown.push(p);
  }
  return (
    <section aria-labelledby="pods-title">
      <h1 id="pods-title">Pods</h1>
      <form class="toolbar" onSubmit={(e) => e.preventDefault()} role="search">
        <label for="pod-filter">Filter</label>
        <input id="pod-filter" type="search" placeholder="namespace/name or node" value={text} onInput={(e) => setText(e.currentTarget.value)} />
        <label for="pod-phase">Phase</label>
        <select id="pod-phase" value={phase} onChange={(e) => setPhase(e.currentTarget.value)}>
          {PHASES.map((p) => (
            <option key={p} value={p}>{p || 'any'}</option>
          ))}
        </select>
        <label for="pod-namespace">Namespace</label>
        <select id="pod-namespace" value={namespace} onChange={(e) => pick(e.currentTarget.value, labels)}>
          <option value="">any</option>
          {namespaces.map((n) => (
            <option key={n} value={n}>{n}</option>
          ))}
        </select>
        <label for="pod-labels">Labels</label>
        <input
          id="pod-labels"
          type="search"
          placeholder="app=web,tier in (a,b)"
          value={labels}
          aria-invalid={error ? 'true' : undefined}
          aria-describedby={error ? 'pod-labels-error' : undefined}
          onInput={(e) => pick(namespace, e.currentTarget.value)}
        />
        {error && <span id="pod-labels-error" class="error" role="alert">{error}</span>}
      </form>
      <p role="status" data-testid="pod-count">
        {matched > shown.length ? `Showing ${shown.length} of ${matched} pods.` : `${matched} pod${matched === 1 ? '' : 's'}.`}
      </p>
      <table class="grid" data-testid="pods-table">
        <thead>
          <tr>
            <th scope="col">Namespace</th>
            <th scope="col">Name</th>
            <th scope="col">Phase</th>
            <th scope="col">Node</th>
            <th scope="col">Scheduler</th>
            <th scope="col">Age</th>
            <th scope="col">Waiting because</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((p) => (
            <tr key={p.metadata.uid} data-pod={`${p.metadata.namespace}/${p.metadata.name}`}>
              <td>{p.metadata.namespace}</td>
              <td><Link href={href('pods', p.metadata.namespace ?? 'default', p.metadata.name ?? '')}>{p.metadata.name}</Link></td>
              <td class={`phase phase-${p.status.phase ?? 'Pending'}`}>{p.metadata.deletionTimestamp ? 'Terminating' : (p.status.phase ?? 'Pending')}</td>
              <td>{p.spec.nodeName ?? ''}</td>
              <td>{p.spec.schedulerName ?? ''}</td>
              <td>{ago(p.metadata.creationTimestamp)}</td>
              <td class="reason">{pendingReason(p, events) ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function PodDetail(props: { cluster: Cluster; namespace: string; name: string }) {
  const { pods, events } = props.cluster;
  useLive(pods, events);
  const p = pods.items.get(`${props.namespace}/${props.name}`);
  const mine = useMemo(
    () => [...events.items.values()].filter((e) => e.involvedObject.kind === 'Pod' && e.involvedObject.namespace === props.namespace && e.involvedObject.name === props.name),
    [events.version, props.namespace, props.name],
  );
  const containers = p?.spec.containers.map((c) => c.name) ?? [];
  return (
    <section aria-labelledby="pod-title">
      <p>
        <Link href={href('pods')}>← All pods</Link>
      </p>
      <h1 id="pod-title">Pod {props.namespace}/{props.name}</h1>
      {!p ? (
        <p role="status">{pods.state === 'loading' ? 'Loading…' : 'No such pod (it may have been deleted).'}</p>
      ) : (
        <>
          <dl class="facts">
            <dt>Phase</dt>
            <dd data-testid="pod-phase">{p.status.phase ?? 'Pending'}</dd>
            <dt>Node</dt>
            <dd>{p.spec.nodeName ? <Link href={href('nodes', p.spec.nodeName)}>{p.spec.nodeName}</Link> : '—'}</dd>
            <dt>Scheduler</dt>
            <dd>{p.spec.schedulerName ?? ''}</dd>
            {pendingReason(p, events) !== undefined && (
              <>
                <dt>Waiting because</dt>
                <dd>{pendingReason(p, events)}</dd>
              </>
            )}
          </dl>
          <h2>Containers</h2>
          <table class="grid">
            <thead>
              <tr><th scope="col">Name</th><th scope="col">Ready</th><th scope="col">Restarts</th><th scope="col">State</th></tr>
            </thead>
            <tbody>
              {(p.status.containerStatuses ?? []).map((c) => (
                <tr key={c.name}>
                  <td>{c.name}</td>
                  <td>{c.ready ? 'yes' : 'no'}</td>
                  <td>{c.restartCount ?? 0}</td>
                  <td>{c.state?.running ? 'running' : c.state?.terminated ? `terminated (exit ${c.state.terminated.exitCode})` : c.state?.waiting ? `waiting: ${c.state.waiting.reason ?? ''}` : ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {p.spec.nodeName ? <Logs namespace={props.namespace} name={props.name} containers={containers} /> : <p>No logs until the pod is bound to a node.</p>}
        </>
      )}
      <h2>Events</h2>
      <EventRows items={mine} />
    </section>
  );
}

function Logs(props: { namespace: string; name: string; containers: string[] }) {
  const [container, setContainer] = useState(props.containers[0] ?? '');
  const [text, setText] = useState('');
  const [state, setState] = useState('connecting');
  const pre = useRef<HTMLPreElement>(null);

  useEffect(() => {
    const abort = new AbortController();
    setText('');
    setState('connecting');
    const q = new URLSearchParams({ follow: 'true', tailLines: '2000' });
    if (container) q.set('container', container);
    const path = `/api/v1/namespaces/${encodeURIComponent(props.namespace)}/pods/${encodeURIComponent(props.name)}/log?${q.toString()}`;
    void (async () => {
      try {
        const res = await call('GET', path, { signal: abort.signal });
        setState('following');
        // Keep the last ~1 MB so a chatty pod cannot grow the page without bound.
        await readLines(res, (lines) => setText((t) => (t + lines.join('\n') + '\n').slice(-1_000_000)), abort.signal);
        setState('ended');
      } catch (err) {
        if (abort.signal.aborted) return;
        setState(err instanceof ApiError ? `error: ${err.message}` : `error: ${String(err)}`);
      }
    })();
    return () => abort.abort();
  }, [props.namespace, props.name, container]);

  useEffect(() => {
    const el = pre.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [text]);

  return (
    <section aria-labelledby="logs-title">
      <h2 id="logs-title">Logs</h2>
      <div class="toolbar">
        {props.containers.length > 1 && (
          <>
            <label for="log-container">Container</label>
            <select id="log-container" value={container} onChange={(e) => setContainer(e.currentTarget.value)}>
              {props.containers.map((c) => <option key={c} value={c}>{c}</option>)}
            </select>
          </>
        )}
        <span role="status" data-testid="log-state">{state}</span>
      </div>
      <pre class="logs" ref={pre} data-testid="logs" tabIndex={0} aria-label="Container log">{text}</pre>
    </section>
  );
}

export function EventRows(props: { items: { metadata: { uid?: string; name?: string }; type?: string; reason?: string; message?: string; lastTimestamp?: string; eventTime?: string; involvedObject: { kind?: string; namespace?: string; name?: string }; source?: { component?: string }; count?: number }[] }) {
  const rows = [...props.items].sort((a, b) => (b.lastTimestamp ?? b.eventTime ?? '').localeCompare(a.lastTimestamp ?? a.eventTime ?? ''));
  if (rows.length === 0) return <p>No events.</p>;
  return (
    <table class="grid" data-testid="events-table">
      <thead>
        <tr><th scope="col">Age</th><th scope="col">Type</th><th scope="col">Reason</th><th scope="col">Object</th><th scope="col">Source</th><th scope="col">Message</th></tr>
      </thead>
      <tbody>
        {rows.slice(0, 300).map((e) => (
          <tr key={e.metadata.uid ?? e.metadata.name} class={e.type === 'Warning' ? 'warning' : undefined}>
            <td>{ago(e.lastTimestamp ?? e.eventTime)}</td>
            <td>{e.type ?? ''}</td>
            <td>{e.reason ?? ''}</td>
            <td>{e.involvedObject.kind}/{e.involvedObject.namespace ? `${e.involvedObject.namespace}/` : ''}{e.involvedObject.name}</td>
            <td>{e.source?.component ?? ''}</td>
            <td>{e.message ?? ''}{(e.count ?? 1) > 1 ? ` (×${e.count})` : ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
