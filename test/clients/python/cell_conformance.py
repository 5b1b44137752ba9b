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
    p.add_argument("command", choices=["crud", "watch"])
    p.add_argument("--server", required=True)
    p.add_argument("--namespace", required=True)
    p.add_argument("--resource-version", default="")
    p.add_argument("--until", default="")
    args = p.parse_args()
    if args.command == "crud":
        crud(args)
        return 0
    return watch_pods(args)


if __name__ == "__main__":
    sys.exit(main())
