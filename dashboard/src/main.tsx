// The dashboard's shell: sign-in when there is no token, else the header, navigation, the live
// status of the watches and the current view. The session's watches start on sign-in and stop on
// sign-out or on any 401.
import { render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { onUnauthorized, whoAmI, type WhoAmI } from './api.js';
import { startCluster, stopCluster, useLive, type Cluster } from './cluster.js';
import { Link } from './link.js';
import type { LiveList, ObjectLike } from './live.js';
import { href, navigate, useRoute, type Route } from './router.js';
import { clearToken, loadToken, saveToken } from './session.js';
import { Events } from './views/events.js';
import { Services } from './views/services.js';
import { Nodes } from './views/nodes.js';
import { Overview } from './views/overview.js';
import { Pods } from './views/pods.js';
import { SignIn } from './views/signin.js';
import { WorkloadDetail } from './views/workload.js';
import { Workloads } from './views/workloads.js';

function App() {
  const [token, setToken] = useState<string | undefined>(loadToken());
  const [who, setWho] = useState<WhoAmI | undefined>();
  const [notice, setNotice] = useState<string | undefined>();

  useEffect(
    () =>
      onUnauthorized(() => {
        setNotice('Your session ended (the server answered 401): sign in again.');
        setToken(undefined);
      }),
    [],
  );
  // A token kept from earlier in this tab: find out whose it is (a 401 sends us to sign-in).
  useEffect(() => {
    if (token === undefined || who) return;
    whoAmI(token).then(setWho, (err: unknown) => console.warn('whoami failed', err));
  }, [token, who]);

  if (token === undefined) {
    return (
      <SignIn
        {...(notice ? { notice } : {})}
        onSignedIn={(t, w) => {
          saveToken(t);
          setWho(w);
          setNotice(undefined);
          setToken(t);
        }}
      />
    );
  }
  return (
    <Shell
      key={token}
      who={who}
      onSignOut={() => {
        clearToken();
        setWho(undefined);
        setNotice('Signed out.');
        setToken(undefined);
        navigate(href());
      }}
    />
  );
}

function Shell(props: { who: WhoAmI | undefined; onSignOut(): void }) {
  const cluster = useMemo(() => startCluster(), []);
  useEffect(() => () => stopCluster(cluster), [cluster]);
  const route = useRoute();
  const nav: [Route['view'], string, string][] = [
    ['overview', 'Overview', href()],
    ['nodes', 'Nodes', href('nodes')],
    ['pods', 'Pods', href('pods')],
    ['workloads', 'Workloads', href('workloads')],
    ['services', 'Services', href('services')],
    ['events', 'Events', href('events')],
  ];
  return (
    <>
      <header class="top">
        <span class="brand">cell</span>
        <nav aria-label="Views">
          <ul>
            {nav.map(([view, label, to]) => (
              <li key={view}>
                <Link href={to} current={route.view === view}>{label}</Link>
              </li>
            ))}
          </ul>
        </nav>
        <LiveStatus cluster={cluster} />
        <span class="user" data-testid="user">{props.who ? props.who.username : ''}</span>
        <button type="button" onClick={props.onSignOut}>Sign out</button>
      </header>
      <main>
        <Hold key={holdKey(route)} lists={needs(cluster, route)} />
        <View cluster={cluster} route={route} />
      </main>
    </>
  );
}

/** Views that watch the same collections share a key, so moving between them reconnects nothing. */
function holdKey(route: Route): string {
  return route.view === 'workloads' && route.workload ? `workloads/${route.workload.kind}` : route.view;
}

/**
 * The collections each view shows; only these watch while it is on screen. Autoscalers are never
 * watched: the views that show them list them every few seconds (autoscalers.ts says why).
 */
function needs(c: Cluster, route: Route): LiveList<ObjectLike>[] {
  switch (route.view) {
    case 'overview':
      return [c.nodes, c.allocations, c.pods, c.events];
    case 'nodes':
      return [c.nodes, c.allocations, c.pods];
    case 'pods':
      return [c.pods, c.events];
    case 'workloads':
      // A workload's detail: it, and a Deployment's ReplicaSets (a ReplicaSet's owner is a link).
      if (route.workload?.kind === 'Deployment') return [c.deployments, c.replicaSets];
      if (route.workload?.kind === 'StatefulSet') return [c.statefulSets];
      if (route.workload?.kind === 'ReplicaSet') return [c.replicaSets];
      // Five watches: one of the six connections a browser opens to an origin is left for the rest
      // (the autoscalers' list among them).
      return [c.deployments, c.daemonSets, c.statefulSets, c.jobs, c.quotas];
    case 'services':
      return [c.services, c.endpoints];
    case 'events':
      return [c.events];
  }
}

/**
 * Holds `lists` from its first render until it unmounts (keyed by view). Taken during render, not
 * in an effect, so the next view holds a shared list before the previous one lets go of it.
 */
function Hold(props: { lists: LiveList<ObjectLike>[] }) {
  const [releases] = useState(() => props.lists.map((l) => l.hold()));
  useEffect(() => () => releases.forEach((release) => release()), [releases]);
  return null;
}

function View(props: { cluster: Cluster; route: Route }) {
  const r = props.route;
  switch (r.view) {
    case 'overview':
      return <Overview cluster={props.cluster} />;
    case 'nodes':
      return <Nodes cluster={props.cluster} {...(r.node ? { node: r.node } : {})} />;
    case 'pods':
      return <Pods cluster={props.cluster} {...(r.namespace ? { namespace: r.namespace } : {})} {...(r.name ? { name: r.name } : {})} {...(r.selector ? { selector: r.selector } : {})} />;
    case 'workloads':
      return r.workload ? <WorkloadDetail cluster={props.cluster} workload={r.workload} /> : <Workloads cluster={props.cluster} />;
    case 'services':
      return <Services cluster={props.cluster} />;
    case 'events':
      return <Events cluster={props.cluster} />;
  }
}

function LiveStatus(props: { cluster: Cluster }) {
  const lists = Object.values(props.cluster);
  useLive(...lists);
  // Only the collections the current view holds are watching; the others are paused, not broken.
  const active = lists.filter((l) => l.active);
  const bad = active.length === 0 ? undefined : active.find((l) => l.state !== 'live');
  const label = active.length === 0 || bad?.state === 'loading' ? 'loading…' : !bad ? 'live' : `${bad.state}: ${bad.path} ${bad.error ?? ''}`;
  const ok = active.length > 0 && !bad;
  useEffect(() => {
    // For the benchmark and tests: when every collection the first view needs is listed and rendered.
    if (ok && performance.getEntriesByName('cell:live').length === 0) performance.mark('cell:live');
  }, [ok]);
  return (
    <span class={`live ${ok ? 'live-ok' : `live-${bad?.state ?? 'loading'}`}`} role="status" data-testid="live">
      {label}
    </span>
  );
}

const root = document.getElementById('app');
if (root) {
  render(<App />, root);
  // Chromium keeps the requests of a page it puts in the back/forward cache running, so the
  // watches and log stream of a page left that way would keep their connections, and the next page
  // of this origin — the views' watches budgeted for six — would wait for ever for any other call
  // (its metrics asks among them). Leaving for the cache, the page unmounts, and every view aborts
  // what it opened; shown from the cache again, it starts afresh.
  addEventListener('pagehide', (e) => {
    if (e.persisted) render(null, root);
  });
  addEventListener('pageshow', (e) => {
    if (e.persisted) render(<App />, root);
  });
}
