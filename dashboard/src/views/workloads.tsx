// Workloads: Deployments (ready/desired, rollout state), DaemonSets and StatefulSets (the same),
// HorizontalPodAutoscalers (`kubectl get hpa`'s columns, listed every few seconds, not watched),
// Jobs (completions, status, duration) and ResourceQuotas (used/hard per resource), live. A workload's name opens the Pods view narrowed to
// its namespace and selector; a Deployment's and a StatefulSet's Details link opens its detail view.
import { useMemo } from 'preact/hooks';
import type { DaemonSet, Deployment, StatefulSet } from '../../../shared/api/apps.js';
import type { Job } from '../../../shared/api/batch.js';
import type { ResourceQuota } from '../../../shared/api/quota.js';
import type { ScalableKind } from '../autoscaler-summary.js';
import { ago, byName, useLive, type Cluster } from '../cluster.js';
import { Link } from '../link.js';
import type { LiveList, ObjectLike } from '../live.js';
import { podsHref, workloadHref, type WorkloadRef } from '../router.js';
import { AutoscalerTable } from './autoscalers.js';
import { daemonSetSummary, deploymentSummary, formatDuration, jobSummary, jobTone, podSelector, quotaLines, statefulSetSummary, type QuotaLine, type SetSummary } from '../workloads.js';

const ROWS = 200;

/** The first ROWS objects in namespace/name order, re-sorted only when objects come or go. */
export function useOrdered<T extends ObjectLike>(list: LiveList<T>): { rows: T[]; total: number } {
  const order = useMemo(() => [...list.items.keys()].sort(byName), [list.keysVersion]);
  const rows: T[] = [];
  for (const k of order) {
    if (rows.length >= ROWS) break;
    const o = list.items.get(k);
    if (o) rows.push(o);
  }
  return { rows, total: order.length };
}

export function Count(props: { testid: string; shown: number; total: number; noun: string; loading: boolean }) {
  const { shown, total, noun } = props;
  return (
    <p role="status" data-testid={props.testid}>
      {props.loading ? 'Loading…' : total > shown ? `Showing ${shown} of ${total} ${noun}s.` : `${total} ${noun}${total === 1 ? '' : 's'}.`}
    </p>
  );
}

export function Workloads(props: { cluster: Cluster }) {
  const { deployments, daemonSets, statefulSets, jobs, quotas } = props.cluster;
  useLive(deployments, daemonSets, statefulSets, jobs, quotas);
  return (
    <section aria-labelledby="workloads-title">
      <h1 id="workloads-title">Workloads</h1>
      <Deployments list={deployments} />
      <Sets list={daemonSets} noun="daemon set" id="daemonsets" summary={daemonSetSummary} desiredTitle="Nodes" />
      <Sets list={statefulSets} noun="stateful set" id="statefulsets" summary={statefulSetSummary} desiredTitle="Replicas" detailKind="StatefulSet" />
      <AutoscalerTable />
      <Jobs list={jobs} />
      <Quotas list={quotas} />
    </section>
  );
}

function PodsLink(props: { namespace: string; name: string; selector: string | null }) {
  if (props.selector === null) return <>{props.name}</>;
  return (
    <Link href={podsHref({ namespace: props.namespace, selector: props.selector })}>{props.name}</Link>
  );
}

/** The link to a workload's detail view (its autoscaler, conditions, ReplicaSets); its name links to its pods. */
function DetailsLink(props: { workload: WorkloadRef }) {
  const w = props.workload;
  return (
    <Link href={workloadHref(w)} aria-label={`Details of ${w.kind} ${w.namespace}/${w.name}`}>details</Link>
  );
}

function Deployments(props: { list: LiveList<Deployment> }) {
  const { rows, total } = useOrdered(props.list);
  return (
    <section aria-labelledby="deployments-title">
      <h2 id="deployments-title">Deployments</h2>
      <Count testid="deployment-count" shown={rows.length} total={total} loading={props.list.state === 'loading'} noun="deployment" />
      {total > 0 && (
        <table class="grid" data-testid="deployments-table">
          <thead>
            <tr>
              <th scope="col">Namespace</th>
              <th scope="col">Name</th>
              <th scope="col">Ready</th>
              <th scope="col">Up-to-date</th>
              <th scope="col">Available</th>
              <th scope="col">Age</th>
              <th scope="col">Status</th>
              <th scope="col">Details</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((d) => {
              const s = deploymentSummary(d);
              const ns = d.metadata.namespace ?? 'default';
              const name = d.metadata.name ?? '';
              return (
                <tr key={d.metadata.uid} data-deployment={`${ns}/${name}`}>
                  <td>{ns}</td>
                  <td><PodsLink namespace={ns} name={name} selector={podSelector(d)} /></td>
                  <td class="ready">{s.ready}/{s.desired}</td>
                  <td class="up-to-date">{s.upToDate}</td>
                  <td class="available">{s.available}</td>
                  <td>{ago(d.metadata.creationTimestamp)}</td>
                  <td class={`status tone-${s.tone}`} title={s.detail}>{s.status}</td>
                  <td><DetailsLink workload={{ kind: 'Deployment', namespace: ns, name }} /></td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** DaemonSets or StatefulSets: ready of desired (nodes or replicas), updated, available, rollout state. */
function Sets<T extends DaemonSet | StatefulSet>(props: { list: LiveList<T>; noun: string; id: string; summary: (o: T) => SetSummary; desiredTitle: string; detailKind?: ScalableKind }) {
  const detailKind = props.detailKind;
  const { rows, total } = useOrdered(props.list);
  const title = `${props.noun[0]!.toUpperCase()}${props.noun.slice(1)}s`;
  return (
    <section aria-labelledby={`${props.id}-title`}>
      <h2 id={`${props.id}-title`}>{title}</h2>
      <Count testid={`${props.id}-count`} shown={rows.length} total={total} loading={props.list.state === 'loading'} noun={props.noun} />
      {total > 0 && (
        <table class="grid" data-testid={`${props.id}-table`}>
          <thead>
            <tr>
              <th scope="col">Namespace</th>
              <th scope="col">Name</th>
              <th scope="col">Ready / {props.desiredTitle.toLowerCase()}</th>
              <th scope="col">Up-to-date</th>
              <th scope="col">Available</th>
              <th scope="col">Age</th>
              <th scope="col">Status</th>
              {detailKind && <th scope="col">Details</th>}
            </tr>
          </thead>
          <tbody>
            {rows.map((o) => {
              const s = props.summary(o);
              const ns = o.metadata.namespace ?? 'default';
              const name = o.metadata.name ?? '';
              return (
                <tr key={o.metadata.uid} data-set={`${props.id}/${ns}/${name}`}>
                  <td>{ns}</td>
                  <td><PodsLink namespace={ns} name={name} selector={podSelector(o)} /></td>
                  <td class="ready">{s.ready}/{s.desired}</td>
                  <td class="up-to-date">{s.upToDate}</td>
                  <td class="available">{s.available}</td>
                  <td>{ago(o.metadata.creationTimestamp)}</td>
                  <td class={`status tone-${s.tone}`}>{s.status}</td>
                  {detailKind && <td><DetailsLink workload={{ kind: detailKind, namespace: ns, name }} /></td>}
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Jobs(props: { list: LiveList<Job> }) {
  const { rows, total } = useOrdered(props.list);
  const now = Date.now();
  return (
    <section aria-labelledby="jobs-title">
      <h2 id="jobs-title">Jobs</h2>
      <Count testid="job-count" shown={rows.length} total={total} loading={props.list.state === 'loading'} noun="job" />
      {total > 0 && (
        <table class="grid" data-testid="jobs-table">
          <thead>
            <tr>
              <th scope="col">Namespace</th>
              <th scope="col">Name</th>
              <th scope="col">Status</th>
              <th scope="col">Completions</th>
              <th scope="col">Active</th>
              <th scope="col">Failed</th>
              <th scope="col">Duration</th>
              <th scope="col">Age</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((j) => {
              const s = jobSummary(j, now);
              const ns = j.metadata.namespace ?? 'default';
              const name = j.metadata.name ?? '';
              return (
                <tr key={j.metadata.uid} data-job={`${ns}/${name}`}>
                  <td>{ns}</td>
                  <td><PodsLink namespace={ns} name={name} selector={podSelector(j, name.length <= 63 ? `job-name=${name}` : undefined)} /></td>
                  <td class={`status tone-${jobTone(s.phase)}`}>{s.phase}{s.reason ? ` (${s.reason})` : ''}</td>
                  <td class="completions">{s.completions}</td>
                  <td class="active">{s.active}</td>
                  <td class="failed">{s.failed}</td>
                  <td>{formatDuration(s.durationMs)}</td>
                  <td>{ago(j.metadata.creationTimestamp)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Quotas(props: { list: LiveList<ResourceQuota> }) {
  const { rows, total } = useOrdered(props.list);
  return (
    <section aria-labelledby="quotas-title">
      <h2 id="quotas-title">Resource quotas</h2>
      <Count testid="quota-count" shown={rows.length} total={total} loading={props.list.state === 'loading'} noun="quota" />
      {total > 0 && (
        <table class="grid" data-testid="quotas-table">
          <thead>
            <tr>
              <th scope="col">Namespace</th>
              <th scope="col">Name</th>
              <th scope="col">Used / hard</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((q) => (
              <tr key={q.metadata.uid} data-quota={`${q.metadata.namespace ?? ''}/${q.metadata.name ?? ''}`}>
                <td>{q.metadata.namespace}</td>
                <td>{q.metadata.name}</td>
                <td>
                  <ul class="quota-lines">
                    {quotaLines(q).map((l) => (
                      <QuotaItem key={l.resource} quota={q.metadata.name ?? ''} line={l} />
                    ))}
                  </ul>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function QuotaItem(props: { quota: string; line: QuotaLine }) {
  const l = props.line;
  const pct = Math.round(l.fraction * 100);
  const level = l.fraction >= 1 ? 'full' : l.fraction >= 0.8 ? 'high' : 'low';
  return (
    <li data-resource={l.resource}>
      <span class="quota-resource">{l.resource}</span>
      <span class={`bar small bar-${level}`} role="meter" aria-label={`${props.quota} ${l.resource} used`} aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct}>
        <span class="bar-fill" style={{ width: `${Math.min(100, pct)}%` }} />
      </span>
      <span class="quota-amount">{l.used} / {l.hard}</span>
    </li>
  );
}
