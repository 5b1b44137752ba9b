"""A scheduler for cell in Python, with the official Kubernetes client and nothing else.

It owns the pods whose spec.schedulerName is --scheduler-name, watches them and the nodes, puts
each pending pod on the node with the most free CPU among those where its requests fit
(allocatable minus what it believes is used: pods bound there, plus its own binds the watch has
not shown yet), and commits with the Binding subresource:

    POST /api/v1/namespaces/NS/pods/NAME/binding

The API server checks every bind against the node's allocation ledger in the same transaction,
so this scheduler can run beside cell-scheduler replicas (even for the same scheduler name): when
someone else won the pod or the node's room, the bind is a 409, and it re-reads the cluster and
decides again. It never over-commits a node, however stale its view is.

    /usr/bin/python3 examples/python-scheduler/scheduler.py --server http://127.0.0.1:6443 \
        --scheduler-name python-scheduler

(or --kubeconfig FILE). It prints one JSON line per bind and per conflict, with running counts,
and a summary when it stops (SIGTERM or SIGINT).
"""

import argparse
import json
import random
import signal
import sys
import threading
import time

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException
from kubernetes.utils import parse_quantity

# Attempts per pod before it waits for the next change in the cluster.
MAX_ATTEMPTS = 5


def out(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def resources(rl):
    return {k: parse_quantity(v) for k, v in (rl or {}).items()}


def pod_requests(pod):
    """What the pod holds on its node: the sum of its containers' requests, at least each init
    container's (they run one at a time, before the others), and one `pods`."""
    total = {}
    for c in pod.spec.containers or []:
        for k, v in resources(c.resources.requests if c.resources else None).items():
            total[k] = total.get(k, 0) + v
    for c in pod.spec.init_containers or []:
        for k, v in resources(c.resources.requests if c.resources else None).items():
            total[k] = max(total.get(k, 0), v)
    total["pods"] = total.get("pods", 0) + 1
    return total


def key(pod):
    return f"{pod.metadata.namespace}/{pod.metadata.name}"


def terminal(pod):
    return pod.status is not None and pod.status.phase in ("Succeeded", "Failed")


class Scheduler:
    def __init__(self, v1, name):
        self.v1 = v1
        self.name = name
        self.lock = threading.Condition()
        self.nodes = {}  # name -> allocatable
        self.pods = {}  # uid -> V1Pod (unfinished, any scheduler)
        self.assumed = {}  # uid -> (node, requests): our binds the watch has not shown yet
        self.listed = set()
        self.stopping = False
        self.counts = {"bound": 0, "conflicts": 0, "errors": 0}

    # -- the view: list, then watch; list again when the watch fails ---------------------------

    def keep_watching(self, what, list_fn, apply, replace):
        while not self.stopping:
            try:
                listed = list_fn()
                with self.lock:
                    replace(listed.items)
                    self.listed.add(what)
                    self.lock.notify_all()
                w = watch.Watch()
                for ev in w.stream(list_fn, resource_version=listed.metadata.resource_version, timeout_seconds=300):
                    if self.stopping:
                        return
                    with self.lock:
                        apply(ev["type"], ev["object"])
                        self.lock.notify_all()
            except Exception as err:  # a broken stream or a 410: say so, list again after a pause
                if not self.stopping:
                    out({"event": "watch-restart", "what": what, "error": str(err)[:200]})
                    time.sleep(0.5)

    def replace_nodes(self, items):
        self.nodes = {n.metadata.name: resources(n.status.allocatable or n.status.capacity) for n in items}

    def apply_node(self, kind, node):
        if kind == "DELETED":
            self.nodes.pop(node.metadata.name, None)
        else:
            self.nodes[node.metadata.name] = resources(node.status.allocatable or node.status.capacity)

    def replace_pods(self, items):
        self.pods = {p.metadata.uid: p for p in items if not terminal(p)}

    def apply_pod(self, kind, pod):
        uid = pod.metadata.uid
        if kind == "DELETED" or terminal(pod):
            self.pods.pop(uid, None)
            self.assumed.pop(uid, None)
            return
        self.pods[uid] = pod
        if pod.spec.node_name:
            self.assumed.pop(uid, None)  # the watch shows it now; counted as bound

    # -- deciding --------------------------------------------------------------------------------

    def pending(self):
        return [
            p
            for p in self.pods.values()
            if p.spec.scheduler_name == self.name and not p.spec.node_name and not p.metadata.deletion_timestamp
        ]

    def used(self):
        used = {n: {} for n in self.nodes}
        holders = [(p.spec.node_name, pod_requests(p)) for p in self.pods.values() if p.spec.node_name]
        for node, req in holders + list(self.assumed.values()):
            if node in used:
                for k, v in req.items():
                    used[node][k] = used[node].get(k, 0) + v
        return used

    def pick(self, pod):
        """The node with the most free CPU where every request fits, or None."""
        req = pod_requests(pod)
        used = self.used()
        best, best_free = None, None
        for name, alloc in self.nodes.items():
            u = used[name]
            if any(v > 0 and alloc.get(k, 0) - u.get(k, 0) < v for k, v in req.items()):
                continue
            free_cpu = alloc.get("cpu", 0) - u.get("cpu", 0)
            if best is None or free_cpu > best_free:
                best, best_free = name, free_cpu
        return best, req

    def bind(self, pod, node):
        body = client.V1Binding(
            api_version="v1",
            kind="Binding",
            metadata=client.V1ObjectMeta(name=pod.metadata.name, namespace=pod.metadata.namespace, uid=pod.metadata.uid),
            target=client.V1ObjectReference(api_version="v1", kind="Node", name=node),
        )
        # _preload_content=False: the generated client cannot deserialise the Status a bind returns.
        self.v1.create_namespaced_pod_binding(pod.metadata.name, pod.metadata.namespace, body, _preload_content=False)

    def reread(self, pod):
        """After a 409: the pod as it is now (None when gone or bound), and a fresh list of the pods."""
        try:
            now = self.v1.read_namespaced_pod(pod.metadata.name, pod.metadata.namespace)
        except ApiException as err:
            if err.status == 404:
                return None
            raise
        listed = self.v1.list_pod_for_all_namespaces()
        with self.lock:
            # Newer than what the watch has shown (it will catch up); our binds stay assumed until it does.
            for p in listed.items:
                if not terminal(p):
                    self.pods[p.metadata.uid] = p
                    if p.spec.node_name:
                        self.assumed.pop(p.metadata.uid, None)
        if now.metadata.uid != pod.metadata.uid or now.spec.node_name or terminal(now):
            return None
        return now

    def schedule_one(self, pod):
        for _ in range(MAX_ATTEMPTS):
            with self.lock:
                node, req = self.pick(pod)
                if node is None:
                    return False
                self.assumed[pod.metadata.uid] = (node, req)
            try:
                self.bind(pod, node)
            except ApiException as err:
                with self.lock:
                    self.assumed.pop(pod.metadata.uid, None)
                if err.status != 409:
                    self.counts["errors"] += 1
                    out({"event": "error", "pod": key(pod), "node": node, "status": err.status, **self.counts})
                    return False
                self.counts["conflicts"] += 1
                out({"event": "conflict", "pod": key(pod), "node": node, "message": conflict_message(err), **self.counts})
                pod = self.reread(pod)
                if pod is None:
                    return False
                continue
            self.counts["bound"] += 1
            out({"event": "bound", "pod": key(pod), "node": node, **self.counts})
            return True
        return False

    def run(self):
        threads = [
            threading.Thread(target=self.keep_watching, args=("nodes", self.v1.list_node, self.apply_node, self.replace_nodes), daemon=True),
            threading.Thread(target=self.keep_watching, args=("pods", self.v1.list_pod_for_all_namespaces, self.apply_pod, self.replace_pods), daemon=True),
        ]
        for t in threads:
            t.start()
        with self.lock:
            self.lock.wait_for(lambda: self.listed >= {"nodes", "pods"} or self.stopping)
        out({"event": "ready", "scheduler": self.name})
        tried = {}  # uid -> the view's generation when it was last tried and did not fit
        generation = 0
        while not self.stopping:
            with self.lock:
                todo = [p for p in self.pending() if tried.get(p.metadata.uid) != generation]
                if not todo:
                    # Nothing new to try: wait for the cluster to change.
                    self.lock.wait(timeout=5)
                    generation += 1
                    continue
            # Random order: replicas (and other schedulers) then rarely reach for the same pod at once.
            random.shuffle(todo)
            for pod in todo:
                if self.stopping:
                    break
                if not self.schedule_one(pod):
                    tried[pod.metadata.uid] = generation


def conflict_message(err):
    try:
        return json.loads(err.body).get("message", "")[:200]
    except (TypeError, ValueError):
        return str(err.body)[:200]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--server", help="API server URL (no authentication)")
    ap.add_argument("--kubeconfig", help="a kubeconfig file instead of --server")
    ap.add_argument("--scheduler-name", default="python-scheduler")
    args = ap.parse_args()
    if args.kubeconfig:
        api_client = config.new_client_from_config(config_file=args.kubeconfig)
    elif args.server:
        cfg = client.Configuration()
        cfg.host = args.server
        api_client = client.ApiClient(cfg)
    else:
        ap.error("--server or --kubeconfig is required")
    s = Scheduler(client.CoreV1Api(api_client), args.scheduler_name)

    def stop(_sig, _frame):
        s.stopping = True
        out({"event": "summary", **s.counts})
        sys.stdout.flush()
        # The watch threads block in a read; they are daemons and end with the process.
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    s.run()


if __name__ == "__main__":
    main()
