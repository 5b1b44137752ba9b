"""The official Kubernetes Python client, unchanged, against cell-apiserver.

Driven by test/clients/conformance.test.ts. Two commands, each printing JSON lines on stdout:

  crud  --server URL --namespace NS
      create, get, list, replace (update), patch and delete a pod; a stale replace must be a 409;
      prints one line per step with what the server answered.
  watch --server URL --namespace NS --resource-version RV --until NAME
      watches pods from RV with the client's own Watch helper, which resumes from the last
      resourceVersion it saw when a stream ends; when the connection breaks (the test's proxy cuts
      it), starts the helper again from that resourceVersion, as a program would. Prints every
      event {type, name, rv}, and {"reconnect": ...} for each break; stops after ADDED NAME.
  services --server URL --namespace NS
      creates a NodePort Service with the client's models, reads it back (the allocated cluster IP
      and node port), replaces it as read but with another selector, asks for its taken IP again
      (a 422), writes the Endpoints of a Service without a selector, and deletes both.
"""

import argparse
import json
import sys

from kubernetes import client, watch


def api(server):
    cfg = client.Configuration()
    cfg.host = server
    return client.CoreV1Api(client.ApiClient(cfg))


def out(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def pod(name, labels=None):
    return client.V1Pod(
        api_version="v1",
        kind="Pod",
        metadata=client.V1ObjectMeta(name=name, labels=labels or {}),
        spec=client.V1PodSpec(
            containers=[
                client.V1Container(
                    name="main",
                    image="busybox",
                    command=["sleep", "3600"],
                    resources=client.V1ResourceRequirements(requests={"cpu": "10m", "memory": "16Mi"}),
                )
            ]
        ),
    )


def crud(args):
    v1 = api(args.server)
    ns = args.namespace
    created = v1.create_namespaced_pod(ns, pod("py-crud", {"step": "created"}))
    out({"step": "create", "name": created.metadata.name, "rv": created.metadata.resource_version})
    got = v1.read_namespaced_pod("py-crud", ns)
    out({"step": "get", "rv": got.metadata.resource_version, "labels": got.metadata.labels})
    listed = v1.list_namespaced_pod(ns, label_selector="step=created")
    out({"step": "list", "names": [p.metadata.name for p in listed.items], "rv": listed.metadata.resource_version})
    got.metadata.labels["step"] = "replaced"
    replaced = v1.replace_namespaced_pod("py-crud", ns, got)
    out({"step": "replace", "rv": replaced.metadata.resource_version, "labels": replaced.metadata.labels})
    try:
        v1.replace_namespaced_pod("py-crud", ns, got)  # still carries the old resourceVersion
        out({"step": "stale-replace", "status": 200})
    except client.exceptions.ApiException as e:
        out({"step": "stale-replace", "status": e.status, "reason": json.loads(e.body).get("reason")})
    patched = v1.patch_namespaced_pod("py-crud", ns, {"metadata": {"labels": {"patched": "yes"}}})
    out({"step": "patch", "rv": patched.metadata.resource_version, "labels": patched.metadata.labels})
    deleted = v1.delete_namespaced_pod("py-crud", ns)
    out({"step": "delete", "kind": deleted.kind if hasattr(deleted, "kind") else None})
    try:
        v1.read_namespaced_pod("py-crud", ns)
        out({"step": "get-deleted", "status": 200})
    except client.exceptions.ApiException as e:
        out({"step": "get-deleted", "status": e.status})


def services(args):
    v1 = api(args.server)
    ns = args.namespace
    svc = client.V1Service(
        api_version="v1",
        kind="Service",
        metadata=client.V1ObjectMeta(name="py-svc"),
        spec=client.V1ServiceSpec(type="NodePort", selector={"app": "py"}, ports=[client.V1ServicePort(name="http", port=80, target_port="http")]),
    )
    created = v1.create_namespaced_service(ns, svc)
    port = created.spec.ports[0]
    out({"step": "create", "clusterIP": created.spec.cluster_ip, "nodePort": port.node_port, "targetPort": port.target_port, "type": created.spec.type})
    got = v1.read_namespaced_service("py-svc", ns)
    got.spec.selector = {"app": "py2"}
    replaced = v1.replace_namespaced_service("py-svc", ns, got)
    out({"step": "replace", "clusterIP": replaced.spec.cluster_ip, "nodePort": replaced.spec.ports[0].node_port, "selector": replaced.spec.selector})
    try:
        v1.create_namespaced_service(ns, client.V1Service(metadata=client.V1ObjectMeta(name="py-twin"), spec=client.V1ServiceSpec(cluster_ip=created.spec.cluster_ip, ports=[client.V1ServicePort(port=80)])))
        out({"step": "taken", "status": 201})
    except client.exceptions.ApiException as e:
        body = json.loads(e.body)
        out({"step": "taken", "status": e.status, "fields": [c.get("field") for c in body.get("details", {}).get("causes", [])]})
    v1.create_namespaced_service(ns, client.V1Service(metadata=client.V1ObjectMeta(name="py-ext"), spec=client.V1ServiceSpec(ports=[client.V1ServicePort(port=5432)])))
    v1.create_namespaced_endpoints(ns, client.V1Endpoints(
        metadata=client.V1ObjectMeta(name="py-ext"),
        subsets=[client.V1EndpointSubset(addresses=[client.V1EndpointAddress(ip="192.168.1.5")], ports=[client.CoreV1EndpointPort(port=5432)])],
    ))
    ep = v1.read_namespaced_endpoints("py-ext", ns)
    out({"step": "endpoints", "ips": [a.ip for s in ep.subsets for a in s.addresses], "ports": [p.port for s in ep.subsets for p in s.ports]})
    listed = v1.list_namespaced_service(ns)
    out({"step": "list", "names": sorted(s.metadata.name for s in listed.items)})
    v1.delete_namespaced_service("py-svc", ns)
    v1.delete_namespaced_service("py-ext", ns)
    v1.delete_namespaced_endpoints("py-ext", ns)
    out({"step": "deleted", "names": [s.metadata.name for s in v1.list_namespaced_service(ns).items]})


def watch_pods(args):
    v1 = api(args.server)
    rv = args.resource_version
    while True:
        w = watch.Watch()
        try:
            for ev in w.stream(v1.list_namespaced_pod, args.namespace, resource_version=rv, allow_watch_bookmarks=True):
                obj = ev["object"]
                if ev["type"] == "BOOKMARK":
                    rv = obj["metadata"]["resourceVersion"] if isinstance(obj, dict) else obj.metadata.resource_version
                    continue
                if ev["type"] == "ERROR":
                    out({"error": ev["raw_object"]})
                    return 1
                name = obj.metadata.name
                rv = obj.metadata.resource_version
                out({"type": ev["type"], "name": name, "rv": rv})
                if ev["type"] == "ADDED" and name == args.until:
                    return 0
        except client.exceptions.ApiException:
            raise
        except Exception as e:  # the connection broke: resume from the last resourceVersion seen
            out({"reconnect": type(e).__name__, "rv": rv})
            continue


def main():
    p = argparse.ArgumentParser()
    p.add_argument("command", choices=["crud", "watch", "services"])
    p.add_argument("--server", required=True)
    p.add_argument("--namespace", required=True)
    p.add_argument("--resource-version", default="")
    p.add_argument("--until", default="")
    args = p.parse_args()
    if args.command == "crud":
        crud(args)
        return 0
    if args.command == "services":
        services(args)
        return 0
    return watch_pods(args)


if __name__ == "__main__":
    sys.exit(main())
