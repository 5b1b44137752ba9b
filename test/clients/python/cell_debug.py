"""The official Kubernetes Python client adding an ephemeral container to a running pod
(CoreV1Api.patch_namespaced_pod_ephemeralcontainers, what kubectl debug does), unchanged, against cell.

Driven by test/agent/ephemeral-containers.test.ts:

  cell_debug.py --server URL --token TOKEN --ca FILE --namespace NS --pod NAME --container C --message TEXT

adds container C (busybox, printing TEXT), waits until the agent reports it finished, and prints
one JSON line: {"names": [ephemeral container names in the spec], "exit_code": N, "ready": bool,
"log": the container's log}.
"""

import json
import time

from kubernetes import client

from cell_pod_args import core_api, parser


def main():
    p = parser()
    p.add_argument("--container", required=True)
    p.add_argument("--message", required=True)
    args = p.parse_args()
    v1 = core_api(args)
    pod = v1.read_namespaced_pod(args.pod, args.namespace)
    added = client.V1EphemeralContainer(name=args.container, image="busybox", command=["echo", args.message])
    existing = pod.spec.ephemeral_containers or []
    body = {"spec": {"ephemeralContainers": [v1.api_client.sanitize_for_serialization(c) for c in existing + [added]]}}
    patched = v1.patch_namespaced_pod_ephemeralcontainers(args.pod, args.namespace, body)
    names = [c.name for c in patched.spec.ephemeral_containers]
    deadline = time.time() + 30
    while True:
        pod = v1.read_namespaced_pod(args.pod, args.namespace)
        status = next((s for s in pod.status.ephemeral_container_statuses or [] if s.name == args.container), None)
        if status is not None and status.state.terminated is not None:
            break
        if time.time() > deadline:
            raise SystemExit("the ephemeral container never finished: %s" % pod.status)
        time.sleep(0.1)
    log = v1.read_namespaced_pod_log(args.pod, args.namespace, container=args.container)
    print(json.dumps({"names": names, "exit_code": status.state.terminated.exit_code, "ready": status.ready, "log": log}))


if __name__ == "__main__":
    main()
