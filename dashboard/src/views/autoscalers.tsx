// HorizontalPodAutoscalers: the Workloads page's table of them, with `kubectl get hpa`'s columns,
// and the section of a workload's detail that shows the autoscaler scaling it — its targets, the
// replicas it saw and asked for, and its conditions. Both list autoscalers every few seconds rather
// than watch them (autoscalers.ts says why).
import type { HorizontalPodAutoscaler } from '../../../shared/api/autoscaling.js';
import { autoscalerSummary, autoscalersOf, scaleTarget } from '../autoscaler-summary.js';
import { useAutoscalers, type Autoscalers } from '../autoscalers.js';
import { ago } from '../cluster.js';
import { Link } from '../link.js';
import { workloadHref, type WorkloadRef } from '../router.js';
import { ConditionTable } from './conditions.js';

/** What the asking says besides the autoscalers themselves: loading, or why there are none to show. */
function ListState(props: { list: Autoscalers; testid: string; count: string }) {
  const { list } = props;
  const text =
    list.state === 'loading'
      ? 'Loading…'
      : list.state === 'failed'
        ? `Cannot list autoscalers: ${list.error ?? ''}`
        : list.state === 'retrying'
          ? `${list.items ? `${props.count} ` : ''}Listing autoscalers failed (asking again): ${list.error ?? ''}`
          : props.count;
  return (
    <p role="status" data-testid={props.testid} class={list.state === 'failed' || list.state === 'retrying' ? 'error' : undefined}>
      {text}
    </p>
  );
}

/** REFERENCE, linking to the workload's detail where the dashboard has one. */
function Reference(props: { hpa: HorizontalPodAutoscaler; text: string }) {
  const target = scaleTarget(props.hpa);
  return target ? <Link href={workloadHref(target)}>{props.text}</Link> : <>{props.text}</>;
}

export function AutoscalerTable() {
  const list = useAutoscalers();
  const rows = list.items ?? [];
  const count = `${rows.length} autoscaler${rows.length === 1 ? '' : 's'}.`;
  return (
    <section aria-labelledby="autoscalers-title">
      <h2 id="autoscalers-title">Horizontal pod autoscalers</h2>
      <ListState list={list} testid="autoscaler-count" count={count} />
      {rows.length > 0 && (
        <table class="grid" data-testid="autoscalers-table">
          <thead>
            <tr>
              <th scope="col">Namespace</th>
              <th scope="col">Name</th>
              <th scope="col">Reference</th>
              <th scope="col">Targets</th>
              <th scope="col">Min pods</th>
              <th scope="col">Max pods</th>
              <th scope="col">Replicas</th>
              <th scope="col">Age</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((h) => {
              const s = autoscalerSummary(h);
              const ns = h.metadata.namespace ?? 'default';
              return (
                <tr key={h.metadata.uid} data-hpa={`${ns}/${h.metadata.name ?? ''}`}>
                  <td>{ns}</td>
                  <td>{h.metadata.name}</td>
                  <td class="reference"><Reference hpa={h} text={s.reference} /></td>
                  <td class="targets">{s.targets}</td>
                  <td class="min-pods">{s.minPods}</td>
                  <td class="max-pods">{s.maxPods}</td>
                  <td class="replicas">{s.currentReplicas}</td>
                  <td>{ago(h.metadata.creationTimestamp)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** The autoscaler(s) scaling one workload, on its detail view. */
export function ScaledBy(props: { workload: WorkloadRef }) {
  const w = props.workload;
  const list = useAutoscalers(w.namespace);
  const mine = list.items ? autoscalersOf(list.items, w.kind, w.namespace, w.name) : [];
  const count = mine.length === 0 ? `No autoscaler scales this ${w.kind}.` : mine.length === 1 ? '' : `${mine.length} autoscalers scale this ${w.kind}: they fight over its replicas.`;
  return (
    <section aria-labelledby="scaled-by-title" data-testid="scaled-by">
      <h2 id="scaled-by-title">Autoscaler</h2>
      <ListState list={list} testid="scaled-by-state" count={count} />
      {mine.map((h) => (
        <AutoscalerDetail key={h.metadata.uid} hpa={h} />
      ))}
    </section>
  );
}

function AutoscalerDetail(props: { hpa: HorizontalPodAutoscaler }) {
  const h = props.hpa;
  const s = autoscalerSummary(h);
  const name = h.metadata.name ?? '';
  const id = `hpa-${name}`;
  return (
    <section aria-labelledby={id} data-autoscaler={`${h.metadata.namespace ?? ''}/${name}`}>
      <h3 id={id}>HorizontalPodAutoscaler {name}</h3>
      <dl class="facts">
        <dt>Targets</dt>
        <dd class="targets">{s.targets}</dd>
        <dt>Min / max pods</dt>
        <dd class="pods-range">{s.minPods} / {s.maxPods}</dd>
        <dt>Replicas</dt>
        <dd class="replicas">{s.currentReplicas} current / {s.desiredReplicas} desired</dd>
        <dt>Last scaled</dt>
        <dd>{h.status.lastScaleTime ? `${ago(h.status.lastScaleTime)} ago` : 'never'}</dd>
      </dl>
      <ConditionTable rows={s.conditions} label={`Conditions of autoscaler ${name}`} />
    </section>
  );
}
