// One workload's detail — a Deployment (with its conditions and ReplicaSets), a StatefulSet or a
// ReplicaSet, the kinds an autoscaler can scale — live from its watch, and below it the autoscaler
// that scales it, listed every few seconds (views/autoscalers.tsx).
import { Fragment, type ComponentChildren } from 'preact';
import { useMemo } from 'preact/hooks';
import type { ReplicaSet } from '../../../shared/api/apps.js';
import { ago, useLive, type Cluster } from '../cluster.js';
import { Link } from '../link.js';
import type { LiveList, ObjectLike } from '../live.js';
import { href, podsHref, workloadHref, type WorkloadRef } from '../router.js';
import { deploymentSummary, podSelector, replicaSetsOf, replicaSetSummary, statefulSetSummary, type Tone } from '../workloads.js';
import { ScaledBy } from './autoscalers.js';
import { ConditionTable } from './conditions.js';

export function WorkloadDetail(props: { cluster: Cluster; workload: WorkloadRef }) {
  const w = props.workload;
  switch (w.kind) {
    case 'Deployment':
      return <DeploymentDetail cluster={props.cluster} workload={w} />;
    case 'StatefulSet':
      return <StatefulSetDetail cluster={props.cluster} workload={w} />;
    case 'ReplicaSet':
      return <ReplicaSetDetail cluster={props.cluster} workload={w} />;
  }
}

/** The frame every kind shares: back link, title, the object (or why it is missing), its autoscaler. */
function Frame(props: { workload: WorkloadRef; list: LiveList<ObjectLike>; found: boolean; children: ComponentChildren }) {
  const w = props.workload;
  return (
    <section aria-labelledby="workload-title">
      <p>
        <Link href={href('workloads')}>← All workloads</Link>
      </p>
      <h1 id="workload-title">{w.kind} {w.namespace}/{w.name}</h1>
      {props.found ? props.children : <p role="status" data-testid="workload-missing">{props.list.state === 'loading' ? 'Loading…' : `No such ${w.kind} (it may have been deleted).`}</p>}
      {/* Shown even when the workload is gone: an autoscaler of a missing target says so in its conditions. */}
      <ScaledBy workload={w} />
    </section>
  );
}

/** The facts every kind has: state, counts, pods, age. */
function Facts(props: { status: string; tone: Tone; counts: [string, string][]; namespace: string; selector: string | null; created: string | undefined; children?: ComponentChildren }) {
  return (
    <dl class="facts" data-testid="workload-facts">
      <dt>Status</dt>
      <dd class={`status tone-${props.tone}`}>{props.status}</dd>
      {props.counts.map(([label, value]) => (
        <Fragment key={label}>
          <dt>{label}</dt>
          <dd data-count={label}>{value}</dd>
        </Fragment>
      ))}
      <dt>Pods</dt>
      <dd>{props.selector === null ? 'unreadable selector' : <Link href={podsHref({ namespace: props.namespace, selector: props.selector })}>{props.selector}</Link>}</dd>
      <dt>Age</dt>
      <dd>{ago(props.created)}</dd>
      {props.children}
    </dl>
  );
}

function DeploymentDetail(props: { cluster: Cluster; workload: WorkloadRef }) {
  const { deployments, replicaSets } = props.cluster;
  useLive(deployments, replicaSets);
  const w = props.workload;
  const d = deployments.items.get(`${w.namespace}/${w.name}`);
  const sets = useMemo(() => (d ? replicaSetsOf(d, replicaSets.items.values()) : []), [d, replicaSets.version]);
  const s = d ? deploymentSummary(d) : undefined;
  return (
    <Frame workload={w} list={deployments} found={d !== undefined}>
      {d && s && (
        <>
          <Facts
            status={s.status}
            tone={s.tone}
            counts={[['Ready', `${s.ready}/${s.desired}`], ['Up-to-date', String(s.upToDate)], ['Available', String(s.available)]]}
            namespace={w.namespace}
            selector={podSelector(d)}
            created={d.metadata.creationTimestamp}
          />
          <h2>Conditions</h2>
          <ConditionTable rows={d.status.conditions ?? []} label={`Conditions of Deployment ${w.name}`} />
          <ReplicaSets sets={sets} loading={replicaSets.state === 'loading'} />
        </>
      )}
    </Frame>
  );
}

function ReplicaSets(props: { sets: ReplicaSet[]; loading: boolean }) {
  return (
    <section aria-labelledby="replicasets-title">
      <h2 id="replicasets-title">ReplicaSets</h2>
      {props.sets.length === 0 ? (
        <p role="status">{props.loading ? 'Loading…' : 'None.'}</p>
      ) : (
        <table class="grid" data-testid="replicasets-table">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Desired</th>
              <th scope="col">Current</th>
              <th scope="col">Ready</th>
              <th scope="col">Age</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {props.sets.map((rs) => {
              const s = replicaSetSummary(rs);
              const ns = rs.metadata.namespace ?? 'default';
              const name = rs.metadata.name ?? '';
              return (
                <tr key={rs.metadata.uid} data-replicaset={`${ns}/${name}`}>
                  <td><Link href={workloadHref({ kind: 'ReplicaSet', namespace: ns, name })}>{name}</Link></td>
                  <td>{s.desired}</td>
                  <td>{s.current}</td>
                  <td>{s.ready}</td>
                  <td>{ago(rs.metadata.creationTimestamp)}</td>
                  <td class={`status tone-${s.tone}`}>{s.status}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}

function StatefulSetDetail(props: { cluster: Cluster; workload: WorkloadRef }) {
  const { statefulSets } = props.cluster;
  useLive(statefulSets);
  const w = props.workload;
  const sts = statefulSets.items.get(`${w.namespace}/${w.name}`);
  const s = sts ? statefulSetSummary(sts) : undefined;
  return (
    <Frame workload={w} list={statefulSets} found={sts !== undefined}>
      {sts && s && (
        <Facts
          status={s.status}
          tone={s.tone}
          counts={[['Ready', `${s.ready}/${s.desired}`], ['Up-to-date', String(s.upToDate)], ['Available', String(s.available)]]}
          namespace={w.namespace}
          selector={podSelector(sts)}
          created={sts.metadata.creationTimestamp}
        />
      )}
    </Frame>
  );
}

function ReplicaSetDetail(props: { cluster: Cluster; workload: WorkloadRef }) {
  const { replicaSets } = props.cluster;
  useLive(replicaSets);
  const w = props.workload;
  const rs = replicaSets.items.get(`${w.namespace}/${w.name}`);
  const s = rs ? replicaSetSummary(rs) : undefined;
  const owner = rs?.metadata.ownerReferences?.find((o) => o.controller === true);
  return (
    <Frame workload={w} list={replicaSets} found={rs !== undefined}>
      {rs && s && (
        <Facts
          status={s.status}
          tone={s.tone}
          counts={[['Desired', String(s.desired)], ['Current', String(s.current)], ['Ready', String(s.ready)]]}
          namespace={w.namespace}
          selector={podSelector(rs)}
          created={rs.metadata.creationTimestamp}
        >
          {owner && (
            <>
              <dt>Controlled by</dt>
              <dd>{owner.kind === 'Deployment' ? <Link href={workloadHref({ kind: 'Deployment', namespace: w.namespace, name: owner.name })}>{`${owner.kind}/${owner.name}`}</Link> : `${owner.kind}/${owner.name}`}</dd>
            </>
          )}
        </Facts>
      )}
    </Frame>
  );
}
