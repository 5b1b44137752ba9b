// Services, live: type, cluster IP, ports (a node port after a colon, as kubectl prints it) and how
// many of the Service's endpoints are ready (from its Endpoints). A Service's name opens the Pods
// view narrowed to its namespace and selector.
import type { Endpoints, Service } from '../../../shared/api/service.js';
import { ago, useLive, type Cluster } from '../cluster.js';
import { Link } from '../link.js';
import { podsHref } from '../router.js';
import { Count, useOrdered } from './workloads.js';

function portsText(s: Service): string {
  return (s.spec.ports ?? []).map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`).join(', ') || '—';
}

/** Ready and all addresses across the Endpoints' subsets. */
function endpointCounts(ep: Endpoints | undefined): { ready: number; total: number } {
  let ready = 0;
  let total = 0;
  for (const s of ep?.subsets ?? []) {
    ready += s.addresses?.length ?? 0;
    total += (s.addresses?.length ?? 0) + (s.notReadyAddresses?.length ?? 0);
  }
  return { ready, total };
}

function selectorText(s: Service): string | null {
  const entries = Object.entries(s.spec.selector ?? {});
  return entries.length === 0 ? null : entries.map(([k, v]) => `${k}=${v}`).join(',');
}

export function Services(props: { cluster: Cluster }) {
  const { services, endpoints } = props.cluster;
  useLive(services, endpoints);
  const { rows, total } = useOrdered(services);
  return (
    <section aria-labelledby="services-title">
      <h1 id="services-title">Services</h1>
      <Count testid="service-count" shown={rows.length} total={total} loading={services.state === 'loading'} noun="service" />
      {total > 0 && (
        <table class="grid" data-testid="services-table">
          <thead>
            <tr>
              <th scope="col">Namespace</th>
              <th scope="col">Name</th>
              <th scope="col">Type</th>
              <th scope="col">Cluster IP</th>
              <th scope="col">Ports</th>
              <th scope="col">Endpoints ready</th>
              <th scope="col">Age</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((s) => {
              const ns = s.metadata.namespace ?? 'default';
              const name = s.metadata.name ?? '';
              const selector = selectorText(s);
              const type = s.spec.type ?? 'ClusterIP';
              const counts = endpointCounts(endpoints.items.get(`${ns}/${name}`));
              return (
                <tr key={s.metadata.uid} data-service={`${ns}/${name}`}>
                  <td>{ns}</td>
                  <td>{selector === null ? name : <Link href={podsHref({ namespace: ns, selector })}>{name}</Link>}</td>
                  <td>{type}</td>
                  <td class="cluster-ip">{type === 'ExternalName' ? (s.spec.externalName ?? '—') : (s.spec.clusterIP ?? '—')}</td>
                  <td class="ports">{portsText(s)}</td>
                  <td class={`endpoints tone-${counts.total > 0 && counts.ready === 0 ? 'bad' : 'ok'}`}>{counts.ready}/{counts.total}</td>
                  <td>{ago(s.metadata.creationTimestamp)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
