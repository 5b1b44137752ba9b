"""The official Kubernetes Python client's exec (kubernetes.stream, v4.channel.k8s.io), unchanged, against cell.

Driven by test/agent/exec.test.ts:

  cell_exec.py --server URL --token TOKEN --ca FILE --namespace NS --pod NAME --stdin TEXT -- COMMAND...
      runs COMMAND in the pod with TEXT written to its stdin (v4 cannot close stdin: the command
      reads what it needs), and prints one JSON line: {"stdout", "stderr", "returncode"}.
"""

import json
import sys

from kubernetes.stream import stream

from cell_pod_args import core_api, parser


def main():
    p = parser()
    p.add_argument("--stdin", required=True)
    p.add_argument("command", nargs="+")
    args = p.parse_args()
    v1 = core_api(args)
    resp = stream(
        v1.connect_get_namespaced_pod_exec,
        args.pod,
        args.namespace,
        command=args.command,
        stdin=True,
        stdout=True,
        stderr=True,
        tty=False,
        _preload_content=False,
    )
    resp.write_stdin(args.stdin)
    resp.run_forever(timeout=30)
    sys.stdout.write(json.dumps({"stdout": resp.read_stdout(), "stderr": resp.read_stderr(), "returncode": resp.returncode}) + "\n")


if __name__ == "__main__":
    main()
