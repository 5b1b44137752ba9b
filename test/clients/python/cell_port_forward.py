"""The official Kubernetes Python client's port-forward (kubernetes.stream.portforward, the
v4.channel.k8s.io WebSocket protocol), unchanged, against cell.

Driven by test/agent/port-forward.test.ts:

  cell_port_forward.py --server URL --token TOKEN --ca FILE --namespace NS --pod NAME
                       --echo-port N --echo-bytes B --greet-port M

forwards both ports in one call; sends B bytes through the pod's echo server on N and reads them
back; reads the pod's greeting on M (one line); prints one JSON line:
{"echoed": true|false, "echo_bytes": count, "greeting": text}.
"""

import json
import os

from kubernetes.stream import portforward

from cell_pod_args import core_api, parser


def main():
    p = parser()
    for flag in ("--echo-port", "--echo-bytes", "--greet-port"):
        p.add_argument(flag, required=True, type=int)
    args = p.parse_args()
    v1 = core_api(args)
    pf = portforward(
        v1.connect_get_namespaced_pod_portforward,
        args.pod,
        args.namespace,
        ports="%d,%d" % (args.echo_port, args.greet_port),
    )
    payload = os.urandom(args.echo_bytes)
    echo = pf.socket(args.echo_port)
    echo.sendall(payload)
    got = b""
    while len(got) < len(payload):
        chunk = echo.recv(65536)
        if not chunk:
            break
        got += chunk
    # Up to its newline: in this protocol a port's connection ending is not told to the client
    # until every port's has (then the WebSocket closes).
    greet = pf.socket(args.greet_port)
    greeting = b""
    while not greeting.endswith(b"\n"):
        chunk = greet.recv(65536)
        if not chunk:
            break
        greeting += chunk
    print(json.dumps({"echoed": got == payload, "echo_bytes": len(got), "greeting": greeting.decode()}))
    pf.close()


if __name__ == "__main__":
    main()
